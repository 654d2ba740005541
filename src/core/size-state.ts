import { newAggregates, type SiteAggregates } from './aggregates.js';
import { newNodeHistory, type DemandState, type NodeHistory } from './derive/index.js';
import type { GridSums } from './grid.js';
import { newSwingSeries, type SwingSeries } from './swing.js';

/** A window that was passed by the watermark but may still be restated by late data. */
export interface OpenWindow {
  startMs: number;
  /** -1 while the window had no data and was never emitted. */
  revision: number;
}

/** State of one window size within a site. */
export interface SizeState {
  windowMs: number;
  /** Start of the next window to be emitted for the first time. */
  nextStartMs: number;
  /** True once the watermark has passed a window of this size. */
  started: boolean;
  /** Frozen part (before the fold frontier) of the window containing the frontier. */
  frozen: SiteAggregates;
  open: OpenWindow[];
  history: NodeHistory;
  demand: DemandState;
  /** window start → grid signal sums. */
  grid: Map<number, GridSums>;
  /** Frozen part of the 1-second node series of the window containing the frontier (windows >= 1 min). */
  swing: SwingSeries | undefined;
}

export function newSizeState(windowMs: number, meterCount: number, nodeCount: number, trendSlots: number, swingSizes = 0): SizeState {
  return {
    windowMs,
    nextStartMs: NaN,
    started: false,
    frozen: newAggregates(meterCount, nodeCount),
    open: [],
    history: newNodeHistory(nodeCount, Math.max(2, trendSlots)),
    demand: { windows: new Map(), intervals: new Map() },
    grid: new Map(),
    swing: newSwingSeries(windowMs, nodeCount, swingSizes),
  };
}
