/**
 * The whole worker across a nats-server restart: a live Pipeline on JetStream keeps running
 * while the server is stopped and started again (same port and store) mid-stream, reconnects
 * on its own, and its window results equal a replay of the same stream: nothing lost, and
 * what was redelivered is recognised as duplicates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, StringCodec } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, type HeadroomConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { OutputRecord } from '../../src/domain/index.js';
import { Pipeline, replayFiles } from '../../src/pipeline/index.js';
import { JetStreamSource, NO_FAULTS, connectNats, createSimulator } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { retryUntil, startNats, type NatsServer } from '../helpers/servers.js';
import { finalWindows } from '../helpers/final-windows.js';

const START_MS = Date.UTC(2026, 0, 7, 6, 0, 0);
const TICKS = 120;

let server: NatsServer;
let config: HeadroomConfig;
let dir: string;

beforeAll(async () => {
  server = await startNats({ jetstream: true });
  const loaded = loadConfigFile('config/demo-fleet.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  config = loaded.config;
  dir = mkdtempSync(join(tmpdir(), 'headroom-restart-'));
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Final energy of every node window. */
function finals(records: readonly OutputRecord[]): Map<string, number> {
  return new Map([...finalWindows(records)].flatMap(([key, r]) => (r.type === 'node' ? [[key, r.energyWh] as const] : [])));
}

describe('a live worker across a nats-server restart', () => {
  it('reconnects and loses nothing: its windows equal a replay of the stream', async () => {
    const sim = createSimulator(config.topology, {
      seed: 9,
      rateMs: 1000,
      startMs: START_MS,
      batch: true,
      faults: NO_FAULTS,
    });
    const messages: { subject: string; payload: string }[] = [];
    for (let i = 0; i < TICKS; i++) messages.push(...sim.tick().messages);
    const readings = messages.reduce((n, m) => n + (JSON.parse(m.payload) as unknown[]).length, 0);
    const file = join(dir, 'stream.ndjson');
    writeFileSync(file, messages.map((m) => m.payload).join('\n') + '\n');
    const refSink = new CollectingSink();
    await replayFiles(new WindowEngine(config.topology, config.engine), [refSink], { inputs: [file], maxMessageBytes: 1 << 20 });

    const log = createLogger({ level: 'silent' });
    const handle = await connectNats({ servers: [server.url], name: 'restart-worker' }, { env: {}, readFile: () => '', log });
    const source = new JetStreamSource(
      handle,
      {
        subjectPrefix: 'telemetry',
        sites: undefined,
        stream: { name: 'RESTART', subjects: ['telemetry.>'], maxAgeMs: 0, maxBytes: undefined, replicas: 1, storage: 'file' },
        consumer: { durable: 'worker', maxAckPending: 200, batch: 20, expiresMs: 1000, ackWaitMs: 2000 },
      },
      { log, status: handle.status, maxRetryWaitMs: 500 },
    );
    const sink = new CollectingSink();
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
      engine: new WindowEngine(config.topology, config.engine),
      source,
      sinks: [sink],
      clock: Date.now,
      logger: log,
      natsStatus: handle.status,
      tickMs: 100,
    });
    await pipeline.start();

    const sc = StringCodec();
    const publish = async (part: typeof messages): Promise<void> => {
      const nc = await connect({ servers: server.url });
      const js = nc.jetstream();
      for (const m of part) await js.publish(m.subject, sc.encode(m.payload));
      await nc.close();
    };
    const half = Math.floor(messages.length / 2);
    await publish(messages.slice(0, half));
    await retryUntil(async () => {
      if (pipeline.counters.readings === 0) throw new Error('nothing consumed yet');
    }, 20_000, 20);
    // Mid-stream: the server goes away and comes back on the same port and store.
    await server.restart();
    await retryUntil(async () => {
      if (handle.status.state !== 'connected') throw new Error(handle.status.state);
    }, 30_000, 100);
    await publish(messages.slice(half));
    await retryUntil(async () => {
      if (pipeline.counters.outcomes.accepted < readings) throw new Error(`${pipeline.counters.outcomes.accepted}/${readings}`);
    }, 60_000, 100);
    await pipeline.stop();
    await handle.nc.close();

    expect(handle.status.reconnects).toBeGreaterThanOrEqual(1);
    // Every reading recorded once; anything redelivered after the restart was a duplicate.
    expect(pipeline.counters.outcomes.accepted).toBe(readings);
    expect(pipeline.counters.outcomes.late).toBe(0);
    const live = finals(sink.records);
    const reference = finals(refSink.records);
    expect([...live.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [key, energyWh] of reference) expect(Math.abs(live.get(key)! - energyWh), key).toBeLessThanOrEqual(2e-6 + 1e-12 * energyWh);
  }, 180_000);
});
