import { bucketStartMs } from './time.js';
import { counterWatts, isCounterOnly, pendingCounterFromMs, type MeterTail } from './meter-tail.js';
import type { WindowSchedule } from './window-schedule.js';

/**
 * The meters of one site that measure by counter (`wattHours`): which of them have sent a
 * counter-only reading (an interval such a meter has open holds the fold back), where an
 * inserted counter reading's change begins, and how far the fold may go for them.
 */
export class CounterMeters {
  /** Meters that have sent a counter-only reading, in the order they did. */
  readonly meters: number[] = [];
  private readonly isCounterMeter: Uint8Array;

  /** `lateByMeter`: the site's late counts, raised for counter intervals lost to final windows. */
  constructor(
    private readonly lateByMeter: Float64Array,
    private readonly maxCounterGapMs: number,
  ) {
    this.isCounterMeter = new Uint8Array(lateByMeter.length);
  }

  /**
   * Where the reading inserted at `index` changes the timeline: at the counter reading before
   * it when it closes (counter-only) or splits a counter interval, else at its own ts. Part of
   * that interval may lie before `frontierMs` or in windows that can no longer be restated:
   * that part is lost to them, and the reading is counted late for its meter.
   */
  changeFromMs(meter: number, tail: MeterTail, index: number, frontierMs: number, schedule: WindowSchedule): number {
    const closes = isCounterOnly(tail, index);
    if (closes && this.isCounterMeter[meter] === 0) {
      this.isCounterMeter[meter] = 1;
      this.meters.push(meter);
    }
    const wattHours = tail.wattHours!;
    const tsMs = tail.data[index << 1]!;
    if (index <= tail.head || Number.isNaN(wattHours[index - 1]!)) return tsMs;
    if (!closes && !isCounterOnly(tail, index + 1)) return tsMs;
    const fromMs = tail.data[(index - 1) << 1]!;
    // The counter interval this reading closes, or the one it splits.
    const end = closes ? index : index + 1;
    const measuredWatts = counterWatts(fromMs, wattHours[index - 1]!, tail.data[end << 1]!, wattHours[end]!, this.maxCounterGapMs);
    if (!Number.isNaN(measuredWatts) && (fromMs < frontierMs || schedule.reachesFinalWindows(fromMs))) this.lateByMeter[meter]!++;
    return fromMs;
  }

  /**
   * How far the fold may go when readings before `acceptFromMs` are refused: up to `toMs`, or
   * the start (on the bucket grid) of a counter interval that a reading still acceptable could close.
   */
  foldLimitMs(tails: readonly MeterTail[], acceptFromMs: number, toMs: number): number {
    let limitMs = toMs;
    for (const meter of this.meters) {
      const pendingMs = bucketStartMs(pendingCounterFromMs(tails[meter]!, acceptFromMs, this.maxCounterGapMs));
      if (pendingMs < limitMs) limitMs = pendingMs;
    }
    return limitMs;
  }

  /** Replaces the set (from a snapshot); throws on a meter index out of range. */
  restore(meters: readonly unknown[]): void {
    this.meters.length = 0;
    this.isCounterMeter.fill(0);
    for (const meter of meters) {
      if (typeof meter !== 'number' || !Number.isInteger(meter) || meter < 0 || meter >= this.isCounterMeter.length) {
        throw new Error(`snapshot names counter meter ${String(meter)} of ${this.isCounterMeter.length}`);
      }
      this.isCounterMeter[meter] = 1;
      this.meters.push(meter);
    }
  }
}
