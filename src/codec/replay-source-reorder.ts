/**
 * Bounded reorder buffer for replays: items go in in file order and come out in event-time
 * order (ties in file order). An item is released once the newest time pushed has passed it
 * by `windowMs` (`ts <= newest - windowMs`), or when more than `maxBuffered` items wait
 * (the oldest goes first). So a file sorted by time comes out exactly as it went in, a file
 * shuffled within the window comes out sorted, and a file larger than memory streams
 * through in bounded memory. With `windowMs = 0` every item passes straight through.
 *
 * A binary min-heap on (ts, sequence); pure, no I/O.
 */

export interface ReorderOptions {
  /** How far behind the newest time an item is held. >= 0. */
  windowMs: number;
  /** Most items held at once; past it the oldest is released early. >= 1. */
  maxBuffered: number;
}

export interface ReorderEvent<T> {
  tsMs: number;
  item: T;
}

export class ReorderBuffer<T> {
  private readonly ts: number[] = [];
  private readonly seq: number[] = [];
  private readonly items: T[] = [];
  private nextSeq = 0;
  private newest = -Infinity;
  /** Items released early because the buffer was full (their order may be off). */
  forcedReleases = 0;
  /** Most items held at once so far. */
  highWater = 0;

  constructor(private readonly opts: ReorderOptions) {
    if (!(opts.windowMs >= 0)) throw new RangeError(`reorder window must be >= 0 ms, got ${opts.windowMs}`);
    if (!(opts.maxBuffered >= 1)) throw new RangeError(`reorder buffer must hold at least 1 item, got ${opts.maxBuffered}`);
  }

  get size(): number {
    return this.items.length;
  }

  /** Largest time pushed so far (-Infinity before the first). */
  get newestMs(): number {
    return this.newest;
  }

  /** Add an item; append every item now due to `out`, oldest first. */
  push(tsMs: number, item: T, out: T[]): void {
    if (tsMs > this.newest) this.newest = tsMs;
    this.insert(tsMs, item);
    if (this.items.length > this.highWater) this.highWater = this.items.length;
    const releaseUpToMs = this.newest - this.opts.windowMs;
    while (this.items.length > 0) {
      if (this.ts[0]! <= releaseUpToMs) out.push(this.pop());
      else if (this.items.length > this.opts.maxBuffered) {
        this.forcedReleases++;
        out.push(this.pop());
      } else break;
    }
  }

  /** Release everything (end of input), oldest first. */
  flush(out: T[]): void {
    while (this.items.length > 0) out.push(this.pop());
  }

  private less(a: number, b: number): boolean {
    const ta = this.ts[a]!;
    const tb = this.ts[b]!;
    return ta < tb || (ta === tb && this.seq[a]! < this.seq[b]!);
  }

  private swap(a: number, b: number): void {
    const t = this.ts[a]!;
    this.ts[a] = this.ts[b]!;
    this.ts[b] = t;
    const s = this.seq[a]!;
    this.seq[a] = this.seq[b]!;
    this.seq[b] = s;
    const it = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = it;
  }

  private insert(tsMs: number, item: T): void {
    let i = this.items.length;
    this.ts.push(tsMs);
    this.seq.push(this.nextSeq++);
    this.items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): T {
    const top = this.items[0]!;
    const last = this.items.length - 1;
    if (last > 0) this.swap(0, last);
    this.ts.pop();
    this.seq.pop();
    this.items.pop();
    let i = 0;
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.less(r, l) ? r : l;
      if (!this.less(child, i)) break;
      this.swap(i, child);
      i = child;
    }
    return top;
  }
}
