/**
 * The window engine's snapshot format (version 1): per site, its meter tails, its place on the
 * timeline, its counters and, per window size, the frozen accumulators, open windows, history,
 * demand and grid sums. Plain data (typed arrays as number arrays), JSON with NaN and ±Infinity
 * kept. The conversions between the engine's structures and this format live here; SiteEngine
 * exposes only toState()/fromState().
 */
import type { SiteAggregates } from '../aggregates.js';
import type { GridSums } from '../grid.js';
import type { MeterTail } from '../meter-tail.js';
import type { OpenWindow, SizeState } from '../size-state.js';
import { resetSwing } from '../swing.js';
import { decodeNonFinite, decodeSnapshot, encodeNonFinite, encodeSnapshot } from './envelope.js';
import { SnapshotError } from './error.js';

/** The window engine's snapshot format version (restore refuses any other with SnapshotError). */
export const WINDOW_SNAPSHOT_VERSION = 1;

/** Plain-data form of aggregates (typed arrays as number arrays). */
export type AggregatesState = { startMs: number } & { [K in Exclude<keyof SiteAggregates, 'startMs'>]: number[] };

/** Plain-data form of a meter tail: its live part only (head 0). */
export interface TailState {
  data: number[];
  wattHours: number[] | null;
  head: number;
}

/** Plain-data form of a SizeState. */
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
  lateByMeter: number[];
  lateByGridMeter: number[];
  meterMaxTsMs: number[];
  meterSeenMs: number[];
  counterResets: number;
  passedUntilMs: number;
  allStarted: boolean;
  gridSeen: number[][];
  sizes: SizeSnapshot[];
}

/** The whole window engine: its sites in topology order. */
export interface WindowEngineState {
  version: number;
  sites: SiteState[];
}

export function encodeWindowSnapshot(sites: SiteState[]): Uint8Array {
  const state: WindowEngineState = { version: WINDOW_SNAPSHOT_VERSION, sites };
  return encodeSnapshot(state, encodeNonFinite);
}

/**
 * The site states of a window engine snapshot (not yet checked against a topology: each
 * SiteEngine.fromState does that). Corrupt bytes and unknown versions throw SnapshotError.
 */
export function decodeWindowSnapshot(bytes: Uint8Array): unknown[] {
  const parsed = decodeSnapshot(bytes, 'window engine', [WINDOW_SNAPSHOT_VERSION], decodeNonFinite);
  const sites = parsed['sites'];
  if (!Array.isArray(sites)) throw new SnapshotError('snapshot has no sites');
  return sites;
}

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
  for (const field of AGG_FIELDS) state[field] = Array.from(agg[field]);
  return state;
}

export function importAggregates(agg: SiteAggregates, state: AggregatesState): void {
  agg.startMs = state.startMs;
  for (const field of AGG_FIELDS) {
    const values = state[field];
    if (!Array.isArray(values) || values.length !== agg[field].length) throw new Error(`snapshot field ${field} has the wrong size`);
    agg[field].set(values);
  }
}

/** The live part of a tail (from its head on), re-based to head 0. */
export function exportTail(tail: MeterTail): TailState {
  return {
    data: tail.data.slice(tail.head << 1),
    wattHours: tail.wattHours === null ? null : tail.wattHours.slice(tail.head),
    head: 0,
  };
}

export function importTail(tail: MeterTail, state: TailState): void {
  tail.data = state.data;
  tail.wattHours = state.wattHours;
  tail.head = state.head;
}

export function exportSizeState(size: SizeState): SizeSnapshot {
  return {
    windowMs: size.windowMs,
    nextStartMs: size.nextStartMs,
    started: size.started,
    frozen: exportAggregates(size.frozen),
    open: size.open.map((window) => ({ ...window })),
    historyStartMs: Array.from(size.history.startMs),
    historyLoadWatts: Array.from(size.history.loadWatts),
    demandWindows: [...size.demand.windows],
    demandIntervals: [...size.demand.intervals],
    grid: [...size.grid],
    swing: size.swing === undefined || Number.isNaN(size.swing.startMs) ? null : [size.swing.startMs, Array.from(size.swing.sumWatts), Array.from(size.swing.seconds)],
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
