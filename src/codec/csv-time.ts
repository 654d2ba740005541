/**
 * Time cells of CSV rows → ms since the epoch.
 *
 * Patterns are date-fns patterns, parsed with date-fns `parse` in the `@date-fns/utc`
 * context: the wall-clock fields land in a UTC date whatever the process's zone (the plain
 * `parse` builds a local Date, which shifts times inside the process zone's DST gap). The
 * wall-clock time is then placed in the mapping's zone with an offset looked up through
 * `@date-fns/tz` once per zone and quarter hour of wall clock and cached: date-fns parsing
 * with an `in: tz(zone)` context measured 76 µs per value here (1 ms with ±hh:mm zones),
 * this path about 5 µs. In a zone's own DST gap or overlap the time takes the offset that
 * `@date-fns/tz` gives the start of that quarter hour. A pattern with an offset token
 * (`X`, `x`) carries its own zone; `zone` is then ignored.
 */
import { TZDate } from '@date-fns/tz';
import { UTCDate, utc } from '@date-fns/utc';
import { format, parse } from 'date-fns';
import { CsvMappingError } from './csv-mapping.js';

/** Parses one time string; NaN when it does not match. */
export type TimeParser = (text: string) => number;

const QUARTER_HOUR_MS = 15 * 60_000;
const OFFSET_RE = /^([+-])(\d{2}):?(\d{2})$/;
const REFERENCE = new UTCDate(0);

/** True when the pattern has an offset token outside quoted literals. */
function hasOffsetToken(pattern: string): boolean {
  let quoted = false;
  for (const c of pattern) {
    if (c === "'") quoted = !quoted;
    else if (!quoted && (c === 'X' || c === 'x')) return true;
  }
  return false;
}

/** wall clock (as if UTC) → UTC offset of `zone` at that wall time, ms. */
export type WallOffset = (wallMs: number) => number;

/** Offset lookup for an IANA zone or ±hh:mm; throws CsvMappingError for an unknown zone. */
export function zoneOffset(zone: string): WallOffset {
  if (zone === 'UTC' || zone === 'Z' || zone === 'Etc/UTC') return () => 0;
  const fixed = OFFSET_RE.exec(zone);
  if (fixed !== null) {
    const offsetMs = (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3])) * 60_000;
    return () => offsetMs;
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch (err: unknown) {
    throw new CsvMappingError(`zone '${zone}' is not an IANA time zone or ±hh:mm (${err instanceof Error ? err.message : String(err)})`);
  }
  const cache = new Map<number, number>();
  return (wallMs) => {
    const bucket = Math.floor(wallMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
    let offsetMs = cache.get(bucket);
    if (offsetMs === undefined) {
      const w = new UTCDate(bucket);
      const instant = new TZDate(w.getFullYear(), w.getMonth(), w.getDate(), w.getHours(), w.getMinutes(), 0, 0, zone).getTime();
      offsetMs = bucket - instant;
      if (cache.size > 10_000) cache.clear();
      cache.set(bucket, offsetMs);
    }
    return offsetMs;
  };
}

/** A parser for a date-fns pattern in a zone (default UTC). */
export function patternParser(pattern: string, zone: string | undefined): TimeParser {
  // Fail on a bad pattern now: date-fns format throws RangeError for unknown letters.
  try {
    format(REFERENCE, pattern, { in: utc });
  } catch (err: unknown) {
    throw new CsvMappingError(`time pattern '${pattern}': ${err instanceof Error ? err.message : String(err)}`);
  }
  const offset = hasOffsetToken(pattern) ? () => 0 : zoneOffset(zone ?? 'UTC');
  let lastText = '';
  let lastMs = NaN;
  return (text) => {
    if (text === lastText) return lastMs;
    const wallMs = parse(text, pattern, REFERENCE, { in: utc }).getTime();
    lastText = text;
    lastMs = Number.isFinite(wallMs) ? wallMs - offset(wallMs) : NaN;
    return lastMs;
  };
}

/** Strict decimal number (no hex, no empty string, no `Infinity`); NaN otherwise. */
export function parseDecimal(text: string): number {
  const t = text.trim();
  if (t.length === 0 || !DECIMAL_RE.test(t)) return NaN;
  return Number(t);
}

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
