/**
 * Type-7 quantiles without a full sort: the order statistics they interpolate between are
 * found by selection (quickselect, median-of-three pivots: deterministic), O(n) instead of
 * O(n log n). Bit for bit `quantile` of the sorted values. Pure.
 */

/** Linear interpolation between order statistics (the common "type 7" definition). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface QuantilePair {
  low: number;
  high: number;
}

/**
 * `quantile(sorted, qLow)` and `quantile(sorted, qHigh)` (qLow ≤ qHigh) of `values`, which is
 * reordered in place. With a NaN or a zero among the values it sorts instead (selection
 * compares with `<`, which cannot tell -0 from 0 nor order NaN as the sort does).
 */
export function quantilesInPlace(values: Float64Array, qLow: number, qHigh: number): QuantilePair {
  const n = values.length;
  if (n === 0) return { low: NaN, high: NaN };
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== v || v === 0) {
      values.sort();
      return { low: quantile(values, qLow), high: quantile(values, qHigh) };
    }
  }
  const low = selectQuantile(values, qLow, 0);
  const high = selectQuantile(values, qHigh, Math.floor((n - 1) * qLow) + 1);
  return { low, high };
}

/**
 * The type-7 quantile q of `values`, given that every order statistic below index `from` is
 * already in place (everything at or after `from` is no smaller than what is before it).
 */
function selectQuantile(values: Float64Array, q: number, from: number): number {
  const n = values.length;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  if (lo >= from) select(values, from, n - 1, lo);
  const atLo = values[lo]!;
  // Everything after lo is no smaller than it: the next order statistic is their minimum.
  let atHi = atLo;
  if (hi > lo) {
    atHi = values[lo + 1]!;
    for (let i = lo + 2; i < n; i++) if (values[i]! < atHi) atHi = values[i]!;
  }
  return atLo + (h - lo) * (atHi - atLo);
}

/** Reorders values[left..right] so that values[k] is its k-th smallest, smaller ones before it, larger after. */
function select(values: Float64Array, left: number, right: number, k: number): void {
  let lo = left;
  let hi = right;
  while (hi > lo) {
    const a = values[lo]!;
    const b = values[(lo + hi) >> 1]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}
