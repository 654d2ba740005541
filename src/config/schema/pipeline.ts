/** `pipeline` → EngineSettings: windows, watermark and lateness settings. */
import { z } from 'zod';
import type { EngineSettings } from '../../domain/index.js';
import { durationMs, formatDurationMs } from '../units.js';
import { fraction, positive, strictObject, wholeSecondsMs } from './common.js';

// ---------------------------------------------------------------------------------------
// Bounds: past these a setting exhausts memory or stops making sense for a live stream.

const DAY_MS = 86_400_000;
/** Longest window: 31 days (a billing month). Longer spans (years) are queries over the sinks, not windows held in memory. */
export const MAX_WINDOW_MS = 31 * DAY_MS;
/** Most window sizes: each size keeps its own per-node state and multiplies the output. */
export const MAX_WINDOW_SIZES = 8;
/**
 * Longest maxOutOfOrder, allowedLateness, maxHold and idleTimeout: a day. Hourly or daily
 * data (utility exports) needs hours; what is older than a day is replayed, not held open.
 */
export const MAX_OUT_OF_ORDER_MS = DAY_MS;
export const MAX_ALLOWED_LATENESS_MS = DAY_MS;
export const MAX_HOLD_MS = DAY_MS;
export const MAX_IDLE_TIMEOUT_MS = DAY_MS;
/** Largest maxClockSkew: readings more than a day ahead of the processing clock are a wrong clock, not skew. */
export const MAX_CLOCK_SKEW_MS = DAY_MS;
/** Most windows in the time-to-breach trend: a ring of this many per node and window size. */
export const MAX_TREND_WINDOWS = 1_000;
/** Largest watermarkQuorum: a buffer of k clocks per site, scanned on every advance; past a site's meter count it waits for the slowest meter. */
export const MAX_WATERMARK_QUORUM = 100;
/**
 * Most windows of the smallest size a node keeps open at once: (maxOutOfOrder +
 * allowedLateness) / smallest window. 720 is an hour of 5 s windows.
 */
export const MAX_OPEN_WINDOWS = 720;

/** A duration schema with an upper bound and the reason for it in the message. */
function atMostMs<T extends z.ZodType<number, z.ZodTypeDef, unknown>>(schema: T, maxMs: number, why: string) {
  return schema.refine((ms) => !(ms > maxMs), (ms) => ({ message: `${formatDurationMs(ms)} is longer than ${formatDurationMs(maxMs)}: ${why}` }));
}

// ---------------------------------------------------------------------------------------
// pipeline → EngineSettings

export const pipelineSchema = strictObject({
  windows: z
    .array(atMostMs(wholeSecondsMs, MAX_WINDOW_MS, 'longer spans are queries over the sinks, not windows held in memory'))
    .min(1)
    .max(MAX_WINDOW_SIZES, { message: `at most ${MAX_WINDOW_SIZES} window sizes: each keeps its own state per node` })
    .default(['10s', '1m', '15m']).describe('Tumbling window sizes; each a whole number of seconds, 1s to 31d, no duplicates, at most 8 sizes. Default [10s, 1m, 15m]. Sorted ascending.'),
  maxOutOfOrder: atMostMs(durationMs, MAX_OUT_OF_ORDER_MS, 'every meter\'s readings are held this long before windows close; replay older data instead').default('2s').describe('Watermark lag behind the largest event time seen; at most 1d (readings are held that long). Default 2s.'),
  allowedLateness: atMostMs(durationMs, MAX_ALLOWED_LATENESS_MS, 'emitted windows are kept in memory this long; replay older data instead').default('10s').describe('How long an emitted window still accepts late readings (re-emitted with revision + 1); at most 1d. Default 10s.'),
  maxHold: atMostMs(positive(durationMs, 'maxHold'), MAX_HOLD_MS, 'a value held longer is a guess, not a measurement').default('5s').describe('Longest a reading holds its value; after that the meter is stale. More than 0, at most 1d. Default 5s.'),
  maxCounterGap: positive(durationMs, 'maxCounterGap').default('15m').describe('Longest gap between two consecutive `wattHours` counter readings that still measures the interval between them (power (E1 − E0) / (t1 − t0) over all of it; `maxHold` does not apply to counters). A longer gap leaves its interval uncovered. Default 15m.'),
  idleTimeout: atMostMs(positive(durationMs, 'idleTimeout'), MAX_IDLE_TIMEOUT_MS, 'a silent meter would hold its site back that long').default('30s').describe('A partition quiet this long (processing time) advances on the processing clock. More than 0, at most 1d. Default 30s.'),
  maxClockSkew: atMostMs(durationMs, MAX_CLOCK_SKEW_MS, 'a reading a day ahead has a wrong clock, not skew').default('5m').describe('Readings further ahead of the processing clock are rejected as from the future; at most 1d. Default 5m.'),
  completenessThreshold: fraction.default(0.9).describe('Below this share of reporting meters a node\'s headroom is uncertain (0..1). Default 0.9.'),
  trendWindows: z
    .number()
    .int()
    .min(2)
    .max(MAX_TREND_WINDOWS, { message: `at most ${MAX_TREND_WINDOWS}: each node keeps this many windows per size for the trend` })
    .default(6).describe('Fewest recent windows in the least-squares time-to-breach trend, 2 to 1000. Default 6.'),
  trendHorizon: positive(durationMs, 'trendHorizon').default('10m').describe('Span of the time-to-breach trend: several swing periods. Default 10m.'),
  watermarkQuorum: z
    .number()
    .int()
    .min(1)
    .max(MAX_WATERMARK_QUORUM, { message: `at most ${MAX_WATERMARK_QUORUM}: k clocks are kept and sorted per site on every advance, and a k above a site's meter count waits for its slowest meter` })
    .default(3).describe('The watermark follows the k-th most advanced meter clock among recently active meters, so k - 1 meters with clocks running ahead cannot make a site late. 1 to 100. Default 3.'),
  plausibleRatingMultiple: z
    .number()
    .min(1, { message: 'at least 1: a meter may read its node\'s full rating' })
    .max(100, { message: 'at most 100: beyond that nothing is rejected and sums can overflow' })
    .default(2).describe('A power meter\'s reading beyond ± this × the rating of the node that owns the meter is rejected as `implausible` (counted, dead-lettered). 1 to 100. Default 2: a breaker carrying twice its rating trips, so more is a unit mix-up or a broken meter; the bound is symmetric because small negative readings (export, regeneration) are real.'),
})
  .superRefine((p, ctx) => {
    const seen = new Map<number, number>();
    p.windows.forEach((ms, i) => {
      const first = seen.get(ms);
      if (first !== undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['windows', i], message: `duplicate window ${formatDurationMs(ms)} (first at windows[${first}])` });
      } else seen.set(ms, i);
    });
    const smallestMs = Math.min(...p.windows);
    const openWindows = (p.maxOutOfOrder + p.allowedLateness) / smallestMs;
    // Only when each is within its own bound (otherwise that bound already said why).
    const eachWithinBound = p.maxOutOfOrder <= MAX_OUT_OF_ORDER_MS && p.allowedLateness <= MAX_ALLOWED_LATENESS_MS;
    if (p.windows.length > 0 && eachWithinBound && openWindows > MAX_OPEN_WINDOWS) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['allowedLateness'],
        message:
          `maxOutOfOrder + allowedLateness (${formatDurationMs(p.maxOutOfOrder + p.allowedLateness)}) keeps ${Math.ceil(openWindows)} windows of ` +
          `${formatDurationMs(smallestMs)} open per node, more than ${MAX_OPEN_WINDOWS}: shorten them or use a larger smallest window`,
      });
    }
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
      plausibleRatingMultiple: p.plausibleRatingMultiple,
    }),
  );
