import type { EngineSettings, NodeSpec, Reading, SiteSpec, Topology } from '../../../src/domain/index.js';

export const baseSettings: EngineSettings = {
  windowsMs: [10_000, 60_000],
  maxOutOfOrderMs: 2_000,
  allowedLatenessMs: 10_000,
  maxHoldMs: 5_000,
  maxCounterGapMs: 900_000,
  idleTimeoutMs: 30_000,
  maxClockSkewMs: 300_000,
  completenessThreshold: 0.9,
  trendWindows: 6,
  watermarkQuorum: 3,
};

export function node(id: string, parent: string | null, ratingWatts: number, meters: string[], extra: Partial<NodeSpec> = {}): NodeSpec {
  return { id, parent, level: extra.level ?? 'pdu', ratingWatts, derate: 0.8, meters, ...extra };
}

export function site(id: string, nodes: NodeSpec[], extra: Partial<SiteSpec> = {}): SiteSpec {
  return { id, nominalHertz: 60, billingPeriod: 'month', demandIntervalMs: 900_000, nodes, gridMeters: [], ...extra };
}

export function topo(...sites: SiteSpec[]): Topology {
  return { sites };
}

export function r(meter: string, tsMs: number, watts: number, siteId = 's1'): Reading {
  return { site: siteId, meter, tsMs, watts };
}
