/**
 * Replay of recorded telemetry files (docs/design.md section 9).
 *
 * Every input (NDJSON, CSV with a mapping, or a preset format) is read as a stream of lines;
 * its readings go through a bounded reorder buffer (event-time order within
 * `reorderWindowMs`, at most `reorderMaxBuffered` held) and then either
 * - through the core in-process on the event-time clock (`replayFiles`), or
 * - to NATS subjects `telemetry.<site>.replay`, with the original spacing scaled by a speed
 *   factor or as fast as possible (`replayToNats`).
 *
 * Each input line also sends an end-of-line marker through the buffer (timed at its newest
 * reading), so the core sees "record the line's readings, then maybe advance" exactly as
 * before the buffer existed: a file in time order replays byte-identically to a plain
 * file-order replay, and with `reorderWindowMs = 0` any file does.
 */
import {
  ReorderBuffer,
  UNREADABLE_REASONS,
  type CsvMapping,
  type ReplayFormat,
  type ReplayLine,
  type UnreadableReason,
} from '../codec/index.js';
import { encodeReading, telemetrySubject } from '../codec/index.js';
import type { WindowEngine } from '../core/index.js';
import type { AlertEngine } from '../core/alerts/index.js';
import type { AlertEvent, Reading, WindowResult } from '../domain/index.js';
import type { Sink } from '../sinks/index.js';
import { openReplaySource } from '../sources/index.js';
import { IngestCounters } from './ingest.js';

/** How the inputs are read and ordered (both targets). */
export interface ReplayReadOptions {
  inputs: string[];
  maxMessageBytes: number;
  /** Default ndjson. */
  format?: ReplayFormat;
  /** CSV/presets: site of every reading. NDJSON: site of readings that omit it. */
  site?: string;
  /** Meter id or prefix for single-meter presets. */
  meter?: string;
  /** Start of relative times, ms since the epoch. */
  startMs?: number;
  /** Zone of zone-less time patterns. */
  zone?: string;
  /** Column mapping (`csv`). */
  mapping?: CsvMapping;
  /** Event-time span the reorder buffer sorts within. Default 5000. 0: file order. */
  reorderWindowMs?: number;
  /** Readings (and line markers) held at most. Default 1,000,000. */
  reorderMaxBuffered?: number;
  /** Called every `progressEveryLines` lines with the running totals. */
  onProgress?: (p: ReplayProgress) => void;
  /** Default 100,000. */
  progressEveryLines?: number;
}

export type ReplayOptions = ReplayReadOptions;

export const DEFAULT_REORDER_WINDOW_MS = 5000;
export const DEFAULT_REORDER_MAX_BUFFERED = 1_000_000;
/** Unreadable rows listed one by one in the summary (all are counted). */
export const UNREADABLE_SAMPLES = 20;

export interface ReplayProgress {
  file: string;
  /** Lines of this file so far. */
  lines: number;
  /** Readings read so far, all files. */
  readings: number;
  /** Node windows emitted so far (in-process) or messages published (NATS). */
  windows: number;
  /** Bytes read so far over all files (compressed bytes for .gz), and their total size. */
  bytesRead: number;
  totalBytes: number;
}

export interface UnreadableSample {
  file: string;
  line: number;
  reason: UnreadableReason;
  detail: string;
}

export interface ReplaySummary {
  type: 'summary';
  inputs: string[];
  lines: number;
  readings: number;
  /** Readings by outcome; decode failures as `invalid_<reason>`. */
  outcomes: Record<string, number>;
  windows: { meter: number; node: number; site: number; restatements: number };
  /** Alert transitions by state, when alert rules were evaluated. */
  alerts?: { pending: number; firing: number; resolved: number };
  late: Record<string, Record<string, number>>;
  counterResets: Record<string, number>;
  /** Earliest accepted reading's time, in whole ms (floored: readings may carry fractions). */
  firstEventMs: number | null;
  /** Latest accepted reading's time, in whole ms (floored). */
  lastEventMs: number | null;
  /**
   * The replay clock at the end, in whole ms (floored): the running median of recent accepted
   * readings' times that drives the watermarks; behind lastEventMs when some meter ran ahead.
   */
  replayClockMs: number | null;
  /** NDJSON, only when some: torn last lines (a write cut short by a crash), skipped. */
  tornLines?: number;
  // CSV formats only (left out for NDJSON, whose summary keeps its original shape):
  format?: ReplayFormat;
  /** Value cells that were empty or a sentinel (`?`, `MISSING`, `EMPTY`, ...): never read as zero. */
  missingValues?: number;
  /** Rows that could not be read, by reason. */
  unreadableRows?: Record<string, number>;
  /** The first UNREADABLE_SAMPLES of them with file and line. */
  unreadable?: UnreadableSample[];
}

export interface ReorderReport {
  windowMs: number;
  maxBuffered: number;
  /** Most readings held at once. */
  highWater: number;
  /** Released early because the buffer was full (their order may be off). */
  forcedReleases: number;
}

export interface ReplayReport {
  summary: ReplaySummary;
  reorder: ReorderReport;
}

/** End-of-line marker sent through the reorder buffer behind a line's readings. */
interface LineEnd {
  kind: 'line';
}
type ReplayEvent = Reading | LineEnd;
const LINE_END: LineEnd = { kind: 'line' };

function isLineEnd(e: ReplayEvent): e is LineEnd {
  return (e as LineEnd).kind === 'line';
}

/** What reading the inputs counted, whichever the target. */
class ReadStats {
  readonly counters = new IngestCounters();
  lines = 0;
  missingValues = 0;
  /** NDJSON: torn last lines (a write cut short by a crash), skipped. */
  tornLines = 0;
  readonly unreadableByReason = Object.fromEntries(UNREADABLE_REASONS.map((r) => [r, 0])) as Record<UnreadableReason, number>;
  readonly unreadable: UnreadableSample[] = [];

  count(file: string, l: ReplayLine): void {
    if (l.torn === true) {
      this.tornLines++;
      return;
    }
    this.counters.messages++;
    for (const f of l.failures) this.counters.decodeFailures[f.reason]++;
    this.counters.readings += l.readings.length;
    this.missingValues += l.missingValues;
    if (l.unreadable !== undefined) {
      this.unreadableByReason[l.unreadable.reason]++;
      if (this.unreadable.length < UNREADABLE_SAMPLES) this.unreadable.push({ file, ...l.unreadable });
    }
  }

  csvFields(format: ReplayFormat): Partial<ReplaySummary> {
    if (format === 'ndjson') return this.tornLines > 0 ? { tornLines: this.tornLines } : {};
    const byReason: Record<string, number> = {};
    for (const r of UNREADABLE_REASONS) if (this.unreadableByReason[r] > 0) byReason[r] = this.unreadableByReason[r];
    return { format, missingValues: this.missingValues, unreadableRows: byReason, unreadable: this.unreadable };
  }
}

/**
 * Read every input in order, push its readings and line markers through the reorder
 * buffer, and hand each released run to `handle` (awaited only when it returns a promise).
 */
async function streamInputs(
  opts: ReplayReadOptions,
  stats: ReadStats,
  progressCount: () => number,
  handle: (events: ReplayEvent[]) => Promise<void> | void,
): Promise<ReorderReport> {
  const windowMs = opts.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  const maxBuffered = opts.reorderMaxBuffered ?? DEFAULT_REORDER_MAX_BUFFERED;
  const buffer = new ReorderBuffer<ReplayEvent>({ windowMs, maxBuffered });
  const format = opts.format ?? 'ndjson';
  const sources = [];
  for (const path of opts.inputs) {
    sources.push(
      await openReplaySource(path, {
        format,
        maxMessageBytes: opts.maxMessageBytes,
        ...(opts.site !== undefined ? { site: opts.site } : {}),
        ...(opts.meter !== undefined ? { meter: opts.meter } : {}),
        ...(opts.startMs !== undefined ? { startMs: opts.startMs } : {}),
        ...(opts.zone !== undefined ? { zone: opts.zone } : {}),
        ...(opts.mapping !== undefined ? { mapping: opts.mapping } : {}),
      }),
    );
  }
  const totalBytes = sources.reduce((sum, s) => sum + s.sizeBytes, 0);
  let doneBytes = 0;
  const every = opts.progressEveryLines ?? 100_000;
  const out: ReplayEvent[] = [];
  let lastTsMs = -Infinity;
  for (const source of sources) {
    let fileLines = 0;
    for await (const l of source.lines()) {
      fileLines++;
      stats.count(source.path, l);
      // The marker follows the line's newest reading; a line without readings follows the
      // previous marker, so in a sorted file every marker leaves right behind its line.
      let lineTsMs = l.readings.length > 0 ? -Infinity : lastTsMs;
      for (const r of l.readings) {
        buffer.push(r.tsMs, r, out);
        if (r.tsMs > lineTsMs) lineTsMs = r.tsMs;
      }
      lastTsMs = lineTsMs;
      buffer.push(lineTsMs, LINE_END, out);
      if (out.length > 0) {
        const pending = handle(out);
        if (pending !== undefined) await pending;
        out.length = 0;
      }
      if (opts.onProgress && fileLines % every === 0) {
        opts.onProgress({
          file: source.path,
          lines: fileLines,
          readings: stats.counters.readings,
          windows: progressCount(),
          bytesRead: doneBytes + source.bytesRead(),
          totalBytes,
        });
      }
    }
    doneBytes += source.sizeBytes;
  }
  buffer.flush(out);
  if (out.length > 0) {
    const pending = handle(out);
    if (pending !== undefined) await pending;
  }
  return { windowMs, maxBuffered, highWater: buffer.highWater, forcedReleases: buffer.forcedReleases };
}

/** Accepted readings the replay clock takes its median over. */
const CLOCK_SAMPLES = 15;

/**
 * Replays files through the core on the event-time clock, so the same input always gives
 * the same output. The clock is the largest event time seen so far, taken robustly: it
 * advances to the median of the last accepted readings, so a meter whose clock runs minutes
 * ahead (a fault) moves neither the replay clock nor its site's watermark. A reading is
 * judged "from the future" against the clock before it arrived.
 */
export async function replayFiles(engine: WindowEngine, sinks: Sink[], opts: ReplayOptions, alerts?: AlertEngine): Promise<ReplayReport> {
  const stats = new ReadStats();
  const counters = stats.counters;
  const windows = { meter: 0, node: 0, site: 0, restatements: 0 };
  const alertCounts = { pending: 0, firing: 0, resolved: 0 };
  let clockMs = -Infinity;
  const recentTs = new Float64Array(CLOCK_SAMPLES);
  const sorted = new Float64Array(CLOCK_SAMPLES);
  let recentCount = 0;
  let lastAdvanceMs = -Infinity;
  let firstEventMs = Infinity;
  let lastEventMs = -Infinity;
  let lines = 0;
  const emit = (records: WindowResult[]): void => {
    if (records.length === 0) return;
    for (const r of records) {
      windows[r.type]++;
      if (r.revision > 0) windows.restatements++;
    }
    for (const s of sinks) s.write(records);
    // Alerts are evaluated on window results in event time: a replay raises what live did.
    if (alerts !== undefined) emitAlerts(alerts.evaluate(records, engine.watermarksMs()));
  };
  const emitAlerts = (events: AlertEvent[]): void => {
    if (events.length === 0) return;
    for (const e of events) alertCounts[e.state]++;
    for (const s of sinks) s.write(events);
  };
  const sinksFull = (): boolean => sinks.some((s) => s.health().buffered >= s.health().capacity);

  const reorder = await streamInputs(opts, stats, () => windows.node, (events) => {
    let flush = false;
    for (const e of events) {
      if (!isLineEnd(e)) {
        recordOne(e);
        continue;
      }
      lines++;
      // The watermark scan is O(meters): advance when the clock moved, or every 64 lines.
      if (clockMs !== lastAdvanceMs || lines % 64 === 0) {
        emit(engine.advance(clockMs));
        lastAdvanceMs = clockMs;
      }
      // Let sinks drain: a replay far larger than memory must not pile up in buffers.
      if (lines % 1024 === 0 && sinksFull()) flush = true;
    }
    return flush ? Promise.all(sinks.map((s) => s.flush())).then(() => undefined) : undefined;
  });
  emit(engine.drain());
  if (alerts !== undefined) emitAlerts(alerts.flush());
  for (const s of sinks) await s.flush();
  const engineStats = engine.stats();
  const summary: ReplaySummary = {
    type: 'summary',
    inputs: opts.inputs,
    lines,
    readings: counters.readings,
    outcomes: counters.byOutcome(),
    windows,
    ...(alerts === undefined ? {} : { alerts: alertCounts }),
    late: engineStats.lateBySiteMeter,
    counterResets: engineStats.counterResetsBySite,
    firstEventMs: wholeMs(firstEventMs),
    lastEventMs: wholeMs(lastEventMs),
    replayClockMs: wholeMs(clockMs),
    ...stats.csvFields(opts.format ?? 'ndjson'),
  };
  return { summary, reorder };

  function recordOne(r: Reading): void {
    const nowMs = clockMs === -Infinity ? r.tsMs : clockMs;
    const outcome = engine.record(r, nowMs);
    counters.outcomes[outcome]++;
    if (outcome === 'accepted' || outcome === 'accepted_late') {
      recentTs[recentCount % CLOCK_SAMPLES] = r.tsMs;
      recentCount++;
      const n = Math.min(recentCount, CLOCK_SAMPLES);
      sorted.set(recentTs.subarray(0, n));
      const median = sorted.subarray(0, n).sort()[n >> 1]!;
      if (median > clockMs) clockMs = median;
      if (r.tsMs < firstEventMs) firstEventMs = r.tsMs;
      if (r.tsMs > lastEventMs) lastEventMs = r.tsMs;
    }
  }
}

/** A time for the summary: whole ms since the epoch (floored, as window starts are), or null when none was seen. */
function wholeMs(tsMs: number): number | null {
  return Number.isFinite(tsMs) ? Math.floor(tsMs) : null;
}

// ───────────────────────────── to NATS ─────────────────────────────

/** The part of a NATS connection the replay publisher uses (nats.js NatsConnection fits). */
export interface ReplayPublisher {
  publish(subject: string, payload: Uint8Array): void;
  /** Resolves when the server has everything published so far. */
  flush(): Promise<void>;
}

/** Wall clock and sleep, injected (the pipeline owns timers; tests pass fakes). */
export interface ReplayClock {
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
  clock: ReplayClock;
}

export interface NatsReplaySummary {
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
  /** NDJSON, only when some: torn last lines, skipped. */
  tornLines?: number;
  format?: ReplayFormat;
  missingValues?: number;
  unreadableRows?: Record<string, number>;
  unreadable?: UnreadableSample[];
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

  const reorder = await streamInputs(opts, stats, () => messages, handle);
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
