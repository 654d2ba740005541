/**
 * The mutable tail of one meter's timeline: readings not yet folded into frozen window
 * accumulators, sorted by time, plus at most one "anchor" (the last folded reading, whose
 * hold may reach into the mutable region and whose counter value derives its successor).
 *
 * Layout: `data` interleaves [ts, watts] pairs (one array, few objects per meter);
 * `wattHours` exists only once the meter has sent a counter.
 */
export interface MeterTail {
  data: number[];
  wattHours: number[] | null;
  /** Index (in pairs) of the first live element; earlier pairs await compaction. */
  head: number;
}

export function newMeterTail(): MeterTail {
  return { data: [], wattHours: null, head: 0 };
}

export const tailLength = (t: MeterTail): number => t.data.length >> 1;
export const tsAt = (t: MeterTail, i: number): number => t.data[i << 1]!;

/**
 * Inserts a reading in time order. Returns false when a reading with the same timestamp
 * is already there (a duplicate: the first one wins).
 */
export function insertReading(t: MeterTail, tsMs: number, watts: number, wattHours: number): boolean {
  const data = t.data;
  const len = data.length >> 1;
  if (wattHours === wattHours && t.wattHours === null) t.wattHours = new Array<number>(len).fill(NaN);
  if (len === t.head || data[(len - 1) << 1]! < tsMs) {
    data.push(tsMs, watts);
    if (t.wattHours !== null) t.wattHours.push(wattHours);
    return true;
  }
  // Out of order: binary search for the insertion point among live elements.
  let lo = t.head;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (data[mid << 1]! < tsMs) lo = mid + 1;
    else hi = mid;
  }
  if (lo < len && data[lo << 1] === tsMs) return false;
  data.splice(lo << 1, 0, tsMs, watts);
  if (t.wattHours !== null) t.wattHours.splice(lo, 0, wattHours);
  return true;
}

/** Counter drop between element i and its predecessor (a reset or wrap). */
export function isCounterReset(t: MeterTail, i: number): boolean {
  const whs = t.wattHours;
  if (whs === null || i <= t.head) return false;
  const wh = whs[i]!;
  const prev = whs[i - 1]!;
  return wh === wh && prev === prev && wh < prev;
}

/**
 * Effective power of element i: its watts, or, for a counter-only reading, the average
 * power since the previous counter reading (NaN when unknown or after a reset).
 */
export function effectiveWatts(t: MeterTail, i: number): number {
  const w = t.data[(i << 1) + 1]!;
  if (w === w) return w;
  const whs = t.wattHours;
  if (whs === null || i <= t.head) return NaN;
  const wh = whs[i]!;
  const prev = whs[i - 1]!;
  if (wh !== wh || prev !== prev || wh < prev) return NaN;
  const dtMs = t.data[i << 1]! - t.data[(i - 1) << 1]!;
  return ((wh - prev) * 3_600_000) / dtMs;
}

/** Index of the last live element with ts <= tsMs, or head - 1 when there is none. */
export function lastAtOrBefore(t: MeterTail, tsMs: number): number {
  const data = t.data;
  let lo = t.head;
  let hi = data.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (data[mid << 1]! <= tsMs) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * Folds the tail up to `frontierMs`: keeps the last reading before the frontier as the
 * anchor (with its effective power frozen into `watts`) unless its hold has expired.
 */
export function foldTail(t: MeterTail, frontierMs: number, maxHoldMs: number): void {
  const last = lastAtOrBefore(t, frontierMs - 1);
  if (last < t.head) return;
  const len = t.data.length >> 1;
  const anchorWatts = effectiveWatts(t, last);
  const expired = t.data[last << 1]! + maxHoldMs <= frontierMs;
  if (expired && last + 1 >= len) {
    t.data.length = 0;
    t.wattHours = null;
    t.head = 0;
    return;
  }
  t.data[(last << 1) + 1] = anchorWatts;
  t.head = last;
  if (t.head >= 16 && t.head * 2 > len) {
    t.data.splice(0, t.head << 1);
    if (t.wattHours !== null) t.wattHours.splice(0, t.head);
    t.head = 0;
  }
}

/** Earliest time at which this meter may contribute, given the fold frontier. */
export function earliestLiveMs(t: MeterTail, frontierMs: number, maxHoldMs: number): number {
  const len = t.data.length >> 1;
  if (t.head >= len) return Infinity;
  const ts = t.data[t.head << 1]!;
  if (ts >= frontierMs) return ts;
  // The anchor: live at the frontier while its hold lasts, else its successor is the first.
  if (ts + maxHoldMs > frontierMs) return frontierMs;
  return t.head + 1 < len ? t.data[(t.head + 1) << 1]! : Infinity;
}
