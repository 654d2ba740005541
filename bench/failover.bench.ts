/**
 * Failover time of a worker group (issue 12, docs/worker-groups.md): two `headroom run`
 * workers (the built CLI in dist/) share the P partitions of a stream on a real nats-server
 * while the demo fleet is published in real time at 1 Hz with event time = now (a live site).
 * Each round, once both are settled (each owns its share per /status, caught up, checkpointed),
 * one that owns partitions with sites is SIGKILLed, and from the kill we measure:
 *   takeoverMs     until the survivor's /status shows all P partitions (polled every 50 ms);
 *   firstWindowMs  until the survivor's NDJSON holds a window record of a dead worker's site
 *                  written after the kill (the file tailed from its size at the kill);
 *   restoreMs      the survivor's restore time of the partitions it took (/status; the slowest).
 * Then the killed worker is restarted and the group settles again. Median of the rounds.
 * Run: npm run bench:failover [-- --json FILE]; BENCH_FAILOVER_ROUNDS (3), BENCH_FAILOVER_PARTITIONS (6),
 * BENCH_FAILOVER_LEASE / _HEARTBEAT / _MARGIN / _CHECKPOINT_EVERY (durations such as 3s; default:
 * the group defaults 10s / 2s / 2s / 10s), BENCH_FAILOVER_CLUSTER=1 (a 3-node cluster, R3).
 */
import { mkdtempSync, openSync, readSync, closeSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, StringCodec } from 'nats';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '../src/config/index.js';
import type { OutputRecord } from '../src/domain/index.js';
import { sitesByPartition } from '../src/pipeline/group/partition-map.js';
import { SimulatorDriver } from '../src/pipeline/index.js';
import { createSimulator, NO_FAULTS } from '../src/sources/index.js';
import { retryUntil, startNats, startNatsCluster } from '../tests/helpers/servers.js';
import { waitFor } from '../tests/helpers/wait.js';
import { WorkerProcess, type WorkerStatusBody } from './group-worker-process.js';
import { envNumber, writeReport } from './report.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const ROUNDS = envNumber('BENCH_FAILOVER_ROUNDS', 3);
const P = envNumber('BENCH_FAILOVER_PARTITIONS', 6);
if (!Number.isInteger(P) || P < 2) throw new Error(`BENCH_FAILOVER_PARTITIONS must be an integer of at least 2, got ${P}`);
const CLUSTER = process.env['BENCH_FAILOVER_CLUSTER'] === '1';
/** Group settings given by env (durations as the config takes them); the rest are the defaults. */
const GROUP_ENV: Record<string, string> = { lease: 'BENCH_FAILOVER_LEASE', heartbeat: 'BENCH_FAILOVER_HEARTBEAT', safetyMargin: 'BENCH_FAILOVER_MARGIN', checkpointEvery: 'BENCH_FAILOVER_CHECKPOINT_EVERY' };
const POLL_MS = 50;
const SETTLE_TIMEOUT_MS = 180_000;

interface Round {
  round: number;
  killed: string;
  partitionsTaken: number[];
  sites: string[];
  takeoverMs: number;
  firstWindowMs: number;
  restoreMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-failover-'));
type GroupStatus = NonNullable<WorkerStatusBody['group']>;

const startWorker = (id: string, config: string): Promise<WorkerProcess> => WorkerProcess.start({ id, mainJs, cwd: repoRoot, config, dataDir: join(dir, id) });

/** A worker's group status; throws until it has joined. */
async function status(w: WorkerProcess): Promise<GroupStatus> {
  const body = await w.status();
  if (body.group === undefined) throw new Error(`${w.id}: not in the group yet`);
  return body.group;
}

/** Both workers own their share, every partition started (restored), caught up and checkpointed by its owner. */
async function settle(workers: readonly WorkerProcess[]): Promise<GroupStatus[]> {
  return waitFor('both workers settled', SETTLE_TIMEOUT_MS, async () => {
    const all = await Promise.all(workers.map(status));
    const counts = all.map((s) => s.partitions.length);
    if (counts.reduce((a, b) => a + b, 0) !== P || counts.some((n) => n !== Math.floor(P / 2) && n !== Math.ceil(P / 2))) return null;
    const ready = all.every((s) => s.partitions.every((p) => p.restoreMs > 0 && p.pending === 0 && p.lastCheckpointAtMs !== null));
    return ready ? all : null;
  }, 500).catch((err: unknown) => {
    throw new Error(`group did not settle; stderr: ${workers.map((w) => `${w.id}: ${w.stderr()}`).join(' | ')}`, { cause: err });
  });
}

/** Reads what was appended to `path` since `offset`: the first window record of one of `sites`, else null. */
class NdjsonTail {
  private rest = '';
  constructor(
    private readonly path: string,
    private offset: number,
  ) {}

  static sizeOf(path: string): number {
    try {
      return statSync(path).size;
    } catch (err: unknown) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return 0;
      throw err;
    }
  }

  findWindow(sites: ReadonlySet<string>): OutputRecord | null {
    const size = NdjsonTail.sizeOf(this.path);
    if (size <= this.offset) return null;
    const buf = Buffer.alloc(size - this.offset);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const lines = (this.rest + buf.toString('utf8')).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const record = JSON.parse(line) as OutputRecord;
      if (record.type !== 'alert' && sites.has(record.site)) return record;
    }
    return null;
  }
}

// ---------------------------------------------------------------------------------------

const mapping = `mappings { "telemetry.*.*": "tp.{{partition(${P},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }`;
const servers = CLUSTER ? await startNatsCluster({ extraConfig: mapping }) : await startNats({ extraConfig: mapping });
const urls = 'urls' in servers ? servers.urls : [servers.url];
const nc = await connect({ servers: urls, maxReconnectAttempts: -1 });
const demo = parse(readFileSync(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8')) as Record<string, unknown>;
const groupSettings = Object.fromEntries(Object.entries(GROUP_ENV).flatMap(([key, env]) => (process.env[env] ? [[key, process.env[env]]] : [])));
const configPath = join(dir, 'failover.yaml');
writeFileSync(
  configPath,
  stringify({
    ...demo,
    nats: { servers: urls },
    source: {
      kind: 'jetstream',
      stream: { name: 'FAILOVER', replicas: CLUSTER ? 3 : 1 },
      partitions: { count: P },
      group: { name: 'failover', ...groupSettings },
    },
    sinks: { ndjson: { path: 'results.ndjson' } },
  }),
);
const loaded = loadConfigFile(configPath);
if (!loaded.ok) throw new Error(`bench config invalid: ${JSON.stringify(loaded.issues)}`);
if (loaded.config.source.kind !== 'jetstream' || loaded.config.source.group === undefined) throw new Error('bench config has no group');
const group = loaded.config.source.group;
const topology = loaded.config.topology;
const partitionSites = sitesByPartition(topology, P);
const meters = topology.sites.reduce((n, s) => n + s.nodes.reduce((k, node) => k + node.meters.length, 0), 0);

const workers: WorkerProcess[] = [await startWorker('alpha', configPath), await startWorker('beta', configPath)];
// The demo fleet, live: each tick published when its event time is due (the workers create the stream).
const js = nc.jetstream();
const sc = StringCodec();
let published = 0;
const driver = new SimulatorDriver({
  simulator: createSimulator(topology, { seed: 12, rateMs: 1000, startMs: Math.ceil(Date.now() / 1000) * 1000, batch: true, faults: NO_FAULTS }),
  clock: Date.now,
  speed: 1,
  publish: async (m) => {
    const msgID = String(published++);
    await retryUntil(() => js.publish(m.subject, sc.encode(m.payload), { msgID }), 60_000, 250);
  },
});
let publishError: unknown;
const publishing = driver.run().catch((err: unknown) => {
  publishError = err;
});

const rounds: Round[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    if (publishError !== undefined) throw new Error('publishing the demo fleet failed', { cause: publishError });
    const settled = await settle(workers);
    // Kill a worker that owns sites; alternate between the two when both do.
    const withSites = settled.filter((s) => s.partitions.some((p) => partitionSites[p.partition]!.length > 0));
    if (withSites.length === 0) throw new Error('no worker owns a partition with sites');
    const victimStatus = withSites[round % withSites.length]!;
    const victim = workers.find((w) => w.id === victimStatus.workerId)!;
    const survivor = workers.find((w) => w !== victim)!;
    const taken = victimStatus.partitions.map((p) => p.partition).sort((a, b) => a - b);
    const deadSites = new Set(taken.flatMap((p) => partitionSites[p]!));
    const ndjson = join(dir, survivor.id, 'results.ndjson');
    const tail = new NdjsonTail(ndjson, NdjsonTail.sizeOf(ndjson));

    const killedAtMs = performance.now();
    const killed = victim.kill();
    const timeoutMs = 3 * group.leaseMs + 60_000;
    const takeover = waitFor('the survivor to own every partition', timeoutMs, async () => ((await status(survivor)).partitions.length === P ? performance.now() - killedAtMs : null), POLL_MS);
    const firstWindow = waitFor("a window of the dead worker's sites in the survivor's NDJSON", timeoutMs, () => (tail.findWindow(deadSites) === null ? null : performance.now() - killedAtMs), POLL_MS);
    const [takeoverMs, firstWindowMs] = await Promise.all([takeover, firstWindow]);
    const restored = await waitFor('the taken partitions restored', 60_000, async () => {
      const mine = (await status(survivor)).partitions.filter((p) => taken.includes(p.partition));
      return mine.length === taken.length && mine.every((p) => p.restoreMs > 0) ? mine : null;
    });
    rounds.push({ round, killed: victim.id, partitionsTaken: taken, sites: [...deadSites].sort(), takeoverMs, firstWindowMs, restoreMs: Math.max(...restored.map((p) => p.restoreMs)) });
    console.log(`round ${round}: killed ${victim.id} (partitions ${taken.join(',')}: ${[...deadSites].join(', ')}); takeover ${Math.round(takeoverMs)} ms, first window ${Math.round(firstWindowMs)} ms`);

    await killed;
    workers[workers.indexOf(victim)] = await startWorker(victim.id, configPath);
  }
  if (publishError !== undefined) throw new Error('publishing the demo fleet failed', { cause: publishError });
} finally {
  driver.stop();
  await publishing;
  await Promise.all(workers.map((w) => w.kill()));
  await nc.close();
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });
}

const m = (key: 'takeoverMs' | 'firstWindowMs' | 'restoreMs'): number => median(rounds.map((r) => r[key]));
const figures = {
  settings: {
    partitions: P,
    workers: 2,
    natsNodes: CLUSTER ? 3 : 1,
    sites: topology.sites.length,
    meters,
    readingRateMs: 1000,
    leaseMs: group.leaseMs,
    heartbeatMs: group.heartbeatMs,
    safetyMarginMs: group.safetyMarginMs,
    checkpointEveryMs: group.checkpointEveryMs,
    idleTimeoutMs: loaded.config.engine.idleTimeoutMs,
  },
  rounds: rounds.length,
  /** The lease runs out for the survivor between lease − heartbeat and lease + heartbeat after the crash. */
  expectedTakeover: { fromMs: group.leaseMs - group.heartbeatMs, toMs: group.leaseMs + group.heartbeatMs },
  perRound: rounds,
  takeoverMs: m('takeoverMs'),
  firstWindowMs: m('firstWindowMs'),
  restoreMs: m('restoreMs'),
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`\n${P} partitions, 2 workers, ${figures.settings.natsNodes} NATS node(s), demo fleet ${meters} meters at 1 Hz; lease ${group.leaseMs} ms, heartbeat ${group.heartbeatMs} ms, margin ${group.safetyMarginMs} ms, checkpoint every ${group.checkpointEveryMs} ms`);
console.log('round  killed  partitions  takeover ms  first window ms  restore ms');
for (const r of rounds) console.log(`${String(r.round).padEnd(7)}${r.killed.padEnd(8)}${r.partitionsTaken.join(',').padEnd(12)}${fmt(r.takeoverMs).padStart(11)}${fmt(r.firstWindowMs).padStart(17)}${fmt(r.restoreMs).padStart(12)}`);
console.log(`median${' '.repeat(21)}${fmt(figures.takeoverMs).padStart(11)}${fmt(figures.firstWindowMs).padStart(17)}${fmt(figures.restoreMs).padStart(12)}`);
console.log(`expected takeover: ${fmt(figures.expectedTakeover.fromMs)}–${fmt(figures.expectedTakeover.toMs)} ms after the kill (lease ∓ heartbeat)`);
const written = writeReport('failover', figures);
if (written !== undefined) console.log(`figures written to ${written}`);
