import type { EngineSettings, Reading } from '../domain/index.js';
import { trendSlots } from './derive/index.js';
import { addGrid, newGridSums } from './grid.js';
import { newSizeState, type OpenWindow, type SizeState } from './size-state.js';
import { SWING_MIN_WINDOW_MS } from './swing.js';
import { windowStartMs } from './time.js';

/**
 * The windows of every size of one site: where each size's next window starts, which passed
 * windows are still open to restatement, and the grid-signal sums per window. Times are in
 * the site's event time; see the timeline at the top of SiteEngine.
 */
export class WindowSchedule {
  /** One per window size, smallest first. */
  readonly sizes: SizeState[];
  /** The end of the latest window passed, over all sizes (-Infinity before any). */
  passedUntilMs = -Infinity;
  /** True once every size has passed a window. */
  allStarted = false;
  /** Windows passed one by one so far (work done, not state: not snapshotted). */
  windowsPassed = 0;

  constructor(settings: EngineSettings, meterCount: number, nodeCount: number) {
    const swingSizes = settings.windowsMs.filter((windowMs) => windowMs >= SWING_MIN_WINDOW_MS).length;
    this.sizes = [...settings.windowsMs]
      .sort((a, b) => a - b)
      .map((windowMs) => newSizeState(windowMs, meterCount, nodeCount, trendSlots(settings, windowMs), swingSizes));
  }

  /** Until the first window of a size is passed, its first window follows the earliest reading. */
  noteReading(tsMs: number): void {
    for (const size of this.sizes) {
      const startMs = windowStartMs(tsMs, size.windowMs);
      if (!size.started && !(startMs >= size.nextStartMs)) size.nextStartMs = startMs;
    }
  }

  /** Adds a grid sensor's reading to the grid sums of its window of every size. */
  addGridReading(reading: Reading): void {
    for (const size of this.sizes) {
      const startMs = windowStartMs(reading.tsMs, size.windowMs);
      let sums = size.grid.get(startMs);
      if (sums === undefined) {
        sums = newGridSums();
        size.grid.set(startMs, sums);
      }
      addGrid(sums, reading);
    }
  }

  /**
   * The earliest start of a window of `size` not yet passed that holds grid sums (Infinity
   * when none does). Sums of windows already passed (kept for restatements) do not count: they
   * cannot make a window still to come hold data.
   */
  private pendingGridStartMs(size: SizeState): number {
    let earliest = Infinity;
    for (const startMs of size.grid.keys()) if (startMs >= size.nextStartMs && startMs < earliest) earliest = startMs;
    return earliest;
  }

  /** The latest start, over the sizes, of the window holding `finalBeforeMs`: every window from there on is still open. */
  acceptHorizonMs(finalBeforeMs: number): number {
    let horizonMs = -Infinity;
    for (const size of this.sizes) horizonMs = Math.max(horizonMs, windowStartMs(finalBeforeMs, size.windowMs));
    return horizonMs;
  }

  /** The end of the earliest window not yet passed, over all sizes (folding stops there). */
  nextEndMs(): number {
    let endMs = Infinity;
    for (const size of this.sizes) endMs = Math.min(endMs, size.nextStartMs + size.windowMs);
    return endMs;
  }

  /** The start of the earliest window not yet passed, over all sizes (the first fold frontier). */
  nextStartMs(): number {
    let startMs = Infinity;
    for (const size of this.sizes) startMs = Math.min(startMs, size.nextStartMs);
    return startMs;
  }

  /**
   * True when time from `fromMs` on lies in a window of some size that can no longer be
   * restated (final, or skipped as empty): a counter interval reaching back there is lost
   * to that window and its reading is counted late.
   */
  reachesFinalWindows(fromMs: number): boolean {
    for (const size of this.sizes) {
      if (!size.started) continue;
      const restatableFromMs = size.open.length > 0 ? size.open[0]!.startMs : size.nextStartMs;
      if (fromMs < restatableFromMs) return true;
    }
    return false;
  }

  /**
   * Jumps each size over a stretch of windows without any data (a site silent for hours or
   * months, or a first reading far behind the next), in one step whatever its length: only
   * windows still open to late data are kept. `earliestTailMs`: the earliest time a meter
   * tail may contribute; the size's own grid sums of windows to come count too.
   */
  skipEmptyWindows(earliestTailMs: number, finalBeforeMs: number): void {
    for (const size of this.sizes) {
      const earliestDataMs = Math.min(earliestTailMs, this.pendingGridStartMs(size));
      if (!(size.nextStartMs + size.windowMs <= earliestDataMs)) continue;
      let jumpMs = Math.min(
        windowStartMs(earliestDataMs, size.windowMs),
        Number.isFinite(finalBeforeMs) ? windowStartMs(finalBeforeMs, size.windowMs) : Infinity,
      );
      if (size.frozen.startMs >= size.nextStartMs) jumpMs = Math.min(jumpMs, size.frozen.startMs);
      if (!(jumpMs > size.nextStartMs)) continue;
      size.nextStartMs = jumpMs;
      if (size.nextStartMs > this.passedUntilMs) this.passedUntilMs = size.nextStartMs;
    }
  }

  /** Passes the next window of `size` (the watermark reached its end) and returns it. */
  pass(size: SizeState): OpenWindow {
    this.windowsPassed++;
    size.started = true;
    this.allStarted = this.sizes.every((other) => other.started);
    const window: OpenWindow = { startMs: size.nextStartMs, revision: -1 };
    size.nextStartMs += size.windowMs;
    if (size.nextStartMs > this.passedUntilMs) this.passedUntilMs = size.nextStartMs;
    return window;
  }

  /** Forgets windows that can no longer change: final ones, and grid sums of windows final or folded. */
  forgetFinal(finalBeforeMs: number, frontierMs: number): void {
    for (const size of this.sizes) {
      if (size.open.length > 0) size.open = size.open.filter((window) => window.startMs + size.windowMs > finalBeforeMs);
      for (const startMs of size.grid.keys()) {
        if (startMs + size.windowMs <= finalBeforeMs || startMs + size.windowMs <= frontierMs) size.grid.delete(startMs);
      }
    }
  }
}
