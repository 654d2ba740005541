/**
 * Core NATS source: at-most-once, lowest latency.
 *
 * Subscribes to `<subjectPrefix>.<site>.>` for each configured site, or `<subjectPrefix>.>`.
 * Messages go into one bounded in-memory queue; a single delivery loop hands whatever is
 * queued (up to `maxBatchMessages`) to the handler and awaits it before the next batch.
 *
 * Core NATS cannot hold data back, so:
 * - while paused, arriving messages are dropped and counted in `counters.droppedWhilePaused`
 *   (messages queued before the pause are kept and delivered after `resume()`);
 * - when the handler is slower than the arrival rate and the queue is full, arriving
 *   messages are dropped and counted in `counters.droppedQueueFull`.
 * Use the JetStream source when nothing may be lost.
 */
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { telemetrySubjects } from '../codec/index.js';
import type { NatsSourceConfig } from '../config/index.js';
import type { NatsConnectionStatus } from './nats-connection.js';
import type { Source, SourceHealth, SourceMessage } from './types.js';
import { errorText } from '../telemetry/index.js';

export interface NatsSourceOptions {
  log: Logger;
  /** Connection state tracker from `connectNats`; without it, health uses `nc.isClosed()`. */
  status?: NatsConnectionStatus;
  /** Largest batch handed to the handler. Default 500. */
  maxBatchMessages?: number;
  /** Messages held while the handler is busy; beyond this they are dropped and counted. Default 50000. */
  maxQueuedMessages?: number;
}

/** Plain counters, read by the metrics layer. */
export interface NatsSourceCounters {
  received: number;
  delivered: number;
  droppedWhilePaused: number;
  droppedQueueFull: number;
  handlerErrors: number;
}

export class NatsSource implements Source {
  readonly kind = 'nats' as const;
  readonly counters: NatsSourceCounters = { received: 0, delivered: 0, droppedWhilePaused: 0, droppedQueueFull: 0, handlerErrors: 0 };
  readonly subjects: readonly string[];

  private readonly log: Logger;
  private readonly maxBatchMessages: number;
  private readonly maxQueuedMessages: number;
  private subs: Subscription[] = [];
  private queue: SourceMessage[] = [];
  private paused = false;
  private stopping = false;
  private started = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly conn: { nc: NatsConnection; status?: NatsConnectionStatus },
    cfg: Pick<NatsSourceConfig, 'subjectPrefix' | 'sites'>,
    opts: NatsSourceOptions,
  ) {
    this.subjects = telemetrySubjects(cfg.subjectPrefix, cfg.sites);
    this.log = opts.log.child({ source: 'nats' });
    this.maxBatchMessages = opts.maxBatchMessages ?? 500;
    this.maxQueuedMessages = opts.maxQueuedMessages ?? 50_000;
  }

  async start(handler: (batch: SourceMessage[]) => Promise<void> | void): Promise<void> {
    if (this.started) throw new Error('NatsSource already started');
    this.started = true;
    for (const subject of this.subjects) {
      this.subs.push(
        this.conn.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err !== null) {
              this.log.error({ subject, err: err.message }, 'subscription failed');
              return;
            }
            this.counters.received++;
            if (this.paused) {
              this.counters.droppedWhilePaused++;
              return;
            }
            if (this.queue.length >= this.maxQueuedMessages) {
              if (this.counters.droppedQueueFull++ === 0) this.log.error({ maxQueuedMessages: this.maxQueuedMessages }, 'handler too slow; dropping messages (counted)');
              return;
            }
            this.queue.push({ subject: msg.subject, payload: msg.data });
            this.signal();
          },
        }),
      );
    }
    // The subscriptions are registered with the server once this round trip completes.
    await this.conn.nc.flush();
    this.loop = this.deliverLoop(handler);
    this.log.info({ subjects: this.subjects }, 'subscribed');
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.signal();
  }

  /** Drains the subscriptions, hands the queued messages over, and resolves. */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return this.loop;
    this.stopping = true;
    const subs = this.subs;
    this.subs = [];
    await Promise.all(
      subs.map((s) =>
        this.conn.nc.isClosed()
          ? Promise.resolve()
          : s.drain().catch((err: unknown) => {
              this.log.warn({ err: errorText(err) }, 'subscription drain failed');
            }),
      ),
    );
    this.signal();
    await this.loop;
  }

  health(): SourceHealth {
    const connected = this.conn.status === undefined ? !this.conn.nc.isClosed() : this.conn.status.state === 'connected';
    const health: SourceHealth = { connected };
    if (this.paused) health.detail = `paused; ${this.counters.droppedWhilePaused} messages dropped while paused`;
    return health;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async deliverLoop(handler: (batch: SourceMessage[]) => Promise<void> | void): Promise<void> {
    for (;;) {
      // On stop, the queue is handed over even when paused: stop is the final flush.
      const mayDeliver = !this.paused || this.stopping;
      if (mayDeliver && this.queue.length > 0) {
        const batch = this.queue.length <= this.maxBatchMessages ? this.queue : this.queue.slice(0, this.maxBatchMessages);
        this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatchMessages);
        try {
          await handler(batch);
          this.counters.delivered += batch.length;
        } catch (err: unknown) {
          this.counters.handlerErrors++;
          this.log.error({ err: errorText(err), messages: batch.length }, 'handler failed; batch lost (at-most-once)');
        }
        continue;
      }
      if (this.stopping) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
