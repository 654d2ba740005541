import type { SiteAggregates } from './aggregates.js';
import { newAggregates } from './aggregates.js';
import { newNodeHistory, type DemandState, type NodeHistory } from './derive.js';
import type { GridSums } from './grid.js';
import { exportAggregates, importAggregates, type AggregatesState } from './snapshot.js';
import { newSwingSeries, resetSwing, type SwingSeries } from './swing.js';

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

/** Plain-data form of a SizeState, for snapshots. */
export interface SizeSnapshot {
  windowMs: number;
  nextStartMs: number;
  started: boolean;
  frozen: AggregatesState;
  open: OpenWindow[];
  historyStartMs: number[];
  historyLoadWatts: number[];
  demandWindows: [number, [number, number]][];
  demandIntervals: [number, number][];
  grid: [number, GridSums][];
  /** Frozen swing series: [startMs, sum per node × point, seconds per node × point]; null when empty. */
  swing: [number, number[], number[]] | null;
}

export function exportSizeState(size: SizeState): SizeSnapshot {
  return {
    windowMs: size.windowMs,
    nextStartMs: size.nextStartMs,
    started: size.started,
    frozen: exportAggregates(size.frozen),
    open: size.open.map((w) => ({ ...w })),
    historyStartMs: Array.from(size.history.startMs),
    historyLoadWatts: Array.from(size.history.loadWatts),
    demandWindows: [...size.demand.windows],
    demandIntervals: [...size.demand.intervals],
    grid: [...size.grid],
    swing: size.swing === undefined || Number.isNaN(size.swing.startMs) ? null : [size.swing.startMs, Array.from(size.swing.sumWatts), Array.from(size.swing.seconds)],
  };
}

export function importSizeState(size: SizeState, s: SizeSnapshot): void {
  if (s.windowMs !== size.windowMs) throw new Error('snapshot has other window sizes');
  size.nextStartMs = s.nextStartMs;
  size.started = s.started;
  importAggregates(size.frozen, s.frozen);
  size.open = s.open.map((w) => ({ ...w }));
  size.history.startMs.set(s.historyStartMs);
  size.history.loadWatts.set(s.historyLoadWatts);
  size.demand.windows = new Map(s.demandWindows);
  size.demand.intervals = new Map(s.demandIntervals);
  size.grid = new Map(s.grid);
  if (size.swing !== undefined) {
    resetSwing(size.swing, NaN);
    if (s.swing !== null && s.swing !== undefined) {
      const [startMs, sumWatts, seconds] = s.swing;
      if (sumWatts.length !== size.swing.sumWatts.length || seconds.length !== size.swing.seconds.length) throw new Error('snapshot swing series has the wrong size');
      size.swing.startMs = startMs;
      size.swing.sumWatts.set(sumWatts);
      size.swing.seconds.set(seconds);
    }
  }
}
