/**
 * Physically plausible readings. A finite but absurd value (`watts: 1e308`, −50 MW on a
 * 22 kW rack) would otherwise be accepted: sums overflow to a silent null, or a node's
 * utilization reads −220. Such readings are rejected by record() as `implausible`.
 *
 * - Power meters: |watts| at most `multiple` × the rating of the node that owns the meter.
 *   Default 2: a breaker carrying twice its rating trips, so a meter averaging more than
 *   that over its reporting interval is misconfigured (kW sent as W) or broken. The bound
 *   is symmetric because small negative readings are real (export, regeneration, a
 *   battery discharging back); a negative reading beyond the rating is not.
 * - Grid sensors: frequency within ±10 % of the site's nominal (a grid 5 % off has long
 *   shed load and tripped its generators: 60 Hz on a 50 Hz site is a misconfiguration); voltage 0 to 1.5 MV (above any transmission
 *   level); price within ±100 000 per MWh (market caps are in the low thousands to tens of
 *   thousands); carbon 0 to 5 000 g/kWh (coal is about 1 000).
 *
 * Energy counters (`wattHours`) are not bounded here: a counter step implies a power only
 * against the previous reading, which the meter tails own.
 */
import type { Reading } from '../domain/index.js';
import type { SiteModel } from './site-model.js';

/** Default: readings beyond ±2 × the owning node's rating are implausible. */
export const DEFAULT_PLAUSIBLE_RATING_MULTIPLE = 2;

/** Largest grid frequency deviation, as a share of the nominal frequency. */
const MAX_HERTZ_DEVIATION_SHARE = 0.1;
const MAX_VOLTS = 1.5e6;
const MAX_ABS_PRICE_PER_MWH = 100_000;
const MAX_CARBON_GRAMS_PER_KWH = 5_000;

/** Per power meter (model index): the largest plausible |watts|. */
export function maxAbsWattsByMeter(model: SiteModel, ratingMultiple: number): Float64Array {
  const bound = new Float64Array(model.meterIds.length).fill(Infinity);
  for (const node of model.nodes) {
    for (const meterId of node.meters) {
      const meter = model.meterIndex.get(meterId);
      if (meter !== undefined) bound[meter] = Math.min(bound[meter]!, ratingMultiple * node.ratingWatts);
    }
  }
  return bound;
}

/** True when a power meter's reading is within its bound (a reading without watts is). */
export function plausiblePower(reading: Reading, maxAbsWatts: number): boolean {
  return reading.watts === undefined || Math.abs(reading.watts) <= maxAbsWatts;
}

/** True when every signal of a grid sensor reading is within its sane range. */
export function plausibleGrid(reading: Reading, nominalHertz: number): boolean {
  if (reading.hertz !== undefined && !(Math.abs(reading.hertz - nominalHertz) <= MAX_HERTZ_DEVIATION_SHARE * nominalHertz)) return false;
  if (reading.volts !== undefined && !(reading.volts >= 0 && reading.volts <= MAX_VOLTS)) return false;
  if (reading.pricePerMWh !== undefined && !(Math.abs(reading.pricePerMWh) <= MAX_ABS_PRICE_PER_MWH)) return false;
  if (reading.carbonGramsPerKWh !== undefined && !(reading.carbonGramsPerKWh >= 0 && reading.carbonGramsPerKWh <= MAX_CARBON_GRAMS_PER_KWH)) return false;
  return true;
}
