/** One subscriber of the in-process bus: a bounded queue, pulled by its reader. */
import { subjectTokens } from '../codec/index.js';

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

/** One subscriber's bounded queue. Pull with `take`; `ready()` resolves when there is something to take. */
export class MemorySubscription {
  readonly patternTokens: readonly string[];
  received = 0;
  dropped = 0;
  private queue: BusMessage[] = [];
  private head = 0;
  private waiters: (() => void)[] = [];
  /** Publishers waiting for the queue to shrink to `messages` (see `drainedTo`). */
  private drainWaiters: { messages: number; resolve: () => void }[] = [];
  private closed = false;

  constructor(
    readonly pattern: string,
    /** Called once by `unsubscribe` (the bus forgets the subscription). */
    private readonly onClose: (sub: MemorySubscription) => void,
    readonly maxQueuedMessages: number,
    private readonly onMessage?: () => void,
  ) {
    this.patternTokens = subjectTokens(pattern, true);
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
    if (this.drainWaiters.length > 0) this.releaseDrainWaiters();
    return out;
  }

  /** Resolves once at most `messages` are queued, or the subscription is closed. */
  drainedTo(messages: number): Promise<void> {
    if (this.pending <= messages || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ messages, resolve }));
  }

  private releaseDrainWaiters(): void {
    const waiting = this.drainWaiters;
    this.drainWaiters = waiting.filter((w) => this.pending > w.messages && !this.closed);
    for (const w of waiting) if (this.pending <= w.messages || this.closed) w.resolve();
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
    this.onClose(this);
    this.wake();
    this.releaseDrainWaiters();
    this.onMessage?.();
  }
}
