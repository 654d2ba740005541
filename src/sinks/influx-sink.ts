/**
 * InfluxDB v2 writer (`/api/v2/write`) that loses nothing it does not have to.
 *
 * Buffer and retry design (README "Outputs"):
 * - The sink keeps its own bounded FIFO of line-protocol lines. A line leaves the queue only
 *   when the request that carried it succeeded, or when the server rejected that one line
 *   permanently. The client's own retry buffer is not used (`maxRetries: 0`): it silently
 *   drops the oldest lines when `maxBufferLines` overflows, and it cannot report its fill
 *   level. The client is used as the HTTP transport only (auth, gzip, Retry-After parsing,
 *   request timeout), one request at a time, `flushInterval: 0` (the sink owns the timers).
 * - Batches: up to `batchSize` lines; a partial batch waits at most `flushIntervalMs`.
 * - Transient errors (network, request timeout, 408, 429, 5xx) are retried for as long as
 *   the sink runs: exponential backoff from `retry.minDelayMs` doubling to `retry.maxDelayMs`
 *   with equal jitter, or exactly the server's `Retry-After` when it sends one. Past
 *   `retry.maxRetries` consecutive failures the sink logs an error and keeps retrying at the
 *   capped delay: the points stay in the buffer, the buffer fills, and the pipeline pauses
 *   its sources (JetStream keeps the data) rather than dropping anything.
 * - 401, 403, 404 and other 4xx (credentials, org, bucket): health().failed = true, the
 *   points are kept and retried at `retry.maxDelayMs` (an operator can fix the server side).
 * - 400 (bad point), 422 (unprocessable, e.g. outside retention), 413 (too large): the batch
 *   is bisected until the offending lines are isolated; each such line is dropped, counted
 *   by reason and logged with the server's message. The other lines are written (again:
 *   same series and timestamp overwrite, so a server that did a partial write is fine).
 * - `maxBufferedPoints` is the capacity reported by health(): at or above it the pipeline
 *   pauses. Records that still arrive are accepted up to twice the capacity (the output of
 *   batches already in flight through the core); beyond that they are dropped, counted
 *   as `buffer_full` and logged.
 * - `write()` only maps records to lines and appends them: it never waits for the network,
 *   so an InfluxDB outage cannot stall `/metrics`, NATS results or alerts.
 * - `close()` sends everything and waits; each remaining batch gets at most
 *   `retry.maxRetries` more attempts, and the whole close at most `closeTimeoutMs`. What is
 *   left then is dropped as `shutdown`, counted and logged.
 */
import { readFileSync } from 'node:fs';
import { HttpError, InfluxDB, RequestTimedOutError, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { recordToLine, type InfluxPrecision } from '../codec/points.js';
import { resolveSecret, type InfluxSinkConfig, type SecretEnv, type SecretFileReader } from '../config/index.js';
import type { OutputRecord } from '../domain/index.js';
import type { Sink, SinkHealth } from './types.js';

export type InfluxDropReason =
  /** 400: the server rejected the line (bad point). */
  | 'bad_point'
  /** 422: the server cannot store it (InfluxDB: outside the bucket's retention). */
  | 'unprocessable'
  /** 413 for a single line. */
  | 'too_large'
  /** The record maps to a point without fields (every value null or non-finite). */
  | 'unmappable'
  /** Written while the buffer held twice its capacity. */
  | 'buffer_full'
  /** Still undelivered when close() gave up, or written after close(). */
  | 'shutdown';

export const INFLUX_DROP_REASONS: readonly InfluxDropReason[] = ['bad_point', 'unprocessable', 'too_large', 'unmappable', 'buffer_full', 'shutdown'];

export interface InfluxSinkError {
  message: string;
  /** HTTP status, when the server answered. */
  status?: number;
  atMs: number;
}

/** Counters for the metrics layer (monotonic except buffered, inFlight, consecutiveFailures, last*). */
export interface InfluxSinkStats {
  pointsWritten: number;
  batchesWritten: number;
  /** Failed write requests that were (or will be) retried. */
  retries: number;
  droppedByReason: Record<InfluxDropReason, number>;
  buffered: number;
  capacity: number;
  /** Lines in the request now on the wire (part of buffered). */
  inFlight: number;
  consecutiveFailures: number;
  lastError: InfluxSinkError | null;
  /** Duration of the last successful write request. */
  lastWriteLatencyMs: number | null;
  /** Sum and count of successful write request durations (a mean, or a rate in Prometheus). */
  writeLatencyMsSum: number;
  writeLatencyCount: number;
  // The SinkStats names (src/telemetry/sink-stats.ts) for the metrics layer:
  /** = pointsWritten */
  written: number;
  /** = batchesWritten */
  writes: number;
  /** Failed write requests (each retried, or bisected when the server rejected points). */
  failed: number;
  /** Failed write requests by reason: timeout, unreachable, http_<status>. */
  failedByReason: Record<string, number>;
  /** = lastWriteLatencyMs / 1000 */
  lastWriteSeconds: number | null;
}

/** The reason label of a failed write request. */
function failureReason(err: unknown): string {
  if (err instanceof HttpError) return `http_${err.statusCode}`;
  if (err instanceof RequestTimedOutError) return 'timeout';
  return 'unreachable';
}

export interface InfluxSinkDeps {
  log: Logger;
  /** For the token's secret forms; defaults to process.env and readFileSync. */
  env?: SecretEnv;
  readFile?: SecretFileReader;
  /** Socket idle timeout of a write request; a hung server is retried after it. Default 10s. */
  requestTimeoutMs?: number;
  /** Longest close() waits for delivery before dropping the rest as `shutdown`. Default 30s. */
  closeTimeoutMs?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** Called after each successful write request (for a latency histogram). */
  onWrite?: (latencyMs: number, points: number) => void;
  /** Replaces the client's write API (unit tests). */
  writeApi?: InfluxWriteTransport;
}

/** The part of the client's WriteApi the sink uses: hand over lines, send them, dispose. */
export type InfluxWriteTransport = Pick<WriteApi, 'writeRecords' | 'flush' | 'dispose'>;

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** Accept up to this multiple of the capacity before dropping as buffer_full. */
const HARD_LIMIT_FACTOR = 2;
const LOGGED_LINE_CHARS = 300;

type Failure =
  | { kind: 'retry'; retryAfterMs: number }
  | { kind: 'config' }
  | { kind: 'reject'; reason: 'bad_point' | 'unprocessable' | 'too_large' };

function classify(err: unknown): Failure {
  if (err instanceof HttpError) {
    const status = err.statusCode;
    const retryAfterMs = Math.max(0, err.retryAfter()) * 1000;
    if (status === 400) return { kind: 'reject', reason: 'bad_point' };
    if (status === 422) return { kind: 'reject', reason: 'unprocessable' };
    if (status === 413) return { kind: 'reject', reason: 'too_large' };
    if (status === 408 || status === 425 || status === 429 || status >= 500) return { kind: 'retry', retryAfterMs };
    if (status >= 400) return { kind: 'config' };
    return { kind: 'retry', retryAfterMs };
  }
  return { kind: 'retry', retryAfterMs: 0 };
}

function errorInfo(err: unknown, atMs: number): InfluxSinkError {
  const message = err instanceof Error ? err.message : String(err);
  return err instanceof HttpError ? { message, status: err.statusCode, atMs } : { message, atMs };
}

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
    this.writeApi = deps.writeApi ?? this.clientWriteApi(cfg, deps);
    this.stats_ = {
      pointsWritten: 0,
      batchesWritten: 0,
      retries: 0,
      droppedByReason: { bad_point: 0, unprocessable: 0, too_large: 0, unmappable: 0, buffer_full: 0, shutdown: 0 },
      buffered: 0,
      capacity: cfg.maxBufferedPoints,
      inFlight: 0,
      consecutiveFailures: 0,
      lastError: null,
      lastWriteLatencyMs: null,
      writeLatencyMsSum: 0,
      writeLatencyCount: 0,
      written: 0,
      writes: 0,
      failed: 0,
      failedByReason: {},
      lastWriteSeconds: null,
    };
    this.log.info({ url: cfg.url, org: cfg.org, bucket: cfg.bucket, precision: cfg.precision, batchSize: cfg.batchSize, maxBufferedPoints: cfg.maxBufferedPoints }, 'influx sink ready');
  }

  private clientWriteApi(cfg: InfluxSinkConfig, deps: InfluxSinkDeps): WriteApi {
    const token = cfg.token === undefined ? undefined : resolveSecret(cfg.token, deps.env ?? process.env, deps.readFile ?? ((p) => readFileSync(p, 'utf8')));
    const influx = new InfluxDB({
      url: cfg.url,
      ...(token !== undefined ? { token } : {}),
      timeout: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
    return influx.getWriteApi(cfg.org, cfg.bucket, cfg.precision, {
      // One request per flush() with exactly the lines handed over: never an automatic send.
      batchSize: cfg.batchSize + 1,
      maxBatchBytes: Number.POSITIVE_INFINITY,
      flushInterval: 0,
      // The client's retry buffer stays unused; failures come back to this sink.
      maxRetries: 0,
      maxRetryTime: Number.MAX_SAFE_INTEGER,
      maxBufferLines: cfg.batchSize + 1,
      writeFailed: (error: Error) => Promise.reject(error),
    });
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
    const delayMs = failure.kind === 'config' ? this.cfg.retry.maxDelayMs : failure.retryAfterMs > 0 ? failure.retryAfterMs : this.backoffMs(this.attempt);
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

  /** Exponential backoff with equal jitter: half the capped delay fixed, half random. */
  private backoffMs(attempt: number): number {
    const { minDelayMs, maxDelayMs } = this.cfg.retry;
    const capped = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt - 1, 52));
    return Math.round(capped / 2 + this.random() * (capped / 2));
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
