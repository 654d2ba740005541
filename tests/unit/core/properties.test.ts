import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { MeterWindow, NodeWindow, Reading, WindowResult } from '../../../src/domain/index.js';
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
function run(readings: Reading[]): { results: WindowResult[]; outcomes: string[]; engine: WindowEngine } {
  const engine = new WindowEngine(TOPOLOGY, settings, { emitMeters: true });
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
