import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import type { Reading } from '../../../src/domain/index.js';
import { baseSettings, node, site, topo } from './fixtures.js';

const T0 = 1_767_225_600_000;
const SITE = site('s1', [
  node('root', null, 10_000, [], { level: 'grid' }),
  ...['m1', 'm2', 'm3', 'm4'].map((m) => node(`n-${m}`, 'root', 1000, [m])),
]);

function feed(engine: WindowEngine, readings: Reading[], nowMs: (r: Reading) => number): string[] {
  return readings.map((r) => {
    const o = engine.record(r, nowMs(r));
    engine.advance(nowMs(r));
    return o;
  });
}

describe('watermark quorum', () => {
  it('a meter with a clock minutes ahead does not make the rest of its site late', () => {
    const engine = new WindowEngine(topo(SITE), baseSettings);
    const readings: Reading[] = [];
    for (let s = 0; s < 60; s++) {
      for (const m of ['m1', 'm2', 'm3']) readings.push({ site: 's1', meter: m, tsMs: T0 + s * 1000, watts: 100 });
      // m4's clock runs 3 minutes ahead: within maxClockSkew (5 min), so it is accepted.
      readings.push({ site: 's1', meter: 'm4', tsMs: T0 + s * 1000 + 180_000, watts: 100 });
    }
    // Live: the processing clock is the wall clock, which follows the honest meters.
    const outcomes = feed(engine, readings, (r) => (r.meter === 'm4' ? r.tsMs - 180_000 : r.tsMs));
    expect(outcomes.filter((o) => o !== 'accepted')).toEqual([]);
    expect(engine.stats().watermarkMs['s1']).toBe(T0 + 59_000 - baseSettings.maxOutOfOrderMs);
  });

  it('with quorum 1 the same meter drags the watermark (the old behaviour, for contrast)', () => {
    const engine = new WindowEngine(topo(SITE), { ...baseSettings, watermarkQuorum: 1 });
    const outcomes = feed(
      engine,
      [
        { site: 's1', meter: 'm4', tsMs: T0 + 180_000, watts: 100 },
        { site: 's1', meter: 'm1', tsMs: T0 + 1_000, watts: 100 },
      ],
      () => T0 + 200_000,
    );
    expect(outcomes).toEqual(['accepted', 'late']);
  });

  it('meters silent for idleTimeout leave the quorum, so dead meters never stall a site', () => {
    const engine = new WindowEngine(topo(SITE), baseSettings);
    const readings: Reading[] = [];
    for (const m of ['m1', 'm2', 'm3', 'm4']) readings.push({ site: 's1', meter: m, tsMs: T0, watts: 100 });
    // Only m1 keeps reporting; the others die.
    for (let s = 1; s <= 120; s++) readings.push({ site: 's1', meter: 'm1', tsMs: T0 + s * 1000, watts: 100 });
    feed(engine, readings, (r) => r.tsMs);
    // After idleTimeout (30 s) the dead meters drop out and the watermark follows m1.
    expect(engine.stats().watermarkMs['s1']).toBe(T0 + 120_000 - baseSettings.maxOutOfOrderMs);
  });
});

describe('long silences', () => {
  it('thirty years without data are skipped, not walked window by window', () => {
    // Walking ~1e9 one-second windows would run into the test timeout; skipping takes milliseconds.
    const engine = new WindowEngine(topo(SITE), { ...baseSettings, windowsMs: [1_000, 10_000] });
    const year = 30 * 365 * 86_400_000;
    const out: string[] = [];
    for (const ts of [T0 - year, T0 - year + 1_000, T0, T0 + 1_000, T0 + 5_000]) {
      engine.record({ site: 's1', meter: 'm1', tsMs: ts, watts: 100 }, ts);
      for (const r of engine.advance(ts)) if (r.type === 'node' && r.node === 'n-m1') out.push(`${r.windowMs}@${(r.start - T0) / 1000}`);
    }
    for (const r of engine.drain()) if (r.type === 'node' && r.node === 'n-m1') out.push(`${r.windowMs}@${(r.start - T0) / 1000}`);
    const y = -year / 1000;
    // Two seconds of data thirty years ago (held 5 s), then 0–10 s now: only windows with data appear.
    expect(out).toEqual([
      ...[0, 1, 2, 3, 4, 5].map((s) => `1000@${y + s}`),
      `10000@${y}`,
      ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => `1000@${s}`),
      '10000@0',
    ]);
  });
});
