/**
 * Benchmarks that cannot rot: every bench/*.bench.ts runs here at a tiny size, as its command
 * line runs it (compiled to dist-bench/, the CLI from dist/), and must write its figures as
 * JSON (`--json FILE`) with sane values: numbers finite, rates, sizes and ratios above zero.
 * Never a speed: no figure is compared with a threshold other than zero.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/index.js';
import { sitesByPartition } from '../../src/pipeline/group/partition-map.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BENCH_TIMEOUT_MS = 600_000;
let dir = '';

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.bench.json')], { cwd: root, stdio: 'inherit' });
  dir = mkdtempSync(join(tmpdir(), 'headroom-bench-smoke-'));
}, 300_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface Report {
  bench: string;
  machine: { nproc: number; cpuModel: string; node: string };
  figures: Record<string, unknown>;
}

/** Runs dist-bench/bench/NAME.bench.js with `--json`, tiny sizes from `env`; the parsed report. */
async function runBench(name: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<Report> {
  const out = join(dir, `${name}.json`);
  const child = spawn(process.execPath, [...nodeFlags, join(root, `dist-bench/bench/${name}.bench.js`), '--json', out], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code, `${name} bench output:\n${output}`).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as Report;
}

/** Every number in `value`, with its path. */
function numbers(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => numbers(v, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => numbers(v, path === '' ? k : `${path}.${k}`));
  return [];
}

/** Sane figures: all finite and not negative; each named figure present and above zero. */
function expectSane(report: Report, bench: string, positive: RegExp): void {
  expect(report.bench).toBe(bench);
  expect(report.machine.nproc).toBeGreaterThan(0);
  expect(report.machine.node).toMatch(/^v\d+/);
  const all = numbers(report.figures);
  expect(all.length).toBeGreaterThan(0);
  for (const [path, n] of all) {
    expect(Number.isFinite(n), `${path} = ${n}`).toBe(true);
    expect(n, path).toBeGreaterThanOrEqual(0);
  }
  const named = all.filter(([path]) => positive.test(path));
  expect(named.length, `figures matching ${positive}`).toBeGreaterThan(0);
  for (const [path, n] of named) expect(n, path).toBeGreaterThan(0);
}

describe('benchmarks at tiny size', () => {
  it('every bench/*.bench.ts has a smoke run here', () => {
    const benches = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
    expect(benches).toEqual(['checkpoint', 'codec', 'core', 'e2e', 'failover', 'scale', 'scaling']);
  });

  it('core: readings/s of baseline and core, ratio, heap per meter', { timeout: BENCH_TIMEOUT_MS }, async () => {
    const report = await runBench('core', { BENCH_SECONDS: '6' }, ['--expose-gc']);
    expectSane(report, 'core', /PerSecond$|^ratio$|^heapBytesPerMeter$|^meters$|^windowsEmitted$/);
    expect(report.figures['meters']).toBe(100_015);
    expect(report.figures['eventSeconds']).toBe(6);
  });

  it('codec: JSON.parse and decodeMessage readings/s and their ratio, three payload kinds', { timeout: BENCH_TIMEOUT_MS }, async () => {
    const report = await runBench('codec', { BENCH_MIN_RUN_MS: '20', BENCH_ROUNDS: '1' }, ['--expose-gc']);
    expectSane(report, 'codec', /PerSecond$|\.ratio$|bytesPerMessage$/);
    expect(Object.keys(report.figures)).toEqual(expect.arrayContaining(['single', 'batch', 'singleIsoTs']));
  });

  it('e2e: bare consumer vs headroom run over nats-server, demo single/batched and a generated fleet', { timeout: BENCH_TIMEOUT_MS }, async () => {
    const report = await runBench('e2e', { BENCH_SINGLE_READINGS: '300', BENCH_BATCH_READINGS: '1000', BENCH_FLEET_RACKS: '100', BENCH_FLEET_SECONDS: '3', BENCH_SCENARIOS: 'single,batch,fleet' });
    expectSane(report, 'e2e', /PerSecond$|\.ratio$|Seconds$|\.messages$|\.readings$|\.meters$/);
    expect(Object.keys(report.figures).sort()).toEqual(['demoBatch', 'demoSingle', 'fleetBatch']);
    const fleet = report.figures['fleetBatch'] as { meters: number; readings: number; messages: number };
    expect(fleet.meters).toBe(103);
    expect(fleet.readings).toBe(309);
    expect(fleet.messages).toBe(6); // 3 s × (100 + 3 meters in batches of 100)
  });

  it('checkpoint: bytes per meter; snapshot, encode, put, get, decode, restore times through nats-server', { timeout: BENCH_TIMEOUT_MS }, async () => {
    const report = await runBench('checkpoint', { BENCH_CKPT_RACKS: '100', BENCH_CKPT_SECONDS: '12', BENCH_CKPT_ROUNDS: '1' });
    expectSane(report, 'checkpoint', /Ms$|Bytes$|PerMeter$|^meters$|^chunks$|PerSecond$|^compressionRatio$|^coreShareAt10s$/);
    expect(report.figures['meters']).toBe(103);
  });

  it('failover: takeover, first window and restore times after a SIGKILL in a group of two workers', { timeout: BENCH_TIMEOUT_MS }, async () => {
    const report = await runBench('failover', { BENCH_FAILOVER_ROUNDS: '1', BENCH_FAILOVER_PARTITIONS: '4', BENCH_FAILOVER_LEASE: '3s', BENCH_FAILOVER_HEARTBEAT: '1s', BENCH_FAILOVER_MARGIN: '1s', BENCH_FAILOVER_CHECKPOINT_EVERY: '2s' });
    expectSane(report, 'failover', /Ms$|^rounds$|^settings\.(partitions|workers|meters)$/);
    expect(report.figures['settings']).toMatchObject({ partitions: 4, leaseMs: 3_000, heartbeatMs: 1_000, safetyMarginMs: 1_000, checkpointEveryMs: 2_000 });
    const rounds = report.figures['perRound'] as { partitionsTaken: number[]; sites: string[] }[];
    expect(rounds).toHaveLength(1);
    expect(rounds[0]!.partitionsTaken.length).toBe(2);
    // The dead worker's sites are those nats-server's partition() puts in the partitions it held.
    const demo = loadConfigFile(join(root, 'config/demo-fleet.yaml'));
    if (!demo.ok) throw new Error(JSON.stringify(demo.issues));
    const bySite = sitesByPartition(demo.config.topology, 4);
    expect(rounds[0]!.sites).toEqual(rounds[0]!.partitionsTaken.flatMap((p) => bySite[p]!).sort());
    expect(rounds[0]!.sites.length).toBeGreaterThan(0);
  });

  it('scale: validate time and memory, /metrics series, bytes and scrape time', { timeout: BENCH_TIMEOUT_MS }, async () => {
    const report = await runBench('scale', { BENCH_SCALE_RACKS: '100' });
    expectSane(report, 'scale', /Seconds|Bytes$|bytes$|series|meters$|nodes$/);
    const fleet = report.figures['fleet-103'] as { metrics: { seriesByWindow: Record<string, number> } };
    // The default exposition: one window, the smallest of 1 min or longer (docs/outputs.md).
    expect(Object.keys(fleet.metrics.seriesByWindow)).toEqual(['1m']);
  });

  it('scaling: one vs two group workers and checkpoints every 10 s vs none, over a preloaded partitioned stream', { timeout: BENCH_TIMEOUT_MS }, async () => {
    const report = await runBench('scaling', { BENCH_SCALING_RACKS: '400', BENCH_SCALING_SECONDS: '5' });
    expectSane(report, 'scaling', /wholeSeconds$|wholeReadingsPerSecond$|^scaling\.wholeRatio$|^checkpointCost\.wholeRatio$|^settings\.(meters|readings|messages|sites)$/);
    const settings = report.figures['settings'] as { partitions: number; sites: number; meters: number; readings: number; messages: number; readingsPerPartition: number[] };
    // 4 partitions × 2 sites; 400 racks over 8 sites = 50 racks + intake + 2 UPS meters per site.
    expect(settings).toMatchObject({ partitions: 4, sites: 8, meters: 8 * 53 });
    expect(settings.readings).toBe(8 * 53 * 5);
    expect(settings.messages).toBe(8 * 5); // 53 meters per site: one message per site per second
    expect(settings.readingsPerPartition).toEqual([2 * 53 * 5, 2 * 53 * 5, 2 * 53 * 5, 2 * 53 * 5]);
    const runs = report.figures['runs'] as Record<string, { workers: number; readings: number; checkpoints: { count: number } }>;
    expect(Object.keys(runs).sort()).toEqual(['ckpt10s', 'ckptLong', 'one', 'two']);
    expect(Object.values(runs).map((r) => r.workers)).toEqual([1, 2, 1, 1]);
    for (const r of Object.values(runs)) expect(r.readings).toBe(settings.readings);
    // One worker with a 24 h interval hands nothing over: no checkpoint is taken within the run.
    expect(runs['ckptLong']!.checkpoints.count).toBe(0);
  });
});
