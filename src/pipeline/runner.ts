/**
 * The running pipeline: source → ingest (core) → router → sinks, advanced by its own tick
 * timer (sources, sinks and the CLI keep timers of their own: reconnects, retries with
 * backoff, file rotation, pacing).
 *
 * Lifecycle: `new Pipeline(deps)` → `start()` → (ticks) → `stop()`. A stopped pipeline is
 * not restarted.
 *
 * - Batches: each message is decoded and recorded with `ingestPayload` on the injected
 *   processing clock; rejected messages go to the dead-letter publisher; `ack` is called
 *   once the message's readings are recorded; the stream position is remembered (last
 *   sequence per stream, for checkpoints).
 * - Ticks (every `tickMs`, and after a batch when a tick is due): `engine.advance(clock(),
 *   caughtUp)`, results through the router to every sink and the alert rules, backpressure,
 *   health metrics from the plain counters. Each batch goes to the sinks with its emission
 *   time on the monotonic clock (`performance.now()`); each sink observes its delivery delay
 *   (headroom_sink_delivery_delay_seconds). `caughtUp` is the source's word that nothing
 *   waits upstream (`health().caughtUp`, else `connected`): while it is false, idle sites do
 *   not advance on the processing clock.
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
 * unexpected exception (handling a message, an ack, a sink's write) is counted and logged,
 * sampled per kind.
 */
import type { OutputRecord } from '../domain/index.js';
import type { SourceMessage } from '../sources/index.js';
import { parseTelemetrySubject } from '../sources/index.js';
import type { Logger } from '../telemetry/index.js';
import { PipelineMetrics, errorText, type PipelineHealthSample } from '../telemetry/index.js';
import { healthSample } from './health-sample.js';
import { ingestPayload, type IngestCounters, type IngestOptions } from './ingest.js';
import { StopTimeoutError, type PipelineCounts, type PipelineDeps, type PipelineState, type PipelineStatus, type StopReport } from './pipeline-types.js';
import { Router } from './router.js';
import { SampledErrorLog } from './sampled-log.js';
import { SiteIngestCounters } from './site-counters.js';
import { closeSinksWithin, shutdownDrops, stopSourceWithin } from './stop-budget.js';

export { NO_COUNTS, StopTimeoutError, type PipelineConfig, type PipelineCounts, type PipelineDeps, type PipelineState, type PipelineStatus, type StopReport } from './pipeline-types.js';

const DEFAULT_TICK_MS = 250;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

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
  private readonly router: Router;
  private state: PipelineState = 'new';
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private pauses = 0;
  private lastTickMs = Number.NEGATIVE_INFINITY;
  private stopping: Promise<StopReport> | null = null;
  private readonly listeners: ((records: readonly OutputRecord[]) => void)[] = [];
  /** Ingest counters per subject site; `counters` sums them. */
  private readonly siteCounters: SiteIngestCounters;
  /** Unexpected exceptions while handling a message or ticking (`status().handlerErrors`). */
  private readonly handlerErrors: SampledErrorLog;
  private readonly ackErrors: SampledErrorLog;
  /** Per sink: a sink whose write throws on every batch must not hide another's first failure. */
  private readonly sinkWriteErrors = new Map<string, SampledErrorLog>();

  constructor(private readonly deps: PipelineDeps) {
    this.log = deps.logger.child({ component: 'pipeline' });
    this.metrics = deps.registry === undefined ? null : new PipelineMetrics(deps.registry);
    this.metrics?.observeDeliveries(deps.sinks);
    this.tickMs = deps.tickMs ?? DEFAULT_TICK_MS;
    this.stopTimeoutMs = deps.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.ingestOpts = { maxMessageBytes: deps.config.maxMessageBytes, lineProtocol: (deps.config.lineProtocol ?? []).map((input) => ({ ...input, subjectTokens: input.subjects.split('.') })) };
    this.siteCounters = new SiteIngestCounters(deps.engine.topology);
    this.handlerErrors = new SampledErrorLog(this.log);
    this.ackErrors = new SampledErrorLog(this.log);
    this.router = new Router({
      sinks: deps.sinks,
      ...(deps.alerts === undefined ? {} : { alerts: deps.alerts }),
      watermarksMs: () => deps.engine.watermarksMs(),
      // Sinks never throw for I/O; a throw is a bug in the sink: keep the others going.
      onSinkError: (sink, err) => this.sinkWriteErrorsOf(sink.name).record(err, `sink ${sink.name} write failed`),
      onWritten: (records, nowMs, observeDelay) => this.written(records, nowMs, observeDelay),
      onAlertsEvaluated: (alerts) => this.metrics?.setAlerts(alerts.activeAlerts()),
    });
  }

  /** Ingest counters since start, all sites (a fresh sum on each read). */
  get counters(): IngestCounters {
    return this.siteCounters.total();
  }

  status(): PipelineStatus {
    return { state: this.state, sourcePaused: this.paused, pauses: this.pauses, recordsOut: this.router.counts.records, handlerErrors: this.handlerErrors.count };
  }

  /** Readings, window records and dead letters since start (the totals `run` prints). */
  counts(): PipelineCounts {
    return { readings: this.counters.readings, recordsOut: this.router.counts.records, deadLetters: this.deadLetterCount };
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
      // The emission time (monotonic) is read once advance has returned: arguments run left to right.
      this.router.route(this.deps.engine.advance(nowMs, src.caughtUp ?? src.connected), nowMs, true, performance.now());
      this.applyBackpressure();
      this.updateMetrics(nowMs);
    } catch (err: unknown) {
      // The core never throws for data; a throw here is a bug: log it, keep serving.
      this.handlerErrors.record(err, 'tick failed');
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
      await stopSourceWithin(this.deps.source, budgetMs, this.log);
    }
    const nowMs = this.deps.clock();
    if (this.deps.openWindowsOnStop === 'keep') {
      // Hand-over: only what event time closes (no idle advance on this worker's clock, which
      // the next owner would not repeat); the rest stays in the engine for the checkpoint.
      this.router.route(this.deps.engine.advance(nowMs, false), nowMs, true, performance.now());
    } else {
      this.router.route(this.deps.engine.advance(nowMs), nowMs, true, performance.now());
      // Drained windows are cut short, not late: no emit delay for them (a delivery delay still).
      this.router.route(this.deps.engine.drain(), nowMs, false, performance.now());
      this.router.flushAlerts(nowMs, performance.now());
    }
    this.updateMetrics(nowMs);

    const overran = await closeSinksWithin(this.deps.sinks, budgetMs, left, this.log);
    const { droppedAtShutdown, droppedRecords } = shutdownDrops(this.deps.sinks);
    this.updateMetrics(this.deps.clock());
    this.state = 'stopped';
    const fields = { readings: this.counters.readings, records: this.router.counts.records, deadLetters: this.deadLetterCount, droppedAtShutdown, stopMs: Math.round(budgetMs - left()), budgetMs };
    if (droppedRecords > 0 || overran.length > 0) this.log.error({ ...fields, overran }, `pipeline stopped; ${droppedRecords} records dropped at shutdown`);
    else this.log.info(fields, 'pipeline stopped');
    return { droppedAtShutdown, droppedRecords, overran };
  }

  /** The source's handler. Never throws. */
  private handleBatch(batch: readonly SourceMessage[]): void {
    const prefix = this.deps.config.subjectPrefix;
    const engine = this.deps.engine;
    const nowMs = this.deps.clock();
    // A batch mostly repeats one subject (one gateway): parsed once per run of equal subjects.
    let lastSubject: string | null = null;
    let lastSite: string | undefined;
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      try {
        if (msg.subject !== lastSubject) {
          lastSite = parseTelemetrySubject(msg.subject, prefix)?.site;
          lastSubject = msg.subject;
        }
        const site = lastSite;
        const report = ingestPayload(engine, msg.payload, site, nowMs, this.ingestOpts, this.siteCounters.countersFor(site), msg.subject);
        if (report.rejectReason !== null) this.deadLetter(site ?? '', report.rejectReason, msg.payload, report.rejectDetail ?? undefined);
      } catch (err: unknown) {
        this.handlerErrors.record(err, 'message handling failed; dead-lettered');
        this.deadLetter('', 'internal', msg.payload, errorText(err));
      }
      // Acked after recording; a message that could not be recorded is acked too: it was
      // dead-lettered, and redelivering it would fail the same way.
      if (msg.ack !== undefined) {
        try {
          msg.ack();
        } catch (err: unknown) {
          this.ackErrors.record(err, 'ack failed');
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

  private sinkWriteErrorsOf(sink: string): SampledErrorLog {
    let errors = this.sinkWriteErrors.get(sink);
    if (errors === undefined) {
      errors = new SampledErrorLog(this.log);
      this.sinkWriteErrors.set(sink, errors);
    }
    return errors;
  }

  /** After the router wrote a batch: listeners, and one emit-delay observation per batch. */
  private written(records: readonly OutputRecord[], nowMs: number, observeDelay: boolean): void {
    for (const fn of this.listeners) fn(records);
    if (this.metrics !== null && observeDelay) {
      // The oldest first emission in the batch (re-emissions are late data, not delay).
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

  /** The pipeline's health at `nowMs` (what the metrics export; a worker group sums its partitions'). */
  healthSample(nowMs: number): PipelineHealthSample {
    return healthSample(this.deps, this.siteCounters, this.deadLetters, this.paused, nowMs);
  }

  private updateMetrics(nowMs: number): void {
    if (this.metrics !== null) this.metrics.update(this.healthSample(nowMs));
  }
}
