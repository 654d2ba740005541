/**
 * The checkpoint store on a real 3-node JetStream cluster (bucket with 3 replicas): put,
 * latest and prune; a writer SIGKILLed mid-put is never restored; a checkpoint taken mid-way
 * through a partitioned stream, stored and restored, continues exactly like an uninterrupted
 * engine; a cluster node killed with SIGKILL leaves the store working.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, DeliverPolicy, StringCodec, type JetStreamClient, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinAlertsConfig, type HeadroomConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import { AlertEngine } from '../../src/core/alerts/index.js';
import { CheckpointCorruptError, restoreFromCheckpoint, takeCheckpoint, type Checkpoint } from '../../src/pipeline/group/checkpoint.js';
import { encodeCheckpoint } from '../../src/pipeline/group/checkpoint-codec.js';
import { CheckpointStore, checkpointObjectName } from '../../src/pipeline/group/checkpoint-store.js';
import { partitionTopology } from '../../src/pipeline/group/partition-map.js';
import { GENERATED_SETTINGS, demoConfig, drain, feed, feedGenerated, generatedTopology, simulatedStream, type FeedOutput } from '../helpers/checkpoint-fixture.js';
import { retryUntil, startNatsCluster, type NatsCluster, type NatsServer } from '../helpers/servers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PARTITIONS = 2;
const STREAM = 'CKPT_TELEMETRY';
const sc = StringCodec();

let cluster: NatsCluster;
let nc: NatsConnection;
let config: HeadroomConfig;

beforeAll(async () => {
  cluster = await startNatsCluster({
    extraConfig: `mappings { "telemetry.*.*": "tp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }`,
  });
  nc = await connect({ servers: cluster.urls });
  config = demoConfig();
});

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

/** Opens a group's store with 3 replicas, retrying while the cluster elects stream leaders. */
function openStore(group: string, bucket: string, timeoutMs?: number): Promise<CheckpointStore> {
  return retryUntil(() => CheckpointStore.open(nc, group, { bucket, replicas: 3, ...(timeoutMs === undefined ? {} : { timeoutMs }) }), 60_000, 500);
}

function scope(group: string, partition: number) {
  return { group, partition, partitionCount: PARTITIONS, stream: STREAM };
}

/** A real checkpoint of partition `p` after the first `n` simulated messages. */
function checkpointAfter(group: string, p: number, n: number, payloads: readonly string[]): Checkpoint {
  const topology = partitionTopology(config.topology, p, PARTITIONS);
  const engine = new WindowEngine(topology, config.engine);
  const alerts = new AlertEngine(topology, config.alerts);
  feed(engine, alerts, payloads.slice(0, n));
  return takeCheckpoint({ ...scope(group, p), engine, alerts, lastSeq: n, takenAtMs: Date.now(), workerId: `w-${n}` });
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a !== null && b !== null && Buffer.from(a).equals(Buffer.from(b));
}

/** Messages in the bucket's stream, and chunk subjects in it. */
async function bucketState(bucket: string): Promise<{ messages: number; chunkSets: number; replicas: number }> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(`OBJ_${bucket}`, { subjects_filter: `$O.${bucket}.C.>` });
  return { messages: info.state.messages, chunkSets: Object.keys(info.state.subjects ?? {}).length, replicas: info.config.num_replicas };
}

describe('checkpoint store on a 3-node cluster', () => {
  it('put, latest, prune to the newest 2; nothing else stays in the bucket', async () => {
    const payloads = simulatedStream(config, 30).map((m) => m.payload);
    const store = await openStore('g1', 'ckpt-basic');
    const puts: Checkpoint[] = [];
    for (const n of [5, 10, 20, 30]) {
      const cp = checkpointAfter('g1', 0, n, payloads);
      puts.push(cp);
      await store.put(cp);
    }
    const other = checkpointAfter('g1', 1, 30, payloads);
    await store.put(other);

    const listed = await store.list(0);
    expect(listed.map((o) => o.lastSeq)).toEqual([30, 20]);
    const latest = await store.latest(0);
    expect(latest?.skipped).toEqual([]);
    expect(latest?.checkpoint.lastSeq).toBe(30);
    expect(sameBytes(latest!.checkpoint.engine, puts[3]!.engine)).toBe(true);
    expect(sameBytes(latest!.checkpoint.alerts, puts[3]!.alerts)).toBe(true);
    expect((await store.latest(1))?.checkpoint.sites).toEqual(other.sites);
    expect(await store.latest(7)).toBeNull();

    // Only the live checkpoints remain: their chunks plus one meta each (no delete markers).
    const live = [...listed, ...(await store.list(1))];
    const state = await bucketState('ckpt-basic');
    expect(state.replicas).toBe(3);
    expect(state.chunkSets).toBe(live.length);
    expect(state.messages).toBe(live.reduce((n, o) => n + o.chunks, 0) + live.length);

    // Another group in the same bucket is invisible to this one.
    const g2 = await openStore('g2', 'ckpt-basic');
    expect(await g2.latest(0)).toBeNull();
  }, 180_000);

  it('a corrupt newer checkpoint is refused with a clear error and latest() falls back', async () => {
    const payloads = simulatedStream(config, 20).map((m) => m.payload);
    const store = await openStore('g1', 'ckpt-corrupt');
    await store.put(checkpointAfter('g1', 0, 10, payloads));
    const bytes = Buffer.from(await encodeCheckpoint(checkpointAfter('g1', 0, 20, payloads)));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    const name = checkpointObjectName('g1', 0, 20, Date.now());
    const js = nc.jetstream();
    const os = await js.views.os('ckpt-corrupt');
    await os.putBlob({ name }, bytes);

    await expect(store.get(name)).rejects.toThrow(CheckpointCorruptError);
    await expect(store.get(name)).rejects.toThrow(/checksum/);
    const latest = await store.latest(0);
    expect(latest?.checkpoint.lastSeq).toBe(10);
    expect(latest?.skipped.map((s) => s.name)).toEqual([name]);
    expect(latest?.skipped[0]?.error).toBeInstanceOf(CheckpointCorruptError);
  }, 180_000);

  it('a writer SIGKILLed mid-put leaves no checkpoint: latest() is the previous good one', async () => {
    const payloads = simulatedStream(config, 20).map((m) => m.payload);
    const store = await openStore('g1', 'ckpt-torn');
    const good = checkpointAfter('g1', 0, 10, payloads);
    await store.put(good);
    const before = await bucketState('ckpt-torn');

    // The writer: a separate process streams a big checkpoint (6 MiB of state) into the bucket
    // under the next name, says so after 2 MiB, and is killed with the rest unsent.
    const big = { ...checkpointAfter('g1', 0, 20, payloads), engine: Uint8Array.from({ length: 6 << 20 }, (_, i) => (i * 2654435761) >>> 24) };
    const tornName = checkpointObjectName('g1', 0, 20, big.takenAtMs);
    const encoded = Buffer.from(await encodeCheckpoint(big, { compress: 'never' }));
    const child = spawn(process.execPath, ['--input-type=module', '-e', TORN_WRITER], {
      cwd: root,
      env: { ...process.env, NATS_URLS: cluster.urls.join(','), BUCKET: 'ckpt-torn', NAME: tornName },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const midPut = new Promise<void>((resolveMid) => child.stdout.on('data', (b: Buffer) => b.toString().includes('mid-put') && resolveMid()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    child.stdin.end(encoded);
    await Promise.race([midPut, exited.then(() => Promise.reject(new Error(`writer exited early: ${output}`)))]);
    // Its chunks are in the stream before the kill.
    await retryUntil(async () => {
      if ((await bucketState('ckpt-torn')).chunkSets <= before.chunkSets) throw new Error('no chunks of the torn put yet');
    }, 30_000, 100);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    expect((await store.list(0)).map((o) => o.lastSeq)).toEqual([10]);
    const latest = await store.latest(0);
    expect(latest?.skipped).toEqual([]);
    expect(latest?.checkpoint.lastSeq).toBe(10);
    expect(sameBytes(latest!.checkpoint.engine, good.engine)).toBe(true);
    // The orphaned chunks are swept (not while young: a put elsewhere could still be running).
    expect(await store.sweepOrphans(60 * 60_000)).toBe(0);
    expect(await store.sweepOrphans(0)).toBe(1);
    expect(await bucketState('ckpt-torn')).toEqual(before);
  }, 180_000);

  it('restore from the store continues exactly like an uninterrupted engine (partitioned stream, sequence cut)', async () => {
    const messages = simulatedStream(config, 60, 11);
    const jsm = await nc.jetstreamManager();
    await retryUntil(() => jsm.streams.add({ name: STREAM, subjects: ['tp.>'], num_replicas: 3 }), 60_000, 500);
    const js = nc.jetstream();
    for (const m of messages) await js.publish(m.subject, sc.encode(m.payload));
    const store = await openStore('g1', 'ckpt-restore');
    let alertCount = 0;

    for (let p = 0; p < PARTITIONS; p++) {
      const topology = partitionTopology(config.topology, p, PARTITIONS);
      const all = await readPartition(js, p, 1);
      expect(all.length).toBeGreaterThan(20);
      const [wholeEngine, wholeAlerts] = engines(topology);
      const whole = drain(wholeEngine, wholeAlerts, feed(wholeEngine, wholeAlerts, all.map((m) => m.payload)));

      // A worker processes the first 40 %, checkpoints, and dies.
      const cut = Math.floor(all.length * 0.4);
      const [engine, alerts] = engines(topology);
      const out: FeedOutput = feed(engine, alerts, all.slice(0, cut).map((m) => m.payload));
      await store.put(takeCheckpoint({ ...scope('g1', p), engine, alerts, lastSeq: all[cut - 1]!.seq, takenAtMs: Date.now(), workerId: 'dead' }));

      // A new owner restores from the store and consumes from the next sequence.
      const latest = await store.latest(p);
      expect(latest).not.toBeNull();
      const restored = restoreFromCheckpoint(latest!.checkpoint, { ...scope('g1', p), topology, settings: config.engine, alerts: config.alerts });
      const rest = await readPartition(js, p, restored.nextSeq);
      expect(rest.map((m) => m.seq)).toEqual(all.slice(cut).map((m) => m.seq));
      drain(restored.engine, restored.alerts, feed(restored.engine, restored.alerts, rest.map((m) => m.payload), out));

      expect(out.readings).toBe(whole.readings);
      expect(out.windows.length).toBeGreaterThan(0);
      expect(out.windows).toEqual(whole.windows);
      expect(out.alerts).toEqual(whole.alerts);
      alertCount += out.alerts.length;
    }
    // Alert state crossed the cut somewhere (not every partition's sites breach in a minute).
    expect(alertCount).toBeGreaterThan(0);
  }, 300_000);

  it('a large generated partition (5,000 racks) is chunked by the Object Store and restored exactly', async () => {
    const topology = generatedTopology(5_000);
    const alertsConfig = builtinAlertsConfig(GENERATED_SETTINGS);
    const engine = new WindowEngine(topology, GENERATED_SETTINGS);
    const alerts = new AlertEngine(topology, alertsConfig);
    feedGenerated(engine, alerts, topology, 15);
    const big = { group: 'g1', partition: 0, partitionCount: 1, stream: STREAM };
    const cp = takeCheckpoint({ ...big, engine, alerts, lastSeq: 15, takenAtMs: Date.now(), workerId: 'w' });
    const store = await openStore('g1', 'ckpt-large');
    const put = await store.put(cp);
    expect(put.object.chunks).toBeGreaterThan(1);
    const latest = await store.latest(0);
    const restored = restoreFromCheckpoint(latest!.checkpoint, { ...big, topology, settings: GENERATED_SETTINGS, alerts: alertsConfig });
    expect(Buffer.from(restored.engine.snapshot()).equals(Buffer.from(cp.engine))).toBe(true);
    expect(sameBytes(restored.alerts!.snapshot(), cp.alerts)).toBe(true);
  }, 300_000);

  it('one cluster node killed with SIGKILL: put and latest still work', async () => {
    const payloads = simulatedStream(config, 20).map((m) => m.payload);
    // Short requests: a request to a member that just died is retried rather than awaited for long.
    const store = await openStore('g1', 'ckpt-node-loss', 5_000);
    await store.put(checkpointAfter('g1', 0, 10, payloads));
    const victim = cluster.servers[1]!;
    process.kill(await pidOf(victim), 'SIGKILL');
    const next = checkpointAfter('g1', 0, 20, payloads);
    // Stream leaders may move: retry as a worker's checkpoint loop would.
    await retryUntil(() => store.put(next), 120_000, 500);
    const latest = await retryUntil(async () => {
      const l = await store.latest(0);
      if (l?.checkpoint.lastSeq !== 20) throw new Error(`latest is ${l?.checkpoint.lastSeq}`);
      return l;
    }, 120_000, 500);
    expect(sameBytes(latest.checkpoint.engine, next.engine)).toBe(true);
    expect((await retryUntil(() => store.list(0), 120_000, 500)).map((o) => o.lastSeq)).toEqual([20, 10]);
  }, 400_000);
});

function engines(topology: HeadroomConfig['topology']): [WindowEngine, AlertEngine] {
  return [new WindowEngine(topology, config.engine), new AlertEngine(topology, config.alerts)];
}

/** Every message of partition `p` from stream sequence `fromSeq` on, with its sequence. */
async function readPartition(js: JetStreamClient, p: number, fromSeq: number): Promise<{ seq: number; payload: string }[]> {
  const consumer = await js.consumers.get(STREAM, { filterSubjects: `tp.${p}.>`, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq });
  const out: { seq: number; payload: string }[] = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ seq: m.seq, payload: sc.decode(m.data) });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

/** The pid of a cluster member, from the ports file nats-server writes next to its store. */
async function pidOf(server: NatsServer): Promise<number> {
  const files = await readdir(join(dirname(server.storeDir), 'ports'));
  const match = files.map((f) => /^nats-server_(\d+)\.ports$/.exec(f)).find((m) => m !== null);
  if (match === undefined || match === null) throw new Error(`no ports file for ${server.url}`);
  return Number(match[1]);
}

/** The torn writer: streams stdin into the bucket through nats.js, reports mid-put after 2 MiB, then stalls until killed. */
const TORN_WRITER = `
import { connect } from 'nats';
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const bytes = Buffer.concat(chunks);
const nc = await connect({ servers: process.env.NATS_URLS.split(',') });
const os = await nc.jetstream().views.os(process.env.BUCKET);
const first = bytes.subarray(0, 2 << 20);
let sent = false;
const rs = new ReadableStream({
  pull(controller) {
    if (!sent) { sent = true; controller.enqueue(first); return; }
    // Let the first chunks reach the stream, then stall: the rest never comes.
    return nc.flush().then(() => { process.stdout.write('mid-put\\n'); return new Promise(() => {}); });
  },
});
await os.put({ name: process.env.NAME }, rs);
`;
