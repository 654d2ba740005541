import type { EngineSettings, Reading, RecordOutcome, Topology, WindowResult } from '../domain/index.js';

export interface EngineOptions {
  /** Emit per-meter window records too (replay --meters). */
  emitMeters?: boolean;
}

export interface EngineStats {
  /** Watermark per site, ms (NaN before the first reading). */
  watermarkMs: Record<string, number>;
  /** Readings dropped as late, per site then meter. */
  lateBySiteMeter: Record<string, Record<string, number>>;
  /** wattHours counter resets detected, per site. */
  counterResetsBySite: Record<string, number>;
}

/**
 * The windowing core. Pure: time arrives as data.
 * - record(reading, nowMs): nowMs is the caller's processing clock (wall clock live,
 *   largest event time seen in replay); used for future checks and idle tracking.
 * - advance(nowMs): moves watermarks (idle partitions too) and returns closed windows,
 *   including re-emissions (revision + 1) of windows updated by late readings.
 * - drain(): closes every open window (end of input / shutdown).
 */
export class WindowEngine {
  constructor(
    readonly topology: Topology,
    readonly settings: EngineSettings,
    readonly options: EngineOptions = {},
  ) {}

  record(_reading: Reading, _nowMs: number): RecordOutcome {
    return 'unknown_site';
  }

  advance(_nowMs: number): WindowResult[] {
    return [];
  }

  drain(): WindowResult[] {
    return [];
  }

  stats(): EngineStats {
    return { watermarkMs: {}, lateBySiteMeter: {}, counterResetsBySite: {} };
  }

  snapshot(): Uint8Array {
    return new Uint8Array();
  }

  static restore(topology: Topology, settings: EngineSettings, _bytes: Uint8Array, options: EngineOptions = {}): WindowEngine {
    return new WindowEngine(topology, settings, options);
  }
}
