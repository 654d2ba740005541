/**
 * The InfluxDB sink against a real server: VictoriaMetrics' InfluxDB v2 write API
 * (`/api/v2/write`), read back through `/api/v1/export` (one JSON line per series, named
 * `<measurement>_<field>`, the tags as labels). Windows come from the real core replaying
 * a stream; faults come from an HTTP proxy written here (503 with Retry-After, a server
 * that accepts and never answers, 400 for a marked point).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxSink } from '../../src/sinks/influx/index.js';
import type { NodeWindow } from '../../src/domain/index.js';
import { readBody, v1WritePath } from '../helpers/influx-v1-shim.js';
import { startInfluxdb1, startVictoriaMetrics, type InfluxDb1Server, type VictoriaMetricsServer } from '../helpers/servers.js';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { pino, type Logger } from 'pino';
import { recordToPoint } from '../../src/codec/points.js';
import { WindowEngine } from '../../src/core/index.js';
import type { EngineSettings, OutputRecord, Reading, RecordOutcome, Topology } from '../../src/domain/index.js';
import type { InfluxSinkConfig } from '../../src/config/index.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

const topologyFor = (siteId: string): Topology => ({
  sites: [
    {
      id: siteId,
      nominalHertz: 60,
      billingPeriod: 'month',
      demandIntervalMs: 900_000,
      gridMeters: [],
      nodes: [
        { id: 'ups-a', parent: null, level: 'ups', ratingWatts: 100_000, derate: 0.8, meters: [], role: 'it' },
        { id: 'pdu-1', parent: 'ups-a', level: 'pdu', ratingWatts: 20_000, derate: 0.8, meters: ['m1'] },
        { id: 'pdu-2', parent: 'ups-a', level: 'pdu', ratingWatts: 20_000, derate: 0.8, meters: ['m2'] },
      ],
    },
  ],
});

const settings: EngineSettings = {
  windowsMs: [10_000, 60_000],
  maxOutOfOrderMs: 2_000,
  allowedLatenessMs: 30_000,
  maxHoldMs: 5_000,
  maxCounterGapMs: 900_000,
  idleTimeoutMs: 30_000,
  maxClockSkewMs: 300_000,
  completenessThreshold: 0.9,
  trendWindows: 6,
  watermarkQuorum: 1,
};

interface Replay {
  /** Output records in emission order, one array per advance() (restatements included). */
  batches: OutputRecord[][];
  lateOutcome: RecordOutcome;
}

/**
 * `seconds` of 1 Hz readings from two meters, advanced after each second; at 100 s a late
 * reading for 75.5 s restates the windows holding it (revision 1).
 */
function replayStream(seconds: number, siteId: string): Replay {
  const engine = new WindowEngine(topologyFor(siteId), settings);
  const batches: OutputRecord[][] = [];
  let lateOutcome: RecordOutcome = 'accepted';
  const push = (out: OutputRecord[]): void => {
    if (out.length > 0) batches.push(out);
  };
  for (let s = 0; s < seconds; s++) {
    const tsMs = T0 + s * 1000;
    const readings: Reading[] = [
      { site: siteId, meter: 'm1', tsMs, watts: 5_000 + 1_000 * Math.sin(s / 10) },
      { site: siteId, meter: 'm2', tsMs, watts: 3_000 + 10 * (s % 7) },
    ];
    for (const r of readings) engine.record(r, tsMs);
    if (s === 100) lateOutcome = engine.record({ site: siteId, meter: 'm1', tsMs: T0 + 75_500, watts: 15_000 }, tsMs);
    push(engine.advance(tsMs));
  }
  push(engine.drain());
  return { batches, lateOutcome };
}

function influxConfig(url: string, overrides: Partial<InfluxSinkConfig> = {}): InfluxSinkConfig {
  return {
    url,
    org: 'headroom',
    bucket: 'headroom',
    token: 'test-token-do-not-log',
    precision: 'ms',
    batchSize: 50,
    flushIntervalMs: 100,
    maxBufferedPoints: 10_000,
    retry: { maxRetries: 3, minDelayMs: 200, maxDelayMs: 2_000 },
    ...overrides,
  };
}

interface LogCapture {
  log: Logger;
  lines: () => string[];
  entries: () => Record<string, unknown>[];
}

function captureLog(): LogCapture {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return {
    log,
    lines: () => lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

// ── fault proxy ──

type ProxyMode = 'forward' | 'unavailable' | 'hang';

interface FaultProxy {
  url: string;
  mode: ProxyMode;
  /** Requests whose (decompressed) body contains this string get a 400, like InfluxDB's "unable to parse". */
  rejectMarker: string | null;
  /** Forward /api/v2/write?bucket=B&precision=P as InfluxDB 1.x /write?db=B&precision=P (no Authorization); answer /ping itself. */
  v1Compat: boolean;
  counts: Record<ProxyMode | 'rejected', number>;
  /** Destroys the connections held by 'hang'. */
  releaseHung(): void;
  close(): Promise<void>;
}

async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const hung = new Set<Socket>();
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    mode: 'forward',
    rejectMarker: null,
    v1Compat: false,
    counts: { forward: 0, unavailable: 0, hang: 0, rejected: 0 },
    releaseHung: () => {
      for (const s of hung) s.destroy();
      hung.clear();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const mode = proxy.mode;
    if (mode === 'hang') {
      proxy.counts.hang++;
      hung.add(req.socket);
      return;
    }
    const body = await readBody(req);
    if (mode === 'unavailable') {
      proxy.counts.unavailable++;
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'unavailable', message: 'test outage' }));
      return;
    }
    if (proxy.rejectMarker !== null) {
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
      if (text.includes(proxy.rejectMarker)) {
        proxy.counts.rejected++;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'invalid', message: `unable to parse points: ${proxy.rejectMarker}` }));
        return;
      }
    }
    if (proxy.v1Compat && (req.url ?? '/').startsWith('/ping')) {
      // The shim is the v2 write API here: it answers /ping itself, without 1.6's version
      // header (which the sink rightly refuses), as VictoriaMetrics does.
      res.writeHead(204);
      res.end();
      return;
    }
    proxy.counts.forward++;
    let path = req.url ?? '/';
    const headers = { ...req.headers };
    if (proxy.v1Compat) {
      path = v1WritePath(path);
      delete headers.authorization;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, path, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(err.message);
    });
    upstream.end(body);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}

// ── VictoriaMetrics export ──

interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

async function exportSeries(vmUrl: string, match = '{__name__=~"headroom_.*"}'): Promise<ExportedSeries[]> {
  const res = await fetch(`${vmUrl}/api/v1/export?${new URLSearchParams({ 'match[]': match }).toString()}`);
  if (!res.ok) throw new Error(`export answered ${res.status}`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ExportedSeries);
}

/** `<measurement>_<field>{tags}` as VictoriaMetrics names an InfluxDB field (tags sorted). */
function seriesKey(name: string, tags: Readonly<Record<string, string>>): string {
  const labels = Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k] ?? ''}`)
    .join(',');
  return `${name}{${labels}}`;
}

/**
 * What the store should hold for these records: per series, timestamp → the acceptable
 * values. With `anyRevision` false only the last revision of a window is acceptable (an
 * overwrite); with true, any revision's value is (VictoriaMetrics: see README-outputs.md).
 * String fields are left out (VictoriaMetrics keeps numbers only), booleans are 1/0.
 */
function expectedSamples(records: readonly OutputRecord[], anyRevision = false): Map<string, Map<number, number[]>> {
  const out = new Map<string, Map<number, number[]>>();
  for (const record of records) {
    const point = recordToPoint(record);
    for (const [field, value] of Object.entries(point.fields)) {
      if (value.type === 'string') continue;
      const key = seriesKey(`${point.measurement}_${field}`, point.tags);
      let samples = out.get(key);
      if (samples === undefined) {
        samples = new Map();
        out.set(key, samples);
      }
      const v = value.type === 'bool' ? (value.value ? 1 : 0) : value.value;
      const previous = samples.get(point.timeMs);
      samples.set(point.timeMs, anyRevision && previous !== undefined ? [v, ...previous] : [v]);
    }
  }
  return out;
}

function actualSamples(series: readonly ExportedSeries[]): Map<string, { timestamps: number[]; values: number[] }> {
  const out = new Map<string, { timestamps: number[]; values: number[] }>();
  for (const s of series) {
    const { __name__: name, ...tags } = s.metric;
    out.set(seriesKey(name ?? '', tags), { timestamps: s.timestamps, values: s.values });
  }
  return out;
}

/** Differences between expected and exported samples (empty when equal); each timestamp must appear once. */
function compareSamples(
  expected: Map<string, Map<number, number[]>>,
  actual: Map<string, { timestamps: number[]; values: number[] }>,
): string[] {
  const problems: string[] = [];
  for (const [key, samples] of expected) {
    const got = actual.get(key);
    if (got === undefined) {
      problems.push(`missing series ${key}`);
      continue;
    }
    const seen = new Map<number, number>();
    got.timestamps.forEach((ts, i) => {
      if (seen.has(ts)) problems.push(`${key}: timestamp ${ts} twice`);
      seen.set(ts, got.values[i] ?? Number.NaN);
    });
    for (const [ts, values] of samples) {
      const v = seen.get(ts);
      if (v === undefined) problems.push(`${key}: missing sample at ${ts}`);
      else if (!values.some((value) => Math.abs(v - value) <= 1e-9 * Math.max(1, Math.abs(value)))) problems.push(`${key}@${ts}: ${v} not in ${values.join(' | ')}`);
    }
    for (const ts of seen.keys()) if (!samples.has(ts)) problems.push(`${key}: unexpected sample at ${ts}`);
  }
  for (const key of actual.keys()) if (!expected.has(key)) problems.push(`unexpected series ${key}`);
  return problems;
}

// ───────────────────────────── tests ─────────────────────────────

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('InfluxDB sink against VictoriaMetrics (/api/v2/write)', () => {
  let vm: VictoriaMetricsServer;
  let proxy: FaultProxy;

  beforeAll(async () => {
    // Without dedup VictoriaMetrics keeps both samples of a restated window (same
    // timestamp); with it, one: the last written (checked in the first test).
    vm = await startVictoriaMetrics({ extraArgs: ['-dedup.minScrapeInterval=1ms'] });
    proxy = await startFaultProxy(vm.url);
  });

  afterAll(async () => {
    await proxy?.close();
    await vm?.stop();
  });

  it('a replayed stream lands exactly once per window (restated windows: one sample)', async () => {
    const { batches, lateOutcome } = replayStream(180, 'ash1');
    expect(lateOutcome).toBe('accepted_late');
    const records = batches.flat();
    const restated = records.filter((r) => r.type !== 'alert' && r.revision > 0);
    expect(restated.length).toBeGreaterThan(0);

    const capture = captureLog();
    const sink = new InfluxSink(influxConfig(vm.url), { log: capture.log });
    for (const batch of batches) sink.write(batch);
    await sink.flush();
    expect(sink.health()).toMatchObject({ buffered: 0, failed: false });
    await sink.close();
    await vm.forceFlush();

    // Every window exactly once with its values. A restated window is one sample too
    // (dedup), but VictoriaMetrics does not promise which revision survives: equal
    // timestamps are not ordered by arrival (README-outputs.md). Overwrite semantics are
    // checked against InfluxDB itself below.
    const actual = actualSamples(await exportSeries(vm.url, '{__name__=~"headroom_.*", site="ash1"}'));
    expect(compareSamples(expectedSamples(records, true), actual)).toEqual([]);
    const notRestated = records.filter((r) => r.type === 'alert' || !restated.some((x) => x.type === r.type && x.windowMs === r.windowMs && x.start === r.start));
    const strict = expectedSamples(notRestated);
    expect(compareSamples(strict, new Map([...actual].filter(([k]) => strict.has(k)).map(([k, v]) => [k, v]))).filter((p) => !p.includes('unexpected sample'))).toEqual([]);

    const stats = sink.stats();
    expect(stats.pointsWritten).toBe(records.length);
    expect(Object.values(stats.droppedByReason).every((n) => n === 0)).toBe(true);
    expect(stats.writeLatencyCount).toBe(stats.batchesWritten);
    expect(capture.lines().join('\n')).not.toContain('test-token-do-not-log');
  });

  it('survives 503s with Retry-After and a 30 s hang: nothing lost, write() never blocks', async () => {
    const { batches } = replayStream(240, 'fault1');
    const records = batches.flat();
    const third = Math.floor(batches.length / 3);
    const parts = [batches.slice(0, third), batches.slice(third, 2 * third), batches.slice(2 * third)];
    const capture = captureLog();
    const sink = new InfluxSink(influxConfig(proxy.url, { batchSize: 20 }), { log: capture.log, requestTimeoutMs: 5_000 });
    let maxWriteMs = 0;
    const write = (part: OutputRecord[][]): void => {
      for (const batch of part) {
        const t = performance.now();
        sink.write(batch);
        maxWriteMs = Math.max(maxWriteMs, performance.now() - t);
      }
    };
    let maxBuffered = 0;
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, sink.health().buffered);
    }, 50);
    try {
      proxy.mode = 'forward';
      write(parts[0] ?? []);
      await sink.flush();

      // 503 with Retry-After: 1 for 3 s.
      proxy.mode = 'unavailable';
      write(parts[1] ?? []);
      await sleep(3_000);
      const during503 = sink.health();
      expect(during503.buffered).toBeGreaterThan(0);
      expect(during503.detail).toContain('503');
      expect(proxy.counts.unavailable).toBeGreaterThanOrEqual(2);
      // Retry-After honoured: about one attempt a second, not a burst.
      expect(proxy.counts.unavailable).toBeLessThanOrEqual(4);

      // The server accepts connections and never answers, for 30 s.
      proxy.mode = 'hang';
      const hangStartedMs = performance.now();
      write(parts[2] ?? []);
      let flushed = false;
      const flushing = sink.flush().then(() => {
        flushed = true;
      });
      await sleep(30_000);
      expect(flushed).toBe(false);
      expect(sink.health().buffered).toBe(records.length - (parts[0] ?? []).flat().length);
      // Request timeout 5 s: retried several times during the hang.
      expect(proxy.counts.hang).toBeGreaterThanOrEqual(3);
      const hangMs = performance.now() - hangStartedMs;

      proxy.mode = 'forward';
      proxy.releaseHung();
      const recoverStartMs = performance.now();
      await flushing;
      const recoveryMs = performance.now() - recoverStartMs;
      expect(sink.health()).toMatchObject({ buffered: 0, failed: false });
      expect(maxBuffered).toBeGreaterThan(0);
      expect(maxWriteMs).toBeLessThan(50);

      await sink.close();
      await vm.forceFlush();
      const expected = expectedSamples(records, true);
      const actual = actualSamples(await exportSeries(vm.url, '{__name__=~"headroom_.*", site="fault1"}'));
      expect(compareSamples(expected, actual)).toEqual([]);
      const stats = sink.stats();
      expect(Object.values(stats.droppedByReason).every((n) => n === 0)).toBe(true);
      expect(stats.pointsWritten).toBe(records.length);
      expect(stats.retries).toBe(proxy.counts.unavailable + proxy.counts.hang);
      // Measured behaviour, for the report.
      console.info(
        JSON.stringify({
          records: records.length,
          maxWriteMs: Number(maxWriteMs.toFixed(3)),
          maxBuffered,
          unavailableAnswers: proxy.counts.unavailable,
          hungRequests: proxy.counts.hang,
          hangMs: Math.round(hangMs),
          recoveryMs: Math.round(recoveryMs),
          retries: stats.retries,
          batchesWritten: stats.batchesWritten,
          lastWriteLatencyMs: stats.lastWriteLatencyMs,
        }),
      );
      expect(capture.lines().join('\n')).not.toContain('test-token-do-not-log');
    } finally {
      clearInterval(sampler);
      proxy.mode = 'forward';
      proxy.releaseHung();
    }
  }, 90_000);

  it('a point the server rejects (400) is dropped and counted with its reason; the rest land', async () => {
    const { batches } = replayStream(60, 'rej1');
    const good = batches.flat();
    const template = good.find((r): r is NodeWindow => r.type === 'node');
    if (template === undefined) throw new Error('no node window in the replay');
    const bad: NodeWindow = { ...template, node: 'reject-me' };
    const mid = Math.floor(good.length / 2);
    const records = [...good.slice(0, mid), bad, ...good.slice(mid)];

    const capture = captureLog();
    const sink = new InfluxSink(influxConfig(proxy.url, { batchSize: 40 }), { log: capture.log });
    proxy.mode = 'forward';
    proxy.rejectMarker = 'node=reject-me';
    try {
      sink.write(records);
      await sink.flush();
    } finally {
      proxy.rejectMarker = null;
    }
    await sink.close();
    const stats = sink.stats();
    expect(stats.droppedByReason).toMatchObject({ bad_point: 1, unprocessable: 0, too_large: 0, buffer_full: 0, shutdown: 0, unmappable: 0 });
    expect(stats.pointsWritten).toBe(good.length);
    expect(stats.retries).toBe(0);
    expect(sink.health().buffered).toBe(0);
    const dropLog = capture.entries().find((e) => e.msg === 'influx rejected a point; dropped');
    expect(dropLog).toMatchObject({ reason: 'bad_point', status: 400 });
    expect(String(dropLog?.line)).toContain('node=reject-me');
    expect(String(dropLog?.error)).toContain('unable to parse');

    await vm.forceFlush();
    const expected = expectedSamples(good);
    const all = actualSamples(await exportSeries(vm.url, '{__name__=~"headroom_.*", site="rej1"}'));
    expect(compareSamples(expected, all)).toEqual([]);
    expect([...all.keys()].some((k) => k.includes('reject-me'))).toBe(false);
  });
});

/**
 * InfluxDB itself (1.x from the Debian package; it has no /api/v2/write, so the proxy maps
 * the request onto /write, same body): a restatement overwrites its window, and a point
 * the server rejects for good (field type conflict: 400 "partial write") is isolated by
 * bisection, dropped and counted, while every other point lands.
 */
describe('InfluxDB sink against InfluxDB 1.x (/write behind a v2 path shim)', () => {
  let influx: InfluxDb1Server;
  let proxy: FaultProxy;

  beforeAll(async () => {
    influx = await startInfluxdb1();
    proxy = await startFaultProxy(influx.url);
    proxy.v1Compat = true;
    await influx.query('CREATE DATABASE headroom');
  });

  afterAll(async () => {
    await proxy?.close();
    await influx?.stop();
  });

  it('restatements overwrite; type-conflicting points are dropped as bad_point, the rest land', async () => {
    const { batches } = replayStream(180, 'v1a');
    const records = batches.flat();
    const sites = records.filter((r) => r.type === 'site');
    const nodes = records.filter((r): r is NodeWindow => r.type === 'node');
    expect(nodes.some((r) => r.revision > 0)).toBe(true);
    // Another writer got there first with `revision` as a float: every headroom_site point
    // (revision is an integer) now conflicts in this shard.
    const pre = await fetch(`${influx.url}/write?db=headroom&precision=ms`, { method: 'POST', body: `headroom_site,site=other revision=1.5 ${T0}` });
    expect(pre.status).toBe(204);

    const capture = captureLog();
    const sink = new InfluxSink(influxConfig(proxy.url), { log: capture.log });
    for (const batch of batches) sink.write(batch);
    await sink.flush();
    await sink.close();
    const stats = sink.stats();
    expect(stats.droppedByReason.bad_point).toBe(sites.length);
    expect(stats.pointsWritten).toBe(records.length - sites.length);
    expect(stats.retries).toBe(0);
    const drop = capture.entries().find((e) => e.msg === 'influx rejected a point; dropped');
    expect(String(drop?.error)).toContain('field type conflict');

    interface Series {
      tags: Record<string, string>;
      columns: string[];
      values: (number | boolean | null)[][];
    }
    const body = (await influx.query("SELECT * FROM headroom_node WHERE site = 'v1a' GROUP BY *")) as { results: { series?: Series[] }[] };
    const series = body.results[0]?.series ?? [];
    const rows = new Map<string, Record<string, number | boolean | null>>();
    for (const s of series) {
      for (const v of s.values) {
        const row: Record<string, number | boolean | null> = {};
        s.columns.forEach((c, i) => (row[c] = v[i] ?? null));
        rows.set(`${s.tags.node}|${s.tags.window}|${String(row.time)}`, row);
      }
    }
    const last = new Map<string, NodeWindow>();
    for (const r of nodes) last.set(`${r.node}|${r.windowMs / 1000}s|${r.start}`.replace('|60s|', '|1m|'), r);
    expect(rows.size).toBe(last.size);
    for (const [key, r] of last) {
      const row = rows.get(key);
      expect(row, key).toBeDefined();
      expect(row?.revision).toBe(r.revision);
      expect(row?.load_w).toBeCloseTo(r.loadWatts, 9);
      expect(row?.headroom_w).toBeCloseTo(r.headroomWatts, 9);
      expect(row?.headroom_certain).toBe(r.headroomCertain);
    }
    const siteRows = (await influx.query("SELECT count(revision) FROM headroom_site WHERE site = 'v1a'")) as { results: { series?: Series[] }[] };
    expect(siteRows.results[0]?.series).toBeUndefined();
  });
});
