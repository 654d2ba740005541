/**
 * The Sink contract (src/sinks/types.ts), checked the same way on every sink against its real
 * destination: NDJSON (a file), metrics (a prom-client registry), InfluxDB (VictoriaMetrics'
 * v2 write API) and NATS results (nats-server).
 *
 * - write: returns at once, never throws (an empty batch too);
 * - flush: resolves when everything written so far is delivered: the destination then holds
 *   what was written (read back there, compared with what the records say), nothing buffered;
 * - stats: when reported, `written` counts what was delivered, and nothing was dropped;
 * - health: a positive capacity, a buffer level between 0 and the hard bound, not failed;
 * - backpressure: a sink with a finite capacity reports its buffer reaching it while its
 *   destination cannot keep up; a sink that never holds anything reports an infinite one;
 * - close: resolves within its deadline, with nothing left buffered;
 * - delivery delay: batches written with their emission time show up, once delivered, in
 *   headroom_sink_delivery_delay_seconds{sink}; an InfluxDB that is down and comes back shows
 *   a delay at least as long as the outage.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InfluxSinkConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { EngineSettings, NodeWindow, OutputRecord, Reading, Topology } from '../../src/domain/index.js';
import { InfluxSink, MetricsSink, NatsResultsSink, NdjsonSink, type Sink } from '../../src/sinks/index.js';
import { PipelineMetrics, SINK_DELIVERY_DELAY_SECONDS } from '../../src/telemetry/index.js';
import { freePort, startNats, startVictoriaMetrics, type NatsServer, type VictoriaMetricsServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const SITE = 'comply1';
const T0_MS = Date.UTC(2026, 3, 1, 9, 0, 0);
const WINDOW_LABELS = new Map([
  [10_000, '10s'],
  [60_000, '1m'],
]);

const topology: Topology = {
  sites: [
    {
      id: SITE,
      nominalHertz: 50,
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
};

const settings: EngineSettings = {
  windowsMs: [...WINDOW_LABELS.keys()],
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

/** The real core's output for `seconds` of 1 Hz readings from two meters, one batch per advance. */
function windowBatches(seconds: number): OutputRecord[][] {
  const engine = new WindowEngine(topology, settings);
  const batches: OutputRecord[][] = [];
  for (let s = 0; s < seconds; s++) {
    const tsMs = T0_MS + s * 1000;
    const readings: Reading[] = [
      { site: SITE, meter: 'm1', tsMs, watts: 6_000 + 500 * Math.sin(s / 7) },
      { site: SITE, meter: 'm2', tsMs, watts: 4_000 + 25 * (s % 5) },
    ];
    for (const r of readings) engine.record(r, tsMs);
    const out = engine.advance(tsMs);
    if (out.length > 0) batches.push(out);
  }
  batches.push(engine.drain());
  return batches.filter((b) => b.length > 0);
}

const nodeWindows = (records: readonly OutputRecord[]): NodeWindow[] => records.filter((r): r is NodeWindow => r.type === 'node');
const windowLabel = (windowMs: number): string => WINDOW_LABELS.get(windowMs) ?? `${windowMs}ms`;
const sorted = (keys: string[]): string[] => [...keys].sort();

/** Observations of `sink` in a registry's delivery-delay histogram. */
async function deliveryCount(registry: Registry, sink: string): Promise<number> {
  const histogram = (await registry.getMetricsAsJSON()).find((m) => m.name === SINK_DELIVERY_DELAY_SECONDS);
  return histogram?.values.find((v) => 'metricName' in v && v.metricName === `${SINK_DELIVERY_DELAY_SECONDS}_count` && v.labels['sink'] === sink)?.value ?? 0;
}

interface Delivery {
  sink: Sink;
  /** What the destination holds now, one key per delivered item. */
  delivered(): Promise<string[]>;
  /** The keys the destination must hold once these records are delivered. */
  expected(records: readonly OutputRecord[]): string[];
  /** What `stats().written` counts for these records (records, points, messages). */
  writtenCount?(records: readonly OutputRecord[]): number;
  dispose(): Promise<void>;
}

interface SinkCase {
  kind: string;
  open(): Promise<Delivery>;
  /**
   * A sink with a finite buffer whose destination cannot keep up: writing `records` makes the
   * buffer reach its capacity. Absent for a sink that holds nothing (capacity is infinite).
   */
  openSlow?(): Promise<{ sink: Sink; dispose(): Promise<void> }>;
}

let dir = '';
let nats: NatsServer | undefined;
let vm: VictoriaMetricsServer | undefined;
const log = pino({ level: 'silent' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'headroom-sink-compliance-'));
  [nats, vm] = await Promise.all([startNats({ jetstream: false }), startVictoriaMetrics()]);
});

afterAll(async () => {
  await Promise.all([nats?.stop(), vm?.stop()]);
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function influxConfig(url: string, overrides: Partial<InfluxSinkConfig> = {}): InfluxSinkConfig {
  return {
    url,
    org: 'headroom',
    bucket: 'headroom',
    token: 'compliance-token',
    precision: 'ms',
    batchSize: 50,
    flushIntervalMs: 100,
    maxBufferedPoints: 10_000,
    retry: { maxRetries: 2, minDelayMs: 100, maxDelayMs: 500 },
    ...overrides,
  };
}

let fileCount = 0;
const ndjsonCase: SinkCase = {
  kind: 'ndjson',
  open: () => {
    const path = join(dir, `results-${++fileCount}.ndjson`);
    const sink = new NdjsonSink(path, { truncate: true });
    return Promise.resolve({
      sink,
      delivered: () =>
        Promise.resolve(
          readFileSync(path, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.stringify(JSON.parse(l))),
        ),
      expected: (records) => records.map((r) => JSON.stringify(JSON.parse(JSON.stringify(r)))),
      dispose: () => Promise.resolve(),
    });
  },
  openSlow: () => {
    // 200 bytes of buffer: one batch of window records is far more than the file stream takes at once.
    const sink = new NdjsonSink(join(dir, `slow-${++fileCount}.ndjson`), { truncate: true, capacityBytes: 200 });
    return Promise.resolve({ sink, dispose: () => sink.close() });
  },
};

const metricsCase: SinkCase = {
  kind: 'metrics',
  open: () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: settings.windowsMs, maxDepth: 10 }, registry);
    return Promise.resolve({
      sink,
      // The node load gauge: one series per node and window, holding the latest window's load.
      delivered: async () => {
        const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'headroom_node_load_watts');
        return (metric?.values ?? []).map((v) => `${String(v.labels['node'])}|${String(v.labels['window'])}|${v.value}`);
      },
      expected: (records) => {
        const latest = new Map<string, NodeWindow>();
        for (const w of nodeWindows(records)) latest.set(`${w.node}|${w.windowMs}`, w);
        return [...latest.values()].map((w) => `${w.node}|${windowLabel(w.windowMs)}|${w.loadWatts}`);
      },
      dispose: () => Promise.resolve(),
    });
  },
};

const influxCase: SinkCase = {
  kind: 'influx',
  open: () => {
    const server = vm!;
    const sink = new InfluxSink(influxConfig(server.url), { log });
    return Promise.resolve({
      sink,
      // One sample per node window: `headroom_node_load_w` (VictoriaMetrics names a field <measurement>_<field>).
      delivered: async () => {
        await server.forceFlush();
        const res = await fetch(`${server.url}/api/v1/export?${new URLSearchParams({ 'match[]': `headroom_node_load_w{site="${SITE}"}` }).toString()}`);
        if (!res.ok) throw new Error(`export answered ${res.status}`);
        const keys: string[] = [];
        for (const line of (await res.text()).split('\n')) {
          if (line.trim() === '') continue;
          const series = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
          series.timestamps.forEach((ts, i) => keys.push(`${series.metric['node']}|${series.metric['window']}|${ts}|${series.values[i]}`));
        }
        return keys;
      },
      expected: (records) => nodeWindows(records).map((w) => `${w.node}|${windowLabel(w.windowMs)}|${w.start}|${w.loadWatts}`),
      // One point per record.
      writtenCount: (records) => records.length,
      dispose: () => Promise.resolve(),
    });
  },
  openSlow: async () => {
    // Nothing listens on this port: no point leaves the buffer.
    const port = await freePort();
    const sink = new InfluxSink(influxConfig(`http://127.0.0.1:${port}`, { batchSize: 10, maxBufferedPoints: 20 }), { log });
    return { sink, dispose: () => sink.close({ timeoutMs: 1_000 }) };
  },
};

const natsCase: SinkCase = {
  kind: 'nats-results',
  open: async () => {
    const url = nats!.url;
    const [pub, sub] = await Promise.all([connect({ servers: url }), connect({ servers: url })]);
    const received: string[] = [];
    const subscriptions: Subscription[] = ['compliance.results.>', 'compliance.alerts.>'].map((subject) =>
      sub.subscribe(subject, {
        callback: (err, msg) => {
          if (err === null) received.push(`${msg.subject}|${JSON.stringify(JSON.parse(msg.string()))}`);
        },
      }),
    );
    await sub.flush(); // the subscriptions are registered before anything is published
    const sink = new NatsResultsSink({ enabled: true, resultsPrefix: 'compliance.results', alertsPrefix: 'compliance.alerts' }, { nc: pub, log });
    return {
      sink,
      // Core NATS: a published message reaches the subscriber shortly after the server has it.
      delivered: async () => {
        await pub.flush();
        await sub.flush();
        return [...received];
      },
      expected: (records) => records.map((r) => `compliance.${r.type === 'alert' ? 'alerts' : 'results'}.${r.site}|${JSON.stringify(JSON.parse(JSON.stringify(r)))}`),
      writtenCount: (records) => records.length,
      dispose: async () => {
        for (const s of subscriptions) s.unsubscribe();
        await closeAll([pub, sub]);
      },
    };
  },
};

async function closeAll(connections: NatsConnection[]): Promise<void> {
  await Promise.all(connections.map((c) => c.close()));
}

describe.each([ndjsonCase, metricsCase, influxCase, natsCase])('the Sink contract: $kind', (sinkCase) => {
  it('write returns at once without throwing; flush delivers everything written; stats count it; health is sound', async () => {
    const batches = windowBatches(150);
    const records = batches.flat();
    expect(records.length).toBeGreaterThan(0);
    const d = await sinkCase.open();
    const delays = new Registry();
    d.sink.onDelivered = new PipelineMetrics(delays).deliveryObserver(d.sink.name);
    try {
      await d.sink.start?.();
      for (const batch of batches) expect(d.sink.write(batch, performance.now())).toBeUndefined();
      expect(() => d.sink.write([])).not.toThrow();
      const health = d.sink.health();
      expect(health.capacity).toBeGreaterThan(0);
      expect(health.buffered).toBeGreaterThanOrEqual(0);
      expect(health.failed).toBe(false);

      await d.sink.flush();
      expect(d.sink.health().buffered).toBe(0);
      const expected = sorted(d.expected(records));
      expect(expected.length).toBeGreaterThan(0);
      // The destination may need a moment to show what it accepted (a store's index, a subscriber).
      const delivered = await waitFor(`${sinkCase.kind} to hold what was written`, 30_000, async () => {
        const now = sorted(await d.delivered());
        return now.length >= expected.length ? now : null;
      });
      expect(delivered).toEqual(expected);
      // Delivered batches are observed (NDJSON: in the file stream's write callback, just after the bytes are in the file).
      const observed = await waitFor(`${sinkCase.kind} delivery delays observed`, 30_000, async () => {
        const n = await deliveryCount(delays, d.sink.name);
        return n > 0 ? n : null;
      });
      expect(observed).toBeGreaterThan(0);
      // At most one observation per written batch (InfluxDB: per request, which may hold several).
      if (sinkCase.kind !== 'influx') expect(observed).toBeLessThanOrEqual(batches.length);

      const stats = d.sink.stats?.();
      if (stats !== undefined && d.writtenCount !== undefined) {
        expect(stats.written).toBe(d.writtenCount(records));
        expect(Object.values(stats.droppedByReason ?? {}).reduce((a, b) => a + b, 0)).toBe(0);
      }
    } finally {
      await d.sink.close({ timeoutMs: 5_000 });
      await d.dispose();
    }
  });

  it('close resolves within its deadline, with nothing left buffered', async () => {
    const d = await sinkCase.open();
    try {
      d.sink.write(windowBatches(30).flat());
      const closeMs = 5_000;
      const closed = await Promise.race([
        d.sink.close({ timeoutMs: closeMs }).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), closeMs + 10_000)),
      ]);
      expect(closed).toBe(true);
      expect(d.sink.health().buffered).toBe(0);
    } finally {
      await d.dispose();
    }
  });

  it('backpressure: a finite buffer reports reaching its capacity while the destination cannot keep up; an infinite one holds nothing', async () => {
    if (sinkCase.openSlow === undefined) {
      const d = await sinkCase.open();
      try {
        d.sink.write(windowBatches(150).flat());
        expect(d.sink.health()).toMatchObject({ capacity: Number.POSITIVE_INFINITY, buffered: 0 });
      } finally {
        await d.sink.close({ timeoutMs: 5_000 });
        await d.dispose();
      }
      return;
    }
    const slow = await sinkCase.openSlow();
    try {
      const records = windowBatches(150).flat();
      slow.sink.write(records);
      const health = slow.sink.health();
      expect(Number.isFinite(health.capacity)).toBe(true);
      expect(health.buffered).toBeGreaterThanOrEqual(health.capacity);
      // What the bound could not take is counted, never silently held: stats (when reported)
      // account for every record as buffered or dropped.
      const stats = slow.sink.stats?.();
      if (stats !== undefined) {
        const droppedCount = Object.values(stats.droppedByReason ?? {}).reduce((a, b) => a + b, 0);
        expect(health.buffered + droppedCount + (stats.written ?? 0)).toBe(records.length);
      }
    } finally {
      await slow.dispose();
    }
  });
});

describe('delivery delay: an InfluxDB outage', () => {
  it('a batch written while InfluxDB is unreachable is delivered after it comes back, with a delay at least as long as the outage', async () => {
    // Nothing listens on this port until the second server starts there.
    const port = await freePort();
    const sink = new InfluxSink(influxConfig(`http://127.0.0.1:${port}`), { log });
    const registry = new Registry();
    const observe = new PipelineMetrics(registry).deliveryObserver(sink.name);
    const seenSeconds: number[] = [];
    sink.onDelivered = (seconds) => {
      seenSeconds.push(seconds);
      observe(seconds);
    };
    let late: VictoriaMetricsServer | undefined;
    try {
      await sink.start();
      const records = windowBatches(60).flat();
      const emittedAtMonoMs = performance.now();
      sink.write(records, emittedAtMonoMs);
      // Down for real: the sink has tried and failed a few times.
      await waitFor('failed attempts while InfluxDB is down', 30_000, () => ((sink.stats().failed ?? 0) >= 3 ? true : null));
      const upAtMonoMs = performance.now();
      late = await startVictoriaMetrics({ port });
      await waitFor('the held points delivered', 60_000, () => (sink.stats().written === records.length ? true : null));
      const outageSeconds = (upAtMonoMs - emittedAtMonoMs) / 1000;
      expect(outageSeconds).toBeGreaterThan(0);
      expect(seenSeconds.length).toBeGreaterThan(0);
      for (const s of seenSeconds) expect(s).toBeGreaterThanOrEqual(outageSeconds);
      expect(await deliveryCount(registry, 'influx')).toBe(seenSeconds.length);
    } finally {
      await sink.close({ timeoutMs: 2_000 });
      await late?.stop();
    }
  });
});
