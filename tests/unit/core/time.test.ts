import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { monthStartUtcMs, nextBoundaryMs, windowStartMs } from '../../../src/core/time.js';

// Pure time helpers, checked against Date.UTC (which the core itself may not use).

const DAY = 86_400_000;

/** Start of the UTC month of `tsMs`, the slow way. */
function viaDate(tsMs: number): number {
  const d = new Date(tsMs);
  const year = d.getUTCFullYear();
  // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear takes the year as given.
  if (year >= 0 && year <= 99) {
    const first = new Date(0);
    first.setUTCFullYear(year, d.getUTCMonth(), 1);
    return first.getTime();
  }
  return Date.UTC(year, d.getUTCMonth(), 1);
}

// Date's valid range is ±8.64e15 ms; stay well inside it (years about −271821..275760).
const MAX_TS = 8.64e15 - 40 * DAY;

describe('monthStartUtcMs', () => {
  it('matches Date.UTC for random timestamps across the whole Date range', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_TS, max: MAX_TS }), (ts) => {
        expect(monthStartUtcMs(ts)).toBe(viaDate(ts));
      }),
      { numRuns: 20_000 },
    );
  });

  it('matches Date.UTC for random timestamps in 1900..2200', () => {
    const lo = Date.UTC(1900, 0, 1);
    const hi = Date.UTC(2200, 0, 1);
    fc.assert(
      fc.property(fc.integer({ min: lo, max: hi }), (ts) => {
        expect(monthStartUtcMs(ts)).toBe(viaDate(ts));
      }),
      { numRuns: 20_000 },
    );
  });

  it('is exact on the first and last millisecond of every month, 1896..2404 (all leap rules)', () => {
    for (let year = 1896; year <= 2404; year++) {
      for (let month = 0; month < 12; month++) {
        const start = Date.UTC(year, month, 1);
        const next = Date.UTC(year, month + 1, 1);
        expect(monthStartUtcMs(start)).toBe(start);
        expect(monthStartUtcMs(next - 1)).toBe(start);
      }
    }
  });

  it('handles leap days', () => {
    // 2024 leap (÷4), 2000 leap (÷400), 1900 and 2100 not (÷100).
    expect(monthStartUtcMs(Date.UTC(2024, 1, 29, 23, 59, 59, 999))).toBe(Date.UTC(2024, 1, 1));
    expect(monthStartUtcMs(Date.UTC(2024, 2, 1))).toBe(Date.UTC(2024, 2, 1));
    expect(monthStartUtcMs(Date.UTC(2000, 1, 29, 12))).toBe(Date.UTC(2000, 1, 1));
    expect(monthStartUtcMs(Date.UTC(2000, 2, 1) - 1)).toBe(Date.UTC(2000, 1, 1));
    // 1900-02-28 is the last day of February; the next day is March 1.
    expect(monthStartUtcMs(Date.UTC(1900, 1, 28, 23, 59, 59, 999))).toBe(Date.UTC(1900, 1, 1));
    expect(monthStartUtcMs(Date.UTC(1900, 1, 28) + DAY)).toBe(Date.UTC(1900, 2, 1));
    expect(monthStartUtcMs(Date.UTC(2100, 1, 28) + DAY)).toBe(Date.UTC(2100, 2, 1));
  });

  it('handles the epoch and times before it', () => {
    expect(monthStartUtcMs(0)).toBe(0);
    expect(monthStartUtcMs(-1)).toBe(Date.UTC(1969, 11, 1));
    expect(monthStartUtcMs(Date.UTC(1969, 11, 1))).toBe(Date.UTC(1969, 11, 1));
    expect(monthStartUtcMs(Date.UTC(1969, 11, 1) - 1)).toBe(Date.UTC(1969, 10, 1));
    expect(monthStartUtcMs(Date.UTC(1600, 1, 29, 6))).toBe(Date.UTC(1600, 1, 1));
    // Year 99 (Date.UTC would read it as 1999): 0099-12-31T23:59:59.999Z → 0099-12-01.
    expect(monthStartUtcMs(-59_011_459_200_001)).toBe(viaDate(-59_011_459_200_001));
    expect(new Date(monthStartUtcMs(-59_011_459_200_001)).toISOString()).toBe('0099-12-01T00:00:00.000Z');
  });

  it('known values', () => {
    expect(monthStartUtcMs(1_767_225_600_000)).toBe(1_767_225_600_000); // 2026-01-01T00:00Z
    expect(monthStartUtcMs(1_769_903_999_999)).toBe(1_767_225_600_000); // 2026-01-31T23:59:59.999Z
    expect(monthStartUtcMs(1_769_904_000_000)).toBe(1_769_904_000_000); // 2026-02-01T00:00Z
  });
});

describe('windowStartMs', () => {
  it('aligns positive times to the epoch', () => {
    expect(windowStartMs(0, 1000)).toBe(0);
    expect(windowStartMs(999, 1000)).toBe(0);
    expect(windowStartMs(1000, 1000)).toBe(1000);
    expect(windowStartMs(1_767_225_612_345, 10_000)).toBe(1_767_225_610_000);
    expect(windowStartMs(1_767_225_612_345, 900_000)).toBe(1_767_225_600_000);
    expect(windowStartMs(1_767_226_499_999, 900_000)).toBe(1_767_225_600_000);
    expect(windowStartMs(1_767_226_500_000, 900_000)).toBe(1_767_226_500_000);
  });

  it('rounds negative times down, not toward zero', () => {
    expect(windowStartMs(-1, 1000)).toBe(-1000);
    expect(windowStartMs(-999, 1000)).toBe(-1000);
    expect(windowStartMs(-1000, 1000)).toBe(-1000);
    expect(windowStartMs(-1001, 1000)).toBe(-2000);
    expect(windowStartMs(-15_000, 10_000)).toBe(-20_000);
  });

  it('start ≤ ts < start + size, start a multiple of size (random)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e13, max: 1e13 }),
        fc.constantFrom(1_000, 10_000, 60_000, 300_000, 900_000, 3_600_000),
        (ts, size) => {
          const start = windowStartMs(ts, size);
          expect(start).toBeLessThanOrEqual(ts);
          expect(ts).toBeLessThan(start + size);
          expect(Math.abs(start % size)).toBe(0);
        },
      ),
      { numRuns: 5_000 },
    );
  });
});

describe('nextBoundaryMs', () => {
  it('is the first boundary of any size strictly after ts', () => {
    expect(nextBoundaryMs(0, [10_000, 60_000])).toBe(10_000);
    expect(nextBoundaryMs(9_999, [10_000, 60_000])).toBe(10_000);
    expect(nextBoundaryMs(10_000, [10_000, 60_000])).toBe(20_000);
    expect(nextBoundaryMs(59_000, [60_000, 45_000])).toBe(60_000);
    expect(nextBoundaryMs(44_000, [60_000, 45_000])).toBe(45_000);
    expect(nextBoundaryMs(-1, [10_000])).toBe(0);
    expect(nextBoundaryMs(-10_000, [10_000])).toBe(0);
  });
});

describe('windowLabel', () => {
  it('is the one window label of metrics, points and alerts', async () => {
    const { windowLabel } = await import('../../../src/core/time.js');
    const { formatWindowLabel } = await import('../../../src/codec/points.js');
    const { formatWindow } = await import('../../../src/core/alerts/format.js');
    for (const [ms, label] of [[10_000, '10s'], [60_000, '1m'], [900_000, '15m'], [5_400_000, '90m'], [3_600_000, '1h'], [86_400_000, '1d'], [1_500, '1500ms']] as const) {
      expect(windowLabel(ms)).toBe(label);
      expect(formatWindowLabel(ms)).toBe(label);
      expect(formatWindow(ms)).toBe(label);
    }
  });
});
