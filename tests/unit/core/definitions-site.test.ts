import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, Reading, SiteWindow, Topology, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

// Per-site definitions (DESIGN.md §5): PUE, contract headroom, demand, billing-period peak.
// Results are rounded to 1e-6, so non-integral values are compared to 5 decimals.

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const MIN = 60_000;
const S10: EngineSettings = { ...baseSettings, windowsMs: [10_000] };

/** Readings sorted by ts, fed on the replay clock, then drained. */
function run(topology: Topology, readings: Reading[], settings: EngineSettings): WindowResult[] {
  const engine = new WindowEngine(topology, settings, { emitMeters: true });
  const out: WindowResult[] = [];
  let clock = -Infinity;
  for (const reading of [...readings].sort((a, b) => a.tsMs - b.tsMs)) {
    clock = Math.max(clock, reading.tsMs);
    expect(engine.record(reading, clock)).toBe('accepted');
    out.push(...engine.advance(clock));
  }
  out.push(...engine.drain());
  return out;
}

function sites(results: WindowResult[], windowMs: number): SiteWindow[] {
  return results.filter((x): x is SiteWindow => x.type === 'site' && x.windowMs === windowMs).sort((a, b) => a.start - b.start);
}

/** One reading per `stepMs` at `watts` over [fromMs, toMs) (absolute times). */
function every(meter: string, fromMs: number, toMs: number, stepMs: number, watts: number): Reading[] {
  const out: Reading[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) out.push(r(meter, t, watts));
  return out;
}

describe('PUE and contract headroom', () => {
  // facility (role facility, meter mF = 1500 W) feeds it (role it, mI = 1000 W) and cooling (mC = 400 W).
  const topology = topo(
    site(
      's1',
      [
        node('facility', null, 4000, ['mF'], { level: 'grid', role: 'facility' }),
        node('it', 'facility', 2000, ['mI'], { level: 'hall', role: 'it' }),
        node('cooling', 'facility', 1000, ['mC'], { level: 'cooling' }),
      ],
      { contractWatts: 2000 },
    ),
  );
  const readings = [...every('mF', T0, T0 + 10_000, 1000, 1500), ...every('mI', T0, T0 + 10_000, 1000, 1000), ...every('mC', T0, T0 + 10_000, 1000, 400)];
  const first = sites(run(topology, readings, S10), 10_000)[0]!;

  it('PUE is facility energy over IT energy', () => {
    // 1500 W × 10 s / (1000 W × 10 s) = 1.5
    expect(first.pue).toBe(1.5);
    expect(first.facilityWatts).toBe(1500);
    expect(first.itWatts).toBe(1000);
  });

  it('contract headroom is contract − facility load', () => {
    expect(first.contractWatts).toBe(2000);
    expect(first.contractHeadroomWatts).toBe(500); // 2000 − 1500
  });

  it('PUE uses energies: a facility meter covering half the window halves its share', () => {
    // mF = 1500 W only over [0, 5 s) (one reading), mI = 1000 W over the whole window.
    // facility energy 1500 × 5 = 7500 W·s; IT energy 1000 × 10 = 10000 W·s → PUE 0.75,
    // while facility load is 1500 W (mean over covered time) → contract headroom 500.
    const res = sites(run(topology, [r('mF', T0, 1500), ...every('mI', T0, T0 + 10_000, 1000, 1000)], S10), 10_000)[0]!;
    expect(res.pue).toBe(0.75);
    expect(res.facilityWatts).toBe(1500);
    expect(res.contractHeadroomWatts).toBe(500);
  });

  it('no contract: contract fields are null; no facility: PUE is null', () => {
    const noContract = topo(site('s1', [node('it', null, 2000, ['mI'], { role: 'it' })]));
    const res = sites(run(noContract, every('mI', T0, T0 + 10_000, 1000, 1000), S10), 10_000)[0]!;
    expect([res.contractWatts, res.contractHeadroomWatts, res.pue, res.facilityWatts]).toEqual([null, null, null, null]);
    expect(res.itWatts).toBe(1000);
  });

  it('several it nodes add up', () => {
    // facility 3000 W; it nodes 1000 W and 1000 W → PUE 3000 / 2000 = 1.5
    const two = topo(
      site('s1', [
        node('facility', null, 4000, ['mF'], { role: 'facility' }),
        node('it1', 'facility', 2000, ['m1'], { role: 'it' }),
        node('it2', 'facility', 2000, ['m2'], { role: 'it' }),
      ]),
    );
    const rs = [...every('mF', T0, T0 + 10_000, 1000, 3000), ...every('m1', T0, T0 + 10_000, 1000, 1000), ...every('m2', T0, T0 + 10_000, 1000, 1000)];
    const res = sites(run(two, rs, S10), 10_000)[0]!;
    expect(res.pue).toBe(1.5);
    expect(res.itWatts).toBe(2000);
  });
});

describe('demand and billing-period peak (15-minute interval)', () => {
  // Windows of 5 and 15 minutes; demand interval 15 minutes; one facility meter, a reading a
  // minute (maxHold 2 minutes so readings chain). Facility watts per 5-minute slot over one hour:
  //   interval 0 (00:00–00:15): 900, 1200, 900    → average 1000
  //   interval 1 (00:15–00:30): 3000, 3000, 3000  → 3000
  //   interval 2 (00:30–00:45): 2000, 2500, 1500  → 2000
  //   interval 3 (00:45–01:00): 1500, 1500, 1500  → 1500
  const settings: EngineSettings = { ...baseSettings, windowsMs: [300_000, 900_000], maxHoldMs: 2 * MIN, allowedLatenessMs: MIN, maxOutOfOrderMs: 0 };
  const topology = topo(site('s1', [node('facility', null, 10_000, ['mF'], { role: 'facility', level: 'grid' })], { contractWatts: 5000 }));
  const slots = [900, 1200, 900, 3000, 3000, 3000, 2000, 2500, 1500, 1500, 1500, 1500];
  const readings = slots.flatMap((w, i) => every('mF', T0 + i * 5 * MIN, T0 + (i + 1) * 5 * MIN, MIN, w));
  const results = run(topology, readings, settings);
  // The last reading (00:59) holds on to 01:01: a trailing partial window per size, left out below.
  const quarter = sites(results, 900_000).slice(0, 4);
  const fives = sites(results, 300_000).slice(0, 12);

  it('15-minute windows: demand is the window average, period peak the running maximum', () => {
    expect(quarter.map((s) => s.demandWatts)).toEqual([1000, 3000, 2000, 1500]);
    expect(quarter.map((s) => s.periodPeakWatts)).toEqual([1000, 3000, 3000, 3000]);
    expect(quarter.map((s) => s.demandIntervalStart! - T0)).toEqual([0, 15 * MIN, 30 * MIN, 45 * MIN]);
    expect(quarter.every((s) => s.periodStart === T0)).toBe(true);
  });

  it('5-minute windows: demand is the average of the interval to date', () => {
    // interval 0: 900; (900 + 1200) / 2 = 1050; (900 + 1200 + 900) / 3 = 1000
    // interval 2: 2000; (2000 + 2500) / 2 = 2250; 6000 / 3 = 2000
    expect(fives.map((s) => s.demandWatts)).toEqual([900, 1050, 1000, 3000, 3000, 3000, 2000, 2250, 2000, 1500, 1500, 1500]);
    expect(fives.map((s) => (s.demandIntervalStart! - T0) / MIN)).toEqual([0, 0, 0, 15, 15, 15, 30, 30, 30, 45, 45, 45]);
  });

  it('5-minute windows: period peak counts complete intervals only', () => {
    // null until interval 0 completes at 00:15 (its third window), then 1000, then 3000 from 00:30.
    expect(fives.map((s) => s.periodPeakWatts)).toEqual([null, null, 1000, 1000, 1000, 3000, 3000, 3000, 3000, 3000, 3000, 3000]);
  });

  it('contract headroom follows each window', () => {
    // 5000 − facility load of each quarter (fully covered, so its mean: 1000, 3000, 2000, 1500)
    expect(quarter.map((s) => s.contractHeadroomWatts)).toEqual([4000, 2000, 3000, 3500]);
  });

  it('the period peak restarts with the UTC calendar month', () => {
    // 2026-01-31T23:30Z .. 2026-02-01T00:30Z: quarters 3000, 1000 (January), 500, 800 (February).
    const FEB = Date.UTC(2026, 1, 1);
    const start = FEB - 30 * MIN;
    const values = [3000, 1000, 500, 800];
    const rs = values.flatMap((w, i) => every('mF', start + i * 15 * MIN, start + (i + 1) * 15 * MIN, MIN, w));
    const q = sites(run(topology, rs, settings), 900_000).slice(0, 4);
    expect(q.map((s) => s.demandWatts)).toEqual([3000, 1000, 500, 800]);
    expect(q.map((s) => s.periodPeakWatts)).toEqual([3000, 3000, 500, 800]);
    expect(q.map((s) => s.periodStart)).toEqual([T0, T0, FEB, FEB]);
  });
});
