/**
 * The event-time clock of an in-process replay: the largest event time seen so far, taken
 * robustly. It moves to the median of the last accepted readings' times, never back, so a
 * meter whose clock runs minutes ahead (a fault) moves neither this clock nor its site's
 * watermark. Before the first accepted reading it reads -Infinity.
 */

/** Accepted readings the median is taken over. */
export const EVENT_CLOCK_SAMPLES = 15;

export class MedianEventClock {
  /** The clock, ms since the epoch (fractions kept); -Infinity before the first accepted reading. */
  nowMs = Number.NEGATIVE_INFINITY;
  private readonly recentTsMs = new Float64Array(EVENT_CLOCK_SAMPLES);
  private readonly sortedTsMs = new Float64Array(EVENT_CLOCK_SAMPLES);
  private accepted = 0;

  /** The processing time a reading at `tsMs` is judged against: the clock, or the reading's own time before the first. */
  nowForMs(tsMs: number): number {
    return this.nowMs === Number.NEGATIVE_INFINITY ? tsMs : this.nowMs;
  }

  /** An accepted reading's time: the clock moves to the median of the recent ones when that is ahead. */
  observeAccepted(tsMs: number): void {
    this.recentTsMs[this.accepted % EVENT_CLOCK_SAMPLES] = tsMs;
    this.accepted++;
    const n = Math.min(this.accepted, EVENT_CLOCK_SAMPLES);
    this.sortedTsMs.set(this.recentTsMs.subarray(0, n));
    const medianMs = this.sortedTsMs.subarray(0, n).sort()[n >> 1]!;
    if (medianMs > this.nowMs) this.nowMs = medianMs;
  }
}
