/**
 * InfluxDB sink logic with a fake write transport and fake timers: batching, the flush
 * interval, Retry-After, backoff, credentials failures, bisection of rejected batches,
 * the hard buffer bound, and close(). The real client and servers: tests/integration.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpError } from '@influxdata/influxdb-client';
import { pino } from 'pino';
import { InfluxSink, hasV2WriteApi, type InfluxWriteTransport } from '../../../src/sinks/influx/index.js';
import { classify, failureReason } from '../../../src/sinks/influx/retry.js';
import type { InfluxSinkConfig } from '../../../src/config/index.js';
import type { NodeWindow } from '../../../src/domain/index.js';

const T0 = Date.UTC(2026, 0, 1);

function win(i: number, node = 'pdu-1'): NodeWindow {
  return {
    type: 'node',
    site: 's1',
    node,
    level: 'pdu',
    windowMs: 10_000,
    start: T0 + i * 10_000,
    end: T0 + (i + 1) * 10_000,
    revision: 0,
    loadWatts: i,
    peakWatts: i,
    minWatts: i,
    energyWh: 0,
    ratingWatts: 100,
    usableWatts: 80,
    headroomWatts: 80 - i,
    utilization: i / 100,
    failoverHeadroomWatts: null,
    completeness: 1,
    headroomCertain: true,
    childrenLoadWatts: null,
    unmeteredWatts: null,
    rampWattsPerSecond: null,
    timeToBreachSeconds: null,
    swingWatts: null,
    swingPeriodSeconds: null,
    swingPeriodShare: null,
  };
}

type Answer = (lines: string[]) => Promise<void>;

class FakeWriteApi implements InfluxWriteTransport {
  private pending: string[] = [];
  readonly requests: { atMs: number; lines: string[] }[] = [];
  answer: Answer = () => Promise.resolve();

  writeRecords(records: string[]): void {
    this.pending.push(...records);
  }

  flush(): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    this.requests.push({ atMs: Date.now(), lines });
    return this.answer(lines);
  }

  dispose(): number {
    return 0;
  }
}

function config(overrides: Partial<InfluxSinkConfig> = {}): InfluxSinkConfig {
  return {
    url: 'http://influx.invalid:8086',
    org: 'o',
    bucket: 'b',
    token: undefined,
    precision: 'ms',
    batchSize: 2,
    flushIntervalMs: 1_000,
    maxBufferedPoints: 100,
    retry: { maxRetries: 3, minDelayMs: 100, maxDelayMs: 400 },
    ...overrides,
  };
}

const log = pino({ level: 'silent' });
const unavailable = (retryAfter?: string): HttpError => new HttpError(503, 'Service Unavailable', '', retryAfter);

describe('InfluxSink', () => {
  let api: FakeWriteApi;
  let start: number;

  beforeEach(() => {
    vi.useFakeTimers();
    start = Date.now();
    api = new FakeWriteApi();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  const times = (): number[] => api.requests.map((r) => r.atMs - start);

  /** Advances the fake clock 1 ms at a time until the promise settles (at most limitMs). */
  const settle = async (p: Promise<void>, limitMs = 100): Promise<void> => {
    let done = false;
    void p.then(() => {
      done = true;
    });
    for (let i = 0; i < limitMs && !done; i++) await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  };

  it('sends full batches at once, in order, and resolves flush() when all are written', async () => {
    const sink = new InfluxSink(config(), { log, writeApi: api, random: () => 0 });
    sink.write([win(0), win(1), win(2), win(3), win(4)]);
    expect(api.requests).toHaveLength(0); // never on the caller's stack
    await settle(sink.flush());
    expect(api.requests.map((r) => r.lines.length)).toEqual([2, 2, 1]);
    expect(api.requests.flatMap((r) => r.lines).map((l) => l.split(' ')[2])).toEqual([0, 1, 2, 3, 4].map((i) => String(T0 + i * 10_000)));
    expect(sink.stats()).toMatchObject({ pointsWritten: 5, batchesWritten: 3, buffered: 0, retries: 0 });
  });

  it('a partial batch waits flushIntervalMs', async () => {
    const sink = new InfluxSink(config({ batchSize: 10 }), { log, writeApi: api });
    sink.write([win(0)]);
    await vi.advanceTimersByTimeAsync(999);
    expect(api.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.requests).toHaveLength(1);
  });

  it('honours Retry-After, keeps the points buffered, and reports the failure in health()', async () => {
    const sink = new InfluxSink(config(), { log, writeApi: api, random: () => 0 });
    let failures = 2;
    api.answer = () => (failures-- > 0 ? Promise.reject(unavailable('2')) : Promise.resolve());
    sink.write([win(0), win(1)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.health()).toMatchObject({ buffered: 2, failed: false });
    expect(sink.health().detail).toContain('503');
    await vi.advanceTimersByTimeAsync(1_999);
    expect(api.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(times()).toEqual([0, 2_000, 4_000]);
    expect(sink.health()).toEqual({ buffered: 0, capacity: 100, failed: false });
    expect(sink.stats()).toMatchObject({ retries: 2, pointsWritten: 2, consecutiveFailures: 0 });
  });

  it('backs off exponentially with jitter up to maxDelay on network errors, and never gives up while running', async () => {
    const sink = new InfluxSink(config(), { log, writeApi: api, random: () => 0 });
    api.answer = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    sink.write([win(0), win(1)]);
    await vi.advanceTimersByTimeAsync(10_000);
    // random() = 0: half of min(400, 100·2^(n-1)) → 50, 100, 200, 200, …
    const gaps = times().slice(1, 6).map((t, i) => t - (times()[i] ?? 0));
    expect(gaps).toEqual([50, 100, 200, 200, 200]);
    expect(sink.health().buffered).toBe(2);
    expect(sink.stats().droppedByReason.shutdown).toBe(0);
    api.answer = () => Promise.resolve();
    await vi.advanceTimersByTimeAsync(400);
    expect(sink.health().buffered).toBe(0);
  });

  it('401: failed in health(), points kept and retried at maxDelay until the server accepts', async () => {
    const sink = new InfluxSink(config(), { log, writeApi: api, random: () => 0 });
    api.answer = () => Promise.reject(new HttpError(401, 'Unauthorized', '{"code":"unauthorized"}'));
    sink.write([win(0), win(1)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.health()).toMatchObject({ buffered: 2, failed: true });
    await vi.advanceTimersByTimeAsync(400);
    expect(times()).toEqual([0, 400]);
    api.answer = () => Promise.resolve();
    await vi.advanceTimersByTimeAsync(400);
    expect(sink.health()).toMatchObject({ buffered: 0, failed: false });
  });

  it('400: bisects the batch, drops only the bad point with its reason, writes the rest', async () => {
    const sink = new InfluxSink(config({ batchSize: 8 }), { log, writeApi: api });
    api.answer = (lines) => (lines.some((l) => l.includes('node=bad')) ? Promise.reject(new HttpError(400, 'Bad Request', 'unable to parse')) : Promise.resolve());
    const records = [win(0), win(1), win(2), win(3), win(4, 'bad'), win(5), win(6), win(7), win(8), win(9)];
    sink.write(records);
    await settle(sink.flush());
    const stats = sink.stats();
    expect(stats.droppedByReason.bad_point).toBe(1);
    expect(stats.pointsWritten).toBe(9);
    expect(stats.retries).toBe(0);
    expect(api.requests.map((r) => r.lines.length)).toEqual([8, 4, 4, 2, 1, 1, 2, 2]);
    const written = api.requests.filter((r) => !r.lines.some((l) => l.includes('node=bad'))).flatMap((r) => r.lines);
    expect(written).toHaveLength(9);
  });

  it('past twice the capacity, new points are dropped as buffer_full (the pipeline should have paused)', async () => {
    const sink = new InfluxSink(config({ maxBufferedPoints: 4 }), { log, writeApi: api });
    api.answer = () => Promise.reject(unavailable());
    sink.write(Array.from({ length: 10 }, (_, i) => win(i)));
    expect(sink.health()).toMatchObject({ buffered: 8, capacity: 4 });
    expect(sink.stats().droppedByReason.buffer_full).toBe(2);
    await vi.advanceTimersByTimeAsync(0);
  });

  it('close() gives each batch maxRetries more attempts, then drops the rest as shutdown', async () => {
    const sink = new InfluxSink(config({ retry: { maxRetries: 2, minDelayMs: 100, maxDelayMs: 400 } }), { log, writeApi: api, random: () => 0 });
    api.answer = () => Promise.reject(unavailable());
    sink.write([win(0), win(1), win(2)]);
    await settle(sink.close(), 5_000);
    expect(sink.stats().droppedByReason.shutdown).toBe(3);
    expect(api.requests).toHaveLength(3);
    sink.write([win(4)]);
    expect(sink.stats().droppedByReason.shutdown).toBe(4);
  });

  it('close() flushes what is buffered', async () => {
    const sink = new InfluxSink(config({ batchSize: 10 }), { log, writeApi: api });
    sink.write([win(0), win(1), win(2)]);
    await settle(sink.close());
    expect(sink.stats()).toMatchObject({ pointsWritten: 3, buffered: 0 });
  });
});

/** Errors as Node raises them: a message and a `code` (TLS: OpenSSL's verification names). */
const nodeError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('InfluxDB failures: transient or permanent', () => {
  it('TLS certificate and protocol errors, 401, 403 and 404 are permanent, with the fix in the reason', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
      const err = nodeError(code, 'handshake failed');
      expect(classify(err), code).toMatchObject({ kind: 'permanent' });
      expect(failureReason(err)).toBe('tls');
    }
    expect(classify(nodeError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'))).toEqual({
      kind: 'permanent',
      reason: "TLS with InfluxDB failed (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate): fix the server's certificate or trust its CA (NODE_EXTRA_CA_CERTS)",
    });
    for (const status of [401, 403, 404, 405]) expect(classify(new HttpError(status, 'No')), String(status)).toMatchObject({ kind: 'permanent' });
    expect(classify(new HttpError(401, 'Unauthorized'))).toMatchObject({ reason: expect.stringContaining('sinks.influx.token') as string });
    expect(classify(new HttpError(404, 'Not Found'))).toMatchObject({ reason: expect.stringContaining('InfluxDB 1.8+, 2.x, 3.x or VictoriaMetrics') as string });
  });

  it('timeouts, refused or reset connections and 5xx are transient', () => {
    for (const err of [nodeError('ECONNREFUSED', 'connect ECONNREFUSED'), nodeError('ECONNRESET', 'socket hang up'), nodeError('ETIMEDOUT', 'timeout'), new HttpError(503, 'Unavailable'), new HttpError(500, 'Error'), new HttpError(429, 'Slow down')]) {
      expect(classify(err)).toMatchObject({ kind: 'retry' });
    }
    expect(failureReason(nodeError('ECONNREFUSED', 'connect ECONNREFUSED'))).toBe('unreachable');
  });

  it('versions without /api/v2/write: InfluxDB 0.x and 1.0–1.7', () => {
    // 1.6.7~rc0 is what Debian's influxd answers (tests/integration/influx-server-check.test.ts).
    for (const v of ['1.6.7~rc0', '1.7.11', '1.0.0', '0.13.0']) expect(hasV2WriteApi(v), v).toBe(false);
    for (const v of ['1.8.0', '1.8.10', '1.11.8', 'v2.7.4', '2.0.0', '3.0.1', 'unknown']) expect(hasV2WriteApi(v), v).toBe(true);
  });
});

describe('InfluxSink: the server check and the close deadline', () => {
  let api: FakeWriteApi;

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeWriteApi();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  const settle = async (p: Promise<unknown>, limitMs: number): Promise<void> => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < limitMs && !done; i++) await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  };

  it('start() rejects when /ping names a version before 1.8; nothing is sent, and close() drops at once', async () => {
    const sink = new InfluxSink(config(), { log, writeApi: api, ping: () => Promise.resolve({ status: 204, version: '1.7.11', build: 'OSS' }) });
    await expect(sink.start()).rejects.toThrow(/^sinks\.influx\.url: http:\/\/influx\.invalid:8086 is InfluxDB 1\.7\.11, which has no \/api\/v2\/write; the InfluxDB sink needs InfluxDB 1\.8\+, 2\.x, 3\.x or VictoriaMetrics/);
    sink.write([win(0), win(1), win(2)]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(api.requests).toHaveLength(0);
    expect(sink.health()).toMatchObject({ failed: true, buffered: 3 });
    await settle(sink.close({ timeoutMs: 60_000 }), 10);
    expect(sink.stats().droppedByReason.shutdown).toBe(3);
  });

  it('unreachable at start: not ready, checked with backoff, then writes what it held', async () => {
    let up = false;
    const sink = new InfluxSink(config(), {
      log,
      writeApi: api,
      random: () => 0,
      ping: () => (up ? Promise.resolve({ status: 204, version: 'v2.7.4', build: 'OSS' }) : Promise.reject(nodeError('ECONNREFUSED', 'connect ECONNREFUSED'))),
    });
    await sink.start();
    expect(sink.health()).toMatchObject({ ready: false, failed: false });
    sink.write([win(0), win(1)]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(api.requests).toHaveLength(0);
    expect(sink.stats().failedByReason.unreachable).toBeGreaterThanOrEqual(4);
    up = true;
    await vi.advanceTimersByTimeAsync(400);
    expect(sink.health()).toEqual({ buffered: 0, capacity: 100, failed: false });
    expect(sink.stats().pointsWritten).toBe(2);
  });

  it('close({ timeoutMs }) ends by its deadline on a hung server: what was not taken is dropped as shutdown', async () => {
    const sink = new InfluxSink(config({ batchSize: 10 }), { log, writeApi: api });
    api.answer = () => new Promise<void>(() => undefined);
    sink.write([win(0), win(1), win(2), win(3), win(4)]);
    await settle(sink.close({ timeoutMs: 1_000 }), 1_100);
    expect(sink.stats().droppedByReason.shutdown).toBe(5);
    expect(api.requests).toHaveLength(1);
  });
});
