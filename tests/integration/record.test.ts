/**
 * Round trip against a real nats-server: a simulated fleet is published to NATS, recorded
 * (core subscription, and a JetStream stream from a sequence into rotated gzip files), the
 * recordings are replayed, and the window results equal those of processing the same
 * messages directly through a WindowEngine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { NatsConnection } from 'nats';
import { decodeMessage } from '../../src/codec/index.js';
import { loadConfigFile, type HeadroomConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { OutputRecord, WindowResult } from '../../src/domain/index.js';
import { recordNats } from '../../src/pipeline/record.js';
import { NdjsonRecorder, rotatedPath } from '../../src/sinks/index.js';
import { replayFiles } from '../../src/pipeline/replay.js';
import { createSimulator, NO_FAULTS, type SimulatedMessage } from '../../src/sources/simulator/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TICKS = 240;

let nats: NatsServer;
let nc: NatsConnection;
let dir = '';
let config: HeadroomConfig;
let messages: SimulatedMessage[] = [];

beforeAll(async () => {
  ({ server: nats, nc } = await startNatsWithClient({ jetstream: true, streams: [{ name: 'TELEMETRY', subjects: ['telemetry.>'] }] }));
  dir = await mkdtemp(join(tmpdir(), 'headroom-record-'));
  const loaded = loadConfigFile(join(repoRoot, 'tests/fixtures/golden/ndjson-regression/minimal.yaml'));
  if (!loaded.ok) throw new Error('fixture config invalid');
  config = loaded.config;
  const sim = createSimulator(config.topology, { seed: 11, rateMs: 1000, startMs: Date.parse('2024-06-01T00:00:00Z'), batch: true, faults: NO_FAULTS });
  messages = [];
  for (let i = 0; i < TICKS; i++) messages.push(...sim.tick().messages);
});

afterAll(async () => {
  await stopNatsWithClient(nats, nc);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});


/** Final revision of every window, as canonical JSON lines sorted by key. */
function finalWindows(records: readonly OutputRecord[]): string[] {
  const byKey = new Map<string, WindowResult>();
  for (const r of records) {
    if (r.type === 'alert') continue;
    const id = r.type === 'node' ? r.node : r.type === 'meter' ? r.meter : '';
    const key = `${r.type}|${r.site}|${id}|${r.windowMs}|${r.start}`;
    const prev = byKey.get(key);
    if (prev === undefined || r.revision >= prev.revision) byKey.set(key, r);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => JSON.stringify(r));
}

/** The same messages straight into an engine (no file, no NATS). */
function direct(): string[] {
  const engine = new WindowEngine(config.topology, config.engine, { emitMeters: true });
  const out: OutputRecord[] = [];
  let clockMs = -Infinity;
  for (const m of messages) {
    const { readings, failures } = decodeMessage(m.payload, { maxMessageBytes: 1_048_576 });
    expect(failures).toEqual([]);
    for (const r of readings) {
      expect(engine.record(r, Math.max(clockMs, r.tsMs))).toBe('accepted');
      clockMs = Math.max(clockMs, r.tsMs);
    }
    out.push(...engine.advance(clockMs));
  }
  out.push(...engine.drain());
  return finalWindows(out);
}

async function replayed(inputs: string[]): Promise<string[]> {
  const engine = new WindowEngine(config.topology, config.engine, { emitMeters: true });
  const sink = new CollectingSink('memory');
  const { summary } = await replayFiles(engine, [sink], { inputs, maxMessageBytes: 1_048_576 });
  expect(summary.outcomes.accepted).toBe(summary.readings);
  return finalWindows(sink.records);
}

describe('record → replay round trip through nats-server', () => {
  it('records core NATS messages raw (arrays kept) and replays them to the same windows as direct processing', async () => {
    const path = join(dir, 'core.ndjson');
    const recorder = new NdjsonRecorder({ path, nowMs: () => performance.now() });
    const stop = new AbortController();
    const recording = recordNats(nc, { kind: 'core', subjects: ['telemetry.>'] }, recorder, stop.signal);
    await nc.flush();
    const encoder = new TextEncoder();
    for (const m of messages) nc.publish(m.subject, encoder.encode(m.payload));
    await nc.flush();
    await retryUntil(async () => {
      if (recorder.stats.messages < messages.length) throw new Error(`${recorder.stats.messages} of ${messages.length} recorded`);
    }, 20_000, 50);
    stop.abort();
    const summary = await recording;
    expect(summary.messages).toBe(messages.length);
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(messages.map((m) => m.payload));
    expect(lines.some((l) => l.startsWith('['))).toBe(true);

    const expected = direct();
    expect(expected.length).toBeGreaterThan(100);
    expect(await replayed([path])).toEqual(expected);
  });

  it('records a JetStream stream from a sequence into rotated gzip files that replay to the same windows', async () => {
    const path = join(dir, 'js', 'telemetry.ndjson.gz');
    const recorder = new NdjsonRecorder({ path, rotateBytes: 16_384, nowMs: () => performance.now() });
    const summary = await recordNats(nc, { kind: 'jetstream', stream: 'TELEMETRY', startSeq: 1, stopAtEnd: true }, recorder, new AbortController().signal);
    expect(summary.messages).toBe(messages.length);
    expect(summary.files.length).toBeGreaterThan(2);
    expect(summary.files[0]).toBe(rotatedPath(path, 1));
    const text = (await Promise.all(summary.files.map((f) => readFile(f)))).map((b) => gunzipSync(b).toString('utf8')).join('');
    expect(text).toBe(messages.map((m) => `${m.payload}\n`).join(''));
    expect(await replayed(summary.files)).toEqual(direct());

    // From a later sequence: only the tail.
    const tail = new NdjsonRecorder({ path: join(dir, 'tail.ndjson'), nowMs: () => performance.now() });
    const tailSummary = await recordNats(nc, { kind: 'jetstream', stream: 'TELEMETRY', startSeq: 101, stopAtEnd: true }, tail, new AbortController().signal);
    expect(tailSummary.messages).toBe(messages.length - 100);
  });

  it('rewrites multi-line JSON onto one line and skips what cannot be one line', async () => {
    const path = join(dir, 'odd.ndjson');
    const recorder = new NdjsonRecorder({ path, nowMs: () => 0 });
    recorder.write(new TextEncoder().encode('{\n  "site": "lab1",\n  "meter": "m", "ts": 1, "watts": 2\n}'));
    recorder.write(new TextEncoder().encode('not\njson'));
    recorder.write(new Uint8Array(0));
    await recorder.close();
    expect(await readFile(path, 'utf8')).toBe('{"site":"lab1","meter":"m","ts":1,"watts":2}\n');
    expect(recorder.stats).toMatchObject({ messages: 1, rewritten: 1, skipped: 2 });
  });
});

describe('JetStream start options (each against its own stream)', () => {
  const encoder = new TextEncoder();
  const payloadOf = (i: number): string => JSON.stringify({ site: 'lab1', meter: 'm1', ts: 1_717_200_000_000 + i * 1000, watts: i });

  /** A fresh stream holding `count` messages; returns their payloads in stream order. */
  async function streamWith(name: string, count: number): Promise<string[]> {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
    const js = nc.jetstream();
    const sent: string[] = [];
    for (let i = 0; i < count; i++) {
      sent.push(payloadOf(i));
      await js.publish(`${name.toLowerCase()}.m1`, encoder.encode(sent[i]!));
    }
    return sent;
  }

  async function recorded(path: string): Promise<string[]> {
    const text = await readFile(path, 'utf8').catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    });
    return text === '' ? [] : text.slice(0, -1).split('\n');
  }

  it('no start option (the default): the whole stream', async () => {
    const sent = await streamWith('WHOLE', 30);
    const path = join(dir, 'whole.ndjson');
    const summary = await recordNats(nc, { kind: 'jetstream', stream: 'WHOLE', stopAtEnd: true }, new NdjsonRecorder({ path, nowMs: () => 0 }), new AbortController().signal);
    expect(summary.messages).toBe(30);
    expect(await recorded(path)).toEqual(sent);
  });

  it('no start option and no --stop-at-end: records the whole stream, then what arrives, until stopped', async () => {
    const sent = await streamWith('WHOLELIVE', 10);
    const path = join(dir, 'whole-live.ndjson');
    const recorder = new NdjsonRecorder({ path, nowMs: () => 0 });
    const stop = new AbortController();
    const recording = recordNats(nc, { kind: 'jetstream', stream: 'WHOLELIVE' }, recorder, stop.signal);
    await retryUntil(async () => {
      if (recorder.stats.messages < 10) throw new Error(`${recorder.stats.messages} of 10`);
    }, 20_000, 50);
    const later = payloadOf(10);
    await nc.jetstream().publish('wholelive.m1', encoder.encode(later));
    await retryUntil(async () => {
      if (recorder.stats.messages < 11) throw new Error(`${recorder.stats.messages} of 11`);
    }, 20_000, 50);
    stop.abort();
    await recording;
    expect(await recorded(path)).toEqual([...sent, later]);
  });

  it('--from-seq: from that sequence on', async () => {
    const sent = await streamWith('FROMSEQ', 20);
    const path = join(dir, 'from-seq.ndjson');
    await recordNats(nc, { kind: 'jetstream', stream: 'FROMSEQ', startSeq: 8, stopAtEnd: true }, new NdjsonRecorder({ path, nowMs: () => 0 }), new AbortController().signal);
    expect(await recorded(path)).toEqual(sent.slice(7));
  });

  it('--from-time: the messages the server stored at or after that time', async () => {
    const first = await streamWith('FROMTIME', 10);
    // A second batch strictly later on the server's clock than the first (ms resolution).
    const jsm = await nc.jetstreamManager();
    const lastOfFirstMs = (await jsm.streams.getMessage('FROMTIME', { seq: 10 })).time.getTime();
    await retryUntil(async () => {
      if (Date.now() <= lastOfFirstMs + 2) throw new Error('clock not past the first batch yet');
    }, 5_000, 1);
    const js = nc.jetstream();
    const second: string[] = [];
    for (let i = 10; i < 20; i++) {
      second.push(payloadOf(i));
      await js.publish('fromtime.m1', encoder.encode(second.at(-1)!));
    }
    const startMs = (await jsm.streams.getMessage('FROMTIME', { seq: 11 })).time.getTime();
    expect(startMs).toBeGreaterThan(lastOfFirstMs);
    const path = join(dir, 'from-time.ndjson');
    await recordNats(nc, { kind: 'jetstream', stream: 'FROMTIME', startTimeMs: startMs, stopAtEnd: true }, new NdjsonRecorder({ path, nowMs: () => 0 }), new AbortController().signal);
    expect(first).toHaveLength(10);
    expect(await recorded(path)).toEqual(second);
  });

  it('--new-only: none of what the stream held, only what arrives after the start', async () => {
    const old = await streamWith('NEWONLY', 10);
    const path = join(dir, 'new-only.ndjson');
    const recorder = new NdjsonRecorder({ path, nowMs: () => 0 });
    const stop = new AbortController();
    const recording = recordNats(nc, { kind: 'jetstream', stream: 'NEWONLY', newOnly: true }, recorder, stop.signal);
    // The consumer is ready at an unknown moment: publish new messages until one is recorded.
    const fresh: string[] = [];
    await retryUntil(async () => {
      fresh.push(payloadOf(100 + fresh.length));
      await nc.jetstream().publish('newonly.m1', encoder.encode(fresh.at(-1)!));
      if (recorder.stats.messages === 0) throw new Error('consumer not delivering yet');
    }, 20_000, 100);
    const marker = payloadOf(999);
    await nc.jetstream().publish('newonly.m1', encoder.encode(marker));
    await retryUntil(async () => {
      if (!(await recorded(path)).includes(marker)) throw new Error('marker not recorded yet');
    }, 20_000, 50);
    stop.abort();
    await recording;
    const got = await recorded(path);
    expect(got.at(-1)).toBe(marker);
    expect(got.filter((l) => old.includes(l))).toEqual([]);
    // What was recorded is the tail of what was published after the start, in order.
    const published = [...fresh, marker];
    expect(got).toEqual(published.slice(published.length - got.length));
  });
});
