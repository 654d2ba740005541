/** The InfluxDB sink: the server check, its bounded queue of lines, one request at a time, retries, bisection and close. */
import type { Logger } from 'pino';
import { recordToLine, type InfluxPrecision } from '../../codec/points.js';
import type { InfluxSinkConfig } from '../../config/index.js';
import type { OutputRecord } from '../../domain/index.js';
import { errorText } from '../../telemetry/index.js';
import type { Sink, SinkCloseOptions, SinkHealth } from '../types.js';
import { clientTransport, type InfluxSinkDeps, type InfluxTransport, type InfluxWriteTransport } from './deps.js';
import { backoffMs, classify, errorInfo, failureReason } from './retry.js';
import { hasV2WriteApi, InfluxServerUnsupportedError } from './server-check.js';
import { emptyInfluxSinkStats, type InfluxDropReason, type InfluxSinkError, type InfluxSinkStats } from './stats.js';

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** Accept up to this multiple of the capacity before dropping as buffer_full. */
const HARD_LIMIT_FACTOR = 2;
const LOGGED_LINE_CHARS = 300;

/** True when `promise` settled within `ms` (it never rejects here). */
async function settledWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

interface FlushWaiter {
  target: number;
  resolve: () => void;
}

export class InfluxSink implements Sink {
  readonly name = 'influx';
  private readonly log: Logger;
  private readonly transport: InfluxTransport;
  private readonly writeApi: InfluxWriteTransport;
  private readonly precision: InfluxPrecision;
  private readonly random: () => number;
  private readonly closeTimeoutMs: number;

  /** Queue of lines; the live part is lines[head..]. */
  private lines: string[] = [];
  private head = 0;
  /** Lines ever appended / removed (written or dropped): flush() waits on these. */
  private appended = 0;
  private settled = 0;
  private readonly waiters: FlushWaiter[] = [];

  private inFlight = 0;
  /** Bumped when close() abandons a request, so its late answer is ignored. */
  private generation = 0;
  private sendScheduled = false;
  private intervalTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  /** Lines at the head that were in a rejected batch, and the bisected batch size for them. */
  private suspect = 0;
  private splitLimit: number;
  private attempt = 0;
  private closeAttempts = 0;
  /** The server answered /ping with a version that takes v2 writes (or none): writes may go. */
  private serverOk = false;
  private checking: Promise<void> | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private checkAttempt = 0;
  /** The server answered with a version that has no /api/v2/write. */
  private unsupported: InfluxServerUnsupportedError | null = null;
  /** One line (problem and fix) while the sink fails permanently: TLS, 401/403/404, unsupported server. */
  private permanent: string | null = null;
  private closing = false;
  private closed = false;

  private readonly stats_: InfluxSinkStats;

  constructor(
    private readonly cfg: InfluxSinkConfig,
    private readonly deps: InfluxSinkDeps,
  ) {
    this.log = deps.log.child({ sink: 'influx' });
    this.precision = cfg.precision;
    this.random = deps.random ?? Math.random;
    this.closeTimeoutMs = deps.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.splitLimit = cfg.batchSize;
    this.transport = clientTransport(cfg, deps);
    this.writeApi = this.transport.writeApi;
    this.stats_ = emptyInfluxSinkStats(cfg.maxBufferedPoints);
    this.log.info({ url: cfg.url, org: cfg.org, bucket: cfg.bucket, precision: cfg.precision, batchSize: cfg.batchSize, maxBufferedPoints: cfg.maxBufferedPoints }, 'influx sink ready');
  }

  private get queued(): number {
    return this.lines.length - this.head;
  }

  /**
   * Checks the server once (`GET /ping`). Rejects with InfluxServerUnsupportedError when it
   * answers with a version that has no `/api/v2/write`. When it cannot be reached the sink
   * is not ready, holds what is written and checks again with backoff; start resolves.
   */
  async start(): Promise<void> {
    await this.check();
    if (this.unsupported !== null) throw this.unsupported;
  }

  write(records: readonly OutputRecord[]): void {
    if (records.length === 0) return;
    if (this.closing) {
      this.drop('shutdown', records.length, 'written after close');
      return;
    }
    const hardLimit = this.cfg.maxBufferedPoints * HARD_LIMIT_FACTOR;
    let unmappable = 0;
    let full = 0;
    for (const record of records) {
      const line = recordToLine(record, this.precision);
      if (line === null) unmappable++;
      else if (this.queued >= hardLimit) full++;
      else {
        this.lines.push(line);
        this.appended++;
      }
    }
    if (unmappable > 0) this.drop('unmappable', unmappable, 'record without any field value');
    if (full > 0) this.drop('buffer_full', full, `buffer holds ${this.queued} points (capacity ${this.cfg.maxBufferedPoints}); the pipeline did not pause`);
    this.schedule();
  }

  flush(): Promise<void> {
    if (this.settled >= this.appended) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.waiters.push({ target: this.appended, resolve });
      this.schedule();
    });
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
    if (this.checking !== null) await settledWithin(this.checking, leftMs());
    const cannotWrite = this.permanent ?? (this.serverOk ? null : `InfluxDB at ${this.cfg.url} not reached since start`);
    if (cannotWrite !== null) this.abandon(`cannot write at close: ${cannotWrite}`);
    else if (!(await settledWithin(this.flush(), leftMs()))) this.abandon(`not delivered by the close deadline (${Math.round(opts.timeoutMs ?? this.closeTimeoutMs)} ms)`);
    this.clearTimers();
    this.closed = true;
    this.transport.destroy();
  }

  health(): SinkHealth {
    const h: SinkHealth = { buffered: this.queued, capacity: this.cfg.maxBufferedPoints, failed: this.permanent !== null };
    const last = this.stats_.lastError;
    if (this.permanent !== null) {
      h.detail = this.permanent;
    } else if (!this.serverOk) {
      h.ready = false;
      h.detail = `InfluxDB at ${this.cfg.url} not reached yet${last === null ? '' : `: ${last.message}`}`;
    } else if (this.stats_.consecutiveFailures > 0 && last !== null) {
      h.detail = `${this.stats_.consecutiveFailures} failed attempts; last: ${last.status !== undefined ? `${last.status} ` : ''}${last.message}`;
    }
    return h;
  }

  stats(): InfluxSinkStats {
    const s = this.stats_;
    return {
      ...s,
      droppedByReason: { ...s.droppedByReason },
      failedByReason: { ...s.failedByReason },
      buffered: this.queued,
      inFlight: this.inFlight,
      written: s.pointsWritten,
      writes: s.batchesWritten,
      lastWriteSeconds: s.lastWriteLatencyMs === null ? null : s.lastWriteLatencyMs / 1000,
    };
  }

  // ── the server check ──

  /** Probes the server now (unless it already answered); resolves when this probe is done. */
  private check(): Promise<void> {
    if (this.serverOk || this.closed) return Promise.resolve();
    if (this.checking !== null) return this.checking;
    if (this.checkTimer !== null) clearTimeout(this.checkTimer);
    this.checkTimer = null;
    this.checking = this.probe().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async probe(): Promise<void> {
    const generation = this.generation;
    let delayMs: number;
    try {
      const answer = await this.transport.ping();
      if (this.closed || generation !== this.generation) return;
      if (answer.version === null || hasV2WriteApi(answer.version)) {
        this.serverOk = true;
        this.unsupported = null;
        this.permanent = null;
        this.checkAttempt = 0;
        this.log.info({ status: answer.status, version: answer.version, build: answer.build }, 'influx server answered; writing');
        this.schedule();
        return;
      }
      const err = new InfluxServerUnsupportedError(this.cfg.url, answer.version);
      if (this.unsupported === null) this.log.error({ version: answer.version, build: answer.build }, err.message);
      this.unsupported = err;
      this.permanent = err.message;
      this.countFailure('unsupported_version', { message: err.message, atMs: Date.now() });
      delayMs = this.cfg.retry.maxDelayMs;
    } catch (err: unknown) {
      if (this.closed || generation !== this.generation) return;
      const failure = classify(err);
      this.countFailure(failureReason(err), errorInfo(err, Date.now()));
      this.checkAttempt++;
      if (failure.kind === 'permanent') {
        if (this.permanent !== failure.reason) this.log.error({ error: errorText(err) }, `${failure.reason}; holding points and checking again`);
        this.permanent = failure.reason;
        delayMs = this.cfg.retry.maxDelayMs;
      } else {
        delayMs = backoffMs(this.checkAttempt, this.cfg.retry, this.random);
        const fields = { url: this.cfg.url, error: errorText(err), attempt: this.checkAttempt, delayMs };
        if (this.checkAttempt === 1) this.log.warn(fields, 'influx server not reachable; not ready, holding points and trying again');
        else this.log.debug(fields, 'influx server still not reachable');
      }
    }
    this.checkTimer = setTimeout(() => {
      this.checkTimer = null;
      void this.check();
    }, delayMs);
  }

  private countFailure(reasonLabel: string, info: InfluxSinkError): void {
    this.stats_.lastError = info;
    this.stats_.failed++;
    this.stats_.failedByReason[reasonLabel] = (this.stats_.failedByReason[reasonLabel] ?? 0) + 1;
  }

  // ── sending ──

  private schedule(): void {
    if (!this.serverOk) {
      if (!this.closed && this.checking === null && this.checkTimer === null) void this.check();
      return;
    }
    if (this.closed || this.inFlight > 0 || this.backoffTimer !== null || this.sendScheduled) return;
    const queued = this.queued;
    if (queued === 0) return;
    if (queued >= this.batchLimit() || this.waiters.length > 0 || this.closing) {
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

  private batchLimit(): number {
    return this.suspect > 0 ? Math.min(this.suspect, this.splitLimit) : this.cfg.batchSize;
  }

  private send(): void {
    if (this.closed || !this.serverOk || this.inFlight > 0 || this.backoffTimer !== null) return;
    const count = Math.min(this.queued, this.batchLimit());
    if (count === 0) return;
    const batch = this.lines.slice(this.head, this.head + count);
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
    if (this.suspect > 0) {
      // Past a bad point: grow the bisected batches back.
      this.suspect = Math.max(0, this.suspect - count);
      this.splitLimit = this.suspect === 0 ? this.cfg.batchSize : Math.min(this.cfg.batchSize, this.splitLimit * 2);
    }
    this.removeHead(count);
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
        // Bisect: resend the first half now; the rest follows in halves too.
        this.suspect = Math.max(this.suspect, count);
        this.splitLimit = Math.ceil(count / 2);
        this.log.warn({ status: info.status, reason: failure.reason, points: count }, 'influx rejected a batch; bisecting to isolate the bad points');
      } else {
        this.stats_.droppedByReason[failure.reason]++;
        this.log.error(
          { status: info.status, reason: failure.reason, error: info.message, line: (batch[0] ?? '').slice(0, LOGGED_LINE_CHARS) },
          'influx rejected a point; dropped',
        );
        if (this.suspect > 0) this.suspect--;
        if (this.suspect === 0) this.splitLimit = this.cfg.batchSize;
        this.removeHead(1);
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

  private removeHead(count: number): void {
    this.head += count;
    this.settled += count;
    if (this.head === this.lines.length) {
      this.lines = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
    this.resolveWaiters();
  }

  private resolveWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w !== undefined && this.settled >= w.target) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Drop everything still queued (close gave up). */
  private abandon(why: string): void {
    const left = this.queued;
    this.generation++;
    this.inFlight = 0;
    this.clearTimers();
    if (left > 0) this.drop('shutdown', left, why);
    this.removeHead(left);
  }

  private clearTimers(): void {
    if (this.intervalTimer !== null) clearTimeout(this.intervalTimer);
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    if (this.checkTimer !== null) clearTimeout(this.checkTimer);
    this.intervalTimer = null;
    this.backoffTimer = null;
    this.checkTimer = null;
  }

  private drop(reason: InfluxDropReason, count: number, detail: string): void {
    this.stats_.droppedByReason[reason] += count;
    this.log.error({ reason, points: count, detail }, 'influx points dropped');
  }
}
