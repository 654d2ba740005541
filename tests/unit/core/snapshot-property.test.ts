import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlertRule, type AlertRuleInput } from '../../../src/config/index.js';
import { AlertEngine, SnapshotError, WindowEngine } from '../../../src/core/index.js';
import type { AlertsConfig } from '../../../src/core/alerts/index.js';
import type { AlertEvent, EngineSettings, Reading, WindowResult } from '../../../src/domain/index.js';
import { baseSettings, node, site, topo } from './fixtures.js';

// Property: for random feeds (both engines, windows and alerts), a snapshot taken at a random
// cut, restored into new engines and fed the rest gives exactly what the uninterrupted engines
// give: the same window records, alert events, stats and active alerts.

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const SETTINGS: EngineSettings = { ...baseSettings, windowsMs: [10_000, 60_000], trendWindows: 3 };
const TOPOLOGY = topo(
  site(
    's1',
    [
      node('fac', null, 12_000, ['mF'], { level: 'grid', role: 'facility' }),
      node('A', 'fac', 4000, ['m1', 'm2'], { redundantWith: 'B' }),
      node('B', 'fac', 4000, ['m3'], { redundantWith: 'A' }),
      node('C', 'fac', 3000, ['mWh']),
    ],
    { contractWatts: 10_000, demandIntervalMs: 60_000 },
  ),
  site('s2', [node('solo', null, 1000, ['b1'])]),
);
const METERS: readonly [string, string, number][] = [
  ['s1', 'mF', 12_000],
  ['s1', 'm1', 2500],
  ['s1', 'm2', 2500],
  ['s1', 'm3', 4000],
  ['s2', 'b1', 1000],
];

function alertsConfig(revisions: 'first' | 'final', clearFor: string): AlertsConfig {
  const rules: AlertRuleInput[] = [
    { name: 'headroom_low', metric: 'headroom', warning: { at: '40%', clear: '45%' }, critical: { at: '15%', clear: '20%' }, for: '20s', clearFor, scope: { levels: ['pdu'] } },
    { name: 'util_high', metric: 'utilization', warning: { at: '50%', clear: '45%' }, for: '0s', clearFor: '0s' },
    { name: 'util_high_1m', metric: 'utilization', window: '1m', warning: { at: '40%', clear: '35%' }, for: '0s', clearFor: '0s' },
    { name: 'failover', metric: 'failover_headroom', warning: { at: '10%', clear: '15%' }, for: '0s', clearFor: '0s' },
    { name: 'incomplete', metric: 'completeness', warning: { at: '90%', clear: '95%' }, for: '10s', clearFor: '0s' },
  ];
  return { revisions, allowedLatenessMs: SETTINGS.allowedLatenessMs, trendWindows: SETTINGS.trendWindows, rules: rules.map((r) => parseAlertRule(r, SETTINGS)) };
}

/** Deterministic pseudo-random numbers in [0, 1) (32-bit LCG). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return x / 2 ** 32;
  };
}

interface Arrival {
  reading: Reading;
  nowMs: number;
}

/** `seconds` of readings: loads that wander across the thresholds, gaps, a counter meter, arrivals shuffled up to `jitterMs`. */
function stream(seed: number, seconds: number, jitterMs: number): Arrival[] {
  const rand = lcg(seed);
  const readings: Reading[] = [];
  for (const [siteId, meter, maxWatts] of METERS) {
    let level = rand();
    for (let s = 0; s < seconds; s++) {
      level = Math.min(1, Math.max(0, level + (rand() - 0.5) * 0.2));
      if (rand() < 0.08) continue; // a missing reading
      readings.push({ site: siteId, meter, tsMs: T0 + s * 1000 + Math.floor(rand() * 300), watts: Math.round(level * maxWatts) });
    }
  }
  let wattHours = 100;
  for (let s = 0; s < seconds; s++) {
    wattHours += rand() * 0.8;
    if (rand() < 0.9) readings.push({ site: 's1', meter: 'mWh', tsMs: T0 + s * 1000, wattHours });
  }
  const keyed = readings.map((reading) => ({ reading, arrivalMs: reading.tsMs + Math.floor(rand() * jitterMs) }));
  keyed.sort((a, b) => a.arrivalMs - b.arrivalMs);
  let nowMs = -Infinity;
  return keyed.map(({ reading, arrivalMs }) => {
    nowMs = Math.max(nowMs, arrivalMs);
    return { reading, nowMs };
  });
}

interface Outcome {
  windows: WindowResult[];
  alerts: AlertEvent[];
}

function step(engine: WindowEngine, alerts: AlertEngine, { reading, nowMs }: Arrival, out: Outcome): void {
  engine.record(reading, nowMs);
  const windows = engine.advance(nowMs);
  out.windows.push(...windows);
  out.alerts.push(...alerts.evaluate(windows, engine.watermarksMs()));
}

function finish(engine: WindowEngine, alerts: AlertEngine, out: Outcome): Outcome {
  const windows = engine.drain();
  out.windows.push(...windows);
  out.alerts.push(...alerts.evaluate(windows, engine.watermarksMs()), ...alerts.flush());
  return out;
}

/** Feeds `arrivals`, restoring both engines from their snapshots before arrival `cut` (none when undefined). */
function run(config: AlertsConfig, arrivals: readonly Arrival[], cut?: number): Outcome & { stats: unknown; active: unknown } {
  let engine = new WindowEngine(TOPOLOGY, SETTINGS, { emitMeters: true });
  let alerts = new AlertEngine(TOPOLOGY, config);
  const out: Outcome = { windows: [], alerts: [] };
  arrivals.forEach((arrival, i) => {
    if (i === cut) {
      engine = WindowEngine.restore(TOPOLOGY, SETTINGS, engine.snapshot(), { emitMeters: true });
      alerts = AlertEngine.restore(TOPOLOGY, config, alerts.snapshot());
    }
    step(engine, alerts, arrival, out);
  });
  const active = alerts.activeAlerts();
  finish(engine, alerts, out);
  return { ...out, stats: engine.stats(), active };
}

describe('snapshot at a random cut (windows and alerts)', () => {
  it('the feeds raise and resolve alerts, restate windows and leave alert state across cuts', () => {
    const config = alertsConfig('final', '0s');
    const arrivals = stream(11, 150, 6_000);
    const whole = run(config, arrivals);
    expect(whole.windows.some((w) => w.revision > 0)).toBe(true);
    expect(new Set(whole.alerts.map((a) => a.state))).toEqual(new Set(['pending', 'firing', 'resolved']));
    expect(new Set(whole.alerts.map((a) => a.rule)).size).toBeGreaterThanOrEqual(3);
  });

  it('restore then continue equals the uninterrupted run', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom<'first' | 'final'>('first', 'final'),
        fc.constantFrom('0s', '20s'),
        fc.integer({ min: 0, max: 14_000 }),
        (seed, cutShare, revisions, clearFor, jitterMs) => {
          const config = alertsConfig(revisions, clearFor);
          const arrivals = stream(seed, 120, jitterMs);
          const cut = Math.floor(cutShare * arrivals.length);
          const whole = run(config, arrivals);
          const resumed = run(config, arrivals, cut);
          expect(resumed.windows).toEqual(whole.windows);
          expect(resumed.alerts).toEqual(whole.alerts);
          expect(resumed.stats).toEqual(whole.stats);
          expect(resumed.active).toEqual(whole.active);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a truncated or extended snapshot is refused with SnapshotError, never half-read', () => {
    const config = alertsConfig('final', '20s');
    const engine = new WindowEngine(TOPOLOGY, SETTINGS);
    const alerts = new AlertEngine(TOPOLOGY, config);
    const out: Outcome = { windows: [], alerts: [] };
    for (const arrival of stream(5, 90, 4_000)) step(engine, alerts, arrival, out);
    expect(out.alerts.length).toBeGreaterThan(0);
    const restores: [string, Uint8Array, (bytes: Uint8Array) => unknown][] = [
      ['window', engine.snapshot(), (bytes) => WindowEngine.restore(TOPOLOGY, SETTINGS, bytes)],
      ['alert', alerts.snapshot(), (bytes) => AlertEngine.restore(TOPOLOGY, config, bytes)],
    ];
    for (const [what, bytes, restore] of restores) {
      expect(() => restore(bytes), what).not.toThrow();
      const cuts = [0, 3, 11, 12, 13, ...Array.from({ length: 60 }, (_, k) => Math.floor((bytes.length * (k + 1)) / 61)), bytes.length - 1];
      for (const cut of cuts) expect(() => restore(bytes.subarray(0, cut)), `${what} cut at ${cut}`).toThrow(SnapshotError);
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      expect(() => restore(longer), `${what} one byte longer`).toThrow(SnapshotError);
    }
  });
});
