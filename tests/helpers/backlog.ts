/**
 * Shared parts of the backlog tests: a small two-site fleet with idleTimeout (30 s) shorter
 * than the outages the tests make, a JetStream worker on it, and the reference: a replay of
 * every message the gateway generated, whose final windows the live run must equal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { HeadroomConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { OutputRecord } from '../../src/domain/index.js';
import { replayFiles } from '../../src/pipeline/index.js';
import type { NatsHandle } from '../../src/sources/index.js';
import { JetStreamSource } from '../../src/sources/index.js';
import type { Logger } from '../../src/telemetry/index.js';
import { CollectingSink } from './collecting-sink.js';
import { finalWindows } from './final-windows.js';
import { retryUntil } from './servers.js';
import type { GatewayMessage, StoreAndForwardGateway } from './store-and-forward.js';
import type { Pipeline } from '../../src/pipeline/index.js';
import { configFromText } from './config.js';

export const BACKLOG_CONFIG = `
pipeline: { windows: [10s, 1m], maxOutOfOrder: 2s, allowedLateness: 10s, maxHold: 5s, idleTimeout: 30s }
sites:
  - id: bk1
    nodes:
      - { id: intake, level: grid, role: facility, rating: 2MW, meters: [bk1-main] }
      - { id: ups-1, parent: intake, level: ups, role: it, rating: 800kW, meters: [bk1-ups-1] }
      - { id: pdu-1, parent: ups-1, level: pdu, rating: 300kW, meters: [bk1-pdu-1] }
      - { id: pdu-2, parent: ups-1, level: pdu, rating: 300kW, meters: [bk1-pdu-2] }
  - id: bk2
    nodes:
      - { id: intake, level: grid, role: facility, rating: 1MW, meters: [bk2-main] }
      - { id: pdu-1, parent: intake, level: pdu, rating: 300kW, meters: [bk2-pdu-1] }
      - { id: pdu-2, parent: intake, level: pdu, rating: 300kW, meters: [bk2-pdu-2] }
`;

export function backlogConfig(extra = ''): HeadroomConfig {
  return configFromText(BACKLOG_CONFIG + extra, 'backlog.yaml');
}

/** The worker's JetStream source: file storage, so a restarted server keeps the stream. */
export function backlogSource(handle: NatsHandle, log: Logger, stream: string): JetStreamSource {
  return new JetStreamSource(
    handle,
    {
      subjectPrefix: 'telemetry',
      sites: undefined,
      stream: { name: stream, subjects: ['telemetry.>'], maxAgeMs: 0, maxBytes: undefined, replicas: 1, storage: 'file' },
      consumer: { durable: 'worker', maxAckPending: 1000, batch: 50, expiresMs: 1000, ackWaitMs: 30_000 },
    },
    { log, status: handle.status, maxRetryWaitMs: 500, pendingRefreshMs: 500 },
  );
}

/** Final energy of every node window. */
export function nodeFinals(records: readonly OutputRecord[]): Map<string, number> {
  return new Map([...finalWindows(records)].flatMap(([key, r]) => (r.type === 'node' ? [[key, r.energyWh] as const] : [])));
}

/** Node finals of a replay of `messages` (the reference). */
export async function replayFinals(config: HeadroomConfig, messages: readonly GatewayMessage[]): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-backlog-'));
  try {
    const file = join(dir, 'stream.ndjson');
    writeFileSync(file, messages.map((m) => m.payload).join('\n') + '\n');
    const sink = new CollectingSink();
    await replayFiles(new WindowEngine(config.topology, config.engine), [sink], { inputs: [file], maxMessageBytes: 1 << 20 });
    return nodeFinals(sink.records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The live run's final windows equal the replay's: same windows, same energy. */
export function expectSameFinals(live: Map<string, number>, reference: Map<string, number>): void {
  expect(reference.size).toBeGreaterThan(0);
  const missing = [...reference.keys()].filter((k) => !live.has(k));
  expect(missing).toEqual([]);
  expect([...live.keys()].sort()).toEqual([...reference.keys()].sort());
  const off = [...reference].filter(([key, energyWh]) => !(Math.abs(live.get(key)! - energyWh) <= 2e-6 + 1e-9 * Math.abs(energyWh)));
  expect(off.map(([key, energyWh]) => `${key}: live ${live.get(key)} replay ${energyWh}`)).toEqual([]);
}

/**
 * The end of an outage test: the gateway has sent everything it kept; wait until the worker
 * has recorded every reading the gateway generated, stop it, and check that none came late
 * and every one was accepted. Returns how many readings the gateway generated.
 */
export async function expectEveryReadingRecorded(pipeline: Pipeline, gateway: StoreAndForwardGateway, handle: NatsHandle): Promise<number> {
  const total = gateway.generatedReadings;
  expect(gateway.queued).toBe(0);
  await retryUntil(async () => {
    if (pipeline.counters.readings < total) throw new Error(`${pipeline.counters.readings}/${total}`);
  }, 60_000, 100);
  await pipeline.stop();
  await handle.nc.close();
  expect(pipeline.counters.outcomes.late).toBe(0);
  expect(pipeline.counters.outcomes.accepted + pipeline.counters.outcomes.accepted_late).toBe(total);
  return total;
}
