/** Pure time arithmetic on ms since the Unix epoch (UTC). No clock is read here. */

export const MS_PER_SECOND = 1000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

/**
 * The 1-second bucket grid. The integrator sums each node's power per second on it (peaks,
 * lows and swing series are made of these buckets), so every integrated range starts on it and
 * a fold held back by a counter interval stops on it: a bucket never straddles two folds.
 */
export const BUCKET_MS = 1000;

/** Start of the 1-second bucket holding `tsMs`. */
export function bucketStartMs(tsMs: number): number {
  return Math.floor(tsMs / BUCKET_MS) * BUCKET_MS;
}

/** Start of the epoch-aligned window of size `sizeMs` that contains `tsMs`. */
export function windowStartMs(tsMs: number, sizeMs: number): number {
  return Math.floor(tsMs / sizeMs) * sizeMs;
}

/** First boundary of any of the sizes strictly after `tsMs`. */
export function nextBoundaryMs(tsMs: number, sizesMs: readonly number[]): number {
  let next = Infinity;
  for (const size of sizesMs) {
    const boundaryMs = windowStartMs(tsMs, size) + size;
    if (boundaryMs < next) next = boundaryMs;
  }
  return next;
}

/** Days since the epoch → civil UTC year and month (Howard Hinnant's algorithm). */
function civilFromDays(days: number): { year: number; month: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month };
}

/** Civil UTC year/month (month 1..12) → days since the epoch of its first day. */
function daysFromCivil(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Start (ms) of the UTC calendar month containing `tsMs`. */
export function monthStartUtcMs(tsMs: number): number {
  const days = Math.floor(tsMs / MS_PER_DAY);
  const { year, month } = civilFromDays(days);
  return daysFromCivil(year, month) * MS_PER_DAY;
}

const LABEL_UNITS_MS: readonly (readonly [string, number])[] = [
  ['d', MS_PER_DAY],
  ['h', MS_PER_HOUR],
  ['m', 60_000],
  ['s', MS_PER_SECOND],
];

/**
 * The window size as a label: the largest unit that divides it exactly (10000 → `10s`,
 * 60000 → `1m`, 900000 → `15m`, 5400000 → `90m`, 3600000 → `1h`, 1500 → `1500ms`). The one
 * rendering of the `window` label of Prometheus series, InfluxDB tags and alert labels.
 */
export function windowLabel(windowMs: number): string {
  for (const [unit, factor] of LABEL_UNITS_MS) {
    if (windowMs !== 0 && windowMs % factor === 0) return `${windowMs / factor}${unit}`;
  }
  return `${windowMs}ms`;
}
