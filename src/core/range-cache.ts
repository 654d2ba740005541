import { newAggregates, type SiteAggregates } from './aggregates.js';
import type { BucketView } from './swing.js';

/** What integrating a range of time gives: per-meter aggregates and per-node 1-second buckets. */
export interface IntegratedRange {
  agg: SiteAggregates;
  buckets: BucketView;
}

export function newIntegratedRange(meterCount: number, nodeCount: number, seconds: number): IntegratedRange {
  return {
    agg: newAggregates(meterCount, nodeCount),
    buckets: {
      sumWatts: new Float64Array(nodeCount * seconds),
      covered: new Uint8Array(nodeCount * seconds),
      stride: seconds,
      // Not a small integer: the field holds epoch seconds (doubles) from the first range on.
      firstSecond: NaN,
      seconds: 0,
    },
  };
}

/** Bytes of typed arrays an IntegratedRange of that size holds. */
export function integratedRangeBytes(meterCount: number, nodeCount: number, seconds: number): number {
  return meterCount * 8 * 8 + nodeCount * 2 * 8 + nodeCount * seconds * 9;
}

interface Slot {
  /** The range held; NaN while the slot is free. */
  fromMs: number;
  toMs: number;
  range: IntegratedRange;
}

/**
 * Ranges a window build integrated, kept so that the fold and longer windows merge them
 * instead of integrating the same seconds again. A few preallocated slots (allocated on first
 * use, then reused: no garbage), each for a range of at most `maxSeconds`. A slot is valid
 * while no reading changes time inside its range: the site engine drops it then
 * (invalidateFrom), once the fold has passed it (forgetBefore), and on a restore (clear).
 */
export class RangeCache {
  private readonly slots: Slot[] = [];

  constructor(
    private readonly meterCount: number,
    private readonly nodeCount: number,
    /** Longest range kept, in 1-second buckets. */
    readonly maxSeconds: number,
    private readonly maxSlots: number,
  ) {}

  /** The range [fromMs, toMs) if a slot holds exactly it. */
  get(fromMs: number, toMs: number): IntegratedRange | undefined {
    for (const slot of this.slots) if (slot.fromMs === fromMs && slot.toMs === toMs) return slot.range;
    return undefined;
  }

  /**
   * A slot for [fromMs, toMs), which the caller fills at once: a free one, a new one while
   * fewer than maxSlots exist, else the one holding the earliest range.
   */
  claim(fromMs: number, toMs: number): IntegratedRange {
    let chosen: Slot | undefined;
    for (const slot of this.slots) {
      if (Number.isNaN(slot.fromMs)) {
        chosen = slot;
        break;
      }
    }
    if (chosen === undefined && this.slots.length < this.maxSlots) {
      chosen = { fromMs: NaN, toMs: NaN, range: newIntegratedRange(this.meterCount, this.nodeCount, this.maxSeconds) };
      this.slots.push(chosen);
    }
    if (chosen === undefined) {
      chosen = this.slots[0]!;
      for (const slot of this.slots) if (slot.fromMs < chosen.fromMs) chosen = slot;
    }
    chosen.fromMs = fromMs;
    chosen.toMs = toMs;
    return chosen.range;
  }

  /** Drops every range reaching past `fromMs` (a reading changed time from there on). */
  invalidateFrom(fromMs: number): void {
    for (const slot of this.slots) if (slot.toMs > fromMs) this.free(slot);
  }

  /** Drops every range starting before `frontierMs` (folded: never integrated again). */
  forgetBefore(frontierMs: number): void {
    for (const slot of this.slots) if (slot.fromMs < frontierMs) this.free(slot);
  }

  clear(): void {
    for (const slot of this.slots) this.free(slot);
  }

  /** Bytes of typed arrays held by the slots allocated so far. */
  arrayBytes(): number {
    return this.slots.length * integratedRangeBytes(this.meterCount, this.nodeCount, this.maxSeconds);
  }

  private free(slot: Slot): void {
    slot.fromMs = NaN;
    slot.toMs = NaN;
  }
}
