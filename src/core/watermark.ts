/**
 * The event clock of one site (one watermark partition): the k-th most advanced meter clock
 * among the meters heard from within idleTimeoutMs of processing time, never ahead of the
 * processing clock. One meter whose clock runs ahead (within maxClockSkew) therefore cannot
 * make the rest of its site late, and a meter that went silent leaves the quorum after
 * idleTimeoutMs, so it never stalls the site. With no active meter (an idle site) the clock
 * is the processing clock itself, so a quiet site still closes its windows.
 *
 * Silence is measured only while the source is caught up: `hold(ms)` (a stretch of processing
 * time with a backlog upstream, or the source disconnected or paused) moves every meter's
 * last-heard time forward by that much, so a stall never turns meters idle, and the meters have
 * a whole idleTimeoutMs of caught-up time to deliver what was kept for them.
 */
export class QuorumClock {
  /** Per meter (power meters, then grid sensors): largest event time seen. */
  readonly maxTsMs: Float64Array;
  /** Per meter: processing time it was last heard. */
  readonly seenMs: Float64Array;
  private readonly top: Float64Array;

  constructor(meterCount: number, quorum: number) {
    this.maxTsMs = new Float64Array(meterCount).fill(-Infinity);
    this.seenMs = new Float64Array(meterCount).fill(-Infinity);
    this.top = new Float64Array(Math.max(1, quorum));
  }

  note(meter: number, tsMs: number, nowMs: number): void {
    if (tsMs > this.maxTsMs[meter]!) this.maxTsMs[meter] = tsMs;
    this.seenMs[meter] = nowMs;
  }

  /** A stretch of `ms` that does not count as silence: every heard meter's idle age stands still. */
  hold(ms: number): void {
    const seen = this.seenMs;
    for (let i = 0; i < seen.length; i++) seen[i] = seen[i]! + ms;
  }

  /**
   * `caughtUp` false (a backlog may still hold readings): a site with no active meter does not
   * advance on the processing clock (-Infinity: the watermark stays where it is).
   */
  clockMs(nowMs: number, idleTimeoutMs: number, caughtUp = true): number {
    const top = this.top;
    const quorum = top.length;
    top.fill(-Infinity);
    let active = 0;
    const seen = this.seenMs;
    const maxTs = this.maxTsMs;
    for (let i = 0; i < seen.length; i++) {
      if (!(nowMs - seen[i]! < idleTimeoutMs)) continue;
      active++;
      const ts = maxTs[i]!;
      if (ts <= top[quorum - 1]!) continue;
      let j = quorum - 1;
      while (j > 0 && top[j - 1]! < ts) {
        top[j] = top[j - 1]!;
        j--;
      }
      top[j] = ts;
    }
    if (active === 0) return caughtUp ? nowMs : -Infinity;
    const kth = top[Math.min(quorum, active) - 1]!;
    return kth < nowMs ? kth : nowMs;
  }
}
