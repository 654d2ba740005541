/**
 * In-process replay: the inputs' readings through the same ingest step, engine and router as
 * the live pipeline, on the event-time clock (`MedianEventClock`) instead of the processing
 * clock, so the same input always gives the same output. A reading is judged "from the
 * future" against the clock before it arrived. Alerts are evaluated on the window results in
 * event time: a replay raises what live did.
 */
import type { WindowEngine } from '../../core/index.js';
import type { AlertEngine } from '../../core/alerts/index.js';
import type { Sink } from '../../sinks/index.js';
import { recordReading } from '../ingest.js';
import { Router } from '../router.js';
import { MedianEventClock } from './event-clock.js';
import { isLineEnd, ReadStats, readReplayInputs, wholeMs, type FormatSummaryFields, type ReorderReport, type ReplayReadOptions } from './read.js';

export interface ReplaySummary extends FormatSummaryFields {
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
}

export interface ReplayReport {
  summary: ReplaySummary;
  reorder: ReorderReport;
}

/** Lines between two advances when the clock did not move (the watermark scan is O(meters)). */
const ADVANCE_EVERY_LINES = 64;
/** Lines between two looks at the sinks' buffers. */
const BACKPRESSURE_EVERY_LINES = 1024;

/** Replays files through the core on the event-time clock; the sinks are flushed, not closed. */
export async function replayFiles(engine: WindowEngine, sinks: Sink[], opts: ReplayReadOptions, alerts?: AlertEngine): Promise<ReplayReport> {
  const stats = new ReadStats();
  const counters = stats.counters;
  const clock = new MedianEventClock();
  const router = new Router({ sinks, ...(alerts === undefined ? {} : { alerts }), watermarksMs: () => engine.watermarksMs() });
  let lastAdvanceMs = Number.NEGATIVE_INFINITY;
  let firstEventMs = Number.POSITIVE_INFINITY;
  let lastEventMs = Number.NEGATIVE_INFINITY;
  let lines = 0;
  const sinksFull = (): boolean => sinks.some((s) => s.health().buffered >= s.health().capacity);

  const reorder = await readReplayInputs(opts, stats, () => router.counts.windows.node, (events) => {
    let flush = false;
    for (const e of events) {
      if (!isLineEnd(e)) {
        const outcome = recordReading(engine, e, clock.nowForMs(e.tsMs), counters);
        if (outcome === 'accepted' || outcome === 'accepted_late') {
          clock.observeAccepted(e.tsMs);
          if (e.tsMs < firstEventMs) firstEventMs = e.tsMs;
          if (e.tsMs > lastEventMs) lastEventMs = e.tsMs;
        }
        continue;
      }
      lines++;
      if (clock.nowMs !== lastAdvanceMs || lines % ADVANCE_EVERY_LINES === 0) {
        router.route(engine.advance(clock.nowMs), clock.nowMs);
        lastAdvanceMs = clock.nowMs;
      }
      // Let sinks drain: a replay far larger than memory must not pile up in buffers.
      if (lines % BACKPRESSURE_EVERY_LINES === 0 && sinksFull()) flush = true;
    }
    return flush ? Promise.all(sinks.map((s) => s.flush())).then(() => undefined) : undefined;
  });
  router.route(engine.drain(), clock.nowMs, false);
  router.flushAlerts(clock.nowMs);
  for (const s of sinks) await s.flush();
  const engineStats = engine.stats();
  const summary: ReplaySummary = {
    type: 'summary',
    inputs: opts.inputs,
    lines,
    readings: counters.readings,
    outcomes: counters.byOutcome(),
    windows: router.counts.windows,
    ...(alerts === undefined ? {} : { alerts: router.counts.alerts }),
    late: engineStats.lateBySiteMeter,
    counterResets: engineStats.counterResetsBySite,
    firstEventMs: wholeMs(firstEventMs),
    lastEventMs: wholeMs(lastEventMs),
    replayClockMs: wholeMs(clock.nowMs),
    ...stats.csvFields(opts.format ?? 'ndjson'),
  };
  return { summary, reorder };
}
