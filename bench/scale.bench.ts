/**
 * Scrapes and configs at scale (issue 13, item 6), measured with the CLI as a user runs it:
 * for generated fleets (bench/fleet.ts) of 10,000 and 100,000 rack meters,
 *  - `headroom validate FILE`: wall time, CPU time and peak RSS of the process;
 *  - `headroom run --embedded` (simulator → in-process bus → core → the default /metrics:
 *    one window, 1m, every level but the racks): the series and bytes of one /metrics scrape
 *    and its time (median of 3 once the 1m windows have closed). The series are counted by
 *    window, and the count with all three pipeline windows exported extrapolated (every
 *    window exports the same nodes).
 * Prints a table; `--json FILE` writes the figures too.
 *
 *   npx tsc -p tsconfig.bench.json && npm run build && node dist-bench/bench/scale.bench.js
 *   env: BENCH_SCALE_RACKS (10000,100000), BENCH_PROFILE_DIR (CPU profiles of the children)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from '../tests/helpers/servers.js';
import { generateFleet } from './fleet.js';
import { writeReport } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const cli = join(repoRoot, 'dist/cli/main.js');
const SIZES = (process.env['BENCH_SCALE_RACKS'] ?? '10000,100000').split(',').map((t) => {
  const n = Number(t);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_SCALE_RACKS: '${t}' is not a positive integer`);
  return n;
});
const STARTUP_TIMEOUT_MS = 30 * 60_000;
const SCRAPES = 3;
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];

interface Usage {
  wallSeconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
}

function nodeArgs(name: string): string[] {
  const args = ['--import', pathToFileURL(join(here, 'rusage-on-exit.js')).href];
  if (PROFILE_DIR !== undefined) args.push('--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${name}.cpuprofile`);
  return args;
}

async function validate(file: string, dir: string, name: string): Promise<Usage> {
  const rusageFile = join(dir, `${name}.rusage.json`);
  const child = spawn(process.execPath, [...nodeArgs(`validate-${name}`), cli, 'validate', file], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BENCH_RUSAGE_FILE: rusageFile } });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`headroom validate ${file} exited with ${code}`);
  return JSON.parse(readFileSync(rusageFile, 'utf8')) as Usage;
}

interface Scrape {
  text: string;
  seconds: number;
}

async function scrape(url: string): Promise<Scrape> {
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return { text, seconds: (performance.now() - t0) / 1000 };
}

/** Series (sample lines) in an exposition, in total and by `window` label. */
function countSeries(text: string): { total: number; byWindow: Record<string, number> } {
  let total = 0;
  const byWindow: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    total++;
    const w = /window="([^"]*)"/.exec(line)?.[1];
    if (w !== undefined) byWindow[w] = (byWindow[w] ?? 0) + 1;
  }
  return { total, byWindow };
}

/** Sites with a node load series of `window` (a site's windows close together). */
function sitesWithLoad(text: string, window: string): Set<string> {
  const sites = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('headroom_node_load_watts{') || !line.includes(`window="${window}"`)) continue;
    const site = /site="([^"]*)"/.exec(line)?.[1];
    if (site !== undefined) sites.add(site);
  }
  return sites;
}

interface ScrapeFigures {
  series: number;
  seriesByWindow: Record<string, number>;
  seriesAllWindowsExtrapolated: number;
  bytes: number;
  scrapes: number;
  scrapeSecondsMedian: number;
  scrapeSecondsMax: number;
  startupSeconds: number;
  /** Scrapes once every site's watermark lag is below CAUGHT_UP_LAG_SECONDS (the backfill replayed): the steady state. */
  caughtUp: { scrapeSecondsMedian: number; scrapeSecondsMax: number; afterSeconds: number } | null;
}

/** Watermark lag (s) below which a site counts as caught up with the backfill. */
const CAUGHT_UP_LAG_SECONDS = 10;
const CAUGHT_UP_TIMEOUT_MS = 10 * 60_000;

/** True when every site's `headroom_watermark_lag_seconds` is below CAUGHT_UP_LAG_SECONDS. */
function caughtUp(text: string, siteCount: number): boolean {
  const lags = text.split('\n').filter((l) => l.startsWith('headroom_watermark_lag_seconds{')).map((l) => Number(l.split(' ').at(-1)));
  return lags.length === siteCount && lags.every((lag) => lag < CAUGHT_UP_LAG_SECONDS);
}

function medianAndMax(scrapes: readonly Scrape[]): { median: number; max: number } {
  const times = scrapes.map((s) => s.seconds).sort((a, b) => a - b);
  const median = times.length % 2 === 1 ? times[(times.length - 1) / 2]! : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;
  return { median, max: times[times.length - 1]! };
}

/** `windows`: the pipeline's windows; `awaited`: the exported ones, whose series must be there before the timed scrapes. */
async function scrapeAtScale(file: string, dir: string, name: string, siteCount: number, windows: readonly string[], awaited: readonly string[]): Promise<ScrapeFigures> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/metrics`;
  const rusageFile = join(dir, `${name}.run.rusage.json`);
  const args = [...nodeArgs(`run-${name}`), cli, 'run', '--config', file, '--embedded', '--no-summary', '--metrics-listen', `127.0.0.1:${port}`, '--data-dir', join(dir, `data-${name}`), '--backfill', '70s', '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BENCH_RUSAGE_FILE: rusageFile } });
  const t0 = performance.now();
  try {
    // Wait until the exported windows have closed at every site; that scrape and the next two are the
    // timed ones (at 100,000 meters a scrape on a loaded machine takes minutes, so none is
    // wasted). Windows keep closing meanwhile, so the series may move a little between them.
    let scrapes: Scrape[] = [];
    while (scrapes.length < SCRAPES) {
      if (child.exitCode !== null) throw new Error(`headroom run exited early with ${child.exitCode}`);
      if (performance.now() - t0 > STARTUP_TIMEOUT_MS) throw new Error(`no /metrics with closed windows within ${STARTUP_TIMEOUT_MS / 1000} s`);
      if (scrapes.length === 0) await new Promise((r) => setTimeout(r, 2000));
      const current = await scrape(url).catch(() => null);
      if (current === null) continue;
      const closed = awaited.every((w) => sitesWithLoad(current.text, w).size === siteCount);
      if (closed) scrapes = [...scrapes, current];
    }
    const startupSeconds = (performance.now() - t0) / 1000;
    const last = scrapes[scrapes.length - 1]!;
    const { total, byWindow } = countSeries(last.text);
    const perWindow = Math.max(...windows.map((w) => byWindow[w] ?? 0));
    const withWindow = Object.values(byWindow).reduce((a, b) => a + b, 0);
    const { median, max } = medianAndMax(scrapes);
    // Then the steady state: once the backfill is replayed, three more timed scrapes.
    const steady: Scrape[] = [];
    while (steady.length < SCRAPES && performance.now() - t0 < STARTUP_TIMEOUT_MS + CAUGHT_UP_TIMEOUT_MS && child.exitCode === null) {
      const current = await scrape(url).catch(() => null);
      if (current !== null && (steady.length > 0 || caughtUp(current.text, siteCount))) steady.push(current);
      else await new Promise((r) => setTimeout(r, 2000));
    }
    const steadyTimes = steady.length === SCRAPES ? medianAndMax(steady) : null;
    return {
      series: total,
      seriesByWindow: byWindow,
      seriesAllWindowsExtrapolated: total - withWindow + perWindow * windows.length,
      bytes: Buffer.byteLength(last.text),
      scrapes: scrapes.length,
      scrapeSecondsMedian: median,
      scrapeSecondsMax: max,
      startupSeconds,
      caughtUp: steadyTimes === null ? null : { scrapeSecondsMedian: steadyTimes.median, scrapeSecondsMax: steadyTimes.max, afterSeconds: (performance.now() - t0) / 1000 },
    };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'headroom-scale-'));
try {
  console.log(`node ${process.version}; default /metrics (one window: 1m; every level but the racks)`);
  const figures: Record<string, unknown> = {};
  for (const racks of SIZES) {
    const fleet = generateFleet(racks);
    const name = `fleet-${fleet.meterCount}`;
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(fleet.config));
    const configBytes = Buffer.byteLength(readFileSync(file));
    const v = await validate(file, dir, name);
    const s = await scrapeAtScale(file, dir, name, fleet.sites.length, ['10s', '1m', '15m'], ['1m']);
    figures[name] = { meters: fleet.meterCount, nodes: fleet.nodeCount, configBytes, validate: v, metrics: s };
    const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
    console.log(`${fleet.meterCount.toLocaleString('en-US')} meters, ${fleet.nodeCount.toLocaleString('en-US')} nodes, config ${mb(configBytes)}`);
    console.log(`  validate: ${v.wallSeconds.toFixed(1)} s wall, ${v.cpuSeconds.toFixed(1)} s CPU, peak RSS ${mb(v.maxRssBytes)}`);
    console.log(`  /metrics: ${s.series.toLocaleString('en-US')} series (by window ${JSON.stringify(s.seriesByWindow)}; all 3 windows would be ≈ ${s.seriesAllWindowsExtrapolated.toLocaleString('en-US')}), ${mb(s.bytes)}, scrape ${s.scrapeSecondsMedian.toFixed(2)} s median of ${s.scrapes} (max ${s.scrapeSecondsMax.toFixed(2)} s)`);
    console.log(`  /metrics once caught up with the backfill: ${s.caughtUp === null ? 'not reached' : `scrape ${s.caughtUp.scrapeSecondsMedian.toFixed(2)} s median of ${SCRAPES} (max ${s.caughtUp.scrapeSecondsMax.toFixed(2)} s), ${s.caughtUp.afterSeconds.toFixed(0)} s after start`}`);
  }
  const written = writeReport('scale', figures);
  if (written !== undefined) console.log(`figures written to ${written}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
