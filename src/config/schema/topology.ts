/** `sites` → Topology: sites, their electrical trees and grid meters. */
import { z } from 'zod';
import type { GridMeterSpec, NodeSpec, SiteSpec } from '../../domain/index.js';
import { formatPowerWatts, powerWatts } from '../units.js';
import { id, positive, strictObject, wholeSecondsMs } from './common.js';

// ---------------------------------------------------------------------------------------
// sites → Topology

/**
 * Largest rating or contract: 10 TW, more than the world's generating capacity (a whole
 * balancing authority, as in the EIA-930 replays, is a few hundred GW). Beyond it a value is
 * a unit mistake, and the implausible-reading bound (k × rating) could let sums overflow.
 */
export const MAX_POWER_WATTS = 10e12;
const atMostMaxPower = (what: string) => (watts: number) => ({ message: `${what} ${formatPowerWatts(watts)} is more than 10TW (the world's generating capacity): check the unit` });

const nodeSchema = strictObject({
  /** Node id, unique within the site. */
  id,
  /** Parent node id; absent (or null) for a root. */
  parent: id.nullable().optional(),
  /** Free text: grid, switchgear, ups, pdu, busway, rack, circuit, cooling, hall, ... */
  level: z.string().min(1).max(64),
  /** `facility` (total intake, at most one per site) or `it` (IT load), for PUE. Optional. */
  role: z.enum(['facility', 'it']).optional(),
  /** Nameplate or breaker rating: power (`2MW`, `400kW`, number = watts), > 0, at most 10TW. Required. */
  rating: positive(powerWatts, 'rating').refine((w) => !(w > MAX_POWER_WATTS), atMostMaxPower('rating')),
  /** Usable fraction of the rating, 0 < derate <= 1. Default 0.8 (continuous-load rule). */
  derate: z
    .number()
    .gt(0, { message: 'derate must be greater than 0' })
    .max(1, { message: 'derate must be at most 1' })
    .default(0.8),
  /** Meters whose power sums to this node's load. Default []: the load is the children's sum. */
  meters: z.array(id).default([]),
  /** The other node of a redundant pair (A/B feeds, 2N); must name this node back. Optional. */
  redundantWith: id.optional(),
  /** `n+1`: this node's children (at least 2) form an N+1 group. Optional. */
  redundancy: z.literal('n+1').optional(),
}).transform((n): NodeSpec => {
  const spec: NodeSpec = {
    id: n.id,
    parent: n.parent ?? null,
    level: n.level,
    ratingWatts: n.rating,
    derate: n.derate,
    meters: n.meters,
  };
  if (n.role !== undefined) spec.role = n.role;
  if (n.redundantWith !== undefined) spec.redundantWith = n.redundantWith;
  if (n.redundancy !== undefined) spec.redundancy = n.redundancy;
  return spec;
});

const gridMeterSchema = strictObject({
  /** Meter id of the grid sensor; shares the site's meter namespace. */
  id,
  /** Signals this sensor reports: hertz, volts, price, carbon. At least one. */
  signals: z.array(z.enum(['hertz', 'volts', 'price', 'carbon'])).min(1),
}).transform((g): GridMeterSpec => ({ id: g.id, signals: [...new Set(g.signals)] }));

export const siteSchema = strictObject({
  /** Site id, unique in the file. */
  id,
  /** Interconnect capacity agreed with the utility (power, > 0, at most 10TW). Optional. */
  contract: positive(powerWatts, 'contract').refine((w) => !(w > MAX_POWER_WATTS), atMostMaxPower('contract')).optional(),
  /** Nominal grid frequency, 50 or 60 Hz. Default 60. */
  nominalHertz: z
    .union([z.literal(50), z.literal(60)], { errorMap: () => ({ message: 'expected 50 or 60' }) })
    .default(60),
  /** Peak demand billing period. Only `month` (calendar month, UTC). Default month. */
  billingPeriod: z.literal('month').default('month'),
  /** Demand interval of the utility's peak demand charge; whole seconds. Default 15m. */
  demandInterval: wholeSecondsMs.default('15m'),
  /** Grid-side sensors (frequency, voltage, price, carbon). Default []. */
  gridMeters: z.array(gridMeterSchema).default([]),
  /** The electrical tree, at least one node. */
  nodes: z.array(nodeSchema).min(1),
}).transform((s): SiteSpec => {
  const spec: SiteSpec = {
    id: s.id,
    nominalHertz: s.nominalHertz,
    billingPeriod: s.billingPeriod,
    demandIntervalMs: s.demandInterval,
    nodes: s.nodes,
    gridMeters: s.gridMeters,
  };
  if (s.contract !== undefined) spec.contractWatts = s.contract;
  return spec;
});
