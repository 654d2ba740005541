import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { ActiveAlert } from '../core/alerts/index.js';
import {
  ALERTS_FIRING,
  ALERT_STATE,
  DEAD_LETTERS_TOTAL,
  DROPPED_READINGS_TOTAL,
  LATE_READINGS_TOTAL,
  NATS_CONNECTION_STATE,
  NATS_RECONNECTS_TOTAL,
  RUNTIME_METRICS_PREFIX,
  READINGS_TOTAL,
  SINK_BUFFERED_RECORDS,
  SINK_DELIVERY_DELAY_SECONDS,
  SINK_DROPPED_RECORDS_TOTAL,
  SINK_FAILED,
  SINK_FAILURES_TOTAL,
  SINK_RETRIES_TOTAL,
  SINK_WRITE_SECONDS,
  SINK_WRITTEN_RECORDS_TOTAL,
  SOURCE_PAUSED,
  SOURCE_PENDING_MESSAGES,
  WATERMARK_LAG_SECONDS,
  WINDOW_EMIT_DELAY_SECONDS,
} from './metric-names.js';
import type { SinkStats } from './sink-stats.js';

/** A sink as far as delivery delays go (the Sink contract in src/sinks/types.ts). */
export interface DeliveryReporter {
  readonly name: string;
  onDelivered?: ((seconds: number) => void) | undefined;
}

/** One sink as sampled per tick. */
export interface SinkHealthSample {
  name: string;
  buffered: number;
  failed: boolean;
  /** The sink's own delivery counters, when it reports them (`Sink.stats?()`). */
  stats?: SinkStats;
}

/** The NATS connection as sampled per tick. */
export interface NatsHealthSample {
  connected: boolean;
  /** Successful reconnects since start (cumulative). */
  reconnects: number;
}

/** Cumulative counts and current levels, sampled by the pipeline once per tick. */
export interface PipelineHealthSample {
  /** Readings by outcome since start (cumulative). */
  readingsByOutcome: Readonly<Record<string, number>>;
  /** Readings dropped before the window state, per site then reason, since start (cumulative). */
  droppedBySiteReason?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Dead-lettered messages by reason since start (cumulative). */
  deadLettersByReason: Readonly<Record<string, number>>;
  /** Readings dropped as late, per site, since start (cumulative). */
  lateBySite: Readonly<Record<string, number>>;
  /** Processing clock minus watermark, per site; null before the site's first reading. */
  watermarkLagSecondsBySite: Readonly<Record<string, number | null>>;
  sinks: readonly SinkHealthSample[];
  /** Present when the pipeline runs on a NATS connection. */
  nats?: NatsHealthSample;
  /** Present when the source knows how much waits upstream. */
  sourcePendingMessages?: number;
  sourcePaused: boolean;
}

/**
 * The part of an active alert (pending or firing; resolved alerts are simply absent) that the
 * alert series carry: the core's ActiveAlert narrowed to its labels and state. `node` is null
 * for site-level rules (exported as an empty `node` label).
 */
export type AlertSeriesSample = Pick<ActiveAlert, 'site' | 'node' | 'rule' | 'severity' | 'state'>;

/** Emit delays are seconds to minutes: live windows close after maxOutOfOrder plus a tick. */
const EMIT_DELAY_BUCKETS_SECONDS = [0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 120, 300, 900];
/** Delivery delays: 1 ms (in-process outputs) to 30 s (a remote server's outage, retried). */
const SINK_DELIVERY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Sink write requests: milliseconds (NATS, a local InfluxDB) to a request timeout. */
const SINK_WRITE_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * prom-client's gauges that end in `_total` (promtool: "non-counter metrics should not have
 * _total suffix"); left out so the scrape lints clean.
 */
const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * prom-client's process and Node.js runtime metrics on `registry`, prefixed `headroom_`
 * (`headroom_process_*`: CPU, memory, file descriptors; `headroom_nodejs_*`: event-loop lag, GC,
 * heap), minus its misnamed `_total` gauges.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: RUNTIME_METRICS_PREFIX });
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(RUNTIME_METRICS_PREFIX + name);
}

/**
 * A counter fed from cumulative totals: each update adds the delta since the last one. A
 * first sample creates the series, at 0 if need be, so rate() sees it from the start. A
 * total that goes down (a restarted component) is ignored until it passes the old one.
 */
class CumulativeCounter<L extends string> {
  private readonly seen = new Map<string, number>();

  constructor(private readonly counter: Counter<L>) {}

  set(labels: Record<L, string>, total: number): void {
    if (!Number.isFinite(total)) return;
    const key = Object.values(labels).join('\u0000');
    const prev = this.seen.get(key);
    const delta = total - (prev ?? 0);
    if (delta > 0 || prev === undefined) {
      this.counter.inc(labels, Math.max(0, delta));
      this.seen.set(key, Math.max(total, prev ?? 0));
    }
  }
}

/**
 * The pipeline's own health metrics, on an injected registry. Counters are fed from the
 * pipeline's cumulative counts (`update`, once per tick): never a metric update per reading.
 */
export class PipelineMetrics {
  private readonly registry: Registry;
  private readonly readings: CumulativeCounter<'outcome'>;
  private readonly dropped: CumulativeCounter<'site' | 'reason'>;
  private readonly deadLetters: CumulativeCounter<'reason'>;
  private readonly late: CumulativeCounter<'site'>;
  private readonly watermarkLag: Gauge<'site'>;
  private readonly emitDelay: Histogram;
  private readonly sinkBuffered: Gauge<'sink'>;
  private readonly sinkFailed: Gauge<'sink'>;
  private readonly sinkWrite: Histogram<'sink'>;
  private readonly sinkDelivery: Histogram<'sink'>;
  private readonly sinkFailures: CumulativeCounter<'sink' | 'reason'>;
  private readonly sinkWritten: CumulativeCounter<'sink'>;
  private readonly sinkRetries: CumulativeCounter<'sink'>;
  private readonly sinkDropped: CumulativeCounter<'sink' | 'reason'>;
  /** Successful writes per sink at the last sample (observe lastWriteSeconds only when new). */
  private readonly sinkWrites = new Map<string, number>();
  private nats: { state: Gauge; reconnects: CumulativeCounter<never> } | null = null;
  private readonly sourcePending: Gauge;
  private readonly sourcePaused: Gauge;
  private readonly alertState: Gauge<'site' | 'node' | 'rule' | 'severity'>;
  private readonly alertsFiring: Gauge<'site' | 'severity'>;
  private readonly alertGroups = new Map<string, { site: string; severity: string }>();

  constructor(registry: Registry) {
    this.registry = registry;
    const registers = [registry];
    this.readings = new CumulativeCounter(new Counter({ name: READINGS_TOTAL, help: 'Readings by outcome (accepted, accepted_late, late, duplicate, …; invalid_<reason> for decode failures)', labelNames: ['outcome'], registers }));
    this.dropped = new CumulativeCounter(
      new Counter({ name: DROPPED_READINGS_TOTAL, help: 'Readings that did not reach the window state, by site (of the subject) and reason', labelNames: ['site', 'reason'], registers }),
    );
    this.deadLetters = new CumulativeCounter(new Counter({ name: DEAD_LETTERS_TOTAL, help: 'Messages dead-lettered, by reason', labelNames: ['reason'], registers }));
    this.late = new CumulativeCounter(new Counter({ name: LATE_READINGS_TOTAL, help: 'Readings dropped as too late, by site', labelNames: ['site'], registers }));
    this.watermarkLag = new Gauge({ name: WATERMARK_LAG_SECONDS, help: 'Processing clock minus the site (partition) watermark', labelNames: ['site'], registers });
    this.emitDelay = new Histogram({
      name: WINDOW_EMIT_DELAY_SECONDS,
      help: 'Lag of emission behind the window end: processing clock when a window was emitted minus its end (watermark lag plus tick, not delivery), one observation per emitted batch (its oldest new window)',
      buckets: EMIT_DELAY_BUCKETS_SECONDS,
      registers,
    });
    this.sinkBuffered = new Gauge({ name: SINK_BUFFERED_RECORDS, help: "Records waiting in a sink's bounded buffer", labelNames: ['sink'], registers });
    this.sinkFailed = new Gauge({ name: SINK_FAILED, help: '1 when a sink failed permanently', labelNames: ['sink'], registers });
    this.sinkWrite = new Histogram({ name: SINK_WRITE_SECONDS, help: 'Duration of successful sink write requests (sampled, at most one per tick)', labelNames: ['sink'], buckets: SINK_WRITE_BUCKETS_SECONDS, registers });
    this.sinkDelivery = new Histogram({
      name: SINK_DELIVERY_DELAY_SECONDS,
      help: 'From emission of a batch to its delivery by the sink (ndjson: file write; influx: 2xx of the request, its oldest emission; nats-results: handed to the connection, core NATS has no ack; metrics: gauges set), one observation per delivered batch or request, not per record',
      labelNames: ['sink'],
      buckets: SINK_DELIVERY_BUCKETS_SECONDS,
      registers,
    });
    this.sinkFailures = new CumulativeCounter(new Counter({ name: SINK_FAILURES_TOTAL, help: 'Failed sink write attempts, by reason (each retried or dropped)', labelNames: ['sink', 'reason'], registers }));
    this.sinkWritten = new CumulativeCounter(new Counter({ name: SINK_WRITTEN_RECORDS_TOTAL, help: 'Records delivered by a sink', labelNames: ['sink'], registers }));
    this.sinkRetries = new CumulativeCounter(new Counter({ name: SINK_RETRIES_TOTAL, help: 'Sink write retries', labelNames: ['sink'], registers }));
    this.sinkDropped = new CumulativeCounter(new Counter({ name: SINK_DROPPED_RECORDS_TOTAL, help: 'Records a sink gave up on, by reason', labelNames: ['sink', 'reason'], registers }));
    this.sourcePending = new Gauge({ name: SOURCE_PENDING_MESSAGES, help: 'Messages waiting upstream (JetStream consumer pending)', registers });
    this.sourcePaused = new Gauge({ name: SOURCE_PAUSED, help: '1 while the source is paused for sink backpressure', registers });
    this.alertState = new Gauge({ name: ALERT_STATE, help: 'Active in-stream alerts: 1 firing, 0 pending (no series while inactive)', labelNames: ['site', 'node', 'rule', 'severity'], registers });
    this.alertsFiring = new Gauge({ name: ALERTS_FIRING, help: 'In-stream alerts firing now, by site and severity', labelNames: ['site', 'severity'], registers });
  }

  update(sample: PipelineHealthSample): void {
    for (const [outcome, n] of Object.entries(sample.readingsByOutcome)) this.readings.set({ outcome }, n);
    for (const [site, reasons] of Object.entries(sample.droppedBySiteReason ?? {})) {
      for (const [reason, n] of Object.entries(reasons)) this.dropped.set({ site, reason }, n);
    }
    for (const [reason, n] of Object.entries(sample.deadLettersByReason)) this.deadLetters.set({ reason }, n);
    for (const [site, n] of Object.entries(sample.lateBySite)) this.late.set({ site }, n);
    for (const [site, lag] of Object.entries(sample.watermarkLagSecondsBySite)) {
      if (lag === null) this.watermarkLag.remove({ site });
      else this.watermarkLag.set({ site }, lag);
    }
    for (const s of sample.sinks) this.updateSink(s);
    const nats = sample.nats;
    if (nats !== undefined) {
      // Created on first use: a pipeline without NATS exports no connection metrics at all.
      this.nats ??= {
        state: new Gauge({ name: NATS_CONNECTION_STATE, help: 'NATS connection: 1 connected, 0 disconnected, reconnecting or closed', registers: [this.registry] }),
        reconnects: new CumulativeCounter(new Counter({ name: NATS_RECONNECTS_TOTAL, help: 'Successful NATS reconnects', registers: [this.registry] })),
      };
      this.nats.state.set(nats.connected ? 1 : 0);
      this.nats.reconnects.set({}, nats.reconnects);
    }
    if (sample.sourcePendingMessages !== undefined) this.sourcePending.set(sample.sourcePendingMessages);
    this.sourcePaused.set(sample.sourcePaused ? 1 : 0);
  }

  /** One observation per emitted batch of windows (not per record). */
  observeEmitDelaySeconds(seconds: number): void {
    if (Number.isFinite(seconds)) this.emitDelay.observe(Math.max(0, seconds));
  }

  /**
   * Sets every sink's delivery observer to this registry's histogram, labelled with the sink's
   * name (the labelled child is made once: nothing is allocated per observation).
   */
  observeDeliveries(sinks: readonly DeliveryReporter[]): void {
    for (const s of sinks) s.onDelivered = this.deliveryObserver(s.name);
  }

  /** An observer of `sink`'s delivery delays, in seconds. */
  deliveryObserver(sink: string): (seconds: number) => void {
    const child = this.sinkDelivery.labels({ sink });
    return (seconds) => {
      if (Number.isFinite(seconds) && seconds >= 0) child.observe(seconds);
    };
  }

  /** One write request of `sink` (for sinks that report each write, e.g. through an `onWrite` hook). */
  observeSinkWriteSeconds(sink: string, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.sinkWrite.observe({ sink }, seconds);
  }

  /**
   * The alerts active now (pending or firing), replacing the previous set: alerts absent
   * from `active` lose their series. Called by the pipeline after each alert evaluation.
   */
  setAlerts(active: readonly AlertSeriesSample[]): void {
    this.alertState.reset();
    const firing = new Map<string, number>();
    for (const g of this.alertGroups.keys()) firing.set(g, 0);
    for (const a of active) {
      this.alertState.set({ site: a.site, node: a.node ?? '', rule: a.rule, severity: a.severity }, a.state === 'firing' ? 1 : 0);
      const key = `${a.site}\u0000${a.severity}`;
      if (!this.alertGroups.has(key)) this.alertGroups.set(key, { site: a.site, severity: a.severity });
      firing.set(key, (firing.get(key) ?? 0) + (a.state === 'firing' ? 1 : 0));
    }
    // Sites and severities seen once stay exported at 0, so `== 0` and absent() both work.
    for (const [key, n] of firing) {
      const g = this.alertGroups.get(key);
      if (g !== undefined) this.alertsFiring.set(g, n);
    }
  }

  private updateSink(s: SinkHealthSample): void {
    const sink = s.name;
    this.sinkBuffered.set({ sink }, s.buffered);
    this.sinkFailed.set({ sink }, s.failed ? 1 : 0);
    const st = s.stats;
    if (st === undefined) return;
    if (st.written !== undefined) this.sinkWritten.set({ sink }, st.written);
    if (st.retries !== undefined) this.sinkRetries.set({ sink }, st.retries);
    if (st.failedByReason !== undefined) {
      for (const [reason, n] of Object.entries(st.failedByReason)) this.sinkFailures.set({ sink, reason }, n);
    } else if (st.failed !== undefined) {
      this.sinkFailures.set({ sink, reason: 'error' }, st.failed);
    }
    for (const [reason, n] of Object.entries(st.droppedByReason ?? {})) this.sinkDropped.set({ sink, reason }, n);
    const last = st.lastWriteSeconds;
    if (st.writes !== undefined && last !== undefined && last !== null) {
      const prev = this.sinkWrites.get(sink) ?? 0;
      if (st.writes > prev) this.observeSinkWriteSeconds(sink, last);
      this.sinkWrites.set(sink, Math.max(prev, st.writes));
    }
  }
}
