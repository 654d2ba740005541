/**
 * One timed run of bench/scaling.bench.ts: N `headroom run` workers of a fresh group consume a
 * preloaded partitioned stream; `/status` of every worker is polled every POLL_MS until every
 * partition's position is the partition's last sequence and its lag is 0.
 *
 * Two windows are timed, both excluding process start-up and config load (no partition moves
 * before a worker has joined the group):
 *   whole   from the last poll before any position moved to the poll that saw every partition
 *           at the end (includes acquiring the leases, building each partition's engines, and
 *           in a group of two the hand-over when one worker took more than its share first);
 *   steady  from the first poll at which every partition is owned at the fair share with its
 *           consumer running, to the end; readings counted from the positions at that poll.
 * Per worker: its partitions' readings in the steady window over the time until its own last
 * partition reached the end, and its CPU seconds in that time (/proc).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GROUP_CHECKPOINT_DURATION_SECONDS } from '../src/telemetry/index.js';
import { histogramTotals, WorkerProcess, type WorkerStatusBody } from './group-worker-process.js';
import { lastSeq, readingsThrough, type PartitionLog } from './partitioned-preload.js';

export const POLL_MS = 150;
const RUN_TIMEOUT_MS = 30 * 60_000;

export interface RunSpec {
  key: string;
  workers: number;
  checkpointEveryMs: number;
}

export interface RunContext {
  /** Fleet config (pipeline, sites) and the NATS URL. */
  fleetConfig: Record<string, unknown>;
  natsUrl: string;
  stream: string;
  partitions: readonly PartitionLog[];
  dir: string;
  mainJs: string;
  cwd: string;
}

interface Owned {
  worker: number;
  position: number;
  pending: number | null;
  restoredFrom: number | null;
  lastCheckpointBytes: number | null;
}

interface Poll {
  atMs: number;
  cpuSeconds: number[];
  /** Every worker answered. */
  complete: boolean;
  owned: Map<number, Owned>;
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
  /** Partitions whose owner at the end restored them from a checkpoint (taken over from the other worker). */
  handOvers: number;
  /** Partitions that changed owner after the group had settled (0 in a clean run). */
  ownerChangesAfterSettle: number;
  ndjsonBytes: number;
  polls: number;
  maxPollGapMs: number;
  loadAverage: { start: number[]; end: number[] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const atEnd = (log: PartitionLog, o: Owned | undefined): boolean => o !== undefined && o.position >= lastSeq(log) && o.pending === 0;

function groupConfig(ctx: RunContext, spec: RunSpec): string {
  const name = `scaling-${spec.key}`;
  const config = {
    ...ctx.fleetConfig,
    nats: { servers: [ctx.natsUrl] },
    source: { kind: 'jetstream', stream: { name: ctx.stream }, partitions: { count: ctx.partitions.length }, consumer: { durable: name }, group: { name, checkpointEvery: `${spec.checkpointEveryMs}ms` } },
    sinks: { ndjson: { path: 'results.ndjson' } },
  };
  const path = join(ctx.dir, `${name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

async function poll(workers: readonly WorkerProcess[]): Promise<Poll> {
  const bodies = await Promise.all(workers.map((w) => w.status().then((b) => b.group ?? null, (): WorkerStatusBody['group'] | null => null)));
  const atMs = performance.now();
  const owned = new Map<number, Owned>();
  bodies.forEach((b, worker) => {
    for (const p of b?.partitions ?? []) {
      const prev = owned.get(p.partition);
      if (prev === undefined || p.position > prev.position) owned.set(p.partition, { worker, position: p.position, pending: p.pending, restoredFrom: p.restoredFromSequence, lastCheckpointBytes: p.lastCheckpointBytes });
    }
  });
  return { atMs, cpuSeconds: workers.map((w) => w.cpuSeconds()), complete: bodies.every((b) => b !== null), owned };
}

function consumed(partitions: readonly PartitionLog[], p: Poll): number {
  return partitions.reduce((n, log) => n + readingsThrough(log, p.owned.get(log.partition)?.position ?? 0), 0);
}

/** Every partition owned, each worker at its fair share, every consumer running. */
function settled(partitions: readonly PartitionLog[], workers: number, p: Poll): boolean {
  if (!p.complete || p.owned.size !== partitions.length) return false;
  const counts = Array.from({ length: workers }, (_, w) => [...p.owned.values()].filter((o) => o.worker === w).length);
  const low = Math.floor(partitions.length / workers);
  return counts.every((n) => n === low || n === low + 1) && [...p.owned.values()].every((o) => o.pending !== null);
}

export async function timedRun(ctx: RunContext, spec: RunSpec): Promise<RunFigures> {
  const config = groupConfig(ctx, spec);
  const loadStart = loadavg();
  const spawnedMs = performance.now();
  const workers = await Promise.all(
    Array.from({ length: spec.workers }, (_, i) => {
      const id = `${spec.key}-w${i + 1}`;
      const dataDir = join(ctx.dir, id);
      mkdirSync(dataDir, { recursive: true });
      return WorkerProcess.start({ id, mainJs: ctx.mainJs, cwd: ctx.cwd, config, dataDir });
    }),
  );
  try {
    const polls: Poll[] = [];
    for (;;) {
      const dead = workers.find((w) => !w.running);
      if (dead !== undefined) throw new Error(`worker ${dead.id} exited during run ${spec.key}: ${dead.stderr()}`);
      const p = await poll(workers);
      polls.push(p);
      if (p.complete && ctx.partitions.every((log) => atEnd(log, p.owned.get(log.partition)))) break;
      if (p.atMs - spawnedMs > RUN_TIMEOUT_MS) throw new Error(`run ${spec.key} did not consume the stream within ${RUN_TIMEOUT_MS} ms; stderr: ${workers.map((w) => `${w.id}: ${w.stderr()}`).join(' | ')}`);
      await sleep(POLL_MS);
    }
    const scrapes = await Promise.all(workers.map((w) => w.metrics()));
    const ndjsonBytes = workers.reduce((n, w) => n + w.ndjsonBytes(), 0);
    return figures(ctx, spec, workers, polls, scrapes, spawnedMs, { start: loadStart, end: loadavg(), ndjsonBytes });
  } finally {
    await Promise.all(workers.map((w) => w.kill()));
  }
}

function figures(ctx: RunContext, spec: RunSpec, workers: readonly WorkerProcess[], polls: readonly Poll[], scrapes: readonly string[], spawnedMs: number, extra: { start: number[]; end: number[]; ndjsonBytes: number }): RunFigures {
  const parts = ctx.partitions;
  const total = parts.reduce((n, log) => n + readingsThrough(log, lastSeq(log)), 0);
  const last = polls.at(-1)!;
  const firstMoved = polls.findIndex((p) => consumed(parts, p) > 0);
  // The last poll that saw nothing consumed; if even the first saw readings consumed, the spawn (an upper bound).
  const wholeFromMs = firstMoved > 0 ? polls[firstMoved - 1]!.atMs : spawnedMs;
  const wholeSeconds = (last.atMs - wholeFromMs) / 1000;
  const settleAt = polls.findIndex((p) => settled(parts, spec.workers, p));
  const settle = settleAt >= 0 && settleAt < polls.length - 1 ? polls[settleAt]! : null;
  let steady: RunFigures['steady'] = null;
  let perWorker: WorkerFigures[] | null = null;
  const moved = new Set<number>();
  if (settle !== null) {
    const readings = total - consumed(parts, settle);
    const seconds = (last.atMs - settle.atMs) / 1000;
    steady = { seconds, readings, readingsPerSecond: readings / seconds };
    for (const p of polls.slice(settleAt + 1)) for (const [partition, o] of p.owned) if (o.worker !== settle.owned.get(partition)?.worker) moved.add(partition);
    perWorker = workers.map((w, k) => {
      const mine = parts.filter((log) => settle.owned.get(log.partition)?.worker === k);
      const done = polls.slice(settleAt).find((p) => p.complete && mine.every((log) => atEnd(log, p.owned.get(log.partition)))) ?? last;
      const mineReadings = mine.reduce((n, log) => n + readingsThrough(log, lastSeq(log)) - readingsThrough(log, settle.owned.get(log.partition)?.position ?? 0), 0);
      const secs = (done.atMs - settle.atMs) / 1000;
      const cpu = done.cpuSeconds[k]! - settle.cpuSeconds[k]!;
      return { id: w.id, partitions: mine.map((log) => log.partition), readings: mineReadings, seconds: secs, readingsPerSecond: mineReadings / secs, cpuSeconds: cpu, readingsPerCpuSecond: cpu > 0 ? mineReadings / cpu : null };
    });
  }
  const ckpt = scrapes.map((s) => histogramTotals(s, GROUP_CHECKPOINT_DURATION_SECONDS));
  const gaps = polls.slice(1).map((p, i) => p.atMs - polls[i]!.atMs);
  return {
    workers: spec.workers,
    checkpointEveryMs: spec.checkpointEveryMs,
    readings: total,
    wholeSeconds,
    wholeReadingsPerSecond: total / wholeSeconds,
    steady,
    perWorker,
    checkpoints: {
      count: ckpt.reduce((n, c) => n + c.count, 0),
      durationSecondsSum: ckpt.reduce((n, c) => n + c.sum, 0),
      lastBytesSum: [...last.owned.values()].reduce((n, o) => n + (o.lastCheckpointBytes ?? 0), 0),
    },
    handOvers: [...last.owned.values()].filter((o) => o.restoredFrom !== null).length,
    ownerChangesAfterSettle: moved.size,
    ndjsonBytes: extra.ndjsonBytes,
    polls: polls.length,
    maxPollGapMs: Math.max(0, ...gaps),
    loadAverage: { start: extra.start, end: extra.end },
  };
}
