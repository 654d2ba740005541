/**
 * The window engine's snapshot format: per site, its meter tails, its place on the timeline,
 * its counters and, per window size, the frozen accumulators, open windows, history, demand
 * and grid sums. SiteState is the engine's state as plain data; it is written as
 * - version 2 (written): binary, typed arrays copied as bytes (window-binary.ts);
 * - version 1 (read only): JSON with typed arrays as number arrays, NaN and ±Infinity kept.
 * The conversions between the engine's structures and SiteState live here; SiteEngine exposes
 * only toState()/fromState().
 */
import type { SiteAggregates } from '../aggregates.js';
import type { GridSums } from '../grid.js';
import type { MeterTail } from '../meter-tail.js';
import type { OpenWindow, SizeState } from '../size-state.js';
import { resetSwing } from '../swing.js';

/** The window engine's snapshot format version written (restore refuses any other it does not read with SnapshotError). */
export const WINDOW_SNAPSHOT_VERSION = 2;
/** Versions restore reads. */
export const WINDOW_SNAPSHOT_VERSIONS_READ: readonly number[] = [1, 2];

/** Numbers of a state: typed arrays as the engine holds them, number arrays in version 1. */
export type Numbers = ArrayLike<number>;

/** Plain-data form of aggregates. */
export type AggregatesState = { startMs: number } & { [K in Exclude<keyof SiteAggregates, 'startMs'>]: Numbers };

/**
 * Plain-data form of a meter tail: live from pair `head` on (toState() hands out the engine's
 * own arrays; a decoded state starts at head 0).
 */
export interface TailState {
  data: number[];
  wattHours: number[] | null;
  head: number;
  /** Pairs in use (the engine's tails keep stale pairs after them); absent: all of `data`. */
  size?: number;
}

/** Pairs of a tail state in use. */
export function tailPairs(tail: TailState): number {
  return tail.size ?? tail.data.length >> 1;
}

/** Plain-data form of a SizeState. */
export interface SizeSnapshot {
  windowMs: number;
  nextStartMs: number;
  started: boolean;
  frozen: AggregatesState;
  open: OpenWindow[];
  historyStartMs: Numbers;
  historyLoadWatts: Numbers;
  demandWindows: [number, [number, number]][];
  demandIntervals: [number, number][];
  grid: [number, GridSums][];
  /** Frozen swing series: [startMs, sum per node × point, seconds per node × point]; null when empty. */
  swing: [number, Numbers, Numbers] | null;
}

/** Plain-data state of one site engine (see SiteEngine for what each time means). */
export interface SiteState {
  site: string;
  tails: TailState[];
  frontierMs: number;
  /** Absent in snapshots taken before counters could hold the frontier back. */
  acceptFromMs?: number;
  counterMeters?: number[];
  maxTsMs: number;
  watermarkMs: number;
  dirtyFromMs: number;
  dirtyToMs?: number;
  closed: boolean;
  lateByMeter: Numbers;
  lateByGridMeter: Numbers;
  meterMaxTsMs: Numbers;
  meterSeenMs: Numbers;
  counterResets: number;
  passedUntilMs: number;
  allStarted: boolean;
  gridSeen: number[][];
  sizes: SizeSnapshot[];
}

export const AGG_FIELDS = [
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

/** The accumulators as they are (no copy: encode before the engine moves on). */
export function exportAggregates(agg: SiteAggregates): AggregatesState {
  const state = { startMs: agg.startMs } as AggregatesState;
  for (const field of AGG_FIELDS) state[field] = agg[field];
  return state;
}

export function importAggregates(agg: SiteAggregates, state: AggregatesState): void {
  agg.startMs = state.startMs;
  for (const field of AGG_FIELDS) {
    const values: unknown = state[field];
    if (!isNumbers(values) || values.length !== agg[field].length) throw new Error(`snapshot field ${field} has the wrong size`);
    agg[field].set(values);
  }
}

function isNumbers(x: unknown): x is Numbers {
  return Array.isArray(x) || x instanceof Float64Array;
}

/** The tail as it is (no copy: encode before the engine moves on); its live part starts at `head`. */
export function exportTail(tail: MeterTail): TailState {
  return tail;
}

/** Takes over a decoded tail state, re-based to head 0. */
export function importTail(tail: MeterTail, state: TailState): void {
  const pairs = tailPairs(state);
  const whole = state.head === 0 && pairs << 1 === state.data.length;
  tail.data = whole ? state.data : state.data.slice(state.head << 1, pairs << 1);
  tail.wattHours = state.wattHours === null || (whole && state.wattHours.length === pairs) ? state.wattHours : state.wattHours.slice(state.head, pairs);
  tail.head = 0;
  tail.size = pairs - state.head;
}

/** A size's state, sharing the engine's arrays (no copy: encode before the engine moves on). */
export function exportSizeState(size: SizeState): SizeSnapshot {
  return {
    windowMs: size.windowMs,
    nextStartMs: size.nextStartMs,
    started: size.started,
    frozen: exportAggregates(size.frozen),
    open: size.open,
    historyStartMs: size.history.startMs,
    historyLoadWatts: size.history.loadWatts,
    demandWindows: [...size.demand.windows],
    demandIntervals: [...size.demand.intervals],
    grid: [...size.grid],
    swing: size.swing === undefined || Number.isNaN(size.swing.startMs) ? null : [size.swing.startMs, size.swing.sumWatts, size.swing.seconds],
  };
}

export function importSizeState(size: SizeState, state: SizeSnapshot): void {
  if (state.windowMs !== size.windowMs) throw new Error('snapshot has other window sizes');
  size.nextStartMs = state.nextStartMs;
  size.started = state.started;
  importAggregates(size.frozen, state.frozen);
  size.open = state.open.map((window) => ({ ...window }));
  size.history.startMs.set(state.historyStartMs);
  size.history.loadWatts.set(state.historyLoadWatts);
  size.demand.windows = new Map(state.demandWindows);
  size.demand.intervals = new Map(state.demandIntervals);
  size.grid = new Map(state.grid);
  if (size.swing !== undefined) {
    resetSwing(size.swing, NaN);
    if (state.swing !== null && state.swing !== undefined) {
      const [startMs, sumWatts, seconds] = state.swing;
      if (sumWatts.length !== size.swing.sumWatts.length || seconds.length !== size.swing.seconds.length) throw new Error('snapshot swing series has the wrong size');
      size.swing.startMs = startMs;
      size.swing.sumWatts.set(sumWatts);
      size.swing.seconds.set(seconds);
    }
  }
}
