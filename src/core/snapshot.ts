import type { SiteAggregates } from './aggregates.js';

/** Plain-data form of aggregates (typed arrays as number arrays). */
export type AggregatesState = { startMs: number } & { [K in Exclude<keyof SiteAggregates, 'startMs'>]: number[] };

const AGG_FIELDS = [
  'energyWattMs',
  'coveredMs',
  'count',
  'minWatts',
  'maxWatts',
  'lastTsMs',
  'lastWatts',
  'counterResets',
  'nodePeakWatts',
  'nodeMinWatts',
] as const;

export function exportAggregates(agg: SiteAggregates): AggregatesState {
  const state = { startMs: agg.startMs } as AggregatesState;
  for (const f of AGG_FIELDS) state[f] = Array.from(agg[f]);
  return state;
}

export function importAggregates(agg: SiteAggregates, state: AggregatesState): void {
  agg.startMs = state.startMs;
  for (const f of AGG_FIELDS) {
    const values = state[f];
    if (!Array.isArray(values) || values.length !== agg[f].length) throw new Error(`snapshot field ${f} has the wrong size`);
    agg[f].set(values);
  }
}
