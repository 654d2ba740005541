import { describe, it, expect } from 'vitest';
import {
  durationMs,
  formatDurationMs,
  formatPowerWatts,
  parseDurationMs,
  parsePowerWatts,
  parseSizeBytes,
  powerWatts,
  UnitParseError,
} from '../../../src/config/index.js';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1m', 60_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['0.25m', 15_000],
    ['1h30m', 5_400_000],
    ['2m 30s', 150_000],
    [' 10 s ', 10_000],
    ['0s', 0],
    [250, 250],
    [0, 0],
  ] as const)('%s → %d ms', (input, expected) => {
    expect(parseDurationMs(input)).toBe(expected);
  });

  it.each(['10 parsecs', '-5s', '', '10', '5 minutes', '1.5ms', 's', '10sm', '1e400s'])('rejects %j', (input) => {
    expect(() => parseDurationMs(input)).toThrow(UnitParseError);
  });

  it.each([-1, 1.5, Number.NaN, Infinity])('rejects the number %d', (input) => {
    expect(() => parseDurationMs(input)).toThrow(UnitParseError);
  });

  it('names the input and the expected form in the message', () => {
    expect(() => parseDurationMs('10 parsecs')).toThrow(/invalid duration '10 parsecs': expected a number with a unit \(ms, s, m, h, d\)/);
    expect(() => parseDurationMs('-5s')).toThrow(/must not be negative/);
  });
});

describe('parsePowerWatts', () => {
  it.each([
    [750, 750],
    ['750W', 750],
    ['400kW', 400_000],
    ['2.5MW', 2_500_000],
    ['320 MW', 320_000_000],
    ['1GW', 1_000_000_000],
    ['1.8MW', 1_800_000],
    ['0.1kW', 100],
    ['1e3 kW', 1_000_000],
    [0, 0],
  ] as const)('%s → %d W', (input, expected) => {
    expect(parsePowerWatts(input)).toBe(expected);
  });

  it.each(['-5MW', '10 parsecs', '5 mw', 'MW', '5', '2.5 megawatts'])('rejects %j', (input) => {
    expect(() => parsePowerWatts(input)).toThrow(UnitParseError);
  });

  it('rejects negative numbers', () => {
    expect(() => parsePowerWatts(-1)).toThrow(/must not be negative/);
    expect(() => parsePowerWatts('-5MW')).toThrow(/invalid power '-5MW': must not be negative/);
  });
});

describe('parseSizeBytes', () => {
  it.each([
    [1024, 1024],
    ['10GB', 10_000_000_000],
    ['1MiB', 1_048_576],
    ['512 KiB', 524_288],
  ] as const)('%s → %d bytes', (input, expected) => {
    expect(parseSizeBytes(input)).toBe(expected);
  });

  it.each(['10 parsecs', '-1GB', '1.5B'])('rejects %j', (input) => {
    expect(() => parseSizeBytes(input)).toThrow(UnitParseError);
  });
});

describe('zod unit schemas', () => {
  it('produce numbers', () => {
    expect(durationMs.parse('15m')).toBe(900_000);
    expect(powerWatts.parse('2MW')).toBe(2_000_000);
  });

  it('report readable errors', () => {
    const r = powerWatts.safeParse('10 parsecs');
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues[0]?.message).toMatch(/^invalid power '10 parsecs'/);
    const t = durationMs.safeParse(true);
    expect(t.success).toBe(false);
    if (!t.success) expect(t.error.issues[0]?.message).toBe('expected a number or a string with a unit, got boolean');
  });
});

describe('formatting', () => {
  it.each([
    [60_000, '1m'],
    [1500, '1500ms'],
    [900_000, '15m'],
    [5_400_000, '90m'],
    [86_400_000, '1d'],
    [0, '0ms'],
  ] as const)('formatDurationMs(%d) = %s', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each([
    [320_000_000, '320MW'],
    [400_000, '400kW'],
    [2_500_000, '2.5MW'],
    [750, '750W'],
  ] as const)('formatPowerWatts(%d) = %s', (watts, text) => {
    expect(formatPowerWatts(watts)).toBe(text);
    expect(parsePowerWatts(text)).toBe(watts);
  });
});
