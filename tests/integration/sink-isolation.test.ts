/**
 * Isolation of sinks: while InfluxDB hangs (accepts connections, never answers), the running
 * pipeline keeps answering /metrics with fresh windows and keeps writing its other outputs;
 * after recovery every window reaches the store exactly once. Real VictoriaMetrics behind a
 * switchable proxy written here, real HTTP /metrics server.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WindowEngine } from '../../src/core/index.js';
import type { NodeWindow } from '../../src/domain/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { InfluxSink, MetricsServer, MetricsSink } from '../../src/sinks/index.js';
import { MemoryBus, MemorySource } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { startVictoriaMetrics, type VictoriaMetricsServer } from '../helpers/servers.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { configFromText } from '../helpers/config.js';

const CONFIG = `
pipeline: { windows: [10s], maxOutOfOrder: 1s, allowedLateness: 5s }
sites:
  - id: iso1
    nodes:
      - { id: intake, level: grid, role: facility, rating: 2MW, meters: [main] }
      - { id: pdu-1, parent: intake, level: pdu, rating: 500kW, meters: [pdu-1-in] }
sinks:
  influx: { url: 'http://placeholder', org: ops, bucket: headroom, precision: ms, batchSize: 50, flushInterval: 200ms, maxBufferedPoints: 100000, retry: { maxRetries: 3, minDelay: 200ms, maxDelay: 1s } }
`;
const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);

/** Forwards to VictoriaMetrics, or swallows requests without answering while `hang` is on. */
interface SwitchProxy {
  url: string;
  hang: boolean;
  held: number;
  close(): Promise<void>;
}

async function startSwitchProxy(targetUrl: string): Promise<SwitchProxy> {
  const target = new URL(targetUrl);
  const heldResponses: ServerResponse[] = [];
  const state = { hang: true, held: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (state.hang) {
      state.held++;
      heldResponses.push(res);
      req.resume();
      return;
    }
    const upstream = request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get hang() {
      return state.hang;
    },
    set hang(v: boolean) {
      state.hang = v;
    },
    get held() {
      return state.held;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of heldResponses) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}


let vm: VictoriaMetricsServer;
let proxy: SwitchProxy;

beforeAll(async () => {
  vm = await startVictoriaMetrics();
  proxy = await startSwitchProxy(vm.url);
});

afterAll(async () => {
  await proxy?.close();
  await vm?.stop();
});

async function scrape(url: string): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: await res.text(), ms: performance.now() - started };
}

describe('an InfluxDB outage does not stall /metrics or the other outputs', () => {
  it('serves fresh /metrics during a hang, then lands every window exactly once', async () => {
    const config = configFromText(CONFIG, 'iso.yaml');
    const influxCfg = { ...config.sinks.influx!, url: proxy.url };
    const log = createLogger({ level: 'silent' });
    const registry = new Registry();
    const bus = new MemoryBus();
    const influx = new InfluxSink(influxCfg, { log, requestTimeoutMs: 1500 });
    const collected = new CollectingSink();
    const clock = { nowMs: T0 };
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
      engine: new WindowEngine(config.topology, config.engine),
      source: new MemorySource(bus, config.source),
      sinks: [influx, new MetricsSink(config.topology, { windowsMs: config.engine.windowsMs, maxDepth: 10 }, registry), collected],
      clock: () => clock.nowMs,
      logger: log,
      registry,
      tickMs: 0,
    });
    const server = new MetricsServer({ host: '127.0.0.1', port: 0, registry, log, readiness: () => pipeline.readiness() });
    const address = await server.start();
    const metricsUrl = `http://127.0.0.1:${address.port}/metrics`;
    await pipeline.start();

    // 90 s of readings while InfluxDB hangs; /metrics must follow the windows as they close.
    const scrapeMs: number[] = [];
    let lastHeadroom = '';
    for (let s = 0; s < 90; s++) {
      clock.nowMs = T0 + s * 1000;
      bus.publish('telemetry.iso1.gw', JSON.stringify([
        { meter: 'main', ts: clock.nowMs, watts: 1_000_000 + s * 1000 },
        { meter: 'pdu-1-in', ts: clock.nowMs, watts: 200_000 + s * 2000 },
      ]));
      // Paced in real time (20 ms a step) so the sink's flush timer sends requests that hang.
      await new Promise((r) => setTimeout(r, 20));
      pipeline.tick();
      if (s % 10 === 9) {
        const { status, body, ms } = await scrape(metricsUrl);
        expect(status).toBe(200);
        scrapeMs.push(ms);
        const line = body.split('\n').find((l) => l.startsWith('headroom_node_headroom_watts{') && l.includes('node="pdu-1"')) ?? '';
        if (s >= 19) expect(line).not.toBe(lastHeadroom); // a newer window replaced the value
        lastHeadroom = line;
      }
    }
    expect(proxy.held).toBeGreaterThan(0); // the sink really was talking to a hung server
    expect(influx.health().buffered).toBeGreaterThan(0);
    const nodeWindows = collected.records.filter((r): r is NodeWindow => r.type === 'node');
    expect(nodeWindows.length).toBeGreaterThanOrEqual(16); // the other outputs kept going

    // Recovery: the buffered windows reach VictoriaMetrics exactly once.
    proxy.hang = false;
    const deadline = performance.now() + 30_000;
    while (influx.health().buffered > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(influx.health().buffered).toBe(0);
    await pipeline.stop();
    await server.stop();
    await vm.forceFlush();

    const all = collected.records.filter((r): r is NodeWindow => r.type === 'node' && r.node === 'pdu-1');
    const res = await fetch(`${vm.url}/api/v1/export?match[]=${encodeURIComponent('headroom_node_load_w{node="pdu-1"}')}`);
    const series = (await res.text()).trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { timestamps: number[]; values: number[] });
    expect(series).toHaveLength(1);
    const timestamps = series[0]!.timestamps;
    expect(new Set(timestamps).size).toBe(timestamps.length); // exactly once each
    expect([...timestamps].sort((a, b) => a - b)).toEqual(all.map((r) => r.start).sort((a, b) => a - b));
    expect(Math.max(...scrapeMs)).toBeLessThan(2000);
  }, 120_000);
});
