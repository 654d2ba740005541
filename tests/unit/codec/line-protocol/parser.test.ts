/**
 * The line-protocol decoder against InfluxData's own conformance corpus (vendored, MIT):
 * every valid case decodes to exactly the expected points, every invalid case is rejected.
 * Numbers in the corpus are read losslessly (times and int64/uint64 values pass 2^53).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse as parseLossless } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { decodeLineProtocol, pointsToCorpusShape, type CorpusPoint, type LineProtocolPrecision } from '../../../../src/codec/index.js';

interface CorpusCase {
  input: { key: string; text: string | { binary: string }; precision: string; defaultTime: string };
  output: { result?: RawPoint[]; error?: string };
}
interface RawPoint {
  name: string;
  tags: { key: string; value: string }[];
  fields: { key: string; value: Record<string, string | boolean> }[];
  time: string;
}

const CORPUS = new URL('../../../fixtures/data/line-protocol/corpus-decode.json.gz', import.meta.url);
// Numbers stay as their text, converted below by what they mean.
const corpus = parseLossless(gunzipSync(readFileSync(CORPUS)).toString('utf8'), undefined, (text: string) => text) as {
  decode: Record<string, CorpusCase>;
};
const cases = Object.values(corpus.decode);

const PRECISIONS: Record<string, LineProtocolPrecision> = { '1ns': '1ns', '1µs': '1us', '1us': '1us', '1ms': '1ms', '1s': '1s' };

function inputBytes(text: CorpusCase['input']['text']): Uint8Array {
  return typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.binary, 'base64');
}

/** The corpus's expected point, numbers typed as the decoder types them. */
function expectedPoint(p: RawPoint): CorpusPoint {
  return {
    name: p.name,
    tags: p.tags,
    fields: p.fields.map(({ key, value }) => {
      const [kind, raw] = Object.entries(value)[0]!;
      switch (kind) {
        case 'float': return { key, value: { float: Number(raw) } };
        case 'int': return { key, value: { int: BigInt(raw as string) } };
        case 'uint': return { key, value: { uint: BigInt(raw as string) } };
        case 'bool': return { key, value: { bool: raw as boolean } };
        default: return { key, value: { string: raw as string } };
      }
    }),
    time: BigInt(p.time),
  };
}

function decodeCase(c: CorpusCase) {
  const precision = PRECISIONS[c.input.precision];
  if (precision === undefined) throw new Error(`corpus case ${c.input.key}: unknown precision ${c.input.precision}`);
  return decodeLineProtocol(inputBytes(c.input.text), { precision, defaultTimeNs: BigInt(c.input.defaultTime) });
}

describe('line protocol: the InfluxData conformance corpus', () => {
  const valid = cases.filter((c) => c.output.result !== undefined);
  const invalid = cases.filter((c) => c.output.error !== undefined);

  it('holds thousands of cases of both kinds', () => {
    expect(valid.length).toBeGreaterThan(250);
    expect(invalid.length).toBeGreaterThan(4000);
  });

  it('decodes every valid case to exactly the expected points', () => {
    const wrong: string[] = [];
    for (const c of valid) {
      const { points, errors } = decodeCase(c);
      const got = errors.length > 0 ? { error: errors.map((e) => e.message).join('; ') } : pointsToCorpusShape(points);
      const want = c.output.result!.map(expectedPoint);
      try {
        expect(got).toEqual(want);
      } catch {
        wrong.push(`${c.input.key} ${JSON.stringify(c.input.text)}: got ${JSON.stringify(got, bigintText)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('rejects every invalid case', () => {
    const accepted = invalid.filter((c) => decodeCase(c).errors.length === 0).map((c) => `${c.input.key} ${JSON.stringify(c.input.text)} (want: ${c.output.error})`);
    expect(accepted).toEqual([]);
  });
});

function bigintText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
