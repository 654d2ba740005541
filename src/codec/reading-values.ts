/**
 * The value checks of the reading decoder: ids, ISO-8601 times, the strings that mean a
 * non-finite number, and how a bad value is described in a failure's detail.
 */

const MAX_ID_LENGTH = 64;
const DETAIL_VALUE_CHARS = 40;

const ISO_TS =
  /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

const NON_FINITE_STRINGS = new Set(['nan', 'infinity', '+infinity', '-infinity', 'inf', '+inf', '-inf']);

/** `[A-Za-z0-9_-]{1,64}` without a regex (hot path). */
export function isId(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > MAX_ID_LENGTH) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || // a-z
      (c >= 65 && c <= 90) || // A-Z
      (c >= 48 && c <= 57) || // 0-9
      c === 95 || // _
      c === 45; // -
    if (!ok) return false;
  }
  return true;
}

export function isNonFiniteString(s: string): boolean {
  return s.length <= 9 && NON_FINITE_STRINGS.has(s.toLowerCase());
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** ISO-8601 with a zone → ms since the epoch, or undefined. */
export function parseIsoTimestamp(text: string): number | undefined {
  if (!ISO_TS.test(text)) return undefined;
  // Date.parse checks hour, minute, second and offset ranges but rolls Feb 31 over into
  // March: check the day of the month here. Positions are fixed by the regex.
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (month < 1 || month > 12 || day < 1) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const maxDay = month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day > maxDay) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) value = value * 10 + (text.charCodeAt(i) - 48);
  return value;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `string ${quote(value)}`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'nothing';
    default:
      return typeof value;
  }
}

export function quote(s: string): string {
  return JSON.stringify(truncate(s, DETAIL_VALUE_CHARS));
}

export function truncate(s: string, maxChars: number): string {
  return s.length <= maxChars ? s : `${s.slice(0, maxChars)}…`;
}
