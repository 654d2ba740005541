import type { EngineSettings, MeterWindow, NodeWindow, SiteWindow } from '../domain/index.js';
import type { SiteAggregates } from './aggregates.js';
import type { GridSums } from './grid.js';
import type { SiteModel } from './site-model.js';
import { swingStatsOf, type SwingScratch, type SwingSeries } from './swing.js';
import { MS_PER_HOUR, monthStartUtcMs, windowStartMs } from './time.js';
import { newTrendScratch, projectBreachSeconds, type TrendScratch } from './trend.js';

/** Default span of the time-to-breach trend (pipeline.trendHorizon). */
export const DEFAULT_TREND_HORIZON_MS = 600_000;

/** History slots per node for a window size: the trend horizon in windows, at least trendWindows. */
export function trendSlots(settings: EngineSettings, windowMs: number): number {
  const horizonMs = settings.trendHorizonMs ?? DEFAULT_TREND_HORIZON_MS;
  return Math.max(2, settings.trendWindows, Math.ceil(horizonMs / windowMs));
}

/** Loads of recent windows per node, for ramp and time-to-breach. Fixed size per node. */
export interface NodeHistory {
  slots: number;
  startMs: Float64Array;
  loadWatts: Float64Array;
}

export function newNodeHistory(nodeCount: number, slots: number): NodeHistory {
  return {
    slots,
    startMs: new Float64Array(nodeCount * slots).fill(NaN),
    loadWatts: new Float64Array(nodeCount * slots),
  };
}


/** Per window size: facility energy of recent windows and complete demand intervals. */
export interface DemandState {
  /** window start → [facility energy (W·ms), covered ms]. */
  windows: Map<number, [number, number]>;
  /** demand interval start → average facility watts, for the current billing period. */
  intervals: Map<number, number>;
}

export interface WindowContext {
  model: SiteModel;
  settings: EngineSettings;
  windowMs: number;
  startMs: number;
  revision: number;
  acc: SiteAggregates;
  history: NodeHistory;
  demand: DemandState;
  grid: GridSums | undefined;
  emitMeters: boolean;
  scratch: DeriveScratch;
  /** The window's 1-second node series (windows >= 1 min), for swing metrics. */
  swing?: SwingSeries | undefined;
  swingScratch?: SwingScratch;
}

/** Per-node working arrays, allocated once per site and reused for every window. */
export interface DeriveScratch {
  load: Float64Array;
  energy: Float64Array;
  covered: Int32Array;
  trend: TrendScratch;
}

export function newDeriveScratch(nodeCount: number): DeriveScratch {
  return { load: new Float64Array(nodeCount), energy: new Float64Array(nodeCount), covered: new Int32Array(nodeCount), trend: newTrendScratch(0) };
}

/** Rounds to 1e-6 (µW, µWh, ppm of a ratio): hides summation-order noise, so live and replayed runs print alike. */
const round = (x: number): number => Math.round(x * 1e6) / 1e6;
const wattMsToWh = (e: number): number => e / MS_PER_HOUR;

/** Derives the meter, node and site records of one window. Returns [] when it has no data. */
export function deriveWindow(ctx: WindowContext): (MeterWindow | NodeWindow | SiteWindow)[] {
  const { model, acc, windowMs, startMs, revision, settings } = ctx;
  const endMs = startMs + windowMs;
  const site = model.spec.id;
  const out: (MeterWindow | NodeWindow | SiteWindow)[] = [];

  if (ctx.emitMeters) {
    for (let m = 0; m < model.meterIds.length; m++) {
      const cov = acc.coveredMs[m]!;
      const count = acc.count[m]!;
      if (cov === 0) continue; // no coverage, no window (its readings still count in the site stats)
      out.push({
        type: 'meter',
        site,
        meter: model.meterIds[m]!,
        windowMs,
        start: startMs,
        end: endMs,
        revision,
        loadWatts: round(cov > 0 ? acc.energyWattMs[m]! / cov : 0),
        energyWh: round(wattMsToWh(acc.energyWattMs[m]!)),
        coverage: round(cov / windowMs),
        count,
        minWatts: Number.isFinite(acc.minWatts[m]!) ? acc.minWatts[m]! : null,
        maxWatts: Number.isFinite(acc.maxWatts[m]!) ? acc.maxWatts[m]! : null,
        lastWatts: Number.isFinite(acc.lastWatts[m]!) ? acc.lastWatts[m]! : null,
        lastTsMs: Number.isFinite(acc.lastTsMs[m]!) ? acc.lastTsMs[m]! : null,
        counterResets: acc.counterResets[m]!,
      });
    }
  }

  const nodeCount = model.nodes.length;
  const { load, energy, covered } = ctx.scratch;
  for (let n = 0; n < nodeCount; n++) {
    const members = model.meterSetMembers;
    const to = model.meterSetOffsets[n + 1]!;
    let l = 0;
    let e = 0;
    let c = 0;
    for (let j = model.meterSetOffsets[n]!; j < to; j++) {
      const m = members[j]!;
      const cov = acc.coveredMs[m]!;
      if (cov > 0) {
        l += acc.energyWattMs[m]! / cov;
        e += acc.energyWattMs[m]!;
        c++;
      }
    }
    load[n] = l;
    energy[n] = e;
    covered[n] = c;
  }

  const usable = (n: number): number => model.nodes[n]!.ratingWatts * model.nodes[n]!.derate;
  const { history } = ctx;
  const slots = history.slots;
  const k = Math.floor(startMs / windowMs);
  for (let n = 0; n < nodeCount; n++) {
    if (covered[n] === 0) continue;
    const spec = model.nodes[n]!;
    const usableWatts = usable(n);
    const loadWatts = load[n]!;
    const headroomWatts = usableWatts - loadWatts;
    let failover: number | null = null;
    const partner = model.pairOf[n]!;
    if (partner >= 0) failover = usableWatts - (loadWatts + load[partner]!);
    if (model.nPlusOne[n] === 1) {
      let usableSum = 0;
      let usableMax = 0;
      let groupLoad = 0;
      for (const c of model.children[n]!) {
        const u = usable(c);
        usableSum += u;
        if (u > usableMax) usableMax = u;
        groupLoad += load[c]!;
      }
      const g = usableSum - usableMax - groupLoad;
      failover = failover === null ? g : Math.min(failover, g);
    }
    let childrenLoad: number | null = null;
    if (model.hasMetersAndChildren[n] === 1) {
      childrenLoad = 0;
      for (const c of model.children[n]!) childrenLoad += load[c]!;
    }

    // History: ramp from the previous window, least-squares trend for time to breach.
    const base = n * slots;
    const slot = base + (k % slots);
    history.startMs[slot] = startMs;
    history.loadWatts[slot] = loadWatts;
    const prevSlot = base + ((k - 1) % slots);
    const ramp =
      history.startMs[prevSlot] === startMs - windowMs
        ? (loadWatts - history.loadWatts[prevSlot]!) / (windowMs / 1000)
        : null;
    const ttb = timeToBreachSeconds(history, n, startMs, windowMs, usableWatts, settings.trendWindows, ctx.scratch.trend);
    const swing = ctx.swing !== undefined && ctx.swingScratch !== undefined ? swingStatsOf(ctx.swing, n, ctx.swingScratch) : null;

    const peakRaw = acc.nodePeakWatts[n]!;
    const minRaw = acc.nodeMinWatts[n]!;
    const completeness = covered[n]! / (model.meterSetOffsets[n + 1]! - model.meterSetOffsets[n]!);
    out.push({
      type: 'node',
      site,
      node: spec.id,
      level: spec.level,
      windowMs,
      start: startMs,
      end: endMs,
      revision,
      loadWatts: round(loadWatts),
      peakWatts: round(Number.isFinite(peakRaw) ? peakRaw : loadWatts),
      minWatts: round(Number.isFinite(minRaw) ? minRaw : loadWatts),
      energyWh: round(wattMsToWh(energy[n]!)),
      ratingWatts: spec.ratingWatts,
      usableWatts: round(usableWatts),
      headroomWatts: round(headroomWatts),
      utilization: round(loadWatts / spec.ratingWatts),
      failoverHeadroomWatts: failover === null ? null : round(failover),
      completeness: round(completeness),
      headroomCertain: completeness >= settings.completenessThreshold,
      childrenLoadWatts: childrenLoad === null ? null : round(childrenLoad),
      unmeteredWatts: childrenLoad === null ? null : round(loadWatts - childrenLoad),
      rampWattsPerSecond: ramp === null ? null : round(ramp),
      timeToBreachSeconds: ttb === null ? null : round(ttb),
      swingWatts: swing === null ? null : round(swing.swingWatts),
      swingPeriodSeconds: swing === null || swing.swingPeriodSeconds === null ? null : round(swing.swingPeriodSeconds),
      swingPeriodShare: swing === null || swing.swingPeriodShare === null ? null : round(swing.swingPeriodShare),
    });
  }

  const siteRecord = deriveSite(ctx, load, energy, covered);
  if (out.length === 0 && siteRecord === null) return [];
  if (siteRecord !== null) out.push(siteRecord);
  return out;
}

/**
 * Time until the node's load envelope reaches its usable power, from the node's recent windows
 * (the trend horizon): see trend.ts. Gaps in the history take the previous window's load.
 */
function timeToBreachSeconds(
  history: NodeHistory,
  n: number,
  startMs: number,
  windowMs: number,
  usableWatts: number,
  minWindows: number,
  scratch: TrendScratch,
): number | null {
  const slots = history.slots;
  const base = n * slots;
  const k = Math.floor(startMs / windowMs);
  if (scratch.y.length < slots) Object.assign(scratch, newTrendScratch(slots));
  const y = scratch.y;
  let first = -1;
  let present = 0;
  for (let j = 0; j < slots; j++) {
    // j = 0 is the oldest window of the horizon, slots - 1 the current one.
    const s = startMs - (slots - 1 - j) * windowMs;
    const slot = base + (((k - (slots - 1 - j)) % slots) + slots) % slots;
    if (history.startMs[slot] === s) {
      y[j] = history.loadWatts[slot]!;
      if (first < 0) first = j;
      present++;
    } else if (first >= 0) y[j] = y[j - 1]!;
  }
  if (first < 0 || present < Math.max(3, minWindows, Math.ceil(0.8 * slots))) return null;
  return projectBreachSeconds(y.subarray(first, slots), windowMs / 1000, usableWatts, scratch, (2 * slots * windowMs) / 1000);
}

function deriveSite(ctx: WindowContext, load: Float64Array, energy: Float64Array, covered: Int32Array): SiteWindow | null {
  const { model, windowMs, startMs, revision, grid, demand } = ctx;
  const spec = model.spec;
  const f = model.facilityNode;
  const hasFacility = f >= 0 && covered[f]! > 0;
  let itWatts: number | null = null;
  let itEnergy = 0;
  for (const n of model.itNodes) {
    if (covered[n]! === 0) continue;
    itWatts = (itWatts ?? 0) + load[n]!;
    itEnergy += energy[n]!;
  }
  const anyNode = covered.some((c) => c > 0);
  const hasGrid = grid !== undefined && grid.hertzCount + grid.voltsCount + grid.priceCount + grid.carbonCount > 0;
  if (!anyNode && !hasGrid) return null;

  const facilityWatts = hasFacility ? load[f]! : null;
  const facilityEnergyWattMs = hasFacility ? energy[f]! : 0;

  let demandWatts: number | null = null;
  let demandIntervalStart: number | null = null;
  let periodPeakWatts: number | null = null;
  let periodStart: number | null = null;
  const intervalMs = spec.demandIntervalMs;
  if (hasFacility && windowMs <= intervalMs && intervalMs % windowMs === 0) {
    const block = windowStartMs(startMs, intervalMs);
    const facilityCoveredMs = facilityEnergyWattMs / load[f]! || windowMs;
    demand.windows.set(startMs, [facilityEnergyWattMs, facilityCoveredMs]);
    let e = 0;
    let c = 0;
    for (const [s, [we, wc]] of demand.windows) {
      if (s < block - intervalMs) demand.windows.delete(s);
      else if (s >= block && s <= startMs) {
        e += we;
        c += wc;
      }
    }
    demandWatts = c > 0 ? e / c : null;
    demandIntervalStart = block;
    periodStart = monthStartUtcMs(startMs);
    if (demandWatts !== null && startMs + windowMs === block + intervalMs) demand.intervals.set(block, demandWatts);
    let peak = -Infinity;
    for (const [b, d] of demand.intervals) {
      if (b < periodStart) demand.intervals.delete(b);
      else if (d > peak) peak = d;
    }
    periodPeakWatts = Number.isFinite(peak) ? peak : null;
  }

  const mean = (sum: number, count: number): number | null => (count > 0 ? sum / count : null);
  const gridHertz = grid ? mean(grid.hertzSum, grid.hertzCount) : null;
  const price = grid ? mean(grid.priceSum, grid.priceCount) : null;
  const carbon = grid ? mean(grid.carbonSum, grid.carbonCount) : null;
  const facilityWh = wattMsToWh(facilityEnergyWattMs);
  const r = (x: number | null): number | null => (x === null ? null : round(x));
  return {
    type: 'site',
    site: spec.id,
    windowMs,
    start: startMs,
    end: startMs + windowMs,
    revision,
    facilityWatts: r(facilityWatts),
    itWatts: r(itWatts),
    pue: hasFacility && itEnergy > 0 ? round(facilityEnergyWattMs / itEnergy) : null,
    contractWatts: spec.contractWatts ?? null,
    contractHeadroomWatts:
      spec.contractWatts !== undefined && facilityWatts !== null ? round(spec.contractWatts - facilityWatts) : null,
    demandWatts: r(demandWatts),
    demandIntervalStart,
    periodPeakWatts: r(periodPeakWatts),
    periodStart,
    gridHertz: r(gridHertz),
    hertzDeviation: gridHertz === null ? null : round(gridHertz - spec.nominalHertz),
    pricePerMWh: r(price),
    energyCost: price !== null && hasFacility ? round((price * facilityWh) / 1e6) : null,
    carbonGramsPerKWh: r(carbon),
    carbonGrams: carbon !== null && hasFacility ? round((carbon * facilityWh) / 1000) : null,
  };
}
