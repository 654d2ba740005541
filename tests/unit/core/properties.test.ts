import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, MeterWindow, NodeWindow, Reading, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, site, topo } from './fixtures.js';
import { referenceWindows, type RefWindow } from './reference.js';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const SITE = site('s1', [
  node('root', null, 3000, [], { level: 'grid' }),
  node('a', 'root', 1500, ['m1', 'm2']),
  node('b', 'root', 1500, ['m3']),
]);
const TOPOLOGY = topo(SITE);
const settings = baseSettings;

/** Final (highest revision) record per window key. */
function finals(results: WindowResult[]): Map<string, MeterWindow | NodeWindow> {
  const out = new Map<string, MeterWindow | NodeWindow>();
  for (const r of results) {
    if (r.type === 'site') continue;
    const key = r.type === 'meter' ? `meter|${r.meter}|${r.windowMs}|${r.start}` : `node|${r.node}|${r.windowMs}|${r.start}`;
    const prev = out.get(key);
    if (prev === undefined || r.revision > prev.revision) out.set(key, r);
  }
  return out;
}

/** Feeds readings in the given order on the replay clock, advancing after each one. */
function run(readings: Reading[], s: EngineSettings = settings): { results: WindowResult[]; outcomes: string[]; engine: WindowEngine } {
  const engine = new WindowEngine(TOPOLOGY, s, { emitMeters: true });
  const results: WindowResult[] = [];
  const outcomes: string[] = [];
  let clock = -Infinity;
  for (const r of readings) {
    clock = Math.max(clock, r.tsMs);
    outcomes.push(engine.record(r, clock));
    results.push(...engine.advance(clock));
  }
  results.push(...engine.drain());
  return { results, outcomes, engine };
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
}

function expectMatchesReference(results: WindowResult[], ref: Map<string, RefWindow>): void {
  const got = finals(results);
  expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
  for (const [key, want] of ref) {
    const g = got.get(key)!;
    const pairs: [string, number, number | undefined][] = [
      ['loadWatts', g.loadWatts, want.loadWatts],
      ['energyWh', g.energyWh, want.energyWh],
    ];
    if (g.type === 'meter') {
      pairs.push(['coverage', g.coverage, want.coverage], ['count', g.count, want.count]);
    } else {
      pairs.push(['peakWatts', g.peakWatts, want.peakWatts], ['minWatts', g.minWatts, want.minWatts], ['completeness', g.completeness, want.completeness]);
    }
    for (const [field, actual, expected] of pairs) {
      if (expected === undefined) continue;
      if (!close(actual, expected)) throw new Error(`${key}.${field}: engine ${actual}, reference ${expected}`);
    }
  }
}

/** Readings of three meters over two minutes: irregular gaps (some beyond maxHold), whole-ish watts. */
const streamArb = fc
  .array(
    fc.record({
      meter: fc.constantFrom('m1', 'm2', 'm3'),
      offsetMs: fc.integer({ min: 0, max: 120_000 }),
      watts: fc.integer({ min: 0, max: 1000 }),
    }),
    { minLength: 1, maxLength: 120 },
  )
  .map((xs) => {
    // One reading per (meter, ts): duplicates are exercised by their own property.
    const seen = new Set<string>();
    return xs
      .filter((x) => !seen.has(`${x.meter}@${x.offsetMs}`) && seen.add(`${x.meter}@${x.offsetMs}`) !== undefined)
      .map((x): Reading => ({ site: 's1', meter: x.meter, tsMs: T0 + x.offsetMs, watts: x.watts }));
  });

/** Arrival order: sorted by ts + jitter, so each reading arrives at most `spreadMs` behind the newest. */
function shuffleWithin(readings: Reading[], jitters: number[], spreadMs: number): Reading[] {
  return readings
    .map((r, i) => ({ r, key: r.tsMs + ((jitters[i % jitters.length] ?? 0) % (spreadMs + 1)), i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.r);
}

const inOrder = (rs: Reading[]): Reading[] => [...rs].sort((a, b) => a.tsMs - b.tsMs);

/**
 * Counter streams: m1 and m3 on watts, m2 a counter-only register that climbs in quarter
 * Wh steps, sometimes resets to a few Wh, and sometimes falls silent longer than the gap limit.
 */
const counterStreamArb = fc
  .tuple(
    streamArb.map((rs) => rs.filter((x) => x.meter !== 'm2')),
    fc.array(
      fc.record({ offsetMs: fc.integer({ min: 0, max: 120_000 }), quarters: fc.integer({ min: 0, max: 40 }), reset: fc.integer({ min: 0, max: 19 }) }),
      { minLength: 1, maxLength: 60 },
    ),
  )
  .map(([watts, steps]) => {
    const seen = new Set<number>();
    let wattHours = 1000;
    const counter = steps
      .filter((x) => !seen.has(x.offsetMs) && seen.add(x.offsetMs) !== undefined)
      .sort((a, b) => a.offsetMs - b.offsetMs)
      .map((x): Reading => {
        wattHours = x.reset === 0 ? x.quarters / 8 : wattHours + x.quarters / 4;
        return { site: 's1', meter: 'm2', tsMs: T0 + x.offsetMs, wattHours };
      });
    return [...watts, ...counter];
  });

/**
 * A gap limit (8 s) below allowedLateness + maxOutOfOrder: every counter interval closed by a
 * reading that arrives within maxOutOfOrder lies in windows still open, so nothing is lost.
 */
const counterSettings: EngineSettings = { ...settings, maxCounterGapMs: 8_000 };

describe('core against a brute-force reference', () => {
  it('in-order streams match the reference definitions', () => {
    fc.assert(
      fc.property(streamArb, (readings) => {
        const { results } = run(inOrder(readings));
        expectMatchesReference(results, referenceWindows(SITE, readings, settings));
      }),
      { numRuns: 150 },
    );
  });

  it('results do not depend on arrival order within maxOutOfOrder', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (readings, jitters) => {
        const shuffled = shuffleWithin(readings, jitters, settings.maxOutOfOrderMs);
        const a = run(shuffled);
        // No reading within maxOutOfOrder is ever late or restates a window.
        expect(a.outcomes.filter((o) => o !== 'accepted' && o !== 'duplicate')).toEqual([]);
        expect(a.results.every((r) => r.revision === 0)).toBe(true);
        expectMatchesReference(a.results, referenceWindows(SITE, readings, settings));
      }),
      { numRuns: 150 },
    );
  });

  it('duplicates change nothing (the first wins) and are counted', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), (readings, picks) => {
        const sorted = inOrder(readings);
        const withDupes: Reading[] = [];
        sorted.forEach((r, i) => {
          withDupes.push(r);
          if (picks.includes(i)) withDupes.push({ ...r, watts: (r.watts ?? 0) + 1 });
        });
        const base = run(sorted);
        const dup = run(withDupes);
        const extra = withDupes.length - sorted.length;
        expect(dup.outcomes.filter((o) => o === 'duplicate').length - base.outcomes.filter((o) => o === 'duplicate').length).toBe(extra);
        expect(finals(dup.results)).toEqual(finals(base.results));
      }),
      { numRuns: 100 },
    );
  });

  it('late readings within allowed lateness give the same final numbers as on-time ones', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (readings, jitters) => {
        const spread = settings.maxOutOfOrderMs + settings.allowedLatenessMs;
        const late = run(shuffleWithin(readings, jitters, spread));
        expect(late.outcomes.filter((o) => o === 'late' || o === 'future')).toEqual([]);
        const onTime = run(inOrder(readings));
        const a = finals(late.results);
        const b = finals(onTime.results);
        expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
        for (const [key, rec] of b) {
          const other = a.get(key)!;
          expect(close(other.energyWh, rec.energyWh), `${key} energy`).toBe(true);
          expect(close(other.loadWatts, rec.loadWatts), `${key} load`).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('readings beyond allowed lateness change nothing and are counted per meter', () => {
    fc.assert(
      fc.property(streamArb, fc.integer({ min: 0, max: 1000 }), fc.constantFrom('m1', 'm2', 'm3'), (readings, watts, meter) => {
        const sorted = inOrder(readings);
        const lastTs = sorted[sorted.length - 1]!.tsMs;
        // Push the watermark well ahead with a reading 5 minutes later, then send one far behind it.
        const pusher: Reading = { site: 's1', meter: 'm3', tsMs: lastTs + 300_000, watts: 1 };
        const tooLate: Reading = { site: 's1', meter, tsMs: lastTs + 300_000 - settings.maxOutOfOrderMs - settings.allowedLatenessMs - 70_000, watts };
        const base = run([...sorted, pusher]);
        const withLate = run([...sorted, pusher, tooLate]);
        expect(withLate.outcomes[withLate.outcomes.length - 1]).toBe('late');
        expect(withLate.engine.stats().lateBySiteMeter['s1']![meter]).toBe(1);
        expect(finals(withLate.results)).toEqual(finals(base.results));
      }),
      { numRuns: 100 },
    );
  });

  it('energy of a fully covered minute equals the sum of its six 10-second windows', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 240, maxLength: 240 }), (values) => {
        // Readings every 500 ms for two minutes on every meter: full coverage.
        const readings: Reading[] = values.map((w, i) => ({ site: 's1', meter: ['m1', 'm2', 'm3'][i % 3]!, tsMs: T0 + Math.floor(i / 3) * 1500 + (i % 3) * 500, watts: w }));
        const { results } = run(readings);
        const f = [...finals(results).values()];
        const minutes = f.filter((r) => r.windowMs === 60_000 && r.type === 'node' && r.start === T0);
        expect(minutes.length).toBe(3);
        for (const m of minutes as NodeWindow[]) {
          const parts = f.filter((r): r is NodeWindow => r.type === 'node' && r.node === m.node && r.windowMs === 10_000 && r.start >= m.start && r.end <= m.end);
          expect(parts.length).toBe(6);
          expect(close(parts.reduce((a, p) => a + p.energyWh, 0), m.energyWh)).toBe(true);
          expect(Math.max(...parts.map((p) => p.peakWatts))).toBeCloseTo(m.peakWatts, 6);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('a snapshot round trip at any point mid-stream changes no result', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), fc.nat(), (readings, jitters, cut) => {
        const arrival = shuffleWithin(readings, jitters, settings.maxOutOfOrderMs + settings.allowedLatenessMs);
        const uninterrupted = run(arrival);
        const k = cut % (arrival.length + 1);
        let engine = new WindowEngine(TOPOLOGY, settings, { emitMeters: true });
        const results: WindowResult[] = [];
        let clock = -Infinity;
        arrival.forEach((r, i) => {
          if (i === k) engine = WindowEngine.restore(TOPOLOGY, settings, engine.snapshot(), { emitMeters: true });
          clock = Math.max(clock, r.tsMs);
          engine.record(r, clock);
          results.push(...engine.advance(clock));
        });
        results.push(...engine.drain());
        expect(results).toEqual(uninterrupted.results);
      }),
      { numRuns: 150 },
    );
  });
});

describe('energy counters against the reference', () => {
  it('in-order counter streams (resets, gaps beyond the limit) match the reference definitions', () => {
    fc.assert(
      fc.property(counterStreamArb, (readings) => {
        const { results, outcomes } = run(inOrder(readings), counterSettings);
        expect(outcomes.filter((o) => o !== 'accepted' && o !== 'accepted_late')).toEqual([]);
        expectMatchesReference(results, referenceWindows(SITE, readings, counterSettings));
      }),
      { numRuns: 150 },
    );
  });

  it('counter streams arriving within maxOutOfOrder match the reference definitions', () => {
    fc.assert(
      fc.property(counterStreamArb, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (readings, jitters) => {
        const { results, outcomes, engine } = run(shuffleWithin(readings, jitters, settings.maxOutOfOrderMs), counterSettings);
        expect(outcomes.filter((o) => o !== 'accepted' && o !== 'accepted_late')).toEqual([]);
        expect(engine.stats().lateBySiteMeter).toEqual({ s1: {} });
        expectMatchesReference(results, referenceWindows(SITE, readings, counterSettings));
      }),
      { numRuns: 150 },
    );
  });

  it('a snapshot round trip at any point of a counter stream changes no result', () => {
    fc.assert(
      fc.property(counterStreamArb, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), fc.nat(), (readings, jitters, cut) => {
        const arrival = shuffleWithin(readings, jitters, settings.maxOutOfOrderMs + settings.allowedLatenessMs);
        const uninterrupted = run(arrival, counterSettings);
        const k = cut % (arrival.length + 1);
        let engine = new WindowEngine(TOPOLOGY, counterSettings, { emitMeters: true });
        const results: WindowResult[] = [];
        let clock = -Infinity;
        arrival.forEach((r, i) => {
          if (i === k) engine = WindowEngine.restore(TOPOLOGY, counterSettings, engine.snapshot(), { emitMeters: true });
          clock = Math.max(clock, r.tsMs);
          engine.record(r, clock);
          results.push(...engine.advance(clock));
        });
        results.push(...engine.drain());
        expect(results).toEqual(uninterrupted.results);
        expect(engine.stats()).toEqual(uninterrupted.engine.stats());
      }),
      { numRuns: 150 },
    );
  });
});

/**
 * A gap-free, reset-free register read at every `boundaryMs` (and at random times between):
 * the energies of the final windows between any two boundaries add up to the register
 * difference across them, for every window size.
 */
function registerSumProperty(s: EngineSettings, boundaryMs: number, boundaries: number): fc.IPropertyWithHooks<[number[], number[]]> {
  return fc.property(
    fc.array(fc.integer({ min: 0, max: 400 }), { minLength: boundaries, maxLength: boundaries }),
    fc.array(fc.integer({ min: 1, max: boundaryMs - 1 }), { maxLength: boundaries }),
    (quarters, between) => {
      const times = new Set<number>();
      for (let k = 0; k <= boundaries; k++) times.add(T0 + k * boundaryMs);
      between.forEach((offsetMs, k) => times.add(T0 + (k % boundaries) * boundaryMs + offsetMs));
      const sorted = [...times].sort((a, b) => a - b);
      let wattHours = 5000;
      const register = new Map<number, number>();
      const readings = sorted.map((tsMs, i): Reading => {
        if (i > 0) wattHours += quarters[i % quarters.length]! / 4;
        register.set(tsMs, wattHours);
        return { site: 's1', meter: 'm2', tsMs, wattHours };
      });
      const { results, engine } = run(readings, s);
      expect(engine.stats().lateBySiteMeter).toEqual({ s1: {} });
      const windows = [...finals(results).values()].filter((w): w is MeterWindow => w.type === 'meter');
      for (const windowMs of s.windowsMs) {
        const step = Math.max(windowMs, boundaryMs);
        for (let a = T0; a < T0 + boundaries * boundaryMs; a += step) {
          for (let b = a + step; b <= T0 + boundaries * boundaryMs; b += step) {
            const sumWh = windows.filter((w) => w.windowMs === windowMs && w.start >= a && w.end <= b).reduce((acc, w) => acc + w.energyWh, 0);
            const diffWh = register.get(b)! - register.get(a)!;
            if (Math.abs(sumWh - diffWh) > 1e-5 * Math.max(1, diffWh)) throw new Error(`${windowMs} ms windows over [${a - T0}, ${b - T0}): ${sumWh} Wh, register ${diffWh} Wh`);
          }
        }
      }
    },
  );
}

describe('a gap-free, reset-free counter: window energies add up to the register difference', () => {
  it('10 s windows and 1 min windows, readings at least every 10 s', () => {
    fc.assert(registerSumProperty({ ...settings, maxCounterGapMs: 10_000 }, 10_000, 18), { numRuns: 100 });
  });

  it('1 min and 15 min windows on a 1-minute register (default lateness and gap limit)', () => {
    fc.assert(registerSumProperty({ ...settings, windowsMs: [60_000, 900_000], maxCounterGapMs: 900_000 }, 60_000, 45), { numRuns: 30 });
  });

  it('15 min and 1 h windows on a 15-minute register', () => {
    fc.assert(registerSumProperty({ ...settings, windowsMs: [900_000, 3_600_000], maxCounterGapMs: 900_000 }, 900_000, 12), { numRuns: 30 });
  });
});
