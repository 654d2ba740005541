/** Settings of the windowing core, all durations in ms. */
export interface EngineSettings {
  /** Tumbling window sizes, each a whole number of seconds, aligned to the epoch. */
  windowsMs: number[];
  maxOutOfOrderMs: number;
  allowedLatenessMs: number;
  /** How long a reading holds its value at most; after that the meter is stale. */
  maxHoldMs: number;
  /**
   * Longest interval two consecutive readings of a `wattHours` counter may span and still
   * measure it (backward, exactly); a longer gap leaves its interval uncovered.
   */
  maxCounterGapMs: number;
  /** A partition quiet this long (processing time) advances on the processing clock. */
  idleTimeoutMs: number;
  /** Readings further ahead than this are rejected as from the future. */
  maxClockSkewMs: number;
  /** Below this completeness a node's headroom is reported as uncertain. */
  completenessThreshold: number;
  /** Fewest recent windows in the time-to-breach trend. */
  trendWindows: number;
  /**
   * Span of the time-to-breach trend, ms (default 10 min): several swing periods, so an
   * oscillating load is never extrapolated from a handful of windows. Optional for callers
   * that build settings in code.
   */
  trendHorizonMs?: number;
  /**
   * The watermark follows the k-th most advanced meter clock among the meters heard from in
   * the last idleTimeoutMs (k = this, or fewer when fewer are active), so one meter with a
   * clock running ahead cannot make the rest of its site late.
   */
  watermarkQuorum: number;
  /**
   * A power meter's reading beyond ± this × the rating of the node owning the meter is
   * rejected as `implausible`. Optional; default 2 (core/plausibility.ts).
   */
  plausibleRatingMultiple?: number;
}
