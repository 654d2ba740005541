import type { AlertEvent, EngineSettings, NodeSpec, NodeWindow, SiteSpec, SiteWindow, Topology, WindowResult } from '../../../../src/domain/index.js';
import { parseAlertRule, type AlertRuleInput } from '../../../../src/config/index.js';
import type { AlertsConfig } from '../../../../src/core/alerts/index.js';

const W = 10_000;
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

const settings: EngineSettings = {
  windowsMs: [W, 60_000],
  maxOutOfOrderMs: 2_000,
  allowedLatenessMs: 10_000,
  maxHoldMs: 5_000,
  maxCounterGapMs: 900_000,
  idleTimeoutMs: 30_000,
  maxClockSkewMs: 300_000,
  completenessThreshold: 0.9,
  trendWindows: 3,
  watermarkQuorum: 3,
};

function nodeSpec(id: string, parent: string | null, level: string, ratingWatts: number, meters: string[], extra: Partial<NodeSpec> = {}): NodeSpec {
  return { id, parent, level, ratingWatts, derate: 0.8, meters, ...extra };
}

function siteSpec(id: string, nodes: NodeSpec[], extra: Partial<SiteSpec> = {}): SiteSpec {
  return { id, nominalHertz: 60, billingPeriod: 'month', demandIntervalMs: 900_000, nodes, gridMeters: [], ...extra };
}

/** s1: ups (1 MW, meters via children) → pdu-a, pdu-b (100 kW each, 80 kW usable), pdu-a/pdu-b a redundant pair. */
const topology: Topology = {
  sites: [
    siteSpec('s1', [
      nodeSpec('ups', null, 'ups', 1_000_000, [], { role: 'facility' }),
      nodeSpec('pdu-a', 'ups', 'pdu', 100_000, ['ma'], { redundantWith: 'pdu-b' }),
      nodeSpec('pdu-b', 'ups', 'pdu', 100_000, ['mb'], { redundantWith: 'pdu-a' }),
    ], { contractWatts: 1_000_000 }),
  ],
};

/** Rules as given; without clearFor they end at the first clear window (the tests of clearFor set it). */
function config(rules: AlertRuleInput[], revisions: 'first' | 'final' = 'first'): AlertsConfig {
  return {
    revisions,
    allowedLatenessMs: settings.allowedLatenessMs,
    trendWindows: settings.trendWindows,
    // A trend horizon of trendWindows windows: time to breach is trusted after 3 stable windows.
    trendHorizonMs: settings.trendWindows * W,
    rules: rules.map((r) => parseAlertRule({ clearFor: '0s', ...r }, settings)),
  };
}

/** Window k (0-based) of size W: [T0 + k W, T0 + (k + 1) W). */
const endOf = (k: number, windowMs = W): number => T0 + (k + 1) * windowMs;

function nodeWindow(node: NodeSpec, k: number, loadWatts: number, extra: Partial<NodeWindow> = {}, site = 's1', windowMs = W): NodeWindow {
  const usableWatts = node.ratingWatts * node.derate;
  return {
    type: 'node',
    site,
    node: node.id,
    level: node.level,
    windowMs,
    start: T0 + k * windowMs,
    end: T0 + (k + 1) * windowMs,
    revision: 0,
    loadWatts,
    peakWatts: loadWatts,
    minWatts: loadWatts,
    energyWh: (loadWatts * windowMs) / 3_600_000,
    ratingWatts: node.ratingWatts,
    usableWatts,
    headroomWatts: usableWatts - loadWatts,
    utilization: loadWatts / node.ratingWatts,
    failoverHeadroomWatts: null,
    completeness: 1,
    headroomCertain: true,
    childrenLoadWatts: null,
    unmeteredWatts: null,
    rampWattsPerSecond: null,
    timeToBreachSeconds: null,
    swingWatts: null,
    swingPeriodSeconds: null,
    swingPeriodShare: null,
    ...extra,
  };
}

function siteWindow(k: number, extra: Partial<SiteWindow> = {}, site = 's1', windowMs = W): SiteWindow {
  return {
    type: 'site',
    site,
    windowMs,
    start: T0 + k * windowMs,
    end: T0 + (k + 1) * windowMs,
    revision: 0,
    facilityWatts: null,
    itWatts: null,
    pue: null,
    contractWatts: 1_000_000,
    contractHeadroomWatts: null,
    demandWatts: null,
    demandIntervalStart: null,
    periodPeakWatts: null,
    periodStart: null,
    gridHertz: null,
    hertzDeviation: null,
    pricePerMWh: null,
    energyCost: null,
    carbonGramsPerKWh: null,
    carbonGrams: null,
    ...extra,
  };
}

/** Compact form of events for exact sequence checks: `state severity node @k` with k the window index. */
function brief(events: readonly AlertEvent[], windowMs = W): string[] {
  return events.map((e) => `${e.rule} ${e.severity} ${e.state} ${e.node ?? e.site} @${(e.atMs - T0) / windowMs - 1}`);
}

import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../../src/core/alerts/index.js';
import { SnapshotError } from '../../../../src/core/index.js';

const [ups, pduA, pduB] = topology.sites[0]!.nodes as [NodeSpec, NodeSpec, NodeSpec];

/** One tick: the given node windows plus a site window. */
function tick(k: number, nodes: NodeWindow[], site: Partial<SiteWindow> = {}): WindowResult[] {
  return [...nodes, siteWindow(k, site)];
}

const headroomRule: AlertRuleInput = {
  name: 'headroom_low',
  metric: 'headroom',
  warning: { at: '15%', clear: '20%' },
  critical: { at: '5%', clear: '8%' },
  for: '30s',
  scope: { levels: ['pdu'] },
  annotations: { summary: '{{node}} at {{site}}: {{value}} < {{threshold}}', runbook_url: 'https://rb/{{site}}/{{node}}?v={{value}}' },
};

/** pdu-a usable 80 kW: load → headroom share of usable. */
const loadFor = (headroomShare: number): number => 80_000 * (1 - headroomShare);

function run(engine: AlertEngine, loads: number[], extra: (k: number) => Partial<NodeWindow> = () => ({})): AlertEvent[] {
  const out: AlertEvent[] = [];
  loads.forEach((load, k) => out.push(...engine.evaluate(tick(k, [nodeWindow(pduA, k, load, extra(k))]))));
  return out;
}

describe('alert engine: headroom, for, hysteresis', () => {
  it('goes pending, fires after `for`, resolves past the clear threshold, at window ends', () => {
    const engine = new AlertEngine(topology, config([headroomRule]));
    const shares = [0.3, 0.1, 0.1, 0.1, 0.1, 0.18, 0.18, 0.25];
    const events = run(engine, shares.map(loadFor));
    expect(brief(events)).toEqual([
      'headroom_low warning pending pdu-a @1',
      // breach since start of window 1; window 3 ends 30 s later
      'headroom_low warning firing pdu-a @3',
      // 18 % is inside the band (15..20 %): still firing; 25 % clears
      'headroom_low warning resolved pdu-a @7',
    ]);
    expect(events[0]!.atMs).toBe(endOf(1));
    expect(events[1]!.value).toBeCloseTo(8000, 6);
    expect(events[1]!.threshold).toBeCloseTo(12_000, 6);
    expect(events[1]!.labels).toEqual({ alertname: 'headroom_low', severity: 'warning', site: 's1', node: 'pdu-a', level: 'pdu', window: '10s' });
    expect(events[1]!.annotations['summary']).toBe('pdu-a at s1: 8 kW < 12 kW');
    expect(events[1]!.annotations['runbook_url']).toBe('https://rb/s1/pdu-a?v=8 kW');
  });

  it('a value oscillating inside the hysteresis band never flaps', () => {
    const engine = new AlertEngine(topology, config([{ ...headroomRule, for: '0s' }]));
    // first breach, then oscillating between 14 % and 19 % (band 15..20 %): one firing, no resolution
    const shares = [0.14, 0.19, 0.16, 0.19, 0.17, 0.19, 0.16, 0.19];
    expect(brief(run(engine, shares.map(loadFor)))).toEqual(['headroom_low warning firing pdu-a @0']);
    expect(engine.activeAlerts().map((a) => `${a.rule} ${a.severity} ${a.state} ${a.node}`)).toEqual(['headroom_low warning firing pdu-a']);
  });

  it('without a band (scalar threshold) the same oscillation across the threshold does flap', () => {
    const engine = new AlertEngine(topology, config([{ ...headroomRule, warning: '15%', critical: undefined, for: '0s' }]));
    const shares = [0.14, 0.16, 0.14, 0.16];
    expect(brief(run(engine, shares.map(loadFor)))).toHaveLength(4);
  });

  it('a breach shorter than `for` goes pending and ends without a resolved event (it never fired)', () => {
    const engine = new AlertEngine(topology, config([headroomRule]));
    const shares = [0.1, 0.1, 0.25];
    expect(brief(run(engine, shares.map(loadFor)))).toEqual(['headroom_low warning pending pdu-a @0']);
    expect(engine.activeAlerts()).toEqual([]);
  });

  it('clearFor: a swinging value goes pending once per episode; without it every swing is a new pending', () => {
    // Breach (10 %) and clear (30 %) alternate window by window for 20 windows, then clear.
    const shares = [...Array.from({ length: 20 }, (_, k) => (k % 2 === 0 ? 0.1 : 0.3)), ...Array(8).fill(0.3)];
    const held = new AlertEngine(topology, config([{ ...headroomRule, clearFor: '1m' }]));
    const heldEvents = run(held, shares.map(loadFor));
    // Never 30 s of continuous breach: no firing; the episode ends silently 1 min after the last breach.
    expect(brief(heldEvents)).toEqual(['headroom_low warning pending pdu-a @0']);
    expect(held.activeAlerts()).toEqual([]);
    const flapping = run(new AlertEngine(topology, config([headroomRule])), shares.map(loadFor));
    expect(brief(flapping)).toEqual(Array.from({ length: 10 }, (_, i) => `headroom_low warning pending pdu-a @${2 * i}`));
  });

  it('clearFor: a firing alert rides out a short clear and resolves once clear for that long', () => {
    const engine = new AlertEngine(topology, config([{ ...headroomRule, clearFor: '30s' }]));
    // Breach from window 0 (fires at window 2: 30 s), clear in window 4, breach in 5, clear from 6 on.
    const shares = [0.1, 0.1, 0.1, 0.1, 0.3, 0.1, 0.3, 0.3, 0.3, 0.3];
    expect(brief(run(engine, shares.map(loadFor)))).toEqual([
      'headroom_low warning pending pdu-a @0',
      'headroom_low warning firing pdu-a @2',
      // clear since the start of window 6; window 8 ends 30 s later
      'headroom_low warning resolved pdu-a @8',
    ]);
  });

  it('warning and critical are separate alerts with their own thresholds', () => {
    const engine = new AlertEngine(topology, config([{ ...headroomRule, for: '0s' }]));
    const shares = [0.1, 0.03, 0.06, 0.09, 0.3];
    expect(brief(run(engine, shares.map(loadFor)))).toEqual([
      'headroom_low warning firing pdu-a @0',
      'headroom_low critical firing pdu-a @1',
      // 6 % is inside the critical band (5..8 %); 9 % clears critical, warning stays (band 15..20)
      'headroom_low critical resolved pdu-a @3',
      'headroom_low warning resolved pdu-a @4',
    ]);
  });

  it('absolute power thresholds', () => {
    const engine = new AlertEngine(topology, config([{ ...headroomRule, warning: { at: '10kW', clear: '15kW' }, critical: undefined, for: '0s' }]));
    // usable 80 kW: headroom 11, 9 (breach), 14 (band 10..15 kW), 16 kW (clear)
    expect(brief(run(engine, [69_000, 71_000, 66_000, 64_000]))).toEqual(['headroom_low warning firing pdu-a @1', 'headroom_low warning resolved pdu-a @3']);
  });
});

describe('alert engine: uncertain headroom', () => {
  it('a node with headroomCertain=false never resolves; it resolves once certain again', () => {
    const engine = new AlertEngine(topology, config([{ ...headroomRule, for: '0s' }]));
    const loads = [loadFor(0.1), loadFor(0.5), loadFor(0.5), loadFor(0.5)];
    const certain = [true, false, false, true];
    const events = run(engine, loads, (k) => ({ headroomCertain: certain[k]!, completeness: certain[k] ? 1 : 0.5 }));
    expect(brief(events)).toEqual(['headroom_low warning firing pdu-a @0', 'headroom_low warning resolved pdu-a @3']);
  });

  it('an uncertain node still fires when even its partial load breaches (load is a lower bound)', () => {
    const engine = new AlertEngine(topology, config([{ ...headroomRule, for: '0s' }]));
    const events = run(engine, [loadFor(0.1)], () => ({ headroomCertain: false, completeness: 0.5 }));
    expect(brief(events)).toEqual(['headroom_low warning firing pdu-a @0']);
  });

  it('a missing node window keeps the state (no resolution, no promotion)', () => {
    const engine = new AlertEngine(topology, config([headroomRule]));
    const out: AlertEvent[] = [];
    out.push(...engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.1))])));
    for (let k = 1; k < 6; k++) out.push(...engine.evaluate(tick(k, [])));
    expect(brief(out)).toEqual(['headroom_low warning pending pdu-a @0']);
    expect(engine.activeAlerts()[0]?.state).toBe('pending');
  });
});

describe('alert engine: inhibition by topology', () => {
  const rule: AlertRuleInput = { ...headroomRule, scope: {}, for: '0s' };
  it('a firing rule on a node suppresses the same rule on its descendants', () => {
    const engine = new AlertEngine(topology, config([rule]));
    const out: AlertEvent[] = [];
    // k0: only pdu-a breaches. k1: the UPS breaches too (pdu-a is inhibited: resolved).
    // k2: UPS clears: pdu-a is announced again.
    out.push(...engine.evaluate(tick(0, [nodeWindow(ups, 0, 500_000), nodeWindow(pduA, 0, loadFor(0.1))])));
    out.push(...engine.evaluate(tick(1, [nodeWindow(ups, 1, 750_000), nodeWindow(pduA, 1, loadFor(0.1))])));
    out.push(...engine.evaluate(tick(2, [nodeWindow(ups, 2, 500_000), nodeWindow(pduA, 2, loadFor(0.1))])));
    expect(brief(out)).toEqual([
      'headroom_low warning firing pdu-a @0',
      'headroom_low warning firing ups @1',
      'headroom_low warning resolved pdu-a @1',
      'headroom_low warning resolved ups @2',
      'headroom_low warning firing pdu-a @2',
    ]);
    expect(out[2]!.annotations['inhibitedBy']).toBe('ups');
  });

  it('a warning on the parent does not suppress a critical on the child', () => {
    const engine = new AlertEngine(topology, config([rule]));
    const out = engine.evaluate(tick(0, [nodeWindow(ups, 0, 750_000), nodeWindow(pduA, 0, loadFor(0.01))]));
    expect(brief(out)).toEqual(['headroom_low warning firing ups @0', 'headroom_low critical firing pdu-a @0']);
    expect(engine.activeAlerts().map((a) => `${a.node} ${a.severity}`)).toEqual(['ups warning', 'pdu-a critical']);
  });
});

describe('alert engine: rule kinds', () => {
  it('utilization above a ratio', () => {
    const engine = new AlertEngine(topology, config([{ name: 'util', metric: 'utilization', warning: { at: '90%', clear: '85%' }, scope: { nodes: ['pdu-a'] } }]));
    expect(brief(run(engine, [80_000, 91_000, 87_000, 84_000]))).toEqual(['util warning firing pdu-a @1', 'util warning resolved pdu-a @3']);
  });

  it('failover headroom: negative is critical; an uncertain partner keeps the state', () => {
    const engine = new AlertEngine(topology, config([{ name: 'fo', metric: 'failover_headroom', critical: { at: '0%', clear: '2%' } }]));
    const out: AlertEvent[] = [];
    const fo = (k: number, failover: number, partnerCertain = true): WindowResult[] =>
      tick(k, [
        nodeWindow(pduA, k, 45_000, { failoverHeadroomWatts: failover }),
        nodeWindow(pduB, k, 40_000, { failoverHeadroomWatts: failover, headroomCertain: partnerCertain, completeness: partnerCertain ? 1 : 0.5 }),
      ]);
    out.push(...engine.evaluate(fo(0, -5_000)));
    out.push(...engine.evaluate(fo(1, 10_000, false)));
    out.push(...engine.evaluate(fo(2, 10_000)));
    expect(brief(out)).toEqual([
      'fo critical firing pdu-a @0',
      'fo critical firing pdu-b @0',
      // k1: pdu-a's figure includes pdu-b's uncertain load: pdu-a holds; pdu-b itself is uncertain: holds
      'fo critical resolved pdu-a @2',
      'fo critical resolved pdu-b @2',
    ]);
  });

  it('failover rules only target nodes with redundancy', () => {
    const engine = new AlertEngine(topology, config([{ name: 'fo', metric: 'failover_headroom', critical: '0%' }]));
    const out = engine.evaluate(tick(0, [nodeWindow(ups, 0, 900_000, { failoverHeadroomWatts: -1 })]));
    expect(out).toEqual([]);
  });

  it('ramp rate above a limit, in absolute value; a change of reporting meters is not a ramp', () => {
    const engine = new AlertEngine(topology, config([{ name: 'ramp', metric: 'ramp_rate', scope: { roles: ['facility'] }, warning: { at: '600kW/min', clear: '300kW/min' } }]));
    // 600 kW/min = 10 kW/s
    const ramps = [null, 12_000, -15_000, 8_000, 4_000, 20_000, 1_000];
    const completeness = [1, 1, 1, 1, 1, 0.5, 1];
    const out: AlertEvent[] = [];
    ramps.forEach((ramp, k) => {
      out.push(...engine.evaluate(tick(k, [nodeWindow(ups, k, 500_000, { rampWattsPerSecond: ramp, completeness: completeness[k]!, headroomCertain: completeness[k]! >= 0.9 })])));
    });
    expect(brief(out)).toEqual(['ramp warning firing ups @1', 'ramp warning resolved ups @4']);
    expect(out[0]!.value).toBe(12_000);
    expect(out[0]!.threshold).toBe(10_000);
  });

  it('ramp limits relative to usable capacity, overridden per site', () => {
    const rules = config([
      {
        name: 'ramp',
        metric: 'ramp_rate',
        scope: { roles: ['facility'] },
        warning: '10%/min',
        overrides: [{ sites: ['s1'], warning: '1.2MW/min' }],
      },
    ]);
    expect(rules.rules[0]!.warning!.at).toEqual({ value: 0.1 / 60, relative: true });
    const engine = new AlertEngine(topology, rules);
    engine.evaluate(tick(0, [nodeWindow(ups, 0, 500_000, { rampWattsPerSecond: 15_000 })]));
    const out = engine.evaluate(tick(1, [nodeWindow(ups, 1, 500_000, { rampWattsPerSecond: 25_000 })]));
    // override: 1.2 MW/min = 20 kW/s (15 kW/s did not fire, 25 kW/s does)
    expect(brief(out)).toEqual(['ramp warning firing ups @1']);
  });

  it('completeness below a ratio', () => {
    const engine = new AlertEngine(topology, config([{ name: 'compl', metric: 'completeness', warning: { at: 0.9, clear: 0.95 }, scope: { nodes: ['ups'] } }]));
    const values = [1, 0.5, 0.92, 0.5, 1];
    const out: AlertEvent[] = [];
    values.forEach((c, k) => out.push(...engine.evaluate(tick(k, [nodeWindow(ups, k, 1, { completeness: c, headroomCertain: c >= 0.9 })]))));
    expect(brief(out)).toEqual(['compl warning firing ups @1', 'compl warning resolved ups @4']);
  });

  it('stale meter: a node without a window for the threshold; its data coming back resolves', () => {
    const engine = new AlertEngine(topology, config([{ name: 'stale', metric: 'stale_meter', warning: '30s', critical: '1m', scope: { levels: ['pdu'] } }]));
    const out: AlertEvent[] = [];
    for (let k = 0; k < 10; k++) {
      const nodes = [nodeWindow(pduB, k, 1)];
      if (k < 2 || k >= 9) nodes.push(nodeWindow(pduA, k, 1));
      out.push(...engine.evaluate(tick(k, nodes)));
    }
    // last data in window 1 (ends at endOf(1)); 30 s later is endOf(4), but the threshold is exceeded strictly at endOf(5)
    expect(brief(out)).toEqual(['stale warning firing pdu-a @5', 'stale critical firing pdu-a @8', 'stale warning resolved pdu-a @9', 'stale critical resolved pdu-a @9']);
    expect(out[0]!.value).toBe(40);
  });

  it('stale meter: a silent parent inhibits its silent children', () => {
    const engine = new AlertEngine(topology, config([{ name: 'stale', metric: 'stale_meter', warning: '20s' }]));
    const out: AlertEvent[] = [];
    for (let k = 0; k < 5; k++) out.push(...engine.evaluate(tick(k, k === 0 ? [nodeWindow(ups, 0, 1), nodeWindow(pduA, 0, 1), nodeWindow(pduB, 0, 1)] : [])));
    expect(brief(out)).toEqual(['stale warning firing ups @3']);
  });

  it('time to breach: below a duration; an absent trend clears; trusted after trendWindows stable windows', () => {
    const engine = new AlertEngine(topology, config([{ name: 'ttb', metric: 'time_to_breach', warning: { at: '15m', clear: '20m' }, scope: { nodes: ['pdu-a'] } }]));
    const ttb = [600, 600, 600, 600, 1000, 1300, null];
    const completeness = [0.5, 1, 1, 1, 1, 1, 1];
    const out: AlertEvent[] = [];
    ttb.forEach((t, k) => out.push(...engine.evaluate(tick(k, [nodeWindow(pduA, k, 1, { timeToBreachSeconds: t, completeness: completeness[k]!, headroomCertain: completeness[k]! >= 0.9 })]))));
    // completeness stable from window 1: trendWindows (3) windows at window 3; 1000 s is in the band; 1300 s clears
    expect(brief(out)).toEqual(['ttb warning firing pdu-a @3', 'ttb warning resolved pdu-a @5']);
  });

  it('swing above a share of the rating, on 1-minute windows; a window without swing metrics keeps the state', () => {
    const engine = new AlertEngine(topology, config([{ name: 'swing', metric: 'swing', window: '1m', warning: { at: '40%', clear: '30%' }, for: '2m', scope: { nodes: ['pdu-a'] } }]));
    // pdu-a is rated 100 kW: 45 kW of swing is 45 % of it, 35 kW is inside the band, 25 kW clears.
    const swings = [20_000, 45_000, 45_000, 45_000, null, 35_000, 25_000];
    const out: AlertEvent[] = [];
    swings.forEach((sw, k) => out.push(...engine.evaluate([nodeWindow(pduA, k, 50_000, { swingWatts: sw }, 's1', 60_000), siteWindow(k, {}, 's1', 60_000)])));
    // Breach from the start of window 1; window 2 ends 2 min later.
    expect(brief(out, 60_000)).toEqual(['swing warning pending pdu-a @1', 'swing warning firing pdu-a @2', 'swing warning resolved pdu-a @6']);
    expect(out[1]!.threshold).toBe(40_000);
  });

  it('minUtilization: below the floor a node counts as clear', () => {
    const engine = new AlertEngine(topology, config([{ name: 'ttb', metric: 'time_to_breach', warning: '15m', minUtilization: '50%', scope: { nodes: ['pdu-a'] } }]));
    // 40 kW of a 100 kW rating is 40 %: a 10-minute time to breach is no page; at 60 kW it is.
    const loads = [40_000, 40_000, 40_000, 40_000, 60_000, 60_000];
    const out: AlertEvent[] = [];
    loads.forEach((l, k) => out.push(...engine.evaluate(tick(k, [nodeWindow(pduA, k, l, { timeToBreachSeconds: 600 })]))));
    expect(brief(out)).toEqual(['ttb warning firing pdu-a @4']);
  });

  it('time to breach: an absent trend (flat or falling) clears', () => {
    const engine = new AlertEngine(topology, config([{ name: 'ttb', metric: 'time_to_breach', warning: '15m', scope: { nodes: ['pdu-a'] } }]));
    const ttb = [600, 600, 600, null];
    const out: AlertEvent[] = [];
    ttb.forEach((t, k) => out.push(...engine.evaluate(tick(k, [nodeWindow(pduA, k, 1, { timeToBreachSeconds: t })]))));
    expect(brief(out)).toEqual(['ttb warning firing pdu-a @2', 'ttb warning resolved pdu-a @3']);
    expect(out[1]!.value).toBeNull();
  });

  it('demand against the period peak and against the contract', () => {
    const engine = new AlertEngine(
      topology,
      config([
        { name: 'peak', metric: 'demand', of: 'period_peak', warning: { at: '95%', clear: '92%' } },
        { name: 'contract', metric: 'demand', of: 'contract', critical: { at: '98%', clear: '95%' } },
      ]),
    );
    const demand = [800_000, 960_000, 985_000, 930_000, 900_000];
    const out: AlertEvent[] = [];
    demand.forEach((d, k) => out.push(...engine.evaluate(tick(k, [nodeWindow(ups, k, d)], { demandWatts: d, periodPeakWatts: 1_000_000, contractWatts: 1_000_000 }))));
    expect(brief(out)).toEqual(['peak warning firing s1 @1', 'contract critical firing s1 @2', 'contract critical resolved s1 @3', 'peak warning resolved s1 @4']);
    expect(out[0]!.node).toBeNull();
    expect(out[0]!.labels).toEqual({ alertname: 'peak', severity: 'warning', site: 's1', window: '10s' });
  });

  it('demand with an incomplete facility meter set does not resolve', () => {
    const engine = new AlertEngine(topology, config([{ name: 'peak', metric: 'demand', warning: '95%' }]));
    const out: AlertEvent[] = [];
    out.push(...engine.evaluate(tick(0, [nodeWindow(ups, 0, 1)], { demandWatts: 990_000, periodPeakWatts: 1_000_000 })));
    out.push(...engine.evaluate(tick(1, [nodeWindow(ups, 1, 1, { headroomCertain: false, completeness: 0.5 })], { demandWatts: 500_000, periodPeakWatts: 1_000_000 })));
    out.push(...engine.evaluate(tick(2, [nodeWindow(ups, 2, 1)], { demandWatts: 500_000, periodPeakWatts: 1_000_000 })));
    expect(brief(out)).toEqual(['peak warning firing s1 @0', 'peak warning resolved s1 @2']);
  });

  it('grid frequency outside the band around nominal', () => {
    const engine = new AlertEngine(topology, config([{ name: 'hz', metric: 'grid_frequency', warning: { at: '0.1Hz', clear: '0.05Hz' }, critical: '0.2Hz' }]));
    const hz = [60.01, 59.88, 59.93, 60.25, 60.04];
    const out: AlertEvent[] = [];
    hz.forEach((h, k) => out.push(...engine.evaluate(tick(k, [], { gridHertz: h, hertzDeviation: Math.round((h - 60) * 1e6) / 1e6 }))));
    expect(brief(out)).toEqual(['hz warning firing s1 @1', 'hz critical firing s1 @3', 'hz warning resolved s1 @4', 'hz critical resolved s1 @4']);
    expect(out[0]!.annotations['summary']).toContain('0.12 Hz');
  });
});

describe('alert engine: revisions, windows, snapshots', () => {
  const rule: AlertRuleInput = { ...headroomRule, for: '0s' };

  it('first: evaluates revision 0 only', () => {
    const engine = new AlertEngine(topology, config([rule], 'first'));
    const out = [
      ...engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.3))])),
      ...engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.1), { revision: 1 })]).map((r) => ({ ...r, revision: 1 }))),
    ];
    expect(out).toEqual([]);
  });

  it('final: evaluates each window once, in its last revision, when a later window shows it is final', () => {
    const engine = new AlertEngine(topology, config([rule], 'final'));
    const rev = (rs: WindowResult[], revision: number): WindowResult[] => rs.map((r) => ({ ...r, revision }));
    expect(engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.3))]))).toEqual([]);
    // restatement of window 0 (a late reading): now breaching
    expect(engine.evaluate(rev(tick(0, [nodeWindow(pduA, 0, loadFor(0.1))]), 1))).toEqual([]);
    // window 1 ends allowed lateness (10 s) after window 0: the site's watermark is past 0's end + 10 s
    expect(brief(engine.evaluate(tick(1, [nodeWindow(pduA, 1, loadFor(0.3))])))).toEqual(['headroom_low warning firing pdu-a @0']);
    expect(brief(engine.evaluate(tick(2, [nodeWindow(pduA, 2, loadFor(0.3))])))).toEqual(['headroom_low warning resolved pdu-a @1']);
    expect(brief(engine.flush())).toEqual([]);
  });

  it('final: a watermark finalises windows of a quiet site; flush evaluates the rest', () => {
    const engine = new AlertEngine(topology, config([rule], 'final'));
    expect(engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.1))]))).toEqual([]);
    expect(brief(engine.evaluate([], { s1: endOf(0) + 10_000 }))).toEqual(['headroom_low warning firing pdu-a @0']);
    engine.evaluate(tick(1, [nodeWindow(pduA, 1, loadFor(0.3))]));
    expect(brief(engine.flush())).toEqual(['headroom_low warning resolved pdu-a @1']);
  });

  it('evaluates on its own window size only', () => {
    const engine = new AlertEngine(topology, config([{ ...rule, window: '1m' }]));
    expect(engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.1))]))).toEqual([]);
    const out = engine.evaluate([nodeWindow(pduA, 0, loadFor(0.1), {}, 's1', 60_000)]);
    expect(out.map((e) => [e.state, e.windowMs, e.atMs])).toEqual([['firing', 60_000, T0 + 60_000]]);
  });

  it('a window evaluated before (a replayed stretch) raises nothing again', () => {
    const engine = new AlertEngine(topology, config([rule]));
    expect(engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.1))]))).toHaveLength(1);
    expect(engine.evaluate(tick(0, [nodeWindow(pduA, 0, loadFor(0.3))]))).toEqual([]);
  });

  it('snapshot and restore continue exactly where the engine was', () => {
    for (const revisions of ['first', 'final'] as const) {
      const cfg = config([headroomRule, { name: 'stale', metric: 'stale_meter', warning: '20s' }], revisions);
      const loads = [0.3, 0.1, 0.1, 0.1, 0.18, 0.1, 0.25, 0.25].map(loadFor);
      const ticks = loads.map((l, k) => tick(k, k === 3 || k === 4 ? [] : [nodeWindow(pduA, k, l)]));
      const straight = new AlertEngine(topology, cfg);
      const all = [...ticks.flatMap((t) => straight.evaluate(t)), ...straight.flush()];
      for (let cut = 0; cut <= ticks.length; cut++) {
        const first = new AlertEngine(topology, cfg);
        const part1 = ticks.slice(0, cut).flatMap((t) => first.evaluate(t));
        const restored = AlertEngine.restore(topology, cfg, first.snapshot());
        expect(restored.activeAlerts()).toEqual(first.activeAlerts());
        const part2 = [...ticks.slice(cut).flatMap((t) => restored.evaluate(t)), ...restored.flush()];
        expect([...part1, ...part2]).toEqual(all);
      }
      expect(all.length).toBeGreaterThan(2);
    }
  });

  it('restore rejects corrupt bytes with SnapshotError', () => {
    const cfg = config([headroomRule]);
    expect(() => AlertEngine.restore(topology, cfg, new TextEncoder().encode('{"nope":1}'))).toThrow(SnapshotError);
    expect(() => AlertEngine.restore(topology, cfg, new TextEncoder().encode('{not json'))).toThrow(SnapshotError);
  });

  it('activeAlerts lists pending and firing alerts with their since times', () => {
    const engine = new AlertEngine(topology, config([headroomRule]));
    run(engine, [0.1, 0.1, 0.1, 0.03].map(loadFor));
    expect(engine.activeAlerts().map((a) => ({ ...a, labels: undefined, annotations: undefined }))).toEqual([
      { rule: 'headroom_low', severity: 'warning', site: 's1', node: 'pdu-a', level: 'pdu', state: 'firing', activeSinceMs: T0, firingSinceMs: endOf(2), value: 80_000 * 0.03, threshold: 12_000, windowMs: W, labels: undefined, annotations: undefined },
      { rule: 'headroom_low', severity: 'critical', site: 's1', node: 'pdu-a', level: 'pdu', state: 'pending', activeSinceMs: T0 + 3 * W, firingSinceMs: null, value: 80_000 * 0.03, threshold: 4_000, windowMs: W, labels: undefined, annotations: undefined },
    ]);
  });
});
