/**
 * A backlog is not lateness: the caller tells `advance` whether its source is caught up.
 * While it is not (a backlog upstream, the source disconnected or paused), silence does not
 * count towards idleTimeout and an idle site does not advance on the processing clock; once
 * caught up, idle advance works as before.
 */
import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, r, site, topo } from './fixtures.js';

const T0 = 1_767_225_600_000;
const METERS = ['m1', 'm2', 'm3', 'm4'];
const SITE = site('s1', [node('root', null, 10_000, [], { level: 'grid' }), ...METERS.map((m) => node(`n-${m}`, 'root', 1000, [m]))]);
const OOO = baseSettings.maxOutOfOrderMs;
const IDLE = baseSettings.idleTimeoutMs;

/** Every meter reports once a second for seconds [fromS, toS), recorded at processing time `nowMs(ts)`. */
function feed(engine: WindowEngine, fromS: number, toS: number, nowMs: (tsMs: number) => number, caughtUp = true): WindowResult[] {
  const out: WindowResult[] = [];
  for (let s = fromS; s < toS; s++) {
    const ts = T0 + s * 1000;
    for (const m of METERS) expect(engine.record(r(m, ts, 100 + s), nowMs(ts))).toMatch(/^accepted/);
    out.push(...engine.advance(nowMs(ts), caughtUp));
  }
  return out;
}

/** Ticks once a second over [fromMs, toMs] with no data. */
function tick(engine: WindowEngine, fromMs: number, toMs: number, caughtUp: boolean): WindowResult[] {
  const out: WindowResult[] = [];
  for (let now = fromMs; now <= toMs; now += 1000) out.push(...engine.advance(now, caughtUp));
  return out;
}

function finals(records: readonly WindowResult[]): Map<string, number> {
  const out = new Map<string, { revision: number; energyWh: number }>();
  for (const rec of records) {
    if (rec.type !== 'node') continue;
    const key = `${rec.node}|${rec.windowMs}|${rec.start}`;
    const prev = out.get(key);
    if (prev === undefined || prev.revision < rec.revision) out.set(key, { revision: rec.revision, energyWh: rec.energyWh });
  }
  return new Map([...out].map(([k, v]) => [k, v.energyWh]));
}

describe('idle advance and backlogs', () => {
  it('no idle advance while a backlog is reported, however long the stall', () => {
    const engine = new WindowEngine(topo(SITE), baseSettings);
    feed(engine, 0, 10, (ts) => ts);
    const before = engine.stats().watermarkMs['s1']!;
    expect(before).toBe(T0 + 9_000 - OOO);
    // 90 s of silence with a backlog upstream: three idle timeouts.
    tick(engine, T0 + 10_000, T0 + 100_000, false);
    expect(engine.stats().watermarkMs['s1']).toBe(before);
  });

  it('the same silence while caught up advances the site on the processing clock (today\'s rule, for contrast)', () => {
    const engine = new WindowEngine(topo(SITE), baseSettings);
    feed(engine, 0, 10, (ts) => ts);
    tick(engine, T0 + 10_000, T0 + 100_000, true);
    expect(engine.stats().watermarkMs['s1']).toBe(T0 + 100_000 - OOO);
  });

  it('the backlog delivered after the stall is accepted, and the windows equal a run without the stall', () => {
    const stalled = new WindowEngine(topo(SITE), baseSettings);
    const out = feed(stalled, 0, 10, (ts) => ts);
    out.push(...tick(stalled, T0 + 10_000, T0 + 100_000, false));
    // The readings of seconds 10..99 arrive at once when the stall ends (processing time 100 s).
    out.push(...feed(stalled, 10, 100, () => T0 + 100_000, false));
    out.push(...feed(stalled, 100, 120, (ts) => ts));
    out.push(...stalled.drain());
    expect(stalled.stats().lateBySiteMeter['s1']).toEqual({});

    const reference = new WindowEngine(topo(SITE), baseSettings);
    const ref = feed(reference, 0, 120, (ts) => ts);
    ref.push(...reference.drain());
    const got = finals(out);
    const want = finals(ref);
    expect(want.size).toBeGreaterThan(0);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, energyWh] of want) expect(got.get(key), key).toBeCloseTo(energyWh, 9);
  });

  it('idle advance resumes once caught up, after idleTimeout of caught-up silence', () => {
    const engine = new WindowEngine(topo(SITE), baseSettings);
    feed(engine, 0, 10, (ts) => ts);
    const held = engine.stats().watermarkMs['s1']!;
    tick(engine, T0 + 10_000, T0 + 100_000, false);
    // Caught up again: the meters were last heard 1 s of caught-up time before the stall.
    tick(engine, T0 + 101_000, T0 + 100_000 + IDLE - 5_000, true);
    expect(engine.stats().watermarkMs['s1']).toBe(held);
    const later = T0 + 100_000 + IDLE + 5_000;
    tick(engine, T0 + 100_000 + IDLE - 4_000, later, true);
    expect(engine.stats().watermarkMs['s1']).toBe(later - OOO);
  });

  it('a site already idle before the stall stops advancing during it, and goes on once caught up', () => {
    const engine = new WindowEngine(topo(SITE), baseSettings);
    feed(engine, 0, 10, (ts) => ts);
    tick(engine, T0 + 10_000, T0 + 60_000, true);
    expect(engine.stats().watermarkMs['s1']).toBe(T0 + 60_000 - OOO);
    tick(engine, T0 + 61_000, T0 + 120_000, false);
    expect(engine.stats().watermarkMs['s1']).toBe(T0 + 60_000 - OOO);
    tick(engine, T0 + 121_000, T0 + 121_000, true);
    expect(engine.stats().watermarkMs['s1']).toBe(T0 + 121_000 - OOO);
  });
});
