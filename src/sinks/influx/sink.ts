/** The InfluxDB sink: one request at a time from its queue of lines, retries, bisection and close. */
import type { Logger } from 'pino';
import { recordToLine, type InfluxPrecision } from '../../codec/points.js';
import type { InfluxSinkConfig } from '../../config/index.js';
import type { OutputRecord } from '../../domain/index.js';
import { observeDelivery, type DeliveryObserver } from '../delivery.js';
import type { Sink, SinkCloseOptions, SinkHealth } from '../types.js';
import { clientTransport, type InfluxSinkDeps, type InfluxTransport, type InfluxWriteTransport } from './deps.js';
import { Bisection } from './bisection.js';
import { LineQueue, settledWithin } from './line-queue.js';
import { backoffMs, classify, errorInfo, failureReason } from './retry.js';
import { ServerProbe } from './server-probe.js';
import { emptyInfluxSinkStats, influxStatsSnapshot, type InfluxDropReason, type InfluxSinkError, type InfluxSinkStats } from './stats.js';

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** Accept up to this multiple of the capacity before dropping as buffer_full. */
const HARD_LIMIT_FACTOR = 2;
const LOGGED_LINE_CHARS = 300;

export class InfluxSink implements Sink {
  readonly name = 'influx';
  private readonly log: Logger;
  private readonly transport: InfluxTransport;
  private readonly writeApi: InfluxWriteTransport;
  private readonly precision: InfluxPrecision;
  private readonly random: () => number;
  private readonly closeTimeoutMs: number;

  private readonly queue = new LineQueue();
  private readonly server: ServerProbe;

  private inFlight = 0;
  /** Bumped when close() abandons a request, so its late answer is ignored. */
  private generation = 0;
  private sendScheduled = false;
  private intervalTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private readonly bisection: Bisection;
  private attempt = 0;
  private closeAttempts = 0;
  /** One line (problem and fix) while the sink fails permanently: TLS, 401/403/404, unsupported server. */
  private permanent: string | null = null;
  private closing = false;
  private closed = false;

  private readonly stats_: InfluxSinkStats;
  onDelivered?: DeliveryObserver | undefined;

  constructor(
    private readonly cfg: InfluxSinkConfig,
    private readonly deps: InfluxSinkDeps,
  ) {
    this.log = deps.log.child({ sink: 'influx' });
    this.precision = cfg.precision;
    this.random = deps.random ?? Math.random;
    this.closeTimeoutMs = deps.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.bisection = new Bisection(cfg.batchSize);
    this.transport = clientTransport(cfg, deps);
    this.writeApi = this.transport.writeApi;
    this.stats_ = emptyInfluxSinkStats(cfg.maxBufferedPoints);
    this.server = new ServerProbe(cfg, this.transport, this.log, this.random, {
      ready: () => {
        this.permanent = null;
        this.schedule();
      },
      countFailure: (reasonLabel, info) => this.countFailure(reasonLabel, info),
      failPermanently: (reason) => {
        const before = this.permanent;
        this.permanent = reason;
        return before;
      },
    });
    this.log.info({ url: cfg.url, org: cfg.org, bucket: cfg.bucket, precision: cfg.precision, batchSize: cfg.batchSize, maxBufferedPoints: cfg.maxBufferedPoints }, 'influx sink ready');
  }

  private get queued(): number {
    return this.queue.size;
  }

  /**
   * Checks the server once (`GET /ping`). Rejects with InfluxServerUnsupportedError when it
   * answers with a version that has no `/api/v2/write`. When it cannot be reached the sink
   * is not ready, holds what is written and checks again with backoff; start resolves.
   */
  async start(): Promise<void> {
    await this.server.check();
    const unsupported = this.server.unsupported;
    if (unsupported !== null) throw unsupported;
  }

  write(records: readonly OutputRecord[], emittedAtMonoMs?: number): void {
    if (records.length === 0) return;
    if (this.closing) {
      this.drop('shutdown', records.length, 'written after close');
      return;
    }
    const hardLimit = this.cfg.maxBufferedPoints * HARD_LIMIT_FACTOR;
    let unmappable = 0;
    let full = 0;
    this.queue.markEmission(emittedAtMonoMs);
    for (const record of records) {
      const line = recordToLine(record, this.precision);
      if (line === null) unmappable++;
      else if (this.queued >= hardLimit) full++;
      else this.queue.push(line);
    }
    if (unmappable > 0) this.drop('unmappable', unmappable, 'record without any field value');
    if (full > 0) this.drop('buffer_full', full, `buffer holds ${this.queued} points (capacity ${this.cfg.maxBufferedPoints}); the pipeline did not pause`);
    this.schedule();
  }

  flush(): Promise<void> {
    if (this.queue.drained) return Promise.resolve();
    const drained = this.queue.whenDrained();
    this.schedule();
    return drained;
  }

  /**
   * Sends what is buffered within `timeoutMs` (default `closeTimeoutMs`); what is left then
   * is dropped as `shutdown`, counted and logged with the number. A sink that cannot write
   * (permanent failure, or its server never reached) drops at once instead of waiting.
   */
  async close(opts: SinkCloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    const deadlineMs = performance.now() + Math.max(0, opts.timeoutMs ?? this.closeTimeoutMs);
    const leftMs = (): number => Math.max(0, deadlineMs - performance.now());
    // A check on the wire may still find the server: give it the deadline too.
    const checking = this.server.pending;
    if (checking !== null) await settledWithin(checking, leftMs());
    const cannotWrite = this.permanent ?? (this.server.ok ? null : `InfluxDB at ${this.cfg.url} not reached since start`);
    if (cannotWrite !== null) this.abandon(`cannot write at close: ${cannotWrite}`);
    else if (!(await settledWithin(this.flush(), leftMs()))) this.abandon(`not delivered by the close deadline (${Math.round(opts.timeoutMs ?? this.closeTimeoutMs)} ms)`);
    this.clearTimers();
    this.server.close();
    this.closed = true;
    this.transport.destroy();
  }

  health(): SinkHealth {
    const h: SinkHealth = { buffered: this.queued, capacity: this.cfg.maxBufferedPoints, failed: this.permanent !== null };
    const last = this.stats_.lastError;
    if (this.permanent !== null) {
      h.detail = this.permanent;
    } else if (!this.server.ok) {
      h.ready = false;
      h.detail = `InfluxDB at ${this.cfg.url} not reached yet${last === null ? '' : `: ${last.message}`}`;
    } else if (this.stats_.consecutiveFailures > 0 && last !== null) {
      h.detail = `${this.stats_.consecutiveFailures} failed attempts; last: ${last.status !== undefined ? `${last.status} ` : ''}${last.message}`;
    }
    return h;
  }

  stats(): InfluxSinkStats {
    return influxStatsSnapshot(this.stats_, this.queued, this.inFlight);
  }

  private countFailure(reasonLabel: string, info: InfluxSinkError): void {
    this.stats_.lastError = info;
    this.stats_.failed++;
    this.stats_.failedByReason[reasonLabel] = (this.stats_.failedByReason[reasonLabel] ?? 0) + 1;
  }

  // ── sending ──

  private schedule(): void {
    if (!this.server.ok) {
      if (!this.closed && this.server.idle) void this.server.check();
      return;
    }
    if (this.closed || this.inFlight > 0 || this.backoffTimer !== null || this.sendScheduled) return;
    const queued = this.queued;
    if (queued === 0) return;
    if (queued >= this.bisection.batchLimit() || this.queue.awaited || this.closing) {
      if (this.intervalTimer !== null) {
        clearTimeout(this.intervalTimer);
        this.intervalTimer = null;
      }
      this.sendScheduled = true;
      // Off the caller's stack: write() returns before any request work starts.
      setImmediate(() => {
        this.sendScheduled = false;
        this.send();
      });
      return;
    }
    if (this.intervalTimer === null) {
      this.intervalTimer = setTimeout(() => {
        this.intervalTimer = null;
        this.send();
      }, this.cfg.flushIntervalMs);
    }
  }

  private send(): void {
    if (this.closed || !this.server.ok || this.inFlight > 0 || this.backoffTimer !== null) return;
    const count = Math.min(this.queued, this.bisection.batchLimit());
    if (count === 0) return;
    const batch = this.queue.peek(count);
    const generation = this.generation;
    this.inFlight = count;
    const startedMs = performance.now();
    try {
      this.writeApi.writeRecords(batch);
    } catch (err: unknown) {
      // Only after dispose(); close() has already settled the queue.
      this.inFlight = 0;
      this.log.error({ err }, 'influx write api refused the batch');
      return;
    }
    this.writeApi.flush().then(
      () => {
        if (generation === this.generation) this.onSuccess(count, performance.now() - startedMs);
      },
      (err: unknown) => {
        if (generation === this.generation) this.onFailure(count, err, batch);
      },
    );
  }

  private onSuccess(count: number, latencyMs: number): void {
    this.inFlight = 0;
    if (this.stats_.consecutiveFailures > 0) {
      this.log.info({ attempts: this.stats_.consecutiveFailures + 1, buffered: this.queued }, 'influx write recovered');
    }
    this.attempt = 0;
    this.closeAttempts = 0;
    this.stats_.consecutiveFailures = 0;
    this.permanent = null;
    this.stats_.pointsWritten += count;
    this.stats_.batchesWritten++;
    this.stats_.lastWriteLatencyMs = latencyMs;
    this.stats_.writeLatencyMsSum += latencyMs;
    this.stats_.writeLatencyCount++;
    this.bisection.written(count);
    // Delivered: the 2xx of the request; one observation, its oldest emission.
    observeDelivery(this.onDelivered, this.queue.oldestEmissionMonoMs(count));
    this.queue.remove(count);
    this.deps.onWrite?.(latencyMs, count);
    this.schedule();
  }

  private onFailure(count: number, err: unknown, batch: readonly string[]): void {
    this.inFlight = 0;
    const info = errorInfo(err, Date.now());
    this.countFailure(failureReason(err), info);
    const failure = classify(err);
    if (failure.kind === 'reject') {
      if (count > 1) {
        this.bisection.rejected(count);
        this.log.warn({ status: info.status, reason: failure.reason, points: count }, 'influx rejected a batch; bisecting to isolate the bad points');
      } else {
        this.stats_.droppedByReason[failure.reason]++;
        this.log.error(
          { status: info.status, reason: failure.reason, error: info.message, line: (batch[0] ?? '').slice(0, LOGGED_LINE_CHARS) },
          'influx rejected a point; dropped',
        );
        this.bisection.dropped();
        this.queue.remove(1);
      }
      this.schedule();
      return;
    }

    this.attempt++;
    this.stats_.consecutiveFailures++;
    this.stats_.retries++;
    if (this.closing) this.closeAttempts++;
    const fields = { status: info.status, error: info.message, attempt: this.attempt, buffered: this.queued };
    if (failure.kind === 'permanent') {
      const first = this.permanent !== failure.reason;
      this.permanent = failure.reason;
      if (this.closing) {
        this.abandon(`cannot write at close: ${failure.reason}`);
        return;
      }
      if (first) this.log.error({ ...fields, delayMs: this.cfg.retry.maxDelayMs }, `${failure.reason}; holding points and retrying`);
    } else if (this.closing && this.closeAttempts > this.cfg.retry.maxRetries) {
      this.log.error(fields, 'influx write still failing at close; giving up');
      this.abandon(`still failing after ${this.closeAttempts} attempts at close`);
      return;
    }
    const delayMs = failure.kind === 'permanent' ? this.cfg.retry.maxDelayMs : failure.retryAfterMs > 0 ? failure.retryAfterMs : backoffMs(this.attempt, this.cfg.retry, this.random);
    if (failure.kind === 'permanent') this.log.debug({ ...fields, delayMs }, 'influx still refuses the write');
    else if (this.attempt === 1) this.log.warn({ ...fields, delayMs }, 'influx write failed; retrying');
    else if (this.attempt === this.cfg.retry.maxRetries + 1) this.log.error({ ...fields, delayMs }, 'influx write keeps failing; holding points and retrying at the capped delay');
    else this.log.debug({ ...fields, delayMs }, 'influx write failed; retrying');
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      this.send();
      this.schedule();
    }, delayMs);
  }

  /** Drop everything still queued (close gave up). */
  private abandon(why: string): void {
    const left = this.queued;
    this.generation++;
    this.server.cancel();
    this.inFlight = 0;
    this.clearTimers();
    if (left > 0) this.drop('shutdown', left, why);
    this.queue.remove(left);
  }

  private clearTimers(): void {
    if (this.intervalTimer !== null) clearTimeout(this.intervalTimer);
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.intervalTimer = null;
    this.backoffTimer = null;
  }

  private drop(reason: InfluxDropReason, count: number, detail: string): void {
    this.stats_.droppedByReason[reason] += count;
    this.log.error({ reason, points: count, detail }, 'influx points dropped');
  }
}
