import { readNdjsonReadings } from '../codec/index.js';
import type { WindowEngine } from '../core/index.js';
import type { OutputRecord, Reading } from '../domain/index.js';
import type { Sink } from '../sinks/types.js';
import { IngestCounters } from './ingest.js';

export interface ReplayOptions {
  inputs: string[];
  maxMessageBytes: number;
  /** Called every `progressEveryLines` lines with the running totals. */
  onProgress?: (p: ReplayProgress) => void;
  progressEveryLines?: number;
}

export interface ReplayProgress {
  file: string;
  lines: number;
  readings: number;
  windows: number;
}

export interface ReplaySummary {
  type: 'summary';
  inputs: string[];
  lines: number;
  readings: number;
  /** Readings by outcome; decode failures as `invalid_<reason>`. */
  outcomes: Record<string, number>;
  windows: { meter: number; node: number; site: number; restatements: number };
  late: Record<string, Record<string, number>>;
  counterResets: Record<string, number>;
  firstEventMs: number | null;
  lastEventMs: number | null;
}

/** Accepted readings the replay clock takes its median over. */
const CLOCK_SAMPLES = 15;

/**
 * Replays NDJSON files through the core on the event-time clock, so the same input always
 * gives the same output. The clock is the largest event time seen so far, taken robustly:
 * it advances to the median of the last accepted readings, so a meter whose clock runs
 * minutes ahead (a fault) moves neither the replay clock nor its site's watermark. A reading
 * is judged "from the future" against the clock before it arrived.
 */
export async function replayFiles(engine: WindowEngine, sinks: Sink[], opts: ReplayOptions): Promise<ReplaySummary> {
  const counters = new IngestCounters();
  const windows = { meter: 0, node: 0, site: 0, restatements: 0 };
  let clockMs = -Infinity;
  const recentTs = new Float64Array(CLOCK_SAMPLES);
  const sorted = new Float64Array(CLOCK_SAMPLES);
  let recentCount = 0;
  let lastAdvanceMs = -Infinity;
  let firstEventMs = Infinity;
  let lines = 0;
  const emit = (records: OutputRecord[]): void => {
    if (records.length === 0) return;
    for (const r of records) {
      if (r.type === 'alert') continue;
      windows[r.type]++;
      if (r.revision > 0) windows.restatements++;
    }
    for (const s of sinks) s.write(records);
  };
  const every = opts.progressEveryLines ?? 100_000;
  for (const file of opts.inputs) {
    let fileLines = 0;
    for await (const { result } of readNdjsonReadings(file, { maxMessageBytes: opts.maxMessageBytes })) {
      lines++;
      fileLines++;
      counters.messages++;
      for (const f of result.failures) counters.decodeFailures[f.reason]++;
      counters.readings += result.readings.length;
      for (const r of result.readings) recordOne(r);
      // The watermark scan is O(meters): advance when the clock moved, or every 64 lines.
      if (clockMs !== lastAdvanceMs || lines % 64 === 0) {
        emit(engine.advance(clockMs));
        lastAdvanceMs = clockMs;
      }
      if (opts.onProgress && fileLines % every === 0) {
        opts.onProgress({ file, lines: fileLines, readings: counters.readings, windows: windows.node });
      }
      // Let sinks drain: a replay far larger than memory must not pile up in buffers.
      if (lines % 1024 === 0) for (const s of sinks) if (s.health().buffered >= s.health().capacity) await s.flush();
    }
  }
  emit(engine.drain());
  for (const s of sinks) await s.flush();
  const stats = engine.stats();
  return {
    type: 'summary',
    inputs: opts.inputs,
    lines,
    readings: counters.readings,
    outcomes: counters.byOutcome(),
    windows,
    late: stats.lateBySiteMeter,
    counterResets: stats.counterResetsBySite,
    firstEventMs: Number.isFinite(firstEventMs) ? firstEventMs : null,
    lastEventMs: Number.isFinite(clockMs) ? clockMs : null,
  };

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
    }
  }
}
