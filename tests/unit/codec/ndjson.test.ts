import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeReading } from '../../../src/codec/index.js';
import type { Reading } from '../../../src/domain/index.js';
import { ndjsonLines, type NdjsonLine } from '../../helpers/ndjson-lines.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'headroom-ndjson-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const opts = { maxMessageBytes: 4096 };

async function collect(path: string, subjectSite?: string): Promise<NdjsonLine[]> {
  const out: NdjsonLine[] = [];
  for await (const item of ndjsonLines(path, subjectSite === undefined ? opts : { ...opts, subjectSite })) out.push(item);
  return out;
}

const readings: Reading[] = Array.from({ length: 5 }, (_, i) => ({ site: 'dc1', meter: `m${i}`, tsMs: 1000 * i, watts: i * 10 }));
const text = [
  encodeReading(readings[0]!),
  '',
  encodeReading(readings[1]!),
  '   ',
  '{"site":"dc1","meter":"bad id","ts":1,"watts":1}',
  `[${encodeReading(readings[2]!)},${encodeReading(readings[3]!)}]`,
  'not json',
  encodeReading(readings[4]!),
  '',
].join('\n');

function check(lines: NdjsonLine[]): void {
  expect(lines.map((l) => l.line)).toEqual([1, 3, 5, 6, 7, 8]);
  expect(lines.flatMap((l) => l.result.readings)).toEqual(readings);
  expect(lines.flatMap((l) => l.result.failures.map((f) => [l.line, f.reason]))).toEqual([
    [5, 'bad_id'],
    [7, 'malformed_json'],
  ]);
}

describe('NDJSON replay reader', () => {
  it('reads plain NDJSON, skipping blank lines but counting them', async () => {
    const path = join(dir, 'plain.ndjson');
    await writeFile(path, text);
    check(await collect(path));
  });

  it('handles CRLF line ends', async () => {
    const path = join(dir, 'crlf.ndjson');
    await writeFile(path, text.replaceAll('\n', '\r\n'));
    check(await collect(path));
  });

  it('detects gzip by magic bytes, whatever the file name', async () => {
    const path = join(dir, 'compressed.ndjson'); // no .gz on purpose
    await writeFile(path, gzipSync(text));
    check(await collect(path));
  });

  it('applies maxMessageBytes per line and the subject site', async () => {
    const path = join(dir, 'limits.ndjson');
    await writeFile(path, `{"meter":"m","ts":1,"watts":1}\n{"meter":"m","ts":2,"watts":1,"pad":"${'x'.repeat(5000)}"}\n`);
    const lines = await collect(path, 'dc9');
    expect(lines[0]?.result.readings).toEqual([{ site: 'dc9', meter: 'm', tsMs: 1, watts: 1 }]);
    expect(lines[1]?.result.failures.map((f) => f.reason)).toEqual(['too_large']);
  });

  it('streams: the consumer can stop early', async () => {
    const path = join(dir, 'many.ndjson.gz');
    const many = Array.from({ length: 20_000 }, (_, i) => encodeReading({ site: 's', meter: 'm', tsMs: i, watts: i })).join('\n');
    await writeFile(path, gzipSync(many));
    let n = 0;
    for await (const item of ndjsonLines(path, opts)) {
      n++;
      if (item.line === 10) break;
    }
    expect(n).toBe(10);
  });

  it('reads an empty file', async () => {
    const path = join(dir, 'empty.ndjson');
    await writeFile(path, '');
    expect(await collect(path)).toEqual([]);
  });

  it('throws I/O errors: missing file and corrupt gzip', async () => {
    await expect(collect(join(dir, 'missing.ndjson'))).rejects.toThrow(/ENOENT/);
    const path = join(dir, 'corrupt.gz');
    const gz = gzipSync(text.repeat(50));
    await writeFile(path, gz.subarray(0, Math.floor(gz.length / 2)));
    await expect(collect(path)).rejects.toThrow();
  });
});
