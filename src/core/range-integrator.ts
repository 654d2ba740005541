import { resetAggregates, type SiteAggregates } from './aggregates.js';
import { counterWatts, isCounterReset, lastAtOrBefore, readingWatts, type MeterTail } from './meter-tail.js';
import type { SiteModel } from './site-model.js';
import type { BucketView } from './swing.js';

/** Per-node 1-second scratch buckets, shared by all nodes of a site: bounds its memory. */
const SCRATCH_BUCKETS = 1 << 20;
/** Sub-ranges are at least this long (large sites) and at most a day (tiny ones). */
const MIN_RANGE_SECONDS = 16;
const MAX_RANGE_SECONDS = 86_400;

/**
 * Integrates every meter of a site over [fromMs, toMs) into `out` (reset first): energy,
 * covered time and raw-reading statistics per meter, and for every node the largest and
 * smallest 1-second bucket sum of its meters' power. The range must not exceed
 * `maxRangeMs` (long for small topologies, 16 s for the largest) and must start on a whole second.
 */
export class RangeIntegrator {
  private readonly bucketSum: Float64Array;
  private readonly bucketCovered: Uint8Array;
  private readonly bucketsPerRange: number;
  readonly maxRangeMs: number;
  /** The 1-second bucket sums per node of the last integrated range (for swing metrics). */
  readonly buckets: BucketView;

  constructor(private readonly model: SiteModel) {
    const perNode = Math.floor(SCRATCH_BUCKETS / Math.max(1, model.nodes.length));
    this.bucketsPerRange = Math.min(MAX_RANGE_SECONDS, Math.max(MIN_RANGE_SECONDS, perNode));
    this.maxRangeMs = this.bucketsPerRange * 1000;
    this.bucketSum = new Float64Array(model.nodes.length * this.bucketsPerRange);
    this.bucketCovered = new Uint8Array(model.nodes.length * this.bucketsPerRange);
    this.buckets = { sumWatts: this.bucketSum, covered: this.bucketCovered, stride: this.bucketsPerRange, firstSecond: 0, seconds: 0 };
  }

  integrate(tails: MeterTail[], fromMs: number, toMs: number, maxHoldMs: number, maxCounterGapMs: number, out: SiteAggregates): void {
    resetAggregates(out, fromMs);
    const { meterNodeOffsets, meterNodeMembers } = this.model;
    const stride = this.bucketsPerRange;
    const sum = this.bucketSum;
    const covered = this.bucketCovered;
    const seconds = Math.ceil((toMs - fromMs) / 1000);
    const nodeCount = this.model.nodes.length;
    // Clear only the buckets this range uses (a short range must not pay for the whole scratch).
    if (seconds === stride) {
      sum.fill(0);
      covered.fill(0);
    } else {
      for (let n = 0; n < nodeCount; n++) {
        sum.fill(0, n * stride, n * stride + seconds);
        covered.fill(0, n * stride, n * stride + seconds);
      }
    }
    const firstSecond = Math.floor(fromMs / 1000);
    this.buckets.firstSecond = firstSecond;
    this.buckets.seconds = seconds;
    const meterCount = tails.length;
    let anyCovered = false;

    for (let m = 0; m < meterCount; m++) {
      const t = tails[m]!;
      const len = t.data.length >> 1;
      if (t.head >= len) continue;
      const data = t.data;
      const whs = t.wattHours;
      let i = lastAtOrBefore(t, fromMs);
      if (i < t.head) i = t.head;
      let energy = 0;
      let cov = 0;
      let count = 0;
      let minW = Infinity;
      let maxW = -Infinity;
      let lastTs = -Infinity;
      let lastW = NaN;
      let resets = 0;
      let bucket = -1;
      let bucketEnergy = 0;
      let bucketCov = 0;
      const nodesFrom = meterNodeOffsets[m]!;
      const nodesTo = meterNodeOffsets[m + 1]!;
      for (; i < len; i++) {
        const ti = data[i << 1]!;
        if (ti >= toMs) break;
        if (ti >= fromMs) {
          const r = readingWatts(t, i, maxCounterGapMs);
          count++;
          lastTs = ti;
          lastW = r;
          if (r < minW) minW = r;
          if (r > maxW) maxW = r;
          if (isCounterReset(t, i)) resets++;
        }
        // The forward segment [ti, segEnd) at power v (see meter-tail.ts).
        let v = data[(i << 1) + 1]!;
        let segEnd = ti + maxHoldMs;
        const nextTs = i + 1 < len ? data[(i + 1) << 1]! : Infinity;
        if (whs !== null && i + 1 < len && data[((i + 1) << 1) + 1]! !== data[((i + 1) << 1) + 1]! && whs[i]! === whs[i]! && whs[i + 1]! === whs[i + 1]!) {
          v = counterWatts(ti, whs[i]!, nextTs, whs[i + 1]!, maxCounterGapMs);
          segEnd = nextTs;
        } else if (nextTs < segEnd) segEnd = nextTs;
        if (v !== v) continue;
        let s0 = ti < fromMs ? fromMs : ti;
        const s1 = segEnd > toMs ? toMs : segEnd;
        if (s1 <= s0) continue;
        energy += v * (s1 - s0);
        cov += s1 - s0;
        // Split the segment at 1-second boundaries into the meter's bucket means. Whole
        // seconds inside the segment have mean v: they are added as one run (long holds of
        // sparse meters would otherwise cost a flush per second).
        const firstWhole = Math.ceil(s0 / 1000);
        const endWhole = Math.floor(s1 / 1000);
        if (endWhole - firstWhole >= 2) {
          if (s0 < firstWhole * 1000) {
            const sec = firstWhole - 1;
            if (sec !== bucket) {
              if (bucketCov > 0) addBucket(meterNodeMembers, nodesFrom, nodesTo, sum, covered, stride, bucket - firstSecond, bucketEnergy / bucketCov);
              bucket = sec;
              bucketEnergy = 0;
              bucketCov = 0;
            }
            bucketEnergy += v * (firstWhole * 1000 - s0);
            bucketCov += firstWhole * 1000 - s0;
          }
          if (bucketCov > 0) addBucket(meterNodeMembers, nodesFrom, nodesTo, sum, covered, stride, bucket - firstSecond, bucketEnergy / bucketCov);
          bucket = -1;
          bucketEnergy = 0;
          bucketCov = 0;
          addRun(meterNodeMembers, nodesFrom, nodesTo, sum, covered, stride, firstWhole - firstSecond, endWhole - firstSecond, v);
          s0 = endWhole * 1000;
        }
        while (s0 < s1) {
          const sec = Math.floor(s0 / 1000);
          const secEnd = (sec + 1) * 1000;
          const p1 = s1 < secEnd ? s1 : secEnd;
          if (sec !== bucket) {
            if (bucketCov > 0) {
              addBucket(meterNodeMembers, nodesFrom, nodesTo, sum, covered, stride, bucket - firstSecond, bucketEnergy / bucketCov);
            }
            bucket = sec;
            bucketEnergy = 0;
            bucketCov = 0;
          }
          bucketEnergy += v * (p1 - s0);
          bucketCov += p1 - s0;
          s0 = p1;
        }
      }
      if (bucketCov > 0) addBucket(meterNodeMembers, nodesFrom, nodesTo, sum, covered, stride, bucket - firstSecond, bucketEnergy / bucketCov);
      if (cov > 0 || count > 0) {
        out.energyWattMs[m] = energy;
        out.coveredMs[m] = cov;
        out.count[m] = count;
        out.minWatts[m] = minW;
        out.maxWatts[m] = maxW;
        out.lastTsMs[m] = lastTs;
        out.lastWatts[m] = lastW;
        out.counterResets[m] = resets;
        if (cov > 0) anyCovered = true;
      }
    }
    if (!anyCovered) return;
    for (let n = 0; n < nodeCount; n++) {
      const base = n * stride;
      let peak = -Infinity;
      let low = Infinity;
      for (let k = 0; k < seconds; k++) {
        if (covered[base + k] === 0) continue;
        const s = sum[base + k]!;
        if (s > peak) peak = s;
        if (s < low) low = s;
      }
      out.nodePeakWatts[n] = peak;
      out.nodeMinWatts[n] = low;
    }
  }
}

function addBucket(
  nodes: Int32Array,
  from: number,
  to: number,
  sum: Float64Array,
  covered: Uint8Array,
  stride: number,
  offset: number,
  meanWatts: number,
): void {
  for (let j = from; j < to; j++) {
    const idx = nodes[j]! * stride + offset;
    sum[idx]! += meanWatts;
    covered[idx] = 1;
  }
}

/** Adds a meter's constant power to buckets [fromOffset, toOffset) of each of its nodes. */
function addRun(
  nodes: Int32Array,
  from: number,
  to: number,
  sum: Float64Array,
  covered: Uint8Array,
  stride: number,
  fromOffset: number,
  toOffset: number,
  watts: number,
): void {
  for (let j = from; j < to; j++) {
    const base = nodes[j]! * stride;
    for (let k = base + fromOffset; k < base + toOffset; k++) sum[k]! += watts;
    covered.fill(1, base + fromOffset, base + toOffset);
  }
}
