/** `pipeline` → EngineSettings: windows, watermark and lateness settings. */
import { z } from 'zod';
import type { EngineSettings } from '../../domain/index.js';
import { durationMs, formatDurationMs } from '../units.js';
import { fraction, positive, strictObject, wholeSecondsMs } from './common.js';

// ---------------------------------------------------------------------------------------
// pipeline → EngineSettings

export const pipelineSchema = strictObject({
  /** Tumbling window sizes; each a whole number of seconds, >= 1s, no duplicates. Default [10s, 1m, 15m]. Sorted ascending. */
  windows: z.array(wholeSecondsMs).min(1).default(['10s', '1m', '15m']),
  /** Watermark lag behind the largest event time seen. Default 2s. */
  maxOutOfOrder: durationMs.default('2s'),
  /** How long an emitted window still accepts late readings (re-emitted with revision + 1). Default 10s. */
  allowedLateness: durationMs.default('10s'),
  /** Longest a reading holds its value; after that the meter is stale. Default 5s. */
  maxHold: positive(durationMs, 'maxHold').default('5s'),
  /**
   * Longest gap between two consecutive `wattHours` counter readings that still measures the
   * interval between them (power (E1 − E0) / (t1 − t0) over all of it; `maxHold` does not apply
   * to counters). A longer gap leaves its interval uncovered. Default 15m.
   */
  maxCounterGap: positive(durationMs, 'maxCounterGap').default('15m'),
  /** A partition quiet this long (processing time) advances on the processing clock. Default 30s. */
  idleTimeout: positive(durationMs, 'idleTimeout').default('30s'),
  /** Readings further ahead of the processing clock are rejected as from the future. Default 5m. */
  maxClockSkew: durationMs.default('5m'),
  /** Below this share of reporting meters a node's headroom is uncertain (0..1). Default 0.9. */
  completenessThreshold: fraction.default(0.9),
  /** Fewest recent windows in the least-squares time-to-breach trend (>= 2). Default 6. */
  trendWindows: z.number().int().min(2).default(6),
  /** Span of the time-to-breach trend: several swing periods. Default 10m. */
  trendHorizon: positive(durationMs, 'trendHorizon').default('10m'),
  /**
   * The watermark follows the k-th most advanced meter clock among recently active meters,
   * so k - 1 meters with clocks running ahead cannot make a site late. Default 3.
   */
  watermarkQuorum: z.number().int().min(1).default(3),
})
  .superRefine((p, ctx) => {
    const seen = new Map<number, number>();
    p.windows.forEach((ms, i) => {
      const first = seen.get(ms);
      if (first !== undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['windows', i], message: `duplicate window ${formatDurationMs(ms)} (first at windows[${first}])` });
      } else seen.set(ms, i);
    });
  })
  .transform(
    (p): EngineSettings => ({
      windowsMs: [...p.windows].sort((a, b) => a - b),
      maxOutOfOrderMs: p.maxOutOfOrder,
      allowedLatenessMs: p.allowedLateness,
      maxHoldMs: p.maxHold,
      maxCounterGapMs: p.maxCounterGap,
      idleTimeoutMs: p.idleTimeout,
      maxClockSkewMs: p.maxClockSkew,
      completenessThreshold: p.completenessThreshold,
      trendWindows: p.trendWindows,
      trendHorizonMs: p.trendHorizon,
      watermarkQuorum: p.watermarkQuorum,
    }),
  );
