/**
 * Window results and alert transitions as JSON on NATS, so other services can react:
 * `<resultsPrefix>.<site>` for meter, node and site windows, `<alertsPrefix>.<site>` for
 * alert transitions. The payload is the output record itself, the same object as one NDJSON
 * line (docs/replay-and-record.md, "Output records").
 *
 * Core NATS, at most once. While the connection is down nats.js would buffer publishes
 * without a bound; this sink stops publishing instead, keeps up to `maxBuffered` messages
 * in its own queue (oldest dropped first past the bound, counted as `buffer_full`: the
 * newest results matter most to a reacting service), and publishes them in order once the
 * connection is back. The connection is shared and owned by the caller: close() does not
 * close it.
 *
 * Every message carries `Nats-Msg-Id` (`outputRecordId`: the window's key and revision, or
 * the alert transition): a JetStream stream capturing the results subjects keeps one copy of
 * a record re-sent within its duplicate window (a worker group's take-over re-emits what was
 * emitted after the last checkpoint).
 *
 * Delivery delay (`onDelivered`): observed when a batch is handed to the connection (at
 * write, or when the disconnected buffer drains). Core NATS has no acknowledgement, so this
 * is the last point the sink can see; the socket write and the server follow.
 */
import { DebugEvents, Events, headers, type MsgHdrs, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { outputRecordId, resultSubject } from '../codec/index.js';
import type { NatsResultsSinkConfig } from '../config/index.js';
import type { OutputRecord } from '../domain/index.js';
import { observeDelivery, type DeliveryObserver } from './delivery.js';
import { recordsJson } from './record-json.js';
import type { Sink, SinkCloseOptions, SinkHealth } from './types.js';
import { errorText } from '../telemetry/index.js';

export type NatsResultsDropReason =
  /** The disconnected buffer was full: the oldest message was dropped. */
  | 'buffer_full'
  /** publish() threw (payload above the server's max_payload, connection closed). */
  | 'publish_error'
  /** Still buffered when close() gave up, or written after close(). */
  | 'shutdown';

export interface NatsResultsSinkStats {
  published: number;
  /** = published (the SinkStats name, src/telemetry/sink-stats.ts). */
  written: number;
  droppedByReason: Record<NatsResultsDropReason, number>;
  buffered: number;
  connected: boolean;
}

export interface NatsResultsSinkDeps {
  nc: NatsConnection;
  log: Logger;
  /** Messages kept while disconnected. Default 10000. */
  maxBuffered?: number;
  /** Longest close() waits for a disconnected buffer to drain. Default 5s. */
  closeTimeoutMs?: number;
}

const DEFAULT_MAX_BUFFERED = 10_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

interface Message {
  subject: string;
  payload: Uint8Array;
  headers: MsgHdrs;
  /** When the pipeline emitted the batch holding it (monotonic ms; NaN: unknown). */
  emittedAtMonoMs: number;
}

/** The header JetStream de-duplicates on. */
const MSG_ID_HEADER = 'Nats-Msg-Id';

export class NatsResultsSink implements Sink {
  readonly name = 'nats-results';
  private readonly nc: NatsConnection;
  private readonly log: Logger;
  private readonly maxBuffered: number;
  private readonly closeTimeoutMs: number;
  private readonly encoder = new TextEncoder();
  private queue: Message[] = [];
  private connected = true;
  private closed = false;
  private drainWaiters: (() => void)[] = [];
  onDelivered?: DeliveryObserver | undefined;
  private readonly counters: { published: number; droppedByReason: Record<NatsResultsDropReason, number> } = {
    published: 0,
    droppedByReason: { buffer_full: 0, publish_error: 0, shutdown: 0 },
  };

  constructor(
    private readonly cfg: NatsResultsSinkConfig,
    deps: NatsResultsSinkDeps,
  ) {
    this.nc = deps.nc;
    this.log = deps.log.child({ sink: 'nats-results' });
    this.maxBuffered = deps.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    this.closeTimeoutMs = deps.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.connected = !this.nc.isClosed();
    void this.followStatus();
  }

  write(records: readonly OutputRecord[], emittedAtMonoMs?: number): void {
    if (records.length === 0) return;
    if (this.closed) {
      this.drop('shutdown', records.length, 'written after close');
      return;
    }
    let full = 0;
    let published = false;
    const json = recordsJson(records);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const h = headers();
      h.set(MSG_ID_HEADER, outputRecordId(record));
      const message = { subject: resultSubject(this.cfg, record), payload: this.encoder.encode(json[i]), headers: h, emittedAtMonoMs: emittedAtMonoMs ?? NaN };
      if (this.connected && this.queue.length === 0) published = this.publish(message) || published;
      else {
        if (this.queue.length >= this.maxBuffered) {
          this.queue.shift();
          full++;
        }
        this.queue.push(message);
      }
    }
    if (full > 0) this.drop('buffer_full', full, `NATS disconnected; buffer of ${this.maxBuffered} full, oldest dropped`);
    if (published) observeDelivery(this.onDelivered, emittedAtMonoMs);
  }

  /** Resolves when the buffer is empty and the server has seen everything published. */
  async flush(): Promise<void> {
    if (this.queue.length > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.connected && !this.nc.isClosed()) {
      try {
        await this.nc.flush();
      } catch (err: unknown) {
        this.log.warn({ err: errorText(err) }, 'NATS flush failed');
      }
    }
  }

  /** Waits for the disconnected buffer to drain, at most `opts.timeoutMs` (default closeTimeoutMs); the rest is dropped as `shutdown`. */
  async close(opts: SinkCloseOptions = {}): Promise<void> {
    if (this.closed) return;
    const timeoutMs = Math.max(0, opts.timeoutMs ?? this.closeTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const gaveUp = await Promise.race([this.flush().then(() => false), timedOut]);
    clearTimeout(timer);
    this.closed = true;
    if (gaveUp && this.queue.length > 0) {
      this.drop('shutdown', this.queue.length, `NATS still disconnected after ${timeoutMs} ms`);
      this.queue = [];
    }
    this.resolveDrained();
  }

  health(): SinkHealth {
    // Results on NATS are for live subscribers: past its bound this sink drops the oldest
    // (counted) rather than pausing the sources, so a NATS outage never stalls /metrics,
    // InfluxDB or alerts. Hence no finite capacity for backpressure.
    const h: SinkHealth = { buffered: this.queue.length, capacity: Number.POSITIVE_INFINITY, failed: false };
    if (!this.connected) h.detail = 'NATS disconnected; buffering';
    return h;
  }

  stats(): NatsResultsSinkStats {
    return {
      published: this.counters.published,
      written: this.counters.published,
      droppedByReason: { ...this.counters.droppedByReason },
      buffered: this.queue.length,
      connected: this.connected,
    };
  }

  /** True when the connection took the message. */
  private publish(message: Message): boolean {
    try {
      this.nc.publish(message.subject, message.payload, { headers: message.headers });
      this.counters.published++;
      return true;
    } catch (err: unknown) {
      this.drop('publish_error', 1, `${message.subject}: ${errorText(err)}`);
      return false;
    }
  }

  private drainQueue(): void {
    // One delivery observation per emitted batch: messages of a batch share their emission time.
    let observedMonoMs = NaN;
    while (this.connected && this.queue.length > 0) {
      const message = this.queue.shift();
      if (message !== undefined && this.publish(message) && message.emittedAtMonoMs !== observedMonoMs) {
        observedMonoMs = message.emittedAtMonoMs;
        observeDelivery(this.onDelivered, observedMonoMs);
      }
    }
    if (this.queue.length === 0) this.resolveDrained();
  }

  private resolveDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private async followStatus(): Promise<void> {
    void this.nc.closed().then(() => {
      this.connected = false;
      // Nothing can be delivered any more: settle flush() callers.
      if (this.queue.length > 0) {
        this.drop('shutdown', this.queue.length, 'NATS connection closed');
        this.queue = [];
      }
      this.resolveDrained();
    });
    for await (const s of this.nc.status()) {
      if (s.type === Events.Disconnect || s.type === DebugEvents.Reconnecting) {
        if (this.connected) this.log.warn('NATS disconnected; buffering results');
        this.connected = false;
      } else if (s.type === Events.Reconnect) {
        this.connected = true;
        this.log.info({ buffered: this.queue.length }, 'NATS reconnected; publishing buffered results');
        this.drainQueue();
      }
    }
  }

  private drop(reason: NatsResultsDropReason, count: number, detail: string): void {
    this.counters.droppedByReason[reason] += count;
    this.log.error({ reason, messages: count, detail }, 'NATS results dropped');
  }
}
