import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { HeadroomConfig } from '../../../src/config/index.js';
import { WindowEngine } from '../../../src/core/index.js';
import type { NodeWindow, OutputRecord } from '../../../src/domain/index.js';
import { Pipeline } from '../../../src/pipeline/index.js';
import { InfluxSink, type Sink } from '../../../src/sinks/index.js';
import type { InfluxWriteTransport } from '../../../src/sinks/influx/index.js';
import { MemoryBus, MemoryDeadLetterPublisher, MemorySource } from '../../../src/sources/memory-bus.js';
import type { Source, SourceHealth, SourceMessage } from '../../../src/sources/types.js';
import { createLogger } from '../../../src/telemetry/index.js';
import { CollectingSink } from '../../helpers/collecting-sink.js';
import { configFromText } from '../../helpers/config.js';

const CONFIG = `
pipeline: { windows: [10s, 1m], maxOutOfOrder: 2s, allowedLateness: 10s }
sites:
  - id: lab1
    contract: 1MW
    nodes:
      - { id: intake, level: grid, role: facility, rating: 1.2MW, meters: [lab1-main] }
      - { id: ups-1, parent: intake, level: ups, role: it, rating: 500kW, derate: 0.9, meters: [lab1-ups-1] }
      - { id: pdu-1, parent: ups-1, level: pdu, rating: 200kW, meters: [lab1-pdu-1] }
      - { id: pdu-2, parent: ups-1, level: pdu, rating: 200kW, meters: [lab1-pdu-2] }
`;

function loadConfig(): HeadroomConfig {
  return configFromText(CONFIG, 'test.yaml');
}

/** Lets the memory source's delivery loop run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const T0 = 1_750_000_000_000; // a multiple of 10 s

function silentLogger(lines: string[] = []) {
  return createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
}

function reading(meter: string, tsMs: number, watts: number) {
  return { meter, ts: tsMs, watts };
}

function setup(opts: { deadLetters?: boolean } = {}) {
  const config = loadConfig();
  const engine = new WindowEngine(config.topology, config.engine);
  const bus = new MemoryBus();
  const source = new MemorySource(bus, config.source);
  const sink = new CollectingSink('collect', 100);
  const registry = new Registry();
  const clock = { nowMs: T0 };
  const logLines: string[] = [];
  const pipeline = new Pipeline({
    config: { subjectPrefix: config.source.subjectPrefix, maxMessageBytes: config.source.maxMessageBytes },
    engine,
    source,
    sinks: [sink],
    ...(opts.deadLetters === false ? {} : { deadLetter: new MemoryDeadLetterPublisher(bus, config.deadLetter) }),
    clock: () => clock.nowMs,
    logger: silentLogger(logLines),
    registry,
    tickMs: 0,
  });
  return { config, engine, bus, source, sink, registry, clock, pipeline, logLines };
}

/** Publishes one gateway batch per second of event time from `fromS` to `toS` (exclusive). */
async function feed(t: ReturnType<typeof setup>, fromS: number, toS: number): Promise<void> {
  for (let s = fromS; s < toS; s++) {
    const ts = T0 + s * 1000;
    t.clock.nowMs = ts + 50;
    t.bus.publish(
      'telemetry.lab1.gw1',
      JSON.stringify([reading('lab1-main', ts, 300_000), reading('lab1-ups-1', ts, 200_000), reading('lab1-pdu-1', ts, 80_000), reading('lab1-pdu-2', ts, 100_000)]),
    );
    await settle();
    t.pipeline.tick();
  }
}

const nodeWindows = (records: readonly OutputRecord[], windowMs: number): NodeWindow[] =>
  records.filter((r): r is NodeWindow => r.type === 'node' && r.windowMs === windowMs);

describe('Pipeline with the memory source', () => {
  it('turns readings into closed windows on the injected clock', async () => {
    const t = setup();
    await t.pipeline.start();
    await feed(t, 0, 25);
    const tens = nodeWindows(t.sink.records, 10_000);
    // Watermark = 24 s - 2 s: the windows [0, 10) and [10, 20) closed, for each of 4 nodes.
    expect(tens.map((w) => w.start - T0)).toEqual([0, 0, 0, 0, 10_000, 10_000, 10_000, 10_000]);
    const ups = tens.find((w) => w.node === 'ups-1' && w.start === T0 + 10_000)!;
    expect(ups.loadWatts).toBeCloseTo(200_000, 6);
    expect(ups.headroomWatts).toBeCloseTo(450_000 - 200_000, 6);
    expect(ups.childrenLoadWatts).toBeCloseTo(180_000, 6);
    expect(t.sink.records.some((r) => r.type === 'site')).toBe(true);
    expect(t.pipeline.counters.readings).toBe(100);
    expect(t.pipeline.counters.outcomes.accepted).toBe(100);
    expect(t.pipeline.readiness()).toEqual({ ready: true });

    const text = await t.registry.metrics();
    expect(text).toContain('headroom_readings_total{outcome="accepted"} 100');
    expect(text).toContain('headroom_watermark_lag_seconds{site="lab1"} 2.05');
    expect(text).toMatch(/headroom_window_emit_delay_seconds_count \d+/);

    // Stop: the open windows are drained, sinks flushed and closed.
    await t.pipeline.stop();
    expect(t.sink.closed).toBe(true);
    expect(t.pipeline.status().state).toBe('stopped');
    const after = nodeWindows(t.sink.records, 10_000).map((w) => w.start - T0);
    expect(after.filter((s) => s === 20_000)).toHaveLength(4);
    // T0 is not on a minute boundary: the 25 s span two 1-minute windows, both drained.
    const minutes = nodeWindows(t.sink.records, 60_000);
    expect(new Set(minutes.map((w) => w.start)).size).toBe(2);
    expect(minutes).toHaveLength(8);
    expect(t.pipeline.readiness().ready).toBe(false);
  });

  it('counts and dead-letters rejected messages, on the bus, without stopping', async () => {
    const t = setup();
    const dead = t.bus.subscribe('headroom.deadletter.>');
    await t.pipeline.start();
    t.bus.publish('telemetry.lab1.gw1', '{not json');
    t.bus.publish('telemetry.lab1.gw1', JSON.stringify(reading('no-such-meter', T0, 1)));
    t.bus.publish('telemetry.lab1.gw1', JSON.stringify([reading('lab1-main', T0, 1), { meter: 'lab1-ups-1', ts: T0 }]));
    t.bus.publish('telemetry.lab1.gw1', JSON.stringify(reading('lab1-main', T0 + 1000, 5)));
    await settle();
    expect(t.pipeline.deadLetters).toEqual({ malformed_json: 1, unknown_meter: 1, no_value: 1 });
    expect(t.pipeline.deadLetterCount).toBe(3);
    const dl = dead.take(10);
    expect(dl.map((m) => [m.subject, m.headers?.['Headroom-Reason']])).toEqual([
      ['headroom.deadletter.lab1', 'malformed_json'],
      ['headroom.deadletter.lab1', 'unknown_meter'],
      ['headroom.deadletter.lab1', 'no_value'],
    ]);
    expect(t.pipeline.counters.outcomes.accepted).toBe(2);
    t.pipeline.tick();
    expect(await t.registry.metrics()).toContain('headroom_dead_letters_total{reason="malformed_json"} 1');
    await t.pipeline.stop();
  });

  it('counts rejected messages without a dead-letter publisher', async () => {
    const t = setup({ deadLetters: false });
    const dead = t.bus.subscribe('headroom.deadletter.>');
    await t.pipeline.start();
    t.bus.publish('telemetry.lab1.gw1', '[');
    await settle();
    expect(t.pipeline.deadLetters).toEqual({ malformed_json: 1 });
    expect(dead.pending).toBe(0);
    await t.pipeline.stop();
  });

  it('pauses the source while a sink is full and resumes below half its capacity', async () => {
    const t = setup();
    await t.pipeline.start();
    await feed(t, 0, 3);
    expect(t.pipeline.counters.messages).toBe(3);

    t.sink.buffered = 100; // full
    t.pipeline.tick();
    expect(t.source.isPaused).toBe(true);
    expect(t.pipeline.status()).toMatchObject({ sourcePaused: true, pauses: 1 });
    expect(await t.registry.metrics()).toContain('headroom_source_paused 1');
    await feed(t, 3, 6);
    expect(t.pipeline.counters.messages).toBe(3); // held on the bus

    t.sink.buffered = 60; // below capacity, not below half: still paused
    t.pipeline.tick();
    expect(t.source.isPaused).toBe(true);

    t.sink.buffered = 49;
    t.pipeline.tick();
    expect(t.source.isPaused).toBe(false);
    await settle();
    expect(t.pipeline.counters.messages).toBe(6);
    expect(t.pipeline.status().pauses).toBe(1);
    await t.pipeline.stop();
  });

  it('is not ready when a sink failed', async () => {
    const t = setup();
    await t.pipeline.start();
    t.sink.failed = true;
    expect(t.pipeline.readiness()).toEqual({ ready: false, detail: 'sink collect failed' });
    await t.pipeline.stop();
  });

  it('survives a sink that throws on write', async () => {
    const t = setup();
    const bad: Sink = {
      name: 'bad',
      write: () => {
        throw new Error('boom');
      },
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
      health: () => ({ buffered: 0, capacity: 1, failed: false }),
    };
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
      engine: t.engine,
      source: t.source,
      sinks: [bad, t.sink],
      clock: () => t.clock.nowMs,
      logger: silentLogger(),
      tickMs: 0,
    });
    t.pipeline = pipeline;
    await pipeline.start();
    await feed(t, 0, 15);
    expect(nodeWindows(t.sink.records, 10_000).length).toBeGreaterThan(0);
    await pipeline.stop();
  });

  it('stops within its budget: a sink that cannot deliver gets a deadline from it, drops the rest, and stop() reports the count', async () => {
    const t = setup();
    // InfluxDB hung: the write request never answers (a transport that never settles).
    const hung: InfluxWriteTransport = { writeRecords: () => undefined, flush: () => new Promise<void>(() => undefined), dispose: () => 0 };
    const influx = new InfluxSink(
      { url: 'http://influx.invalid:8086', org: 'o', bucket: 'b', token: undefined, precision: 'ms', batchSize: 1000, flushIntervalMs: 50, maxBufferedPoints: 10_000, retry: { maxRetries: 3, minDelayMs: 100, maxDelayMs: 400 } },
      { log: silentLogger(), writeApi: hung },
    );
    const budgetMs = 1_500;
    const logLines: string[] = [];
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
      engine: t.engine,
      source: t.source,
      sinks: [influx, t.sink],
      clock: () => t.clock.nowMs,
      logger: silentLogger(logLines),
      tickMs: 0,
      stopTimeoutMs: budgetMs,
    });
    t.pipeline = pipeline;
    await pipeline.start();
    await feed(t, 0, 35);
    const report = await pipeline.stop();
    // Everything the pipeline gave the sinks: the collecting sink kept it all, InfluxDB none of it.
    const emitted = t.sink.records.length;
    expect(emitted).toBeGreaterThan(0);
    expect(influx.stats().pointsWritten).toBe(0);
    expect(report).toEqual({ droppedAtShutdown: { influx: emitted }, droppedRecords: emitted, overran: [] });
    expect(influx.stats().droppedByReason.shutdown).toBe(emitted);
    const stopped = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => typeof e.msg === 'string' && e.msg.startsWith('pipeline stopped'));
    expect(stopped).toMatchObject({ msg: `pipeline stopped; ${emitted} records dropped at shutdown`, budgetMs });
    expect(Number(stopped?.stopMs)).toBeLessThanOrEqual(budgetMs);
  });
});

/** A Source double with stream positions and acks (what JetStream hands over). */
class ScriptedSource implements Source {
  readonly kind = 'jetstream' as const;
  handler: ((batch: SourceMessage[]) => Promise<void> | void) | null = null;
  stopped = false;
  start(handler: (batch: SourceMessage[]) => Promise<void> | void): Promise<void> {
    this.handler = handler;
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
  health(): SourceHealth {
    return { connected: !this.stopped, pending: 7 };
  }
}

describe('Pipeline with a durable source', () => {
  it('acks each message after recording (dead-lettered ones too) and keeps the last sequence per stream', async () => {
    const config = loadConfig();
    const source = new ScriptedSource();
    const acked: number[] = [];
    const registry = new Registry();
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
      engine: new WindowEngine(config.topology, config.engine),
      source,
      sinks: [],
      clock: () => T0 + 1000,
      logger: silentLogger(),
      registry,
      natsStatus: { state: 'connected', reconnects: 0, errors: 0 },
      tickMs: 0,
    });
    await pipeline.start();
    const msg = (seq: number, payload: string, stream = 'TELEMETRY'): SourceMessage => ({
      subject: 'telemetry.lab1.gw1',
      payload: new TextEncoder().encode(payload),
      position: { stream, sequence: seq },
      ack: () => void acked.push(seq),
    });
    await source.handler!([msg(5, JSON.stringify(reading('lab1-main', T0, 1))), msg(6, 'garbage'), msg(2, '{}', 'OTHER')]);
    expect(acked).toEqual([5, 6, 2]);
    expect(pipeline.counters.outcomes.accepted).toBe(1);
    expect([...pipeline.positions]).toEqual([
      ['TELEMETRY', 6],
      ['OTHER', 2],
    ]);
    pipeline.tick();
    const text = await registry.metrics();
    expect(text).toContain('headroom_source_pending_messages 7');
    expect(text).toContain('headroom_nats_connection_state 1');
    await pipeline.stop();
    expect(source.stopped).toBe(true);
  });
});

describe('Pipeline error logs are sampled per kind', () => {
  /** The `occurrences` field of every log line with message `msg`. */
  function occurrences(logLines: string[], msg: string): unknown[] {
    return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg === msg).map((e) => e.occurrences);
  }

  it('logs the 1st, 2nd, 4th, 8th… failed ack, not every one', async () => {
    const config = loadConfig();
    const source = new ScriptedSource();
    const logLines: string[] = [];
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
      engine: new WindowEngine(config.topology, config.engine),
      source,
      sinks: [],
      clock: () => T0 + 1000,
      logger: silentLogger(logLines),
      tickMs: 0,
    });
    await pipeline.start();
    let acks = 0;
    const failingAck = (): void => {
      acks++;
      throw new Error('ack refused');
    };
    const batch: SourceMessage[] = [];
    for (let i = 0; i < 10; i++) batch.push({ subject: 'telemetry.lab1.gw1', payload: new TextEncoder().encode(JSON.stringify(reading('lab1-main', T0 + i * 1000, 1))), ack: failingAck });
    await source.handler!(batch);
    expect(acks).toBe(10);
    expect(occurrences(logLines, 'ack failed')).toEqual([1, 2, 4, 8]);
    // An ack failure is not a message-handling error.
    expect(pipeline.status().handlerErrors).toBe(0);
    await pipeline.stop();
  });

  it("logs a throwing sink's write failures sampled, and the other sinks still get every batch", async () => {
    const t = setup();
    let writes = 0;
    const throwing = new CollectingSink();
    Object.defineProperty(throwing, 'name', { value: 'throwing' });
    throwing.write = (): void => {
      writes++;
      throw new Error('sink bug');
    };
    const logLines: string[] = [];
    const pipeline = new Pipeline({
      config: { subjectPrefix: t.config.source.subjectPrefix, maxMessageBytes: t.config.source.maxMessageBytes },
      engine: t.engine,
      source: t.source,
      sinks: [throwing, t.sink],
      clock: () => t.clock.nowMs,
      logger: silentLogger(logLines),
      tickMs: 0,
    });
    await pipeline.start();
    await feed({ ...t, pipeline }, 0, 95);
    await pipeline.stop();
    expect(writes).toBeGreaterThanOrEqual(9);
    const expected: number[] = [];
    for (let n = 1; n <= writes; n *= 2) expected.push(n);
    expect(occurrences(logLines, 'sink throwing write failed')).toEqual(expected);
    expect(t.sink.records.length).toBeGreaterThan(0);
  });
});
