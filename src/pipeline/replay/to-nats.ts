/**
 * Replay to NATS: the inputs' readings, in event-time order, published to the subjects
 * `<subjectPrefix>.<site>.<sourceToken>` (default `telemetry.<site>.replay`), with the
 * original spacing scaled by a speed factor or as fast as possible.
 */
import { encodeReading, telemetrySubject } from '../../codec/index.js';
import type { Reading } from '../../domain/index.js';
import { isLineEnd, ReadStats, readReplayInputs, wholeMs, type FormatSummaryFields, type ReorderReport, type ReplayEvent, type ReplayReadOptions } from './read.js';

/** The part of a NATS connection the replay publisher uses (nats.js NatsConnection fits). */
export interface ReplayPublisher {
  publish(subject: string, payload: Uint8Array): void;
  /** Resolves when the server has everything published so far. */
  flush(): Promise<void>;
}

/** Wall clock and sleep of the publisher's pacing, injected (the CLI passes real ones; tests fakes). */
export interface WallClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export interface NatsReplayOptions extends ReplayReadOptions {
  /** Speed factor on the original spacing (1 = real time, 10 = ten times faster); 'max': no waiting. */
  speed: number | 'max';
  /** Subjects are `<subjectPrefix>.<site>.<source>`. Default telemetry. */
  subjectPrefix?: string;
  /** Default replay. */
  sourceToken?: string;
  /** Await a server round trip every this many messages (bounded client buffer). Default 1000. */
  flushEveryMessages?: number;
  clock: WallClock;
}

export interface NatsReplaySummary extends FormatSummaryFields {
  type: 'summary';
  target: 'nats';
  inputs: string[];
  lines: number;
  readings: number;
  messages: number;
  /** Decode failures (NDJSON) as `invalid_<reason>`; these readings were not published. */
  invalid: Record<string, number>;
  firstEventMs: number | null;
  lastEventMs: number | null;
}

const textEncoder = new TextEncoder();

/**
 * Publishes the inputs' readings in event-time order. Readings released together with the
 * same site and time go out as one JSON array (a gateway batch), others one object each.
 * With a finite speed, a message leaves at `start + (ts - firstTs) / speed` of wall time.
 */
export async function replayToNats(publisher: ReplayPublisher, opts: NatsReplayOptions): Promise<{ summary: NatsReplaySummary; reorder: ReorderReport }> {
  if (opts.speed !== 'max' && !(opts.speed > 0)) throw new RangeError(`speed must be > 0 or 'max', got ${opts.speed}`);
  const stats = new ReadStats();
  const prefix = opts.subjectPrefix ?? 'telemetry';
  const token = opts.sourceToken ?? 'replay';
  const flushEvery = opts.flushEveryMessages ?? 1000;
  let messages = 0;
  let lines = 0;
  let firstTsMs = -Infinity;
  let lastTsMs = -Infinity;
  let wallStartMs = 0;
  let batch: Reading[] = [];

  const publishBatch = (): void => {
    if (batch.length === 0) return;
    const payload = batch.length === 1 ? encodeReading(batch[0]!) : `[${batch.map(encodeReading).join(',')}]`;
    publisher.publish(telemetrySubject(prefix, batch[0]!.site, token), textEncoder.encode(payload));
    messages++;
    batch = [];
  };

  const handle = async (events: ReplayEvent[]): Promise<void> => {
    for (const e of events) {
      if (isLineEnd(e)) {
        lines++;
        continue;
      }
      const head = batch[0];
      if (head !== undefined && (head.site !== e.site || head.tsMs !== e.tsMs)) {
        publishBatch();
        if (messages % flushEvery === 0) await publisher.flush();
      }
      if (firstTsMs === -Infinity) {
        firstTsMs = e.tsMs;
        wallStartMs = opts.clock.nowMs();
      }
      if (opts.speed !== 'max' && batch.length === 0) {
        const dueMs = wallStartMs + (e.tsMs - firstTsMs) / opts.speed;
        const waitMs = dueMs - opts.clock.nowMs();
        if (waitMs > 0) await opts.clock.sleep(waitMs);
      }
      if (e.tsMs > lastTsMs) lastTsMs = e.tsMs;
      batch.push(e);
    }
    // Keep a batch open only while the next run may continue it (same time, at max speed).
    if (opts.speed !== 'max') publishBatch();
  };

  const reorder = await readReplayInputs(opts, stats, () => messages, handle);
  publishBatch();
  await publisher.flush();
  const invalid: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats.counters.byOutcome())) if (k.startsWith('invalid_')) invalid[k] = v;
  const summary: NatsReplaySummary = {
    type: 'summary',
    target: 'nats',
    inputs: opts.inputs,
    lines,
    readings: stats.counters.readings,
    messages,
    invalid,
    firstEventMs: wholeMs(firstTsMs),
    lastEventMs: wholeMs(lastTsMs),
    ...stats.csvFields(opts.format ?? 'ndjson'),
  };
  return { summary, reorder };
}
