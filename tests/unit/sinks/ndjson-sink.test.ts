/**
 * The NDJSON results sink on restart: appends by default (truncates on request), rotates by
 * size and by age (an injected clock), and cuts a line torn by a crash before appending, so
 * every line of the file parses. The readers of NDJSON (replay of readings) skip a torn last
 * line and count it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { encodeReading } from '../../../src/codec/index.js';
import { loadConfigFile, validateConfig } from '../../../src/config/index.js';
import { WindowEngine } from '../../../src/core/index.js';
import type { OutputRecord, Reading } from '../../../src/domain/index.js';
import { replayFiles } from '../../../src/pipeline/replay.js';
import { cutTornTail, NdjsonSink, rotatedPath } from '../../../src/sinks/index.js';
import { ndjsonLines, type NdjsonLine } from '../../helpers/ndjson-lines.js';
import { parseNdjsonResults } from '../../helpers/ndjson-results.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

let dir = '';
let caseNo = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'headroom-ndjson-sink-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh folder per test (rotation scans the folder). */
async function freshDir(): Promise<string> {
  const d = join(dir, `case-${++caseNo}`);
  await mkdir(d);
  return d;
}

/** Distinct alert transitions (the sink writes any OutputRecord as one line). */
function records(from: number, count: number): OutputRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'alert' as const,
    site: 'ash1',
    node: `n${from + i}`,
    rule: 'headroom-low',
    severity: 'warning' as const,
    state: 'firing' as const,
    atMs: 1_767_225_600_000 + (from + i) * 1000,
    windowMs: 60_000,
    value: from + i,
    threshold: 0.1,
    labels: {},
    annotations: { summary: `record ${from + i}` },
  }));
}

async function run(path: string, recs: OutputRecord[], opts: ConstructorParameters<typeof NdjsonSink>[1] = {}): Promise<NdjsonSink> {
  const sink = new NdjsonSink(path, opts);
  sink.write(recs);
  await sink.close();
  return sink;
}

/** Every line of the text, parsed; the text must end in a line break. */
function parsedLines(text: string): unknown[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
}

describe('NdjsonSink across restarts', () => {
  it('a restart appends: the records of both runs are in the file, in order', async () => {
    const path = join(await freshDir(), 'results.ndjson');
    await run(path, records(0, 3));
    await run(path, records(3, 2));
    expect(parsedLines(await readFile(path, 'utf8'))).toEqual(JSON.parse(JSON.stringify(records(0, 5))));
  });

  it('truncate: true empties the file at start', async () => {
    const path = join(await freshDir(), 'results.ndjson');
    await run(path, records(0, 3));
    await run(path, records(3, 2), { truncate: true });
    expect(parsedLines(await readFile(path, 'utf8'))).toEqual(JSON.parse(JSON.stringify(records(3, 2))));
  });

  it('a torn last line left by a crash is cut before appending; every line then parses', async () => {
    const path = join(await freshDir(), 'results.ndjson');
    const whole = records(0, 2).map((r) => JSON.stringify(r) + '\n').join('');
    const torn = JSON.stringify(records(2, 1)[0]).slice(0, 37);
    await writeFile(path, whole + torn);
    const sink = await run(path, records(3, 1));
    expect(sink.tornBytesCut).toBe(Buffer.byteLength(torn));
    expect(parsedLines(await readFile(path, 'utf8'))).toEqual(JSON.parse(JSON.stringify([...records(0, 2), ...records(3, 1)])));
  });

  it('a file that is one torn line is emptied; a file that ends in a line break is left alone', async () => {
    const d = await freshDir();
    const onlyTorn = join(d, 'torn.ndjson');
    await writeFile(onlyTorn, '{"type":"no');
    expect(cutTornTail(onlyTorn)).toBe(11);
    expect(await readFile(onlyTorn, 'utf8')).toBe('');
    const clean = join(d, 'clean.ndjson');
    await writeFile(clean, '{"a":1}\n{"b":2}\n');
    expect(cutTornTail(clean)).toBe(0);
    expect(await readFile(clean, 'utf8')).toBe('{"a":1}\n{"b":2}\n');
    expect(cutTornTail(join(d, 'absent.ndjson'))).toBe(0);
    // A torn line longer than one scan block (64 KiB) is found all the same.
    const long = join(d, 'long.ndjson');
    await writeFile(long, '{"a":1}\n' + '{"x":"' + 'y'.repeat(200_000));
    expect(cutTornTail(long)).toBe(200_006);
    expect(await readFile(long, 'utf8')).toBe('{"a":1}\n');
  });
});

describe('NdjsonSink rotation (the LineFileWriter that record uses)', () => {
  it('by size: numbered files, none past maxBytes, together every record in order; a restart continues the numbering', async () => {
    const path = join(await freshDir(), 'results.ndjson');
    const lineBytes = Buffer.byteLength(JSON.stringify(records(0, 1)[0]) + '\n');
    const maxBytes = lineBytes * 3 + 1; // three lines a file
    const sink = new NdjsonSink(path, { rotateBytes: maxBytes });
    sink.write(records(0, 4));
    sink.write(records(4, 3));
    await sink.close();
    const first = [1, 2, 3].map((n) => rotatedPath(path, n));
    expect(sink.files).toEqual(first);
    const texts = await Promise.all(first.map((f) => readFile(f, 'utf8')));
    expect(texts.map((t) => Buffer.byteLength(t))).toEqual([3 * lineBytes, 3 * lineBytes, lineBytes]);
    expect(texts.flatMap(parsedLines)).toEqual(JSON.parse(JSON.stringify(records(0, 7))));

    // Restart: the series goes on with the next number; nothing earlier is touched.
    const again = await run(path, records(7, 1), { rotateBytes: maxBytes });
    expect(again.files).toEqual([rotatedPath(path, 4)]);
    expect(parsedLines(await readFile(rotatedPath(path, 4), 'utf8'))).toEqual(JSON.parse(JSON.stringify(records(7, 1))));
    expect(await readFile(first[0]!, 'utf8')).toBe(texts[0]);
  });

  it('by age, on the injected clock: a new file once the current one is maxAge old (no sleeping)', async () => {
    const path = join(await freshDir(), 'results.ndjson');
    let nowMs = 1_000_000;
    const sink = new NdjsonSink(path, { rotateMs: 60_000, nowMs: () => nowMs });
    sink.write(records(0, 2)); // file 1 starts at 1_000_000
    nowMs += 59_999;
    sink.write(records(2, 1)); // still younger than a minute
    nowMs += 1;
    sink.write(records(3, 1)); // a minute old: file 2
    nowMs += 120_000;
    sink.write(records(4, 1)); // file 2 is two minutes old: file 3
    await sink.close();
    expect(sink.files).toEqual([1, 2, 3].map((n) => rotatedPath(path, n)));
    const texts = await Promise.all(sink.files.map((f) => readFile(f, 'utf8')));
    expect(texts.map((t) => parsedLines(t).length)).toEqual([3, 1, 1]);
  });

  it('truncate with rotation deletes the earlier series and numbers from 000001 again', async () => {
    const d = await freshDir();
    const path = join(d, 'results.ndjson');
    await run(path, records(0, 6), { rotateBytes: 1 }); // one line a file: six files
    await run(path, records(6, 1), { rotateBytes: 1, truncate: true });
    expect((await readdir(d)).sort()).toEqual([rotatedPath(path, 1)].map((p) => p.slice(d.length + 1)));
  });

  it('a restart of a rotating sink cuts the torn tail of the last file of the series', async () => {
    const path = join(await freshDir(), 'results.ndjson');
    await run(path, records(0, 2), { rotateBytes: 1_000_000 });
    const last = rotatedPath(path, 1);
    await writeFile(last, (await readFile(last, 'utf8')) + '{"type":"al', { flag: 'w' });
    const sink = await run(path, records(2, 1), { rotateBytes: 1_000_000 });
    expect(sink.tornBytesCut).toBe(11);
    expect(parsedLines(await readFile(last, 'utf8'))).toHaveLength(2);
  });
});

describe('sinks.ndjson config', () => {
  const base = (ndjson: unknown): unknown => ({
    ...(parse(readFileSync(join(repoRoot, 'tests/fixtures/golden/ndjson-regression/minimal.yaml'), 'utf8')) as Record<string, unknown>),
    sinks: { ndjson },
  });
  const issuePaths = (r: ReturnType<typeof validateConfig>): string[] => (r.ok ? [] : r.issues.map((i) => i.path));

  it('defaults to append without rotation; truncate and rotate (size and age with units) parse', () => {
    const plain = validateConfig(base({ path: 'out/results.ndjson' }));
    if (!plain.ok) throw new Error(JSON.stringify(plain.issues));
    expect(plain.config.sinks.ndjson).toEqual({ path: 'out/results.ndjson', meters: false, truncate: false });
    const full = validateConfig(base({ truncate: true, rotate: { maxBytes: '64MiB', maxAge: '1h' } }));
    expect(full.ok && full.config.sinks.ndjson).toMatchObject({ truncate: true, rotate: { maxBytes: 64 * 1024 * 1024, maxAgeMs: 3_600_000 } });
  });

  it('rotate without a bound, or with a bound of 0, is a config error naming the path', () => {
    expect(issuePaths(validateConfig(base({ rotate: {} })))).toEqual(['sinks.ndjson.rotate']);
    expect(issuePaths(validateConfig(base({ rotate: { maxBytes: 0 } })))).toEqual(['sinks.ndjson.rotate.maxBytes']);
    expect(issuePaths(validateConfig(base({ rotate: { maxAge: 'soon' } })))).toEqual(['sinks.ndjson.rotate.maxAge']);
  });
});

describe('readers of NDJSON skip a torn last line and count it', () => {
  const readings: Reading[] = Array.from({ length: 3 }, (_, i) => ({ site: 'lab1', meter: 'lab1-main', tsMs: 1_717_200_000_000 + i * 1000, watts: 100 + i }));
  const whole = readings.map((r) => encodeReading(r) + '\n').join('');
  const torn = encodeReading({ site: 'lab1', meter: 'lab1-main', tsMs: 1_717_200_003_000, watts: 103 }).slice(0, 20);

  it("the tests' results reader: a torn last line skipped and counted; a JSON last line without a break kept; a bad line mid-file throws", () => {
    expect(parseNdjsonResults('{"a":1}\n{"a":2}\n{"a":')).toEqual({ records: [{ a: 1 }, { a: 2 }], tornLines: 1 });
    expect(parseNdjsonResults('{"a":1}\n{"a":2}')).toEqual({ records: [{ a: 1 }, { a: 2 }], tornLines: 0 });
    expect(parseNdjsonResults('{"a":1}\n')).toEqual({ records: [{ a: 1 }], tornLines: 0 });
    expect(() => parseNdjsonResults('{"a":\n{"a":2}\n')).toThrow(SyntaxError);
  });

  it('the NDJSON replay reader: the torn last line is marked torn, with no decode failure', async () => {
    const path = join(await freshDir(), 'rec.ndjson');
    await writeFile(path, whole + torn);
    const lines: NdjsonLine[] = [];
    for await (const l of ndjsonLines(path, { maxMessageBytes: 4096 })) lines.push(l);
    expect(lines.flatMap((l) => l.result.readings)).toEqual(readings);
    expect(lines.flatMap((l) => l.result.failures)).toEqual([]);
    expect(lines.map((l) => l.torn === true)).toEqual([false, false, false, true]);
  });

  it('replay: tornLines 1 in the summary, no malformed_json; an unterminated last line that is JSON is a reading; a torn line mid-file is malformed', async () => {
    const loaded = loadConfigFile(join(repoRoot, 'tests/fixtures/golden/ndjson-regression/minimal.yaml'));
    if (!loaded.ok) throw new Error('fixture config invalid');
    const d = await freshDir();
    const summaryOf = async (text: string): Promise<{ tornLines?: number; readings: number; outcomes: Record<string, number> }> => {
      const path = join(d, `in-${++caseNo}.ndjson`);
      await writeFile(path, text);
      const engine = new WindowEngine(loaded.config.topology, loaded.config.engine, {});
      const { summary } = await replayFiles(engine, [], { inputs: [path], maxMessageBytes: 4096, site: 'lab1' });
      return summary;
    };
    const tornEnd = await summaryOf(whole + torn);
    expect(tornEnd.tornLines).toBe(1);
    expect(tornEnd.readings).toBe(3);
    expect(tornEnd.outcomes['invalid_malformed_json'] ?? 0).toBe(0);

    const unterminated = await summaryOf(whole.slice(0, -1));
    expect(unterminated.tornLines).toBeUndefined();
    expect(unterminated.readings).toBe(3);

    const midFile = await summaryOf(torn + '\n' + whole);
    expect(midFile.tornLines).toBeUndefined();
    expect(midFile.outcomes['invalid_malformed_json']).toBe(1);
  });
});
