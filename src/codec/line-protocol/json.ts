/**
 * Decoded line-protocol points as JSON, in the shape of InfluxData's conformance corpus:
 * `{"result":[{"name","tags":[{"key","value"}],"fields":[{"key","value":{"float"|"int"|"uint"|
 * "string"|"bool": …}}],"time"}]}` or `{"error": "…"}`. Times and integers are written as exact
 * JSON integers (they pass 2^53), which `JSON.stringify` cannot do with `bigint`.
 */
import type { FieldValue, LineProtocolPoint, LineProtocolResult } from './types.js';

export type CorpusValue = { float: number } | { int: bigint } | { uint: bigint } | { string: string } | { bool: boolean };

export interface CorpusPoint {
  name: string;
  tags: { key: string; value: string }[];
  fields: { key: string; value: CorpusValue }[];
  time: bigint;
}

function corpusValue(v: FieldValue): CorpusValue {
  switch (v.kind) {
    case 'float': return { float: v.value };
    case 'int': return { int: v.value };
    case 'uint': return { uint: v.value };
    case 'string': return { string: v.value };
    case 'bool': return { bool: v.value };
  }
}

export function pointsToCorpusShape(points: readonly LineProtocolPoint[]): CorpusPoint[] {
  return points.map((p) => ({
    name: p.measurement,
    tags: p.tags.map(({ key, value }) => ({ key, value })),
    fields: p.fields.map(({ key, value }) => ({ key, value: corpusValue(value) })),
    time: p.timeNs,
  }));
}

/** One decode answer as a JSON line: the points, or the errors joined into one message. */
export function decodeAnswerJson(result: LineProtocolResult): string {
  if (result.errors.length > 0) return JSON.stringify({ error: result.errors.map((e) => e.message).join('; ') });
  return exactJson({ result: pointsToCorpusShape(result.points) });
}

/** JSON text of plain data, with bigint written as an exact integer. */
export function exactJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(exactJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${exactJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
