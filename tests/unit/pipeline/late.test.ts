/**
 * Readings dropped as late are dead-lettered with reason `late` (window end and watermark in
 * the detail), and counted as before.
 */
import { describe, expect, it } from 'vitest';
import type { HeadroomConfig } from '../../../src/config/index.js';
import { WindowEngine } from '../../../src/core/index.js';
import { Pipeline } from '../../../src/pipeline/index.js';
import { MemoryBus, MemoryDeadLetterPublisher, MemorySource } from '../../../src/sources/memory-bus.js';
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
`;
const T0 = 1_750_000_000_000; // a multiple of 10 s

function loadConfig(): HeadroomConfig {
  return configFromText(CONFIG, 'test.yaml');
}

/** Lets the memory source's delivery loop run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(deadLetters: boolean) {
  const config = loadConfig();
  const bus = new MemoryBus();
  const clock = { nowMs: T0 };
  const pipeline = new Pipeline({
    config: { subjectPrefix: config.source.subjectPrefix, maxMessageBytes: config.source.maxMessageBytes },
    engine: new WindowEngine(config.topology, config.engine),
    source: new MemorySource(bus, config.source),
    sinks: [new CollectingSink()],
    ...(deadLetters ? { deadLetter: new MemoryDeadLetterPublisher(bus, config.deadLetter) } : {}),
    clock: () => clock.nowMs,
    logger: createLogger({ level: 'silent' }),
    tickMs: 0,
  });
  return { bus, clock, pipeline };
}

/** Both meters once a second for seconds [0, 40), 50 ms after their event time. */
async function feed(t: ReturnType<typeof setup>): Promise<void> {
  for (let s = 0; s < 40; s++) {
    const ts = T0 + s * 1000;
    t.clock.nowMs = ts + 50;
    t.bus.publish('telemetry.lab1.gw1', JSON.stringify([{ meter: 'lab1-main', ts, watts: 300_000 }, { meter: 'lab1-ups-1', ts, watts: 200_000 }]));
    await settle();
    t.pipeline.tick();
  }
}

describe('late readings', () => {
  it('are dead-lettered with reason late, the window end and the watermark in the detail', async () => {
    const t = setup(true);
    const dead = t.bus.subscribe('headroom.deadletter.>');
    await t.pipeline.start();
    await feed(t);
    // Watermark: last event time 39 s minus maxOutOfOrder 2 s = 37 s; the 10 s window of 1 s
    // ended at 10 s, beyond allowed lateness (10 s) of the watermark.
    const late = JSON.stringify([{ meter: 'lab1-ups-1', ts: T0 + 1_000, watts: 1 }]);
    t.bus.publish('telemetry.lab1.gw1', late);
    await settle();
    expect(t.pipeline.counters.outcomes.late).toBe(1);
    expect(t.pipeline.deadLetters).toEqual({ late: 1 });
    const dl = dead.take(10);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.subject).toBe('headroom.deadletter.lab1');
    expect(dl[0]!.headers?.['Headroom-Reason']).toBe('late');
    expect(new TextDecoder().decode(dl[0]!.payload)).toBe(late);
    const detail = dl[0]!.headers?.['Headroom-Detail'] ?? '';
    expect(detail).toContain(`window end ${new Date(T0 + 10_000).toISOString()}`);
    expect(detail).toContain(`watermark ${new Date(T0 + 37_000).toISOString()}`);
    expect(detail).toContain("'lab1-ups-1'");
    await t.pipeline.stop();
  });

  it('a message with late and accepted readings is dead-lettered once, and its good readings are recorded', async () => {
    const t = setup(true);
    const dead = t.bus.subscribe('headroom.deadletter.>');
    await t.pipeline.start();
    await feed(t);
    t.bus.publish('telemetry.lab1.gw1', JSON.stringify([{ meter: 'lab1-main', ts: T0 + 40_000, watts: 1 }, { meter: 'lab1-main', ts: T0 + 2_000, watts: 1 }]));
    await settle();
    expect(t.pipeline.counters.outcomes.accepted).toBe(81);
    expect(t.pipeline.counters.outcomes.late).toBe(1);
    expect(dead.take(10).map((m) => m.headers?.['Headroom-Reason'])).toEqual(['late']);
    await t.pipeline.stop();
  });

  it('are counted as late dead letters with publishing off', async () => {
    const t = setup(false);
    await t.pipeline.start();
    await feed(t);
    t.bus.publish('telemetry.lab1.gw1', JSON.stringify({ meter: 'lab1-main', ts: T0, watts: 1 }));
    await settle();
    expect(t.pipeline.counters.outcomes.late).toBe(1);
    expect(t.pipeline.deadLetters).toEqual({ late: 1 });
    await t.pipeline.stop();
  });
});
