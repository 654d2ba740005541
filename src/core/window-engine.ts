import type { EngineSettings, Reading, RecordOutcome, Topology, WindowResult } from '../domain/index.js';
import { buildSiteModel } from './site-model.js';
import { SiteEngine } from './site-engine.js';
import { decodeWindowSnapshot, encodeWindowSnapshot } from './snapshot/window-snapshot.js';
import { SnapshotError } from './snapshot/error.js';

export interface EngineOptions {
  /** Emit per-meter window records too (replay --meters). */
  emitMeters?: boolean;
  /**
   * Reuse the ranges window builds integrated in the fold and longer windows (default true).
   * false integrates every range afresh: the same results at more cost (for tests).
   */
  reuseRanges?: boolean;
}

export interface EngineStats {
  /** Watermark per site, ms (-Infinity before the first reading). */
  watermarkMs: Record<string, number>;
  /**
   * Readings dropped as late, and counter readings whose interval reached back into windows
   * already final (the rest of it was applied), per site then meter (meters with none are left out).
   */
  lateBySiteMeter: Record<string, Record<string, number>>;
  /** wattHours counter resets detected (in folded time), per site. */
  counterResetsBySite: Record<string, number>;
}

/** Work an engine has done, summed over its sites: what an advance costs, counted instead of timed. */
export interface EngineWork {
  /** Windows passed one by one (built or found empty); stretches without data are skipped in one step. */
  windowsPassed: number;
  /** Ranges of time integrated over the meter tails (folds and window builds). */
  rangesIntegrated: number;
  /** Ranges a window build had integrated, taken again by the fold or a longer window instead of integrating them. */
  rangesReused: number;
}

/**
 * The windowing core. Pure: time arrives as data.
 * - record(reading, nowMs): nowMs is the caller's processing clock (wall clock live,
 *   largest event time seen in replay); used for future checks and idle tracking.
 * - advance(nowMs, caughtUp): moves watermarks (idle partitions too) and returns closed
 *   windows, including re-emissions (revision + 1) of windows updated by late readings.
 *   `caughtUp` is the caller's word that nothing waits upstream (default true: replay, the
 *   memory bus); false (a backlog, a disconnected or paused source) holds idle advance.
 * - drain(): closes every open window (end of input / shutdown).
 * Each site is one watermark partition.
 */
export class WindowEngine {
  private readonly sites = new Map<string, SiteEngine>();
  private readonly siteOrder: SiteEngine[] = [];
  private lastSiteId: string | null = null;
  private lastSite: SiteEngine | undefined = undefined;

  constructor(
    readonly topology: Topology,
    readonly settings: EngineSettings,
    readonly options: EngineOptions = {},
  ) {
    for (const spec of topology.sites) {
      const engine = new SiteEngine(buildSiteModel(spec), settings, options.emitMeters === true, options.reuseRanges !== false);
      this.sites.set(spec.id, engine);
      this.siteOrder.push(engine);
    }
  }

  record(reading: Reading, nowMs: number): RecordOutcome {
    // Gateway batches carry one site: skip the map lookup while the site repeats.
    const site = reading.site === this.lastSiteId ? this.lastSite : this.sites.get(reading.site);
    if (site === undefined) return 'unknown_site';
    this.lastSiteId = reading.site;
    this.lastSite = site;
    return site.record(reading, nowMs);
  }

  advance(nowMs: number, caughtUp = true): WindowResult[] {
    const out: WindowResult[] = [];
    for (const site of this.siteOrder) site.advance(nowMs, out, caughtUp);
    return out;
  }

  drain(): WindowResult[] {
    const out: WindowResult[] = [];
    for (const site of this.siteOrder) site.drain(out);
    return out;
  }

  /** Watermark of one site, ms (-Infinity before its first reading or for an unknown site). */
  siteWatermarkMs(siteId: string): number {
    return this.sites.get(siteId)?.watermarkMs ?? -Infinity;
  }

  /** Watermark per site (the cheap part of stats(), for every batch of results). */
  watermarksMs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const site of this.siteOrder) out[site.model.spec.id] = site.watermarkMs;
    return out;
  }

  stats(): EngineStats {
    const stats: EngineStats = { watermarkMs: this.watermarksMs(), lateBySiteMeter: {}, counterResetsBySite: {} };
    for (const site of this.siteOrder) {
      const id = site.model.spec.id;
      const late: Record<string, number> = {};
      site.lateByMeter.forEach((count, meter) => {
        if (count > 0) late[site.model.meterIds[meter]!] = count;
      });
      site.lateByGridMeter.forEach((count, gridMeter) => {
        if (count > 0) late[site.model.gridMeterIds[gridMeter]!] = count;
      });
      stats.lateBySiteMeter[id] = late;
      stats.counterResetsBySite[id] = site.counterResets;
    }
    return stats;
  }

  /** Work done so far (tests and benchmarks: the cost of a jump in event time is bounded by the data, not its length). */
  work(): EngineWork {
    const total: EngineWork = { windowsPassed: 0, rangesIntegrated: 0, rangesReused: 0 };
    for (const site of this.siteOrder) {
      const work = site.work();
      total.windowsPassed += work.windowsPassed;
      total.rangesIntegrated += work.rangesIntegrated;
      total.rangesReused += work.rangesReused;
    }
    return total;
  }

  /** Serialises the whole state (for checkpoints): the versioned format of snapshot/window-state.ts. */
  snapshot(): Uint8Array {
    return encodeWindowSnapshot(this.siteOrder.map((site) => site.toState()));
  }

  /**
   * Rebuilds an engine from a snapshot taken with the same topology and settings. Corrupt bytes,
   * an unknown format version or a snapshot of another topology or window set throw SnapshotError.
   */
  static restore(topology: Topology, settings: EngineSettings, bytes: Uint8Array, options: EngineOptions = {}): WindowEngine {
    const engine = new WindowEngine(topology, settings, options);
    const sites = decodeWindowSnapshot(bytes);
    if (sites.length !== engine.siteOrder.length) throw new SnapshotError('snapshot was taken with another topology');
    try {
      sites.forEach((state, i) => engine.siteOrder[i]!.fromState(state));
    } catch (err: unknown) {
      if (err instanceof SnapshotError) throw err;
      // A snapshot of another topology or window set: one error type for callers.
      throw new SnapshotError(`snapshot does not fit this engine: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return engine;
  }
}
