/**
 * Readings on the wire (docs/design.md section 2): bytes → validated `Reading`s, and back.
 *
 * Decisions (documented here because sources, sinks and tests rely on them):
 * - A message is one JSON object or a JSON array of them (gateway batch). An empty array
 *   decodes to no readings and no failures. Any other top-level value is `schema`.
 * - Unknown keys are ignored (forward compatible: a gateway may add fields first).
 * - `null` for an optional numeric field means "no value" and is treated as absent, so a
 *   reading whose only values are `null` fails with `no_value`. `null` for `site`, `meter`
 *   or `ts` is `schema`.
 * - Numbers must be finite: `1e999` (parses to Infinity) and the strings "NaN", "Infinity",
 *   "-Infinity", "+Infinity", "inf", "-inf" give `non_finite`; any other non-number value
 *   (numeric strings included) gives `schema`. No range checks beyond that: negative watts
 *   (export), negative counters and odd power factors are the core's business.
 * - `ts`: a finite number is ms since the epoch (fractions kept) and must lie in the range
 *   of a JS Date (±8.64e15 ms), else `bad_timestamp`. A string must be ISO-8601 / RFC 3339
 *   `YYYY-MM-DDThh:mm[:ss[.fff…]]` with a zone `Z` or `±hh:mm` (`t`/`z` accepted in lower
 *   case); zone-less strings and impossible dates (Feb 31) are `bad_timestamp`.
 *   Fractions beyond ms are truncated (Date.parse).
 * - Ids match `[A-Za-z0-9_-]{1,64}`, else `bad_id` (a non-string id is `schema`).
 * - `site` may be omitted when `subjectSite` is given; when both are present they must be
 *   equal (`site_mismatch`). Without either, the reading fails with `schema`.
 * - A payload over `maxMessageBytes` (UTF-8 bytes) gives one `too_large` failure and is not
 *   parsed. Invalid UTF-8 and invalid JSON give one `malformed_json` failure.
 * - Each bad element of a batch gives one failure (the first problem found) with its
 *   `index`; good elements are kept in order.
 * - Never throws.
 */
import { READING_NUMBER_FIELDS, type DecodeFailure, type DecodeFailureReason, type DecodeResult, type Reading } from '../domain/index.js';
import { describe, isId, isNonFiniteString, parseIsoTimestamp, quote, truncate } from './reading-values.js';

export { parseIsoTimestamp } from './reading-values.js';

export interface DecodeOptions {
  /** Site taken from the NATS subject `telemetry.<site>.<source>`, when known. */
  subjectSite?: string;
  /** Payloads larger than this many bytes are rejected as `too_large` without parsing. */
  maxMessageBytes: number;
}

/** Optional numeric fields of a reading, in canonical (encoding) order. */
const NUMERIC_FIELDS = READING_NUMBER_FIELDS;

/** Largest absolute time value a JS Date can hold. */
const MAX_DATE_MS = 8.64e15;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Decode one NATS message (or one NDJSON line). Never throws. */
export function decodeMessage(payload: Uint8Array | string, opts: DecodeOptions): DecodeResult {
  const readings: Reading[] = [];
  const failures: DecodeFailure[] = [];

  const sizeBytes = payloadBytes(payload, opts.maxMessageBytes);
  if (sizeBytes > opts.maxMessageBytes) {
    failures.push({
      reason: 'too_large',
      detail: `message of ${sizeBytes} bytes exceeds maxMessageBytes ${opts.maxMessageBytes}`,
    });
    return { readings, failures };
  }

  let parsed: unknown;
  try {
    const text = typeof payload === 'string' ? payload : utf8.decode(payload);
    parsed = JSON.parse(text);
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    failures.push({ reason: 'malformed_json', detail: truncate(message, 120) });
    return { readings, failures };
  }

  if (Array.isArray(parsed)) {
    // The readings of a batch share their site: checked as an id once, then compared.
    let validSite: string | undefined;
    for (let i = 0; i < parsed.length; i++) {
      const outcome = decodeReading(parsed[i], opts.subjectSite, validSite);
      if (isFailure(outcome)) {
        outcome.index = i;
        failures.push(outcome);
      } else {
        validSite = outcome.site;
        readings.push(outcome);
      }
    }
  } else {
    const outcome = decodeReading(parsed, opts.subjectSite, undefined);
    if (isFailure(outcome)) failures.push(outcome);
    else readings.push(outcome);
  }
  return { readings, failures };
}

/**
 * Canonical JSON for a reading: fixed key order (site, meter, ts, then the numeric fields
 * in `Reading` order), `ts` in ms, absent fields omitted. Non-finite numbers are written as
 * the strings "NaN" / "Infinity" / "-Infinity" so that a simulator can emit them as faults
 * and the decoder rejects them as `non_finite` (plain JSON would turn them into null).
 */
export function encodeReading(r: Reading): string {
  let out = `{"site":${JSON.stringify(r.site)},"meter":${JSON.stringify(r.meter)},"ts":${encodeNumber(r.tsMs)}`;
  for (const field of NUMERIC_FIELDS) {
    const value = r[field];
    if (value !== undefined) out += `,"${field}":${encodeNumber(value)}`;
  }
  return `${out}}`;
}

function encodeNumber(value: number): string {
  if (Object.is(value, -0)) return '-0'; // JSON.stringify would lose the sign
  if (Number.isFinite(value)) return JSON.stringify(value);
  return `"${String(value)}"`;
}

/** Byte size of the payload; exact whenever it could exceed the limit. */
function payloadBytes(payload: Uint8Array | string, maxBytes: number): number {
  if (typeof payload !== 'string') return payload.byteLength;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: skip the exact count when clearly small.
  if (payload.length * 3 <= maxBytes) return payload.length;
  return utf8Length(payload);
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function isFailure(outcome: Reading | DecodeFailure): outcome is DecodeFailure {
  return (outcome as DecodeFailure).reason !== undefined;
}

function fail(reason: DecodeFailureReason, detail: string): DecodeFailure {
  return { reason, detail };
}

/** Validate one element. Returns the reading or the first failure found. `validSite`: a site already found a valid id. */
function decodeReading(value: unknown, subjectSite: string | undefined, validSite: string | undefined): Reading | DecodeFailure {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('schema', `expected a reading object, got ${describe(value)}`);
  }
  const o = value as Record<string, unknown>;

  // site
  let site: string;
  const rawSite = o.site;
  if (rawSite === undefined) {
    if (subjectSite === undefined) return fail('schema', 'site is missing and the subject gives none');
    if (subjectSite !== validSite && !isId(subjectSite)) return fail('bad_id', `subject site ${quote(subjectSite)} is not a valid id`);
    site = subjectSite;
  } else {
    if (typeof rawSite !== 'string') return fail('schema', `site: expected a string, got ${describe(rawSite)}`);
    if (rawSite !== validSite && !isId(rawSite)) return fail('bad_id', `site ${quote(rawSite)} is not a valid id`);
    if (subjectSite !== undefined && rawSite !== subjectSite) {
      return fail('site_mismatch', `site ${quote(rawSite)} does not match subject site ${quote(subjectSite)}`);
    }
    site = rawSite;
  }

  // meter
  const meter = o.meter;
  if (typeof meter !== 'string') return fail('schema', `meter: expected a string, got ${describe(meter)}`);
  if (!isId(meter)) return fail('bad_id', `meter ${quote(meter)} is not a valid id`);

  // ts
  const ts = o.ts;
  let tsMs: number;
  if (typeof ts === 'number') {
    if (!Number.isFinite(ts)) return fail('non_finite', `ts: ${String(ts)} is not finite`);
    if (ts > MAX_DATE_MS || ts < -MAX_DATE_MS) return fail('bad_timestamp', `ts: ${ts} is outside the Date range`);
    tsMs = ts;
  } else if (typeof ts === 'string') {
    if (isNonFiniteString(ts)) return fail('non_finite', `ts: ${quote(ts)} is not finite`);
    const parsedMs = parseIsoTimestamp(ts);
    if (parsedMs === undefined) {
      return fail('bad_timestamp', `ts: ${quote(ts)} is not an ISO-8601 time with zone (Z or ±hh:mm)`);
    }
    tsMs = parsedMs;
  } else {
    return fail('schema', `ts: expected a number or an ISO-8601 string, got ${describe(ts)}`);
  }

  // Named property reads (not a loop over keys): JSON.parse objects of one gateway share a
  // hidden class, so these stay monomorphic. Roughly 2x faster than the keyed loop.
  const watts = o.watts;
  const wattHours = o.wattHours;
  const voltAmperes = o.voltAmperes;
  const powerFactor = o.powerFactor;
  const volts = o.volts;
  const amps = o.amps;
  const hertz = o.hertz;
  const pricePerMWh = o.pricePerMWh;
  const carbonGramsPerKWh = o.carbonGramsPerKWh;
  const bad =
    checkNumber('watts', watts) ??
    checkNumber('wattHours', wattHours) ??
    checkNumber('voltAmperes', voltAmperes) ??
    checkNumber('powerFactor', powerFactor) ??
    checkNumber('volts', volts) ??
    checkNumber('amps', amps) ??
    checkNumber('hertz', hertz) ??
    checkNumber('pricePerMWh', pricePerMWh) ??
    checkNumber('carbonGramsPerKWh', carbonGramsPerKWh);
  if (bad !== undefined) return bad;

  // After checkNumber every field is a finite number, undefined or null.
  const reading: Reading = { site, meter, tsMs };
  let hasValue = false;
  if (typeof watts === 'number') {
    reading.watts = watts;
    hasValue = true;
  }
  if (typeof wattHours === 'number') {
    reading.wattHours = wattHours;
    hasValue = true;
  }
  if (typeof voltAmperes === 'number') reading.voltAmperes = voltAmperes;
  if (typeof powerFactor === 'number') reading.powerFactor = powerFactor;
  if (typeof volts === 'number') {
    reading.volts = volts;
    hasValue = true;
  }
  if (typeof amps === 'number') reading.amps = amps;
  if (typeof hertz === 'number') {
    reading.hertz = hertz;
    hasValue = true;
  }
  if (typeof pricePerMWh === 'number') {
    reading.pricePerMWh = pricePerMWh;
    hasValue = true;
  }
  if (typeof carbonGramsPerKWh === 'number') {
    reading.carbonGramsPerKWh = carbonGramsPerKWh;
    hasValue = true;
  }
  if (!hasValue) {
    return fail('no_value', 'none of watts, wattHours, hertz, volts, pricePerMWh, carbonGramsPerKWh is present');
  }
  return reading;
}

/** undefined when `raw` is absent, null or a finite number; else the failure. */
function checkNumber(field: string, raw: unknown): DecodeFailure | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') {
    return Number.isFinite(raw) ? undefined : fail('non_finite', `${field}: ${String(raw)} is not finite`);
  }
  if (typeof raw === 'string' && isNonFiniteString(raw)) return fail('non_finite', `${field}: ${quote(raw)} is not finite`);
  return fail('schema', `${field}: expected a number, got ${describe(raw)}`);
}

/** UTF-8 bytes of a reading's canonical JSON (for publishers). */
export function encodeReadingBytes(r: Reading): Uint8Array {
  return utf8Encoder.encode(encodeReading(r));
}
