/** The dominant period of a swing, by autocorrelation (swing metrics and the trend). Pure. */

/** A period is reported when it explains at least this share of the variance. */
const MIN_PERIOD_SHARE = 0.5;

/**
 * The dominant period of a zero-mean, evenly spaced series, by autocorrelation: r(k) is the
 * correlation of the series with itself shifted by k points (over the overlap). The period is
 * the first lag, after r first drops below zero, whose r is within 10 % of the highest r of
 * all lags up to half the series (at least two cycles seen); refined between lags by a
 * parabola. r at that lag is the share of the variance that repeats with that period. None
 * when that share is below 0.5 or within noise of zero (3 / √overlap).
 */
export function dominantPeriod(x: Float64Array, maxLagPoints: number, lags: Float64Array): { lag: number; share: number } | null {
  const n = x.length;
  const maxLag = Math.min(maxLagPoints, Math.floor(n / 2));
  if (maxLag < 2) return null;
  const r = lags.length >= maxLag + 2 ? lags.subarray(0, maxLag + 2) : new Float64Array(maxLag + 2);
  r.fill(0);
  autocorrelation(x, Math.min(maxLag + 1, n - 2), r);
  let from = 1;
  while (from <= maxLag && r[from]! >= 0) from++;
  if (from > maxLag) return null;
  let best = -Infinity;
  for (let k = from; k <= maxLag; k++) if (r[k]! > best) best = r[k]!;
  let lag = -1;
  for (let k = from; k <= maxLag; k++) {
    const rk = r[k]!;
    if (rk >= 0.9 * best && rk >= r[k - 1]! && rk >= r[k + 1]!) {
      lag = k;
      break;
    }
  }
  if (lag < 0) return null;
  const share = r[lag]!;
  if (share < MIN_PERIOD_SHARE || share < 3 / Math.sqrt(n - lag)) return null;
  let refined = lag;
  if (lag + 1 <= Math.min(maxLag + 1, n - 2)) {
    const a = r[lag - 1]!;
    const b = r[lag]!;
    const c = r[lag + 1]!;
    const denom = a - 2 * b + c;
    if (denom < 0) refined = lag + Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / denom));
  }
  return { lag: refined, share: Math.min(1, share) };
}

/**
 * r[k] for k in 1..kMax: sxy / √(sxx · syy) over the overlap of x with x shifted by k. Bit for
 * bit the straightforward sums (each summed in ascending i, from 0): sxx(k) is the prefix sum
 * of squares up to n - k (the same chain), and four lags share one pass over x, each with its
 * own accumulators in the same order.
 */
function autocorrelation(x: Float64Array, kMax: number, r: Float64Array): void {
  const n = x.length;
  // r[k] holds sxx(k) = Σ_{i < n-k} x[i]² until the lag is finished.
  let squares = 0;
  for (let i = 0; i < n - 1; i++) {
    squares += x[i]! * x[i]!;
    const k = n - 1 - i;
    if (k <= kMax) r[k] = squares;
  }
  let k = 1;
  for (; k + 3 <= kMax; k += 4) {
    let xy0 = 0;
    let xy1 = 0;
    let xy2 = 0;
    let xy3 = 0;
    let yy0 = 0;
    let yy1 = 0;
    let yy2 = 0;
    let yy3 = 0;
    const end = n - k - 3;
    for (let i = 0; i < end; i++) {
      const a = x[i]!;
      const b0 = x[i + k]!;
      const b1 = x[i + k + 1]!;
      const b2 = x[i + k + 2]!;
      const b3 = x[i + k + 3]!;
      xy0 += a * b0;
      yy0 += b0 * b0;
      xy1 += a * b1;
      yy1 += b1 * b1;
      xy2 += a * b2;
      yy2 += b2 * b2;
      xy3 += a * b3;
      yy3 += b3 * b3;
    }
    // The shorter lags overlap further: lag k + 2 by one point, k + 1 by two, k by three.
    for (let i = end; i < end + 3; i++) {
      const a = x[i]!;
      const b0 = x[i + k]!;
      xy0 += a * b0;
      yy0 += b0 * b0;
      if (i < end + 2) {
        const b1 = x[i + k + 1]!;
        xy1 += a * b1;
        yy1 += b1 * b1;
      }
      if (i < end + 1) {
        const b2 = x[i + k + 2]!;
        xy2 += a * b2;
        yy2 += b2 * b2;
      }
    }
    finishLag(r, k, xy0, yy0);
    finishLag(r, k + 1, xy1, yy1);
    finishLag(r, k + 2, xy2, yy2);
    finishLag(r, k + 3, xy3, yy3);
  }
  for (; k <= kMax; k++) {
    let xy = 0;
    let yy = 0;
    for (let i = 0; i + k < n; i++) {
      const b = x[i + k]!;
      xy += x[i]! * b;
      yy += b * b;
    }
    finishLag(r, k, xy, yy);
  }
}

function finishLag(r: Float64Array, k: number, sxy: number, syy: number): void {
  const sxx = r[k]!;
  r[k] = sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}
