/**
 * Worker scaling 1 → 2 and the throughput lost to checkpoints (issue 13, items 4 and 5), in
 * one run on this machine. One nats-server (JetStream, file store) with the `partition(P,1)`
 * mapping; a generated fleet (bench/fleet.ts) whose sites are chosen so that each of the P
 * partitions holds the same number of sites (so the same readings); the stream preloaded with
 * every meter once a second for BENCH_SCALING_SECONDS of event time, batches of 100 readings of
 * one site per message, published on `telemetry.<site>.bench` as gateways do.
 *
 * Then `headroom run` group workers (the built CLI, dist/), each run a fresh group (its own
 * KV bucket, checkpoint bucket and durable consumers) over the same stream:
 *   one        1 worker, checkpointEvery 10 s (the default)
 *   two        2 workers started together, each ends with P/2 partitions
 *   ckpt10s    1 worker, checkpointEvery 10 s (the same as `one`: a repeat, shows the spread)
 *   ckptLong   1 worker, checkpointEvery 24 h (no checkpoint within the run)
 * Timing (bench/scaling-run.ts): the group's consumers polled on nats-server every 150 ms until
 * every partition is acknowledged to its last sequence (then `/status` must agree: positions at
 * the end, lag 0); the steady window starts once `/status` shows every partition running at
 * its fair share, so process start-up, config load and engine building are outside it. The
 * stream is read once before the runs, so that each reads it warm. Each worker writes NDJSON
 * (its own file) and serves /metrics (the Prometheus sink, default exposition; it serves
 * /status); alert rules are the built-in defaults.
 *
 *   npm run bench:scaling [-- --json FILE]
 *   env: BENCH_SCALING_RACKS (20000), BENCH_SCALING_SECONDS (300: seconds of event time; at 60 a
 *   worker consumed the stream in about 8 s, less than one checkpoint interval),
 *   BENCH_SCALING_PARTITIONS (4), BENCH_SCALING_SITES_PER_PARTITION (2), BENCH_SCALING_LEASE_SECONDS
 *   (10, the group default; a lost lease is reported, since it turns the run into a failover)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { startNats } from '../tests/helpers/servers.js';
import { generateFleet } from './fleet.js';
import { balancedSiteIds, lastSeq, preloadPartitioned, readAll, readingsThrough } from './partitioned-preload.js';
import { killAllWorkers } from './group-worker-process.js';
import { envNumber, writeReport } from './report.js';
import { POLL_MS, timedRun, type RunFigures, type RunSpec } from './scaling-run.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RACKS = envNumber('BENCH_SCALING_RACKS', 20_000);
const SECONDS = envNumber('BENCH_SCALING_SECONDS', 300);
const P = envNumber('BENCH_SCALING_PARTITIONS', 4);
const SITES_PER_PARTITION = envNumber('BENCH_SCALING_SITES_PER_PARTITION', 2);
if (!Number.isInteger(P) || P < 2 || P % 2 !== 0) throw new Error(`BENCH_SCALING_PARTITIONS must be an even integer of at least 2, got ${P}`);
if (!Number.isInteger(SITES_PER_PARTITION)) throw new Error(`BENCH_SCALING_SITES_PER_PARTITION must be an integer, got ${SITES_PER_PARTITION}`);
/** The group lease, s: 30 by default (the product's is 10; see docs/benchmarks.md). */
const LEASE_MS = envNumber('BENCH_SCALING_LEASE_SECONDS', 10) * 1000;
const LONG_CHECKPOINT_MS = 24 * 3_600_000;
const PER_MESSAGE = 100;
const STREAM = 'SCALING';

const SPECS: (RunSpec & { label: string })[] = [
  { key: 'one', label: '1 worker', workers: 1, checkpointEveryMs: 10_000 },
  { key: 'two', label: '2 workers', workers: 2, checkpointEveryMs: 10_000 },
  { key: 'ckpt10s', label: '1 worker, ckpt 10 s', workers: 1, checkpointEveryMs: 10_000 },
  { key: 'ckptLong', label: '1 worker, ckpt 24 h', workers: 1, checkpointEveryMs: LONG_CHECKPOINT_MS },
];

const mapping = `mappings { "telemetry.*.*": "tp.{{partition(${P},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }`;
const server = await startNats({ extraConfig: mapping });
const nc = await connect({ servers: server.url });
const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-scaling-'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllWorkers();
    void server.stop().finally(() => process.exit(130));
  });
}
const loadStart = loadavg();
const fleet = generateFleet(RACKS, balancedSiteIds(P, SITES_PER_PARTITION));
const runs: Record<string, RunFigures> = {};
let preloaded: Awaited<ReturnType<typeof preloadPartitioned>>;
try {
  console.log(`nats-server ${server.url}; node ${process.version}; ${fleet.meterCount.toLocaleString('en-US')} meters over ${fleet.sites.length} sites, ${P} partitions; ${SECONDS} s of event time`);
  preloaded = await preloadPartitioned(nc, STREAM, fleet.sites, P, SECONDS, PER_MESSAGE);
  console.log(`preloaded ${preloaded.messages.toLocaleString('en-US')} messages, ${preloaded.readings.toLocaleString('en-US')} readings; per partition ${preloaded.partitions.map((p) => `${p.partition}: ${p.sites.join('+')}`).join(', ')}`);
  const warmed = await readAll(nc, STREAM, Math.max(...preloaded.partitions.map(lastSeq)));
  console.log(`read the stream once (${warmed.toLocaleString('en-US')} messages) so that every run reads it warm`);
  const ctx = { nc, leaseMs: LEASE_MS, fleetConfig: fleet.config, natsUrl: server.url, stream: STREAM, partitions: preloaded.partitions, dir, mainJs: join(repoRoot, 'dist/cli/main.js'), cwd: repoRoot };
  for (const spec of SPECS) {
    runs[spec.key] = await timedRun(ctx, spec);
    console.log(row(spec.label, runs[spec.key]!));
  }
} finally {
  await nc.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

function row(label: string, r: RunFigures): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const steady = r.steady === null ? 'steady: none (consumed before the group settled)' : `steady ${r.steady.seconds.toFixed(1)} s ${n(r.steady.readingsPerSecond)} readings/s`;
  const workers = (r.perWorker ?? []).map((w) => `\n    ${w.id} (partitions ${w.partitions.join(',')}): ${n(w.readingsPerSecond)} readings/s, ${w.cpuSeconds.toFixed(1)} CPU s, ${w.readingsPerCpuSecond === null ? 'n/a' : n(w.readingsPerCpuSecond)} readings per CPU second`).join('');
  const load = `load ${r.loadAverage.start[0]!.toFixed(1)} → ${r.loadAverage.end[0]!.toFixed(1)}`;
  const output = `NDJSON ${(r.ndjsonBytes / 1e6).toFixed(1)} MB; longest /status wait ${(r.maxStatusGapMs / 1000).toFixed(1)} s`;
  return `${label.padEnd(22)} whole ${r.wholeSeconds.toFixed(1)} s ${n(r.wholeReadingsPerSecond)} readings/s; ${steady}; ${r.checkpoints.count} checkpoints (last ${n(r.checkpoints.lastBytesSum)} B); hand-overs ${r.handOvers}, leases lost ${r.leasesLost}; ${output}; ${load}${workers}`;
}

const ratio = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined ? null : a / b);
const mean = (xs: readonly number[]): number | undefined => (xs.length === 0 ? undefined : xs.reduce((s, x) => s + x, 0) / xs.length);
/** Mean readings per CPU second of a run's workers (null when one of them has none). */
const perCpu = (r: RunFigures): number | null => {
  const xs = (r.perWorker ?? []).map((w) => w.readingsPerCpuSecond);
  return xs.some((x) => x === null) ? null : (mean(xs.filter((x) => x !== null)) ?? null);
};
const one = runs['one']!;
const two = runs['two']!;
const ck10 = runs['ckpt10s']!;
const ckLong = runs['ckptLong']!;
const figures = {
  settings: {
    partitions: P,
    sitesPerPartition: SITES_PER_PARTITION,
    sites: fleet.sites.length,
    meters: fleet.meterCount,
    eventSeconds: SECONDS,
    readingsPerMessage: PER_MESSAGE,
    messages: preloaded.messages,
    readings: preloaded.readings,
    readingsPerPartition: preloaded.partitions.map((log) => readingsThrough(log, lastSeq(log))),
    pollMs: POLL_MS,
    longCheckpointEveryMs: LONG_CHECKPOINT_MS,
    leaseMs: LEASE_MS,
    sinks: 'ndjson (one file per worker) + /metrics (Prometheus sink, default exposition; serves /status)',
    alerts: 'built-in defaults',
  },
  runs,
  scaling: {
    /** Two workers' steady readings/s over one worker's. */
    ratio: ratio(two.steady?.readingsPerSecond, one.steady?.readingsPerSecond),
    wholeRatio: two.wholeReadingsPerSecond / one.wholeReadingsPerSecond,
    oneWorkerReadingsPerSecond: one.steady?.readingsPerSecond ?? null,
    twoWorkersReadingsPerSecond: two.steady?.readingsPerSecond ?? null,
    twoWorkersPerWorkerReadingsPerSecond: mean((two.perWorker ?? []).map((w) => w.readingsPerSecond)) ?? null,
    oneWorkerReadingsPerCpuSecond: perCpu(one),
    twoWorkersReadingsPerCpuSecond: perCpu(two),
  },
  checkpointCost: {
    /** Steady readings/s with checkpoints every 10 s over those with none in the run. */
    ratio: ratio(ck10.steady?.readingsPerSecond, ckLong.steady?.readingsPerSecond),
    wholeRatio: ck10.wholeReadingsPerSecond / ckLong.wholeReadingsPerSecond,
    checkpoints10s: ck10.checkpoints.count,
    checkpointsLong: ckLong.checkpoints.count,
    lastCheckpointBytes10s: ck10.checkpoints.lastBytesSum,
  },
  loadAverage: { start: loadStart, end: loadavg() },
};
const f = (x: number | null, digits = 2): string => (x === null ? 'n/a' : x.toFixed(digits));
console.log(`\nscaling 1 → 2 workers: ${f(figures.scaling.ratio)} (steady), ${f(figures.scaling.wholeRatio)} (whole run)`);
console.log(`checkpoints every 10 s vs none: ${f(figures.checkpointCost.ratio)} (steady), ${f(figures.checkpointCost.wholeRatio)} (whole run); ${ck10.checkpoints.count} vs ${ckLong.checkpoints.count} checkpoints`);
console.log(`load average (1, 5, 15 min) ${loadStart.map((x) => x.toFixed(1)).join(' ')} → ${figures.loadAverage.end.map((x) => x.toFixed(1)).join(' ')}`);
const written = writeReport('scaling', figures);
if (written !== undefined) console.log(`figures written to ${written}`);
