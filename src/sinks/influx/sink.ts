/** The InfluxDB sink: its bounded queue of lines, one request at a time, retries, bisection and close. */
import type { Logger } from 'pino';
import { recordToLine, type InfluxPrecision } from '../../codec/points.js';
import type { InfluxSinkConfig } from '../../config/index.js';
import type { OutputRecord } from '../../domain/index.js';
import type { Sink, SinkHealth } from '../types.js';
import { clientWriteApi, type InfluxSinkDeps, type InfluxWriteTransport } from './deps.js';
import { backoffMs, classify, errorInfo, failureReason } from './retry.js';
import { emptyInfluxSinkStats, type InfluxDropReason, type InfluxSinkStats } from './stats.js';

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** Accept up to this multiple of the capacity before dropping as buffer_full. */
const HARD_LIMIT_FACTOR = 2;
const LOGGED_LINE_CHARS = 300;

interface FlushWaiter {
  target: number;
  resolve: () => void;
}

export class InfluxSink implements Sink {
  readonly name = 'influx';
  private readonly log: Logger;
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
  private configFailure = false;
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
    this.writeApi = deps.writeApi ?? clientWriteApi(cfg, deps);
    this.stats_ = emptyInfluxSinkStats(cfg.maxBufferedPoints);
    this.log.info({ url: cfg.url, org: cfg.org, bucket: cfg.bucket, precision: cfg.precision, batchSize: cfg.batchSize, maxBufferedPoints: cfg.maxBufferedPoints }, 'influx sink ready');
  }

  private get queued(): number {
    return this.lines.length - this.head;
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      deadline = setTimeout(() => resolve(true), this.closeTimeoutMs);
    });
    const done = await Promise.race([this.flush().then(() => false), timedOut]);
    clearTimeout(deadline);
    if (done) this.abandon(`close() timed out after ${this.closeTimeoutMs} ms`);
    this.clearTimers();
    this.closed = true;
    this.writeApi.dispose();
  }

  health(): SinkHealth {
    const h: SinkHealth = { buffered: this.queued, capacity: this.cfg.maxBufferedPoints, failed: this.configFailure };
    const last = this.stats_.lastError;
    if (this.stats_.consecutiveFailures > 0 && last !== null) {
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

  // ── sending ──

  private schedule(): void {
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
    if (this.closed || this.inFlight > 0 || this.backoffTimer !== null) return;
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
    this.configFailure = false;
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
    this.stats_.lastError = info;
    const reasonLabel = failureReason(err);
    this.stats_.failed++;
    this.stats_.failedByReason[reasonLabel] = (this.stats_.failedByReason[reasonLabel] ?? 0) + 1;
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
    if (failure.kind === 'config') this.configFailure = true;
    const fields = { status: info.status, error: info.message, attempt: this.attempt, buffered: this.queued };
    if (this.closing && this.closeAttempts > this.cfg.retry.maxRetries) {
      this.log.error(fields, 'influx write still failing at close; giving up');
      this.abandon(`still failing after ${this.closeAttempts} attempts at close`);
      return;
    }
    const delayMs = failure.kind === 'config' ? this.cfg.retry.maxDelayMs : failure.retryAfterMs > 0 ? failure.retryAfterMs : backoffMs(this.attempt, this.cfg.retry, this.random);
    if (failure.kind === 'config') this.log.error({ ...fields, delayMs }, 'influx refused the write (credentials, org or bucket?); holding points and retrying');
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
    this.intervalTimer = null;
    this.backoffTimer = null;
  }

  private drop(reason: InfluxDropReason, count: number, detail: string): void {
    this.stats_.droppedByReason[reason] += count;
    this.log.error({ reason, points: count, detail }, 'influx points dropped');
  }
}
