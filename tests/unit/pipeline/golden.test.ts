/**
 * Golden results from real telemetry (tests/fixtures/golden/README.md credits the sources).
 *
 * Each case replays a real file from tests/fixtures/data exactly as `headroom replay` does and
 * compares the NDJSON byte for byte with the committed golden file (`npm run golden:update`
 * rewrites them). Each golden file is then cross-checked against numbers computed here,
 * straight from the raw file with a hand-written parser (no csv-parse, no preset code), so
 * a golden file cannot silently encode a bug: energy by step integration of the samples,
 * peaks of the summed power over 1-second buckets, counts of readings and missing values.
 *
 * The data is vendored in the repository: a missing file fails the run, never skips it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../../src/config/index.js';
import { WindowEngine } from '../../../src/core/index.js';
import type { MeterWindow, NodeWindow, OutputRecord } from '../../../src/domain/index.js';
import { replayFiles, type ReplayReadOptions, type ReplaySummary } from '../../../src/pipeline/replay.js';
import { NdjsonSink } from '../../../src/sinks/ndjson-sink.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const GOLDEN_DIR = 'tests/fixtures/golden';
const DATA_DIR = 'tests/fixtures/data';
const UPDATE = process.env.HEADROOM_GOLDEN_UPDATE === '1';
const HOUR_MS = 3_600_000;

interface GoldenCase {
  name: string;
  config: string;
  inputs: string[];
  read: Omit<ReplayReadOptions, 'inputs' | 'maxMessageBytes'>;
  meters: boolean;
}

const GPU_START = '2025-07-01T00:00:00Z';

const CASES: GoldenCase[] = [
  {
    name: 'gpu-llm-inference',
    config: 'gpu-llm-inference.yaml',
    inputs: [`${DATA_DIR}/gpu-llm-inference/GPU_Inference.csv`],
    read: { format: 'gpu-trace', site: 'gpu-node', startMs: Date.parse(GPU_START) },
    meters: false,
  },
  {
    name: 'mlperf-ptdaemon-testing',
    config: 'mlperf-ptdaemon.yaml',
    inputs: [`${DATA_DIR}/mlperf-ptdaemon/spl-testing.txt`],
    read: { format: 'ptdaemon', site: 'mlperf' },
    meters: true,
  },
  {
    name: 'mlperf-ptdaemon-ranging',
    config: 'mlperf-ptdaemon.yaml',
    inputs: [`${DATA_DIR}/mlperf-ptdaemon/spl-ranging.txt`],
    read: { format: 'ptdaemon', site: 'mlperf' },
    meters: true,
  },
  {
    name: 'uci-household',
    config: 'uci-household.yaml',
    inputs: [`${DATA_DIR}/uci-household/household_power_consumption_subset.txt`],
    read: { format: 'uci-household', site: 'household' },
    meters: true,
  },
  {
    name: 'eia930-erco',
    config: 'eia930.yaml',
    inputs: [`${DATA_DIR}/eia930-cleaned/ERCO.csv`],
    read: { format: 'eia930', site: 'grid' },
    meters: false,
  },
  {
    name: 'eia930-pjm',
    config: 'eia930.yaml',
    inputs: [`${DATA_DIR}/eia930-cleaned/PJM.csv`],
    read: { format: 'eia930', site: 'grid' },
    meters: false,
  },
];

function requireData(path: string): string {
  const abs = join(repoRoot, path);
  if (!existsSync(abs)) {
    throw new Error(`real telemetry file missing: ${abs} (vendored in the repository; see tests/fixtures/data/README.md)`);
  }
  return readFileSync(abs, 'utf8');
}

/** Replay a case as the CLI does (results, then the summary line) into `out`. */
async function replayCase(c: GoldenCase, out: string): Promise<void> {
  const loaded = loadConfigFile(join(GOLDEN_DIR, c.config));
  if (!loaded.ok) throw new Error(`${c.config}: ${JSON.stringify(loaded.issues)}`);
  const engine = new WindowEngine(loaded.config.topology, loaded.config.engine, { emitMeters: c.meters });
  const sink = new NdjsonSink(out);
  const { summary } = await replayFiles(engine, [sink], { ...c.read, inputs: c.inputs, maxMessageBytes: 1_048_576 });
  sink.writeLine(summary);
  await sink.close();
}

interface Golden {
  text: string;
  records: OutputRecord[];
  summary: ReplaySummary;
}

const goldens = new Map<string, Golden>();

function parseGolden(text: string): Golden {
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as OutputRecord | ReplaySummary);
  const summary = lines.pop() as ReplaySummary;
  expect(summary.type).toBe('summary');
  // Summary times are whole ms; the replay clock (a running median) never passes the last event.
  for (const t of [summary.firstEventMs, summary.lastEventMs, summary.replayClockMs]) expect(Number.isInteger(t), `summary time ${t}`).toBe(true);
  expect(summary.replayClockMs!).toBeLessThanOrEqual(summary.lastEventMs!);
  expect(summary.firstEventMs!).toBeLessThanOrEqual(summary.replayClockMs!);
  return { text, records: lines as OutputRecord[], summary };
}

beforeAll(() => {
  // Input paths in the summary are as given, relative to the repo root.
  process.chdir(repoRoot);
});

describe('golden replays of real telemetry', () => {
  for (const c of CASES) {
    it(`${c.name}: replay equals the committed golden file byte for byte`, async () => {
      for (const input of c.inputs) requireData(input);
      const goldenPath = join(GOLDEN_DIR, `${c.name}.golden.ndjson`);
      const dir = await mkdtemp(join(tmpdir(), 'headroom-golden-'));
      const out = join(dir, 'out.ndjson');
      await replayCase(c, out);
      const produced = await readFile(out, 'utf8');
      if (UPDATE) await writeFile(goldenPath, produced);
      const committed = await readFile(goldenPath, 'utf8');
      expect(produced === committed, `${c.name}: output differs from ${goldenPath} (npm run golden:update after checking why)`).toBe(true);
      goldens.set(c.name, parseGolden(committed));
    }, 120_000);
  }
});

// ───────────────────────── independent computations ─────────────────────────

interface Sample {
  tsMs: number;
  watts: number;
}

/** Latest revision of each node/meter window, by key. */
function finalWindows<T extends NodeWindow | MeterWindow>(records: OutputRecord[], pick: (r: OutputRecord) => r is T, id: (r: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const r of records) {
    if (!pick(r)) continue;
    const key = `${id(r)}|${r.windowMs}|${r.start}`;
    const prev = byKey.get(key);
    if (prev === undefined || r.revision > prev.revision) byKey.set(key, r);
  }
  return [...byKey.values()].sort((a, b) => a.start - b.start);
}

const isNode = (r: OutputRecord): r is NodeWindow => r.type === 'node';
const isMeter = (r: OutputRecord): r is MeterWindow => r.type === 'meter';

function nodeWindows(g: Golden, node: string, windowMs: number): NodeWindow[] {
  return finalWindows(g.records, isNode, (r) => r.node).filter((r) => r.node === node && r.windowMs === windowMs);
}

function meterWindows(g: Golden, meter: string, windowMs: number): MeterWindow[] {
  return finalWindows(g.records, isMeter, (r) => r.meter).filter((r) => r.meter === meter && r.windowMs === windowMs);
}

/** Each sample holds its value until the next one, at most `maxHoldMs`: energy in Wh. */
function stepEnergyWh(samples: Sample[], maxHoldMs: number): number {
  let wh = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const next = samples[i + 1];
    const holdMs = next === undefined ? maxHoldMs : Math.min(next.tsMs - s.tsMs, maxHoldMs);
    wh += (s.watts * holdMs) / HOUR_MS;
  }
  return wh;
}

/** Per epoch-aligned 1-s bucket: the meter's time-weighted mean over the part it covers. */
function bucketMeans(samples: Sample[], maxHoldMs: number): Map<number, number> {
  const energy = new Map<number, number>();
  const covered = new Map<number, number>();
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const next = samples[i + 1];
    const end = s.tsMs + (next === undefined ? maxHoldMs : Math.min(next.tsMs - s.tsMs, maxHoldMs));
    for (let t = s.tsMs; t < end; ) {
      const bucket = Math.floor(t / 1000) * 1000;
      const upto = Math.min(end, bucket + 1000);
      energy.set(bucket, (energy.get(bucket) ?? 0) + s.watts * (upto - t));
      covered.set(bucket, (covered.get(bucket) ?? 0) + (upto - t));
      t = upto;
    }
  }
  const means = new Map<number, number>();
  for (const [b, e] of energy) means.set(b, e / covered.get(b)!);
  return means;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * Results are rounded to 1e-6 (µW, µWh) by the core: a value may be off by half of that, a
 * sum of n results by n times that, on top of float noise.
 */
function expectClose(actual: number, expected: number, what: string, terms = 1): void {
  const tolerance = terms * 5e-7 + 1e-9 * Math.abs(expected);
  expect(Math.abs(actual - expected), `${what}: ${actual} vs independent ${expected}`).toBeLessThanOrEqual(tolerance);
}

function golden(name: string): Golden {
  const g = goldens.get(name);
  if (g === undefined) throw new Error(`${name}: the byte-for-byte test did not run or failed`);
  return g;
}

describe('golden files agree with independent computations on the raw data', () => {
  it('gpu-llm-inference: energy, 1-s bucket peaks and troughs of the summed GPU power', () => {
    const g = golden('gpu-llm-inference');
    const startMs = Date.parse(GPU_START);
    const rows = requireData(`${DATA_DIR}/gpu-llm-inference/GPU_Inference.csv`).trim().split('\n').map((l) => l.split(',').map(Number));
    const gpus = Array.from({ length: 8 }, (_, k) => rows.map((r) => ({ tsMs: startMs + r[0]! * 1000, watts: r[k + 1]! })));
    const maxHoldMs = 5000;
    expect(g.summary.readings).toBe(rows.length * 8);
    expect(g.summary.outcomes.accepted).toBe(rows.length * 8);
    expect(g.summary.missingValues).toBe(0);
    const times = gpus[0]!.map((s) => s.tsMs);
    expect(g.summary.firstEventMs).toBe(Math.floor(Math.min(...times)));
    expect(g.summary.lastEventMs).toBe(Math.floor(Math.max(...times)));

    const server10s = nodeWindows(g, 'server', 10_000);
    const server1m = nodeWindows(g, 'server', 60_000);
    const energy = sum(gpus.map((s) => stepEnergyWh(s, maxHoldMs)));
    expectClose(sum(server10s.map((w) => w.energyWh)), energy, 'server energy over 10 s windows', server10s.length);
    expectClose(sum(server1m.map((w) => w.energyWh)), energy, 'server energy over 1 min windows', server1m.length);
    for (let k = 0; k < 8; k++) {
      const windows = nodeWindows(g, `gpu${k}`, 10_000);
      expectClose(sum(windows.map((w) => w.energyWh)), stepEnergyWh(gpus[k]!, maxHoldMs), `gpu${k} energy`, windows.length);
    }

    // Node power per 1-s bucket = sum over GPUs of each one's mean over the part it covers.
    const nodeBucket = new Map<number, number>();
    for (const s of gpus) for (const [b, w] of bucketMeans(s, maxHoldMs)) nodeBucket.set(b, (nodeBucket.get(b) ?? 0) + w);
    expect(server10s.length).toBeGreaterThan(50);
    for (const w of server10s) {
      const inWindow = [...nodeBucket].filter(([b]) => b >= w.start && b < w.end).map(([, v]) => v);
      expectClose(w.peakWatts, Math.max(...inWindow), `server peak ${new Date(w.start).toISOString()}`);
      expectClose(w.minWatts, Math.min(...inWindow), `server min ${new Date(w.start).toISOString()}`);
    }
    // swingWatts of a 1 min window: 95th minus 5th percentile (linear interpolation between
    // order statistics) of the same 1-s node buckets.
    const percentile = (sorted: number[], q: number): number => {
      const h = (sorted.length - 1) * q;
      const lo = Math.floor(h);
      return sorted[lo]! + (h - lo) * (sorted[Math.min(sorted.length - 1, lo + 1)]! - sorted[lo]!);
    };
    expect(server1m.length).toBeGreaterThan(3);
    for (const w of server1m) {
      const inWindow = [...nodeBucket].filter(([b]) => b >= w.start && b < w.end).map(([, v]) => v).sort((x, y) => x - y);
      expectClose(w.swingWatts!, percentile(inWindow, 0.95) - percentile(inWindow, 0.05), `server swing ${new Date(w.start).toISOString()}`);
    }
    expect(server10s.every((w) => w.swingWatts === null)).toBe(true);
    // Bucket means never exceed the largest raw row sum (README: the node draws up to 2,395 W).
    const maxRowSum = Math.max(...rows.map((r) => sum(r.slice(1))));
    expect(Math.max(...server10s.map((w) => w.peakWatts))).toBeLessThanOrEqual(maxRowSum + 1e-9);
  });

  for (const which of ['testing', 'ranging'] as const) {
    it(`mlperf-ptdaemon ${which}: counts, extremes and energy of the analyser log`, () => {
      const g = golden(`mlperf-ptdaemon-${which}`);
      const lines = requireData(`${DATA_DIR}/mlperf-ptdaemon/spl-${which}.txt`).trim().split('\n');
      const samples = lines.map((line) => {
        const cells = line.split(',');
        const m = /^(\d{2})-(\d{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec(cells[1]!)!;
        const tsMs = Date.UTC(+m[3]!, +m[1]! - 1, +m[2]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
        return { tsMs, watts: Number(cells[cells.indexOf('Watts') + 1]) };
      });
      expect(g.summary.readings).toBe(lines.length);
      expect(g.summary.missingValues).toBe(0);
      expect(g.summary.unreadableRows).toEqual({});
      const meter10s = meterWindows(g, 'ptd', 10_000);
      expect(sum(meter10s.map((w) => w.count))).toBe(lines.length);
      expect(Math.max(...meter10s.map((w) => w.maxWatts ?? -Infinity))).toBe(Math.max(...samples.map((s) => s.watts)));
      expect(Math.min(...meter10s.map((w) => w.minWatts ?? Infinity))).toBe(Math.min(...samples.map((s) => s.watts)));
      const energy = stepEnergyWh(samples, 5000);
      expectClose(sum(meter10s.map((w) => w.energyWh)), energy, 'meter energy', meter10s.length);
      const node1m = nodeWindows(g, 'sut', 60_000);
      expectClose(sum(node1m.map((w) => w.energyWh)), energy, 'node energy over 1 min windows', node1m.length);
      expect(g.summary.firstEventMs).toBe(samples[0]!.tsMs);
      expect(g.summary.lastEventMs).toBe(Math.max(...samples.map((s) => s.tsMs)));
    });
  }

  it('uci-household: missing values, local time, hourly energy of the smart meter', () => {
    const g = golden('uci-household');
    const lines = requireData(`${DATA_DIR}/uci-household/household_power_consumption_subset.txt`).trim().split('\n');
    const header = lines[0]!.split(';');
    const cols = ['Global_active_power', 'Voltage', 'Global_intensity'].map((name) => header.findIndex((h) => h.startsWith(name)));
    let missing = 0;
    const samples: Sample[] = [];
    for (const line of lines.slice(1)) {
      const cells = line.trim().split(';');
      for (const c of cols) if (cells[c] === '?' || cells[c] === '') missing++;
      const [d, mo, y] = cells[0]!.split('/').map(Number);
      const [h, mi, s] = cells[1]!.split(':').map(Number);
      // Paris in July is UTC+2 (CEST).
      const tsMs = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) - 2 * HOUR_MS;
      if (cells[cols[0]!] !== '?') samples.push({ tsMs, watts: Number(cells[cols[0]!]) * 1000 });
    }
    expect(g.summary.missingValues).toBe(missing);
    expect(g.summary.readings).toBe(samples.length);
    expect(g.summary.firstEventMs).toBe(Date.parse('2007-06-30T22:00:00Z'));
    expect(g.summary.lastEventMs).toBe(Math.max(...samples.map((s) => s.tsMs)));
    const hourly = nodeWindows(g, 'home', HOUR_MS);
    expect(hourly).toHaveLength(48);
    for (const w of hourly) {
      const inHour = samples.filter((s) => s.tsMs >= w.start && s.tsMs < w.end);
      expectClose(w.energyWh, stepEnergyWh(inHour, 60_000), `energy ${new Date(w.start).toISOString()}`);
      // Minute samples fill whole buckets: the 1-s peak is the largest sample of the hour.
      expectClose(w.peakWatts, Math.max(...inHour.map((s) => s.watts)), `peak ${new Date(w.start).toISOString()}`);
    }
    const quarters = nodeWindows(g, 'home', 15 * 60_000);
    expectClose(sum(quarters.map((w) => w.energyWh)), stepEnergyWh(samples, 60_000), 'total energy', quarters.length);
  });

  for (const ba of ['ERCO', 'PJM'] as const) {
    it(`eia930 ${ba}: MISSING/EMPTY counted not zeroed, weekly energy and peaks of raw and cleaned demand`, () => {
      const g = golden(`eia930-${ba.toLowerCase()}`);
      const lines = requireData(`${DATA_DIR}/eia930-cleaned/${ba}.csv`).trim().split('\n').slice(1);
      let missing = 0;
      const raw: Sample[] = [];
      const cleaned: Sample[] = [];
      for (const line of lines) {
        const cells = line.split(',');
        const tsMs = Date.parse(`${cells[0]!.replace(' ', 'T')}Z`);
        for (const [value, into] of [[cells[1]!, raw], [cells[3]!, cleaned]] as const) {
          if (value === 'MISSING' || value === 'EMPTY' || value === '') missing++;
          else into.push({ tsMs, watts: Number(value) * 1e6 });
        }
      }
      expect(missing).toBeGreaterThan(0);
      expect(g.summary.missingValues).toBe(missing);
      expect(g.summary.readings).toBe(raw.length + cleaned.length);
      expect(g.summary.outcomes.accepted).toBe(raw.length + cleaned.length);
      const times = [...raw, ...cleaned].map((s) => s.tsMs);
      expect(g.summary.firstEventMs).toBe(Math.min(...times));
      expect(g.summary.lastEventMs).toBe(Math.max(...times));
      for (const [node, samples] of [['raw', raw], ['cleaned', cleaned]] as const) {
        const weekly = nodeWindows(g, node, 7 * 24 * HOUR_MS);
        expectClose(sum(weekly.map((w) => w.energyWh)), stepEnergyWh(samples, HOUR_MS), `${node} total energy`, weekly.length);
        for (const w of weekly) {
          const inWeek = samples.filter((s) => s.tsMs >= w.start && s.tsMs < w.end);
          expectClose(w.energyWh, stepEnergyWh(inWeek, HOUR_MS), `${node} energy week ${new Date(w.start).toISOString()}`);
          expectClose(w.peakWatts, Math.max(...inWeek.map((s) => s.watts)), `${node} peak week ${new Date(w.start).toISOString()}`);
        }
      }
    });
  }
});
