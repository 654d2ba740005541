/**
 * The in-process bus: the embedded default (`npm start`) and the test bus. NATS subject
 * semantics without a server: subjects are dot-separated tokens; a subscription pattern may
 * use `*` (exactly one token) and `>` (one or more trailing tokens, last token only).
 *
 * Each subscription has its own bounded queue: a slow subscriber never blocks the publisher
 * or other subscribers; past its bound, messages are dropped and counted (like a core NATS
 * slow consumer).
 */
import { deadLetterSubject, subjectMatches, subjectTokens, telemetrySubjects } from '../codec/index.js';
import { MemorySubscription, type BusMessage, type BusSubscribeOptions } from './memory-subscription.js';
import { DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_REASON_HEADER, type DeadLetterPublisher, type Source, type SourceHealth, type SourceMessage } from './types.js';

export { MemorySubscription, type BusMessage, type BusSubscribeOptions } from './memory-subscription.js';

const DEFAULT_MAX_QUEUED = 10_000;
const encoder = new TextEncoder();

export class MemoryBus {
  private subs: MemorySubscription[] = [];
  /** Messages published with no subscriber (not an error; NATS drops them too). */
  unrouted = 0;
  published = 0;

  subscribe(pattern: string, opts: BusSubscribeOptions = {}): MemorySubscription {
    const max = opts.maxQueuedMessages ?? DEFAULT_MAX_QUEUED;
    if (!Number.isInteger(max) || max <= 0) throw new RangeError(`maxQueuedMessages must be a positive integer, got ${String(max)}`);
    const sub = new MemorySubscription(pattern, (closed) => this.remove(closed), max, opts.onMessage);
    this.subs.push(sub);
    return sub;
  }

  /**
   * Delivers to every matching subscription; returns how many queued it. Throws
   * InvalidSubjectError for a malformed or wildcard subject (a programming error).
   */
  publish(subject: string, payload: Uint8Array | string, headers?: Readonly<Record<string, string>>): number {
    const tokens = subjectTokens(subject, false);
    const msg: BusMessage = { subject, payload: typeof payload === 'string' ? encoder.encode(payload) : payload };
    if (headers !== undefined) msg.headers = headers;
    this.published++;
    let queued = 0;
    let matched = false;
    for (const sub of this.subs) {
      if (!subjectMatches(sub.patternTokens, tokens)) continue;
      matched = true;
      if (sub.offer(msg)) queued++;
    }
    if (!matched) this.unrouted++;
    return queued;
  }

  /** The most messages any subscription has queued. */
  get backlog(): number {
    let most = 0;
    for (const sub of this.subs) if (sub.pending > most) most = sub.pending;
    return most;
  }

  /**
   * Resolves once no subscription has more than `messages` queued: a publisher that may wait
   * (the embedded simulator) waits here instead of overrunning a subscriber's bound.
   */
  async drainedTo(messages: number): Promise<void> {
    await Promise.all(this.subs.map((sub) => sub.drainedTo(messages)));
  }

  get subscriptionCount(): number {
    return this.subs.length;
  }

  private remove(sub: MemorySubscription): void {
    this.subs = this.subs.filter((s) => s !== sub);
  }
}

export interface MemorySourceOptions {
  /** Largest batch handed to the handler. Default 500. */
  maxBatchMessages?: number;
  /** Bound of the subscription queue. Default 10000. */
  maxQueuedMessages?: number;
}

/**
 * Source over the in-process bus, subscribed to `<subjectPrefix>.>` (or one pattern per
 * configured site). While paused, messages stay queued up to the bound, then are dropped and
 * counted (`dropped`); nothing upstream keeps them.
 */
export class MemorySource implements Source {
  readonly kind = 'memory' as const;
  readonly patterns: readonly string[];
  delivered = 0;
  handlerErrors = 0;
  private subs: MemorySubscription[] = [];
  private readonly maxBatchMessages: number;
  private readonly maxQueuedMessages: number;
  private paused = false;
  private stopping = false;
  private started = false;
  private wakeLoop: (() => void) | null = null;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly bus: MemoryBus,
    cfg: { subjectPrefix: string; sites?: readonly string[] | undefined },
    opts: MemorySourceOptions = {},
  ) {
    this.patterns = telemetrySubjects(cfg.subjectPrefix, cfg.sites);
    this.maxBatchMessages = opts.maxBatchMessages ?? 500;
    this.maxQueuedMessages = opts.maxQueuedMessages ?? DEFAULT_MAX_QUEUED;
  }

  /** Messages dropped because the queue was full (slow handler or long pause). */
  get dropped(): number {
    return this.subs.reduce((n, s) => n + s.dropped, 0);
  }

  get queued(): number {
    return this.subs.reduce((n, s) => n + s.pending, 0);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  start(handler: (batch: SourceMessage[]) => Promise<void> | void): Promise<void> {
    if (this.started) throw new Error('MemorySource already started');
    this.started = true;
    const onMessage = (): void => this.signal();
    this.subs = this.patterns.map((p) => this.bus.subscribe(p, { maxQueuedMessages: this.maxQueuedMessages, onMessage }));
    this.loop = this.deliverLoop(handler);
    return Promise.resolve();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.signal();
  }

  private signal(): void {
    const w = this.wakeLoop;
    this.wakeLoop = null;
    w?.();
  }

  /** Unsubscribes, hands over what is queued (even when paused), and resolves. */
  async stop(): Promise<void> {
    if (!this.started) return;
    if (!this.stopping) {
      this.stopping = true;
      for (const s of this.subs) s.unsubscribe();
      this.resume();
    }
    await this.loop;
  }

  health(): SourceHealth {
    const health: SourceHealth = { connected: this.started && !this.stopping, pending: this.queued };
    if (this.paused) health.detail = 'paused';
    return health;
  }

  private async deliverLoop(handler: (batch: SourceMessage[]) => Promise<void> | void): Promise<void> {
    for (;;) {
      if (this.paused && !this.stopping) {
        await this.sleep();
        continue;
      }
      const batch: SourceMessage[] = [];
      for (const s of this.subs) {
        if (batch.length >= this.maxBatchMessages) break;
        for (const m of s.take(this.maxBatchMessages - batch.length)) batch.push({ subject: m.subject, payload: m.payload });
      }
      if (batch.length > 0) {
        try {
          await handler(batch);
          this.delivered += batch.length;
        } catch {
          // The pipeline's handler never throws for data; count anything else (at-most-once).
          this.handlerErrors++;
        }
        continue;
      }
      if (this.stopping) return;
      await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeLoop = resolve;
    });
  }
}

/** Dead letters on the bus: `<prefix>.<site>` with headers Headroom-Reason and Headroom-Detail. */
export class MemoryDeadLetterPublisher implements DeadLetterPublisher {
  published = 0;

  constructor(
    private readonly bus: MemoryBus,
    private readonly cfg: { enabled: boolean; subjectPrefix: string },
  ) {}

  publish(site: string, reason: string, payload: Uint8Array, detail?: string): void {
    if (!this.cfg.enabled) return;
    const headers: Record<string, string> = { [DEAD_LETTER_REASON_HEADER]: reason };
    if (detail !== undefined && detail !== '') headers[DEAD_LETTER_DETAIL_HEADER] = detail;
    this.bus.publish(deadLetterSubject(this.cfg.subjectPrefix, site), payload, headers);
    this.published++;
  }
}
