/**
 * What one window says about one alert target: the metric's value and whether a breach, a
 * clear or nothing can be concluded from it. Pure.
 */
import type { NodeSpec, NodeWindow, SiteWindow } from '../../domain/index.js';
import { METRIC_DIRECTION, type AlertRule, type SeverityThreshold, type Threshold } from './types.js';

/** The windows of one site, one size, one end time (all nodes and the site record). */
export interface Tick {
  site: string;
  windowMs: number;
  start: number;
  end: number;
  revision: number;
  nodes: Map<string, NodeWindow>;
  siteWindow: SiteWindow | null;
}

/** Per-target memory across windows (completeness stability, staleness). */
export interface TargetMemory {
  /** End of the last window the node had data in (NaN before the first window). */
  lastDataEndMs: number;
  /** Completeness in the previous window (NaN when the node had no window). */
  prevCompleteness: number;
  /** Consecutive windows with the same completeness, this one included. */
  stableWindows: number;
}

export function newTargetMemory(): TargetMemory {
  return { lastDataEndMs: NaN, prevCompleteness: NaN, stableWindows: 0 };
}

/**
 * - `known: false`: the window says nothing (node missing, value absent or untrustworthy):
 *   every instance keeps its state.
 * - `value: null` with `known: true`: nothing to breach (time to breach without a rising
 *   trend): clears.
 * - `trustClear: false`: the value is a bound, not a measurement (headroom with meters
 *   missing is an upper bound): a breach counts, a clear does not.
 */
export interface Observation {
  known: boolean;
  value: number | null;
  /** What relative thresholds are a fraction of (usable watts, demand reference); null: none. */
  base: number | null;
  trustClear: boolean;
}

const UNKNOWN: Observation = { known: false, value: null, base: null, trustClear: false };

export interface TargetContext {
  rule: AlertRule;
  /** The node, or null for a site rule. */
  node: NodeSpec | null;
  /** Id of the site's facility node (demand trust), or null. */
  facilityId: string | null;
  memory: TargetMemory;
}

/** Updates the target's memory with this window and observes the rule's metric (`trendWindows`: see time_to_breach). */
export function observe(ctx: TargetContext, tick: Tick, trendWindows: number): Observation {
  const { rule, node, memory } = ctx;
  if (node === null) return observeSite(ctx, tick);
  const nw = tick.nodes.get(node.id);
  if (nw === undefined) {
    if (Number.isNaN(memory.lastDataEndMs)) memory.lastDataEndMs = tick.start;
    memory.prevCompleteness = NaN;
    memory.stableWindows = 0;
  } else {
    memory.lastDataEndMs = tick.end;
    memory.stableWindows = nw.completeness === memory.prevCompleteness ? memory.stableWindows + 1 : 1;
    memory.prevCompleteness = nw.completeness;
  }
  if (rule.metric === 'stale_meter') {
    return { known: true, value: (tick.end - memory.lastDataEndMs) / 1000, base: null, trustClear: true };
  }
  if (nw === undefined) return UNKNOWN;
  // Below the rule's utilization floor there is nothing to page about.
  if (rule.minUtilization !== undefined && rule.metric !== 'completeness' && nw.utilization < rule.minUtilization) {
    return { known: true, value: null, base: null, trustClear: nw.headroomCertain };
  }
  switch (rule.metric) {
    case 'headroom':
      return { known: true, value: nw.headroomWatts, base: nw.usableWatts, trustClear: nw.headroomCertain };
    case 'utilization':
      return { known: true, value: nw.utilization, base: null, trustClear: nw.headroomCertain };
    case 'failover_headroom': {
      if (nw.failoverHeadroomWatts === null) return UNKNOWN;
      // The partner's load is part of the figure: its meters must be trusted too.
      const partner = node.redundantWith === undefined ? undefined : tick.nodes.get(node.redundantWith);
      const partnerCertain = node.redundantWith === undefined || (partner !== undefined && partner.headroomCertain);
      return { known: true, value: nw.failoverHeadroomWatts, base: nw.usableWatts, trustClear: nw.headroomCertain && partnerCertain };
    }
    case 'ramp_rate':
      // A meter dropping out or coming back is a step in load, not a ramp.
      if (nw.rampWattsPerSecond === null || !nw.headroomCertain || memory.stableWindows < 2) return UNKNOWN;
      return { known: true, value: Math.abs(nw.rampWattsPerSecond), base: nw.usableWatts, trustClear: true };
    case 'completeness':
      return { known: true, value: nw.completeness, base: null, trustClear: true };
    case 'time_to_breach':
      // The trend spans trendWindows windows (the horizon): trust it once completeness was stable that long.
      if (!nw.headroomCertain || memory.stableWindows < trendWindows) return UNKNOWN;
      return { known: true, value: nw.timeToBreachSeconds, base: null, trustClear: true };
    case 'swing':
      if (nw.swingWatts === null) return UNKNOWN;
      return { known: true, value: nw.swingWatts, base: nw.ratingWatts, trustClear: nw.headroomCertain };
    default:
      return UNKNOWN;
  }
}

function observeSite(ctx: TargetContext, tick: Tick): Observation {
  const sw = tick.siteWindow;
  if (sw === null) return UNKNOWN;
  switch (ctx.rule.metric) {
    case 'demand': {
      if (sw.demandWatts === null) return UNKNOWN;
      const base = ctx.rule.reference === 'contract' ? sw.contractWatts : sw.periodPeakWatts;
      // Demand from an incomplete facility meter set is a lower bound.
      const facility = ctx.facilityId === null ? undefined : tick.nodes.get(ctx.facilityId);
      return { known: true, value: sw.demandWatts, base, trustClear: facility !== undefined && facility.headroomCertain };
    }
    case 'grid_frequency':
      if (sw.hertzDeviation === null) return UNKNOWN;
      return { known: true, value: Math.abs(sw.hertzDeviation), base: null, trustClear: true };
    default:
      return UNKNOWN;
  }
}

/** A breach, inside the hysteresis band, cleared, or unknown. */
export type Verdict = 'breach' | 'band' | 'clear' | 'unknown';

export function absoluteThreshold(threshold: Threshold, base: number | null): number | null {
  if (!threshold.relative) return threshold.value;
  return base === null ? null : threshold.value * base;
}

/** The verdict of one severity; its threshold in the metric's unit is `absoluteThreshold(thr.at, obs.base)`. */
export function judge(rule: AlertRule, obs: Observation, thr: SeverityThreshold): Verdict {
  if (!obs.known) return 'unknown';
  const at = absoluteThreshold(thr.at, obs.base);
  const clear = absoluteThreshold(thr.clear, obs.base);
  if (obs.value === null) return obs.trustClear ? 'clear' : 'unknown';
  if (at === null || clear === null) return 'unknown';
  const value = obs.value;
  const below = METRIC_DIRECTION[rule.metric] === 'below';
  if (below ? value < at : value > at) return 'breach';
  if (below ? value >= clear : value <= clear) return obs.trustClear ? 'clear' : 'unknown';
  return obs.trustClear ? 'band' : 'unknown';
}
