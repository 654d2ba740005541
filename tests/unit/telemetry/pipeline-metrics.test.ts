/**
 * The pipeline's own metrics: every family of PipelineMetrics through the exposition of an
 * injected registry, and the Pipeline's health sampling (per tick, never per reading).
 */
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { WindowEngine } from '../../../src/core/index.js';
import type { OutputRecord } from '../../../src/domain/index.js';
import { Pipeline } from '../../../src/pipeline/index.js';
import type { Sink, SinkHealth, SinkStats } from '../../../src/sinks/index.js';
import { MemoryBus, MemorySource } from '../../../src/sources/memory-bus.js';
import type { NatsConnectionStatus } from '../../../src/sources/index.js';
import {
  ALERTS_FIRING,
  ALERT_STATE,
  DROPPED_READINGS_TOTAL,
  NATS_CONNECTION_STATE,
  NATS_RECONNECTS_TOTAL,
  PipelineMetrics,
  READINGS_TOTAL,
  SINK_BUFFERED_RECORDS,
  SINK_DROPPED_RECORDS_TOTAL,
  SINK_FAILED,
  SINK_FAILURES_TOTAL,
  SINK_RETRIES_TOTAL,
  SINK_WRITE_SECONDS,
  SINK_WRITTEN_RECORDS_TOTAL,
  SOURCE_PAUSED,
  SOURCE_PENDING_MESSAGES,
  WINDOW_EMIT_DELAY_SECONDS,
  collectProcessMetrics,
  createLogger,
  type PipelineHealthSample,
} from '../../../src/telemetry/index.js';
import { configFromText } from '../../helpers/config.js';

async function series(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

const base = (over: Partial<PipelineHealthSample> = {}): PipelineHealthSample => ({
  readingsByOutcome: {},
  deadLettersByReason: {},
  lateBySite: {},
  watermarkLagSecondsBySite: {},
  sinks: [],
  sourcePaused: false,
  ...over,
});

describe('PipelineMetrics families', () => {
  it('dropped readings by site and reason, from cumulative totals', async () => {
    const registry = new Registry();
    const m = new PipelineMetrics(registry);
    m.update(base({ droppedBySiteReason: { lab1: { duplicate: 2 }, unknown: { invalid_schema: 1 } } }));
    m.update(base({ droppedBySiteReason: { lab1: { duplicate: 5, late: 1 }, unknown: { invalid_schema: 1 } } }));
    expect(await series(registry, DROPPED_READINGS_TOTAL)).toEqual([
      `${DROPPED_READINGS_TOTAL}{site="lab1",reason="duplicate"} 5`,
      `${DROPPED_READINGS_TOTAL}{site="unknown",reason="invalid_schema"} 1`,
      `${DROPPED_READINGS_TOTAL}{site="lab1",reason="late"} 1`,
    ]);
    expect(await registry.metrics()).toContain(`# TYPE ${DROPPED_READINGS_TOTAL} counter`);
  });

  it('sink buffer, failure flag and the optional stats: written, retries, failures by reason, drops, write seconds', async () => {
    const registry = new Registry();
    const m = new PipelineMetrics(registry);
    const stats: SinkStats = { written: 100, retries: 1, failedByReason: { timeout: 1 }, droppedByReason: { buffer_full: 0 }, writes: 3, lastWriteSeconds: 0.02 };
    m.update(base({ sinks: [{ name: 'influx', buffered: 7, failed: false, stats }, { name: 'nats', buffered: 0, failed: true, stats: { failed: 4 } }, { name: 'ndjson', buffered: 0, failed: false }] }));
    // A tick without a new write observes nothing; a new write observes its duration once.
    m.update(base({ sinks: [{ name: 'influx', buffered: 0, failed: false, stats }] }));
    m.update(base({ sinks: [{ name: 'influx', buffered: 0, failed: false, stats: { ...stats, written: 150, writes: 4, lastWriteSeconds: 0.3, droppedByReason: { buffer_full: 2 } } }] }));
    expect(await series(registry, SINK_BUFFERED_RECORDS)).toEqual([
      `${SINK_BUFFERED_RECORDS}{sink="influx"} 0`,
      `${SINK_BUFFERED_RECORDS}{sink="nats"} 0`,
      `${SINK_BUFFERED_RECORDS}{sink="ndjson"} 0`,
    ]);
    expect(await series(registry, SINK_FAILED)).toContain(`${SINK_FAILED}{sink="nats"} 1`);
    expect(await series(registry, SINK_WRITTEN_RECORDS_TOTAL)).toEqual([`${SINK_WRITTEN_RECORDS_TOTAL}{sink="influx"} 150`]);
    expect(await series(registry, SINK_RETRIES_TOTAL)).toEqual([`${SINK_RETRIES_TOTAL}{sink="influx"} 1`]);
    expect(await series(registry, SINK_FAILURES_TOTAL)).toEqual([`${SINK_FAILURES_TOTAL}{sink="influx",reason="timeout"} 1`, `${SINK_FAILURES_TOTAL}{sink="nats",reason="error"} 4`]);
    expect(await series(registry, SINK_DROPPED_RECORDS_TOTAL)).toEqual([`${SINK_DROPPED_RECORDS_TOTAL}{sink="influx",reason="buffer_full"} 2`]);
    const text = await registry.metrics();
    expect(text).toContain(`${SINK_WRITE_SECONDS}_count{sink="influx"} 2`);
    expect(text).toContain(`${SINK_WRITE_SECONDS}_sum{sink="influx"} 0.32`);
    expect(text).toContain(`${SINK_WRITE_SECONDS}_bucket{le="0.025",sink="influx"} 1`);
    m.observeSinkWriteSeconds('nats', 0.001);
    expect(await registry.metrics()).toContain(`${SINK_WRITE_SECONDS}_count{sink="nats"} 1`);
  });

  it('NATS state and reconnects, source pending and paused', async () => {
    const registry = new Registry();
    const m = new PipelineMetrics(registry);
    m.update(base());
    expect(await series(registry, NATS_RECONNECTS_TOTAL)).toEqual([]);
    expect(await series(registry, SOURCE_PENDING_MESSAGES)).toEqual([`${SOURCE_PENDING_MESSAGES} 0`]);
    m.update(base({ nats: { connected: false, reconnects: 0 }, sourcePendingMessages: 1234, sourcePaused: true }));
    m.update(base({ nats: { connected: true, reconnects: 2 }, sourcePendingMessages: 1200, sourcePaused: true }));
    expect(await series(registry, NATS_CONNECTION_STATE)).toEqual([`${NATS_CONNECTION_STATE} 1`]);
    expect(await series(registry, NATS_RECONNECTS_TOTAL)).toEqual([`${NATS_RECONNECTS_TOTAL} 2`]);
    expect(await series(registry, SOURCE_PENDING_MESSAGES)).toEqual([`${SOURCE_PENDING_MESSAGES} 1200`]);
    expect(await series(registry, SOURCE_PAUSED)).toEqual([`${SOURCE_PAUSED} 1`]);
  });

  it('alerts: the active set replaces the previous one; firing counts stay at 0 once seen', async () => {
    const registry = new Registry();
    const m = new PipelineMetrics(registry);
    m.setAlerts([
      { site: 'lab1', node: 'ups-1', rule: 'headroom_low', severity: 'critical', state: 'firing' },
      { site: 'lab1', node: null, rule: 'demand_near_period_peak', severity: 'warning', state: 'pending' },
    ]);
    expect(await series(registry, ALERT_STATE)).toEqual([
      `${ALERT_STATE}{site="lab1",node="ups-1",rule="headroom_low",severity="critical"} 1`,
      `${ALERT_STATE}{site="lab1",node="",rule="demand_near_period_peak",severity="warning"} 0`,
    ]);
    expect(await series(registry, ALERTS_FIRING)).toEqual([`${ALERTS_FIRING}{site="lab1",severity="critical"} 1`, `${ALERTS_FIRING}{site="lab1",severity="warning"} 0`]);
    m.setAlerts([]);
    expect(await series(registry, ALERT_STATE)).toEqual([]);
    expect(await series(registry, ALERTS_FIRING)).toEqual([`${ALERTS_FIRING}{site="lab1",severity="critical"} 0`, `${ALERTS_FIRING}{site="lab1",severity="warning"} 0`]);
  });

  it('process and runtime metrics are headroom_process_* and headroom_nodejs_* (no doubled prefix), on the injected registry only', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    const names = (await registry.getMetricsAsJSON()).map((x) => x.name);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !n.startsWith('headroom_process_') && !n.startsWith('headroom_nodejs_'))).toEqual([]);
    expect(names).toContain('headroom_process_cpu_seconds_total');
    expect(names).toContain('headroom_nodejs_eventloop_lag_seconds');
    expect(names.filter((n) => /process_process|process_nodejs/.test(n))).toEqual([]);
    // prom-client's gauges named like counters are left out (promtool lint).
    expect(names.filter((n) => n.endsWith('_total') && !n.includes('seconds') && !n.includes('count'))).toEqual([]);
    expect((await new Registry().getMetricsAsJSON()).length).toBe(0);
  });
});

const CONFIG = `
pipeline: { windows: [10s, 1m], maxOutOfOrder: 2s, allowedLateness: 10s }
sites:
  - id: lab1
    contract: 1MW
    nodes:
      - { id: intake, level: grid, role: facility, rating: 1.2MW, meters: [lab1-main] }
      - { id: ups-1, parent: intake, level: ups, role: it, rating: 500kW, meters: [lab1-ups-1] }
`;

class StatsSink implements Sink {
  readonly name = 'stats';
  written = 0;
  write(records: readonly OutputRecord[]): void {
    this.written += records.length;
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  health(): SinkHealth {
    return { buffered: 3, capacity: 100, failed: false };
  }
  stats(): SinkStats {
    return { written: this.written, retries: 0, droppedByReason: {} };
  }
}

const T0 = 1_750_000_000_000;
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Pipeline health sampling', () => {
  it('observes the emit delay once per emitted batch, counts drops by site and reason, reads sink stats and the NATS tracker', async () => {
    const config = configFromText(CONFIG, 'test.yaml');
    const bus = new MemoryBus();
    const registry = new Registry();
    const clock = { nowMs: T0 };
    const sink = new StatsSink();
    const natsStatus: NatsConnectionStatus = { state: 'connected', reconnects: 3, errors: 0 };
    const pipeline = new Pipeline({
      config: { subjectPrefix: config.source.subjectPrefix, maxMessageBytes: config.source.maxMessageBytes },
      engine: new WindowEngine(config.topology, config.engine),
      source: new MemorySource(bus, { subjectPrefix: config.source.subjectPrefix }),
      sinks: [sink],
      clock: () => clock.nowMs,
      logger: createLogger({ level: 'silent' }),
      registry,
      natsStatus,
      tickMs: 0,
    });
    await pipeline.start();
    let batches = 0;
    pipeline.onRecords(() => batches++);
    for (let s = 0; s < 25; s++) {
      const ts = T0 + s * 1000;
      clock.nowMs = ts + 50;
      const readings = [
        { meter: 'lab1-main', ts, watts: 300_000 },
        { meter: 'lab1-ups-1', ts, watts: 200_000 },
      ];
      bus.publish('telemetry.lab1.gw1', JSON.stringify(readings));
      if (s === 5) bus.publish('telemetry.lab1.gw1', JSON.stringify(readings)); // duplicates
      if (s === 6) bus.publish('telemetry.lab1.gw1', JSON.stringify([{ meter: 'nope', ts, watts: 1 }]));
      if (s === 7) bus.publish('telemetry.elsewhere.gw1', '{not json');
      await settle();
      pipeline.tick();
    }
    const text = await registry.metrics();
    // Two batches closed windows ([0,10) and [10,20) for 10 s); each is one observation.
    expect(batches).toBe(2);
    expect(text).toContain(`${WINDOW_EMIT_DELAY_SECONDS}_count 2`);
    // The [10 s, 20 s) batch left at 22.05 s: 2.05 s after its end.
    expect(text).toContain(`${WINDOW_EMIT_DELAY_SECONDS}_bucket{le="2"} 0`);
    expect(text).toContain(`${WINDOW_EMIT_DELAY_SECONDS}_bucket{le="3"} 2`);
    expect(await series(registry, DROPPED_READINGS_TOTAL)).toEqual([
      `${DROPPED_READINGS_TOTAL}{site="lab1",reason="duplicate"} 2`,
      `${DROPPED_READINGS_TOTAL}{site="lab1",reason="unknown_meter"} 1`,
      `${DROPPED_READINGS_TOTAL}{site="unknown",reason="invalid_malformed_json"} 1`,
    ]);
    expect(text).toContain(`${READINGS_TOTAL}{outcome="accepted"} 50`);
    expect(text).toContain(`${READINGS_TOTAL}{outcome="duplicate"} 2`);
    expect(pipeline.counters.readings).toBe(53);
    expect(pipeline.counters.decodeFailures.malformed_json).toBe(1);
    expect(await series(registry, SINK_WRITTEN_RECORDS_TOTAL)).toEqual([`${SINK_WRITTEN_RECORDS_TOTAL}{sink="stats"} ${sink.written}`]);
    expect(await series(registry, SINK_BUFFERED_RECORDS)).toEqual([`${SINK_BUFFERED_RECORDS}{sink="stats"} 3`]);
    expect(await series(registry, NATS_CONNECTION_STATE)).toEqual([`${NATS_CONNECTION_STATE} 1`]);
    expect(await series(registry, NATS_RECONNECTS_TOTAL)).toEqual([`${NATS_RECONNECTS_TOTAL} 3`]);
    // Drained windows at stop are cut short, not late: no further delay observations.
    await pipeline.stop();
    expect(await registry.metrics()).toContain(`${WINDOW_EMIT_DELAY_SECONDS}_count 2`);
  });
});
