import type { EngineSettings } from '../domain/index.js';
import { resetAggregates, type SiteAggregates } from './aggregates.js';
import { counterWatts, isCounterReset, lastAtOrBefore, readingWatts, type MeterTail } from './meter-tail.js';
import { newIntegratedRange, RangeCache, type IntegratedRange } from './range-cache.js';
import type { SiteModel } from './site-model.js';
import type { BucketView } from './swing.js';
import { BUCKET_MS } from './time.js';

/** Per-node 1-second scratch buckets, shared by all nodes of a site: bounds its memory. */
const SCRATCH_BUCKETS = 1 << 20;
/** Sub-ranges are at least this long (large sites) and at most a day (tiny ones). */
const MIN_RANGE_SECONDS = 16;
const MAX_RANGE_SECONDS = 86_400;
/** Ranges kept for reuse at most (see RangeCache): enough for the windows still open to restatement. */
const MAX_CACHED_RANGES = 4;

/**
 * Integrates every meter of a site over [fromMs, toMs) into `out` (reset first): energy,
 * covered time and raw-reading statistics per meter, and for every node the largest and
 * smallest 1-second bucket sum of its meters' power, with the buckets themselves (for swing
 * metrics). The range must not exceed `maxRangeMs` (long for small topologies, 16 s for the
 * largest) and must start on the bucket grid (BUCKET_MS). range() keeps what window builds
 * integrated, so that each second is integrated once while nothing changes it.
 */
export class RangeIntegrator {
  readonly maxRangeMs: number;
  /** Where range() integrates what it does not keep. */
  private readonly scratch: IntegratedRange;
  readonly cache: RangeCache | undefined;
  private readonly maxHoldMs: number;
  private readonly maxCounterGapMs: number;
  /** Ranges integrated so far (work done, not state). */
  rangesIntegrated = 0;
  /** Ranges taken from the cache instead (work saved, not state). */
  rangesReused = 0;

  /** `reuse` false: every range is integrated (to test the reuse against). */
  constructor(
    private readonly model: SiteModel,
    private readonly tails: readonly MeterTail[],
    settings: Pick<EngineSettings, 'maxHoldMs' | 'maxCounterGapMs' | 'windowsMs' | 'allowedLatenessMs'>,
    reuse = true,
  ) {
    const perNode = Math.floor(SCRATCH_BUCKETS / Math.max(1, model.nodes.length));
    const bucketsPerRange = Math.min(MAX_RANGE_SECONDS, Math.max(MIN_RANGE_SECONDS, perNode));
    this.maxRangeMs = bucketsPerRange * BUCKET_MS;
    const meterCount = model.meterIds.length;
    const nodeCount = model.nodes.length;
    this.scratch = newIntegratedRange(meterCount, nodeCount, bucketsPerRange);
    if (reuse && settings.windowsMs.length > 0) {
      // Builds split their ranges at every window boundary: none is longer than the smallest window.
      const smallestMs = Math.min(...settings.windowsMs);
      const seconds = Math.min(bucketsPerRange, Math.ceil(smallestMs / BUCKET_MS));
      const slots = Math.min(MAX_CACHED_RANGES, Math.ceil(settings.allowedLatenessMs / smallestMs) + 2);
      this.cache = new RangeCache(meterCount, nodeCount, seconds, slots);
    }
    this.maxHoldMs = settings.maxHoldMs;
    this.maxCounterGapMs = settings.maxCounterGapMs;
  }

  /**
   * [fromMs, toMs) integrated: taken from the cache when a build kept exactly that range,
   * else integrated now, and kept when `keep` (a build's range, which the fold and longer
   * windows may ask for again). The result is valid until the next call.
   */
  range(fromMs: number, toMs: number, keep: boolean): IntegratedRange {
    const cache = this.cache;
    if (cache === undefined) {
      this.integrate(fromMs, toMs, this.scratch);
      return this.scratch;
    }
    const cached = cache.get(fromMs, toMs);
    if (cached !== undefined) {
      this.rangesReused++;
      return cached;
    }
    const out = keep && Math.ceil((toMs - fromMs) / BUCKET_MS) <= cache.maxSeconds ? cache.claim(fromMs, toMs) : this.scratch;
    this.integrate(fromMs, toMs, out);
    return out;
  }

  integrate(fromMs: number, toMs: number, range: IntegratedRange): void {
    this.rangesIntegrated++;
    const out = range.agg;
    resetAggregates(out, fromMs);
    const buckets = range.buckets;
    const seconds = Math.ceil((toMs - fromMs) / BUCKET_MS);
    const nodeCount = this.model.nodes.length;
    clearBuckets(buckets, seconds, nodeCount);
    const firstSecond = Math.floor(fromMs / BUCKET_MS);
    buckets.firstSecond = firstSecond;
    buckets.seconds = seconds;
    const meterCount = this.tails.length;
    let anyCovered = false;
    for (let meter = 0; meter < meterCount; meter++) if (this.integrateMeter(meter, fromMs, toMs, out, buckets)) anyCovered = true;
    nodeExtremes(out, buckets, seconds, nodeCount, anyCovered);
  }

  /**
   * One meter over [fromMs, toMs): its aggregates into `out`, its power into the 1-second
   * buckets of its nodes. True when it covers some time. (A function of its own: called per
   * meter, it is optimised as a whole with the feedback of many calls.)
   */
  private integrateMeter(meter: number, fromMs: number, toMs: number, out: SiteAggregates, buckets: BucketView): boolean {
    const tail = this.tails[meter]!;
    const len = tail.size;
    if (tail.head >= len) return false;
    const { sumWatts, covered, stride, firstSecond } = buckets;
    const members = this.model.meterNodeMembers;
    const maxHoldMs = this.maxHoldMs;
    const maxCounterGapMs = this.maxCounterGapMs;
    const data = tail.data;
    const wattHours = tail.wattHours;
    // Power-only meters (most) skip the counter paths: a reading reports its own watts.
    const counter = wattHours !== null;
    let i = lastAtOrBefore(tail, fromMs);
    if (i < tail.head) i = tail.head;
    let energyWattMs = 0;
    let coveredMs = 0;
    let count = 0;
    let minWatts = Infinity;
    let maxWatts = -Infinity;
    let lastTsMs = -Infinity;
    let lastWatts = NaN;
    let resets = 0;
    // The meter's nodes (members[nodesFrom, nodesTo)) and its current 1-second bucket: the
    // epoch second (-1: none open), the energy and covered time gathered in it. Closing a
    // bucket adds its mean power to the bucket sums of each of the meter's nodes.
    const nodesFrom = this.model.meterNodeOffsets[meter]!;
    const nodesTo = this.model.meterNodeOffsets[meter + 1]!;
    let bucketSecond = -1;
    let bucketEnergyWattMs = 0;
    let bucketCoveredMs = 0;
    for (; i < len; i++) {
      const tsMs = data[i << 1]!;
      if (tsMs >= toMs) break;
      if (tsMs >= fromMs) {
        const reportedWatts = counter ? readingWatts(tail, i, maxCounterGapMs) : data[(i << 1) + 1]!;
        count++;
        lastTsMs = tsMs;
        lastWatts = reportedWatts;
        if (reportedWatts < minWatts) minWatts = reportedWatts;
        if (reportedWatts > maxWatts) maxWatts = reportedWatts;
        if (counter && isCounterReset(tail, i)) resets++;
      }
      // The forward segment [tsMs, segmentEndMs) at power `watts` (see meter-tail.ts).
      let watts = data[(i << 1) + 1]!;
      let segmentEndMs = tsMs + maxHoldMs;
      const nextTsMs = i + 1 < len ? data[(i + 1) << 1]! : Infinity;
      if (counter && i + 1 < len && Number.isNaN(data[((i + 1) << 1) + 1]!) && !Number.isNaN(wattHours[i]!) && !Number.isNaN(wattHours[i + 1]!)) {
        watts = counterWatts(tsMs, wattHours[i]!, nextTsMs, wattHours[i + 1]!, maxCounterGapMs);
        segmentEndMs = nextTsMs;
      } else if (nextTsMs < segmentEndMs) segmentEndMs = nextTsMs;
      if (Number.isNaN(watts)) continue;
      let atMs = tsMs < fromMs ? fromMs : tsMs;
      const untilMs = segmentEndMs > toMs ? toMs : segmentEndMs;
      if (untilMs <= atMs) continue;
      energyWattMs += watts * (untilMs - atMs);
      coveredMs += untilMs - atMs;
      // Split the segment at 1-second boundaries into the meter's bucket means. Whole
      // seconds inside the segment have mean `watts`: they are added as one run (long holds
      // of sparse meters would otherwise cost a flush per second).
      const firstWholeSecond = Math.ceil(atMs / BUCKET_MS);
      const endWholeSecond = Math.floor(untilMs / BUCKET_MS);
      if (endWholeSecond - firstWholeSecond >= 2) {
        const wholeFromMs = firstWholeSecond * BUCKET_MS;
        if (atMs < wholeFromMs) {
          const partSecond = firstWholeSecond - 1;
          if (partSecond !== bucketSecond) {
            if (bucketCoveredMs > 0) addToNodes(members, nodesFrom, nodesTo, sumWatts, covered, stride, bucketSecond - firstSecond, bucketEnergyWattMs / bucketCoveredMs);
            bucketSecond = partSecond;
            bucketEnergyWattMs = 0;
            bucketCoveredMs = 0;
          }
          bucketEnergyWattMs += watts * (wholeFromMs - atMs);
          bucketCoveredMs += wholeFromMs - atMs;
        }
        if (bucketCoveredMs > 0) addToNodes(members, nodesFrom, nodesTo, sumWatts, covered, stride, bucketSecond - firstSecond, bucketEnergyWattMs / bucketCoveredMs);
        bucketSecond = -1;
        bucketEnergyWattMs = 0;
        bucketCoveredMs = 0;
        addRunToNodes(members, nodesFrom, nodesTo, sumWatts, covered, stride, firstWholeSecond - firstSecond, endWholeSecond - firstSecond, watts);
        atMs = endWholeSecond * BUCKET_MS;
      }
      if (atMs < untilMs) {
        // The rest, second by second (after the first, each part starts on a whole second).
        let second = Math.floor(atMs / BUCKET_MS);
        let secondEndMs = (second + 1) * BUCKET_MS;
        for (;;) {
          const partEndMs = untilMs < secondEndMs ? untilMs : secondEndMs;
          if (second !== bucketSecond) {
            if (bucketCoveredMs > 0) {
              // addToNodes written out: the hot path (a call that is not inlined boxes the mean).
              const offset = bucketSecond - firstSecond;
              const meanWatts = bucketEnergyWattMs / bucketCoveredMs;
              for (let j = nodesFrom; j < nodesTo; j++) {
                const index = members[j]! * stride + offset;
                sumWatts[index]! += meanWatts;
                covered[index] = 1;
              }
            }
            bucketSecond = second;
            bucketEnergyWattMs = 0;
            bucketCoveredMs = 0;
          }
          bucketEnergyWattMs += watts * (partEndMs - atMs);
          bucketCoveredMs += partEndMs - atMs;
          atMs = partEndMs;
          if (!(atMs < untilMs)) break;
          second++;
          secondEndMs += BUCKET_MS;
        }
      }
    }
    if (bucketCoveredMs > 0) addToNodes(members, nodesFrom, nodesTo, sumWatts, covered, stride, bucketSecond - firstSecond, bucketEnergyWattMs / bucketCoveredMs);
    if (coveredMs > 0 || count > 0) {
      out.energyWattMs[meter] = energyWattMs;
      out.coveredMs[meter] = coveredMs;
      out.count[meter] = count;
      out.minWatts[meter] = minWatts;
      out.maxWatts[meter] = maxWatts;
      out.lastTsMs[meter] = lastTsMs;
      out.lastWatts[meter] = lastWatts;
      out.counterResets[meter] = resets;
    }
    return coveredMs > 0;
  }
}

// The steps before and after the meter loop are functions of their own, called on every range:
// a step that a first call skipped (no data) would have no type feedback, and the optimiser,
// which compiles the long meter loop in the middle of a call, would give up there and start
// over (in the interpreter) on the next call.

/** Clears the buckets a range of `seconds` uses (a short range must not pay for the whole scratch). */
function clearBuckets(buckets: BucketView, seconds: number, nodeCount: number): void {
  const { sumWatts, covered, stride } = buckets;
  if (seconds === stride) {
    sumWatts.fill(0);
    covered.fill(0);
    return;
  }
  // A few seconds per node: plain stores beat two fill() calls per node.
  for (let node = 0; node < nodeCount; node++) {
    const end = node * stride + seconds;
    for (let index = node * stride; index < end; index++) {
      sumWatts[index] = 0;
      covered[index] = 0;
    }
  }
}

/** Per node, the largest and smallest covered 1-second bucket sum of the range (none when nothing is covered). */
function nodeExtremes(out: SiteAggregates, buckets: BucketView, seconds: number, nodeCount: number, anyCovered: boolean): void {
  if (!anyCovered) return;
  const { sumWatts, covered, stride } = buckets;
  for (let node = 0; node < nodeCount; node++) {
    const base = node * stride;
    let peakWatts = -Infinity;
    let lowWatts = Infinity;
    for (let second = 0; second < seconds; second++) {
      if (covered[base + second] === 0) continue;
      const bucketWatts = sumWatts[base + second]!;
      if (bucketWatts > peakWatts) peakWatts = bucketWatts;
      if (bucketWatts < lowWatts) lowWatts = bucketWatts;
    }
    out.nodePeakWatts[node] = peakWatts;
    out.nodeMinWatts[node] = lowWatts;
  }
}

/** Adds a meter's mean power in one second (bucket `offset` of the range) to the bucket sums of its nodes. */
function addToNodes(
  members: Int32Array,
  nodesFrom: number,
  nodesTo: number,
  sumWatts: Float64Array,
  covered: Uint8Array,
  stride: number,
  offset: number,
  meanWatts: number,
): void {
  for (let j = nodesFrom; j < nodesTo; j++) {
    const index = members[j]! * stride + offset;
    sumWatts[index]! += meanWatts;
    covered[index] = 1;
  }
}

/** Adds constant `watts` to whole seconds (buckets [fromOffset, toOffset) of the range) of each of a meter's nodes. */
function addRunToNodes(
  members: Int32Array,
  nodesFrom: number,
  nodesTo: number,
  sumWatts: Float64Array,
  covered: Uint8Array,
  stride: number,
  fromOffset: number,
  toOffset: number,
  watts: number,
): void {
  for (let j = nodesFrom; j < nodesTo; j++) {
    const base = members[j]! * stride;
    for (let index = base + fromOffset; index < base + toOffset; index++) sumWatts[index]! += watts;
    covered.fill(1, base + fromOffset, base + toOffset);
  }
}
