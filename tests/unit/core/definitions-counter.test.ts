import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, MeterWindow, NodeWindow, Reading, SiteWindow, Topology, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

// Energy counters (wattHours), hand-computed. Two consecutive readings (t0, E0), (t1, E1)
// measure [t0, t1) exactly: (E1 − E0) × 3_600_000 / (t1 − t0) W over the whole interval.
// 1 Wh = 3_600_000 W·ms. Results are rounded to 1e-6; non-integral values are compared to 5 decimals.

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a multiple of every window size used here
const S = 1000;
const MIN = 60_000;
const TOPOLOGY: Topology = topo(site('s1', [node('a', null, 1_000_000, ['c'])]));

/** A counter-only reading. */
function wh(meter: string, tsMs: number, wattHours: number, siteId = 's1'): Reading {
  return { site: siteId, meter, tsMs, wattHours };
}

interface Run {
  results: WindowResult[];
  outcomes: string[];
  engine: WindowEngine;
}

/** Feeds readings in the given arrival order on the replay clock (largest ts seen), then drains. */
function run(readings: Reading[], settings: EngineSettings, topology: Topology = TOPOLOGY): Run {
  const engine = new WindowEngine(topology, settings, { emitMeters: true });
  const results: WindowResult[] = [];
  const outcomes: string[] = [];
  let clock = -Infinity;
  for (const reading of readings) {
    clock = Math.max(clock, reading.tsMs);
    outcomes.push(engine.record(reading, clock));
    results.push(...engine.advance(clock));
  }
  results.push(...engine.drain());
  return { results, outcomes, engine };
}

/** The highest revision of each window of one meter and size, by start. */
function meterFinals(results: WindowResult[], meter: string, windowMs: number): MeterWindow[] {
  const byStart = new Map<number, MeterWindow>();
  for (const x of results) {
    if (x.type !== 'meter' || x.meter !== meter || x.windowMs !== windowMs) continue;
    const prev = byStart.get(x.start);
    if (prev === undefined || x.revision > prev.revision) byStart.set(x.start, x);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

function nodeRecords(results: WindowResult[], id: string, windowMs: number): NodeWindow[] {
  return results.filter((x): x is NodeWindow => x.type === 'node' && x.node === id && x.windowMs === windowMs);
}

function siteFinals(results: WindowResult[], windowMs: number): SiteWindow[] {
  const byStart = new Map<number, SiteWindow>();
  for (const x of results) {
    if (x.type !== 'site' || x.windowMs !== windowMs) continue;
    const prev = byStart.get(x.start);
    if (prev === undefined || x.revision > prev.revision) byStart.set(x.start, x);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

const stats = (w: MeterWindow): unknown[] => [w.count, w.minWatts, w.maxWatts, w.lastWatts, w.lastTsMs === null ? null : w.lastTsMs - T0];

describe('1 s cadence: a reset leaves its interval uncovered; nothing is held past the last reading', () => {
  //  ts (s)   wh                       interval closed        power
  //  0        1000                     —                      (first reading)
  //  1..6     1000.25 .. 1001.5        [k−1, k)               0.25 Wh × 3.6e6 / 1_000 ms = 900 W
  //  7        5                        [6, 7)                 drop: reset, uncovered
  //  8..14    5.125 .. 5.875           [k−1, k)               0.125 × 3.6e6 / 1_000 = 450 W
  const readings = [
    ...[0, 1, 2, 3, 4, 5, 6].map((k) => wh('c', T0 + k * S, 1000 + 0.25 * k)),
    ...[7, 8, 9, 10, 11, 12, 13, 14].map((k) => wh('c', T0 + k * S, 5 + 0.125 * (k - 7))),
  ];
  const { results, outcomes, engine } = run(readings, { ...baseSettings, windowsMs: [10_000] });
  const [w0, w1, ...rest] = meterFinals(results, 'c', 10_000);

  it('every reading is on time', () => {
    expect(outcomes.every((o) => o === 'accepted')).toBe(true);
  });

  it('[0 s, 10 s): 900 W over [0, 6), nothing over [6, 7), 450 W over [7, 10)', () => {
    // covered 6 s + 3 s = 9_000 ms → coverage 0.9
    // energy 900 × 6_000 + 450 × 3_000 = 6_750_000 W·ms = 1.875 Wh; load 6_750_000 / 9_000 = 750 W
    expect(w0!.coverage).toBe(0.9);
    expect(w0!.energyWh).toBeCloseTo(1.875, 5);
    expect(w0!.loadWatts).toBeCloseTo(750, 5);
    expect(w0!.counterResets).toBe(1);
    // 10 readings; each reports the power of the interval it closes (none for 0 s and the reset at 7 s)
    expect(stats(w0!)).toEqual([10, 450, 900, 450, 9_000]);
  });

  it('[10 s, 20 s): 450 W over [10, 14) only (the old rule held the last value on to 19 s)', () => {
    // 450 × 4_000 = 1_800_000 W·ms = 0.5 Wh; coverage 0.4
    expect(w1!.coverage).toBe(0.4);
    expect(w1!.energyWh).toBeCloseTo(0.5, 5);
    expect(w1!.loadWatts).toBeCloseTo(450, 5);
    expect(w1!.counterResets).toBe(0);
    expect(stats(w1!)).toEqual([5, 450, 450, 450, 14_000]);
    expect(rest).toEqual([]);
  });

  it('the windows add up to the register differences on either side of the reset', () => {
    // (1001.5 − 1000) + (5.875 − 5) = 2.375 Wh
    expect(w0!.energyWh + w1!.energyWh).toBeCloseTo(2.375, 5);
    expect(engine.stats().counterResetsBySite).toEqual({ s1: 1 });
  });
});

describe('10 s cadence: intervals split at window boundaries; a gap beyond maxCounterGap is uncovered', () => {
  //  ts (s)  wh    interval closed   power
  //  5       0     —
  //  15      10    [5, 15)           10 Wh × 3.6e6 / 10_000 ms = 3600 W
  //  25      15    [15, 25)          5 × 3.6e6 / 10_000 = 1800 W
  //  35      15    [25, 35)          0 W
  //  80      20    [35, 80)          45 s > maxCounterGap 30 s: uncovered
  //  90      22    [80, 90)          2 × 3.6e6 / 10_000 = 720 W
  const settings: EngineSettings = { ...baseSettings, windowsMs: [10_000, 60_000], maxCounterGapMs: 30_000 };
  const points: [number, number][] = [
    [5, 0],
    [15, 10],
    [25, 15],
    [35, 15],
    [80, 20],
    [90, 22],
  ];
  const { results, outcomes } = run(
    points.map(([s, e]) => wh('c', T0 + s * S, e)),
    settings,
  );

  it('every reading is on time', () => {
    expect(outcomes.every((o) => o === 'accepted')).toBe(true);
  });

  it('10 s windows', () => {
    const ws = meterFinals(results, 'c', 10_000);
    // [0,10): 3600 W × 5 s = 5 Wh, cov 0.5          [10,20): 3600 × 5 s + 1800 × 5 s = 7.5 Wh, cov 1, load 2700
    // [20,30): 1800 × 5 s + 0 × 5 s = 2.5 Wh, load 900   [30,40): 0 W × 5 s, cov 0.5
    // [40,80): nothing (the gap)   [80,90): 720 W × 10 s = 2 Wh   [90,100): no coverage, not emitted
    expect(ws.map((w) => [(w.start - T0) / S, w.energyWh, w.coverage, w.loadWatts])).toEqual([
      [0, 5, 0.5, 3600],
      [10, 7.5, 1, 2700],
      [20, 2.5, 1, 900],
      [30, 0, 0.5, 0],
      [80, 2, 1, 720],
    ]);
    // The reading at 80 s closes the uncovered gap: it has no power of its own.
    expect(ws.map(stats)).toEqual([
      [1, null, null, null, 5_000],
      [1, 3600, 3600, 3600, 15_000],
      [1, 1800, 1800, 1800, 25_000],
      [1, 0, 0, 0, 35_000],
      [1, null, null, null, 80_000],
    ]);
  });

  it('1 min windows', () => {
    const [m0, m1] = meterFinals(results, 'c', 60_000);
    // [0,60): 15 Wh (= 15 − 0 on the register) over 30 s covered → coverage 0.5, load 15 × 3.6e6 / 30_000 = 1800 W
    expect([m0!.energyWh, m0!.coverage, m0!.loadWatts]).toEqual([15, 0.5, 1800]);
    expect(stats(m0!)).toEqual([4, 0, 3600, 0, 35_000]);
    // [60,120): 2 Wh over 10 s → coverage 1/6, load 720
    expect([m1!.energyWh, m1!.coverage, m1!.loadWatts]).toEqual([2, 0.166667, 720]);
    expect(stats(m1!)).toEqual([2, 720, 720, 720, 90_000]);
  });
});

describe('15 min cadence: a register read every quarter hour, with a reset and a gap', () => {
  //  ts (min)  wh     interval closed   power
  //  0         1000   —
  //  15        1250   [0, 15)           250 Wh × 3.6e6 / 900_000 ms = 1000 W
  //  30        1500   [15, 30)          1000 W
  //  45        100    [30, 45)          drop: reset, uncovered
  //  60        350    [45, 60)          1000 W
  //  105       500    [60, 105)         45 min > maxCounterGap 15 min: uncovered
  //  120       750    [105, 120)        1000 W
  const settings: EngineSettings = { ...baseSettings, windowsMs: [900_000, 3_600_000] };
  const points: [number, number][] = [
    [0, 1000],
    [15, 1250],
    [30, 1500],
    [45, 100],
    [60, 350],
    [105, 500],
    [120, 750],
  ];
  const { results, outcomes, engine } = run(
    points.map(([m, e]) => wh('c', T0 + m * MIN, e)),
    settings,
  );

  it('every reading is on time', () => {
    expect(outcomes.every((o) => o === 'accepted')).toBe(true);
    expect(engine.stats().lateBySiteMeter).toEqual({ s1: {} });
  });

  it('15 min windows: each covered quarter is exact; the reset and the gap are not covered', () => {
    const qs = meterFinals(results, 'c', 900_000);
    expect(qs.map((w) => [(w.start - T0) / MIN, w.energyWh, w.coverage, w.loadWatts, w.counterResets])).toEqual([
      [0, 250, 1, 1000, 0],
      [15, 250, 1, 1000, 0],
      [45, 250, 1, 1000, 1],
      [105, 250, 1, 1000, 0],
    ]);
  });

  it('1 h windows: 45 of 60 minutes covered, then 15', () => {
    const [h0, h1] = meterFinals(results, 'c', 3_600_000);
    // [0,60): 750 Wh over 45 min → coverage 0.75, load 750 × 3.6e6 / 2_700_000 = 1000 W; readings at 0, 15, 30, 45
    expect([h0!.energyWh, h0!.coverage, h0!.loadWatts, h0!.counterResets]).toEqual([750, 0.75, 1000, 1]);
    expect(stats(h0!)).toEqual([4, 1000, 1000, null, 45 * MIN]);
    // [60,120): 250 Wh over 15 min; readings at 60 (1000 W) and 105 (closes the gap: no power)
    expect([h1!.energyWh, h1!.coverage, h1!.loadWatts]).toEqual([250, 0.25, 1000]);
    expect(stats(h1!)).toEqual([2, 1000, 1000, null, 105 * MIN]);
  });
});

describe('a counter reading that closes an interval in emitted windows', () => {
  // Node a has meters w (100 W every second, 0..40 s) and c (counter: 0 Wh at 0 s, 1 Wh at
  // 10 s, 2 Wh at 20 s: 360 W over [0, 20)). The watermark follows w (quorum 1): ts − 2 s.
  // c@10 s arrives after w@16 s: [0, 10) was emitted (at w@12 s) and is still open
  // (allowedLateness 10 s). c@20 s arrives after w@34 s: [10, 20) is final (the watermark
  // passed 20 s + 10 s), so its share is lost to the 10 s window, while the 1 min window,
  // still open, gets all of it.
  const topology = topo(site('s1', [node('a', null, 10_000, ['w', 'c'])]));
  const settings: EngineSettings = { ...baseSettings, windowsMs: [10_000, 60_000], watermarkQuorum: 1 };
  const arrival: Reading[] = [];
  for (let k = 0; k <= 40; k++) {
    arrival.push(r('w', T0 + k * S, 100));
    if (k === 0) arrival.push(wh('c', T0, 0));
    if (k === 16) arrival.push(wh('c', T0 + 10 * S, 1));
    if (k === 34) arrival.push(wh('c', T0 + 20 * S, 2));
  }
  const { results, outcomes, engine } = run(arrival, settings, topology);
  const tens = nodeRecords(results, 'a', 10_000);

  it('both late counter readings are accepted late', () => {
    expect(outcomes[arrival.findIndex((x) => x.meter === 'c' && x.tsMs === T0 + 10 * S)]).toBe('accepted_late');
    expect(outcomes[arrival.findIndex((x) => x.meter === 'c' && x.tsMs === T0 + 20 * S)]).toBe('accepted_late');
  });

  it('within allowedLateness: [0 s, 10 s) is restated (revision 1) with the counter interval', () => {
    const first = tens.filter((w) => w.start === T0);
    // revision 0: w alone: 100 W, 100 × 10 s = 1000 W·s = 0.277778 Wh; completeness 1 of 2 meters
    // revision 1: + c 360 W → 460 W; energy 1000 / 3600 + 1 = 1.277778 Wh; completeness 1
    expect(first.map((w) => [w.revision, w.loadWatts, w.energyWh, w.completeness])).toEqual([
      [0, 100, 0.277778, 0.5],
      [1, 460, 1.277778, 1],
    ]);
    const c0 = meterFinals(results, 'c', 10_000)[0]!;
    expect([c0.start, c0.revision, c0.energyWh, c0.coverage, c0.loadWatts]).toEqual([T0, 1, 1, 1, 360]);
  });

  it('beyond allowedLateness: [10 s, 20 s) keeps its one record, honest about the missing meter, and the reading counts late', () => {
    const second = tens.filter((w) => w.start === T0 + 10 * S);
    expect(second.map((w) => [w.revision, w.loadWatts, w.completeness, w.headroomCertain])).toEqual([[0, 100, 0.5, false]]);
    expect(meterFinals(results, 'c', 10_000).map((w) => w.start - T0)).toEqual([0]);
    expect(engine.stats().lateBySiteMeter).toEqual({ s1: { c: 1 } });
  });

  it('windows the interval does not touch are not restated', () => {
    expect(tens.filter((w) => w.start >= T0 + 20 * S).every((w) => w.revision === 0)).toBe(true);
  });

  it('the 1 min window, still open, has the whole counter interval', () => {
    const [c] = meterFinals(results, 'c', 60_000);
    // c: 2 Wh over 20 s → coverage 1/3, load 360 W
    expect([c!.energyWh, c!.coverage, c!.loadWatts]).toEqual([2, 0.333333, 360]);
    // node: w 100 W over [0, 45) (the last reading at 40 s holds 5 s) = 4500 W·s = 1.25 Wh; + 2 Wh
    const [n] = nodeRecords(results, 'a', 60_000);
    expect([n!.loadWatts, n!.energyWh, n!.completeness]).toEqual([460, 3.25, 1]);
  });
});

describe('revenue meters on 1-minute and 15-minute registers: exact 15-minute demand and PUE', () => {
  // The facility node has two feeds: feed-a on a 1-minute register, feed-b on a 15-minute
  // register; the IT node a watts meter read every second. Default windows and lateness.
  //   feed-a, minute k (0..29): 60_000 + 600 k W, i.e. 1000 + 10 k Wh a minute
  //   feed-b: 50 kWh in the first quarter (200 kW), 45 kWh in the second (180 kW)
  //   it: 150 kW in the first quarter, 160 kW in the second
  const topology = topo(
    site('s1', [
      node('intake', null, 400_000, ['feed-a', 'feed-b'], { level: 'grid', role: 'facility' }),
      node('hall', 'intake', 300_000, ['it'], { level: 'hall', role: 'it' }),
    ]),
  );
  const settings: EngineSettings = { ...baseSettings, windowsMs: [10_000, 60_000, 900_000] };
  const arrival: Reading[] = [];
  let feedA = 1_000_000;
  let feedB = 2_000_000;
  for (let k = 0; k <= 1800; k++) {
    const ts = T0 + k * S;
    if (k < 1800) arrival.push(r('it', ts, k < 900 ? 150_000 : 160_000));
    if (k % 60 === 0) {
      if (k > 0) feedA += 1000 + 10 * (k / 60 - 1);
      arrival.push(wh('feed-a', ts, feedA));
    }
    if (k % 900 === 0) {
      if (k > 0) feedB += k === 900 ? 50_000 : 45_000;
      arrival.push(wh('feed-b', ts, feedB));
    }
  }
  const { results, outcomes, engine } = run(arrival, settings, topology);
  const [q0, q1] = siteFinals(results, 900_000);

  it('no reading is dropped', () => {
    expect(outcomes.filter((o) => o !== 'accepted' && o !== 'accepted_late')).toEqual([]);
  });

  it('first quarter: demand and PUE from the registers, exactly', () => {
    // facility energy: Σ_{k<15} (1000 + 10 k) + 50_000 = 15_000 + 1_050 + 50_000 = 66_050 Wh
    // demand = 66_050 Wh × 3.6e6 / 900_000 ms = 264_200 W; IT 150 kW × 900 s = 37_500 Wh
    // PUE = 66_050 / 37_500 = 1.7613333…
    expect([q0!.start, q0!.demandWatts, q0!.facilityWatts, q0!.itWatts, q0!.pue]).toEqual([T0, 264_200, 264_200, 150_000, 1.761333]);
    expect(q0!.periodPeakWatts).toBe(264_200);
  });

  it('second quarter: demand, PUE and the period peak', () => {
    // facility: Σ_{15≤k<30} (1000 + 10 k) + 45_000 = 15_000 + 3_300 + 45_000 = 63_300 Wh → 253_200 W
    // IT: 160 kW × 900 s = 40_000 Wh → PUE 63_300 / 40_000 = 1.5825; period peak max(264_200, 253_200)
    expect([q1!.start, q1!.demandWatts, q1!.facilityWatts, q1!.itWatts, q1!.pue, q1!.periodPeakWatts]).toEqual([
      T0 + 15 * MIN,
      253_200,
      253_200,
      160_000,
      1.5825,
      264_200,
    ]);
  });

  it('the facility node is complete in every quarter', () => {
    const intake = nodeRecords(results, 'intake', 900_000).filter((w) => w.start < T0 + 30 * MIN);
    expect(intake.every((w) => w.completeness === 1)).toBe(true);
  });

  it('1-minute windows of the 1-minute register are exact', () => {
    const minutes = meterFinals(results, 'feed-a', 60_000).filter((w) => w.start < T0 + 30 * MIN);
    expect(minutes.map((w) => [(w.start - T0) / MIN, w.loadWatts, w.energyWh, w.coverage])).toEqual(
      Array.from({ length: 30 }, (_, k) => [k, 60_000 + 600 * k, 1000 + 10 * k, 1]),
    );
  });

  it('1-minute windows take the 15-minute register only where still open: the last minute of each quarter', () => {
    // feed-b@15 min arrives with the watermark at 14:57: [14:00, 15:00) is not emitted yet, the
    // minutes before are final. That minute gets the quarter's mean power, exactly.
    const minutes = meterFinals(results, 'feed-b', 60_000).filter((w) => w.start < T0 + 30 * MIN);
    expect(minutes.map((w) => [(w.start - T0) / MIN, w.loadWatts, w.coverage])).toEqual([
      [14, 200_000, 1],
      [29, 180_000, 1],
    ]);
  });

  it('10-second windows that went final before a register reading are counted late, once per reading', () => {
    // Every register reading closes an interval reaching back into 10 s windows already final:
    // 30 readings of feed-a after its first, 2 of feed-b.
    expect(engine.stats().lateBySiteMeter).toEqual({ s1: { 'feed-a': 30, 'feed-b': 2 } });
  });

  it('10-second windows show what was known in time, never a wrong facility number', () => {
    // feed-a@60 s arrives with the watermark at 57 s: [0, 40) is final (57 − 10 ≥ 40) and has no
    // facility figure at all; [40, 50) is restated and [50, 60) emitted with feed-a (60 kW over
    // the whole minute) but without feed-b, whose quarter is read only at 15 min: the intake is
    // half complete and its headroom uncertain.
    const sites10 = siteFinals(results, 10_000).filter((w) => w.start < T0 + 60 * S);
    expect(sites10.map((w) => [(w.start - T0) / S, w.facilityWatts, w.pue, w.itWatts])).toEqual([
      [0, null, null, 150_000],
      [10, null, null, 150_000],
      [20, null, null, 150_000],
      [30, null, null, 150_000],
      [40, 60_000, 0.4, 150_000],
      [50, 60_000, 0.4, 150_000],
    ]);
    const intake = nodeRecords(results, 'intake', 10_000).filter((w) => w.start < T0 + 60 * S);
    expect(intake.map((w) => [(w.start - T0) / S, w.revision, w.completeness, w.headroomCertain])).toEqual([
      [40, 1, 0.5, false],
      [50, 0, 0.5, false],
    ]);
  });
});

describe('mixed and degenerate counter meters', () => {
  const S10: EngineSettings = { ...baseSettings, windowsMs: [10_000] };

  it('a reading with watts holds them as before, even with a counter value (the watts win)', () => {
    // 100 W + 10 Wh at 0 s, 200 W + 11 Wh at 2 s: holds 100 W over [0, 2), 200 W over [2, 7)
    const res = meterFinals(
      run([{ site: 's1', meter: 'c', tsMs: T0, watts: 100, wattHours: 10 }, { site: 's1', meter: 'c', tsMs: T0 + 2 * S, watts: 200, wattHours: 11 }], S10).results,
      'c',
      10_000,
    );
    // 100 × 2_000 + 200 × 5_000 = 1_200_000 W·ms = 1/3 Wh over 7 s
    expect([res[0]!.coverage, res[0]!.energyWh]).toEqual([0.7, 0.333333]);
  });

  it('a watts-only reading breaks the chain: the counter reading after it has no interval', () => {
    // 0 s: wh 100; 1 s: 500 W; 2 s: wh 100.5 — [0, 1) unknown (c@0 has no watts and w@1 is no counter),
    // [1, 2) 500 W held, [2, …) nothing (a counter-only reading covers nothing forward)
    const res = meterFinals(run([wh('c', T0, 100), r('c', T0 + S, 500), wh('c', T0 + 2 * S, 100.5)], S10).results, 'c', 10_000);
    expect([res[0]!.coverage, res[0]!.loadWatts]).toEqual([0.1, 500]);
  });

  it('a counter that never moves gives 0 W over the intervals it measured, and no more', () => {
    // 500, 500, 500 at 0, 1, 2 s → 0 W over [0, 2)
    const res = meterFinals(run([wh('c', T0, 500), wh('c', T0 + S, 500), wh('c', T0 + 2 * S, 500)], S10).results, 'c', 10_000);
    expect(res.map((w) => [w.coverage, w.loadWatts, w.counterResets])).toEqual([[0.2, 0, 0]]);
  });
});
