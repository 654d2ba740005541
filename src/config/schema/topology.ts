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
  id: id.describe('Node id, unique within the site.'),
  parent: id.nullable().optional().describe('Parent node id; absent (or null) for a root.'),
  level: z.string().min(1).max(64).describe('Free text: grid, switchgear, ups, pdu, busway, rack, circuit, cooling, hall, ...'),
  role: z.enum(['facility', 'it']).optional().describe('`facility` (total intake, at most one per site) or `it` (IT load), for PUE. Optional.'),
  rating: positive(powerWatts, 'rating').refine((w) => !(w > MAX_POWER_WATTS), atMostMaxPower('rating')).describe('Nameplate or breaker rating: power (`2MW`, `400kW`, number = watts), > 0, at most 10TW. Required.'),
  derate: z
    .number()
    .gt(0, { message: 'derate must be greater than 0' })
    .max(1, { message: 'derate must be at most 1' })
    .default(0.8).describe('Usable fraction of the rating, 0 < derate <= 1. Default 0.8 (continuous-load rule).'),
  meters: z.array(id).default([]).describe('Meters whose power sums to this node\'s load. Default []: the load is the children\'s sum.'),
  redundantWith: id.optional().describe('The other node of a redundant pair (A/B feeds, 2N); must name this node back. Optional.'),
  redundancy: z.literal('n+1').optional().describe('`n+1`: this node\'s children (at least 2) form an N+1 group. Optional.'),
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
  id: id.describe('Meter id of the grid sensor; shares the site\'s meter namespace.'),
  signals: z.array(z.enum(['hertz', 'volts', 'price', 'carbon'])).min(1).describe('Signals this sensor reports: hertz, volts, price, carbon. At least one.'),
}).transform((g): GridMeterSpec => ({ id: g.id, signals: [...new Set(g.signals)] }));

export const siteSchema = strictObject({
  id: id.describe('Site id, unique in the file.'),
  contract: positive(powerWatts, 'contract').refine((w) => !(w > MAX_POWER_WATTS), atMostMaxPower('contract')).optional().describe('Interconnect capacity agreed with the utility (power, > 0, at most 10TW). Optional.'),
  nominalHertz: z
    .union([z.literal(50), z.literal(60)], { errorMap: () => ({ message: 'expected 50 or 60' }) })
    .default(60).describe('Nominal grid frequency, 50 or 60 Hz. Default 60.'),
  billingPeriod: z.literal('month').default('month').describe('Peak demand billing period. Only `month` (calendar month, UTC). Default month.'),
  demandInterval: wholeSecondsMs.default('15m').describe('Demand interval of the utility\'s peak demand charge; whole seconds. Default 15m.'),
  gridMeters: z.array(gridMeterSchema).default([]).describe('Grid-side sensors (frequency, voltage, price, carbon). Default [].'),
  nodes: z.array(nodeSchema).min(1).describe('The electrical tree, at least one node.'),
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
