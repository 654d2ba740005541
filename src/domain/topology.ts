/** Resolved topology, produced by the config loader (all units normalised). */

export type NodeRole = 'facility' | 'it';

export interface NodeSpec {
  id: string;
  /** Parent node id; null for a root. */
  parent: string | null;
  /** Free text: grid, switchgear, ups, pdu, busway, rack, circuit, cooling, hall, ... */
  level: string;
  role?: NodeRole;
  /** Nameplate or breaker rating. */
  ratingWatts: number;
  /** Usable fraction of the rating (0.8 for the continuous-load rule). */
  derate: number;
  /** Meters whose power sums to this node's load. Empty: load is the sum of its children. */
  meters: string[];
  /** The other node of a redundant pair (A/B feeds, 2N). Reciprocal. */
  redundantWith?: string;
  /** 'n+1': this node's children form an N+1 group. */
  redundancy?: 'n+1';
}

export type GridSignal = 'hertz' | 'volts' | 'price' | 'carbon';

export interface GridMeterSpec {
  id: string;
  /** Signals this sensor reports. */
  signals: GridSignal[];
}

export interface SiteSpec {
  id: string;
  /** Interconnect capacity agreed with the utility. */
  contractWatts?: number;
  /** Nominal grid frequency (50 or 60 Hz). */
  nominalHertz: number;
  /** Peak demand billing period: calendar month (UTC). */
  billingPeriod: 'month';
  /** Demand interval for the utility's peak demand charge. */
  demandIntervalMs: number;
  nodes: NodeSpec[];
  gridMeters: GridMeterSpec[];
}

export interface Topology {
  sites: SiteSpec[];
}
