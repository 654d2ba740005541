/**
 * The mutable tail of one meter's timeline: readings not yet folded into frozen window
 * accumulators, sorted by time, plus at most one "anchor" (the last folded reading, whose
 * hold or counter interval may reach into the mutable region).
 *
 * Layout: `data` interleaves [ts, watts] pairs (one array, few objects per meter);
 * `wattHours` exists only once the meter has sent a counter.
 *
 * What each reading covers (its forward segment, up to its successor):
 * - When the successor is counter-only (`wattHours`, no `watts`) and this reading has a
 *   counter value, the pair measures [ts, next ts) exactly: power ΔWh / Δt over the whole
 *   interval, or nothing when the counter dropped (a reset) or Δt exceeds maxCounterGap.
 * - Otherwise a reading with `watts` holds them until its successor, at most maxHold; a
 *   counter-only reading covers nothing forward (the next reading measures that interval).
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
 * Inserts a reading in time order. Returns its index, or -1 when a reading with the same
 * timestamp is already there (a duplicate: the first one wins).
 */
export function insertReading(t: MeterTail, tsMs: number, watts: number, wattHours: number): number {
  const data = t.data;
  const len = data.length >> 1;
  if (wattHours === wattHours && t.wattHours === null) t.wattHours = new Array<number>(len).fill(NaN);
  if (len === t.head || data[(len - 1) << 1]! < tsMs) {
    data.push(tsMs, watts);
    if (t.wattHours !== null) t.wattHours.push(wattHours);
    return len;
  }
  // Out of order: binary search for the insertion point among live elements.
  let lo = t.head;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (data[mid << 1]! < tsMs) lo = mid + 1;
    else hi = mid;
  }
  if (lo < len && data[lo << 1] === tsMs) return -1;
  data.splice(lo << 1, 0, tsMs, watts);
  if (t.wattHours !== null) t.wattHours.splice(lo, 0, wattHours);
  return lo;
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
 * Power a reading reports, for minWatts/maxWatts/lastWatts: its watts, or, for a counter-only
 * reading, the mean power of the interval it closes (NaN when unknown: no counter before it,
 * a reset, or a gap longer than maxCounterGapMs).
 */
export function readingWatts(t: MeterTail, i: number, maxCounterGapMs: number): number {
  const w = t.data[(i << 1) + 1]!;
  if (w === w) return w;
  const whs = t.wattHours;
  if (whs === null || i <= t.head) return NaN;
  return counterWatts(t.data[(i - 1) << 1]!, whs[i - 1]!, t.data[i << 1]!, whs[i]!, maxCounterGapMs);
}

/** Mean power between two counter readings; NaN after a drop (reset) or beyond the gap limit. */
export function counterWatts(t0Ms: number, wh0: number, t1Ms: number, wh1: number, maxCounterGapMs: number): number {
  if (!(wh1 >= wh0) || t1Ms - t0Ms > maxCounterGapMs) return NaN;
  return ((wh1 - wh0) * 3_600_000) / (t1Ms - t0Ms);
}

/** True when element i is a counter-only reading (`wattHours` without `watts`). */
export function isCounterOnly(t: MeterTail, i: number): boolean {
  const whs = t.wattHours;
  if (whs === null || i >= t.data.length >> 1) return false;
  const w = t.data[(i << 1) + 1]!;
  return w !== w && whs[i]! === whs[i]!;
}

/** True when the interval from element i to i + 1 is measured by the counter (see above). */
export function isCounterInterval(t: MeterTail, i: number): boolean {
  return isCounterOnly(t, i + 1) && t.wattHours![i]! === t.wattHours![i]!;
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

/** How long the reading at i may still matter after its ts with no successor: its hold, or its counter's gap limit. */
function reachMs(t: MeterTail, i: number, maxHoldMs: number, maxCounterGapMs: number): number {
  const w = t.data[(i << 1) + 1]!;
  let reach = w === w ? maxHoldMs : 0;
  if (t.wattHours !== null && t.wattHours[i]! === t.wattHours[i]! && maxCounterGapMs > reach) reach = maxCounterGapMs;
  return reach;
}

/**
 * Folds the tail up to `frontierMs`: keeps the last reading before the frontier as the anchor
 * (with its raw values: its forward segment depends only on itself and its successor) unless
 * nothing can follow it any more.
 */
export function foldTail(t: MeterTail, frontierMs: number, maxHoldMs: number, maxCounterGapMs: number): void {
  const last = lastAtOrBefore(t, frontierMs - 1);
  if (last < t.head) return;
  const len = t.data.length >> 1;
  const expired = t.data[last << 1]! + reachMs(t, last, maxHoldMs, maxCounterGapMs) <= frontierMs;
  if (expired && last + 1 >= len) {
    t.data.length = 0;
    t.wattHours = null;
    t.head = 0;
    return;
  }
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
  // The anchor: live at the frontier while its hold lasts or its counter interval to the
  // successor runs, else its successor is the first.
  if (ts + maxHoldMs > frontierMs || isCounterInterval(t, t.head)) return frontierMs;
  return t.head + 1 < len ? t.data[(t.head + 1) << 1]! : Infinity;
}

/**
 * Start of the earliest interval a counter reading not yet received could still change, when
 * readings before `acceptFromMs` are refused: the last reading before that time, if it has a
 * counter value and a reading at or after `acceptFromMs` could still lie within the gap
 * limit of it. Infinity otherwise (nothing before `acceptFromMs` can change).
 */
export function pendingCounterFromMs(t: MeterTail, acceptFromMs: number, maxCounterGapMs: number): number {
  const whs = t.wattHours;
  if (whs === null) return Infinity;
  const last = lastAtOrBefore(t, acceptFromMs - 1);
  if (last < t.head || whs[last]! !== whs[last]!) return Infinity;
  const ts = t.data[last << 1]!;
  return ts + maxCounterGapMs >= acceptFromMs ? ts : Infinity;
}
