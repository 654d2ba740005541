import type { SiteWindow } from '../../domain/index.js';
import { monthStartUtcMs, windowStartMs } from '../time.js';
import { round, roundOrNull, wattMsToWh, type DemandState, type WindowContext } from './context.js';

/** Demand of the window's billing interval and the period's peak demand (null when not computed). */
interface Demand {
  demandWatts: number | null;
  demandIntervalStart: number | null;
  periodPeakWatts: number | null;
  periodStart: number | null;
}

const NO_DEMAND: Demand = { demandWatts: null, demandIntervalStart: null, periodPeakWatts: null, periodStart: null };

/**
 * The demand step: notes the window's facility energy, returns the average facility power of
 * its demand interval so far, and, once an interval completes, keeps it for the period's peak.
 */
function demandOf(demand: DemandState, intervalMs: number, startMs: number, windowMs: number, facilityEnergyWattMs: number, facilityCoveredMs: number): Demand {
  const intervalStartMs = windowStartMs(startMs, intervalMs);
  demand.windows.set(startMs, [facilityEnergyWattMs, facilityCoveredMs]);
  let energyWattMs = 0;
  let coveredMs = 0;
  for (const [windowStart, [windowEnergyWattMs, windowCoveredMs]] of demand.windows) {
    if (windowStart < intervalStartMs - intervalMs) demand.windows.delete(windowStart);
    else if (windowStart >= intervalStartMs && windowStart <= startMs) {
      energyWattMs += windowEnergyWattMs;
      coveredMs += windowCoveredMs;
    }
  }
  const demandWatts = coveredMs > 0 ? energyWattMs / coveredMs : null;
  const periodStart = monthStartUtcMs(startMs);
  if (demandWatts !== null && startMs + windowMs === intervalStartMs + intervalMs) demand.intervals.set(intervalStartMs, demandWatts);
  let peakWatts = -Infinity;
  for (const [intervalStart, intervalWatts] of demand.intervals) {
    if (intervalStart < periodStart) demand.intervals.delete(intervalStart);
    else if (intervalWatts > peakWatts) peakWatts = intervalWatts;
  }
  return { demandWatts, demandIntervalStart: intervalStartMs, periodPeakWatts: Number.isFinite(peakWatts) ? peakWatts : null, periodStart };
}

/** The site record of a window from its nodes' roll-up (in ctx.scratch) and grid sums; null when it has neither. */
export function deriveSite(ctx: WindowContext): SiteWindow | null {
  const { model, windowMs, startMs, revision, grid, demand } = ctx;
  const { loadWatts, energyWattMs, coveredMeters } = ctx.scratch;
  const spec = model.spec;
  const facility = model.facilityNode;
  const hasFacility = facility >= 0 && coveredMeters[facility]! > 0;
  let itWatts: number | null = null;
  let itEnergyWattMs = 0;
  for (const node of model.itNodes) {
    if (coveredMeters[node]! === 0) continue;
    itWatts = (itWatts ?? 0) + loadWatts[node]!;
    itEnergyWattMs += energyWattMs[node]!;
  }
  const anyNode = coveredMeters.some((count) => count > 0);
  const hasGrid = grid !== undefined && grid.hertzCount + grid.voltsCount + grid.priceCount + grid.carbonCount > 0;
  if (!anyNode && !hasGrid) return null;

  const facilityWatts = hasFacility ? loadWatts[facility]! : null;
  const facilityEnergyWattMs = hasFacility ? energyWattMs[facility]! : 0;
  const intervalMs = spec.demandIntervalMs;
  const demandNow =
    hasFacility && windowMs <= intervalMs && intervalMs % windowMs === 0
      ? demandOf(demand, intervalMs, startMs, windowMs, facilityEnergyWattMs, facilityEnergyWattMs / loadWatts[facility]! || windowMs)
      : NO_DEMAND;

  const mean = (sum: number, count: number): number | null => (count > 0 ? sum / count : null);
  const gridHertz = grid ? mean(grid.hertzSum, grid.hertzCount) : null;
  const price = grid ? mean(grid.priceSum, grid.priceCount) : null;
  const carbon = grid ? mean(grid.carbonSum, grid.carbonCount) : null;
  const facilityWh = wattMsToWh(facilityEnergyWattMs);
  return {
    type: 'site',
    site: spec.id,
    windowMs,
    start: startMs,
    end: startMs + windowMs,
    revision,
    facilityWatts: roundOrNull(facilityWatts),
    itWatts: roundOrNull(itWatts),
    pue: hasFacility && itEnergyWattMs > 0 ? round(facilityEnergyWattMs / itEnergyWattMs) : null,
    contractWatts: spec.contractWatts ?? null,
    contractHeadroomWatts: spec.contractWatts !== undefined && facilityWatts !== null ? round(spec.contractWatts - facilityWatts) : null,
    demandWatts: roundOrNull(demandNow.demandWatts),
    demandIntervalStart: demandNow.demandIntervalStart,
    periodPeakWatts: roundOrNull(demandNow.periodPeakWatts),
    periodStart: demandNow.periodStart,
    gridHertz: roundOrNull(gridHertz),
    hertzDeviation: gridHertz === null ? null : round(gridHertz - spec.nominalHertz),
    pricePerMWh: roundOrNull(price),
    energyCost: price !== null && hasFacility ? round((price * facilityWh) / 1e6) : null,
    carbonGramsPerKWh: roundOrNull(carbon),
    carbonGrams: carbon !== null && hasFacility ? round((carbon * facilityWh) / 1000) : null,
  };
}
