/**
 * dominantPeriod against a straightforward reference: every lag's three sums in one loop, as
 * the definition reads. The fast version (prefix sums of squares, four lags per pass) sums in
 * the same order, so lag and share must agree exactly, on random and on periodic series.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dominantPeriod } from '../../../src/core/swing.js';

/** The definition, term by term (the implementation before it was made faster). */
function referencePeriod(x: Float64Array, maxLagPoints: number): { lag: number; share: number } | null {
  const n = x.length;
  const maxLag = Math.min(maxLagPoints, Math.floor(n / 2));
  if (maxLag < 2) return null;
  const r = new Float64Array(maxLag + 2);
  for (let k = 1; k <= Math.min(maxLag + 1, n - 2); k++) {
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i + k < n; i++) {
      sxy += x[i]! * x[i + k]!;
      sxx += x[i]! * x[i]!;
      syy += x[i + k]! * x[i + k]!;
    }
    r[k] = sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
  }
  let from = 1;
  while (from <= maxLag && r[from]! >= 0) from++;
  if (from > maxLag) return null;
  let best = -Infinity;
  // As before the change: `>` skips a NaN lag (Math.max would make the best NaN).
  for (let k = from; k <= maxLag; k++) if (r[k]! > best) best = r[k]!;
  let lag = -1;
  for (let k = from; k <= maxLag && lag < 0; k++) if (r[k]! >= 0.9 * best && r[k]! >= r[k - 1]! && r[k]! >= r[k + 1]!) lag = k;
  if (lag < 0) return null;
  const share = r[lag]!;
  if (share < 0.5 || share < 3 / Math.sqrt(n - lag)) return null;
  let refined = lag;
  if (lag + 1 <= Math.min(maxLag + 1, n - 2)) {
    const denom = r[lag - 1]! - 2 * r[lag]! + r[lag + 1]!;
    if (denom < 0) refined = lag + Math.max(-0.5, Math.min(0.5, (0.5 * (r[lag - 1]! - r[lag + 1]!)) / denom));
  }
  return { lag: refined, share: Math.min(1, share) };
}

function expectSame(x: Float64Array, maxLagPoints: number): void {
  const expected = referencePeriod(x, maxLagPoints);
  // Scratch as the engine sizes it (points + 2), and one too short (the function allocates).
  for (const lags of [new Float64Array(x.length + 2), new Float64Array(1)]) {
    const got = dominantPeriod(x, maxLagPoints, lags);
    if (expected === null) expect(got).toBeNull();
    else {
      expect(got).not.toBeNull();
      expect(got?.lag).toBe(expected.lag);
      expect(Math.abs((got?.share ?? NaN) - expected.share)).toBeLessThanOrEqual(1e-12);
      // Same summation order: not merely close, the same bits.
      expect(got).toEqual(expected);
    }
  }
}

const shapes = {
  sine: (phase: number): number => Math.sin(2 * Math.PI * phase),
  square: (phase: number): number => (phase % 1 < 0.5 ? 1 : -1),
  saw: (phase: number): number => 2 * (phase % 1) - 1,
};

describe('dominantPeriod: the same lag and share as the straightforward sums', () => {
  it('random series of every length from 0 to 400 and any lag bound', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { maxLength: 400 }),
        fc.integer({ min: 0, max: 320 }),
        (values, maxLagPoints) => expectSame(Float64Array.from(values), maxLagPoints),
      ),
      { numRuns: 300 },
    );
  });

  it('periodic series (sine, square, saw) with noise and gaps, up to 900 points and 300 lags', () => {
    let found = 0;
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 8, max: 900 }),
          periodPoints: fc.double({ min: 2, max: 150, noNaN: true }),
          phase: fc.double({ min: 0, max: 1, noNaN: true }),
          shape: fc.constantFrom('sine', 'square', 'saw'),
          amplitudeWatts: fc.double({ min: 1e-3, max: 1e5, noNaN: true }),
          noiseShare: fc.double({ min: 0, max: 1.5, noNaN: true }),
          noise: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 16, maxLength: 16 }),
          gapEvery: fc.integer({ min: 0, max: 30 }),
          maxLagPoints: fc.integer({ min: 2, max: 300 }),
        }),
        (c) => {
          const x = new Float64Array(c.n);
          for (let i = 0; i < c.n; i++) {
            const periodic = shapes[c.shape](c.phase + i / c.periodPoints);
            x[i] = c.gapEvery > 0 && i % c.gapEvery === 0 ? 0 : c.amplitudeWatts * (periodic + c.noiseShare * c.noise[(i * 7) % 16]!);
          }
          if (referencePeriod(x, c.maxLagPoints) !== null) found++;
          expectSame(x, c.maxLagPoints);
        },
      ),
      { numRuns: 300 },
    );
    // The periodic cases reach the refinement, not only the early returns.
    expect(found).toBeGreaterThan(30);
  });

  it('edge series: zeros, one spike, a constant, two points, squares that underflow', () => {
    // The last: products underflow, so some r are NaN or Infinity (found by the property above).
    const underflow = Float64Array.of(4.5727412850574695e-185, 0, 5.402291700338752e-140, 0, 0, 1.5717277847026288e-162);
    for (const x of [new Float64Array(50), Float64Array.from({ length: 50 }, (_, i) => (i === 17 ? 5 : 0)), new Float64Array(40).fill(3), Float64Array.of(1, -1), underflow]) {
      for (const maxLagPoints of [0, 2, 3, 7, 25, 300]) expectSame(x, maxLagPoints);
    }
  });
});
