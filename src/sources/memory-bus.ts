/**
 * The in-process bus: the embedded default (`npm start`) and the test bus. NATS subject
 * semantics without a server: subjects are dot-separated tokens; a subscription pattern may
 * use `*` (exactly one token) and `>` (one or more trailing tokens, last token only).
 *
 * Each subscription has its own bounded queue: a slow subscriber never blocks the publisher
 * or other subscribers; past its bound, messages are dropped and counted (like a core NATS
 * slow consumer).
 */
import { deadLetterSubject } from './dead-letter.js';
import type { DeadLetterPublisher, Source, SourceHealth, SourceMessage } from './types.js';

/** A subject or pattern that is not dot-separated non-empty tokens (or misuses wildcards). */
export class InvalidSubjectError extends Error {
  override readonly name = 'InvalidSubjectError';
}

export interface BusMessage {
  subject: string;
  payload: Uint8Array;
  headers?: Readonly<Record<string, string>>;
}

export interface BusSubscribeOptions {
  /** Messages queued for this subscriber at most; beyond, new ones are dropped and counted. Default 10000. */
  maxQueuedMessages?: number;
  /** Called after a message was queued (wakes a delivery loop). */
  onMessage?: () => void;
}

const DEFAULT_MAX_QUEUED = 10_000;
const encoder = new TextEncoder();

function splitSubject(subject: string, allowWildcards: boolean): string[] {
  const tokens = subject.split('.');
  tokens.forEach((t, i) => {
    if (t === '' || /\s/.test(t)) throw new InvalidSubjectError(`invalid subject '${subject}': empty token or whitespace`);
    if (!allowWildcards && (t === '*' || t === '>')) throw new InvalidSubjectError(`cannot publish to a wildcard subject '${subject}'`);
    if (t === '>' && i !== tokens.length - 1) throw new InvalidSubjectError(`invalid pattern '${subject}': '>' must be the last token`);
  });
  return tokens;
}

/** NATS matching of a subject's tokens against a pattern's tokens. */
export function subjectMatches(patternTokens: readonly string[], subjectTokens: readonly string[]): boolean {
  for (let i = 0; i < patternTokens.length; i++) {
    const p = patternTokens[i]!;
    if (p === '>') return subjectTokens.length > i;
    if (i >= subjectTokens.length) return false;
    if (p !== '*' && p !== subjectTokens[i]) return false;
  }
  return patternTokens.length === subjectTokens.length;
}

/** One subscriber's bounded queue. Pull with `take`; `ready()` resolves when there is something to take. */
export class MemorySubscription {
  readonly patternTokens: readonly string[];
  received = 0;
  dropped = 0;
  private queue: BusMessage[] = [];
  private head = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly pattern: string,
    private readonly bus: MemoryBus,
    readonly maxQueuedMessages: number,
    private readonly onMessage?: () => void,
  ) {
    this.patternTokens = splitSubject(pattern, true);
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called by the bus. Returns false when the message was dropped (queue full or closed). */
  offer(msg: BusMessage): boolean {
    if (this.closed) return false;
    this.received++;
    if (this.pending >= this.maxQueuedMessages) {
      this.dropped++;
      return false;
    }
    this.queue.push(msg);
    this.wake();
    this.onMessage?.();
    return true;
  }

  /** Up to `maxMessages` queued messages, oldest first. */
  take(maxMessages: number): BusMessage[] {
    const end = Math.min(this.queue.length, this.head + Math.max(0, maxMessages));
    const out = this.queue.slice(this.head, end);
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Resolves when a message is queued or the subscription is closed. */
  ready(): Promise<void> {
    if (this.pending > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Stops receiving; what is queued can still be taken. */
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.bus.remove(this);
    this.wake();
    this.onMessage?.();
  }
}

export class MemoryBus {
  private subs: MemorySubscription[] = [];
  /** Messages published with no subscriber (not an error; NATS drops them too). */
  unrouted = 0;
  published = 0;

  subscribe(pattern: string, opts: BusSubscribeOptions = {}): MemorySubscription {
    const max = opts.maxQueuedMessages ?? DEFAULT_MAX_QUEUED;
    if (!Number.isInteger(max) || max <= 0) throw new RangeError(`maxQueuedMessages must be a positive integer, got ${String(max)}`);
    const sub = new MemorySubscription(pattern, this, max, opts.onMessage);
    this.subs.push(sub);
    return sub;
  }

  /**
   * Delivers to every matching subscription; returns how many queued it. Throws
   * InvalidSubjectError for a malformed or wildcard subject (a programming error).
   */
  publish(subject: string, payload: Uint8Array | string, headers?: Readonly<Record<string, string>>): number {
    const tokens = splitSubject(subject, false);
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

  get subscriptionCount(): number {
    return this.subs.length;
  }

  /** Called by MemorySubscription.unsubscribe. */
  remove(sub: MemorySubscription): void {
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
    this.patterns = cfg.sites === undefined || cfg.sites.length === 0 ? [`${cfg.subjectPrefix}.>`] : cfg.sites.map((s) => `${cfg.subjectPrefix}.${s}.>`);
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
    const headers: Record<string, string> = { 'Headroom-Reason': reason };
    if (detail !== undefined && detail !== '') headers['Headroom-Detail'] = detail;
    this.bus.publish(deadLetterSubject(this.cfg.subjectPrefix, site), payload, headers);
    this.published++;
  }
}
