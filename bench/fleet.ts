/**
 * A generated fleet at any size, shaped like bench/core.bench.ts's: per site an intake, an
 * A/B UPS pair, up to 10 halls, PDUs of 20 racks, one meter per rack (plus the intake and UPS
 * meters). 100,000 racks give 100,015 meters over 5 sites, the core bench's topology.
 * Returned as a raw config object (what a YAML file holds), so the CLI loads it as a user's.
 */
const RACKS_PER_PDU = 20;
const MAX_HALLS = 10;

export interface FleetSite {
  id: string;
  /** Meter ids in tree order (the order a gateway would send them). */
  meters: string[];
}

export interface Fleet {
  /** `pipeline` and `sites` of a Headroom config; add `source`, `nats`, `sinks` as needed. */
  config: Record<string, unknown>;
  sites: FleetSite[];
  meterCount: number;
  nodeCount: number;
}

/**
 * A fleet of about `racks` rack meters: 5 sites from 5,000 racks up, else 1; or, given
 * `siteIds`, those sites (racks shared equally), named so (`site-<n>` otherwise).
 */
export function generateFleet(racks: number, siteIds?: readonly string[]): Fleet {
  const siteCount = siteIds?.length ?? (racks >= 5_000 ? 5 : 1);
  if (siteCount < 1) throw new RangeError('a fleet needs at least one site');
  const racksPerSite = Math.max(1, Math.round(racks / siteCount));
  const halls = Math.min(MAX_HALLS, Math.ceil(racksPerSite / RACKS_PER_PDU));
  const configSites: Record<string, unknown>[] = [];
  const sites: FleetSite[] = [];
  let nodeCount = 0;
  for (let s = 0; s < siteCount; s++) {
    const id = siteIds?.[s] ?? `site-${s}`;
    const meters = ['intake-main', 'ups-a-out', 'ups-b-out'];
    const nodes: Record<string, unknown>[] = [
      { id: 'intake', level: 'grid', role: 'facility', rating: '400MW', derate: 1, meters: ['intake-main'] },
      { id: 'ups-a', parent: 'intake', level: 'ups', rating: '200MW', derate: 0.9, redundantWith: 'ups-b', meters: ['ups-a-out'] },
      { id: 'ups-b', parent: 'intake', level: 'ups', rating: '200MW', derate: 0.9, redundantWith: 'ups-a', meters: ['ups-b-out'] },
    ];
    // Racks are dealt to halls in turn, PDU by PDU, until the site has its share.
    const racksPerHall = Math.ceil(racksPerSite / halls);
    let placed = 0;
    for (let h = 0; h < halls && placed < racksPerSite; h++) {
      const hall = `hall-${h}`;
      nodes.push({ id: hall, parent: h % 2 === 0 ? 'ups-a' : 'ups-b', level: 'hall', role: 'it', rating: '30MW' });
      const inHall = Math.min(racksPerHall, racksPerSite - placed);
      for (let p = 0; p * RACKS_PER_PDU < inHall; p++) {
        const pdu = `${hall}-pdu-${p}`;
        nodes.push({ id: pdu, parent: hall, level: 'pdu', rating: '400kW' });
        for (let r = 0; r < RACKS_PER_PDU && p * RACKS_PER_PDU + r < inHall; r++) {
          const rack = `${pdu}-r${r}`;
          nodes.push({ id: rack, parent: pdu, level: 'rack', rating: '17.3kW', meters: [`${rack}-m`] });
          meters.push(`${rack}-m`);
        }
      }
      placed += inHall;
    }
    nodeCount += nodes.length;
    configSites.push({ id, contract: '380MW', nominalHertz: 60, demandInterval: '15m', nodes });
    sites.push({ id, meters });
  }
  const config = {
    pipeline: { windows: ['10s', '1m', '15m'], maxOutOfOrder: '2s', allowedLateness: '10s', maxHold: '5s', idleTimeout: '30s', maxClockSkew: '5m', completenessThreshold: 0.9 },
    sites: configSites,
  };
  return { config, sites, meterCount: sites.reduce((n, s) => n + s.meters.length, 0), nodeCount };
}
