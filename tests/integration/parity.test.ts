/**
 * Parity: the same held-out stream gives identical window results whether it arrives over
 * core NATS, over JetStream (one reading a message, or gateway batches), or is replayed from
 * a file. Real nats-server (JetStream on), random port.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, type HeadroomConfig, type SourceConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { OutputRecord } from '../../src/domain/index.js';
import { Pipeline, replayFiles } from '../../src/pipeline/index.js';
import { JetStreamSource, NO_FAULTS, NatsSource, createSimulator, type Source } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { finalWindows } from '../helpers/final-windows.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const START_MS = Date.UTC(2026, 0, 5, 12, 0, 0);
const TICKS = 150; // 2.5 minutes at 1 s


/** Final record per window, without its revision (how often it was restated may differ). */
function finals(records: readonly OutputRecord[]): Map<string, Record<string, unknown>> {
  return new Map(
    [...finalWindows(records)].map(([key, r]) => {
      const { revision: _, ...rest } = r;
      return [key, rest];
    }),
  );
}

/** Equal keys; numbers equal up to the 1e-6 rounding of the output (summation order may differ). */
function expectSameResults(actual: Map<string, Record<string, unknown>>, expected: Map<string, Record<string, unknown>>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, want] of expected) {
    const got = actual.get(key)!;
    for (const [field, value] of Object.entries(want)) {
      const other = got[field];
      if (typeof value === 'number' && typeof other === 'number') {
        if (Math.abs(value - other) > 2e-6 + 1e-12 * Math.abs(value)) throw new Error(`${key}.${field}: ${other} vs ${value}`);
      } else expect(other, `${key}.${field}`).toEqual(value);
    }
  }
}

let server: NatsServer;
let nc: NatsConnection;
let config: HeadroomConfig;
let dir: string;
/** The held-out stream: gateway batches in publish order. */
let batches: { subject: string; payload: string }[];
let singles: { subject: string; payload: string }[];
let readingCount: number;
let reference: Map<string, Record<string, unknown>>;

beforeAll(async () => {
  const loaded = loadConfigFile('config/demo-fleet.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  config = loaded.config;
  // No faults: every meter reports every tick, so live and replayed watermarks advance alike.
  const sim = createSimulator(config.topology, {
    seed: 42,
    rateMs: 1000,
    startMs: START_MS,
    batch: true,
    faults: NO_FAULTS,
  });
  batches = [];
  for (let i = 0; i < TICKS; i++) batches.push(...sim.tick().messages);
  singles = batches.flatMap((m) => (JSON.parse(m.payload) as unknown[]).map((r) => ({ subject: m.subject, payload: JSON.stringify(r) })));
  readingCount = singles.length;

  dir = mkdtempSync(join(tmpdir(), 'headroom-parity-'));
  const file = join(dir, 'stream.ndjson');
  writeFileSync(file, batches.map((m) => m.payload).join('\n') + '\n');
  const sink = new CollectingSink();
  const { summary } = await replayFiles(new WindowEngine(config.topology, config.engine), [sink], { inputs: [file], maxMessageBytes: 1 << 20 });
  expect(summary.outcomes['accepted']).toBe(readingCount);
  reference = finals(sink.records);
  expect(reference.size).toBeGreaterThan(100);

  ({ server, nc } = await startNatsWithClient({ jetstream: true }));
}, 120_000);

afterAll(async () => {
  await stopNatsWithClient(server, nc);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a live pipeline on a source until `expectedReadings` were recorded, then stops (drains). */
async function runLive(source: Source, publish: () => Promise<void>, expectedReadings: number): Promise<Map<string, Record<string, unknown>>> {
  const sink = new CollectingSink();
  const pipeline = new Pipeline({
    config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
    engine: new WindowEngine(config.topology, config.engine),
    source,
    sinks: [sink],
    clock: Date.now,
    logger: createLogger({ level: 'silent' }),
    tickMs: 100,
  });
  await pipeline.start();
  await publish();
  await retryUntil(async () => {
    if (pipeline.counters.readings < expectedReadings) throw new Error(`${pipeline.counters.readings}/${expectedReadings} readings`);
  }, 60_000, 100);
  await pipeline.stop();
  expect(pipeline.counters.outcomes.accepted).toBe(expectedReadings);
  return finals(sink.records);
}

function jetStreamConfig(durable: string, stream: string): Extract<SourceConfig, { kind: 'jetstream' }> {
  return {
    kind: 'jetstream',
    subjectPrefix: 'telemetry',
    maxMessageBytes: 1 << 20,
    stream: { name: stream, subjects: [`${stream.toLowerCase()}.telemetry.>`], maxAgeMs: 0, replicas: 1, storage: 'file' },
    consumer: { durable, maxAckPending: 10_000, batch: 500, expiresMs: 1000, ackWaitMs: 30_000 },
  } as Extract<SourceConfig, { kind: 'jetstream' }>;
}

describe('parity of live sources with replay', () => {
  it('core NATS (gateway batches) gives the replayed results', async () => {
    const log = createLogger({ level: 'silent' });
    const source = new NatsSource({ nc }, { subjectPrefix: 'telemetry', sites: undefined }, { log });
    const sc = StringCodec();
    const results = await runLive(
      source,
      async () => {
        for (const m of batches) nc.publish(m.subject, sc.encode(m.payload));
        await nc.flush();
      },
      readingCount,
    );
    expectSameResults(results, reference);
  });

  for (const [name, messages] of [
    ['single readings', (): typeof singles => singles],
    ['gateway batches', (): typeof batches => batches],
  ] as const) {
    it(`JetStream (${name}) gives the replayed results`, async () => {
      const log = createLogger({ level: 'silent' });
      const streamName = name === 'single readings' ? 'PARITY1' : 'PARITYN';
      const cfg = jetStreamConfig(`parity-${streamName.toLowerCase()}`, streamName);
      const prefix = `${streamName.toLowerCase()}.telemetry`;
      const source = new JetStreamSource({ nc }, { ...cfg, subjectPrefix: prefix }, { log });
      const js = nc.jetstream();
      const sc = StringCodec();
      const sink = new CollectingSink();
      const pipeline = new Pipeline({
        config: { subjectPrefix: prefix, maxMessageBytes: 1 << 20 },
        engine: new WindowEngine(config.topology, config.engine),
        source,
        sinks: [sink],
        clock: Date.now,
        logger: log,
        tickMs: 100,
      });
      await pipeline.start();
      // Publish with acks, in order: the stream holds the exact sequence.
      for (const m of messages()) await js.publish(m.subject.replace(/^telemetry/, prefix), sc.encode(m.payload));
      await retryUntil(async () => {
        if (pipeline.counters.readings < readingCount) throw new Error(`${pipeline.counters.readings}/${readingCount}`);
      }, 90_000, 100);
      await pipeline.stop();
      expect(pipeline.counters.outcomes.accepted).toBe(readingCount);
      // Every message was acknowledged: nothing left for redelivery.
      const info = await (await nc.jetstreamManager()).consumers.info(streamName, `parity-${streamName.toLowerCase()}`);
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
      expectSameResults(finals(sink.records), reference);
    }, 180_000);
  }
});
