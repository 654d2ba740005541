import type { EngineSettings, Reading, RecordOutcome, WindowResult } from '../domain/index.js';
import { copyAggregates, mergeAggregates, newAggregates, resetAggregates, type SiteAggregates } from './aggregates.js';
import { deriveWindow, newDeriveScratch, trendSlots, type DeriveScratch } from './derive.js';
import { addGrid, newGridSums } from './grid.js';
import { counterWatts, earliestLiveMs, foldTail, insertReading, isCounterOnly, newMeterTail, pendingCounterFromMs, type MeterTail } from './meter-tail.js';
import { DEFAULT_PLAUSIBLE_RATING_MULTIPLE, maxAbsWattsByMeter, plausibleGrid, plausiblePower } from './plausibility.js';
import { RangeIntegrator } from './range-integrator.js';
import type { SiteModel } from './site-model.js';
import { exportSizeState, importSizeState, newSizeState, type OpenWindow, type SizeSnapshot, type SizeState } from './size-state.js';
import { nextBoundaryMs, windowStartMs } from './time.js';
import { addBuckets, copySwing, newSwingScratch, newSwingSeries, resetSwing, SWING_MIN_WINDOW_MS, type SwingScratch, type SwingSeries } from './swing.js';
import { QuorumClock } from './watermark.js';

/**
 * One site (one watermark partition). Readings enter a per-meter tail; windows are emitted
 * when the watermark passes their end, restated while within allowed lateness, and the
 * timeline before the lateness horizon is folded into fixed-size accumulators.
 */
export class SiteEngine {
  readonly tails: MeterTail[];
  private readonly integrator: RangeIntegrator;
  private readonly scratch: SiteAggregates;
  private readonly windowAcc: SiteAggregates;
  private readonly deriveScratch: DeriveScratch;
  private readonly sizes: SizeState[];
  private readonly gridSeen: Set<number>[];
  /** Per size with swing metrics: the working copy of its series while a window is emitted. */
  private readonly swingWork = new Map<SizeState, SwingSeries>();
  private readonly swingScratch: SwingScratch;
  /** Everything before this time is folded and final. */
  frontierMs = -Infinity;
  /**
   * Readings before this time are late. Equal to the frontier, except while a counter meter's
   * open interval holds the frontier back (its next reading would measure time before this).
   */
  acceptFromMs = -Infinity;
  maxTsMs = -Infinity;
  watermarkMs = -Infinity;
  private readonly clock: QuorumClock;
  private dirtyFromMs = Infinity;
  /** End of the time changed by late readings (Infinity unless only counter intervals changed). */
  private dirtyToMs = -Infinity;
  /** Index of the meter most likely to come next (the one after the last recorded). */
  private nextMeterHint = 0;
  /** max over sizes of nextStartMs (-Infinity before any window was passed). */
  private passedUntilMs = -Infinity;
  /** True once every size has passed a window. */
  private allStarted = false;
  private closed = false;
  /** Processing time of the last advance (-Infinity before the first): stalls are held from here. */
  private lastAdvanceNowMs = -Infinity;
  /** Meters that have sent a counter-only reading (their tails may hold the frontier back). */
  private readonly counterMeters: number[] = [];
  private readonly isCounterMeter: Uint8Array;
  readonly lateByMeter: Float64Array;
  readonly lateByGridMeter: Float64Array;
  /** Per power meter: the largest plausible |watts| (plausibility.ts). */
  private readonly maxAbsWatts: Float64Array;
  counterResets = 0;

  constructor(
    readonly model: SiteModel,
    private readonly settings: EngineSettings,
    private readonly emitMeters: boolean,
  ) {
    const meters = model.meterIds.length;
    const nodes = model.nodes.length;
    this.tails = model.meterIds.map(() => newMeterTail());
    this.integrator = new RangeIntegrator(model);
    this.scratch = newAggregates(meters, nodes);
    this.windowAcc = newAggregates(meters, nodes);
    this.deriveScratch = newDeriveScratch(nodes);
    const swingSizes = settings.windowsMs.filter((w) => w >= SWING_MIN_WINDOW_MS).length;
    this.sizes = [...settings.windowsMs].sort((a, b) => a - b).map((windowMs) => newSizeState(windowMs, meters, nodes, trendSlots(settings, windowMs), swingSizes));
    let maxPoints = 0;
    for (const size of this.sizes) {
      const work = newSwingSeries(size.windowMs, nodes, swingSizes);
      if (work === undefined) continue;
      this.swingWork.set(size, work);
      maxPoints = Math.max(maxPoints, work.points);
    }
    this.swingScratch = newSwingScratch(maxPoints);
    this.gridSeen = model.gridMeterIds.map(() => new Set<number>());
    this.isCounterMeter = new Uint8Array(meters);
    this.lateByMeter = new Float64Array(meters);
    this.lateByGridMeter = new Float64Array(model.gridMeterIds.length);
    this.clock = new QuorumClock(meters + model.gridMeterIds.length, settings.watermarkQuorum);
    this.maxAbsWatts = maxAbsWattsByMeter(model, settings.plausibleRatingMultiple ?? DEFAULT_PLAUSIBLE_RATING_MULTIPLE);
  }

  record(r: Reading, nowMs: number): RecordOutcome {
    // Gateways send their meters in a stable order: try the meter after the previous one
    // before the map lookup.
    const ids = this.model.meterIds;
    const hint = this.nextMeterHint;
    const m = hint < ids.length && ids[hint] === r.meter ? hint : this.model.meterIndex.get(r.meter);
    if (m !== undefined) this.nextMeterHint = m + 1;
    const g = m === undefined ? this.model.gridMeterIndex.get(r.meter) : undefined;
    if (m === undefined && g === undefined) return 'unknown_meter';
    if (m !== undefined ? !plausiblePower(r, this.maxAbsWatts[m]!) : !plausibleGrid(r, this.model.spec.nominalHertz)) return 'implausible';
    const ts = r.tsMs;
    if (ts > nowMs + this.settings.maxClockSkewMs) return 'future';
    if (this.closed || ts < this.acceptFromMs) {
      if (m !== undefined) this.lateByMeter[m]!++;
      else this.lateByGridMeter[g!]!++;
      return 'late';
    }
    // The time this reading changes: from its ts on, or, when it closes or splits a counter
    // interval, that interval (from the counter reading before it to the reading after it).
    let changedFromMs = ts;
    let changedToMs = Infinity;
    if (m !== undefined) {
      const t = this.tails[m]!;
      const i = insertReading(t, ts, r.watts ?? NaN, r.wattHours ?? NaN);
      if (i < 0) return 'duplicate';
      if (t.wattHours !== null) {
        changedFromMs = this.counterChangeFromMs(m, t, i);
        if (changedFromMs < ts) changedToMs = i + 1 < t.data.length >> 1 ? t.data[(i + 1) << 1]! : ts;
      }
    } else {
      const seen = this.gridSeen[g!]!;
      if (seen.has(ts)) return 'duplicate';
      seen.add(ts);
      for (const size of this.sizes) {
        const start = windowStartMs(ts, size.windowMs);
        let sums = size.grid.get(start);
        if (sums === undefined) {
          sums = newGridSums();
          size.grid.set(start, sums);
        }
        addGrid(sums, r);
      }
    }
    if (!this.allStarted) {
      for (const size of this.sizes) {
        // Until the first window of a size is passed, its first window follows the earliest reading.
        const startMs = windowStartMs(ts, size.windowMs);
        if (!size.started && !(startMs >= size.nextStartMs)) size.nextStartMs = startMs;
      }
    }
    if (ts > this.maxTsMs) this.maxTsMs = ts;
    this.clock.note(m !== undefined ? m : this.model.meterIds.length + g!, ts, nowMs);
    // The window of some size containing ts was already passed (nextStartMs is aligned, so
    // windowStart(ts) < nextStart ⟺ ts < nextStart): it is restated.
    if (changedFromMs < this.passedUntilMs) {
      if (changedFromMs < this.dirtyFromMs) this.dirtyFromMs = changedFromMs;
      if (changedToMs > this.dirtyToMs) this.dirtyToMs = changedToMs;
      return 'accepted_late';
    }
    return 'accepted';
  }

  /**
   * Where an inserted reading's change begins on a meter with counters: at the counter
   * reading before it when it closes (counter-only) or splits a counter interval. Part of that
   * interval may lie in time already folded or in windows that can no longer be restated:
   * that part is lost to them, and the reading is counted late for its meter.
   */
  private counterChangeFromMs(m: number, t: MeterTail, i: number): number {
    const closes = isCounterOnly(t, i);
    if (closes && this.isCounterMeter[m] === 0) {
      this.isCounterMeter[m] = 1;
      this.counterMeters.push(m);
    }
    const ts = t.data[i << 1]!;
    if (i <= t.head || t.wattHours![i - 1]! !== t.wattHours![i - 1]!) return ts;
    if (!closes && !isCounterOnly(t, i + 1)) return ts;
    const fromMs = t.data[(i - 1) << 1]!;
    // The counter interval this reading closes, or the one it splits.
    const end = closes ? i : i + 1;
    const measured = counterWatts(fromMs, t.wattHours![i - 1]!, t.data[end << 1]!, t.wattHours![end]!, this.settings.maxCounterGapMs);
    if (measured === measured && (fromMs < this.frontierMs || this.reachesFinalWindows(fromMs))) this.lateByMeter[m]!++;
    return fromMs;
  }

  /**
   * True when time from `fromMs` on lies in a window of some size that can no longer be
   * restated (final, or skipped as empty): a counter interval reaching back there is lost
   * to that window and its reading is counted late.
   */
  private reachesFinalWindows(fromMs: number): boolean {
    for (const size of this.sizes) {
      if (!size.started) continue;
      const restatableFromMs = size.open.length > 0 ? size.open[0]!.startMs : size.nextStartMs;
      if (fromMs < restatableFromMs) return true;
    }
    return false;
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
    this.process(this.watermarkMs, this.acceptHorizonMs(this.watermarkMs), out);
  }

  /** Closes every window that holds data. The site accepts nothing afterwards. */
  drain(out: WindowResult[]): void {
    if (this.closed) return;
    if (this.maxTsMs !== -Infinity) {
      let endMs = -Infinity;
      const reach = this.maxTsMs + this.settings.maxHoldMs;
      for (const size of this.sizes) endMs = Math.max(endMs, windowStartMs(reach, size.windowMs) + size.windowMs);
      this.watermarkMs = Math.max(this.watermarkMs, endMs);
      this.process(this.watermarkMs, Infinity, out);
    }
    this.closed = true;
  }

  /** Earliest event time a reading may still have: later windows are all still open. */
  private acceptHorizonMs(watermarkMs: number): number {
    const x = watermarkMs - this.settings.allowedLatenessMs;
    let a = -Infinity;
    for (const size of this.sizes) a = Math.max(a, windowStartMs(x, size.windowMs));
    return a;
  }

  private process(wm: number, acceptHorizonMs: number, out: WindowResult[]): void {
    const finalBeforeMs = acceptHorizonMs === Infinity ? Infinity : wm - this.settings.allowedLatenessMs;
    // 1. Restate windows changed by late readings.
    if (this.dirtyFromMs !== Infinity) {
      const earliestRestated = this.earliestDataMs();
      for (const size of this.sizes) {
        for (const w of size.open) {
          if (w.startMs + size.windowMs > this.dirtyFromMs && w.startMs < this.dirtyToMs) this.emit(size, w, out, earliestRestated);
        }
      }
      this.dirtyFromMs = Infinity;
      this.dirtyToMs = -Infinity;
    }
    // 2. Emit windows the watermark has passed, in order of end time, folding behind them.
    for (;;) {
      const earliest = this.earliestDataMs();
      for (const size of this.sizes) this.skipEmptyWindows(size, earliest, finalBeforeMs);
      let endMs = Infinity;
      for (const size of this.sizes) endMs = Math.min(endMs, size.nextStartMs + size.windowMs);
      if (!(endMs <= wm)) break;
      for (const size of this.sizes) {
        if (size.nextStartMs + size.windowMs !== endMs) continue;
        size.started = true;
        this.allStarted = this.sizes.every((x) => x.started);
        const w: OpenWindow = { startMs: size.nextStartMs, revision: -1 };
        // A window holds data if the live tails reach into it or its frozen part has some.
        if (endMs > earliest || size.frozen.startMs === w.startMs) this.emit(size, w, out, earliest);
        if (endMs > finalBeforeMs) size.open.push(w);
        size.nextStartMs += size.windowMs;
        if (size.nextStartMs > this.passedUntilMs) this.passedUntilMs = size.nextStartMs;
      }
      this.advanceFrontier(Math.min(acceptHorizonMs, this.foldLimitMs()), acceptHorizonMs === Infinity);
    }
    this.advanceFrontier(Math.min(acceptHorizonMs, this.foldLimitMs()), acceptHorizonMs === Infinity);
    // 3. Forget windows that can no longer change.
    for (const size of this.sizes) {
      if (size.open.length > 0) size.open = size.open.filter((w) => w.startMs + size.windowMs > finalBeforeMs);
      for (const start of size.grid.keys()) {
        if (start + size.windowMs <= finalBeforeMs || start + size.windowMs <= this.frontierMs) size.grid.delete(start);
      }
    }
  }

  /**
   * Jumps over a stretch of windows without any data (a site silent for hours, or a first
   * reading far behind the next): only windows still open to late data are kept.
   */
  private skipEmptyWindows(size: SizeState, earliestMs: number, finalBeforeMs: number): void {
    if (!(size.nextStartMs + size.windowMs <= earliestMs)) return;
    let jumpMs = Math.min(
      windowStartMs(earliestMs, size.windowMs),
      Number.isFinite(finalBeforeMs) ? windowStartMs(finalBeforeMs, size.windowMs) : Infinity,
    );
    if (size.frozen.startMs >= size.nextStartMs) jumpMs = Math.min(jumpMs, size.frozen.startMs);
    if (!(jumpMs > size.nextStartMs)) return;
    size.nextStartMs = jumpMs;
    if (size.nextStartMs > this.passedUntilMs) this.passedUntilMs = size.nextStartMs;
  }

  /**
   * Refuses readings before `toMs` from now on and folds up to it, or only up to the start of
   * a counter interval that a reading still acceptable could close (not when draining).
   */
  private advanceFrontier(toMs: number, draining: boolean): void {
    if (toMs > this.acceptFromMs) this.acceptFromMs = toMs;
    let foldToMs = toMs;
    if (!draining) {
      for (const m of this.counterMeters) {
        // Whole seconds: the integrator's 1-second buckets must not straddle two folds.
        const pendingMs = Math.floor(pendingCounterFromMs(this.tails[m]!, this.acceptFromMs, this.settings.maxCounterGapMs) / 1000) * 1000;
        if (pendingMs < foldToMs) foldToMs = pendingMs;
      }
    }
    this.fold(foldToMs);
  }

  private foldLimitMs(): number {
    let limit = Infinity;
    for (const size of this.sizes) limit = Math.min(limit, size.nextStartMs + size.windowMs);
    return limit;
  }

  /** Earliest time any meter or grid sensor may contribute. */
  private earliestDataMs(): number {
    let earliest = Infinity;
    for (const t of this.tails) {
      const e = earliestLiveMs(t, this.frontierMs, this.settings.maxHoldMs);
      if (e < earliest) earliest = e;
    }
    for (const size of this.sizes) {
      for (const start of size.grid.keys()) if (start < earliest) earliest = start;
    }
    return earliest;
  }

  /** Folds [frontier, toMs) into the frozen accumulators of every window size. */
  private fold(toMs: number): void {
    if (!(toMs > this.frontierMs)) return;
    if (this.frontierMs === -Infinity) {
      // Never ahead of the lateness horizon: an earlier reading may still open earlier windows.
      this.frontierMs = Math.min(this.firstFrontier(), toMs);
      if (!(toMs > this.frontierMs)) return;
    }
    let a = this.frontierMs;
    const earliest = this.earliestDataMs();
    const windowSizes = this.sizes.map((s) => s.windowMs);
    while (a < toMs) {
      if (earliest > a) a = Math.min(toMs, Math.max(a, Math.floor(earliest / 1000) * 1000));
      if (a >= toMs) break;
      const b = Math.min(toMs, nextBoundaryMs(a, windowSizes), a + this.integrator.maxRangeMs);
      this.integrator.integrate(this.tails, a, b, this.settings.maxHoldMs, this.settings.maxCounterGapMs, this.scratch);
      for (const size of this.sizes) {
        const start = windowStartMs(a, size.windowMs);
        if (size.frozen.startMs !== start) resetAggregates(size.frozen, start);
        mergeAggregates(size.frozen, this.scratch);
        if (size.swing !== undefined) {
          if (size.swing.startMs !== start) resetSwing(size.swing, start);
          addBuckets(size.swing, this.integrator.buckets, this.model.nodes.length);
        }
      }
      for (let m = 0; m < this.tails.length; m++) this.counterResets += this.scratch.counterResets[m]!;
      a = b;
    }
    this.frontierMs = toMs;
    for (const t of this.tails) foldTail(t, toMs, this.settings.maxHoldMs, this.settings.maxCounterGapMs);
    for (const seen of this.gridSeen) for (const ts of seen) if (ts < toMs) seen.delete(ts);
  }

  /** The first frontier: the start of the earliest window of any size. */
  private firstFrontier(): number {
    let first = Infinity;
    for (const size of this.sizes) first = Math.min(first, size.nextStartMs);
    return first;
  }

  exportState(): SiteState {
    return {
      site: this.model.spec.id,
      tails: this.tails.map((t) => ({
        data: t.data.slice(t.head << 1),
        wattHours: t.wattHours === null ? null : t.wattHours.slice(t.head),
        head: 0,
      })),
      frontierMs: this.frontierMs,
      acceptFromMs: this.acceptFromMs,
      counterMeters: [...this.counterMeters],
      maxTsMs: this.maxTsMs,
      watermarkMs: this.watermarkMs,
      dirtyFromMs: this.dirtyFromMs,
      dirtyToMs: this.dirtyToMs,
      closed: this.closed,
      lateByMeter: Array.from(this.lateByMeter),
      lateByGridMeter: Array.from(this.lateByGridMeter),
      meterMaxTsMs: Array.from(this.clock.maxTsMs),
      meterSeenMs: Array.from(this.clock.seenMs),
      counterResets: this.counterResets,
      passedUntilMs: this.passedUntilMs,
      allStarted: this.allStarted,
      gridSeen: this.gridSeen.map((s) => [...s]),
      sizes: this.sizes.map(exportSizeState),
    };
  }

  importState(raw: unknown): void {
    const state = raw as SiteState;
    if (state.site !== this.model.spec.id || state.tails.length !== this.tails.length) {
      throw new Error(`snapshot of site '${String(state.site)}' does not fit site '${this.model.spec.id}'`);
    }
    state.tails.forEach((t, i) => Object.assign(this.tails[i]!, t));
    this.frontierMs = state.frontierMs;
    this.acceptFromMs = state.acceptFromMs ?? state.frontierMs;
    this.counterMeters.length = 0;
    this.isCounterMeter.fill(0);
    for (const m of state.counterMeters ?? []) {
      if (!Number.isInteger(m) || m < 0 || m >= this.tails.length) throw new Error(`snapshot names counter meter ${String(m)} of ${this.tails.length}`);
      this.isCounterMeter[m] = 1;
      this.counterMeters.push(m);
    }
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
    this.passedUntilMs = state.passedUntilMs;
    this.allStarted = state.allStarted;
    state.gridSeen.forEach((list, i) => {
      this.gridSeen[i] = new Set(list);
    });
    if (state.sizes.length !== this.sizes.length) throw new Error('snapshot has other window sizes');
    state.sizes.forEach((s, i) => importSizeState(this.sizes[i]!, s));
  }

  /** Computes one window from its frozen part and the live tail, and emits it if it has data. */
  /** `earliestMs`: earliestDataMs() of the current tails (computed once by the caller). */
  private emit(size: SizeState, w: OpenWindow, out: WindowResult[], earliestMs: number): void {
    const startMs = w.startMs;
    const endMs = startMs + size.windowMs;
    const acc = this.windowAcc;
    if (size.frozen.startMs === startMs) copyAggregates(acc, size.frozen);
    else resetAggregates(acc, startMs);
    const swing = this.swingWork.get(size);
    if (swing !== undefined) {
      if (size.swing !== undefined && size.swing.startMs === startMs) copySwing(swing, size.swing);
      else resetSwing(swing, startMs);
    }
    let a = Math.max(startMs, this.frontierMs);
    if (earliestMs > a) a = Math.max(a, Math.floor(earliestMs / 1000) * 1000);
    while (a < endMs) {
      const b = Math.min(endMs, a + this.integrator.maxRangeMs);
      this.integrator.integrate(this.tails, a, b, this.settings.maxHoldMs, this.settings.maxCounterGapMs, this.scratch);
      mergeAggregates(acc, this.scratch);
      if (swing !== undefined) addBuckets(swing, this.integrator.buckets, this.model.nodes.length);
      a = b;
    }
    const records = deriveWindow({
      model: this.model,
      settings: this.settings,
      windowMs: size.windowMs,
      startMs,
      revision: w.revision + 1,
      acc,
      history: size.history,
      demand: size.demand,
      grid: size.grid.get(startMs),
      emitMeters: this.emitMeters,
      scratch: this.deriveScratch,
      swing,
      swingScratch: this.swingScratch,
    });
    if (records.length === 0) return;
    w.revision++;
    for (const r of records) out.push(r);
  }
}

/** Plain-data state of a site engine, for snapshots. */
interface SiteState {
  site: string;
  tails: MeterTail[];
  frontierMs: number;
  /** Absent in snapshots taken before counters could hold the frontier back. */
  acceptFromMs?: number;
  counterMeters?: number[];
  maxTsMs: number;
  watermarkMs: number;
  dirtyFromMs: number;
  dirtyToMs?: number;
  closed: boolean;
  lateByMeter: number[];
  lateByGridMeter: number[];
  meterMaxTsMs: number[];
  meterSeenMs: number[];
  counterResets: number;
  passedUntilMs: number;
  allStarted: boolean;
  gridSeen: number[][];
  sizes: SizeSnapshot[];
}
