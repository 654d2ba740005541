/**
 * Line-protocol points → readings, by a mapping from measurement, tags and fields (Telegraf
 * interop). Pure: a message's bytes and the mapping in, readings and failures out; never throws.
 *
 * - The first mapping whose `measurement` matches (or is `*`) maps the point; a point no mapping
 *   takes fails with `unmapped`.
 * - The meter id is a template of tag values (`{agent_host}-{outlet}`); a missing tag is
 *   `unmapped`, an id outside `[A-Za-z0-9_-]{1,64}` is `bad_id`.
 * - The site is a tag, a fixed id, or the subject's site token; a site from the point that
 *   differs from the subject's is `site_mismatch`.
 * - Each mapped reading field takes one point field (int, uint or float), scaled to the
 *   reading's unit; a string or boolean there is `schema`; a point with none of the mapped
 *   fields is `no_value`; a value that scales past the double range is `non_finite`.
 * - A line that is not line protocol is `malformed_line` (the rest of the message still counts).
 * - The reading's time is the point's (ns → ms, µs kept); a point without one takes the time the
 *   message was received.
 */
import { READING_NUMBER_FIELDS, type DecodeFailure, type DecodeResult, type Reading } from '../../domain/index.js';
import { decodeLineProtocol } from './parser.js';
import type { LineProtocolPoint, LineProtocolPrecision } from './types.js';

export type ReadingNumberField = (typeof READING_NUMBER_FIELDS)[number];

export interface LineProtocolMapping {
  /** Measurement name, or `*` for any. */
  readonly measurement: string;
  /** Site from a tag or a fixed id; absent: the subject's site. */
  readonly site?: { readonly tag: string } | { readonly value: string };
  /** Meter id template: literal text with `{tag}` placeholders. */
  readonly meter: string;
  /** Reading field → point field and the factor to the reading's unit. */
  readonly fields: Partial<Record<ReadingNumberField, { readonly field: string; readonly factor: number }>>;
}

export interface LineProtocolMessageOptions {
  readonly precision: LineProtocolPrecision;
  readonly mappings: readonly LineProtocolMapping[];
  /** Site taken from the subject, when known. */
  readonly subjectSite?: string;
  readonly maxMessageBytes: number;
  /** When the message was received (ms): the time of points without a timestamp. */
  readonly receivedMs: number;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const PLACEHOLDER = /\{([^{}]+)\}/g;
const NS_PER_US = 1000n;
const DETAIL_CHARS = 120;

/** Decode one message of line protocol into readings. Never throws. */
export function decodeLineProtocolMessage(payload: Uint8Array | string, opts: LineProtocolMessageOptions): DecodeResult {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
  if (bytes > opts.maxMessageBytes) {
    return { readings: [], failures: [{ reason: 'too_large', detail: `message of ${bytes} bytes exceeds maxMessageBytes ${opts.maxMessageBytes}` }] };
  }
  const defaultTimeNs = BigInt(Math.round(opts.receivedMs)) * 1_000_000n;
  const { points, errors } = decodeLineProtocol(payload, { precision: opts.precision, defaultTimeNs });
  const readings: Reading[] = [];
  const failures: DecodeFailure[] = errors.map((e) => ({ reason: 'malformed_line', detail: clip(e.message) }));
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    const mapped = mapPoint(point, opts);
    if ('reason' in mapped) failures.push({ ...mapped, detail: clip(`line ${point.line}: ${mapped.detail}`), index: i });
    else readings.push(mapped);
  }
  return { readings, failures };
}

/** One point → one reading, or why not. */
export function mapPoint(point: LineProtocolPoint, opts: Pick<LineProtocolMessageOptions, 'mappings' | 'subjectSite'>): Reading | Omit<DecodeFailure, 'index'> {
  const mapping = opts.mappings.find((m) => m.measurement === '*' || m.measurement === point.measurement);
  if (mapping === undefined) return { reason: 'unmapped', detail: `no mapping for measurement '${point.measurement}'` };

  const tag = (key: string): string | undefined => point.tags.find((t) => t.key === key)?.value;
  let site = opts.subjectSite;
  if (mapping.site !== undefined) {
    const fromPoint = 'value' in mapping.site ? mapping.site.value : tag(mapping.site.tag);
    if (fromPoint === undefined) return { reason: 'unmapped', detail: `tag '${(mapping.site as { tag: string }).tag}' (the site) missing` };
    if (opts.subjectSite !== undefined && fromPoint !== opts.subjectSite) {
      return { reason: 'site_mismatch', detail: `site '${fromPoint}' differs from the subject's '${opts.subjectSite}'` };
    }
    site = fromPoint;
  }
  if (site === undefined) return { reason: 'schema', detail: 'no site: neither the subject nor the mapping gives one' };
  if (!ID.test(site)) return { reason: 'bad_id', detail: `site '${site}' is not a valid id` };

  let missingTag: string | undefined;
  const meter = mapping.meter.replace(PLACEHOLDER, (_m, key: string) => {
    const value = tag(key);
    if (value === undefined) missingTag ??= key;
    return value ?? '';
  });
  if (missingTag !== undefined) return { reason: 'unmapped', detail: `tag '${missingTag}' (in the meter template) missing` };
  if (!ID.test(meter)) return { reason: 'bad_id', detail: `meter '${meter}' is not a valid id` };

  const reading: Reading = { site, meter, tsMs: Number(point.timeNs / NS_PER_US) / 1000 };
  let values = 0;
  for (const name of READING_NUMBER_FIELDS) {
    const source = mapping.fields[name];
    if (source === undefined) continue;
    const field = point.fields.findLast((f) => f.key === source.field);
    if (field === undefined) continue;
    const v = field.value;
    if (v.kind === 'string' || v.kind === 'bool') return { reason: 'schema', detail: `field '${source.field}' is a ${v.kind}, ${name} needs a number` };
    const value = Number(v.value) * source.factor;
    if (!Number.isFinite(value)) return { reason: 'non_finite', detail: `field '${source.field}' scales past the number range` };
    reading[name] = value;
    values++;
  }
  if (values === 0) return { reason: 'no_value', detail: `none of the mapped fields (${Object.values(mapping.fields).map((f) => f.field).join(', ')}) in the point` };
  return reading;
}

function clip(text: string): string {
  return text.length <= DETAIL_CHARS ? text : `${text.slice(0, DETAIL_CHARS - 1)}…`;
}
