import { MS_PER_HOUR } from './time.js';

/**
 * The mutable tail of one meter's timeline: readings not yet folded into frozen window
 * accumulators, sorted by time, plus at most one "anchor" (the last folded reading, whose
 * hold or counter interval may reach into the mutable region).
 *
 * Layout: `data` interleaves [ts, watts] pairs (one array, few objects per meter);
 * `wattHours` exists only once the meter has sent a counter. Only the first `size` pairs
 * count: compaction moves the live pairs down and leaves the arrays' length (and capacity)
 * as it is, so that the next readings reuse it instead of growing a new backing store.
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
  /** Pairs in use: data[0, 2 × size) and wattHours[0, size); anything after is stale. */
  size: number;
}

export function newMeterTail(): MeterTail {
  return { data: [], wattHours: null, head: 0, size: 0 };
}

/**
 * Inserts a reading in time order. Returns its index, or -1 when a reading with the same
 * timestamp is already there (a duplicate: the first one wins).
 */
export function insertReading(tail: MeterTail, tsMs: number, watts: number, wattHours: number): number {
  const data = tail.data;
  const len = tail.size;
  if (!Number.isNaN(wattHours) && tail.wattHours === null) tail.wattHours = new Array<number>(len).fill(NaN);
  if (len === tail.head || data[(len - 1) << 1]! < tsMs) {
    const at = len << 1;
    if (at < data.length) {
      data[at] = tsMs;
      data[at + 1] = watts;
    } else data.push(tsMs, watts);
    const counters = tail.wattHours;
    if (counters !== null) {
      if (len < counters.length) counters[len] = wattHours;
      else counters.push(wattHours);
    }
    tail.size = len + 1;
    return len;
  }
  // Out of order: binary search for the insertion point among live elements.
  let lo = tail.head;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (data[mid << 1]! < tsMs) lo = mid + 1;
    else hi = mid;
  }
  if (lo < len && data[lo << 1] === tsMs) return -1;
  data.splice(lo << 1, 0, tsMs, watts);
  if (tail.wattHours !== null) tail.wattHours.splice(lo, 0, wattHours);
  tail.size = len + 1;
  return lo;
}

/** Counter drop between element i and its predecessor (a reset or wrap). */
export function isCounterReset(tail: MeterTail, i: number): boolean {
  const wattHours = tail.wattHours;
  if (wattHours === null || i <= tail.head) return false;
  const now = wattHours[i]!;
  const before = wattHours[i - 1]!;
  return !Number.isNaN(now) && !Number.isNaN(before) && now < before;
}

/**
 * Power a reading reports, for minWatts/maxWatts/lastWatts: its watts, or, for a counter-only
 * reading, the mean power of the interval it closes (NaN when unknown: no counter before it,
 * a reset, or a gap longer than maxCounterGapMs).
 */
export function readingWatts(tail: MeterTail, i: number, maxCounterGapMs: number): number {
  const watts = tail.data[(i << 1) + 1]!;
  if (!Number.isNaN(watts)) return watts;
  const wattHours = tail.wattHours;
  if (wattHours === null || i <= tail.head) return NaN;
  return counterWatts(tail.data[(i - 1) << 1]!, wattHours[i - 1]!, tail.data[i << 1]!, wattHours[i]!, maxCounterGapMs);
}

/** Mean power between two counter readings; NaN after a drop (reset) or beyond the gap limit. */
export function counterWatts(fromMs: number, fromWattHours: number, toMs: number, toWattHours: number, maxCounterGapMs: number): number {
  if (!(toWattHours >= fromWattHours) || toMs - fromMs > maxCounterGapMs) return NaN;
  return ((toWattHours - fromWattHours) * MS_PER_HOUR) / (toMs - fromMs);
}

/** True when element i is a counter-only reading (`wattHours` without `watts`). */
export function isCounterOnly(tail: MeterTail, i: number): boolean {
  const wattHours = tail.wattHours;
  if (wattHours === null || i >= tail.size) return false;
  return Number.isNaN(tail.data[(i << 1) + 1]!) && !Number.isNaN(wattHours[i]!);
}

/** True when the interval from element i to i + 1 is measured by the counter (see above). */
export function isCounterInterval(tail: MeterTail, i: number): boolean {
  return isCounterOnly(tail, i + 1) && !Number.isNaN(tail.wattHours![i]!);
}

/** Index of the last live element with ts <= tsMs, or head - 1 when there is none. */
export function lastAtOrBefore(tail: MeterTail, tsMs: number): number {
  const data = tail.data;
  let lo = tail.head;
  let hi = tail.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (data[mid << 1]! <= tsMs) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** How long the reading at i may still matter after its ts with no successor: its hold, or its counter's gap limit. */
function reachMs(tail: MeterTail, i: number, maxHoldMs: number, maxCounterGapMs: number): number {
  let spanMs = Number.isNaN(tail.data[(i << 1) + 1]!) ? 0 : maxHoldMs;
  if (tail.wattHours !== null && !Number.isNaN(tail.wattHours[i]!) && maxCounterGapMs > spanMs) spanMs = maxCounterGapMs;
  return spanMs;
}

/**
 * Folds the tail up to `frontierMs`: keeps the last reading before the frontier as the anchor
 * (with its raw values: its forward segment depends only on itself and its successor) unless
 * nothing can follow it any more.
 */
export function foldTail(tail: MeterTail, frontierMs: number, maxHoldMs: number, maxCounterGapMs: number): void {
  const last = lastAtOrBefore(tail, frontierMs - 1);
  if (last < tail.head) return;
  const len = tail.size;
  const expired = tail.data[last << 1]! + reachMs(tail, last, maxHoldMs, maxCounterGapMs) <= frontierMs;
  if (expired && last + 1 >= len) {
    tail.data.length = 0;
    tail.wattHours = null;
    tail.head = 0;
    tail.size = 0;
    return;
  }
  tail.head = last;
  if (tail.head >= 16 && tail.head * 2 > len) {
    // Move the live pairs down in place (the arrays keep their length: see MeterTail).
    const head = tail.head;
    const data = tail.data;
    const live = len - head;
    for (let k = 0, from = head << 1; k < live << 1; k++, from++) data[k] = data[from]!;
    const wattHours = tail.wattHours;
    if (wattHours !== null) for (let k = 0; k < live; k++) wattHours[k] = wattHours[k + head]!;
    tail.head = 0;
    tail.size = live;
  }
}

/**
 * Earliest time at which this meter may contribute, given the fold frontier. A counter
 * interval longer than maxCounterGapMs covers nothing (see above): after a long silence the
 * meter's next contribution is its successor, however far away, so the gap costs nothing.
 */
export function earliestLiveMs(tail: MeterTail, frontierMs: number, maxHoldMs: number, maxCounterGapMs: number): number {
  const len = tail.size;
  if (tail.head >= len) return Infinity;
  const ts = tail.data[tail.head << 1]!;
  if (ts >= frontierMs) return ts;
  // The anchor: live at the frontier while its hold lasts or its counter interval to the
  // successor runs, else its successor is the first.
  if (ts + maxHoldMs > frontierMs) return frontierMs;
  if (tail.head + 1 >= len) return Infinity;
  const nextTsMs = tail.data[(tail.head + 1) << 1]!;
  if (isCounterInterval(tail, tail.head) && nextTsMs - ts <= maxCounterGapMs) return frontierMs;
  return nextTsMs;
}

/**
 * Start of the earliest interval a counter reading not yet received could still change, when
 * readings before `acceptFromMs` are refused: the last reading before that time, if it has a
 * counter value and a reading at or after `acceptFromMs` could still lie within the gap
 * limit of it. Infinity otherwise (nothing before `acceptFromMs` can change).
 */
export function pendingCounterFromMs(tail: MeterTail, acceptFromMs: number, maxCounterGapMs: number): number {
  const wattHours = tail.wattHours;
  if (wattHours === null) return Infinity;
  const last = lastAtOrBefore(tail, acceptFromMs - 1);
  if (last < tail.head || Number.isNaN(wattHours[last]!)) return Infinity;
  const ts = tail.data[last << 1]!;
  return ts + maxCounterGapMs >= acceptFromMs ? ts : Infinity;
}
