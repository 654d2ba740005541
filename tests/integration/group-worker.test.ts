/**
 * Group workers in one process over a 3-node JetStream cluster (streams, KV and Object Store
 * with 3 replicas): a graceful hand-over mid-stream, and a NATS node lost mid-stream. The
 * union of what the workers wrote must equal one replay of the same stream, window for window,
 * and the hand-over must complete within 2 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText, type HeadroomConfig, type JetStreamSourceConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { EngineSettings, OutputRecord, WindowResult } from '../../src/domain/index.js';
import { CheckpointStore } from '../../src/pipeline/group/checkpoint-store.js';
import { GroupWorker } from '../../src/pipeline/group/group-worker.js';
import { replayFiles } from '../../src/pipeline/index.js';
import { createSimulator, NO_FAULTS } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { finalWindows } from '../helpers/final-windows.js';
import { retryUntil, startNatsCluster, type NatsCluster } from '../helpers/servers.js';

const PARTITIONS = 4;
/**
 * Event time starts 10 minutes ago: the streams end in the recent past, so the idle advance at
 * the end moves the watermark minutes, not months (the alert engine walks every window end it
 * passes).
 */
const START_MS = Math.floor(Date.now() / 900_000) * 900_000 - 900_000;
const log = createLogger({ level: 'silent' });

let cluster: NatsCluster;
let nc: NatsConnection;
let demo: HeadroomConfig;
let dir = '';

beforeAll(async () => {
  cluster = await startNatsCluster({ extraConfig: `mappings { "telemetry.*.*": "tp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }` });
  nc = await connect({ servers: cluster.urls });
  const loaded = loadConfigFile('config/demo-fleet.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  // Silent meters leave the quorum after 3 s (not 30 s): the last windows close soon after the stream ends.
  demo = { ...loaded.config, engine: { ...loaded.config.engine, idleTimeoutMs: 3_000 } };
  dir = mkdtempSync(join(tmpdir(), 'headroom-group-worker-'));
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function groupConfig(name: string, stream: string, engine: EngineSettings = demo.engine): HeadroomConfig & { source: JetStreamSourceConfig } {
  const parsed = parseConfigText(
    [
      `source: { kind: jetstream, stream: { name: ${stream}, replicas: 3 }, consumer: { durable: ${name}, expires: 1s },`,
      `  partitions: { count: ${PARTITIONS} }, group: { name: ${name}, lease: 10s, heartbeat: 2s, safetyMargin: 2s, checkpointEvery: 2s, replicas: 3 } }`,
      'sites: [{ id: x, nodes: [{ id: n, level: l, rating: 1kW }] }]',
    ].join('\n'),
    'group.yaml',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const source = parsed.config.source;
  if (source.kind !== 'jetstream') throw new Error('expected a jetstream source');
  // The demo fleet's topology, windows and alerts; only the source (and maybe the engine settings) are the test's.
  return { ...demo, engine, source };
}

interface Running {
  worker: GroupWorker;
  sink: CollectingSink;
}

/** Workers a test started: stopped after it, even when it failed half-way (so none re-creates its stream under the next test). */
const started: GroupWorker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop().catch(() => undefined)));
});

async function startWorker(config: HeadroomConfig & { source: JetStreamSourceConfig }, workerId: string): Promise<Running> {
  const group = config.source.group!;
  const store = await CheckpointStore.open(nc, group.name, { bucket: group.checkpointBucket, replicas: 3 });
  const sink = new CollectingSink();
  const worker = new GroupWorker({ config, nc, sinks: [sink], store, workerId, clock: Date.now, logger: log, tickMs: 100, checkpointEveryMs: group.checkpointEveryMs });
  started.push(worker);
  await worker.start();
  return { worker, sink };
}

/** `ticks` seconds of the demo fleet, and the final windows one replay of them computes (with the workers' engine settings). */
async function streamAndReference(ticks: number, seed: number, engine: EngineSettings = demo.engine): Promise<{ messages: { subject: string; payload: string; id: string }[]; reference: Map<string, WindowResult> }> {
  const sim = createSimulator(demo.topology, { seed, rateMs: 1000, startMs: START_MS, batch: true, faults: NO_FAULTS });
  const messages: { subject: string; payload: string }[] = [];
  for (let i = 0; i < ticks; i++) messages.push(...sim.tick().messages);
  const file = join(dir, `stream-${seed}.ndjson`);
  writeFileSync(file, messages.map((m) => m.payload).join('\n') + '\n');
  const refSink = new CollectingSink();
  await replayFiles(new WindowEngine(demo.topology, engine), [refSink], { inputs: [file], maxMessageBytes: 1 << 20 });
  return { messages: messages.map((m, i) => ({ ...m, id: `${seed}-${i}` })), reference: finalWindows(refSink.records) };
}

/**
 * Publishes each message until the stream has it; the message id makes a retried one a duplicate
 * the stream drops. An attempt waits 1 s for its ack (not the client's 5 s): one sent to a
 * stream leader that just died is tried again soon, so the stream goes on filling.
 */
async function publish(messages: readonly { subject: string; payload: string; id: string }[]): Promise<void> {
  const js = nc.jetstream();
  const sc = StringCodec();
  for (const m of messages) await retryUntil(() => js.publish(m.subject, sc.encode(m.payload), { msgID: m.id, timeout: 1_000 }), 60_000, 250);
}

/** Differences between the reference and the union of the workers' final windows (load and revision). */
function differences(reference: Map<string, WindowResult>, sinks: readonly CollectingSink[]): string[] {
  const union = finalWindows(sinks.flatMap((s) => s.records as OutputRecord[]));
  const out: string[] = [];
  for (const [key, ref] of reference) {
    const got = union.get(key);
    if (got === undefined) out.push(`${key}: missing`);
    else if (JSON.stringify(numbersRounded(got)) !== JSON.stringify(numbersRounded(ref))) out.push(`${key}: ${JSON.stringify(got)} vs ${JSON.stringify(ref)}`);
  }
  for (const key of union.keys()) if (!reference.has(key)) out.push(`${key}: not in the reference`);
  return out;
}

/**
 * Waits until every reference window was written by some worker. Cheap on purpose (a key scan
 * every 3 s): the workers share this event loop, and a long check would starve their leases.
 */
async function untilNoneMissing(reference: Map<string, WindowResult>, sinks: readonly CollectingSink[]): Promise<void> {
  await retryUntil(
    async () => {
      const seen = new Set<string>();
      for (const sink of sinks) for (const r of sink.records) if (r.type === 'node' || r.type === 'site') seen.add(`${r.type}|${r.site}|${r.type === 'node' ? r.node : ''}|${r.windowMs}|${r.start}`);
      let missing = 0;
      for (const key of reference.keys()) if (!key.startsWith('meter|') && !seen.has(key)) missing++;
      if (missing > 0) throw new Error(`${missing} windows missing`);
    },
    120_000,
    3_000,
  );
}

/** Floats to 9 significant digits: the same sums in another order differ in the last bits. */
function numbersRounded(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(9)) : v)));
}

/** A fresh stream over the mapped subjects (the previous test's, which overlaps, is deleted). */
async function ensureStream(name: string): Promise<void> {
  const jsm = await retryUntil(() => nc.jetstreamManager(), 30_000);
  for (const old of await jsm.streams.names().next()) if (old !== name && !old.startsWith('KV_') && !old.startsWith('OBJ_')) await jsm.streams.delete(old);
  await retryUntil(() => jsm.streams.add({ name, subjects: ['tp.>'], num_replicas: 3 }), 30_000);
}

describe('worker group (in-process workers, 3-node cluster)', () => {
  it('graceful hand-over mid-stream: taken over within 2 s, results equal one replay', async () => {
    await ensureStream('GRACE');
    const { messages, reference } = await streamAndReference(150, 21);
    const config = groupConfig('grace', 'GRACE');
    const a = await startWorker(config, 'a');
    const b = await startWorker(config, 'b');
    await retryUntil(async () => {
      if (a.worker.status().partitions.length + b.worker.status().partitions.length !== PARTITIONS) throw new Error('partitions not all owned yet');
    }, 30_000, 100);

    await publish(messages.slice(0, Math.floor(messages.length / 2)));
    await retryUntil(async () => {
      if (a.worker.status().partitions.every((p) => p.position === 0)) throw new Error('a has consumed nothing yet');
    }, 30_000, 100);
    const stopStartedMs = performance.now();
    await a.worker.stop();
    await retryUntil(async () => {
      if (b.worker.status().partitions.length !== PARTITIONS) throw new Error(`b owns ${b.worker.status().partitions.length}`);
    }, 10_000, 20);
    const handOverMs = performance.now() - stopStartedMs;
    expect(handOverMs).toBeLessThan(2_000);

    await publish(messages.slice(Math.floor(messages.length / 2)));
    await untilNoneMissing(reference, [a.sink, b.sink]);
    expect(differences(reference, [a.sink, b.sink])).toEqual([]);
    // The partitions b took from a were restored from the checkpoints a's hand-over stored.
    expect(b.worker.status().partitions.filter((p) => p.restoredFromSequence !== null && p.restoredFromSequence > 0).length).toBeGreaterThan(0);
    await b.worker.stop();
  }, 240_000);

  it('a NATS node dies mid-stream and comes back: nothing lost, results equal one replay', async () => {
    // The publisher below waits out the 5 s outage before the last third, and a write may wait
    // for a stream leader election: a site caught up and silent for idleTimeout is idle by design,
    // its watermark jumps to the processing clock, and the rest of this stream (event time
    // minutes ago) would be late. Live meters would not be late by a pause of seconds; a stream
    // replayed from the past is. So idleTimeout here outlasts the pause: 20 s, not 3 s.
    const engine: EngineSettings = { ...demo.engine, idleTimeoutMs: 20_000 };
    await ensureStream('NODEDOWN');
    const { messages, reference } = await streamAndReference(150, 22, engine);
    const config = groupConfig('nodedown', 'NODEDOWN', engine);
    const a = await startWorker(config, 'a');
    const b = await startWorker(config, 'b');
    const third = Math.floor(messages.length / 3);
    await publish(messages.slice(0, third));
    // Down for 5 s while the next third is published, then back with its store.
    const restarting = cluster.servers[2]!.restart(5_000);
    await publish(messages.slice(third, 2 * third));
    await restarting;
    await publish(messages.slice(2 * third));
    await untilNoneMissing(reference, [a.sink, b.sink]);
    expect(differences(reference, [a.sink, b.sink])).toEqual([]);
    await Promise.all([a.worker.stop(), b.worker.stop()]);
  }, 300_000);
});
