import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, MeterWindow, NodeWindow, Reading, Topology, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

// Per-meter definitions (DESIGN.md §5), checked on small hand-computed cases.
// 1 Wh = 3_600_000 W·ms. Results are rounded to 1e-6, so non-integral values are compared to 5 decimals.

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a multiple of every window size used here
const S10: EngineSettings = { ...baseSettings, windowsMs: [10_000] }; // maxHoldMs 5_000
const TOPOLOGY: Topology = topo(site('s1', [node('a', null, 1000, ['m1'])]));

/** Feeds readings in arrival order on the replay clock (largest ts seen), then drains. */
function run(readings: Reading[], topology: Topology = TOPOLOGY, settings: EngineSettings = S10): WindowResult[] {
  const engine = new WindowEngine(topology, settings, { emitMeters: true });
  const out: WindowResult[] = [];
  let clock = -Infinity;
  for (const reading of readings) {
    clock = Math.max(clock, reading.tsMs);
    expect(engine.record(reading, clock)).toBe('accepted');
    out.push(...engine.advance(clock));
  }
  out.push(...engine.drain());
  return out;
}

function meters(results: WindowResult[], meter: string): MeterWindow[] {
  return results.filter((x): x is MeterWindow => x.type === 'meter' && x.meter === meter);
}

function nodes(results: WindowResult[], id: string): NodeWindow[] {
  return results.filter((x): x is NodeWindow => x.type === 'node' && x.node === id);
}

describe('meter window: hold split at a window boundary', () => {
  // 100 W at 9.5 s, 200 W at 12 s; windows of 10 s; maxHold 5 s.
  const results = run([r('m1', T0 + 9_500, 100), r('m1', T0 + 12_000, 200)]);
  const [w0, w1] = meters(results, 'm1');

  it('emits exactly the two windows the holds reach', () => {
    expect(meters(results, 'm1').map((w) => [w.start - T0, w.end - T0])).toEqual([
      [0, 10_000],
      [10_000, 20_000],
    ]);
  });

  it('first window gets only the 0.5 s before the boundary', () => {
    // [9.5 s, 10 s): 100 W × 500 ms = 50_000 W·ms = 50 W·s → 50 / 3600 Wh = 0.013888… Wh
    expect(w0!.energyWh).toBeCloseTo(50 / 3600, 5);
    // covered 500 ms of 10_000 ms
    expect(w0!.coverage).toBe(0.05);
    // load = energy / covered = 50_000 / 500 = 100 W
    expect(w0!.loadWatts).toBe(100);
    expect(w0!.count).toBe(1);
    expect([w0!.minWatts, w0!.maxWatts, w0!.lastWatts, w0!.lastTsMs]).toEqual([100, 100, 100, T0 + 9_500]);
    expect(w0!.revision).toBe(0);
  });

  it('second window gets the rest of the hold, then the next reading up to maxHold', () => {
    // [10 s, 12 s): 100 W × 2_000 ms = 200_000 W·ms
    // [12 s, 17 s): 200 W × 5_000 ms = 1_000_000 W·ms (maxHold; no successor)
    // energy = 1_200_000 W·ms = 1/3 Wh; covered 7_000 ms → coverage 0.7
    expect(w1!.energyWh).toBeCloseTo(1 / 3, 5);
    expect(w1!.coverage).toBe(0.7);
    // load = 1_200_000 / 7_000 = 171.428571… W
    expect(w1!.loadWatts).toBeCloseTo(1_200_000 / 7_000, 5);
    expect(w1!.count).toBe(1);
    expect([w1!.minWatts, w1!.maxWatts, w1!.lastWatts]).toEqual([200, 200, 200]);
  });

  it('the split conserves energy: both windows add up to the whole hold', () => {
    // 100 W × 2.5 s + 200 W × 5 s = 250 + 1000 = 1250 W·s = 1250 / 3600 Wh
    expect(w0!.energyWh + w1!.energyWh).toBeCloseTo(1250 / 3600, 5);
  });

  it('the node of the meter reports the same load and energy', () => {
    const [n0, n1] = nodes(results, 'a');
    expect(n0!.loadWatts).toBe(100);
    expect(n0!.energyWh).toBeCloseTo(50 / 3600, 5);
    expect(n1!.loadWatts).toBeCloseTo(1_200_000 / 7_000, 5);
  });
});

describe('meter window: stale gap (maxHold cuts coverage)', () => {
  // 100 W at 0 s, 200 W at 8 s; maxHold 5 s; windows of 10 s.
  const results = run([r('m1', T0, 100), r('m1', T0 + 8_000, 200)]);
  const [w0, w1] = meters(results, 'm1');

  it('the gap between 5 s and 8 s is uncovered', () => {
    // [0, 5 s): 100 W × 5_000 = 500_000 W·ms; [5 s, 8 s): stale; [8 s, 10 s): 200 W × 2_000 = 400_000 W·ms
    // covered 7_000 ms → coverage 0.7; energy 900_000 W·ms = 0.25 Wh
    expect(w0!.coverage).toBe(0.7);
    expect(w0!.energyWh).toBeCloseTo(0.25, 5);
    // load is the mean over covered time, not over the window: 900_000 / 7_000 = 128.571428… W
    expect(w0!.loadWatts).toBeCloseTo(900_000 / 7_000, 5);
    expect(w0!.count).toBe(2);
    expect([w0!.minWatts, w0!.maxWatts, w0!.lastWatts, w0!.lastTsMs]).toEqual([100, 200, 200, T0 + 8_000]);
  });

  it('the hold of the last reading ends at maxHold in the next window', () => {
    // [10 s, 13 s): 200 W × 3_000 = 600_000 W·ms = 1/6 Wh; coverage 0.3; load 200 W
    expect(w1!.start).toBe(T0 + 10_000);
    expect(w1!.coverage).toBe(0.3);
    expect(w1!.energyWh).toBeCloseTo(1 / 6, 5);
    expect(w1!.loadWatts).toBe(200);
    // No reading has its ts in this window.
    expect(w1!.count).toBe(0);
    expect([w1!.minWatts, w1!.maxWatts, w1!.lastWatts, w1!.lastTsMs]).toEqual([null, null, null, null]);
  });

  it('a window no hold reaches is not emitted', () => {
    expect(meters(results, 'm1')).toHaveLength(2);
    expect(results.some((x) => x.start >= T0 + 20_000)).toBe(false);
  });

  it('a long silence emits nothing between the two busy windows', () => {
    // 100 W at 0 s; 300 W at 45 s. Windows [0,10) and [40,50) only.
    const res = run([r('m1', T0, 100), r('m1', T0 + 45_000, 300)]);
    const ws = meters(res, 'm1');
    expect(ws.map((w) => w.start - T0)).toEqual([0, 40_000]);
    // [0,5 s) at 100 W → load 100, coverage 0.5; [45 s,50 s) at 300 W → load 300, coverage 0.5
    expect(ws.map((w) => [w.loadWatts, w.coverage])).toEqual([
      [100, 0.5],
      [300, 0.5],
    ]);
  });
});

// Energy counters (wattHours) have their own definitions: definitions-counter.test.ts.
