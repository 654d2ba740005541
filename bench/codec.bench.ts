/**
 * Codec throughput: decodeMessage on single-reading messages and on batches of 100, in
 * readings/s, against a baseline measured in the same run: bare JSON.parse of the same
 * bytes (UTF-8 decode + parse, no validation). Prints ratio = codec / baseline.
 *
 *   npx tsc -p tsconfig.bench.json && node --expose-gc dist-bench/bench/codec.bench.js [--json FILE]
 *   env: BENCH_MIN_RUN_MS (1000), BENCH_ROUNDS (5)
 */
import { decodeMessage, encodeReading } from '../src/codec/index.js';
import type { Reading } from '../src/domain/index.js';
import { envNumber, writeReport } from './report.js';

const MESSAGES = 2_000;
const BATCH_SIZE = 100;
const MIN_RUN_MS = envNumber('BENCH_MIN_RUN_MS', 1_000);
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
const opts = { subjectSite: 'dc-campus-01', maxMessageBytes: 1 << 20 };
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** Deterministic pseudo-random numbers (the bench must not vary with Math.random). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function makeReading(rand: () => number, i: number): Reading {
  const r: Reading = {
    site: 'dc-campus-01',
    meter: `rack-${String(i % 4096).padStart(4, '0')}-pdu-${i % 2 === 0 ? 'a' : 'b'}`,
    tsMs: 1_767_225_600_000 + i * 250,
    watts: Math.round(8_000 + rand() * 32_000) / 10,
  };
  if (i % 3 === 0) {
    r.wattHours = Math.round(rand() * 1e9);
    r.volts = 415 + Math.round(rand() * 100) / 10;
    r.amps = Math.round(rand() * 600) / 10;
    r.powerFactor = 0.9 + Math.round(rand() * 100) / 1000;
  }
  return r;
}

interface Measurement {
  readingsPerSecond: number;
  checksum: number;
}

/** Run `fn` over all payloads repeatedly for at least MIN_RUN_MS; readings per second. */
function measure(payloads: Uint8Array[], readingsPerPayload: number, fn: (p: Uint8Array) => number): Measurement {
  let checksum = 0;
  for (const p of payloads) checksum += fn(p); // warm-up
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  let passes = 0;
  const t0 = performance.now();
  let elapsedMs = 0;
  do {
    for (let i = 0; i < payloads.length; i++) checksum += fn(payloads[i] as Uint8Array);
    passes++;
    elapsedMs = performance.now() - t0;
  } while (elapsedMs < MIN_RUN_MS);
  return { readingsPerSecond: (passes * payloads.length * readingsPerPayload) / (elapsedMs / 1000), checksum };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface CodecFigures {
  bytesPerMessage: number;
  jsonParseReadingsPerSecond: number;
  decodeReadingsPerSecond: number;
  ratio: number;
}

function bench(label: string, payloads: Uint8Array[], readingsPerPayload: number): CodecFigures {
  const baseline = (p: Uint8Array): number => {
    const v: unknown = JSON.parse(utf8.decode(p));
    return Array.isArray(v) ? v.length : 1;
  };
  const codec = (p: Uint8Array): number => {
    const result = decodeMessage(p, opts);
    if (result.failures.length > 0) throw new Error(`unexpected failure: ${result.failures[0]?.detail ?? ''}`);
    return result.readings.length;
  };
  const baseRates: number[] = [];
  const codecRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so drift (thermal, JIT) hits both equally.
    if (round % 2 === 0) {
      baseRates.push(measure(payloads, readingsPerPayload, baseline).readingsPerSecond);
      codecRates.push(measure(payloads, readingsPerPayload, codec).readingsPerSecond);
    } else {
      codecRates.push(measure(payloads, readingsPerPayload, codec).readingsPerSecond);
      baseRates.push(measure(payloads, readingsPerPayload, baseline).readingsPerSecond);
    }
  }
  const base = median(baseRates);
  const mine = median(codecRates);
  const bytes = payloads.reduce((n, p) => n + p.byteLength, 0) / payloads.length;
  console.log(
    `${label.padEnd(26)} ${bytes.toFixed(0).padStart(6)} B/msg  ` +
      `JSON.parse ${fmt(base)} readings/s  decodeMessage ${fmt(mine)} readings/s  ratio ${(mine / base).toFixed(2)}`,
  );
  return { bytesPerMessage: bytes, jsonParseReadingsPerSecond: base, decodeReadingsPerSecond: mine, ratio: mine / base };
}

function fmt(rate: number): string {
  return `${(rate / 1e6).toFixed(2)}M`.padStart(7);
}

function main(): void {
  const rand = lcg(42);
  const singles = Array.from({ length: MESSAGES }, (_, i) => encoder.encode(encodeReading(makeReading(rand, i))));
  const batches = Array.from({ length: MESSAGES / 20 }, (_, b) =>
    encoder.encode(`[${Array.from({ length: BATCH_SIZE }, (_, i) => encodeReading(makeReading(rand, b * BATCH_SIZE + i))).join(',')}]`),
  );
  const isoSingles = Array.from({ length: MESSAGES }, (_, i) => {
    const r = makeReading(rand, i);
    const text = encodeReading(r).replace(/"ts":\d+/, `"ts":"${new Date(r.tsMs).toISOString().replace('Z', '+00:00')}"`);
    return encoder.encode(text);
  });
  console.log(`codec bench (node ${process.version}); median of ${ROUNDS} rounds of >= ${MIN_RUN_MS} ms each`);
  const figures = {
    rounds: ROUNDS,
    minRunMs: MIN_RUN_MS,
    single: bench('single reading', singles, 1),
    batch: bench(`batch of ${BATCH_SIZE}`, batches, BATCH_SIZE),
    singleIsoTs: bench('single, ISO ts', isoSingles, 1),
  };
  const written = writeReport('codec', figures);
  if (written !== undefined) console.log(`figures written to ${written}`);
}

main();
