/**
 * Per-window aggregates of one site, in typed arrays sized by the topology.
 * The same shape serves for a sub-range of a window and for a whole window's running total.
 */
export interface SiteAggregates {
  /** Window (or range) start this accumulator belongs to; NaN when empty. */
  startMs: number;
  /** Per meter: integral of power over covered time, watt-milliseconds. */
  energyWattMs: Float64Array;
  /** Per meter: covered time, ms. */
  coveredMs: Float64Array;
  /** Per meter: raw readings with ts in the range. */
  count: Float64Array;
  minWatts: Float64Array;
  maxWatts: Float64Array;
  lastTsMs: Float64Array;
  lastWatts: Float64Array;
  counterResets: Float64Array;
  /** Per node: largest and smallest 1-second bucket sum of its meters' power. */
  nodePeakWatts: Float64Array;
  nodeMinWatts: Float64Array;
}

export function newAggregates(meterCount: number, nodeCount: number): SiteAggregates {
  const agg: SiteAggregates = {
    startMs: NaN,
    energyWattMs: new Float64Array(meterCount),
    coveredMs: new Float64Array(meterCount),
    count: new Float64Array(meterCount),
    minWatts: new Float64Array(meterCount),
    maxWatts: new Float64Array(meterCount),
    lastTsMs: new Float64Array(meterCount),
    lastWatts: new Float64Array(meterCount),
    counterResets: new Float64Array(meterCount),
    nodePeakWatts: new Float64Array(nodeCount),
    nodeMinWatts: new Float64Array(nodeCount),
  };
  resetAggregates(agg, NaN);
  return agg;
}

export function resetAggregates(agg: SiteAggregates, startMs: number): void {
  agg.startMs = startMs;
  agg.energyWattMs.fill(0);
  agg.coveredMs.fill(0);
  agg.count.fill(0);
  agg.minWatts.fill(Infinity);
  agg.maxWatts.fill(-Infinity);
  agg.lastTsMs.fill(-Infinity);
  agg.lastWatts.fill(NaN);
  agg.counterResets.fill(0);
  agg.nodePeakWatts.fill(-Infinity);
  agg.nodeMinWatts.fill(Infinity);
}

/** into += from (ranges are disjoint and `from` is later or equal in time for `last`). */
export function mergeAggregates(into: SiteAggregates, from: SiteAggregates): void {
  const meterCount = into.energyWattMs.length;
  for (let m = 0; m < meterCount; m++) {
    if (from.coveredMs[m] === 0 && from.count[m] === 0) continue;
    into.energyWattMs[m]! += from.energyWattMs[m]!;
    into.coveredMs[m]! += from.coveredMs[m]!;
    into.count[m]! += from.count[m]!;
    into.counterResets[m]! += from.counterResets[m]!;
    if (from.minWatts[m]! < into.minWatts[m]!) into.minWatts[m] = from.minWatts[m]!;
    if (from.maxWatts[m]! > into.maxWatts[m]!) into.maxWatts[m] = from.maxWatts[m]!;
    if (from.lastTsMs[m]! >= into.lastTsMs[m]!) {
      into.lastTsMs[m] = from.lastTsMs[m]!;
      into.lastWatts[m] = from.lastWatts[m]!;
    }
  }
  const nodeCount = into.nodePeakWatts.length;
  for (let i = 0; i < nodeCount; i++) {
    if (from.nodePeakWatts[i]! > into.nodePeakWatts[i]!) into.nodePeakWatts[i] = from.nodePeakWatts[i]!;
    if (from.nodeMinWatts[i]! < into.nodeMinWatts[i]!) into.nodeMinWatts[i] = from.nodeMinWatts[i]!;
  }
}

export function copyAggregates(into: SiteAggregates, from: SiteAggregates): void {
  into.startMs = from.startMs;
  into.energyWattMs.set(from.energyWattMs);
  into.coveredMs.set(from.coveredMs);
  into.count.set(from.count);
  into.minWatts.set(from.minWatts);
  into.maxWatts.set(from.maxWatts);
  into.lastTsMs.set(from.lastTsMs);
  into.lastWatts.set(from.lastWatts);
  into.counterResets.set(from.counterResets);
  into.nodePeakWatts.set(from.nodePeakWatts);
  into.nodeMinWatts.set(from.nodeMinWatts);
}
