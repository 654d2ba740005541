/**
 * Training swings: per node and window (windows of a minute and longer), the spread of the
 * node's 1-second power buckets (95th minus 5th percentile), and the dominant period of the
 * swing around the window's linear trend with the share of the variance it carries. Pure.
 */

import { dominantPeriod } from './period.js';
import { quantilesInPlace } from './select.js';
import { BUCKET_MS } from './time.js';

export { dominantPeriod } from './period.js';
export { quantile } from './select.js';

/** Windows shorter than this get no swing metrics. */
export const SWING_MIN_WINDOW_MS = 60_000;
/** Points per node and window at most (a 1-hour window at 1 s; longer windows average seconds). */
const MAX_POINTS = 3600;
/** Fewest points per window on the largest sites. */
const MIN_POINTS = 12;
/** Points kept per site across its swing window sizes (two arrays each): bounds the memory. */
const POINT_BUDGET = 1 << 19;
/** Longest period searched, seconds: training iterations swing in seconds to a minute or two. */
const MAX_PERIOD_SECONDS = 300;
/** Percentiles of the detrended series whose spread is `swingWatts`. */
export const SWING_LOW_PERCENTILE = 0.05;
export const SWING_HIGH_PERCENTILE = 0.95;
/** The series must cover this share of its points for a period to be searched. */
const MIN_PERIOD_COVERAGE = 0.9;

/** The 1-second bucket series of every node over one window, averaged into points. */
export interface SwingSeries {
  windowMs: number;
  secondsPerPoint: number;
  points: number;
  /** Window start the series belongs to (NaN when empty). */
  startMs: number;
  /** Per node × point: sum of the node's 1-second bucket watts in the point. */
  sumWatts: Float64Array;
  /** Per node × point: covered 1-second buckets in the point. */
  seconds: Float64Array;
}

export interface SwingStats {
  swingWatts: number;
  swingPeriodSeconds: number | null;
  swingPeriodShare: number | null;
}

/** The series of one window size, or undefined for windows shorter than a minute. */
export function newSwingSeries(windowMs: number, nodeCount: number, swingSizes: number): SwingSeries | undefined {
  if (windowMs < SWING_MIN_WINDOW_MS) return undefined;
  const windowSeconds = Math.ceil(windowMs / BUCKET_MS);
  const budget = Math.floor(POINT_BUDGET / Math.max(1, nodeCount * swingSizes));
  const target = Math.min(windowSeconds, MAX_POINTS, Math.max(MIN_POINTS, budget));
  const secondsPerPoint = Math.ceil(windowSeconds / target);
  const points = Math.ceil(windowSeconds / secondsPerPoint);
  return {
    windowMs,
    secondsPerPoint,
    points,
    startMs: NaN,
    sumWatts: new Float64Array(nodeCount * points),
    seconds: new Float64Array(nodeCount * points),
  };
}

export function resetSwing(series: SwingSeries, startMs: number): void {
  series.startMs = startMs;
  series.sumWatts.fill(0);
  series.seconds.fill(0);
}

export function copySwing(into: SwingSeries, from: SwingSeries): void {
  into.startMs = from.startMs;
  into.sumWatts.set(from.sumWatts);
  into.seconds.set(from.seconds);
}

/** The 1-second buckets of a range as the integrator leaves them: node n, second k at n × stride + k. */
export interface BucketView {
  sumWatts: Float64Array;
  covered: Uint8Array;
  stride: number;
  /** Epoch second of bucket 0. */
  firstSecond: number;
  seconds: number;
}

/** Adds the covered buckets of a range (inside the series' window) to the series. */
export function addBuckets(series: SwingSeries, buckets: BucketView, nodeCount: number): void {
  const windowFirstSecond = Math.floor(series.startMs / BUCKET_MS);
  const secondsPerPoint = series.secondsPerPoint;
  for (let node = 0; node < nodeCount; node++) {
    const base = node * buckets.stride;
    const out = node * series.points;
    for (let second = 0; second < buckets.seconds; second++) {
      if (buckets.covered[base + second] === 0) continue;
      const point = Math.floor((buckets.firstSecond + second - windowFirstSecond) / secondsPerPoint);
      if (point < 0 || point >= series.points) continue;
      series.sumWatts[out + point]! += buckets.sumWatts[base + second]!;
      series.seconds[out + point]! += 1;
    }
  }
}

/** Working arrays for swingStats, sized for the largest series of a site. */
export interface SwingScratch {
  values: Float64Array;
  sorted: Float64Array;
  index: Float64Array;
  full: Float64Array;
  lags: Float64Array;
}

export function newSwingScratch(points: number): SwingScratch {
  const array = (): Float64Array => new Float64Array(points + 2);
  return { values: array(), sorted: array(), index: array(), full: array(), lags: array() };
}

/** Swing metrics of `node`, or null when the node has fewer than two covered points. */
export function swingStatsOf(series: SwingSeries, node: number, scratch: SwingScratch): SwingStats | null {
  const base = node * series.points;
  const { values, index } = scratch;
  let count = 0;
  for (let point = 0; point < series.points; point++) {
    const seconds = series.seconds[base + point]!;
    if (seconds === 0) continue;
    values[count] = series.sumWatts[base + point]! / seconds;
    index[count] = point;
    count++;
  }
  if (count < 2) return null;
  return swingStats(values.subarray(0, count), index.subarray(0, count), series.points, series.secondsPerPoint, scratch);
}

/**
 * Swing metrics of a series of `values` at point positions `index` (ascending, of `points`).
 * `values` is detrended in place. Exported for tests.
 */
export function swingStats(
  values: Float64Array,
  index: Float64Array,
  points: number,
  secondsPerPoint: number,
  scratch: Pick<SwingScratch, 'sorted' | 'full' | 'lags'>,
): SwingStats {
  const count = values.length;
  // A copy: the selection reorders it, `values` keeps its point order for the period search.
  const copy = scratch.sorted.subarray(0, count);
  copy.set(values);
  const spread = quantilesInPlace(copy, SWING_LOW_PERCENTILE, SWING_HIGH_PERCENTILE);
  const swingWatts = spread.high - spread.low;
  // The period is searched around the window's trend (a ramp is not a swing).
  detrend(values, index);
  let period: { lag: number; share: number } | null = null;
  if (count >= MIN_PERIOD_COVERAGE * points && count >= 4 && swingWatts > 0) {
    // Gaps take the trend's value (0 after detrending); the series is then evenly spaced.
    const full = scratch.full.subarray(0, points);
    full.fill(0);
    for (let i = 0; i < count; i++) full[index[i]!] = values[i]!;
    period = dominantPeriod(full, Math.max(2, Math.floor(MAX_PERIOD_SECONDS / secondsPerPoint)), scratch.lags);
  }
  return {
    swingWatts,
    swingPeriodSeconds: period === null ? null : period.lag * secondsPerPoint,
    swingPeriodShare: period === null ? null : period.share,
  };
}

/** Removes the least-squares line through (index, value). */
function detrend(values: Float64Array, index: Float64Array): void {
  const n = values.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += index[i]!;
    sy += values[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = index[i]! - mx;
    sxx += dx * dx;
    sxy += dx * (values[i]! - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  for (let i = 0; i < n; i++) values[i] = values[i]! - my - slope * (index[i]! - mx);
}
