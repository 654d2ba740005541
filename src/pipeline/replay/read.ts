/**
 * Reading replay inputs (docs/design.md section 9): every input (NDJSON, CSV with a mapping, or a
 * preset format) is read as a stream of lines, and its readings go through a bounded reorder
 * buffer (event-time order within `reorderWindowMs`, at most `reorderMaxBuffered` held).
 * The released runs feed either target: in-process (`in-process.ts`) or NATS (`to-nats.ts`).
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
} from '../../codec/index.js';
import type { Reading } from '../../domain/index.js';
import { openReplaySource } from '../../sources/index.js';
import { IngestCounters } from '../ingest.js';

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

export interface ReorderReport {
  windowMs: number;
  maxBuffered: number;
  /** Most readings held at once. */
  highWater: number;
  /** Released early because the buffer was full (their order may be off). */
  forcedReleases: number;
}

/** The summary fields that depend on the input format (both targets). */
export interface FormatSummaryFields {
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

/** End-of-line marker sent through the reorder buffer behind a line's readings. */
export interface LineEnd {
  kind: 'line';
}
export type ReplayEvent = Reading | LineEnd;
const LINE_END: LineEnd = { kind: 'line' };

export function isLineEnd(e: ReplayEvent): e is LineEnd {
  return (e as LineEnd).kind === 'line';
}

/** What reading the inputs counted, whichever the target. */
export class ReadStats {
  readonly counters = new IngestCounters();
  lines = 0;
  missingValues = 0;
  /** NDJSON: torn last lines (a write cut short by a crash), skipped. */
  tornLines = 0;
  readonly unreadableByReason = Object.fromEntries(UNREADABLE_REASONS.map((r) => [r, 0])) as Record<UnreadableReason, number>;
  readonly unreadable: UnreadableSample[] = [];

  count(file: string, line: ReplayLine): void {
    if (line.torn === true) {
      this.tornLines++;
      return;
    }
    this.counters.messages++;
    for (const f of line.failures) this.counters.decodeFailures[f.reason]++;
    this.counters.readings += line.readings.length;
    this.missingValues += line.missingValues;
    if (line.unreadable !== undefined) {
      this.unreadableByReason[line.unreadable.reason]++;
      if (this.unreadable.length < UNREADABLE_SAMPLES) this.unreadable.push({ file, ...line.unreadable });
    }
  }

  csvFields(format: ReplayFormat): FormatSummaryFields {
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
export async function readReplayInputs(
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
    for await (const line of source.lines()) {
      fileLines++;
      stats.count(source.path, line);
      // The marker follows the line's newest reading; a line without readings follows the
      // previous marker, so in a sorted file every marker leaves right behind its line.
      let lineTsMs = line.readings.length > 0 ? -Infinity : lastTsMs;
      for (const r of line.readings) {
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

/** A time for a summary: whole ms since the epoch (floored, as window starts are), or null when none was seen. */
export function wholeMs(tsMs: number): number | null {
  return Number.isFinite(tsMs) ? Math.floor(tsMs) : null;
}
