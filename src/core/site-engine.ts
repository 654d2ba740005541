import type { EngineSettings, Reading, RecordOutcome, WindowResult } from '../domain/index.js';
import { mergeAggregates, resetAggregates } from './aggregates.js';
import { CounterMeters } from './counter-meters.js';
import { earliestLiveMs, foldTail, insertReading, newMeterTail, type MeterTail } from './meter-tail.js';
import { DEFAULT_PLAUSIBLE_RATING_MULTIPLE, maxAbsWattsByMeter, plausibleGrid, plausiblePower } from './plausibility.js';
import { RangeIntegrator } from './range-integrator.js';
import type { SiteModel } from './site-model.js';
import { SnapshotError } from './snapshot/error.js';
import { exportSizeState, exportTail, importSizeState, importTail, type SiteState } from './snapshot/window-state.js';
import { addBuckets, resetSwing } from './swing.js';
import { bucketStartMs, nextBoundaryMs, windowStartMs } from './time.js';
import { QuorumClock } from './watermark.js';
import { WindowBuilder } from './window-builder.js';
import { WindowSchedule } from './window-schedule.js';

/**
 * One site (one watermark partition). Readings enter a per-meter tail; windows are emitted
 * when the watermark passes their end, restated while within allowed lateness, and the
 * timeline before the lateness horizon is folded into fixed-size accumulators.
 *
 * The timeline, in event time. None of these ever moves back:
 *
 *     frontierMs ≤ acceptFromMs ≤ acceptHorizonMs ≤ finalBeforeMs < watermarkMs (wm)
 *     acceptFromMs ≤ foldLimitMs()          passedUntilMs ≤ watermarkMs
 *
 * - watermarkMs (`wm` in process()): the site's event clock (QuorumClock) less maxOutOfOrderMs.
 *   A window is passed (emitted for the first time) once its end is at or before it.
 * - passedUntilMs (schedule): the end of the latest window passed, over all sizes. A reading
 *   before it lands in a passed window: it is accepted late and that window is restated.
 * - finalBeforeMs = wm − allowedLatenessMs: windows ending at or before it are final.
 * - acceptHorizonMs: the latest start, over the sizes, of the window holding finalBeforeMs:
 *   every window from there on can still be restated.
 * - foldLimitMs(): the end of the earliest window not yet passed; nothing past it is folded.
 * - acceptFromMs = min(acceptHorizonMs, foldLimitMs()): readings before it are late.
 * - frontierMs: time before it is folded into the sizes' frozen accumulators and gone from
 *   the tails. It is acceptFromMs, unless a counter interval that a reading still acceptable
 *   could close holds it back (to a whole second of the bucket grid, BUCKET_MS).
 * - earliestTailMs(): the earliest time a meter tail still contributes (≥ frontierMs): windows
 *   wholly before it, without grid sums, are empty and skipped (in one step, however many).
 * drain() makes acceptHorizonMs and finalBeforeMs Infinity: everything is folded and final.
 */
export class SiteEngine {
  readonly tails: MeterTail[];
  private readonly integrator: RangeIntegrator;
  private readonly schedule: WindowSchedule;
  private readonly builder: WindowBuilder;
  private readonly gridSeen: Set<number>[];
  frontierMs = -Infinity;
  acceptFromMs = -Infinity;
  maxTsMs = -Infinity;
  watermarkMs = -Infinity;
  private readonly clock: QuorumClock;
  /** Start of the time changed by late readings (Infinity when nothing awaits restatement). */
  private dirtyFromMs = Infinity;
  /** End of the time changed by late readings (Infinity unless only counter intervals changed). */
  private dirtyToMs = -Infinity;
  /**
   * earliestTailMs() as last computed, kept while readings only lower it (NaN: compute again).
   * The fold, a counter reading and a restore make it NaN.
   */
  private earliestTailCachedMs = NaN;
  /** Index of the meter most likely to come next (the one after the last recorded). */
  private nextMeterHint = 0;
  private closed = false;
  /** Processing time of the last advance (-Infinity before the first): stalls are held from here. */
  private lastAdvanceNowMs = -Infinity;
  private readonly counters: CounterMeters;
  readonly lateByMeter: Float64Array;
  readonly lateByGridMeter: Float64Array;
  /** Per power meter: the largest plausible |watts| (plausibility.ts). */
  private readonly maxAbsWatts: Float64Array;
  counterResets = 0;

  constructor(
    readonly model: SiteModel,
    private readonly settings: EngineSettings,
    emitMeters: boolean,
    reuseRanges = true,
  ) {
    const meters = model.meterIds.length;
    const nodes = model.nodes.length;
    this.tails = model.meterIds.map(() => newMeterTail());
    this.integrator = new RangeIntegrator(model, this.tails, settings, reuseRanges);
    this.schedule = new WindowSchedule(settings, meters, nodes);
    this.builder = new WindowBuilder(model, settings, emitMeters, this.integrator, this.schedule.sizes);
    this.gridSeen = model.gridMeterIds.map(() => new Set<number>());
    this.lateByMeter = new Float64Array(meters);
    this.counters = new CounterMeters(this.lateByMeter, settings.maxCounterGapMs);
    this.lateByGridMeter = new Float64Array(model.gridMeterIds.length);
    this.clock = new QuorumClock(meters + model.gridMeterIds.length, settings.watermarkQuorum);
    this.maxAbsWatts = maxAbsWattsByMeter(model, settings.plausibleRatingMultiple ?? DEFAULT_PLAUSIBLE_RATING_MULTIPLE);
  }

  record(reading: Reading, nowMs: number): RecordOutcome {
    // Gateways send their meters in a stable order: try the meter after the previous one
    // before the map lookup.
    const ids = this.model.meterIds;
    const hint = this.nextMeterHint;
    const meter = hint < ids.length && ids[hint] === reading.meter ? hint : this.model.meterIndex.get(reading.meter);
    if (meter !== undefined) this.nextMeterHint = meter + 1;
    const gridMeter = meter === undefined ? this.model.gridMeterIndex.get(reading.meter) : undefined;
    if (meter === undefined && gridMeter === undefined) return 'unknown_meter';
    if (meter !== undefined ? !plausiblePower(reading, this.maxAbsWatts[meter]!) : !plausibleGrid(reading, this.model.spec.nominalHertz)) return 'implausible';
    const tsMs = reading.tsMs;
    if (tsMs > nowMs + this.settings.maxClockSkewMs) return 'future';
    if (this.closed || tsMs < this.acceptFromMs) {
      if (meter !== undefined) this.lateByMeter[meter]!++;
      else this.lateByGridMeter[gridMeter!]!++;
      return 'late';
    }
    // The time this reading changes: from its ts on, or, when it closes or splits a counter
    // interval, that interval (from the counter reading before it to the reading after it).
    let changedFromMs = tsMs;
    let changedToMs = Infinity;
    if (meter !== undefined) {
      const tail = this.tails[meter]!;
      const index = insertReading(tail, tsMs, reading.watts ?? NaN, reading.wattHours ?? NaN);
      if (index < 0) return 'duplicate';
      // A power reading (ts ≥ frontier) makes its meter contribute from ts at the latest: the
      // earliest over the tails becomes min(earliest, ts). A counter reading may move it later.
      if (tail.wattHours === null) {
        if (tsMs < this.earliestTailCachedMs) this.earliestTailCachedMs = tsMs;
      } else this.earliestTailCachedMs = NaN;
      if (tail.wattHours !== null) {
        changedFromMs = this.counters.changeFromMs(meter, tail, index, this.frontierMs, this.schedule);
        if (changedFromMs < tsMs) changedToMs = index + 1 < tail.size ? tail.data[(index + 1) << 1]! : tsMs;
      }
    } else if (!this.recordGrid(gridMeter!, reading)) return 'duplicate';
    if (!this.schedule.allStarted) this.schedule.noteReading(tsMs);
    if (tsMs > this.maxTsMs) this.maxTsMs = tsMs;
    this.clock.note(meter !== undefined ? meter : this.model.meterIds.length + gridMeter!, tsMs, nowMs);
    // The window of some size containing ts was already passed (nextStartMs is aligned, so
    // windowStart(ts) < nextStart ⟺ ts < nextStart): it is restated.
    if (changedFromMs < this.schedule.passedUntilMs) {
      if (changedFromMs < this.dirtyFromMs) this.dirtyFromMs = changedFromMs;
      if (changedToMs > this.dirtyToMs) this.dirtyToMs = changedToMs;
      this.integrator.cache?.invalidateFrom(changedFromMs);
      return 'accepted_late';
    }
    return 'accepted';
  }

  /** Adds a grid sensor's reading to its windows' sums; false for a duplicate (same sensor, same ts). */
  private recordGrid(gridMeter: number, reading: Reading): boolean {
    const seen = this.gridSeen[gridMeter]!;
    if (seen.has(reading.tsMs)) return false;
    seen.add(reading.tsMs);
    this.schedule.addGridReading(reading);
    return true;
  }

  /**
   * Moves the watermark (idle partitions by the processing clock) and emits. `caughtUp` false:
   * the time since the previous advance was a stall (backlog upstream, source disconnected or
   * paused): it does not count as silence, and an idle site does not advance on the clock.
   */
  advance(nowMs: number, out: WindowResult[], caughtUp = true): void {
    const sinceMs = nowMs - this.lastAdvanceNowMs;
    if (!caughtUp && sinceMs > 0 && sinceMs !== Infinity) this.clock.hold(sinceMs);
    if (nowMs > this.lastAdvanceNowMs) this.lastAdvanceNowMs = nowMs;
    if (this.maxTsMs === -Infinity || this.closed) return;
    const wm = this.clock.clockMs(nowMs, this.settings.idleTimeoutMs, caughtUp) - this.settings.maxOutOfOrderMs;
    if (wm > this.watermarkMs) this.watermarkMs = wm;
    this.process(this.watermarkMs, this.schedule.acceptHorizonMs(this.watermarkMs - this.settings.allowedLatenessMs), out);
  }

  /** Closes every window that holds data. The site accepts nothing afterwards. */
  drain(out: WindowResult[]): void {
    if (this.closed) return;
    if (this.maxTsMs !== -Infinity) {
      let endMs = -Infinity;
      const reachMs = this.maxTsMs + this.settings.maxHoldMs;
      for (const size of this.schedule.sizes) endMs = Math.max(endMs, windowStartMs(reachMs, size.windowMs) + size.windowMs);
      this.watermarkMs = Math.max(this.watermarkMs, endMs);
      this.process(this.watermarkMs, Infinity, out);
    }
    this.closed = true;
  }

  /** Work done so far: windows passed one by one and ranges integrated (see WindowEngine.work()). */
  work(): { windowsPassed: number; rangesIntegrated: number; rangesReused: number } {
    return { windowsPassed: this.schedule.windowsPassed, rangesIntegrated: this.integrator.rangesIntegrated, rangesReused: this.integrator.rangesReused };
  }

  private process(wm: number, acceptHorizonMs: number, out: WindowResult[]): void {
    const draining = acceptHorizonMs === Infinity;
    const finalBeforeMs = draining ? Infinity : wm - this.settings.allowedLatenessMs;
    const sizes = this.schedule.sizes;
    // 1. Restate windows changed by late readings.
    if (this.dirtyFromMs !== Infinity) {
      const earliestMs = this.earliestTailMs();
      for (const size of sizes) {
        for (const window of size.open) {
          if (window.startMs + size.windowMs > this.dirtyFromMs && window.startMs < this.dirtyToMs) this.builder.build(size, window, this.frontierMs, earliestMs, out);
        }
      }
      this.dirtyFromMs = Infinity;
      this.dirtyToMs = -Infinity;
    }
    // 2. Emit windows the watermark has passed, in order of end time, folding behind them.
    //    Stretches without data are skipped in one step: a jump costs the data, not its length.
    for (;;) {
      const earliestMs = this.earliestTailMs();
      this.schedule.skipEmptyWindows(earliestMs, finalBeforeMs);
      const endMs = this.schedule.nextEndMs();
      if (!(endMs <= wm)) break;
      for (const size of sizes) {
        if (size.nextStartMs + size.windowMs !== endMs) continue;
        const window = this.schedule.pass(size);
        // A window holds data if the live tails reach into it, its frozen part has some or it has grid sums.
        if (endMs > earliestMs || size.frozen.startMs === window.startMs || size.grid.has(window.startMs)) this.builder.build(size, window, this.frontierMs, earliestMs, out);
        if (endMs > finalBeforeMs) size.open.push(window);
      }
      this.advanceFrontier(Math.min(acceptHorizonMs, this.foldLimitMs()), draining);
    }
    this.advanceFrontier(Math.min(acceptHorizonMs, this.foldLimitMs()), draining);
    // 3. Forget windows that can no longer change.
    this.schedule.forgetFinal(finalBeforeMs, this.frontierMs);
  }

  /**
   * Refuses readings before `toMs` from now on and folds up to it, or only up to the start of
   * a counter interval that a reading still acceptable could close (not when draining).
   */
  private advanceFrontier(toMs: number, draining: boolean): void {
    if (toMs > this.acceptFromMs) this.acceptFromMs = toMs;
    this.fold(draining ? toMs : this.counters.foldLimitMs(this.tails, this.acceptFromMs, toMs));
  }

  /** The end of the earliest window not yet passed: folding stops there. */
  private foldLimitMs(): number {
    return this.schedule.nextEndMs();
  }

  /** Earliest time any meter's tail may contribute (grid sums are kept per window: the schedule's). */
  private earliestTailMs(): number {
    if (!Number.isNaN(this.earliestTailCachedMs)) return this.earliestTailCachedMs;
    let earliestMs = Infinity;
    for (const tail of this.tails) {
      const liveMs = earliestLiveMs(tail, this.frontierMs, this.settings.maxHoldMs, this.settings.maxCounterGapMs);
      if (liveMs < earliestMs) earliestMs = liveMs;
    }
    this.earliestTailCachedMs = earliestMs;
    return earliestMs;
  }

  /** Folds [frontier, toMs) into the frozen accumulators of every window size. */
  private fold(toMs: number): void {
    if (!(toMs > this.frontierMs)) return;
    if (this.frontierMs === -Infinity) {
      // Never ahead of the lateness horizon: an earlier reading may still open earlier windows.
      this.frontierMs = Math.min(this.schedule.nextStartMs(), toMs);
      this.earliestTailCachedMs = NaN;
      if (!(toMs > this.frontierMs)) return;
    }
    const sizes = this.schedule.sizes;
    const earliestMs = this.earliestTailMs();
    const windowSizesMs = sizes.map((size) => size.windowMs);
    let fromMs = this.frontierMs;
    while (fromMs < toMs) {
      if (earliestMs > fromMs) fromMs = Math.min(toMs, Math.max(fromMs, bucketStartMs(earliestMs)));
      if (fromMs >= toMs) break;
      const rangeToMs = Math.min(toMs, nextBoundaryMs(fromMs, windowSizesMs), fromMs + this.integrator.maxRangeMs);
      const range = this.integrator.range(fromMs, rangeToMs, false);
      for (const size of sizes) {
        const startMs = windowStartMs(fromMs, size.windowMs);
        if (size.frozen.startMs !== startMs) resetAggregates(size.frozen, startMs);
        mergeAggregates(size.frozen, range.agg);
        if (size.swing !== undefined) {
          if (size.swing.startMs !== startMs) resetSwing(size.swing, startMs);
          addBuckets(size.swing, range.buckets, this.model.nodes.length);
        }
      }
      for (let meter = 0; meter < this.tails.length; meter++) this.counterResets += range.agg.counterResets[meter]!;
      fromMs = rangeToMs;
    }
    this.frontierMs = toMs;
    this.earliestTailCachedMs = NaN;
    this.integrator.cache?.forgetBefore(toMs);
    for (const tail of this.tails) foldTail(tail, toMs, this.settings.maxHoldMs, this.settings.maxCounterGapMs);
    for (const seen of this.gridSeen) for (const tsMs of seen) if (tsMs < toMs) seen.delete(tsMs);
  }

  /**
   * The site's state in the snapshot format (snapshot/window-state.ts). It shares the engine's
   * arrays: encode it before the engine records or advances again.
   */
  toState(): SiteState {
    return {
      site: this.model.spec.id,
      tails: this.tails.map(exportTail),
      frontierMs: this.frontierMs,
      acceptFromMs: this.acceptFromMs,
      counterMeters: this.counters.meters,
      maxTsMs: this.maxTsMs,
      watermarkMs: this.watermarkMs,
      dirtyFromMs: this.dirtyFromMs,
      dirtyToMs: this.dirtyToMs,
      closed: this.closed,
      lateByMeter: this.lateByMeter,
      lateByGridMeter: this.lateByGridMeter,
      meterMaxTsMs: this.clock.maxTsMs,
      meterSeenMs: this.clock.seenMs,
      counterResets: this.counterResets,
      passedUntilMs: this.schedule.passedUntilMs,
      allStarted: this.schedule.allStarted,
      gridSeen: this.gridSeen.map((seen) => [...seen]),
      sizes: this.schedule.sizes.map(exportSizeState),
    };
  }

  /** Takes over a state from toState() of a site with the same model and settings. */
  fromState(raw: unknown): void {
    const state = raw as SiteState;
    if (state.site !== this.model.spec.id || state.tails.length !== this.tails.length) {
      throw new SnapshotError(`snapshot of site '${String(state.site)}' does not fit site '${this.model.spec.id}'`);
    }
    state.tails.forEach((tail, i) => importTail(this.tails[i]!, tail));
    this.integrator.cache?.clear();
    this.frontierMs = state.frontierMs;
    this.earliestTailCachedMs = NaN;
    this.acceptFromMs = state.acceptFromMs ?? state.frontierMs;
    this.counters.restore(state.counterMeters ?? []);
    this.maxTsMs = state.maxTsMs;
    this.watermarkMs = state.watermarkMs;
    this.dirtyFromMs = state.dirtyFromMs;
    this.dirtyToMs = state.dirtyToMs ?? (state.dirtyFromMs === Infinity ? -Infinity : Infinity);
    this.closed = state.closed;
    this.lateByMeter.set(state.lateByMeter);
    this.lateByGridMeter.set(state.lateByGridMeter);
    this.clock.maxTsMs.set(state.meterMaxTsMs);
    this.clock.seenMs.set(state.meterSeenMs);
    this.counterResets = state.counterResets;
    this.schedule.passedUntilMs = state.passedUntilMs;
    this.schedule.allStarted = state.allStarted;
    state.gridSeen.forEach((list, i) => {
      this.gridSeen[i] = new Set(list);
    });
    if (state.sizes.length !== this.schedule.sizes.length) throw new SnapshotError('snapshot has other window sizes');
    state.sizes.forEach((size, i) => importSizeState(this.schedule.sizes[i]!, size));
  }
}
