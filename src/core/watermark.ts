/**
 * The event clock of one site (one watermark partition): the k-th most advanced meter clock
 * among the meters heard from within idleTimeoutMs of processing time, never ahead of the
 * processing clock. One meter whose clock runs ahead (within maxClockSkew) therefore cannot
 * make the rest of its site late, and a meter that went silent leaves the quorum after
 * idleTimeoutMs, so it never stalls the site. With no active meter (an idle site) the clock
 * is the processing clock itself, so a quiet site still closes its windows.
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

  clockMs(nowMs: number, idleTimeoutMs: number): number {
    const top = this.top;
    const k = top.length;
    top.fill(-Infinity);
    let active = 0;
    const seen = this.seenMs;
    const maxTs = this.maxTsMs;
    for (let i = 0; i < seen.length; i++) {
      if (!(nowMs - seen[i]! < idleTimeoutMs)) continue;
      active++;
      const ts = maxTs[i]!;
      if (ts <= top[k - 1]!) continue;
      let j = k - 1;
      while (j > 0 && top[j - 1]! < ts) {
        top[j] = top[j - 1]!;
        j--;
      }
      top[j] = ts;
    }
    if (active === 0) return nowMs;
    const kth = top[Math.min(k, active) - 1]!;
    return kth < nowMs ? kth : nowMs;
  }
}
