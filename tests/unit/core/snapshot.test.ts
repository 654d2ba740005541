import { describe, expect, it } from 'vitest';
import { SnapshotError, WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, Reading, RecordOutcome, Topology, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, site, topo } from './fixtures.js';
import { windowSnapshotV1Json } from './snapshot-v1.js';

// Snapshot round trips: an engine restored mid-stream must continue exactly like one that
// never stopped (same records, same order, same revisions, same stats).

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const SETTINGS: EngineSettings = { ...baseSettings, windowsMs: [10_000, 60_000], trendWindows: 4 };
const TOPOLOGY: Topology = topo(
  site(
    's1',
    [
      node('facility', null, 20_000, ['mF'], { level: 'grid', role: 'facility' }),
      node('hall', 'facility', 10_000, [], { level: 'hall', role: 'it', redundancy: 'n+1' }),
      node('A', 'hall', 4000, ['m1', 'm2'], { redundantWith: 'B' }),
      node('B', 'hall', 4000, ['m3'], { redundantWith: 'A' }),
      node('C', 'hall', 3000, ['mWh']),
    ],
    { contractWatts: 15_000, demandIntervalMs: 60_000 },
  ),
  site('s2', [node('solo', null, 1000, ['b1'])]),
);

/** Deterministic pseudo-random numbers in [0, 1) (a 32-bit LCG; the test must not depend on Math.random). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return x / 2 ** 32;
  };
}

interface Arrival {
  reading: Reading;
  nowMs: number;
}

/**
 * Three minutes of readings: watts meters with jittered periods and a few stale gaps, a counter
 * meter with one reset, a second site that goes quiet half-way (idle advance), arrivals
 * shuffled up to 9 s (late within lateness), duplicates and a few readings far too late.
 */
function stream(seed: number): Arrival[] {
  const rand = lcg(seed);
  const readings: Reading[] = [];
  for (const meter of ['mF', 'm1', 'm2', 'm3']) {
    let t = T0 + Math.floor(rand() * 1000);
    while (t < T0 + 180_000) {
      readings.push({ site: 's1', meter, tsMs: t, watts: Math.round(200 + rand() * 800) });
      t += rand() < 0.05 ? 7_000 : 500 + Math.floor(rand() * 1000);
    }
  }
  let wh = 1000;
  for (let t = T0; t < T0 + 180_000; t += 1_000) {
    wh = t === T0 + 90_000 ? 3 : wh + rand() * 0.2; // reset at 90 s
    readings.push({ site: 's1', meter: 'mWh', tsMs: t, wattHours: wh });
  }
  for (let t = T0; t < T0 + 90_000; t += 1_000) readings.push({ site: 's2', meter: 'b1', tsMs: t, watts: 100 + (t - T0) / 1000 });

  const arrivals = readings
    .map((reading) => ({ reading, key: reading.tsMs + Math.floor(rand() * 9_000) }))
    .sort((a, b) => a.key - b.key || a.reading.tsMs - b.reading.tsMs)
    .map((x) => x.reading);
  // Duplicates (with other values) and readings far behind the watermark.
  const out: Reading[] = [];
  arrivals.forEach((x, i) => {
    out.push(x);
    if (i % 37 === 0) out.push({ ...x, watts: 5 });
    if (i % 101 === 50) out.push({ site: 's1', meter: 'm1', tsMs: x.tsMs - 40_000, watts: 7_999 });
  });
  let clock = -Infinity;
  return out.map((reading) => {
    clock = Math.max(clock, reading.tsMs);
    return { reading, nowMs: clock };
  });
}

interface RunResult {
  results: WindowResult[];
  outcomes: RecordOutcome[];
  stats: ReturnType<WindowEngine['stats']>;
}

/** Runs the arrivals; before arrival index `cut` (if given) the engine is snapshotted and replaced by a restored copy. */
function run(arrivals: Arrival[], cuts: number[] = []): RunResult {
  let engine = new WindowEngine(TOPOLOGY, SETTINGS, { emitMeters: true });
  const results: WindowResult[] = [];
  const outcomes: RecordOutcome[] = [];
  arrivals.forEach(({ reading, nowMs }, i) => {
    if (cuts.includes(i)) engine = WindowEngine.restore(TOPOLOGY, SETTINGS, engine.snapshot(), { emitMeters: true });
    outcomes.push(engine.record(reading, nowMs));
    results.push(...engine.advance(nowMs));
  });
  const last = arrivals.at(-1)!.nowMs;
  // The processing clock runs on after the input: idle advance, then a snapshot before the drain.
  results.push(...engine.advance(last + 40_000));
  if (cuts.includes(arrivals.length)) engine = WindowEngine.restore(TOPOLOGY, SETTINGS, engine.snapshot(), { emitMeters: true });
  results.push(...engine.drain());
  return { results, outcomes, stats: engine.stats() };
}

describe('snapshot round trip', () => {
  const arrivals = stream(7);
  const uninterrupted = run(arrivals);

  it('the stream exercises lateness, duplicates, resets and both sites', () => {
    const kinds = new Set(uninterrupted.outcomes);
    for (const k of ['accepted', 'accepted_late', 'late', 'duplicate'] as const) expect(kinds.has(k), k).toBe(true);
    expect(uninterrupted.results.some((x) => x.revision > 0)).toBe(true);
    expect(uninterrupted.results.some((x) => x.site === 's2')).toBe(true);
    expect(uninterrupted.stats.counterResetsBySite['s1']).toBe(1);
  });

  it('restoring after half the readings gives identical results', () => {
    const half = Math.floor(arrivals.length / 2);
    const resumed = run(arrivals, [half]);
    expect(resumed.results).toEqual(uninterrupted.results);
    expect(resumed.outcomes).toEqual(uninterrupted.outcomes);
    expect(resumed.stats).toEqual(uninterrupted.stats);
  });

  it('restoring at many points (and repeatedly) gives identical results', () => {
    const n = arrivals.length;
    const cuts = [0, 1, 2, 3, Math.floor(n / 7), Math.floor(n / 3), Math.floor((2 * n) / 3), n - 1, n];
    for (const cut of cuts) expect(run(arrivals, [cut]).results, `cut at ${cut}`).toEqual(uninterrupted.results);
    const every50 = Array.from({ length: Math.floor(n / 50) }, (_, i) => i * 50);
    expect(run(arrivals, every50).results).toEqual(uninterrupted.results);
  });

  it('holds for other streams too', () => {
    for (const seed of [1, 2, 3]) {
      const a = stream(seed);
      const cut = Math.floor(a.length / 2);
      expect(run(a, [cut]).results, `seed ${seed}`).toEqual(run(a).results);
    }
  });

  it('a restored engine snapshots to the same bytes', () => {
    const engine = new WindowEngine(TOPOLOGY, SETTINGS, { emitMeters: true });
    for (const { reading, nowMs } of arrivals.slice(0, Math.floor(arrivals.length / 2))) {
      engine.record(reading, nowMs);
      engine.advance(nowMs);
    }
    const bytes = engine.snapshot();
    const again = WindowEngine.restore(TOPOLOGY, SETTINGS, bytes, { emitMeters: true }).snapshot();
    expect(new TextDecoder().decode(again)).toBe(new TextDecoder().decode(bytes));
  });

  it('a snapshot of a fresh engine restores to a fresh engine', () => {
    const fresh = new WindowEngine(TOPOLOGY, SETTINGS, { emitMeters: true });
    const restored = WindowEngine.restore(TOPOLOGY, SETTINGS, fresh.snapshot(), { emitMeters: true });
    expect(restored.stats()).toEqual(fresh.stats());
    expect(run(arrivals, [0]).results).toEqual(uninterrupted.results);
  });

  it('a snapshot taken with another topology is rejected', () => {
    const engine = new WindowEngine(TOPOLOGY, SETTINGS);
    const other = topo(site('s1', [node('x', null, 1000, ['m1'])]));
    expect(() => WindowEngine.restore(other, SETTINGS, engine.snapshot())).toThrow(SnapshotError);
  });

  it('bytes that are not a snapshot are rejected', () => {
    expect(() => WindowEngine.restore(TOPOLOGY, SETTINGS, new TextEncoder().encode('{"version":1}'))).toThrow(SnapshotError);
  });

  it('a snapshot naming a counter meter the site does not have is rejected', () => {
    const engine = new WindowEngine(TOPOLOGY, SETTINGS);
    const state = JSON.parse(windowSnapshotV1Json(engine)) as { sites: { counterMeters: number[] }[] };
    state.sites[0]!.counterMeters = [99];
    expect(() => WindowEngine.restore(TOPOLOGY, SETTINGS, new TextEncoder().encode(JSON.stringify(state)))).toThrow(SnapshotError);
  });

  it('a snapshot from before counters could hold the fold back (no acceptFromMs, counterMeters, dirtyToMs) still restores', () => {
    const watts = arrivals.filter((a) => a.reading.meter !== 'mWh');
    const whole = run(watts);
    const half = Math.floor(watts.length / 2);
    let engine = new WindowEngine(TOPOLOGY, SETTINGS, { emitMeters: true });
    const results: WindowResult[] = [];
    watts.forEach(({ reading, nowMs }, i) => {
      if (i === half) {
        const state = JSON.parse(windowSnapshotV1Json(engine)) as { sites: Record<string, unknown>[] };
        for (const site of state.sites) for (const key of ['acceptFromMs', 'counterMeters', 'dirtyToMs']) delete site[key];
        engine = WindowEngine.restore(TOPOLOGY, SETTINGS, new TextEncoder().encode(JSON.stringify(state)), { emitMeters: true });
      }
      engine.record(reading, nowMs);
      results.push(...engine.advance(nowMs));
    });
    results.push(...engine.advance(watts.at(-1)!.nowMs + 40_000), ...engine.drain());
    expect(results).toEqual(whole.results);
  });
});
