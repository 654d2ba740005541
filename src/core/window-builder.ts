import type { EngineSettings, WindowResult } from '../domain/index.js';
import { copyAggregates, mergeAggregates, newAggregates, resetAggregates, type SiteAggregates } from './aggregates.js';
import { deriveWindow, newDeriveScratch, type DeriveScratch } from './derive/index.js';
import type { RangeIntegrator } from './range-integrator.js';
import type { SiteModel } from './site-model.js';
import type { OpenWindow, SizeState } from './size-state.js';
import { addBuckets, copySwing, newSwingScratch, newSwingSeries, resetSwing, type SwingScratch, type SwingSeries } from './swing.js';
import { bucketStartMs, nextBoundaryMs } from './time.js';

/**
 * Computes one window of a site from its size's frozen part (time before the fold frontier)
 * and the live tails (time after it), and derives its records. Owns the working copies, so
 * emitting never touches the frozen accumulators.
 */
export class WindowBuilder {
  private readonly windowAcc: SiteAggregates;
  private readonly deriveScratch: DeriveScratch;
  /** Per size with swing metrics: the working copy of its series while a window is built. */
  private readonly swingWork = new Map<SizeState, SwingSeries>();
  private readonly swingScratch: SwingScratch;
  private readonly windowSizesMs: number[];

  /** `integrator`: the site's, shared with the fold (both run one at a time). */
  constructor(
    private readonly model: SiteModel,
    private readonly settings: EngineSettings,
    private readonly emitMeters: boolean,
    private readonly integrator: RangeIntegrator,
    sizes: readonly SizeState[],
  ) {
    this.windowSizesMs = sizes.map((size) => size.windowMs);
    this.windowAcc = newAggregates(model.meterIds.length, model.nodes.length);
    this.deriveScratch = newDeriveScratch(model.nodes.length);
    const swingSizes = sizes.filter((size) => size.swing !== undefined).length;
    let maxPoints = 0;
    for (const size of sizes) {
      const work = newSwingSeries(size.windowMs, model.nodes.length, swingSizes);
      if (work === undefined) continue;
      this.swingWork.set(size, work);
      maxPoints = Math.max(maxPoints, work.points);
    }
    this.swingScratch = newSwingScratch(maxPoints);
  }

  /**
   * Builds `window` of `size` and appends its records to `out` when it has data (then its
   * revision goes up by one). `earliestDataMs`: when the live tails begin (computed once by the caller).
   */
  build(size: SizeState, window: OpenWindow, frontierMs: number, earliestDataMs: number, out: WindowResult[]): void {
    const startMs = window.startMs;
    const endMs = startMs + size.windowMs;
    const acc = this.windowAcc;
    if (size.frozen.startMs === startMs) copyAggregates(acc, size.frozen);
    else resetAggregates(acc, startMs);
    const swing = this.swingWork.get(size);
    if (swing !== undefined) {
      if (size.swing !== undefined && size.swing.startMs === startMs) copySwing(swing, size.swing);
      else resetSwing(swing, startMs);
    }
    let fromMs = Math.max(startMs, frontierMs);
    if (earliestDataMs > fromMs) fromMs = Math.max(fromMs, bucketStartMs(earliestDataMs));
    // Split where the fold splits (every window boundary): the fold and the builds of longer
    // windows then take these ranges from the integrator's cache instead of integrating them again.
    while (fromMs < endMs) {
      const toMs = Math.min(endMs, nextBoundaryMs(fromMs, this.windowSizesMs), fromMs + this.integrator.maxRangeMs);
      const range = this.integrator.range(fromMs, toMs, true);
      mergeAggregates(acc, range.agg);
      if (swing !== undefined) addBuckets(swing, range.buckets, this.model.nodes.length);
      fromMs = toMs;
    }
    const appended = deriveWindow(
      {
        model: this.model,
        settings: this.settings,
        windowMs: size.windowMs,
        startMs,
        revision: window.revision + 1,
        acc,
        history: size.history,
        demand: size.demand,
        grid: size.grid.get(startMs),
        emitMeters: this.emitMeters,
        scratch: this.deriveScratch,
        swing,
        swingScratch: this.swingScratch,
      },
      out,
    );
    if (appended > 0) window.revision++;
  }
}
