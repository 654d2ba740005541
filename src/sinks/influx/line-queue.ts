/**
 * The InfluxDB sink's bounded FIFO of line-protocol lines. A line leaves only when the
 * request that carried it succeeded, or when it was dropped; flush waiters resolve when every
 * line appended before them has left. Each written batch marks when it was emitted, so a
 * successful request reports its oldest emission (one mark per batch, not per line).
 */

interface FlushWaiter {
  target: number;
  resolve: () => void;
}

/** Compact the array once this many lines at its head are gone and they are most of it. */
const COMPACT_AFTER_LINES = 4096;

export class LineQueue {
  /** The live part is lines[head..]. */
  private lines: string[] = [];
  private head = 0;
  /** Lines ever appended / removed (written or dropped): waiters wait on these. */
  private appended = 0;
  private settled = 0;
  private readonly waiters: FlushWaiter[] = [];
  /**
   * Emission marks: from line number `markSeqs[i]` (of all ever appended) on, lines were
   * emitted at `markMonoMs[i]` (NaN: unknown), until the next mark. Live part from markHead.
   */
  private markSeqs: number[] = [];
  private markMonoMs: number[] = [];
  private markHead = 0;

  get size(): number {
    return this.lines.length - this.head;
  }

  /** Someone waits in flush() or close() for the queue to drain. */
  get awaited(): boolean {
    return this.waiters.length > 0;
  }

  push(line: string): void {
    this.lines.push(line);
    this.appended++;
  }

  /** The lines pushed from now on were emitted at `emittedAtMonoMs` (NaN or absent: unknown). */
  markEmission(emittedAtMonoMs: number | undefined): void {
    const last = this.markSeqs.length - 1;
    if (last >= this.markHead && this.markSeqs[last] === this.appended) this.markMonoMs[last] = emittedAtMonoMs ?? NaN;
    else {
      this.markSeqs.push(this.appended);
      this.markMonoMs.push(emittedAtMonoMs ?? NaN);
    }
  }

  /** The oldest known emission time among the first `count` queued lines (NaN: none known). */
  oldestEmissionMonoMs(count: number): number {
    const end = this.settled + count;
    for (let i = this.markHead; i < this.markSeqs.length && (this.markSeqs[i] ?? end) < end; i++) {
      const monoMs = this.markMonoMs[i] ?? NaN;
      if (!Number.isNaN(monoMs)) return monoMs;
    }
    return NaN;
  }

  /** The first `count` lines, still queued. */
  peek(count: number): string[] {
    return this.lines.slice(this.head, this.head + count);
  }

  /** All lines appended so far have left the queue. */
  get drained(): boolean {
    return this.settled >= this.appended;
  }

  /** Resolves once every line appended so far has left the queue. */
  whenDrained(): Promise<void> {
    if (this.drained) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.waiters.push({ target: this.appended, resolve });
    });
  }

  /** The first `count` lines leave the queue (written or dropped). */
  remove(count: number): void {
    this.head += count;
    this.settled += count;
    if (this.head === this.lines.length) {
      this.lines = [];
      this.head = 0;
    } else if (this.head > COMPACT_AFTER_LINES && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
    this.dropMarks();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w !== undefined && this.settled >= w.target) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Marks whose lines have all left: each mark ends where the next begins. */
  private dropMarks(): void {
    if (this.drained) {
      // Lines pushed from now on get a mark of their own (markEmission before each batch).
      this.markSeqs = [];
      this.markMonoMs = [];
      this.markHead = 0;
      return;
    }
    while (this.markHead + 1 < this.markSeqs.length && (this.markSeqs[this.markHead + 1] ?? Infinity) <= this.settled) this.markHead++;
    if (this.markHead > COMPACT_AFTER_LINES && this.markHead * 2 > this.markSeqs.length) {
      this.markSeqs = this.markSeqs.slice(this.markHead);
      this.markMonoMs = this.markMonoMs.slice(this.markHead);
      this.markHead = 0;
    }
  }
}

/** True when `promise` settled within `ms` (it never rejects here). */
export async function settledWithin(promise: Promise<void>, ms: number): Promise<boolean> {
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
