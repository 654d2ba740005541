/**
 * What the InfluxDB sink makes of its server, against real servers: Debian's influxd 1.6
 * (no /api/v2/write: refused at start with one line, or a permanent failure when it shows up
 * later), VictoriaMetrics (no version on /ping; takes the writes), a server not there yet
 * (not ready, checked again with backoff), rejected credentials (VictoriaMetrics with basic
 * auth), and a TLS certificate the sink does not trust (a node:https endpoint made here with
 * an openssl self-signed certificate: the handshake is all that is tested there). Permanent
 * failures must show on /readyz (503 with the reason) and in the failure counters; a sink
 * that cannot write must not hold up close().
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InfluxSinkConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { NodeWindow } from '../../src/domain/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { InfluxServerUnsupportedError, InfluxSink, MetricsServer } from '../../src/sinks/index.js';
import { MemoryBus, MemorySource } from '../../src/sources/index.js';
import { findBinary, freePort, startInfluxdb1, startVictoriaMetrics, type InfluxDb1Server, type VictoriaMetricsServer } from '../helpers/servers.js';
import { configFromText } from '../helpers/config.js';
import { waitFor } from '../helpers/wait.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const SUPPORTED = 'InfluxDB 1.8+, 2.x, 3.x or VictoriaMetrics';

function win(i: number, site = 'chk1'): NodeWindow {
  return {
    type: 'node',
    site,
    node: 'pdu-1',
    level: 'pdu',
    windowMs: 10_000,
    start: T0 + i * 10_000,
    end: T0 + (i + 1) * 10_000,
    revision: 0,
    loadWatts: 1000 + i,
    peakWatts: 1000 + i,
    minWatts: 1000 + i,
    energyWh: 1,
    ratingWatts: 20_000,
    usableWatts: 16_000,
    headroomWatts: 15_000 - i,
    utilization: 0.06,
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

const windows = (n: number, site?: string): NodeWindow[] => Array.from({ length: n }, (_, i) => win(i, site));

function influxConfig(url: string, overrides: Partial<InfluxSinkConfig> = {}): InfluxSinkConfig {
  return {
    url,
    org: 'headroom',
    bucket: 'headroom',
    token: 'test-token',
    precision: 'ms',
    batchSize: 100,
    flushIntervalMs: 100,
    maxBufferedPoints: 10_000,
    retry: { maxRetries: 3, minDelayMs: 100, maxDelayMs: 500 },
    ...overrides,
  };
}

function captureLog(): { log: Logger; entries: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { log, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const PIPELINE_CONFIG = `
pipeline: { windows: [10s] }
sites:
  - id: chk1
    nodes:
      - { id: intake, level: grid, role: facility, rating: 2MW, meters: [main] }
      - { id: pdu-1, parent: intake, level: pdu, rating: 500kW, meters: [pdu-1-in] }
`;

interface Served {
  pipeline: Pipeline;
  base: string;
  registry: Registry;
  readyz(): Promise<{ status: number; body: string }>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** A pipeline on the in-process bus with `sink`, its /readyz and /metrics served on a free port. */
async function serve(sink: InfluxSink): Promise<Served> {
  const config = configFromText(PIPELINE_CONFIG, 'check.yaml');
  const log = pino({ level: 'silent' });
  const registry = new Registry();
  const pipeline = new Pipeline({
    config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
    engine: new WindowEngine(config.topology, config.engine),
    source: new MemorySource(new MemoryBus(), config.source),
    sinks: [sink],
    clock: () => T0,
    logger: log,
    registry,
    tickMs: 0,
    stopTimeoutMs: 5_000,
  });
  const server = new MetricsServer({ host: '127.0.0.1', port: 0, registry, log, readiness: () => pipeline.readiness() });
  const base = `http://127.0.0.1:${(await server.start()).port}`;
  return {
    pipeline,
    base,
    registry,
    readyz: async () => {
      const res = await fetch(`${base}/readyz`);
      return { status: res.status, body: await res.text() };
    },
    metrics: async () => {
      pipeline.tick();
      return (await fetch(`${base}/metrics`)).text();
    },
    stop: async () => {
      await pipeline.stop();
      await server.stop();
    },
  };
}

/** Points of `headroom_node_load_w` VictoriaMetrics holds for a site. */
async function storedPoints(vm: VictoriaMetricsServer, site: string): Promise<number> {
  await vm.forceFlush();
  const res = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ 'match[]': `headroom_node_load_w{site="${site}"}` }).toString()}`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .reduce((n, l) => n + (JSON.parse(l) as { timestamps: number[] }).timestamps.length, 0);
}

describe("InfluxDB 1.6 (Debian's influxdb package)", () => {
  let influx: InfluxDb1Server;

  beforeAll(async () => {
    influx = await startInfluxdb1();
  });

  afterAll(async () => {
    await influx?.stop();
  });

  it('has no /api/v2/write, only /write: what the sink can and cannot do with it', async () => {
    const ping = await fetch(`${influx.url}/ping`);
    expect(ping.status).toBe(204);
    expect(ping.headers.get('x-influxdb-version')).toMatch(/^1\.[0-7]\./);
    const v2 = await fetch(`${influx.url}/api/v2/write?bucket=headroom&org=-&precision=ms`, { method: 'POST', body: `m v=1 ${T0}` });
    expect(v2.status).toBe(404);
    await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE probe')}`, { method: 'POST' });
    const v1 = await fetch(`${influx.url}/write?db=probe&precision=ms`, { method: 'POST', body: `m v=1 ${T0}` });
    expect(v1.status).toBe(204);
  });

  it('is refused at start with one line naming the version and what is needed; close() then drops at once', async () => {
    const version = (await fetch(`${influx.url}/ping`)).headers.get('x-influxdb-version') ?? '';
    const capture = captureLog();
    const sink = new InfluxSink(influxConfig(influx.url), { log: capture.log });
    const err = await sink.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InfluxServerUnsupportedError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`InfluxDB ${version}`);
    expect(message).toContain(SUPPORTED);
    expect(message).toContain('sinks.influx.url');
    expect(sink.health()).toMatchObject({ failed: true, detail: message });
    expect(sink.stats().failedByReason).toMatchObject({ unsupported_version: 1 });

    // 992 points held (the pipeline pauses its source), then shutdown with a long deadline:
    // the sink cannot write, so it drops them at once instead of waiting for the deadline.
    sink.write(windows(992));
    const startedMs = performance.now();
    await sink.close({ timeoutMs: 60_000 });
    expect(performance.now() - startedMs).toBeLessThan(10_000);
    expect(sink.stats().droppedByReason.shutdown).toBe(992);
    const drop = capture.entries().find((e) => e.msg === 'influx points dropped');
    expect(drop).toMatchObject({ reason: 'shutdown', points: 992 });
  });

  it('showing up later, it makes the running sink fail permanently: /readyz 503 with the reason', async () => {
    const port = await freePort();
    const sink = new InfluxSink(influxConfig(`http://127.0.0.1:${port}`), { log: pino({ level: 'silent' }), requestTimeoutMs: 2_000 });
    const served = await serve(sink);
    let late: InfluxDb1Server | undefined;
    try {
      await served.pipeline.start();
      const before = await served.readyz();
      expect(before.status).toBe(503);
      expect(before.body).toContain('sink influx not ready');
      late = await startInfluxdb1({ port });
      const version = (await fetch(`${late.url}/ping`)).headers.get('x-influxdb-version') ?? '';
      const after = await waitFor('the sink to find InfluxDB 1.6', 30_000, async () => {
        const r = await served.readyz();
        return r.body.includes('failed') ? r : null;
      });
      expect(after.status).toBe(503);
      expect(after.body).toContain(`sink influx failed: sinks.influx.url: http://127.0.0.1:${port} is InfluxDB ${version}`);
      expect(await served.metrics()).toMatch(/^headroom_sink_failed\{sink="influx"\} 1$/m);
    } finally {
      await served.stop();
      await late?.stop();
    }
  }, 90_000);
});

describe('VictoriaMetrics', () => {
  let vm: VictoriaMetricsServer;

  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });

  afterAll(async () => {
    await vm?.stop();
  });

  it('answers /ping without a version; the sink starts ready and writes', async () => {
    expect((await fetch(`${vm.url}/ping`)).headers.get('x-influxdb-version')).toBeNull();
    const sink = new InfluxSink(influxConfig(vm.url), { log: pino({ level: 'silent' }) });
    await sink.start();
    expect(sink.health()).toMatchObject({ failed: false, buffered: 0 });
    expect(sink.health().ready).not.toBe(false);
    sink.write(windows(7, 'vm1'));
    await sink.close({ timeoutMs: 10_000 });
    expect(sink.stats()).toMatchObject({ pointsWritten: 7 });
    expect(await storedPoints(vm, 'vm1')).toBe(7);
  });

  it('not there at start: not ready, checked again with backoff, writes what it held once it is up', async () => {
    const port = await freePort();
    const capture = captureLog();
    const sink = new InfluxSink(influxConfig(`http://127.0.0.1:${port}`), { log: capture.log });
    const served = await serve(sink);
    let late: VictoriaMetricsServer | undefined;
    try {
      await served.pipeline.start();
      expect(sink.health()).toMatchObject({ ready: false, failed: false });
      const before = await served.readyz();
      expect(before.status).toBe(503);
      expect(before.body).toContain(`sink influx not ready: InfluxDB at http://127.0.0.1:${port} not reached yet`);
      sink.write(windows(25, 'late1'));
      await waitFor('a few checks', 20_000, () => ((sink.stats().failedByReason.unreachable ?? 0) >= 3 ? true : null));
      expect(sink.health().buffered).toBe(25);

      late = await startVictoriaMetrics({ port });
      const ready = await waitFor('/readyz 200', 30_000, async () => {
        const r = await served.readyz();
        return r.status === 200 ? r : null;
      });
      expect(ready.body).toContain('ready');
      await sink.flush();
      expect(sink.stats().pointsWritten).toBe(25);
      expect(await storedPoints(late, 'late1')).toBe(25);
      // Backoff, not a busy loop: one warning, then quieter retries.
      expect(capture.entries().filter((e) => e.msg === 'influx server not reachable; not ready, holding points and trying again')).toHaveLength(1);
    } finally {
      await served.stop();
      await late?.stop();
    }
  }, 90_000);
});

describe('permanent write failures show on /readyz and are counted', () => {
  it('401 from VictoriaMetrics with basic auth: failed, with the reason, counted', async () => {
    const vm = await startVictoriaMetrics({ extraArgs: ['-httpAuth.username=headroom', '-httpAuth.password=secret'] });
    const sink = new InfluxSink(influxConfig(vm.url), { log: pino({ level: 'silent' }) });
    const served = await serve(sink);
    try {
      await served.pipeline.start();
      sink.write(windows(5, 'auth1'));
      const r = await waitFor('/readyz to report the credentials', 20_000, async () => {
        const x = await served.readyz();
        return x.status === 503 ? x : null;
      });
      expect(r.body).toContain('sink influx failed: InfluxDB refused the credentials (HTTP 401');
      expect(r.body).toContain('sinks.influx.token');
      expect(await served.metrics()).toMatch(/^headroom_sink_failures_total\{sink="influx",reason="http_401"\} [1-9]/m);
    } finally {
      await served.stop();
      await vm.stop();
    }
  }, 60_000);

  describe('TLS', () => {
    let dir: string;
    let server: ReturnType<typeof createHttpsServer>;
    let url: string;
    const requests: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'headroom-influx-tls-'));
      execFileSync(findBinary('openssl', 'openssl'), ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', 'key.pem', '-out', 'cert.pem'], { cwd: dir, stdio: 'pipe' });
      // Answers like InfluxDB 2.x would, had the handshake succeeded.
      server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
        requests.push(req.url ?? '');
        req.resume();
        res.writeHead(204, { 'x-influxdb-version': 'v2.7.4', 'x-influxdb-build': 'OSS' });
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('a self-signed certificate is a permanent failure: /readyz 503 with the reason, counted as tls', async () => {
      const sink = new InfluxSink(influxConfig(url), { log: pino({ level: 'silent' }) });
      const served = await serve(sink);
      try {
        await served.pipeline.start();
        sink.write(windows(4, 'tls1'));
        const r = await served.readyz();
        expect(r.status).toBe(503);
        expect(r.body).toContain('sink influx failed: TLS with InfluxDB failed (');
        expect(r.body).toMatch(/SELF_SIGNED|self.signed/i);
        expect(r.body).toContain('NODE_EXTRA_CA_CERTS');
        expect(sink.stats().failedByReason.tls).toBeGreaterThanOrEqual(1);
        expect(await served.metrics()).toMatch(/^headroom_sink_failures_total\{sink="influx",reason="tls"\} [1-9]/m);
        expect(requests).toEqual([]); // no request got past the handshake
        expect(sink.health().buffered).toBe(4);
      } finally {
        await served.stop();
      }
      // The held points were dropped at close, not waited for.
      expect(sink.stats().droppedByReason.shutdown).toBe(4);
    });
  });
});
