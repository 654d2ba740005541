import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  DEAD_LETTERS_TOTAL,
  LATE_READINGS_TOTAL,
  NATS_CONNECTION_STATE,
  READINGS_TOTAL,
  SINK_BUFFERED_RECORDS,
  SINK_FAILED,
  SOURCE_PAUSED,
  SOURCE_PENDING_MESSAGES,
  WATERMARK_LAG_SECONDS,
  WINDOW_EMIT_DELAY_SECONDS,
} from './metric-names.js';

/** Cumulative counts and current levels, sampled by the pipeline once per tick. */
export interface PipelineHealthSample {
  /** Readings by outcome since start (cumulative). */
  readingsByOutcome: Readonly<Record<string, number>>;
  /** Dead-lettered messages by reason since start (cumulative). */
  deadLettersByReason: Readonly<Record<string, number>>;
  /** Readings dropped as late, per site, since start (cumulative). */
  lateBySite: Readonly<Record<string, number>>;
  /** Processing clock minus watermark, per site; null before the site's first reading. */
  watermarkLagSecondsBySite: Readonly<Record<string, number | null>>;
  sinks: readonly { name: string; buffered: number; failed: boolean }[];
  /** Present when the pipeline runs on a NATS connection. */
  natsConnected?: boolean;
  /** Present when the source knows how much waits upstream. */
  sourcePendingMessages?: number;
  sourcePaused: boolean;
}

/** Emit delays are seconds to minutes: live windows close after maxOutOfOrder plus a tick. */
const EMIT_DELAY_BUCKETS_SECONDS = [0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 120, 300, 900];

/**
 * The pipeline's own health metrics, on an injected registry. Counters are fed from the
 * pipeline's cumulative counts (`update`, once per tick): never a metric update per reading.
 */
export class PipelineMetrics {
  private readonly readings: Counter<'outcome'>;
  private readonly deadLetters: Counter<'reason'>;
  private readonly late: Counter<'site'>;
  private readonly watermarkLag: Gauge<'site'>;
  private readonly emitDelay: Histogram;
  private readonly sinkBuffered: Gauge<'sink'>;
  private readonly sinkFailed: Gauge<'sink'>;
  private natsState: Gauge | null = null;
  private readonly registry: Registry;
  private readonly sourcePending: Gauge;
  private readonly sourcePaused: Gauge;
  private readonly seen = { readings: new Map<string, number>(), deadLetters: new Map<string, number>(), late: new Map<string, number>() };

  constructor(registry: Registry) {
    const registers = [registry];
    this.readings = new Counter({ name: READINGS_TOTAL, help: 'Readings by outcome (accepted, late, duplicate, …; invalid_<reason> for decode failures)', labelNames: ['outcome'], registers });
    this.deadLetters = new Counter({ name: DEAD_LETTERS_TOTAL, help: 'Messages dead-lettered, by reason', labelNames: ['reason'], registers });
    this.late = new Counter({ name: LATE_READINGS_TOTAL, help: 'Readings dropped as too late, by site', labelNames: ['site'], registers });
    this.watermarkLag = new Gauge({ name: WATERMARK_LAG_SECONDS, help: 'Processing clock minus the site watermark', labelNames: ['site'], registers });
    this.emitDelay = new Histogram({ name: WINDOW_EMIT_DELAY_SECONDS, help: 'Processing clock at first emission minus window end', buckets: EMIT_DELAY_BUCKETS_SECONDS, registers });
    this.sinkBuffered = new Gauge({ name: SINK_BUFFERED_RECORDS, help: "Records waiting in a sink's bounded buffer", labelNames: ['sink'], registers });
    this.sinkFailed = new Gauge({ name: SINK_FAILED, help: '1 when a sink failed permanently', labelNames: ['sink'], registers });
    this.registry = registry;
    this.sourcePending = new Gauge({ name: SOURCE_PENDING_MESSAGES, help: 'Messages waiting upstream (JetStream consumer pending)', registers });
    this.sourcePaused = new Gauge({ name: SOURCE_PAUSED, help: '1 while the source is paused for sink backpressure', registers });
  }

  update(sample: PipelineHealthSample): void {
    addDeltas(this.readings, 'outcome', sample.readingsByOutcome, this.seen.readings);
    addDeltas(this.deadLetters, 'reason', sample.deadLettersByReason, this.seen.deadLetters);
    addDeltas(this.late, 'site', sample.lateBySite, this.seen.late);
    for (const [site, lag] of Object.entries(sample.watermarkLagSecondsBySite)) {
      if (lag === null) this.watermarkLag.remove({ site });
      else this.watermarkLag.set({ site }, lag);
    }
    for (const s of sample.sinks) {
      this.sinkBuffered.set({ sink: s.name }, s.buffered);
      this.sinkFailed.set({ sink: s.name }, s.failed ? 1 : 0);
    }
    if (sample.natsConnected !== undefined) {
      // Created on first use: a pipeline without NATS exports no connection state at all.
      this.natsState ??= new Gauge({ name: NATS_CONNECTION_STATE, help: 'NATS connection: 1 connected, 0 disconnected, reconnecting or closed', registers: [this.registry] });
      this.natsState.set(sample.natsConnected ? 1 : 0);
    }
    if (sample.sourcePendingMessages !== undefined) this.sourcePending.set(sample.sourcePendingMessages);
    this.sourcePaused.set(sample.sourcePaused ? 1 : 0);
  }

  /** One observation per first emission of a window (not per reading). */
  observeEmitDelaySeconds(seconds: number): void {
    if (Number.isFinite(seconds)) this.emitDelay.observe(Math.max(0, seconds));
  }
}

function addDeltas<L extends string>(counter: Counter<L>, label: L, totals: Readonly<Record<string, number>>, seen: Map<string, number>): void {
  for (const [key, total] of Object.entries(totals)) {
    const prev = seen.get(key);
    const delta = total - (prev ?? 0);
    // A first sample creates the series, at 0 if need be, so rate() sees it from the start.
    if (delta > 0 || prev === undefined) {
      counter.inc({ [label]: key } as Record<L, string>, Math.max(0, delta));
      seen.set(key, Math.max(total, prev ?? 0));
    }
  }
}
