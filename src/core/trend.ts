/**
 * The time-to-breach trend of one node: a least-squares line through its recent window loads,
 * trusted only when its rise is statistically significant, projected with the swing peaks. Pure.
 */
import { dominantPeriod } from './period.js';
import { quantilesInPlace } from './select.js';

export interface TrendScratch {
  y: Float64Array;
  work: Float64Array;
  lags: Float64Array;
  resid: Float64Array;
}

export function newTrendScratch(slots: number): TrendScratch {
  return { y: new Float64Array(slots), work: new Float64Array(slots), lags: new Float64Array(slots + 2), resid: new Float64Array(slots) };
}

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08,
  2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  const degrees = Math.max(1, Math.floor(df));
  return degrees <= 30 ? T_975[degrees - 1]! : 1.96 + 2.4 / degrees;
}

/** Residual share of the envelope above the trend: the 95th percentile of load around the line. */
const ENVELOPE_PERCENTILE = 0.95;

export interface LineFit {
  /** Watts per second. */
  slope: number;
  /** Value of the line at x = 0 (the end of the newest window). */
  intercept: number;
  /** True when the slope's 95 % confidence interval lies above zero. */
  rising: boolean;
}

/**
 * Least squares through z[from..to) at x = (i - last) × step (the newest point at 0). The
 * slope's standard error is widened for autocorrelated residuals (lag-1 correlation ρ: the
 * effective number of points is n (1 - ρ) / (1 + ρ)), so a step or a slow wave with a few
 * points on each side does not pass as a trend.
 */
export function fitLine(z: Float64Array, from: number, to: number, stepSeconds: number, xOffset: number): LineFit | null {
  const n = to - from;
  if (n < 3) return null;
  let sx = 0;
  let sy = 0;
  for (let i = from; i < to; i++) {
    sx += (i - to + 1) * stepSeconds + xOffset;
    sy += z[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = from; i < to; i++) {
    const dx = (i - to + 1) * stepSeconds + xOffset - mx;
    sxx += dx * dx;
    sxy += dx * (z[i]! - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  let lag1 = 0;
  let prev = NaN;
  for (let i = from; i < to; i++) {
    const residual = z[i]! - (intercept + slope * ((i - to + 1) * stepSeconds + xOffset));
    sse += residual * residual;
    if (!Number.isNaN(prev)) lag1 += residual * prev;
    prev = residual;
  }
  const rho = sse > 0 ? Math.max(0, Math.min(0.99, lag1 / sse)) : 0;
  const nEff = (n * (1 - rho)) / (1 + rho);
  const se = Math.sqrt(sse / Math.max(1, n - 2) / sxx) * Math.sqrt(n / nEff);
  const rising = slope > 0 && slope - tQuantile975(nEff - 2) * se > 0;
  return { slope, intercept, rising };
}

/**
 * Seconds until the load envelope (trend plus the upper spread of the load around it) reaches
 * `usableWatts`; null unless the rise is significant over the whole horizon and over its
 * recent half (a step that plateaus is not a trend) and the crossing lies within
 * `maxAheadSeconds`. `y`: loads of consecutive windows, oldest first, the newest last.
 *
 * A periodic swing (a dominant period found in the loads) is averaged out over one period
 * before the fit, so the swing's phase does not tilt the line.
 */
export function projectBreachSeconds(y: Float64Array, stepSeconds: number, usableWatts: number, scratch: TrendScratch, maxAheadSeconds: number): number | null {
  const work = scratch.work;
  const n = y.length;
  if (n < 3) return null;
  // Detrended copy for the period search.
  const raw = fitLine(y, 0, n, stepSeconds, -stepSeconds / 2);
  if (raw === null) return null;
  const detrended = work.subarray(0, n);
  for (let i = 0; i < n; i++) detrended[i] = y[i]! - (raw.intercept + raw.slope * ((i - n + 1) * stepSeconds - stepSeconds / 2));
  const found = dominantPeriod(detrended, n, scratch.lags);
  const period = found === null ? 1 : Math.max(1, Math.round(found.lag));
  // Moving average over one period, placed at the middle of its span.
  const averages = n - period + 1;
  if (averages < 3) return null;
  const moving = work.subarray(0, averages);
  let acc = 0;
  for (let i = 0; i < period; i++) acc += y[i]!;
  moving[0] = acc / period;
  for (let i = 1; i < averages; i++) {
    acc += y[i + period - 1]! - y[i - 1]!;
    moving[i] = acc / period;
  }
  // x of a window load is its middle; the newest average's middle is (period - 1) / 2 windows back.
  const xOffset = -stepSeconds / 2 - ((period - 1) / 2) * stepSeconds;
  const fit = fitLine(moving, 0, averages, stepSeconds, xOffset);
  if (fit === null || !fit.rising) return null;
  const recent = fitLine(moving, Math.floor(averages / 2), averages, stepSeconds, xOffset);
  if (recent === null || !recent.rising) return null;
  // Envelope: the 95th percentile of the load above the line over the horizon.
  const resid = scratch.resid.subarray(0, n);
  for (let i = 0; i < n; i++) resid[i] = y[i]! - (fit.intercept + fit.slope * ((i - n + 1) * stepSeconds - stepSeconds / 2));
  const lift = Math.max(0, quantilesInPlace(resid, ENVELOPE_PERCENTILE, ENVELOPE_PERCENTILE).high);
  const ahead = (usableWatts - (fit.intercept + lift)) / fit.slope;
  if (ahead <= 0) return 0;
  return ahead <= maxAheadSeconds ? ahead : null;
}
