/**
 * Human units in config files: durations (`500ms`, `10s`, `15m`, `1h30m`), power (`400kW`,
 * `2.5MW`, `320 MW`) and sizes (`10GB`, `1MiB`). Plain numbers are base units (watts,
 * bytes); durations in config files need a unit (a bare `10` is refused, only `0` may stand
 * alone), while the parse functions for CLI flags still take a number as ms. Parsing is exact for decimal input: `1.1s` is 1100 ms, not 1100.0000000000002.
 */
import { z } from 'zod';

/** A unit string that could not be parsed. */
export class UnitParseError extends Error {
  override readonly name = 'UnitParseError';
}

export type UnitResult = { ok: true; value: number } | { ok: false; message: string };

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const POWER_UNITS_WATTS: Readonly<Record<string, number>> = { W: 1, kW: 1e3, KW: 1e3, MW: 1e6, GW: 1e9 };
const SIZE_UNITS_BYTES: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** Decimal literal without sign: `12`, `2.5`, `.5`, `1e3`. */
const DECIMAL = String.raw`(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const SINGLE_RE = new RegExp(String.raw`^(${DECIMAL})\s*([A-Za-z]+)$`);
const DURATION_PART_RE = new RegExp(String.raw`(${DECIMAL})\s*(ms|s|m|h|d)`, 'y');

/** value × 10^k computed on the decimal string, so that `1.1` × 10^3 is exactly 1100. */
function scaleDecimal(literal: string, powerOfTen: number): number {
  const [mantissa, exp] = literal.toLowerCase().split('e');
  return Number(`${mantissa ?? '0'}e${Number(exp ?? '0') + powerOfTen}`);
}

/** Multiplies a decimal literal by a unit factor without binary rounding noise where possible. */
function times(literal: string, factor: number): number {
  const log = Math.log10(factor);
  if (Number.isInteger(log)) return scaleDecimal(literal, log);
  // Factors like 60 000 ms: scale by the power-of-ten part exactly, then by the rest.
  if (factor % 1000 === 0) return scaleDecimal(literal, 3) * (factor / 1000);
  return Number(literal) * factor;
}

function quote(v: string | number): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function checkNumber(v: number, what: string, unit: string): UnitResult {
  if (!Number.isFinite(v)) return { ok: false, message: `invalid ${what} ${v}: must be a finite number of ${unit}` };
  if (v < 0) return { ok: false, message: `invalid ${what} ${v}: must not be negative` };
  return { ok: true, value: v };
}

function negativeString(s: string): boolean {
  return /^\s*-/.test(s);
}

/** Duration in ms, or a readable message. Numbers are ms. Result is a whole number of ms. */
export function checkDurationMs(input: string | number): UnitResult {
  const expected = 'expected a number with a unit (ms, s, m, h, d), e.g. 500ms, 10s, 15m, 1h30m';
  let ms: number;
  if (typeof input === 'number') {
    const r = checkNumber(input, 'duration', 'ms');
    if (!r.ok) return r;
    ms = input;
  } else {
    const s = input.trim();
    if (negativeString(s)) return { ok: false, message: `invalid duration '${input}': must not be negative` };
    if (s === '') return { ok: false, message: `invalid duration '': ${expected}` };
    ms = 0;
    DURATION_PART_RE.lastIndex = 0;
    let pos = 0;
    while (pos < s.length) {
      DURATION_PART_RE.lastIndex = pos;
      const m = DURATION_PART_RE.exec(s);
      // `m` must not swallow the `m` of `ms`: the alternation tries `ms` first.
      if (m === null || m[1] === undefined || m[2] === undefined) {
        return { ok: false, message: `invalid duration '${input}': ${expected}` };
      }
      ms += times(m[1], DURATION_UNITS_MS[m[2]] ?? NaN);
      pos = DURATION_PART_RE.lastIndex;
      while (s[pos] === ' ') pos++;
    }
    if (!Number.isFinite(ms)) return { ok: false, message: `invalid duration '${input}': too large` };
  }
  if (!Number.isInteger(ms)) {
    return { ok: false, message: `invalid duration ${quote(input)}: must be a whole number of milliseconds` };
  }
  return { ok: true, value: ms };
}

/**
 * A duration in a config file: like checkDurationMs, but a bare number other than 0 is
 * refused, because `10` reads as 10 ms to the parser and as 10 s to most people.
 */
export function checkConfigDurationMs(input: string | number): UnitResult {
  if (typeof input === 'number' && input !== 0) {
    return { ok: false, message: `duration ${input} has no unit: write e.g. ${input}s or ${input}ms (units ms, s, m, h, d)` };
  }
  return checkDurationMs(input);
}

/** Power in watts, or a readable message. Numbers are watts. */
export function checkPowerWatts(input: string | number): UnitResult {
  const expected = 'expected watts or a number with a unit (W, kW, MW, GW), e.g. 750W, 400kW, 2.5MW';
  if (typeof input === 'number') return checkNumber(input, 'power', 'watts');
  if (negativeString(input)) return { ok: false, message: `invalid power '${input}': must not be negative` };
  const m = SINGLE_RE.exec(input.trim());
  const factor = m?.[2] === undefined ? undefined : POWER_UNITS_WATTS[m[2]];
  if (m === null || m[1] === undefined || factor === undefined) {
    return { ok: false, message: `invalid power '${input}': ${expected}` };
  }
  const watts = times(m[1], factor);
  if (!Number.isFinite(watts)) return { ok: false, message: `invalid power '${input}': too large` };
  return { ok: true, value: watts };
}

/** Size in bytes, or a readable message. Numbers are bytes. KB/MB/GB are 1000-based, KiB/MiB/GiB 1024-based. */
export function checkSizeBytes(input: string | number): UnitResult {
  const expected = 'expected bytes or a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 10GB';
  let bytes: number;
  if (typeof input === 'number') {
    const r = checkNumber(input, 'size', 'bytes');
    if (!r.ok) return r;
    bytes = input;
  } else {
    if (negativeString(input)) return { ok: false, message: `invalid size '${input}': must not be negative` };
    const m = SINGLE_RE.exec(input.trim());
    const factor = m?.[2] === undefined ? undefined : SIZE_UNITS_BYTES[m[2]];
    if (m === null || m[1] === undefined || factor === undefined) {
      return { ok: false, message: `invalid size '${input}': ${expected}` };
    }
    bytes = times(m[1], factor);
  }
  if (!Number.isSafeInteger(bytes)) {
    return { ok: false, message: `invalid size ${quote(input)}: must be a whole number of bytes` };
  }
  return { ok: true, value: bytes };
}

function orThrow(r: UnitResult): number {
  if (!r.ok) throw new UnitParseError(r.message);
  return r.value;
}

/** `500ms`, `10s`, `1m`, `15m`, `1h`, `1d`, `1h30m` → ms; a number is taken as ms. Throws UnitParseError. */
export function parseDurationMs(input: string | number): number {
  return orThrow(checkDurationMs(input));
}

/** `750W`, `400kW`, `2.5MW`, `320 MW`, `1GW` → watts; a number is taken as watts. Throws UnitParseError. */
export function parsePowerWatts(input: string | number): number {
  return orThrow(checkPowerWatts(input));
}

/** `10GB`, `512MiB` → bytes; a number is taken as bytes. Throws UnitParseError. */
export function parseSizeBytes(input: string | number): number {
  return orThrow(checkSizeBytes(input));
}

/** Shortest exact rendering: 60000 → `1m`, 1500 → `1500ms`, 5400000 → `90m`. */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const factor = DURATION_UNITS_MS[unit] ?? 1;
    if (ms !== 0 && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}

/** Readable power: 320000000 → `320MW`, 400000 → `400kW`, 2500000 → `2.5MW`. */
export function formatPowerWatts(watts: number): string {
  const units: [string, number][] = [
    ['GW', 1e9],
    ['MW', 1e6],
    ['kW', 1e3],
  ];
  for (const [unit, factor] of units) {
    if (Math.abs(watts) >= factor) return `${Number((watts / factor).toPrecision(6))}${unit}`;
  }
  return `${Number(watts.toPrecision(6))}W`;
}

function unitSchema(check: (v: string | number) => UnitResult) {
  return z.union([z.string(), z.number()], {
    errorMap: (issue, ctx) =>
      issue.code !== 'invalid_union'
        ? { message: ctx.defaultError }
        : ctx.data === undefined
          ? { message: 'required' }
          : { message: `expected a number or a string with a unit, got ${ctx.data === null ? 'null' : typeof ctx.data}` },
  }).transform((v, ctx): number => {
    const r = check(v);
    if (r.ok) return r.value;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: r.message });
    return z.NEVER;
  });
}

/** Zod schema: duration with a unit (`10s`, `15m`; a bare number only for 0) → whole ms, >= 0. */
export const durationMs = unitSchema(checkConfigDurationMs);
/** Zod schema: power (`400kW`, `2.5MW`, number = watts) → watts, >= 0. */
export const powerWatts = unitSchema(checkPowerWatts);
/** Zod schema: size (`10GB`, `1MiB`, number = bytes) → whole bytes, >= 0. */
export const sizeBytes = unitSchema(checkSizeBytes);
