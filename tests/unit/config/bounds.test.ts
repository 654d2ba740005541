/**
 * Config sanity: settings that would exhaust memory or make no sense are refused with a
 * message saying why, and durations need a unit (a bare `10` is not silently 10 ms).
 */
import { describe, expect, it } from 'vitest';
import type { HeadroomConfig } from '../../../src/config/index.js';
import { configFromText, configIssuesFromText } from '../../helpers/config.js';

const SITE = ['sites:', '  - id: s1', '    nodes:', '      - { id: a, level: rack, rating: 10kW, meters: [m1] }', ''].join('\n');

function messages(text: string): string[] {
  return configIssuesFromText(text, 'test.yaml').map((i) => `${i.path}: ${i.message}`);
}

function ok(text: string): HeadroomConfig {
  return configFromText(text, 'test.yaml');
}

describe('pipeline bounds', () => {
  it('refuses the absurd settings of the issue, each with its reason', () => {
    expect(messages(`pipeline: { allowedLateness: 365d }\n${SITE}`)).toEqual([
      'pipeline.allowedLateness: 365d is longer than 1d: emitted windows are kept in memory this long; replay older data instead',
    ]);
    expect(messages(`pipeline: { maxOutOfOrder: 30d }\n${SITE}`)).toEqual([
      "pipeline.maxOutOfOrder: 30d is longer than 1d: every meter's readings are held this long before windows close; replay older data instead",
    ]);
    expect(messages(`pipeline: { watermarkQuorum: 1000000 }\n${SITE}`)).toEqual([
      "pipeline.watermarkQuorum: at most 100: k clocks are kept and sorted per site on every advance, and a k above a site's meter count waits for its slowest meter",
    ]);
    expect(messages(`pipeline: { windows: [10s, 365d] }\n${SITE}`)).toEqual([
      'pipeline.windows[1]: 365d is longer than 31d: longer spans are queries over the sinks, not windows held in memory',
    ]);
  });

  it('bounds the other memory-sized settings', () => {
    expect(messages(`pipeline: { maxHold: 2d, idleTimeout: 7d, maxClockSkew: 7d, trendWindows: 100000 }\n${SITE}`)).toEqual([
      'pipeline.maxHold: 2d is longer than 1d: a value held longer is a guess, not a measurement',
      'pipeline.idleTimeout: 7d is longer than 1d: a silent meter would hold its site back that long',
      'pipeline.maxClockSkew: 7d is longer than 1d: a reading a day ahead has a wrong clock, not skew',
      'pipeline.trendWindows: at most 1000: each node keeps this many windows per size for the trend',
    ]);
    expect(messages(`pipeline: { windows: [1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s] }\n${SITE}`)).toEqual([
      'pipeline.windows: at most 8 window sizes: each keeps its own state per node',
    ]);
  });

  it('bounds the windows kept open per node: (maxOutOfOrder + allowedLateness) / smallest window', () => {
    // 1h + 1h of 5 s windows = 1440 open windows per node; with 10 s windows, 720 is the limit.
    expect(messages(`pipeline: { windows: [5s, 1m], maxOutOfOrder: 1h, allowedLateness: 1h }\n${SITE}`)).toEqual([
      'pipeline.allowedLateness: maxOutOfOrder + allowedLateness (2h) keeps 1440 windows of 5s open per node, more than 720: shorten them or use a larger smallest window',
    ]);
    const c = ok(`pipeline: { windows: [10s, 1m], maxOutOfOrder: 1h, allowedLateness: 1h }\n${SITE}`);
    expect([c.engine.maxOutOfOrderMs, c.engine.allowedLatenessMs]).toEqual([3_600_000, 3_600_000]);
  });

  it('accepts every bound itself: hourly data in weekly and monthly windows', () => {
    const c = ok(`pipeline: { windows: [1h, 7d, 31d], maxOutOfOrder: 1d, allowedLateness: 1d, maxHold: 1d, idleTimeout: 1d, maxClockSkew: 1d, trendWindows: 1000, watermarkQuorum: 100 }\n${SITE}`);
    expect(c.engine).toMatchObject({ windowsMs: [3_600_000, 604_800_000, 2_678_400_000], maxHoldMs: 86_400_000, maxClockSkewMs: 86_400_000, trendWindows: 1000, watermarkQuorum: 100 });
  });
});

describe('durations need a unit', () => {
  it('a bare number in windows is refused instead of read as milliseconds', () => {
    expect(messages(`pipeline: { windows: [10] }\n${SITE}`)).toEqual(['pipeline.windows[0]: duration 10 has no unit: write e.g. 10s or 10ms (units ms, s, m, h, d)']);
  });

  it('everywhere a config takes a duration, alert rules included; a bare 0 stays allowed', () => {
    expect(messages(`pipeline: { maxOutOfOrder: 2000 }\n${SITE}`)).toEqual(['pipeline.maxOutOfOrder: duration 2000 has no unit: write e.g. 2000s or 2000ms (units ms, s, m, h, d)']);
    expect(messages(`${SITE}alerts: { rules: [{ name: x, metric: stale_meter, warning: 30, for: 60 }] }\n`)).toEqual([
      'alerts.rules[0].warning: duration 30 has no unit: write e.g. 30s or 30ms (units ms, s, m, h, d)',
      'alerts.rules[0].for: duration 60 has no unit: write e.g. 60s or 60ms (units ms, s, m, h, d)',
    ]);
    expect(ok(`pipeline: { maxOutOfOrder: 0, allowedLateness: 0s }\n${SITE}`).engine).toMatchObject({ maxOutOfOrderMs: 0, allowedLatenessMs: 0 });
  });
});

describe('power bounds', () => {
  it('a rating or contract beyond 10 TW is a unit mistake', () => {
    expect(messages(['sites:', '  - id: s1', '    contract: 1e15', '    nodes:', '      - { id: a, level: rack, rating: 1e300, meters: [m1] }', ''].join('\n'))).toEqual([
      "sites[0].contract: contract 1000000GW is more than 10TW (the world's generating capacity): check the unit",
      "sites[0].nodes[0].rating: rating 1e+291GW is more than 10TW (the world's generating capacity): check the unit",
    ]);
    expect(ok(SITE.replace('rating: 10kW', 'rating: 10000GW')).topology.sites[0]?.nodes[0]?.ratingWatts).toBe(10e12);
  });
});
