/**
 * Delivery delay (headroom_sink_delivery_delay_seconds{sink}): the pipeline stamps every
 * written batch with its monotonic emission time, each sink observes `now − emittedAt` when it
 * delivered the batch. Here: the pieces without a server (the InfluxDB queue's emission marks,
 * the fence's forwarding, the pipeline's wiring through the metrics sink, which delivers at
 * write). The sinks against their real destinations: tests/integration/sink-compliance.test.ts.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { OutputRecord } from '../../../src/domain/index.js';
import { Pipeline } from '../../../src/pipeline/index.js';
import { FencedSink } from '../../../src/pipeline/group/fenced-sink.js';
import { LineQueue } from '../../../src/sinks/influx/line-queue.js';
import { MetricsSink } from '../../../src/sinks/index.js';
import { MemoryBus, MemorySource } from '../../../src/sources/memory-bus.js';
import { createLogger, PipelineMetrics, SINK_DELIVERY_DELAY_SECONDS } from '../../../src/telemetry/index.js';
import { CollectingSink } from '../../helpers/collecting-sink.js';
import { configFromText } from '../../helpers/config.js';

describe('LineQueue emission marks (InfluxDB: a request reports its oldest emission)', () => {
  it('the oldest known emission among the first lines; marks leave with their lines', () => {
    const q = new LineQueue();
    q.markEmission(100);
    for (const l of ['a', 'b', 'c']) q.push(l);
    q.markEmission(200);
    for (const l of ['d', 'e']) q.push(l);
    expect(q.oldestEmissionMonoMs(2)).toBe(100);
    expect(q.oldestEmissionMonoMs(5)).toBe(100);
    q.remove(2);
    // 'c' is still of the first batch.
    expect(q.oldestEmissionMonoMs(1)).toBe(100);
    q.remove(1);
    expect(q.oldestEmissionMonoMs(2)).toBe(200);
    q.remove(2);
    expect(q.drained).toBe(true);
    // A batch without an emission time observes nothing, and is not taken for the one before.
    q.markEmission(undefined);
    q.push('f');
    expect(q.oldestEmissionMonoMs(1)).toBeNaN();
    q.markEmission(300);
    q.push('g');
    expect(q.oldestEmissionMonoMs(2)).toBe(300);
  });
});

describe('FencedSink', () => {
  it('forwards the emission time and the delivery observer to the shared sink', () => {
    const inner = new StampingSink();
    let owns = true;
    const fenced = new FencedSink(inner, () => owns);
    const seen: number[] = [];
    fenced.onDelivered = (s) => seen.push(s);
    expect(inner.onDelivered).toBe(fenced.onDelivered);
    fenced.write([], 1234);
    expect(inner.stamps).toEqual([1234]);
    owns = false;
    fenced.write([], 5678);
    expect(inner.stamps).toEqual([1234]);
  });
});

/** Keeps the emission time of every write. */
class StampingSink extends CollectingSink {
  readonly stamps: (number | undefined)[] = [];
  onDelivered?: ((seconds: number) => void) | undefined;

  override write(records: readonly OutputRecord[], emittedAtMonoMs?: number): void {
    super.write(records);
    this.stamps.push(emittedAtMonoMs);
  }
}

const CONFIG = `
pipeline: { windows: [10s], maxOutOfOrder: 2s, allowedLateness: 10s }
sites:
  - id: lab1
    nodes:
      - { id: ups-1, level: ups, role: it, rating: 500kW, meters: [lab1-ups-1] }
`;
const T0 = 1_750_000_000_000;

describe('the pipeline stamps every batch and exports the delay per sink', () => {
  it('every write carries a monotonic emission time; the metrics sink observes at write', async () => {
    const config = configFromText(CONFIG, 'test.yaml');
    const engine = new WindowEngine(config.topology, config.engine);
    const bus = new MemoryBus();
    const registry = new Registry();
    const stamping = new StampingSink('stamping', 100);
    const metricsSink = new MetricsSink(config.topology, { windowsMs: config.engine.windowsMs, maxDepth: 10 }, registry);
    const clock = { nowMs: T0 };
    const pipeline = new Pipeline({
      config: { subjectPrefix: config.source.subjectPrefix, maxMessageBytes: config.source.maxMessageBytes },
      engine,
      source: new MemorySource(bus, config.source),
      sinks: [stamping, metricsSink],
      clock: () => clock.nowMs,
      logger: createLogger({ level: 'silent' }),
      registry,
      tickMs: 0,
    });
    // The pipeline set each sink's observer.
    expect(stamping.onDelivered).toBeTypeOf('function');
    expect(metricsSink.onDelivered).toBeTypeOf('function');
    await pipeline.start();
    const before = performance.now();
    for (let s = 0; s < 25; s++) {
      clock.nowMs = T0 + s * 1000 + 50;
      bus.publish('telemetry.lab1.gw1', JSON.stringify({ meter: 'lab1-ups-1', ts: T0 + s * 1000, watts: 1000 }));
      await new Promise((resolve) => setImmediate(resolve));
      pipeline.tick();
    }
    const after = performance.now();
    expect(stamping.records.length).toBeGreaterThan(0);
    expect(stamping.stamps.length).toBeGreaterThan(0);
    for (const t of stamping.stamps) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    const histogram = (await registry.getMetricsAsJSON()).find((m) => m.name === SINK_DELIVERY_DELAY_SECONDS);
    const count = (sink: string): number | undefined => histogram?.values.find((v) => 'metricName' in v && v.metricName === `${SINK_DELIVERY_DELAY_SECONDS}_count` && v.labels['sink'] === sink)?.value;
    // One observation per written batch: the metrics sink delivers at write.
    expect(count('metrics')).toBe(stamping.stamps.length);
    // A sink that never calls its observer has no observations.
    expect(count('stamping') ?? 0).toBe(0);
    await pipeline.stop();
  });

  it('an observer drops what is not a delay (NaN, negative)', async () => {
    const registry = new Registry();
    const observe = new PipelineMetrics(registry).deliveryObserver('x');
    observe(Number.NaN);
    observe(-1);
    observe(0.002);
    const text = await registry.metrics();
    expect(text).toContain(`${SINK_DELIVERY_DELAY_SECONDS}_count{sink="x"} 1`);
    expect(text).toContain(`${SINK_DELIVERY_DELAY_SECONDS}_bucket{le="0.0025",sink="x"} 1`);
    expect(text).toContain(`${SINK_DELIVERY_DELAY_SECONDS}_bucket{le="0.001",sink="x"} 0`);
  });
});
