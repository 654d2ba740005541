import type { EngineSettings } from '../../domain/index.js';
import type { SiteAggregates } from '../aggregates.js';
import type { GridSums } from '../grid.js';
import type { SiteModel } from '../site-model.js';
import type { SwingScratch, SwingSeries } from '../swing.js';
import { MS_PER_HOUR } from '../time.js';
import { newTrendScratch, type TrendScratch } from '../trend.js';
import type { NodeHistory } from './node-history.js';

/** Per window size: facility energy of recent windows and complete demand intervals. */
export interface DemandState {
  /** window start → [facility energy (W·ms), covered ms]. */
  windows: Map<number, [number, number]>;
  /** demand interval start → average facility watts, for the current billing period. */
  intervals: Map<number, number>;
}

/** Everything one window's records are derived from. */
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
  /** Per node: the sum of its meters' mean power over their covered time. */
  loadWatts: Float64Array;
  /** Per node: the sum of its meters' energy. */
  energyWattMs: Float64Array;
  /** Per node: how many of its meters have covered time. */
  coveredMeters: Int32Array;
  trend: TrendScratch;
}

export function newDeriveScratch(nodeCount: number): DeriveScratch {
  return {
    loadWatts: new Float64Array(nodeCount),
    energyWattMs: new Float64Array(nodeCount),
    coveredMeters: new Int32Array(nodeCount),
    trend: newTrendScratch(0),
  };
}

/** Rounds to 1e-6 (µW, µWh, ppm of a ratio): hides summation-order noise, so live and replayed runs print alike. */
export const round = (x: number): number => Math.round(x * 1e6) / 1e6;
export const roundOrNull = (x: number | null): number | null => (x === null ? null : round(x));
export const wattMsToWh = (energyWattMs: number): number => energyWattMs / MS_PER_HOUR;
