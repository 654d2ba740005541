/**
 * Every query of every Grafana dashboard (grafana/dashboards) against real servers:
 *
 * - The pipeline runs in-process over the demo fleet (config/demo-fleet.yaml, built-in and
 *   demo alert rules): the simulator feeds 16 minutes of readings at once (so a 15-minute
 *   demand interval completes and the period peak exists), on an injected clock, then keeps
 *   feeding one simulated second every 250 ms while the queries run. The UPS `ash1/ups-1a`
 *   is driven up a steady ramp (ramp rate, time to breach, headroom and failover alerts);
 *   one malformed message (dead letter, invalid reading), one reading within the allowed
 *   lateness (a restated window) and one beyond it (a late drop) are fed as well.
 * - MetricsServer serves /metrics on 127.0.0.1 port 0; a real `prometheus` scrapes it every
 *   second. Every PromQL expression (template variables substituted with real values) must
 *   return a non-empty result with a finite value; every `label_values()` variable query must
 *   list the value substituted for it.
 * - The pipeline's records are mapped with src/codec/points.ts (recordToLine, precision ms)
 *   and written to a real `influxd` 1.x at /write; every InfluxQL query (Grafana macros
 *   substituted) must return rows with values.
 *
 * The NATS connection state and the JetStream pending count come from a NATS status object and
 * a source health the test provides (the memory bus has neither); the sink delivery metrics
 * from a stub sink with fixed failure counts. Missing binaries fail the run, never skip.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordToLine } from '../../src/codec/points.js';
import { loadConfigFile } from '../../src/config/index.js';
import { AlertEngine } from '../../src/core/alerts/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { OutputRecord } from '../../src/domain/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { MetricsServer, MetricsSink, type Sink, type SinkHealth, type SinkStats } from '../../src/sinks/index.js';
import { MemoryBus, MemorySource } from '../../src/sources/memory-bus.js';
import { NO_FAULTS, createSimulator, type Simulator } from '../../src/sources/simulator/index.js';
import type { NatsConnectionStatus, Source, SourceHealth, SourceMessage } from '../../src/sources/index.js';
import { collectProcessMetrics, createLogger } from '../../src/telemetry/index.js';
import { retryUntil, startInfluxdb1, startPrometheus, type InfluxDb1Server, type PrometheusServer } from '../helpers/servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dashboardsDir = join(repoRoot, 'grafana/dashboards');

const T0 = Date.parse('2025-06-02T00:00:00Z'); // on a 15-minute boundary
const BULK_SECONDS = 16 * 60;
const RAMP_NODE = 'ups-1a';
const RAMP_METER = 'ash1-ups-1a';
// The ramp starts early: a time to breach needs a significant rise over its 10-minute horizon.
const RAMP_FROM_S = 2 * 60;
const INFLUX_DB = 'headroom';

// ───────────────────────────── dashboard queries ─────────────────────────────

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);

interface DashboardQuery {
  where: string;
  kind: 'promql' | 'influxql' | 'variable';
  text: string;
}

function dashboardQueries(): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const file of readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).sort()) {
    const json = JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Json;
    if (!isObject(json)) throw new Error(`${file}: not an object`);
    const panels = arr(json.panels).filter(isObject).flatMap((p) => [p, ...arr(p.panels).filter(isObject)]);
    for (const p of panels) {
      for (const t of arr(p.targets)) {
        if (!isObject(t)) continue;
        const where = `${file} / ${String(p.title)} / ${String(t.refId)}`;
        if (typeof t.expr === 'string') out.push({ where, kind: 'promql', text: t.expr });
        else if (typeof t.query === 'string') out.push({ where, kind: 'influxql', text: t.query });
      }
    }
    const templating = json.templating;
    for (const v of isObject(templating) ? arr(templating.list).filter(isObject) : []) {
      if (v.type !== 'query') continue;
      const q = v.query;
      const text = isObject(q) ? q.query : q;
      if (typeof text === 'string') out.push({ where: `${file} / variable ${String(v.name)}`, kind: 'variable', text });
    }
  }
  return out;
}

/** `$name` and `${name}` replaced from `values`; an unknown variable throws (every one must be covered). */
function substitute(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}|\$([a-zA-Z_][a-zA-Z0-9_]*)/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`no test value for the template variable $${name} in: ${text}`);
    return value;
  });
}

// ───────────────────────────── the running pipeline ─────────────────────────────

/** A sink that reports fixed delivery stats, so the sink panels have every series. */
class StubSink implements Sink {
  readonly name = 'stub';
  private written = 0;
  private writes = 0;
  write(records: readonly OutputRecord[]): void {
    this.written += records.length;
    this.writes++;
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  health(): SinkHealth {
    return { buffered: 3, capacity: 100_000, failed: false };
  }
  stats(): SinkStats {
    return { written: this.written, writes: this.writes, lastWriteSeconds: 0.004, retries: 2, failedByReason: { timeout: 2 }, droppedByReason: { buffer_full: 1 } };
  }
}

/** The memory source, with a pending count as a JetStream source reports it. */
class PendingSource implements Source {
  readonly kind = 'jetstream' as const;
  constructor(private readonly inner: MemorySource) {}
  start(handler: (batch: SourceMessage[]) => Promise<void> | void): Promise<void> {
    return this.inner.start(handler);
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  health(): SourceHealth {
    return { ...this.inner.health(), pending: this.inner.queued };
  }
}

interface Worker {
  pipeline: Pipeline;
  server: MetricsServer;
  target: string;
  records: OutputRecord[];
  /** Feeds the next simulated second (readings, clock, tick). */
  feedSecond(): Promise<void>;
  lastTsMs(): number;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Rewrites the ramp meter's readings in a simulator payload: a steady climb from RAMP_FROM_S. */
function withRamp(payload: string, tsMs: number): string {
  const s = (tsMs - T0) / 1000;
  if (s < RAMP_FROM_S || !payload.includes(RAMP_METER)) return payload;
  const readings = JSON.parse(payload) as Record<string, unknown>[];
  // Plus a training swing of ±0.5 MW with a 10 s period (swing panels); every 10 s window
  // averages it out exactly.
  const watts = 38_000_000 + 5_000 * (s - RAMP_FROM_S) + (Math.floor(s / 5) % 2 === 0 ? 500_000 : -500_000);
  return JSON.stringify(readings.map((r) => (r.meter === RAMP_METER ? { site: r.site, meter: r.meter, ts: r.ts, watts } : r)));
}

async function startWorker(): Promise<Worker> {
  const loaded = loadConfigFile(join(repoRoot, 'config/demo-fleet.yaml'));
  if (!loaded.ok) throw new Error(`demo fleet config invalid: ${JSON.stringify(loaded.issues)}`);
  const config = loaded.config;
  const registry = new Registry();
  collectProcessMetrics(registry);
  const log = createLogger({ level: 'silent' });
  const bus = new MemoryBus();
  const clock = { nowMs: T0 };
  const nats: NatsConnectionStatus = { state: 'connected', reconnects: 0, errors: 0 };
  const pipeline = new Pipeline({
    config: { subjectPrefix: config.source.subjectPrefix, maxMessageBytes: config.source.maxMessageBytes },
    engine: new WindowEngine(config.topology, config.engine),
    source: new PendingSource(new MemorySource(bus, { subjectPrefix: config.source.subjectPrefix })),
    sinks: [new MetricsSink(config.topology, { windowsMs: config.engine.windowsMs, maxDepth: 10 }, registry), new StubSink()],
    alerts: new AlertEngine(config.topology, config.alerts),
    natsStatus: nats,
    clock: () => clock.nowMs,
    logger: log,
    registry,
    tickMs: 0,
  });
  const records: OutputRecord[] = [];
  pipeline.onRecords((r) => records.push(...r));
  const server = new MetricsServer({ host: '127.0.0.1', port: 0, registry, log, readiness: () => pipeline.readiness() });
  const address = await server.start();
  await pipeline.start();
  const sim: Simulator = createSimulator(config.topology, { seed: 7, rateMs: 1000, startMs: T0, batch: true, faults: NO_FAULTS });
  let lastTs = T0;
  const feedSecond = async (): Promise<void> => {
    const tick = sim.tick();
    lastTs = tick.tsMs;
    clock.nowMs = tick.tsMs + 50;
    for (const m of tick.messages) bus.publish(m.subject, withRamp(m.payload, tick.tsMs));
    await settle();
    pipeline.tick();
  };
  for (let s = 0; s < BULK_SECONDS; s++) {
    await feedSecond();
    if (s === 300) bus.publish('telemetry.ash1.gw-test', '{broken'); // dead letter + invalid reading
  }
  // Within the allowed lateness (10 s): accepted late, its closed 10 s window is restated.
  bus.publish('telemetry.ash1.gw-test', JSON.stringify({ meter: 'ash1-pod-1-2', ts: lastTs - 11_500, watts: 3_000_000 }));
  // Beyond it: dropped as late.
  bus.publish('telemetry.ash1.gw-test', JSON.stringify({ meter: 'ash1-pod-1-2', ts: lastTs - 120_000, watts: 3_000_000 }));
  await settle();
  pipeline.tick();
  return { pipeline, server, target: `127.0.0.1:${address.port}`, records, feedSecond, lastTsMs: () => lastTs };
}

// ───────────────────────────── query helpers ─────────────────────────────

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] | [number, string] };
}

async function promQuery(url: string, expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as PromResponse;
  if (body.status !== 'success' || body.data === undefined) throw new Error(`query failed (${res.status}): ${body.error ?? JSON.stringify(body)}`);
  const result = body.data.result;
  if (body.data.resultType === 'scalar' && Array.isArray(result) && typeof result[1] === 'string') return [{ metric: {}, value: Number(result[1]) }];
  return (result as { metric: Record<string, string>; value?: [number, string] }[]).map((r) => ({ metric: r.metric, value: Number(r.value?.[1]) }));
}

interface InfluxResponse {
  results?: { statement_id: number; error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: (string | number | boolean | null)[][] }[] }[];
  error?: string;
}

async function influxQuery(url: string, q: string): Promise<InfluxResponse> {
  const res = await fetch(`${url}/query?db=${INFLUX_DB}&epoch=ms&q=${encodeURIComponent(q)}`);
  return (await res.json()) as InfluxResponse;
}

// ───────────────────────────── tests ─────────────────────────────

const queries = dashboardQueries();
let worker: Worker | undefined;
let prometheus: PrometheusServer | undefined;
let influx: InfluxDb1Server | undefined;
let feeder: NodeJS.Timeout | undefined;
let feeding: Promise<void> = Promise.resolve();

beforeAll(async () => {
  const influxStarting = startInfluxdb1();
  influxStarting.catch(() => undefined);
  worker = await startWorker();
  prometheus = await startPrometheus(
    ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: headroom', `    static_configs: [{ targets: ['${worker.target}'] }]`, ''].join('\n'),
  );
  influx = await influxStarting;
  // Live: one simulated second every 250 ms, so rates and emit delays are current.
  const w = worker;
  feeder = setInterval(() => {
    feeding = feeding.then(() => w.feedSecond());
  }, 250);
}, 180_000);

afterAll(async () => {
  if (feeder !== undefined) clearInterval(feeder);
  await feeding;
  await prometheus?.stop();
  await influx?.stop();
  await worker?.pipeline.stop();
  await worker?.server.stop();
});

describe('the Grafana dashboards against a real Prometheus and InfluxDB 1.x', () => {
  it('find queries of all three kinds in the dashboards', () => {
    expect(queries.filter((q) => q.kind === 'promql').length).toBeGreaterThan(50);
    expect(queries.filter((q) => q.kind === 'influxql').length).toBeGreaterThanOrEqual(3);
    expect(queries.filter((q) => q.kind === 'variable').length).toBeGreaterThanOrEqual(4);
  });

  it('every PromQL expression returns data from Prometheus scraping the running pipeline', async () => {
    const vars = { site: 'ash1', node: RAMP_NODE, level: 'ups', window: '10s', instance: worker!.target, __rate_interval: '1m', __interval: '10s', __range: '5m' };
    const prom = prometheus!;
    // Wait for the scrape (up to 30 s), then for series that need a few scrapes (rates).
    await retryUntil(async () => {
      const r = await promQuery(prom.url, `headroom_node_load_watts{site="ash1"}`);
      if (r.length === 0) throw new Error('not scraped yet');
    }, 30_000);
    const failures: string[] = [];
    for (const q of queries.filter((x) => x.kind === 'promql')) {
      const expr = substitute(q.text, vars);
      try {
        await retryUntil(async () => {
          const r = await promQuery(prom.url, expr);
          if (r.length === 0) throw new Error('empty result');
          if (!r.some((s) => Number.isFinite(s.value))) throw new Error(`no finite value: ${JSON.stringify(r)}`);
        }, 15_000, 500);
      } catch (err: unknown) {
        failures.push(`${q.where}: ${expr}\n    ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 300_000);

  it('every label_values() variable query lists the value the test substitutes for it', async () => {
    const vars: Record<string, string> = { site: 'ash1', node: RAMP_NODE, level: 'ups', window: '10s', instance: worker!.target };
    const failures: string[] = [];
    for (const q of queries.filter((x) => x.kind === 'variable')) {
      const m = /^\s*label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(q.text);
      if (m === null) {
        failures.push(`${q.where}: not label_values(selector, label): ${q.text}`);
        continue;
      }
      const selector = substitute(m[1]!, { ...vars, level: '.+' });
      const label = m[2]!;
      const want = vars[label];
      const values = await retryUntil(async () => {
        const res = await fetch(`${prometheus!.url}/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}`);
        const body = (await res.json()) as { status: string; data?: string[] };
        if (body.status !== 'success' || body.data === undefined || body.data.length === 0) throw new Error(`no values: ${JSON.stringify(body)}`);
        return body.data;
      }, 15_000).catch((err: unknown) => {
        failures.push(`${q.where}: ${selector} → ${label}: ${err instanceof Error ? err.message : String(err)}`);
        return [] as string[];
      });
      if (want !== undefined && values.length > 0 && !values.includes(want)) failures.push(`${q.where}: ${want} not among ${values.join(', ')}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 120_000);

  it("every InfluxQL query returns rows from InfluxDB 1.x loaded with the pipeline's points", async () => {
    const db = influx!;
    const created = await fetch(`${db.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${INFLUX_DB}`)}`, { method: 'POST' });
    expect(created.status).toBe(200);
    const records = [...worker!.records];
    expect(records.some((r) => r.type === 'alert' && r.state === 'firing')).toBe(true);
    expect(records.some((r) => r.type === 'node' && r.revision > 0)).toBe(true);
    const lines = records.flatMap((r) => {
      const line = recordToLine(r, 'ms');
      return line === null ? [] : [line];
    });
    for (let i = 0; i < lines.length; i += 5000) {
      const res = await fetch(`${db.url}/write?db=${INFLUX_DB}&precision=ms`, { method: 'POST', body: lines.slice(i, i + 5000).join('\n') });
      expect(res.status, await res.text()).toBe(204);
    }
    const fromMs = T0 - 3_600_000;
    const toMs = worker!.lastTsMs() + 3_600_000;
    const vars = { site: 'ash1', node: RAMP_NODE, level: 'ups', window: '10s', timeFilter: `time >= ${fromMs}ms and time <= ${toMs}ms`, __interval: '10s' };
    const failures: string[] = [];
    for (const q of queries.filter((x) => x.kind === 'influxql')) {
      const text = substitute(q.text, vars);
      const body = await influxQuery(db.url, text);
      const result = body.results?.[0];
      const series = result?.series ?? [];
      // A value in some column other than time (fill(0) rows do not count).
      const hasValue = series.some((s) => s.values.some((row) => row.slice(1).some((v) => v !== null && v !== 0)));
      if (body.error !== undefined || result?.error !== undefined || !hasValue) {
        failures.push(`${q.where}: ${text}\n    ${body.error ?? result?.error ?? `no rows with values: ${JSON.stringify(series).slice(0, 300)}`}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 120_000);
});
