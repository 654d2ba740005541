/**
 * The fold and the builds of longer windows reuse the ranges window builds integrated
 * (RangeCache). The reference is the same engine integrating every range afresh
 * (reuseRanges: false): the records must be identical, byte for byte, whatever arrives late.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, NodeWindow, Reading, RecordOutcome, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const TOPOLOGY = topo(
  site('s1', [
    node('root', null, 3000, [], { level: 'grid' }),
    node('a', 'root', 1500, ['m1', 'm2']),
    node('b', 'root', 1500, ['m3']),
  ]),
);

interface Run {
  records: string[];
  outcomes: RecordOutcome[];
  engine: WindowEngine;
}

/**
 * Feeds readings in arrival order on the replay clock, advancing after each; `snapshotAt`:
 * after that many readings the engine is replaced by one restored from its snapshot.
 */
function run(readings: readonly Reading[], reuseRanges: boolean, settings: EngineSettings, snapshotAt = -1): Run {
  const options = { emitMeters: true, reuseRanges };
  let engine = new WindowEngine(TOPOLOGY, settings, options);
  const records: string[] = [];
  const outcomes: RecordOutcome[] = [];
  let clockMs = -Infinity;
  readings.forEach((reading, i) => {
    if (i === snapshotAt) {
      engine = WindowEngine.restore(TOPOLOGY, settings, engine.snapshot(), options);
    }
    clockMs = Math.max(clockMs, reading.tsMs);
    outcomes.push(engine.record(reading, clockMs));
    for (const w of engine.advance(clockMs)) records.push(JSON.stringify(w));
  });
  for (const w of engine.drain()) records.push(JSON.stringify(w));
  return { records, outcomes, engine };
}

/** Power meters m1, m3 and a counter register m2, with fractional watts (summation order would show). */
const streamArb = fc
  .array(
    fc.record({
      meter: fc.constantFrom('m1', 'm2', 'm3'),
      offsetMs: fc.integer({ min: 0, max: 150_000 }),
      value: fc.integer({ min: 0, max: 700_000 }),
    }),
    { minLength: 1, maxLength: 150 },
  )
  .map((xs) => {
    const seen = new Set<string>();
    let wattHours = 100;
    return xs
      .filter((x) => !seen.has(`${x.meter}@${x.offsetMs}`) && seen.add(`${x.meter}@${x.offsetMs}`) !== undefined)
      .sort((a, b) => a.offsetMs - b.offsetMs)
      .map((x): Reading => {
        if (x.meter !== 'm2') return { site: 's1', meter: x.meter, tsMs: T0 + x.offsetMs, watts: x.value / 700 };
        wattHours += x.value / 7e5;
        return { site: 's1', meter: 'm2', tsMs: T0 + x.offsetMs, wattHours };
      });
  });

/** Arrival order: by ts plus a jitter of up to `spreadMs`, so readings arrive late but within allowed lateness. */
function arrivalOrder(readings: Reading[], jitters: number[], spreadMs: number): Reading[] {
  return readings
    .map((reading, i) => ({ reading, key: reading.tsMs + ((jitters[i % jitters.length] ?? 0) % (spreadMs + 1)), i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.reading);
}

describe('ranges integrated by window builds, reused by the fold and longer windows', () => {
  it('late readings within allowed lateness and snapshot restores: the same records as integrating every range afresh', () => {
    let reusedOverall = 0;
    let lateRuns = 0;
    const settingsArb = fc.constantFrom<EngineSettings>(
      baseSettings,
      { ...baseSettings, windowsMs: [10_000, 60_000, 900_000], maxCounterGapMs: 8_000 },
      { ...baseSettings, windowsMs: [5_000, 15_000], allowedLatenessMs: 30_000 },
    );
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), settingsArb, fc.nat(), (readings, jitters, settings, cut) => {
        const arrivals = arrivalOrder(readings, jitters, settings.maxOutOfOrderMs + settings.allowedLatenessMs);
        const snapshotAt = cut % (arrivals.length + 1);
        const reused = run(arrivals, true, settings, snapshotAt);
        const fresh = run(arrivals, false, settings, snapshotAt);
        expect(reused.outcomes).toEqual(fresh.outcomes);
        expect(reused.records).toEqual(fresh.records);
        // Every range either engine asks for (since the restore) is integrated by the fresh one,
        // and by the reusing one only when not kept.
        const a = reused.engine.work();
        const b = fresh.engine.work();
        expect(b.rangesReused).toBe(0);
        expect(a.rangesIntegrated + a.rangesReused).toBe(b.rangesIntegrated);
        reusedOverall += a.rangesReused;
        if (reused.outcomes.includes('accepted_late')) lateRuns++;
      }),
      { numRuns: 150 },
    );
    // The property ran on the paths it is about: reuse happened, and late readings restated windows.
    expect(reusedOverall).toBeGreaterThan(0);
    expect(lateRuns).toBeGreaterThan(0);
  });

  it('an in-order stream: each 10 s range is integrated once instead of by the build, the fold and the minute', () => {
    const readings: Reading[] = [];
    for (let s = 0; s < 300; s++) for (const meter of ['m1', 'm2', 'm3']) readings.push(r(meter, T0 + s * 1000 + 250, 100 + ((s * 37) % 50) / 3));
    const reused = run(readings, true, baseSettings);
    const fresh = run(readings, false, baseSettings);
    expect(reused.records).toEqual(fresh.records);
    const a = reused.engine.work();
    const b = fresh.engine.work();
    // Per minute: six 10 s windows built (6 ranges), folded (6), the minute's live part built
    // (the last 20 s, 2 ranges): 14 afresh, 6 when the fold and the minute reuse the builds'.
    expect(a.rangesIntegrated + a.rangesReused).toBe(b.rangesIntegrated);
    expect(a.rangesIntegrated * 2).toBeLessThan(b.rangesIntegrated);
  });

  it('a late reading drops the ranges it changes: the restated window is integrated again, not reused', () => {
    const engine = new WindowEngine(TOPOLOGY, baseSettings);
    const fresh = new WindowEngine(TOPOLOGY, baseSettings, { reuseRanges: false });
    const feed = (reading: Reading, clockMs: number): [RecordOutcome, WindowResult[]] => {
      const outcome = engine.record(reading, clockMs);
      expect(fresh.record(reading, clockMs)).toBe(outcome);
      const out = engine.advance(clockMs);
      expect(out).toEqual(fresh.advance(clockMs));
      return [outcome, out];
    };
    const emitted: WindowResult[] = [];
    for (let s = 0; s <= 30; s++) for (const meter of ['m1', 'm2', 'm3']) emitted.push(...feed(r(meter, T0 + s * 1000, 500), T0 + s * 1000)[1]);
    const isNodeA = (w: WindowResult): w is NodeWindow => w.type === 'node' && w.node === 'a' && w.windowMs === 10_000 && w.start === T0 + 10_000;
    const first = emitted.find(isNodeA);
    expect(first?.revision).toBe(0);
    const before = engine.work();
    // Window [10 s, 20 s) was built (its range kept) and is still open: the reading is accepted late.
    const [outcome, restated] = feed(r('m1', T0 + 15_500, 2000), T0 + 30_000);
    const after = engine.work();
    expect(outcome).toBe('accepted_late');
    const again = restated.find(isNodeA);
    expect(again?.revision).toBe(1);
    expect(again!.loadWatts).toBeGreaterThan(first!.loadWatts);
    expect(after.rangesIntegrated - before.rangesIntegrated).toBeGreaterThanOrEqual(1);
    expect(after.rangesReused - before.rangesReused).toBe(0);
  });
});
