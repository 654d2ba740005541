import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { EngineSettings, MeterWindow, NodeWindow, Reading, RecordOutcome, Topology, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

// Record outcomes, watermarks, lateness and idle partitions (DESIGN.md §4).
// Settings: windows of 10 s, maxOutOfOrder 2 s, allowedLateness 10 s, maxHold 5 s,
// idleTimeout 30 s, maxClockSkew 300 s.

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
// watermarkQuorum 1: the watermark follows the largest event time of the site, as the contract
// states (the fixtures' default quorum of 3 departs from it; see 'watermark contract' below).
const S10: EngineSettings = { ...baseSettings, windowsMs: [10_000], watermarkQuorum: 1 };
const TOPOLOGY: Topology = topo(site('s1', [node('a', null, 1000, ['m1', 'm2'])]), site('s2', [node('b', null, 1000, ['b1'])]));

const at = (seconds: number): number => T0 + seconds * 1000;

/** A stepped feed: each call records one reading on the replay clock and advances. */
class Feed {
  readonly engine: WindowEngine;
  readonly results: WindowResult[] = [];
  readonly outcomes: RecordOutcome[] = [];
  clock = -Infinity;

  constructor(settings: EngineSettings = S10) {
    this.engine = new WindowEngine(TOPOLOGY, settings, { emitMeters: true });
  }

  /** Records, advances, and returns what the advance emitted. */
  push(reading: Reading, nowMs?: number): { outcome: RecordOutcome; emitted: WindowResult[] } {
    this.clock = nowMs ?? Math.max(this.clock, reading.tsMs);
    const outcome = this.engine.record(reading, this.clock);
    const emitted = this.engine.advance(this.clock);
    this.outcomes.push(outcome);
    this.results.push(...emitted);
    return { outcome, emitted };
  }

  drain(): WindowResult[] {
    const out = this.engine.drain();
    this.results.push(...out);
    return out;
  }
}

function keyOf(x: WindowResult): string {
  if (x.type === 'meter') return `meter|${x.site}|${x.meter}|${x.windowMs}|${x.start}`;
  if (x.type === 'node') return `node|${x.site}|${x.node}|${x.windowMs}|${x.start}`;
  return `site|${x.site}|${x.windowMs}|${x.start}`;
}

/** The highest revision of each window, with the revision cleared (to compare with an on-time run). */
function finals(results: WindowResult[]): Map<string, WindowResult> {
  const out = new Map<string, WindowResult>();
  for (const x of results) {
    const prev = out.get(keyOf(x));
    if (prev === undefined || x.revision > prev.revision) out.set(keyOf(x), x);
  }
  return new Map([...out].map(([k, v]) => [k, { ...v, revision: 0 }]));
}

function meterWindows(results: WindowResult[], meter: string, startMs: number): MeterWindow[] {
  return results.filter((x): x is MeterWindow => x.type === 'meter' && x.meter === meter && x.start === startMs);
}

describe('record outcomes', () => {
  it('accepted', () => {
    const f = new Feed();
    expect(f.push(r('m1', at(1), 100)).outcome).toBe('accepted');
    // Out of order but not behind an emitted window: still accepted.
    expect(f.push(r('m1', at(0.5), 100), at(1)).outcome).toBe('accepted');
  });

  it('unknown_site and unknown_meter', () => {
    const f = new Feed();
    expect(f.push(r('m1', at(1), 100, 'nowhere')).outcome).toBe('unknown_site');
    expect(f.push(r('zz', at(1), 100)).outcome).toBe('unknown_meter');
    // A meter of another site is unknown in this one.
    expect(f.push(r('b1', at(1), 100, 's1')).outcome).toBe('unknown_meter');
    expect(f.drain()).toEqual([]);
  });

  it('future: more than maxClockSkew ahead of the processing clock', () => {
    const engine = new WindowEngine(TOPOLOGY, S10);
    const now = at(0);
    expect(engine.record(r('m1', now + 300_000, 1), now)).toBe('accepted'); // exactly at the skew limit
    expect(engine.record(r('m1', now + 300_001, 1), now)).toBe('future');
    expect(engine.stats().watermarkMs['s1']).toBe(-Infinity); // nothing advanced yet
  });

  it('a future reading does not move the watermark', () => {
    const f = new Feed();
    f.push(r('m1', at(0), 100), at(0));
    expect(f.push(r('m1', at(1000), 100), at(0)).outcome).toBe('future');
    expect(f.engine.stats().watermarkMs['s1']).toBe(at(0) - 2_000);
  });

  it('duplicate: same meter and ts, the first wins', () => {
    const f = new Feed();
    expect(f.push(r('m1', at(1), 100)).outcome).toBe('accepted');
    expect(f.push(r('m1', at(1), 900)).outcome).toBe('duplicate');
    // Same ts on another meter is no duplicate.
    expect(f.push(r('m2', at(1), 50)).outcome).toBe('accepted');
    f.drain();
    const [w] = meterWindows(f.results, 'm1', at(0));
    // 100 W over [1 s, 6 s) → load 100, not 900
    expect([w!.loadWatts, w!.count, w!.maxWatts]).toEqual([100, 1, 100]);
  });

  it('accepted_late and late around the end of allowed lateness, counted per site and meter', () => {
    const f = new Feed();
    for (let s = 0; s <= 21; s++) f.push(r('m1', at(s), 100));
    // Watermark 21 − 2 = 19 s: window [0,10) was emitted (19 ≥ 10) and is open until 10 + 10 = 20 s.
    expect(f.engine.stats().watermarkMs['s1']).toBe(at(19));
    expect(f.push(r('m2', at(9.5), 40)).outcome).toBe('accepted_late');
    // Watermark 22 − 2 = 20 s = end + lateness: [0,10) is final.
    f.push(r('m1', at(22), 100));
    expect(f.engine.stats().watermarkMs['s1']).toBe(at(20));
    expect(f.push(r('m2', at(9.6), 40)).outcome).toBe('late');
    expect(f.push(r('m2', at(9.7), 40)).outcome).toBe('late');
    // [10,20) was emitted at 20 s and is still open: late for it is accepted.
    expect(f.push(r('m2', at(15), 40)).outcome).toBe('accepted_late');
    expect(f.engine.stats().lateBySiteMeter).toEqual({ s1: { m2: 2 }, s2: {} });
    // The dropped readings changed nothing: m2 in [0,10) holds 40 W over [9.5 s, 10 s) only.
    // Its meter record first appears in the restatement, so with the window's revision 1.
    f.drain();
    const m2 = meterWindows(f.results, 'm2', at(0));
    expect(m2.map((w) => [w.revision, w.count, w.coverage])).toEqual([[1, 1, 0.05]]);
  });

  it('lists every outcome', () => {
    const f = new Feed();
    f.push(r('m1', at(0), 1));
    f.push(r('m1', at(0), 1));
    f.push(r('m1', at(1), 1, 'x'));
    f.push(r('q', at(1), 1));
    f.push(r('m1', at(10_000), 1), at(0));
    for (let s = 1; s <= 13; s++) f.push(r('m1', at(s), 1));
    f.push(r('m2', at(5), 1));
    for (let s = 14; s <= 23; s++) f.push(r('m1', at(s), 1));
    f.push(r('m2', at(6), 1));
    expect(new Set(f.outcomes)).toEqual(new Set(['accepted', 'duplicate', 'unknown_site', 'unknown_meter', 'future', 'accepted_late', 'late']));
  });
});

describe('watermark contract: max ts − maxOutOfOrder, with the default settings', () => {
  it('an active meter that lags holds the watermark back until it has been idle for idleTimeout (quorum)', () => {
    // Decision (README "Watermarks"): the watermark follows the k-th most advanced clock among
    // meters heard within idleTimeout (k = watermarkQuorum = 3, or fewer when fewer are
    // active). With 2 active meters that is the slower one: m2 at 1 s → watermark −1 s.
    const engine = new WindowEngine(TOPOLOGY, { ...baseSettings, windowsMs: [10_000] });
    expect(engine.record(r('m2', at(1), 50), at(1))).toBe('accepted');
    expect(engine.record(r('m1', at(12), 100), at(12))).toBe('accepted');
    expect(engine.advance(at(12))).toEqual([]);
    expect(engine.stats().watermarkMs['s1']).toBe(at(-1));
    // m2 was last heard at processing time 1 s; at 31 s it has been idle for 30 s and leaves
    // the quorum: the watermark follows m1 (12 − 2 = 10 s) and [0,10) is emitted.
    const out = engine.advance(at(31));
    expect(engine.stats().watermarkMs['s1']).toBe(at(10));
    expect(out.filter((x) => x.type === 'node').map((x) => x.start - T0)).toEqual([0]);
  });
});

describe('watermark and emission', () => {
  it('a window is emitted once the watermark reaches its end', () => {
    const f = new Feed();
    for (let s = 0; s <= 11; s++) expect(f.push(r('m1', at(s), 100)).emitted).toEqual([]);
    // ts 11.999 s → watermark 9.999 s < 10 s
    expect(f.push(r('m1', at(11.999), 100)).emitted).toEqual([]);
    // ts 12 s → watermark 10 s = end of [0,10)
    const { emitted } = f.push(r('m1', at(12), 100));
    expect(emitted.map((x) => [x.type, x.start - T0, x.revision])).toEqual([
      ['meter', 0, 0],
      ['node', 0, 0],
      ['site', 0, 0],
    ]);
  });

  it('each site has its own watermark', () => {
    const f = new Feed();
    f.push(r('m1', at(20), 100));
    f.push(r('b1', at(5), 100, 's2'));
    expect(f.engine.stats().watermarkMs).toEqual({ s1: at(18), s2: at(3) });
  });

  it('drain emits everything left, including the hold past the last reading', () => {
    const f = new Feed();
    f.push(r('m1', at(0), 100));
    f.push(r('m1', at(8), 100));
    expect(f.results).toEqual([]);
    const out = f.drain();
    // [0,10): 0–5 s and 8–10 s; [10,20): 10–13 s
    expect(out.filter((x) => x.type === 'meter').map((x) => [x.start - T0, (x as MeterWindow).coverage])).toEqual([
      [0, 0.7],
      [10_000, 0.3],
    ]);
    expect(f.engine.drain()).toEqual([]);
  });
});

describe('revisions for late readings within allowed lateness', () => {
  // m1 at every second 0..30 s with 100 + 10·i W. The late run withholds the 5 s reading and
  // delivers it when the watermark is 19 s (window [0,10) emitted, open until 20 s).
  const readings = Array.from({ length: 31 }, (_, i) => r('m1', at(i), 100 + 10 * i));
  const withheld = readings[5]!;

  const onTime = new Feed();
  for (const x of readings) onTime.push(x);
  onTime.drain();

  const late = new Feed();
  const lateOutcomes: RecordOutcome[] = [];
  let reEmitted: WindowResult[] = [];
  for (const x of readings) {
    if (x === withheld) continue;
    late.push(x);
    if (x.tsMs === at(21)) {
      const step = late.push(withheld, at(21));
      lateOutcomes.push(step.outcome);
      reEmitted = step.emitted;
    }
  }
  late.drain();

  it('the late reading is accepted_late and its window is re-emitted with revision 1', () => {
    expect(lateOutcomes).toEqual(['accepted_late']);
    expect(reEmitted.filter((x) => x.start === at(0)).map((x) => [x.type, x.revision])).toEqual([
      ['meter', 1],
      ['node', 1],
      ['site', 1],
    ]);
  });

  it('the first emission lacked the reading, the restatement has it', () => {
    const nodes = late.results.filter((x): x is NodeWindow => x.type === 'node' && x.start === at(0));
    // rev 0: the 4 s reading (140 W) held over [4 s, 6 s):
    //   (100 + 110 + 120 + 130 + 140·2 + 160 + 170 + 180 + 190) / 10 = 1440 / 10 = 144
    // rev 1: 100..190 each for one second: 1450 / 10 = 145
    expect(nodes.map((n) => [n.revision, n.loadWatts])).toEqual([
      [0, 144],
      [1, 145],
    ]);
  });

  it('final numbers equal the on-time run', () => {
    expect(onTime.results.every((x) => x.revision === 0)).toBe(true);
    expect(finals(late.results)).toEqual(finals(onTime.results));
  });

  it('a second late reading bumps the revision again', () => {
    const f = new Feed();
    for (let s = 0; s <= 15; s++) if (s !== 3 && s !== 7) f.push(r('m1', at(s), 100));
    expect(f.push(r('m1', at(3), 300)).outcome).toBe('accepted_late');
    expect(f.push(r('m1', at(7), 300)).outcome).toBe('accepted_late');
    const revs = f.results.filter((x) => x.type === 'node' && x.start === at(0)).map((x) => x.revision);
    expect(revs).toEqual([0, 1, 2]);
    // rev 2: 8 s at 100 W + 3 s..4 s and 7 s..8 s at 300 W → (800 + 600) / 10 = 140
    const last = f.results.filter((x): x is NodeWindow => x.type === 'node' && x.start === at(0)).at(-1)!;
    expect(last.loadWatts).toBe(140);
  });
});

describe('idle partitions', () => {
  it('a quiet site emits once idleTimeout of processing time has passed', () => {
    const f = new Feed();
    for (let s = 0; s <= 5; s++) {
      f.push(r('m1', at(s), 100));
      f.push(r('b1', at(s), 200, 's2'));
    }
    // s1 goes quiet after 5 s (last activity at processing time 5 s); s2 keeps reporting.
    for (let s = 6; s <= 34; s++) {
      const { emitted } = f.push(r('b1', at(s), 200, 's2'));
      // 34 − 5 = 29 s < 30 s idle timeout: s1's watermark stays at 5 − 2 = 3 s.
      expect(emitted.filter((x) => x.site === 's1')).toEqual([]);
    }
    expect(f.engine.stats().watermarkMs['s1']).toBe(at(3));
    const { emitted } = f.push(r('b1', at(35), 200, 's2'));
    // 35 − 5 = 30 s: s1's watermark = now − maxOutOfOrder = 33 s; [0,10) closes (hold ends at 10 s).
    expect(f.engine.stats().watermarkMs['s1']).toBe(at(33));
    const s1 = emitted.filter((x): x is NodeWindow => x.site === 's1' && x.type === 'node');
    expect(s1.map((x) => [x.start - T0, x.loadWatts])).toEqual([[0, 100]]);
    // Meanwhile s2 ran on its own event time: its watermark is 35 − 2 = 33 s too, by its readings.
    expect(f.outcomes.every((o) => o === 'accepted')).toBe(true);
  });

  it('advance alone moves a quiet site by the processing clock', () => {
    const engine = new WindowEngine(TOPOLOGY, S10);
    for (let s = 0; s <= 5; s++) engine.record(r('m1', at(s), 100), at(s));
    expect(engine.advance(at(5))).toEqual([]);
    expect(engine.advance(at(34.999))).toEqual([]);
    const out = engine.advance(at(35));
    expect(out.map((x) => [x.type, x.site, x.start - T0])).toEqual([
      ['node', 's1', 0],
      ['site', 's1', 0],
    ]);
    // A site that never saw a reading emits nothing and keeps no watermark.
    expect(engine.stats().watermarkMs['s2']).toBe(-Infinity);
  });
});

describe('no coverage, no record', () => {
  it('a counter reading with unknown power leaves no meter window (contract)', () => {
    // A lone wattHours reading has no predecessor: its power is unknown, coverage is 0.
    // Contract: windows/meters/nodes with no coverage are not emitted.
    const engine = new WindowEngine(TOPOLOGY, S10, { emitMeters: true });
    expect(engine.record({ site: 's1', meter: 'm1', tsMs: at(0), wattHours: 5 }, at(0))).toBe('accepted');
    const out = [...engine.advance(at(100)), ...engine.drain()];
    expect(out).toEqual([]);
  });
});
