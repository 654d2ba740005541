import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, MeterWindow, NodeWindow, Reading, Topology, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

// Per-node definitions (DESIGN.md §5) on small hand-computed cases.
// fixtures.node() sets derate 0.8, so usable = 0.8 × rating.
// Results are rounded to 1e-6, so non-integral values are compared to 5 decimals.

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const S10: EngineSettings = { ...baseSettings, windowsMs: [10_000] }; // maxHold 5 s, trendWindows 6, threshold 0.9

/** One reading per second at `watts` over [fromS, toS) seconds after T0: full coverage of that span. */
function steady(meter: string, fromS: number, toS: number, watts: number): Reading[] {
  const out: Reading[] = [];
  for (let s = fromS; s < toS; s++) out.push(r(meter, T0 + s * 1000, watts));
  return out;
}

/** Readings sorted by ts, fed on the replay clock, then drained. */
function run(topology: Topology, readings: Reading[], settings: EngineSettings = S10): WindowResult[] {
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

function nodeAt(results: WindowResult[], id: string, startMs = T0): NodeWindow {
  const found = results.filter((x): x is NodeWindow => x.type === 'node' && x.node === id && x.start === startMs);
  expect(found, `node ${id} at ${startMs - T0}`).toHaveLength(1);
  return found[0]!;
}

function nodeSeries(results: WindowResult[], id: string): NodeWindow[] {
  return results.filter((x): x is NodeWindow => x.type === 'node' && x.node === id).sort((a, b) => a.start - b.start);
}

describe('node load, usable, headroom, utilization', () => {
  // a: rating 1000 (usable 800), meters m1 = 300 W, m2 = 150 W for the whole window.
  const results = run(topo(site('s1', [node('a', null, 1000, ['m1', 'm2'])])), [...steady('m1', 0, 10, 300), ...steady('m2', 0, 10, 150)]);
  const a = nodeAt(results, 'a');

  it('sums meter loads and derives the capacity figures', () => {
    expect(a.loadWatts).toBe(450); // 300 + 150
    expect(a.usableWatts).toBe(800); // 1000 × 0.8
    expect(a.headroomWatts).toBe(350); // 800 − 450
    expect(a.utilization).toBe(0.45); // 450 / 1000 (rating, not usable)
    expect(a.energyWh).toBeCloseTo(1.25, 5); // 450 W × 10 s = 4500 W·s = 1.25 Wh
    expect(a.completeness).toBe(1);
    expect(a.headroomCertain).toBe(true);
    expect(a.failoverHeadroomWatts).toBeNull();
    expect(a.childrenLoadWatts).toBeNull();
    expect(a.unmeteredWatts).toBeNull();
    expect([a.peakWatts, a.minWatts]).toEqual([450, 450]);
  });

  it('node load is the sum of meter loads over their own covered time, not of energies', () => {
    // m1 = 300 W for [0,10 s); m2 = 100 W only for [0,5 s) (one reading, maxHold 5 s).
    // m1 load 300; m2 load 100 (mean over its 5 s covered); node load = 400 W,
    // although the node energy is 300 × 10 + 100 × 5 = 3500 W·s (= 0.972222… Wh).
    const res = run(topo(site('s1', [node('a', null, 1000, ['m1', 'm2'])])), [...steady('m1', 0, 10, 300), r('m2', T0, 100)]);
    const n = nodeAt(res, 'a');
    expect(n.loadWatts).toBe(400);
    expect(n.energyWh).toBeCloseTo(3500 / 3600, 5);
    expect(n.completeness).toBe(1); // both meters have coverage > 0
  });
});

describe('redundant pair A/B', () => {
  // A: rating 1000 (usable 800), mA = 300 W; B: rating 500 (usable 400), mB = 200 W.
  const topology = topo(
    site('s1', [
      node('A', null, 1000, ['mA'], { redundantWith: 'B', level: 'ups' }),
      node('B', null, 500, ['mB'], { redundantWith: 'A', level: 'ups' }),
    ]),
  );
  const results = run(topology, [...steady('mA', 0, 10, 300), ...steady('mB', 0, 10, 200)]);

  it('failover headroom of A is usable(A) − (load A + load B)', () => {
    // 800 − (300 + 200) = 300
    expect(nodeAt(results, 'A').failoverHeadroomWatts).toBe(300);
    expect(nodeAt(results, 'A').headroomWatts).toBe(500); // 800 − 300
  });

  it('failover headroom of B is usable(B) − (load A + load B), negative when B cannot carry both', () => {
    // 400 − 500 = −100
    expect(nodeAt(results, 'B').failoverHeadroomWatts).toBe(-100);
    expect(nodeAt(results, 'B').headroomWatts).toBe(200); // 400 − 200
    expect(nodeAt(results, 'B').utilization).toBe(0.4); // 200 / 500
  });

  it('a silent partner adds no load', () => {
    // Only mA reports: failover(A) = 800 − (300 + 0) = 500; B has no coverage and is not emitted.
    const res = run(topology, steady('mA', 0, 10, 300));
    expect(nodeAt(res, 'A').failoverHeadroomWatts).toBe(500);
    expect(nodeSeries(res, 'B')).toEqual([]);
  });
});

describe('N+1 group', () => {
  // P (redundancy n+1, rating 3000 → usable 2400) has children:
  //   c1 rating 1000 (usable 800)  load 300
  //   c2 rating 1000 (usable 800)  load 400
  //   c3 rating 1500 (usable 1200) load 500
  const topology = topo(
    site('s1', [
      node('P', null, 3000, [], { redundancy: 'n+1', level: 'ups-group' }),
      node('c1', 'P', 1000, ['m1'], { level: 'ups' }),
      node('c2', 'P', 1000, ['m2'], { level: 'ups' }),
      node('c3', 'P', 1500, ['m3'], { level: 'ups' }),
    ]),
  );
  const results = run(topology, [...steady('m1', 0, 10, 300), ...steady('m2', 0, 10, 400), ...steady('m3', 0, 10, 500)]);

  it('failover = usable without the largest member − group load', () => {
    // Σ usable = 800 + 800 + 1200 = 2800; minus largest 1200 = 1600; minus load 1200 = 400
    const p = nodeAt(results, 'P');
    expect(p.failoverHeadroomWatts).toBe(400);
    expect(p.loadWatts).toBe(1200); // P has no meters: union of children's
    expect(p.headroomWatts).toBe(1200); // 2400 − 1200
    expect(p.completeness).toBe(1);
  });

  it('members themselves have no failover figure', () => {
    for (const c of ['c1', 'c2', 'c3']) expect(nodeAt(results, c).failoverHeadroomWatts).toBeNull();
  });

  it('the group failover counts usable of silent members but not their load', () => {
    // m3 silent: Σ usable still 2800 − 1200 = 1600; load 300 + 400 = 700 → 900
    const res = run(topology, [...steady('m1', 0, 10, 300), ...steady('m2', 0, 10, 400)]);
    const p = nodeAt(res, 'P');
    expect(p.failoverHeadroomWatts).toBe(900);
    expect(p.completeness).toBeCloseTo(2 / 3, 5);
    expect(p.headroomCertain).toBe(false);
  });
});

describe('peak and min over 1-second buckets', () => {
  // Node a, meters m1 and m2, both 100 W at baseline, readings every second.
  // m1: 500 W from 2.5 s to 3.5 s; m2: 400 W from 5 s to 6 s.
  //   bucket means: m1 second 2 = (100 × 0.5 + 500 × 0.5) = 300, second 3 = (500 × 0.5 + 100 × 0.5) = 300
  //                 m2 second 5 = 400
  //   node sums: s2 = 300 + 100 = 400, s3 = 400, s5 = 100 + 400 = 500, others 200
  // peak = 500, min = 200; the sum of the meters' maxima would be 500 + 400 = 900.
  const m1: Reading[] = [...steady('m1', 0, 3, 100), r('m1', T0 + 2_500, 500), r('m1', T0 + 3_500, 100), ...steady('m1', 4, 10, 100)];
  const m2: Reading[] = [...steady('m2', 0, 5, 100), r('m2', T0 + 5_000, 400), ...steady('m2', 6, 10, 100)];
  const results = run(topo(site('s1', [node('a', null, 2000, ['m1', 'm2'])])), [...m1, ...m2]);
  const a = nodeAt(results, 'a');
  const meter = (id: string): MeterWindow => results.find((x): x is MeterWindow => x.type === 'meter' && x.meter === id)!;

  it('peak is the largest bucket sum, below the sum of per-meter maxima', () => {
    expect(meter('m1').maxWatts).toBe(500);
    expect(meter('m2').maxWatts).toBe(400);
    expect(a.peakWatts).toBe(500);
    expect(a.peakWatts).toBeLessThan(meter('m1').maxWatts! + meter('m2').maxWatts!);
  });

  it('min is the smallest bucket sum', () => {
    expect(a.minWatts).toBe(200);
  });

  it('load is the sum of the time-weighted means', () => {
    // m1: (100 × 9 + 500 × 1) / 10 = 140; m2: (100 × 9 + 400 × 1) / 10 = 130 → 270
    expect(meter('m1').loadWatts).toBe(140);
    expect(meter('m2').loadWatts).toBe(130);
    expect(a.loadWatts).toBe(270);
  });

  it('uncovered buckets are skipped and a partly covered bucket uses its covered mean', () => {
    // One reading of 600 W at 0.5 s: covers [0.5 s, 5.5 s). Buckets 0..5 all have coverage,
    // each with mean 600 (bucket 0 and 5 are half covered); 6..9 are skipped, so min is 600, not 0.
    const res = run(topo(site('s1', [node('a', null, 2000, ['m1'])])), [r('m1', T0 + 500, 600)]);
    const n = nodeAt(res, 'a');
    expect([n.peakWatts, n.minWatts, n.loadWatts]).toEqual([600, 600, 600]);
  });
});

describe('completeness and headroomCertain', () => {
  it('a silent meter lowers completeness and makes headroom uncertain', () => {
    // a has m1 (reports 300 W) and m2 (silent): completeness 1/2 = 0.5 < 0.9.
    const res = run(topo(site('s1', [node('a', null, 1000, ['m1', 'm2'])])), steady('m1', 0, 10, 300));
    const a = nodeAt(res, 'a');
    expect(a.completeness).toBe(0.5);
    expect(a.headroomCertain).toBe(false);
    expect(a.loadWatts).toBe(300); // only the reporting meter
    expect(a.headroomWatts).toBe(500); // 800 − 300: reported, but flagged as uncertain
    // The silent meter has no meter record.
    expect(res.some((x) => x.type === 'meter' && x.meter === 'm2')).toBe(false);
  });

  it('completeness exactly at the threshold is certain (9 of 10 meters, threshold 0.9)', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const readings = ids.slice(0, 9).flatMap((m) => steady(m, 0, 10, 10));
    const a = nodeAt(run(topo(site('s1', [node('a', null, 1000, ids)])), readings), 'a');
    expect(a.completeness).toBe(0.9);
    expect(a.headroomCertain).toBe(true);
    expect(a.loadWatts).toBe(90); // 9 × 10 W
  });

  it('a parent without meters expects its whole subtree; a node with no coverage is not emitted', () => {
    // root ← x (m1, m2), y (m3). Only m1 reports: x 1/2, root 1/3, y not emitted.
    const topology = topo(
      site('s1', [node('root', null, 3000, [], { level: 'hall' }), node('x', 'root', 1000, ['m1', 'm2']), node('y', 'root', 1000, ['m3'])]),
    );
    const res = run(topology, steady('m1', 0, 10, 100));
    expect(nodeAt(res, 'x').completeness).toBe(0.5);
    expect(nodeAt(res, 'root').completeness).toBeCloseTo(1 / 3, 5);
    expect(nodeAt(res, 'root').headroomCertain).toBe(false);
    expect(nodeSeries(res, 'y')).toEqual([]);
  });

  it('a meter with only a sliver of coverage counts as reported', () => {
    // m2 reads once at 9.9 s: 100 ms covered (> 0) → completeness 1.
    const res = run(topo(site('s1', [node('a', null, 1000, ['m1', 'm2'])])), [...steady('m1', 0, 10, 300), r('m2', T0 + 9_900, 50)]);
    expect(nodeAt(res, 'a').completeness).toBe(1);
    expect(nodeAt(res, 'a').loadWatts).toBe(350); // 300 + 50 (m2's mean over its 100 ms)
  });
});

describe('unmetered losses', () => {
  // ups (own meter mU = 1000 W) feeds pdu1 (m1 = 400 W) and pdu2 (m2 = 500 W).
  const topology = topo(
    site('s1', [
      node('ups', null, 5000, ['mU'], { level: 'ups' }),
      node('pdu1', 'ups', 1000, ['m1']),
      node('pdu2', 'ups', 1000, ['m2']),
      node('hall', null, 5000, [], { level: 'hall' }),
      node('pdu3', 'hall', 1000, ['m3']),
    ]),
  );
  const results = run(topology, [...steady('mU', 0, 10, 1000), ...steady('m1', 0, 10, 400), ...steady('m2', 0, 10, 500), ...steady('m3', 0, 10, 100)]);

  it('a node with own meters and children reports children load and the difference', () => {
    const ups = nodeAt(results, 'ups');
    expect(ups.loadWatts).toBe(1000); // own meter, not the children's sum
    expect(ups.childrenLoadWatts).toBe(900); // 400 + 500
    expect(ups.unmeteredWatts).toBe(100); // 1000 − 900
  });

  it('leaves and meterless parents have neither figure', () => {
    for (const id of ['pdu1', 'pdu2', 'hall', 'pdu3']) {
      expect(nodeAt(results, id).childrenLoadWatts).toBeNull();
      expect(nodeAt(results, id).unmeteredWatts).toBeNull();
    }
    expect(nodeAt(results, 'hall').loadWatts).toBe(100);
  });
});

describe('ramp', () => {
  const topology = topo(site('s1', [node('a', null, 1000, ['m1'])]));

  it('is the load change from the previous adjacent window per second', () => {
    // 100 W in [0,10 s), 200 W in [10,20 s), 150 W in [20,30 s)
    const res = run(topology, [...steady('m1', 0, 10, 100), ...steady('m1', 10, 20, 200), ...steady('m1', 20, 30, 150)]);
    // null (no previous), (200 − 100) / 10 = 10, (150 − 200) / 10 = −5;
    // then [30,35 s) held at 150 W by the last reading (maxHold): (150 − 150) / 10 = 0
    expect(nodeSeries(res, 'a').map((n) => n.rampWattsPerSecond)).toEqual([null, 10, -5, 0]);
  });

  it('is null after a window without data', () => {
    // 100 W in [0,10 s), held on to 14 s by the 9 s reading (maxHold 5 s); nothing in [20,30 s);
    // 300 W in [30,40 s), held on to 44 s.
    const res = run(topology, [...steady('m1', 0, 10, 100), ...steady('m1', 30, 40, 300)]);
    const series = nodeSeries(res, 'a');
    expect(series.map((n) => n.start - T0)).toEqual([0, 10_000, 30_000, 40_000]);
    // [10,20): (100 − 100) / 10 = 0; [30,40): previous adjacent window [20,30) has no data → null
    expect(series.map((n) => n.rampWattsPerSecond)).toEqual([null, 0, null, 0]);
  });

  it('is computed per window size', () => {
    // Windows 10 s and 60 s; 60 W over the first minute, 120 W over the second.
    const res = run(topology, [...steady('m1', 0, 60, 60), ...steady('m1', 60, 120, 120)], { ...S10, windowsMs: [10_000, 60_000] });
    const minutes = nodeSeries(res, 'a').filter((n) => n.windowMs === 60_000);
    // (120 − 60) / 60 s = 1 W/s (the third minute is the 5 s tail of the last hold)
    expect(minutes.map((n) => n.rampWattsPerSecond).slice(0, 2)).toEqual([null, 1]);
  });
});

describe('time to breach', () => {
  // a: rating 1000, usable 800. Windows of 10 s, a trend horizon of 60 s (6 windows, as
  // trendWindows): the line through the window loads (each at its window's middle) is
  // projected from the end of the newest window, with the 95th percentile of the loads above it.
  const topology = topo(site('s1', [node('a', null, 1000, ['m1'])]));
  const loads = (values: number[]): Reading[] => values.flatMap((w, i) => steady('m1', i * 10, i * 10 + 10, w));
  const H60: EngineSettings = { ...S10, trendHorizonMs: 60_000 };

  it('on a clean ramp: (usable − the line at the window end) / slope, once the horizon is filled', () => {
    // Loads 100, 150, …, 400: 5 W/s, exact. Window 5 (350 W at its middle): the line is at
    // 375 W at its end → (800 − 375) / 5 = 85 s; window 6: (800 − 425) / 5 = 75 s.
    // Windows 0–4 have fewer than 6 windows of history.
    const series = nodeSeries(run(topology, loads([100, 150, 200, 250, 300, 350, 400]), H60), 'a');
    expect(series.map((n) => n.timeToBreachSeconds).slice(0, 7)).toEqual([null, null, null, null, null, 85, 75]);
  });

  it('fits only the horizon', () => {
    // 500 W, then the ramp of the test above: window 6 fits 100 … 350 only → 85 s (with the
    // 500 W window in the fit the slope would be negative).
    const series = nodeSeries(run(topology, loads([500, 100, 150, 200, 250, 300, 350]), H60), 'a');
    expect(series[6]!.timeToBreachSeconds).toBe(85);
  });

  it('uses least squares and lifts the line by the loads above it', () => {
    // 100 + 50 k ± 10 (alternating), 10 windows, horizon 100 s. Least squares at window
    // middles x = −95 … −5 s: slope 4.939394 W/s, line at the end 571.969697 W; the 95th
    // percentile of the residuals is 11.575758 W → (800 − 583.545455) / 4.939394 = 43.822086 s.
    const values = [110, 140, 210, 240, 310, 340, 410, 440, 510, 540];
    const series = nodeSeries(run(topology, loads(values), { ...S10, trendHorizonMs: 100_000 }), 'a');
    expect(series[9]!.timeToBreachSeconds).toBeCloseTo(43.822086, 5);
  });

  it('is 0 once the envelope is already past usable and still rising', () => {
    // 650 … 900 W, 5 W/s: at the end of window 5 the line is at 925 W > 800 W.
    const series = nodeSeries(run(topology, loads([650, 700, 750, 800, 850, 900]), H60), 'a');
    expect(series[5]!.headroomWatts).toBe(-100);
    expect(series[5]!.timeToBreachSeconds).toBe(0);
  });

  it('is null for a flat or falling trend', () => {
    // (The trailing window holds the last value: still flat or falling.)
    expect(nodeSeries(run(topology, loads([300, 300, 300, 300])), 'a').map((n) => n.timeToBreachSeconds)).toEqual([null, null, null, null, null]);
    expect(nodeSeries(run(topology, loads([400, 300, 200])), 'a').map((n) => n.timeToBreachSeconds)).toEqual([null, null, null, null]);
  });
});
