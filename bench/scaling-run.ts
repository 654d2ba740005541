/**
 * One timed run of bench/scaling.bench.ts: N `headroom run` workers of a fresh group (its own
 * KV bucket, checkpoint bucket and durable consumers) consume a preloaded partitioned stream.
 * Two loops run side by side until every partition is consumed:
 *   - every POLL_MS the server's view (bench/consumer-progress.ts: per partition the ack floor,
 *     pending and unacknowledged messages of the group's consumers) and each worker's CPU
 *     seconds (/proc): the clock of the run;
 *   - `/status` of every worker, again and again: who owns which partition, whose consumer runs.
 * Timed, both without process start-up and config load (no message is acknowledged before a
 * worker has joined the group and built the partition's engines):
 *   whole   from the last server poll with nothing acknowledged to the first with every
 *           partition at its last sequence, nothing pending, nothing unacknowledged;
 *   steady  from the first server poll after `/status` showed every partition owned at the
 *           fair share with its consumer running (or the whole window's start, if later), to
 *           the same end; its readings are those not yet acknowledged at its start.
 * Per worker: its partitions' readings in the steady window over the time until its own last
 * partition was consumed, and the CPU seconds it spent in that time.
 * With N > 1 the workers are announced in the group's bucket just before they start (a
 * heartbeat entry each), so the first to join takes its share, not every partition, and no
 * hand-over happens at start (bench/README.md, the scaling section, says why).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { stringify } from 'yaml';
import { openGroupBucket, memberKey } from '../src/pipeline/group/index.js';
import { encodeValue } from '../src/pipeline/group/leases.js';
import { GROUP_CHECKPOINT_DURATION_SECONDS, GROUP_LEASES_LOST_TOTAL } from '../src/telemetry/index.js';
import { waitFor } from '../tests/helpers/wait.js';
import { consumerProgress, type PartitionProgress } from './consumer-progress.js';
import { metricSum, WorkerProcess } from './group-worker-process.js';
import { lastSeq, readingsThrough, type PartitionLog } from './partitioned-preload.js';

export const POLL_MS = 150;
const RUN_TIMEOUT_MS = 30 * 60_000;

export interface RunSpec {
  key: string;
  workers: number;
  checkpointEveryMs: number;
}

export interface RunContext {
  /** The group's lease (heartbeat and safety margin stay at their defaults, 2 s each). */
  leaseMs: number;
  nc: NatsConnection;
  /** Fleet config (pipeline, sites). */
  fleetConfig: Record<string, unknown>;
  natsUrl: string;
  stream: string;
  partitions: readonly PartitionLog[];
  dir: string;
  mainJs: string;
  cwd: string;
}

interface ServerPoll {
  atMs: number;
  cpuSeconds: number[];
  progress: Map<number, PartitionProgress>;
}

/** Owner (worker index) of each partition whose consumer runs, per one round of `/status`. */
interface StatusPoll {
  atMs: number;
  complete: boolean;
  owners: Map<number, number>;
}

export interface WorkerFigures {
  id: string;
  partitions: number[];
  readings: number;
  seconds: number;
  readingsPerSecond: number;
  cpuSeconds: number;
  /** Null when the window was too short for /proc's clock ticks to count any CPU. */
  readingsPerCpuSecond: number | null;
}

export interface RunFigures {
  workers: number;
  checkpointEveryMs: number;
  readings: number;
  wholeSeconds: number;
  wholeReadingsPerSecond: number;
  /** Null when the stream was consumed before the group had settled (tiny runs). */
  steady: { seconds: number; readings: number; readingsPerSecond: number } | null;
  perWorker: WorkerFigures[] | null;
  checkpoints: { count: number; durationSecondsSum: number; lastBytesSum: number };
  /** Partitions the final owner restored from a checkpoint (a hand-over happened). */
  handOvers: number;
  /** Leases the workers lost (renewal conflict or deadline: an event loop held past lease − margin). */
  leasesLost: number;
  ndjsonBytes: number;
  serverPolls: number;
  maxServerPollGapMs: number;
  maxStatusGapMs: number;
  loadAverage: { start: number[]; end: number[] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function groupConfig(ctx: RunContext, name: string, spec: RunSpec): string {
  const config = {
    ...ctx.fleetConfig,
    nats: { servers: [ctx.natsUrl] },
    source: { kind: 'jetstream', stream: { name: ctx.stream }, partitions: { count: ctx.partitions.length }, consumer: { durable: name }, group: { name, lease: `${ctx.leaseMs}ms`, checkpointEvery: `${spec.checkpointEveryMs}ms` } },
    sinks: { ndjson: { path: 'results.ndjson' } },
  };
  const path = join(ctx.dir, `${name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

/** Heartbeat entries for `ids` in the group's bucket, as each worker writes its own. */
async function announce(ctx: RunContext, group: string, ids: readonly string[]): Promise<void> {
  const kv = await openGroupBucket(ctx.nc.jetstream(), { bucket: `headroom-group-${group}`, replicas: 1 });
  const nowMs = Date.now();
  for (const workerId of ids) await kv.put(memberKey(workerId), encodeValue({ workerId, host: hostname(), pid: 0, startedAtMs: nowMs, heartbeatAtMs: nowMs, leaseMs: ctx.leaseMs, owned: [] }));
}

async function statusPoll(workers: readonly WorkerProcess[]): Promise<StatusPoll> {
  const bodies = await Promise.all(workers.map((w) => w.status().then((b) => b.group ?? null, () => null)));
  const owners = new Map<number, number>();
  bodies.forEach((b, worker) => {
    for (const p of b?.partitions ?? []) if (p.pending !== null) owners.set(p.partition, worker);
  });
  return { atMs: performance.now(), complete: bodies.every((b) => b !== null), owners };
}

/** Every partition's consumer running, each worker at its fair share. */
function settled(partitionCount: number, workers: number, s: StatusPoll): boolean {
  if (!s.complete || s.owners.size !== partitionCount) return false;
  const low = Math.floor(partitionCount / workers);
  return Array.from({ length: workers }, (_, w) => [...s.owners.values()].filter((o) => o === w).length).every((n) => n === low || n === low + 1);
}

const atEnd = (log: PartitionLog, p: PartitionProgress | undefined): boolean => p !== undefined && p.ackFloor >= lastSeq(log) && p.pending === 0 && p.ackPending === 0;
const acked = (parts: readonly PartitionLog[], s: ServerPoll, only?: readonly PartitionLog[]): number => (only ?? parts).reduce((n, log) => n + readingsThrough(log, s.progress.get(log.partition)?.ackFloor ?? 0), 0);

export async function timedRun(ctx: RunContext, spec: RunSpec): Promise<RunFigures> {
  const name = `scaling-${spec.key}`;
  const config = groupConfig(ctx, name, spec);
  const ids = Array.from({ length: spec.workers }, (_, i) => `${spec.key}-w${i + 1}`);
  if (spec.workers > 1) await announce(ctx, name, ids);
  const jsm = await ctx.nc.jetstreamManager();
  const loadStart = loadavg();
  const spawnedMs = performance.now();
  for (const id of ids) mkdirSync(join(ctx.dir, id), { recursive: true });
  const workers = await Promise.all(ids.map((id) => WorkerProcess.start({ id, mainJs: ctx.mainJs, cwd: ctx.cwd, config, dataDir: join(ctx.dir, id) })));
  const parts = ctx.partitions;
  const server: ServerPoll[] = [];
  const statuses: StatusPoll[] = [];
  let done = false;
  const statusLoop = (async (): Promise<void> => {
    while (!done) {
      statuses.push(await statusPoll(workers));
      await sleep(POLL_MS);
    }
  })();
  try {
    for (;;) {
      const dead = workers.find((w) => !w.running);
      if (dead !== undefined) throw new Error(`worker ${dead.id} exited during run ${spec.key}: ${dead.stderr()}`);
      const progress = await consumerProgress(jsm, ctx.stream, name, parts.length);
      const s = { atMs: performance.now(), cpuSeconds: workers.map((w) => w.cpuSeconds()), progress };
      server.push(s);
      if (parts.every((log) => atEnd(log, progress.get(log.partition)))) break;
      if (s.atMs - spawnedMs > RUN_TIMEOUT_MS) throw new Error(`run ${spec.key} did not consume the stream within ${RUN_TIMEOUT_MS} ms; stderr: ${workers.map((w) => `${w.id}: ${w.stderr()}`).join(' | ')}`);
      await sleep(POLL_MS);
    }
    done = true;
    await statusLoop;
    // The workers agree: every partition's position at its last sequence, nothing pending (not timed).
    const final = await waitFor(`run ${spec.key}: /status at the end`, 120_000, async () => {
      const all = await Promise.all(workers.map(async (w) => (await w.status()).group?.partitions ?? []));
      const flat = all.flat();
      return parts.every((log) => flat.some((p) => p.partition === log.partition && p.position >= lastSeq(log) && p.pending === 0)) ? flat : null;
    });
    const scrapes = await Promise.all(workers.map((w) => w.metrics()));
    const sum = (name: string): number => scrapes.reduce((n, text) => n + metricSum(text, name), 0);
    return {
      ...timing(parts, workers, server, statuses, spec, spawnedMs),
      checkpointEveryMs: spec.checkpointEveryMs,
      checkpoints: { count: sum(`${GROUP_CHECKPOINT_DURATION_SECONDS}_count`), durationSecondsSum: sum(`${GROUP_CHECKPOINT_DURATION_SECONDS}_sum`), lastBytesSum: final.reduce((n, p) => n + (p.lastCheckpointBytes ?? 0), 0) },
      handOvers: final.filter((p) => p.restoredFromSequence !== null).length,
      leasesLost: sum(GROUP_LEASES_LOST_TOTAL),
      ndjsonBytes: workers.reduce((n, w) => n + w.ndjsonBytes(), 0),
      loadAverage: { start: loadStart, end: loadavg() },
    };
  } finally {
    done = true;
    await statusLoop.catch(() => undefined);
    await Promise.all(workers.map((w) => w.kill()));
  }
}

function timing(parts: readonly PartitionLog[], workers: readonly WorkerProcess[], server: readonly ServerPoll[], statuses: readonly StatusPoll[], spec: RunSpec, spawnedMs: number): Omit<RunFigures, 'checkpointEveryMs' | 'checkpoints' | 'handOvers' | 'leasesLost' | 'ndjsonBytes' | 'loadAverage'> {
  const total = parts.reduce((n, log) => n + readingsThrough(log, lastSeq(log)), 0);
  const last = server.at(-1)!;
  const firstAcked = server.findIndex((s) => acked(parts, s) > 0);
  // The last poll that saw nothing acknowledged; if even the first saw some, the spawn (an upper bound).
  const wholeFromMs = firstAcked > 0 ? server[firstAcked - 1]!.atMs : spawnedMs;
  const wholeSeconds = (last.atMs - wholeFromMs) / 1000;
  const settle = statuses.find((s) => settled(parts.length, spec.workers, s));
  // Not before the whole window's start: a group can settle before its first pull is answered.
  const startAt = settle === undefined ? -1 : Math.max(firstAcked - 1, server.findIndex((s) => s.atMs >= settle.atMs));
  let steady: RunFigures['steady'] = null;
  let perWorker: WorkerFigures[] | null = null;
  if (settle !== undefined && server.some((s) => s.atMs >= settle.atMs) && startAt >= 0 && startAt < server.length - 1) {
    const start = server[startAt]!;
    const readings = total - acked(parts, start);
    const seconds = (last.atMs - start.atMs) / 1000;
    steady = { seconds, readings, readingsPerSecond: readings / seconds };
    perWorker = workers.map((w, k) => {
      const mine = parts.filter((log) => settle.owners.get(log.partition) === k);
      const end = server.slice(startAt).find((s) => mine.every((log) => atEnd(log, s.progress.get(log.partition)))) ?? last;
      const mineReadings = mine.reduce((n, log) => n + readingsThrough(log, lastSeq(log)), 0) - acked(parts, start, mine);
      const secs = (end.atMs - start.atMs) / 1000;
      const cpu = end.cpuSeconds[k]! - start.cpuSeconds[k]!;
      return { id: w.id, partitions: mine.map((log) => log.partition), readings: mineReadings, seconds: secs, readingsPerSecond: secs > 0 ? mineReadings / secs : 0, cpuSeconds: cpu, readingsPerCpuSecond: cpu > 0 ? mineReadings / cpu : null };
    });
  }
  const gap = (xs: readonly { atMs: number }[]): number => Math.max(0, ...xs.slice(1).map((x, i) => x.atMs - xs[i]!.atMs));
  return { workers: spec.workers, readings: total, wholeSeconds, wholeReadingsPerSecond: total / wholeSeconds, steady, perWorker, serverPolls: server.length, maxServerPollGapMs: gap(server), maxStatusGapMs: gap(statuses) };
}
