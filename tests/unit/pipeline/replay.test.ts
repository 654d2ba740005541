/**
 * Replay driver: byte-identical output against the pre-reorder replay, the reorder buffer,
 * and the NATS target's ordering, batching and pacing (fake publisher and clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReorderBuffer } from '../../../src/codec/replay-source.js';
import { encodeReading } from '../../../src/codec/index.js';
import { loadConfigFile } from '../../../src/config/index.js';
import { WindowEngine } from '../../../src/core/index.js';
import type { Reading } from '../../../src/domain/index.js';
import { replayFiles, replayToNats, type ReplayReadOptions, type WallClock } from '../../../src/pipeline/replay.js';
import { NdjsonSink } from '../../../src/sinks/ndjson-sink.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const REG = 'tests/fixtures/golden/ndjson-regression';

let dir = '';
beforeAll(async () => {
  process.chdir(repoRoot);
  dir = await mkdtemp(join(tmpdir(), 'headroom-replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function replayToText(read: Omit<ReplayReadOptions, 'maxMessageBytes'>, meters: boolean, config = `${REG}/minimal.yaml`): Promise<string> {
  const loaded = loadConfigFile(config);
  if (!loaded.ok) throw new Error('bad config');
  const engine = new WindowEngine(loaded.config.topology, loaded.config.engine, { emitMeters: meters });
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.ndjson`);
  const sink = new NdjsonSink(out);
  const { summary } = await replayFiles(engine, [sink], { ...read, maxMessageBytes: 1_048_576 });
  sink.writeLine(summary);
  await sink.close();
  return readFile(out, 'utf8');
}

describe('in-process replay keeps its output', () => {
  it('a file with faults (out of order, late bursts, duplicates) replays byte-identically with --reorder-window 0', async () => {
    const produced = await replayToText({ inputs: [`${REG}/sim-faults.ndjson`], reorderWindowMs: 0 }, true);
    expect(produced === (await readFile(`${REG}/sim-faults.expected.ndjson`, 'utf8'))).toBe(true);
  });

  it('a file in time order (plain and gzip) replays byte-identically with the default reorder window', async () => {
    const produced = await replayToText({ inputs: [`${REG}/sim-clean.ndjson`, `${REG}/sim-clean-gz.ndjson.gz`] }, false);
    expect(produced === (await readFile(`${REG}/sim-clean.expected.ndjson`, 'utf8'))).toBe(true);
  });

  it('the same input gives the same bytes, and the reorder window turns late readings into on-time ones', async () => {
    const a = await replayToText({ inputs: [`${REG}/sim-faults.ndjson`] }, true);
    const b = await replayToText({ inputs: [`${REG}/sim-faults.ndjson`] }, true);
    expect(a === b).toBe(true);
    const summary = (text: string): { outcomes: Record<string, number> } => JSON.parse(text.trimEnd().split('\n').pop()!) as { outcomes: Record<string, number> };
    const unordered = summary(await readFile(`${REG}/sim-faults.expected.ndjson`, 'utf8'));
    expect(summary(a).outcomes.late!).toBeLessThan(unordered.outcomes.late!);
    expect(summary(a).outcomes.accepted!).toBeGreaterThan(unordered.outcomes.accepted!);
  });

  it('a shuffled file within the window gives the same windows as the sorted file', async () => {
    const base = Date.parse('2024-03-01T00:00:00Z');
    const readings: Reading[] = [];
    for (let s = 0; s < 120; s++) for (const m of ['lab1-main', 'lab1-ups-1', 'lab1-pdu-1', 'lab1-pdu-2']) readings.push({ site: 'lab1', meter: m, tsMs: base + s * 1000, watts: 1000 + ((s * 37) % 101) });
    const sorted = readings.map(encodeReading).join('\n') + '\n';
    // Swap readings 8 s apart: later than the watermark allows, within a 10 s reorder window.
    const shuffled = [...readings];
    for (let i = 0; i + 32 < shuffled.length; i += 64) [shuffled[i], shuffled[i + 32]] = [shuffled[i + 32]!, shuffled[i]!];
    await writeFile(join(dir, 'sorted.ndjson'), sorted);
    await writeFile(join(dir, 'shuffled.ndjson'), shuffled.map(encodeReading).join('\n') + '\n');
    const records = (text: string): string[] => text.trimEnd().split('\n').slice(0, -1);
    const a = records(await replayToText({ inputs: [join(dir, 'sorted.ndjson')], reorderWindowMs: 10_000 }, true));
    const b = records(await replayToText({ inputs: [join(dir, 'shuffled.ndjson')], reorderWindowMs: 10_000 }, true));
    expect(b).toEqual(a);
    const zero = records(await replayToText({ inputs: [join(dir, 'shuffled.ndjson')], reorderWindowMs: 0 }, true));
    expect(zero).not.toEqual(a);
  });
});

describe('ReorderBuffer', () => {
  it('releases in (time, arrival) order and holds at most maxBuffered', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 30 }), (times, windowMs, maxBuffered) => {
        const buffer = new ReorderBuffer<number>({ windowMs, maxBuffered });
        const out: number[] = [];
        times.forEach((t, i) => {
          buffer.push(t, i, out);
          expect(buffer.size).toBeLessThanOrEqual(maxBuffered);
        });
        buffer.flush(out);
        expect([...out].sort((a, b) => a - b)).toEqual(times.map((_, i) => i));
        if (buffer.forcedReleases === 0) {
          // Everything out of order by at most the window comes out sorted, ties in arrival order.
          let newest = -Infinity;
          const inWindow = times.every((t) => {
            newest = Math.max(newest, t);
            return t >= newest - windowMs;
          });
          if (inWindow) {
            const expected = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
            expect(out).toEqual(expected);
          }
        }
      }),
    );
  });

  it('passes a sorted stream straight through, and window 0 passes anything through', () => {
    const out: number[] = [];
    const b = new ReorderBuffer<number>({ windowMs: 0, maxBuffered: 10 });
    [5, 3, 9, 1].forEach((t, i) => b.push(t, i, out));
    expect(out).toEqual([0, 1, 2, 3]);
  });
});

describe('replay to NATS', () => {
  function fakeClock(): WallClock & { waits: number[] } {
    let now = 1000;
    const waits: number[] = [];
    return {
      waits,
      nowMs: () => now,
      sleep: (ms) => {
        waits.push(ms);
        now += ms;
        return Promise.resolve();
      },
    };
  }

  it('publishes in time order, one array per site and time, paced by the speed factor', async () => {
    const base = Date.parse('2024-03-01T00:00:00Z');
    const lines = [
      JSON.stringify([{ site: 'a', meter: 'm1', ts: base, watts: 1 }, { site: 'a', meter: 'm2', ts: base, watts: 2 }]),
      JSON.stringify({ site: 'a', meter: 'm1', ts: base + 2000, watts: 3 }),
      JSON.stringify({ site: 'a', meter: 'm1', ts: base + 1000, watts: 4 }),
      'not json',
      JSON.stringify({ site: 'b', meter: 'm1', ts: base + 1000, watts: 5 }),
    ];
    await writeFile(join(dir, 'nats.ndjson'), lines.join('\n') + '\n');
    const published: { subject: string; payload: string }[] = [];
    const clock = fakeClock();
    const { summary } = await replayToNats(
      { publish: (subject, payload) => published.push({ subject, payload: new TextDecoder().decode(payload) }), flush: () => Promise.resolve() },
      { inputs: [join(dir, 'nats.ndjson')], maxMessageBytes: 4096, speed: 10, clock },
    );
    expect(published.map((p) => p.subject)).toEqual(['telemetry.a.replay', 'telemetry.a.replay', 'telemetry.b.replay', 'telemetry.a.replay']);
    expect(JSON.parse(published[0]!.payload)).toEqual([{ site: 'a', meter: 'm1', ts: base, watts: 1 }, { site: 'a', meter: 'm2', ts: base, watts: 2 }]);
    expect(JSON.parse(published[3]!.payload)).toEqual({ site: 'a', meter: 'm1', ts: base + 2000, watts: 3 });
    // 1 s and 2 s of event time at 10x: due at +100 ms and +200 ms of wall time.
    expect(clock.waits).toEqual([100, 100]);
    expect(summary.messages).toBe(4);
    expect(summary.readings).toBe(5);
    expect(summary.invalid).toEqual({ invalid_malformed_json: 1 });
  });

  it('at max speed never waits', async () => {
    const clock = fakeClock();
    const published: string[] = [];
    await replayToNats(
      { publish: (subject) => published.push(subject), flush: () => Promise.resolve() },
      { inputs: [`${REG}/sim-clean.ndjson`], maxMessageBytes: 1_048_576, speed: 'max', clock },
    );
    expect(clock.waits).toEqual([]);
    // One array per tick: the four meters of a tick share site and time.
    expect(published.length).toBe(600);
  });
});
