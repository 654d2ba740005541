/**
 * quantilesInPlace (selection) against the definition: `quantile` of the sorted values, bit for
 * bit, on random values with many ties, negatives, zeros of both signs and NaN.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantile, quantilesInPlace } from '../../../src/core/select.js';

function expectSameAsSorted(values: readonly number[], qLow: number, qHigh: number): void {
  const sorted = Float64Array.from(values).sort();
  const got = quantilesInPlace(Float64Array.from(values), qLow, qHigh);
  expect(Object.is(got.low, quantile(sorted, qLow))).toBe(true);
  expect(Object.is(got.high, quantile(sorted, qHigh))).toBe(true);
}

const quantilePair = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);

describe('quantiles by selection: the same bits as interpolating the sorted values', () => {
  it('random values (few distinct ones: many ties), any pair of quantiles', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -20, max: 20 }).map((v) => v * 37.5 + 0.25), { maxLength: 1000 }), quantilePair, (values, [qLow, qHigh]) => expectSameAsSorted(values, qLow, qHigh)),
      { numRuns: 400 },
    );
  });

  it('random doubles with zeros of both signs, infinities and NaN, at the swing and envelope percentiles', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, -1)), { maxLength: 300 }), (values) => {
        expectSameAsSorted(values, 0.05, 0.95);
        expectSameAsSorted(values, 0.95, 0.95);
      }),
      { numRuns: 400 },
    );
  });

  it('sorted, reversed and constant inputs of every length up to 40', () => {
    for (let n = 0; n <= 40; n++) {
      const up = Array.from({ length: n }, (_, i) => i + 1);
      for (const values of [up, [...up].reverse(), up.map(() => 7)]) for (const [qLow, qHigh] of [[0, 1], [0.05, 0.95], [0.5, 0.5], [0.95, 0.95]] as const) expectSameAsSorted(values, qLow, qHigh);
    }
  });
});
