/**
 * The Prometheus exporter against the real tools: the pipeline runs in-process (memory
 * source, hand-fed fixed readings on an injected clock), MetricsServer serves /metrics on
 * 127.0.0.1 port 0; `promtool check metrics` lints the real scrape, and a real `prometheus`
 * scrapes it every second and answers PromQL with the headroom the records say. Missing
 * binaries fail the run (MissingServerBinaryError), they never skip.
 */
import { spawn } from 'node:child_process';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WindowEngine } from '../../src/core/index.js';
import type { NodeWindow, OutputRecord } from '../../src/domain/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { MetricsServer, MetricsSink } from '../../src/sinks/index.js';
import { MemoryBus, MemorySource } from '../../src/sources/memory-bus.js';
import { NODE_HEADROOM_WATTS, READINGS_TOTAL, collectProcessMetrics, createLogger } from '../../src/telemetry/index.js';
import { findBinary, retryUntil, startPrometheus, type PrometheusServer } from '../helpers/servers.js';
import { configFromText } from '../helpers/config.js';

const CONFIG = `
pipeline: { windows: [10s, 1m], maxOutOfOrder: 2s, allowedLateness: 10s }
sites:
  - id: lab1
    contract: 1MW
    nodes:
      - { id: intake, level: grid, role: facility, rating: 1.2MW, meters: [lab1-main] }
      - { id: ups-1, parent: intake, level: ups, role: it, rating: 500kW, derate: 0.9, meters: [lab1-ups-1] }
      - { id: pdu-1, parent: ups-1, level: pdu, rating: 200kW, meters: [lab1-pdu-1] }
`;

const T0 = 1_750_000_000_000; // a multiple of 10 s
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Running {
  pipeline: Pipeline;
  server: MetricsServer;
  url: string;
  records: OutputRecord[];
}

/** Pipeline + metrics sink + server; 35 s of fixed readings fed at once, then left running. */
async function startWorker(): Promise<Running> {
  const config = configFromText(CONFIG, 'test.yaml');
  const registry = new Registry();
  collectProcessMetrics(registry);
  const log = createLogger({ level: 'silent' });
  const bus = new MemoryBus();
  const clock = { nowMs: T0 };
  const pipeline = new Pipeline({
    config: { subjectPrefix: config.source.subjectPrefix, maxMessageBytes: config.source.maxMessageBytes },
    engine: new WindowEngine(config.topology, config.engine),
    source: new MemorySource(bus, { subjectPrefix: config.source.subjectPrefix }),
    sinks: [new MetricsSink(config.topology, { windowsMs: config.engine.windowsMs, maxDepth: 10 }, registry)],
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
  for (let s = 0; s < 35; s++) {
    const ts = T0 + s * 1000;
    clock.nowMs = ts + 50;
    bus.publish(
      'telemetry.lab1.gw1',
      JSON.stringify([
        { meter: 'lab1-main', ts, watts: 300_000 },
        { meter: 'lab1-ups-1', ts, watts: 200_000 },
        { meter: 'lab1-pdu-1', ts, watts: 80_000 },
      ]),
    );
    if (s === 20) bus.publish('telemetry.lab1.gw1', '{broken'); // a dropped-reading series too
    await settle();
    pipeline.tick();
  }
  return { pipeline, server, url: `http://127.0.0.1:${address.port}/metrics`, records };
}

/** Runs promtool with `input` on stdin; resolves with exit code and output. */
function promtool(args: string[], input: string): Promise<{ code: number | null; output: string }> {
  const binary = findBinary('promtool', 'prometheus');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

/** The newest 10 s window of a node in the records (the last emission of the newest start). */
function latestNodeWindow(records: readonly OutputRecord[], node: string): NodeWindow {
  let latest: NodeWindow | undefined;
  for (const r of records) if (r.type === 'node' && r.node === node && r.windowMs === 10_000 && (latest === undefined || r.start >= latest.start)) latest = r;
  if (latest === undefined) throw new Error(`no 10 s window of ${node} in the records`);
  return latest;
}

interface QueryResponse {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('the Prometheus exporter with promtool and a real Prometheus', () => {
  let worker: Running | undefined;
  let prometheus: PrometheusServer | null = null;

  beforeAll(async () => {
    worker = await startWorker();
  });

  afterAll(async () => {
    await prometheus?.stop();
    await worker?.pipeline.stop();
    await worker?.server.stop();
  });

  it('promtool check metrics passes the real scrape without lint problems', async () => {
    const res = await fetch(worker!.url);
    expect(res.status).toBe(200);
    const body = await res.text();
    // The scrape holds node and site gauges, pipeline health and process metrics.
    expect(body).toContain(`${NODE_HEADROOM_WATTS}{site="lab1",node="ups-1",level="ups",window="10s"}`);
    expect(body).toContain('headroom_site_demand_15m_watts{site="lab1",window="10s"}');
    expect(body).toContain(`${READINGS_TOTAL}{outcome="accepted"} 105`);
    expect(body).toContain('headroom_dropped_readings_total{site="lab1",reason="invalid_malformed_json"} 1');
    expect(body).toContain('headroom_process_cpu_seconds_total');
    const { code, output } = await promtool(['check', 'metrics'], body);
    expect(output.trim()).toBe('');
    expect(code).toBe(0);
  });

  it('Prometheus scrapes /metrics and PromQL returns the headroom of the latest window the records give', async () => {
    const target = new URL(worker!.url).host;
    prometheus = await startPrometheus(
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: headroom',
        `    static_configs: [{ targets: ['${target}'] }]`,
        '',
      ].join('\n'),
    );
    const expected = latestNodeWindow(worker!.records, 'ups-1');
    expect(expected.headroomCertain).toBe(true);
    expect(expected.headroomWatts).toBeCloseTo(450_000 - 200_000, 6);
    const query = `${NODE_HEADROOM_WATTS}{job="headroom",site="lab1",node="ups-1",window="10s"}`;
    const sample = await retryUntil(async () => {
      const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await res.json()) as QueryResponse;
      if (body.status !== 'success' || body.data.result.length !== 1) throw new Error(`not scraped yet: ${JSON.stringify(body)}`);
      return body.data.result[0]!;
    }, 30_000);
    expect(sample.metric).toMatchObject({ site: 'lab1', node: 'ups-1', level: 'ups', window: '10s', instance: target });
    expect(Number(sample.value[1])).toBe(expected.headroomWatts);

    // The scrape target is healthy and the pipeline's own counters arrived too.
    const up = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('up{job="headroom"}')}`)).json()) as QueryResponse;
    expect(up.data.result[0]?.value[1]).toBe('1');
  });
});
