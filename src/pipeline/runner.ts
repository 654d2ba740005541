/**
 * The running pipeline: source → ingest (core) → sinks, with the only timer of the service.
 *
 * Lifecycle: `new Pipeline(deps)` → `start()` → (ticks) → `stop()`. A stopped pipeline is
 * not restarted.
 *
 * - Batches: each message is decoded and recorded with `ingestPayload` on the injected
 *   processing clock; rejected messages go to the dead-letter publisher; `ack` is called
 *   once the message's readings are recorded; the stream position is remembered (last
 *   sequence per stream, for checkpoints).
 * - Ticks (every `tickMs`, and after a batch when a tick is due): `engine.advance(clock(),
 *   caughtUp)`, results to every sink, backpressure, health metrics from the plain counters.
 *   `caughtUp` is the source's word that nothing waits upstream (`health().caughtUp`, else
 *   `connected`): while it is false, idle sites do not advance on the processing clock.
 * - Backpressure: when any sink's buffer reaches its capacity the source is paused; it is
 *   resumed once every sink is below half its capacity.
 * - Stop, within one budget (`stopTimeoutMs`) from which every stage's deadline is derived:
 *   stop the source (in-flight batches are recorded; at most a quarter of the budget), a
 *   final `advance`, then `engine.drain()`: every open window is closed and written, partial
 *   ones included (their coverage and completeness say so). Without a checkpoint (this
 *   version), the state would otherwise be lost; once checkpoints land, a JetStream worker
 *   that hands over its partitions should stop after the final advance and checkpoint
 *   instead of draining. Then every sink is closed in parallel with the rest of the budget
 *   less a small reserve: what a sink cannot deliver by then it drops, counts as `shutdown`
 *   and logs. `stop()` reports those drops per sink.
 * Data never crashes the pipeline: bad messages are counted and dead-lettered, and an
 * unexpected exception while handling one message is counted and logged (sampled).
 */
import type { WindowEngine } from '../core/index.js';
import type { AlertEngine } from '../core/alerts/index.js';
import type { OutputRecord, WindowResult } from '../domain/index.js';
import type { Sink, SinkStats } from '../sinks/index.js';
import type { NatsConnectionStatus } from '../sources/index.js';
import type { DeadLetterPublisher, Source, SourceMessage } from '../sources/index.js';
import { parseTelemetrySubject } from '../sources/index.js';
import type { Logger } from '../telemetry/index.js';
import { PipelineMetrics, errorText } from '../telemetry/index.js';
import type { Registry } from 'prom-client';
import { IngestCounters, type IngestOptions, type LineProtocolInput } from './ingest.js';
import { ingestPayload } from './ingest.js';

export interface PipelineConfig {
  /** Subject prefix of telemetry subjects (the site is the next token). */
  subjectPrefix: string;
  maxMessageBytes: number;
  /** Subjects carrying InfluxDB line protocol (source.lineProtocol); default none. */
  lineProtocol?: readonly LineProtocolInput[];
}

export interface PipelineDeps {
  config: PipelineConfig;
  engine: WindowEngine;
  source: Source;
  sinks: readonly Sink[];
  /** Alert rules evaluated on every batch of window results (event time); absent = no alerts. */
  alerts?: AlertEngine;
  /** Rejected messages go here; absent = dead-lettering off (still counted). */
  deadLetter?: DeadLetterPublisher;
  /** Processing clock, ms since the epoch. The CLI passes Date.now; tests a fake. */
  clock: () => number;
  logger: Logger;
  /** Registry for the pipeline's health metrics; absent = no metrics. */
  registry?: Registry;
  /** NATS connection state, when the source runs on NATS (exported as a gauge). */
  connectionState?: () => boolean;
  /** The NATS connection tracker from `connectNats` (state and reconnects; preferred over connectionState). */
  natsStatus?: NatsConnectionStatus;
  /** Tick period. Default 250 ms. 0 = no timer: the owner calls `tick()` (tests). */
  tickMs?: number;
  /** The stop budget: `stop()` resolves within it; every stage's deadline derives from it. Default 10 s. */
  stopTimeoutMs?: number;
  /**
   * What `stop()` does with windows still open after the final advance. `drain` (default):
   * close and write them, partial ones included, and resolve active alerts. `keep`: leave
   * them in the engine for a checkpoint (a worker handing its partition to another).
   */
  openWindowsOnStop?: 'drain' | 'keep';
}

export type PipelineState = 'new' | 'running' | 'stopping' | 'stopped';

export interface PipelineStatus {
  state: PipelineState;
  sourcePaused: boolean;
  /** Times the source was paused for backpressure. */
  pauses: number;
  /** Window records written to the sinks. */
  recordsOut: number;
  /** Unexpected exceptions while handling a message (should stay 0). */
  handlerErrors: number;
}

/** What `stop()` could not do within its budget. */
export interface StopReport {
  /** Records each sink dropped at shutdown (`droppedByReason.shutdown`), by sink; only sinks that dropped. */
  droppedAtShutdown: Record<string, number>;
  /** Sum of `droppedAtShutdown`. */
  droppedRecords: number;
  /** Sinks whose close() overran its deadline (a broken sink contract; what they held is unaccounted). */
  overran: string[];
}

/** `stop()` did not finish within its bound. */
export class StopTimeoutError extends Error {
  override readonly name = 'StopTimeoutError';
}

const DEFAULT_TICK_MS = 250;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
/** Share of the stop budget the source gets to hand over what is in flight. */
const SOURCE_STOP_SHARE = 0.25;
/** Kept back from the sinks' deadline for the bookkeeping after them: a twentieth of the budget, at most 250 ms. */
const STOP_RESERVE_SHARE = 0.05;
const STOP_RESERVE_MAX_MS = 250;

/** `promise`'s outcome, or `'timeout'` after `ms`. Never rejects when `promise` does not. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function shutdownDrops(stats: SinkStats | undefined): number {
  return stats?.droppedByReason?.shutdown ?? 0;
}

/** Outcomes that mean a reading did not reach the window state (plus `invalid_<reason>`). */
const DROP_OUTCOMES = ['late', 'duplicate', 'future', 'unknown_site', 'unknown_meter', 'implausible'] as const;
/** Site label of messages whose subject names no site of the topology (bounds cardinality). */
const UNKNOWN_SITE_LABEL = 'unknown';

export class Pipeline {
  /** Dead-lettered (rejected) messages by reason, counted whether or not publishing is on. */
  readonly deadLetters: Record<string, number> = {};
  /** Last stream sequence handed over, per stream (for checkpoints). */
  readonly positions = new Map<string, number>();

  private readonly log: Logger;
  private readonly metrics: PipelineMetrics | null;
  private readonly tickMs: number;
  private readonly stopTimeoutMs: number;
  private readonly ingestOpts: IngestOptions;
  private state: PipelineState = 'new';
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private pauses = 0;
  private recordsOut = 0;
  private handlerErrors = 0;
  private lastTickMs = Number.NEGATIVE_INFINITY;
  private stopping: Promise<StopReport> | null = null;
  private readonly listeners: ((records: readonly OutputRecord[]) => void)[] = [];
  /** Ingest counters per subject site (`unknown` outside the topology); `counters` sums them. */
  private readonly siteCounters = new Map<string, IngestCounters>();
  private readonly knownSites: ReadonlySet<string>;

  constructor(private readonly deps: PipelineDeps) {
    this.log = deps.logger.child({ component: 'pipeline' });
    this.metrics = deps.registry === undefined ? null : new PipelineMetrics(deps.registry);
    this.tickMs = deps.tickMs ?? DEFAULT_TICK_MS;
    this.stopTimeoutMs = deps.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.ingestOpts = { maxMessageBytes: deps.config.maxMessageBytes, lineProtocol: (deps.config.lineProtocol ?? []).map((input) => ({ ...input, subjectTokens: input.subjects.split('.') })) };
    this.knownSites = new Set(deps.engine.topology.sites.map((s) => s.id));
  }

  /** Ingest counters since start, all sites (a fresh sum on each read). */
  get counters(): IngestCounters {
    const total = new IngestCounters();
    for (const c of this.siteCounters.values()) {
      total.messages += c.messages;
      total.readings += c.readings;
      for (const k of Object.keys(c.outcomes) as (keyof typeof c.outcomes)[]) total.outcomes[k] += c.outcomes[k];
      for (const k of Object.keys(c.decodeFailures) as (keyof typeof c.decodeFailures)[]) total.decodeFailures[k] += c.decodeFailures[k];
    }
    return total;
  }

  status(): PipelineStatus {
    return { state: this.state, sourcePaused: this.paused, pauses: this.pauses, recordsOut: this.recordsOut, handlerErrors: this.handlerErrors };
  }

  /** Total dead-lettered messages. */
  get deadLetterCount(): number {
    let n = 0;
    for (const v of Object.values(this.deadLetters)) n += v;
    return n;
  }

  /** Ready: running, source connected, no sink failed or not yet ready. The reason when not. */
  readiness(): { ready: boolean; detail?: string } {
    if (this.state !== 'running') return { ready: false, detail: `pipeline ${this.state}` };
    const src = this.deps.source.health();
    if (!src.connected) return { ready: false, detail: `source ${this.deps.source.kind} not connected${src.detail === undefined ? '' : `: ${src.detail}`}` };
    for (const s of this.deps.sinks) {
      const h = s.health();
      if (h.failed) return { ready: false, detail: `sink ${s.name} failed${h.detail === undefined ? '' : `: ${h.detail}`}` };
      if (h.ready === false) return { ready: false, detail: `sink ${s.name} not ready${h.detail === undefined ? '' : `: ${h.detail}`}` };
    }
    return { ready: true };
  }

  /** Also hands every written batch of records to `fn` (terminal summary, tests). */
  onRecords(fn: (records: readonly OutputRecord[]) => void): void {
    this.listeners.push(fn);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`pipeline cannot start from state ${this.state}`);
    // Sinks first: one that can never write stops start-up before any message is taken.
    await Promise.all(this.deps.sinks.map((s) => s.start?.()));
    this.state = 'running';
    await this.deps.source.start((batch) => this.handleBatch(batch));
    if (this.tickMs > 0) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
    }
    this.log.info({ source: this.deps.source.kind, sinks: this.deps.sinks.map((s) => s.name), tickMs: this.tickMs }, 'pipeline started');
  }

  /** Advances the engine on the clock, writes results, applies backpressure, updates metrics. */
  tick(): void {
    try {
      const nowMs = this.deps.clock();
      this.lastTickMs = nowMs;
      const src = this.deps.source.health();
      this.route(this.deps.engine.advance(nowMs, src.caughtUp ?? src.connected), nowMs);
      this.applyBackpressure();
      this.updateMetrics(nowMs);
    } catch (err: unknown) {
      // The core never throws for data; a throw here is a bug: log it, keep serving.
      this.handlerErrors++;
      this.logSampled(err, 'tick failed');
    }
  }

  /**
   * Stops within `stopTimeoutMs`: source, final advance, drain, then every sink closed in
   * parallel by a deadline derived from the budget. Resolves with what was dropped at
   * shutdown; rejects with StopTimeoutError only when a stage ignored its deadline and the
   * budget passed (the caller then exits anyway).
   */
  stop(): Promise<StopReport> {
    if (this.stopping !== null) return this.stopping;
    const budgetMs = this.stopTimeoutMs;
    let timeout: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new StopTimeoutError(`pipeline did not stop within its budget of ${budgetMs} ms`)), budgetMs);
    });
    this.stopping = Promise.race([this.doStop(performance.now() + budgetMs), bound]).finally(() => clearTimeout(timeout));
    return this.stopping;
  }

  private async doStop(deadlineMs: number): Promise<StopReport> {
    const budgetMs = this.stopTimeoutMs;
    const left = (): number => Math.max(0, deadlineMs - performance.now());
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (wasRunning) {
      // Hand over what is in flight even when paused: stop is the final flush.
      this.paused = false;
      const sourceMs = budgetMs * SOURCE_STOP_SHARE;
      const stopped = await within(
        this.deps.source.stop().then(
          () => 'ok' as const,
          (err: unknown) => {
            this.log.error({ err: errorText(err) }, 'source stop failed; draining what was recorded');
            return 'failed' as const;
          },
        ),
        sourceMs,
      );
      if (stopped === 'timeout') this.log.error({ timeoutMs: Math.round(sourceMs) }, 'source did not stop within its share of the stop budget; closing windows with what was recorded');
    }
    const nowMs = this.deps.clock();
    if (this.deps.openWindowsOnStop === 'keep') {
      // Hand-over: only what event time closes (no idle advance on this worker's clock, which
      // the next owner would not repeat); the rest stays in the engine for the checkpoint.
      this.route(this.deps.engine.advance(nowMs, false), nowMs);
    } else {
      this.route(this.deps.engine.advance(nowMs), nowMs);
      // Drained windows are cut short, not late: no emit delay for them.
      this.route(this.deps.engine.drain(), nowMs, false);
      if (this.deps.alerts !== undefined) this.emitAlerts(this.deps.alerts.flush(), nowMs);
    }
    this.updateMetrics(nowMs);

    // Every sink at once, each with the same deadline: one slow sink does not eat another's time.
    const reserveMs = Math.min(STOP_RESERVE_MAX_MS, budgetMs * STOP_RESERVE_SHARE);
    const sinkMs = Math.max(0, left() - reserveMs);
    const overran: string[] = [];
    await Promise.all(
      this.deps.sinks.map(async (s) => {
        const closed = await within(
          s.close({ timeoutMs: sinkMs }).then(
            () => 'ok' as const,
            (err: unknown) => {
              this.log.error({ sink: s.name, err: errorText(err) }, 'sink close failed');
              return 'failed' as const;
            },
          ),
          Math.max(0, left() - reserveMs / 2),
        );
        if (closed === 'timeout') {
          overran.push(s.name);
          this.log.error({ sink: s.name, timeoutMs: Math.round(sinkMs), buffered: s.health().buffered }, 'sink did not close by its deadline; what it holds is lost');
        }
      }),
    );
    const droppedAtShutdown: Record<string, number> = {};
    let droppedRecords = 0;
    for (const s of this.deps.sinks) {
      const n = shutdownDrops(s.stats?.());
      if (n > 0) {
        droppedAtShutdown[s.name] = n;
        droppedRecords += n;
      }
    }
    this.updateMetrics(this.deps.clock());
    this.state = 'stopped';
    const fields = { readings: this.counters.readings, records: this.recordsOut, deadLetters: this.deadLetterCount, droppedAtShutdown, stopMs: Math.round(budgetMs - left()), budgetMs };
    if (droppedRecords > 0 || overran.length > 0) this.log.error({ ...fields, overran }, `pipeline stopped; ${droppedRecords} records dropped at shutdown`);
    else this.log.info(fields, 'pipeline stopped');
    return { droppedAtShutdown, droppedRecords, overran };
  }

  /** The source's handler. Never throws. */
  private handleBatch(batch: readonly SourceMessage[]): void {
    const prefix = this.deps.config.subjectPrefix;
    const engine = this.deps.engine;
    const nowMs = this.deps.clock();
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      try {
        const site = parseTelemetrySubject(msg.subject, prefix)?.site;
        const report = ingestPayload(engine, msg.payload, site, nowMs, this.ingestOpts, this.countersFor(site), msg.subject);
        if (report.rejectReason !== null) this.deadLetter(site ?? '', report.rejectReason, msg.payload, report.rejectDetail ?? undefined);
      } catch (err: unknown) {
        this.handlerErrors++;
        this.logSampled(err, 'message handling failed; dead-lettered');
        this.deadLetter('', 'internal', msg.payload, errorText(err));
      }
      // Acked after recording; a message that could not be recorded is acked too: it was
      // dead-lettered, and redelivering it would fail the same way.
      if (msg.ack !== undefined) {
        try {
          msg.ack();
        } catch (err: unknown) {
          this.logSampled(err, 'ack failed');
        }
      }
      if (msg.position !== undefined) {
        const prev = this.positions.get(msg.position.stream);
        if (prev === undefined || msg.position.sequence > prev) this.positions.set(msg.position.stream, msg.position.sequence);
      }
    }
    // Under load the timer may lag behind: route results here when a tick is due.
    if (this.state === 'running' && (this.tickMs === 0 ? false : this.deps.clock() - this.lastTickMs >= this.tickMs)) this.tick();
  }

  private deadLetter(site: string, reason: string, payload: Uint8Array, detail: string | undefined): void {
    this.deadLetters[reason] = (this.deadLetters[reason] ?? 0) + 1;
    this.deps.deadLetter?.publish(site, reason, payload, detail);
  }

  private countersFor(site: string | undefined): IngestCounters {
    const key = site !== undefined && this.knownSites.has(site) ? site : UNKNOWN_SITE_LABEL;
    let c = this.siteCounters.get(key);
    if (c === undefined) {
      c = new IngestCounters();
      this.siteCounters.set(key, c);
    }
    return c;
  }

  /** Window results to the sinks, then the alert transitions they cause. */
  private route(results: readonly WindowResult[], nowMs: number, observeDelay = true): void {
    if (results.length === 0) return;
    this.emit(results, nowMs, observeDelay);
    const alerts = this.deps.alerts;
    if (alerts !== undefined) this.emitAlerts(alerts.evaluate(results, this.deps.engine.watermarksMs()), nowMs);
  }

  private emitAlerts(events: readonly OutputRecord[], nowMs: number): void {
    if (events.length > 0) this.emit(events, nowMs, false);
    if (this.deps.alerts !== undefined) this.metrics?.setAlerts(this.deps.alerts.activeAlerts());
  }

  private emit(records: readonly OutputRecord[], nowMs: number, observeDelay = true): void {
    if (records.length === 0) return;
    this.recordsOut += records.length;
    for (const s of this.deps.sinks) {
      try {
        s.write(records);
      } catch (err: unknown) {
        // Sinks never throw for I/O; a throw is a bug in the sink: keep the others going.
        this.logSampled(err, `sink ${s.name} write failed`);
      }
    }
    for (const fn of this.listeners) fn(records);
    if (this.metrics !== null && observeDelay) {
      // One observation per batch: the oldest first emission in it (re-emissions are late data, not delay).
      let oldestEndMs = Number.POSITIVE_INFINITY;
      for (const r of records) if ((r.type === 'node' || r.type === 'site') && r.revision === 0 && r.end < oldestEndMs) oldestEndMs = r.end;
      if (oldestEndMs !== Number.POSITIVE_INFINITY) this.metrics.observeEmitDelaySeconds((nowMs - oldestEndMs) / 1000);
    }
  }

  private applyBackpressure(): void {
    let full = false;
    let allBelowHalf = true;
    for (const s of this.deps.sinks) {
      const h = s.health();
      if (h.buffered >= h.capacity) full = true;
      if (h.buffered >= h.capacity / 2) allBelowHalf = false;
    }
    if (!this.paused && full && this.state === 'running') {
      this.paused = true;
      this.pauses++;
      this.deps.source.pause();
      this.log.warn({ sinks: this.deps.sinks.map((s) => ({ sink: s.name, ...s.health() })) }, 'sink buffer full; pausing the source');
    } else if (this.paused && allBelowHalf) {
      this.paused = false;
      this.deps.source.resume();
      this.log.info('sink buffers below half; resuming the source');
    }
  }

  private updateMetrics(nowMs: number): void {
    if (this.metrics === null) return;
    const stats = this.deps.engine.stats();
    const lateBySite: Record<string, number> = {};
    for (const [site, meters] of Object.entries(stats.lateBySiteMeter)) {
      let n = 0;
      for (const v of Object.values(meters)) n += v;
      lateBySite[site] = n;
    }
    const lag: Record<string, number | null> = {};
    for (const [site, wm] of Object.entries(stats.watermarkMs)) lag[site] = Number.isFinite(wm) ? (nowMs - wm) / 1000 : null;
    const dropped: Record<string, Record<string, number>> = {};
    for (const [site, c] of this.siteCounters) {
      const bySite: Record<string, number> = {};
      for (const o of DROP_OUTCOMES) if (c.outcomes[o] > 0) bySite[o] = c.outcomes[o];
      for (const [k, n] of Object.entries(c.byOutcome())) if (k.startsWith('invalid_')) bySite[k] = n;
      dropped[site] = bySite;
    }
    const src = this.deps.source.health();
    const nats = this.deps.natsStatus;
    this.metrics.update({
      readingsByOutcome: this.counters.byOutcome(),
      droppedBySiteReason: dropped,
      deadLettersByReason: this.deadLetters,
      lateBySite,
      watermarkLagSecondsBySite: lag,
      sinks: this.deps.sinks.map((s) => {
        const h = s.health();
        const stats = s.stats?.();
        return { name: s.name, buffered: h.buffered, failed: h.failed, ...(stats === undefined ? {} : { stats }) };
      }),
      ...(nats !== undefined ? { nats: { connected: nats.state === 'connected', reconnects: nats.reconnects } } : {}),
      ...(nats === undefined && this.deps.connectionState !== undefined ? { natsConnected: this.deps.connectionState() } : {}),
      ...(src.pending === undefined ? {} : { sourcePendingMessages: src.pending }),
      sourcePaused: this.paused,
    });
  }

  /** Logs the 1st, 2nd, 4th, 8th, … occurrence: a bug must not flood the log. */
  private logSampled(err: unknown, msg: string): void {
    const n = this.handlerErrors;
    if (n <= 1 || (n & (n - 1)) === 0) this.log.error({ err: errorText(err), occurrences: n }, msg);
  }
}
