/**
 * The mutable tail of one meter's timeline: readings not yet folded into frozen window
 * accumulators, sorted by time, plus at most one "anchor" (the last folded reading, whose
 * hold may reach into the mutable region and whose counter value derives its successor).
 */
export interface MeterTail {
  tsMs: number[];
  watts: number[];
  wattHours: number[];
  /** Index of the first live element (elements before it are garbage awaiting compaction). */
  head: number;
}

export function newMeterTail(): MeterTail {
  return { tsMs: [], watts: [], wattHours: [], head: 0 };
}

/**
 * Inserts a reading in time order. Returns false when a reading with the same timestamp
 * is already there (a duplicate: the first one wins).
 */
export function insertReading(t: MeterTail, tsMs: number, watts: number, wattHours: number): boolean {
  const ts = t.tsMs;
  let i = ts.length;
  if (i === t.head || ts[i - 1]! < tsMs) {
    ts.push(tsMs);
    t.watts.push(watts);
    t.wattHours.push(wattHours);
    return true;
  }
  // Out of order: binary search for the insertion point among live elements.
  let lo = t.head;
  let hi = i;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < tsMs) lo = mid + 1;
    else hi = mid;
  }
  if (lo < i && ts[lo] === tsMs) return false;
  ts.splice(lo, 0, tsMs);
  t.watts.splice(lo, 0, watts);
  t.wattHours.splice(lo, 0, wattHours);
  return true;
}

/** True when the timestamp is already present in the live tail. */
export function hasTimestamp(t: MeterTail, tsMs: number): boolean {
  const ts = t.tsMs;
  let lo = t.head;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < tsMs) lo = mid + 1;
    else hi = mid;
  }
  return lo < ts.length && ts[lo] === tsMs;
}

/** Counter drop between element i and its predecessor (a reset or wrap). */
export function isCounterReset(t: MeterTail, i: number): boolean {
  if (i <= t.head) return false;
  const wh = t.wattHours[i]!;
  const prev = t.wattHours[i - 1]!;
  return wh === wh && prev === prev && wh < prev;
}

/**
 * Effective power of element i: its watts, or, for a counter-only reading, the average
 * power since the previous counter reading (NaN when unknown or after a reset).
 */
export function effectiveWatts(t: MeterTail, i: number): number {
  const w = t.watts[i]!;
  if (w === w) return w;
  if (i <= t.head) return NaN;
  const wh = t.wattHours[i]!;
  const prev = t.wattHours[i - 1]!;
  if (wh !== wh || prev !== prev || wh < prev) return NaN;
  const dtMs = t.tsMs[i]! - t.tsMs[i - 1]!;
  return ((wh - prev) * 3_600_000) / dtMs;
}

/** Index of the last live element with ts <= tsMs, or head - 1 when there is none. */
export function lastAtOrBefore(t: MeterTail, tsMs: number): number {
  const ts = t.tsMs;
  let lo = t.head;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! <= tsMs) lo = mid + 1;
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
  const anchorWatts = effectiveWatts(t, last);
  const expired = t.tsMs[last]! + maxHoldMs <= frontierMs;
  const hasSuccessor = last + 1 < t.tsMs.length;
  if (expired && !hasSuccessor) {
    t.tsMs.length = 0;
    t.watts.length = 0;
    t.wattHours.length = 0;
    t.head = 0;
    return;
  }
  t.watts[last] = anchorWatts;
  t.head = last;
  if (t.head > 32 && t.head * 2 > t.tsMs.length) {
    t.tsMs.splice(0, t.head);
    t.watts.splice(0, t.head);
    t.wattHours.splice(0, t.head);
    t.head = 0;
  }
}

/** Earliest time at which this meter may contribute, given the fold frontier. */
export function earliestLiveMs(t: MeterTail, frontierMs: number): number {
  if (t.head >= t.tsMs.length) return Infinity;
  const ts = t.tsMs[t.head]!;
  return ts < frontierMs ? frontierMs : ts;
}
