import type { EngineSettings } from '../../domain/index.js';
import { MS_PER_SECOND } from '../time.js';
import { newTrendScratch, projectBreachSeconds, type TrendScratch } from '../trend.js';

/** Default span of the time-to-breach trend (pipeline.trendHorizon). */
export const DEFAULT_TREND_HORIZON_MS = 600_000;

/** History slots per node for a window size: the trend horizon in windows, at least trendWindows. */
export function trendSlots(settings: EngineSettings, windowMs: number): number {
  const horizonMs = settings.trendHorizonMs ?? DEFAULT_TREND_HORIZON_MS;
  return Math.max(2, settings.trendWindows, Math.ceil(horizonMs / windowMs));
}

/** Loads of recent windows per node, for ramp and time-to-breach. Fixed size per node: a ring of `slots` by window index. */
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

/**
 * The history step of one node's window: stores its load in the ring and returns the ramp
 * from the previous window (watts per second; null when that window is not in the history).
 */
export function recordLoad(history: NodeHistory, node: number, startMs: number, windowMs: number, loadWatts: number): number | null {
  const slots = history.slots;
  const windowIndex = Math.floor(startMs / windowMs);
  const base = node * slots;
  const slot = base + remainder(windowIndex, slots);
  history.startMs[slot] = startMs;
  history.loadWatts[slot] = loadWatts;
  const prevSlot = base + remainder(windowIndex - 1, slots);
  return history.startMs[prevSlot] === startMs - windowMs ? (loadWatts - history.loadWatts[prevSlot]!) / (windowMs / MS_PER_SECOND) : null;
}

/**
 * Time until the node's load envelope reaches its usable power, from the node's recent windows
 * (the trend horizon): see trend.ts. Gaps in the history take the previous window's load.
 */
export function timeToBreachSeconds(
  history: NodeHistory,
  node: number,
  startMs: number,
  windowMs: number,
  usableWatts: number,
  minWindows: number,
  scratch: TrendScratch,
): number | null {
  const slots = history.slots;
  const base = node * slots;
  const windowIndex = Math.floor(startMs / windowMs);
  if (scratch.y.length < slots) Object.assign(scratch, newTrendScratch(slots));
  const loads = scratch.y;
  const neededWindows = Math.max(3, minWindows, Math.ceil(0.8 * slots));
  let first = -1;
  let present = 0;
  // The ring slot of the oldest window of the horizon; later ones follow it round the ring.
  let slot = base + floorRemainder(windowIndex - (slots - 1), slots);
  for (let j = 0; j < slots; j++) {
    // j = 0 is the oldest window of the horizon, slots - 1 the current one.
    const windowStartMs = startMs - (slots - 1 - j) * windowMs;
    if (history.startMs[slot] === windowStartMs) {
      loads[j] = history.loadWatts[slot]!;
      if (first < 0) first = j;
      present++;
    } else {
      if (first >= 0) loads[j] = loads[j - 1]!;
      // Too few windows left to reach the least the trend needs.
      if (present + (slots - 1 - j) < neededWindows) return null;
    }
    slot = slot + 1 === base + slots ? base : slot + 1;
  }
  if (first < 0 || present < neededWindows) return null;
  return projectBreachSeconds(loads.subarray(first, slots), windowMs / MS_PER_SECOND, usableWatts, scratch, (2 * slots * windowMs) / MS_PER_SECOND);
}

/**
 * `dividend % divisor` for whole numbers (the sign of the dividend), without the float modulo
 * the optimiser emits when it cannot prove 32-bit integers (a call per use). Exact below 2^53.
 */
function remainder(dividend: number, divisor: number): number {
  return dividend - Math.trunc(dividend / divisor) * divisor;
}

/** The remainder with the sign of the divisor (((a % b) + b) % b), for whole numbers below 2^53. */
function floorRemainder(dividend: number, divisor: number): number {
  return dividend - Math.floor(dividend / divisor) * divisor;
}
