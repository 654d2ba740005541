import type { Topology } from '../domain/index.js';
import { IngestCounters } from './ingest.js';

/** Outcomes that mean a reading did not reach the window state (plus `invalid_<reason>`). */
const DROP_OUTCOMES = ['late', 'duplicate', 'future', 'unknown_site', 'unknown_meter', 'implausible'] as const;
/** Site label of messages whose subject names no site of the topology (bounds cardinality). */
const UNKNOWN_SITE_LABEL = 'unknown';

/** Ingest counters per subject site (`unknown` outside the topology). */
export class SiteIngestCounters {
  private readonly bySite = new Map<string, IngestCounters>();
  private readonly knownSites: ReadonlySet<string>;

  constructor(topology: Topology) {
    this.knownSites = new Set(topology.sites.map((s) => s.id));
  }

  /** The counters of a message's subject site. */
  countersFor(site: string | undefined): IngestCounters {
    const key = site !== undefined && this.knownSites.has(site) ? site : UNKNOWN_SITE_LABEL;
    let counters = this.bySite.get(key);
    if (counters === undefined) {
      counters = new IngestCounters();
      this.bySite.set(key, counters);
    }
    return counters;
  }

  /** All sites summed (a fresh sum on each call). */
  total(): IngestCounters {
    const total = new IngestCounters();
    for (const c of this.bySite.values()) {
      total.messages += c.messages;
      total.readings += c.readings;
      for (const k of Object.keys(c.outcomes) as (keyof typeof c.outcomes)[]) total.outcomes[k] += c.outcomes[k];
      for (const k of Object.keys(c.decodeFailures) as (keyof typeof c.decodeFailures)[]) total.decodeFailures[k] += c.decodeFailures[k];
    }
    return total;
  }

  /** Readings that did not reach the window state, per site then reason (non-zero only). */
  droppedBySiteReason(): Record<string, Record<string, number>> {
    const dropped: Record<string, Record<string, number>> = {};
    for (const [site, c] of this.bySite) {
      const bySite: Record<string, number> = {};
      for (const o of DROP_OUTCOMES) if (c.outcomes[o] > 0) bySite[o] = c.outcomes[o];
      for (const [k, n] of Object.entries(c.byOutcome())) if (k.startsWith('invalid_')) bySite[k] = n;
      dropped[site] = bySite;
    }
    return dropped;
  }
}
