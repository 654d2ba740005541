/**
 * Prometheus sink: the latest window per node and site as gauges, on an injected registry.
 *
 * - Labels: nodes `site, node, level, window`; sites `site, window`. `window` is the window
 *   size as in the config (`10s`, `1m`, `15m`).
 * - Only the configured windows (`windowsMs`) and nodes down to `maxDepth` (0 = roots) are
 *   exported: the topology and these two settings bound the cardinality.
 * - "Latest" is by window start: a late re-emission (revision + 1) of an older window does
 *   not overwrite a newer one; a re-emission of the newest window does.
 * - A value that is absent in the latest window removes its series rather than leaving a
 *   stale one: failover headroom of a node without redundancy, PUE without IT load, and the
 *   headroom of a node whose completeness is below the threshold (uncertain headroom must
 *   not look like spare capacity; completeness stays exported).
 */
import { Gauge, type Registry } from 'prom-client';
import type { NodeWindow, OutputRecord, SiteWindow, Topology } from '../domain/index.js';
import { formatDurationMs } from '../config/index.js';
import {
  NODE_COMPLETENESS_RATIO,
  NODE_FAILOVER_HEADROOM_WATTS,
  NODE_HEADROOM_WATTS,
  NODE_LOAD_WATTS,
  NODE_PEAK_WATTS,
  NODE_USABLE_WATTS,
  NODE_UTILIZATION_RATIO,
  SITE_CONTRACT_HEADROOM_WATTS,
  SITE_DEMAND_WATTS,
  SITE_PUE_RATIO,
} from '../telemetry/index.js';
import type { Sink, SinkHealth } from './types.js';

export interface MetricsSinkOptions {
  /** Window sizes exported. */
  windowsMs: readonly number[];
  /** Deepest tree level exported (0 = roots only). */
  maxDepth: number;
}

type NodeLabels = 'site' | 'node' | 'level' | 'window';
type SiteLabels = 'site' | 'window';

/** Depth of each node in its site's tree (roots 0), keyed `site\u0000node`. */
export function nodeDepths(topology: Topology): Map<string, number> {
  const depths = new Map<string, number>();
  for (const site of topology.sites) {
    const parentOf = new Map(site.nodes.map((n) => [n.id, n.parent]));
    for (const n of site.nodes) {
      let depth = 0;
      let parent = n.parent;
      // The config rejects cycles; the bound only guards against a malformed topology.
      while (parent !== null && parent !== undefined && depth <= site.nodes.length) {
        depth++;
        parent = parentOf.get(parent) ?? null;
      }
      depths.set(`${site.id}\u0000${n.id}`, depth);
    }
  }
  return depths;
}

export class MetricsSink implements Sink {
  readonly name = 'metrics';
  private readonly windowLabels = new Map<number, string>();
  private readonly exportedNodes: Set<string>;
  /** Start of the latest window seen per series key. */
  private readonly latestStartMs = new Map<string, number>();
  private readonly load: Gauge<NodeLabels>;
  private readonly headroom: Gauge<NodeLabels>;
  private readonly utilization: Gauge<NodeLabels>;
  private readonly failover: Gauge<NodeLabels>;
  private readonly completeness: Gauge<NodeLabels>;
  private readonly peak: Gauge<NodeLabels>;
  private readonly usable: Gauge<NodeLabels>;
  private readonly pue: Gauge<SiteLabels>;
  private readonly contractHeadroom: Gauge<SiteLabels>;
  private readonly demand: Gauge<SiteLabels>;

  constructor(topology: Topology, opts: MetricsSinkOptions, registry: Registry) {
    for (const ms of opts.windowsMs) this.windowLabels.set(ms, formatDurationMs(ms));
    this.exportedNodes = new Set([...nodeDepths(topology)].filter(([, d]) => d <= opts.maxDepth).map(([k]) => k));
    const registers = [registry];
    const nodeGauge = (name: string, help: string): Gauge<NodeLabels> => new Gauge({ name, help, labelNames: ['site', 'node', 'level', 'window'], registers });
    const siteGauge = (name: string, help: string): Gauge<SiteLabels> => new Gauge({ name, help, labelNames: ['site', 'window'], registers });
    this.load = nodeGauge(NODE_LOAD_WATTS, 'Time-weighted mean load of the node in its latest window');
    this.headroom = nodeGauge(NODE_HEADROOM_WATTS, 'Usable capacity minus load (absent while completeness is below the threshold)');
    this.utilization = nodeGauge(NODE_UTILIZATION_RATIO, 'Load over rating');
    this.failover = nodeGauge(NODE_FAILOVER_HEADROOM_WATTS, 'Headroom if the redundant partner (or largest N+1 member) fails');
    this.completeness = nodeGauge(NODE_COMPLETENESS_RATIO, "Share of the node's meters that reported in the window");
    this.peak = nodeGauge(NODE_PEAK_WATTS, 'Largest 1-second load in the window');
    this.usable = nodeGauge(NODE_USABLE_WATTS, 'Rating times derate');
    this.pue = siteGauge(SITE_PUE_RATIO, 'Facility energy over IT energy in the window');
    this.contractHeadroom = siteGauge(SITE_CONTRACT_HEADROOM_WATTS, 'Interconnect contract minus facility load');
    this.demand = siteGauge(SITE_DEMAND_WATTS, 'Average facility power over the demand interval to date');
  }

  write(records: readonly OutputRecord[]): void {
    for (const r of records) {
      if (r.type === 'node') this.writeNode(r);
      else if (r.type === 'site') this.writeSite(r);
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Gauges are set in place: nothing is ever buffered. */
  health(): SinkHealth {
    return { buffered: 0, capacity: Number.POSITIVE_INFINITY, failed: false };
  }

  private isLatest(key: string, startMs: number): boolean {
    const prev = this.latestStartMs.get(key);
    if (prev !== undefined && startMs < prev) return false;
    this.latestStartMs.set(key, startMs);
    return true;
  }

  private writeNode(r: NodeWindow): void {
    const window = this.windowLabels.get(r.windowMs);
    if (window === undefined) return;
    const id = `${r.site}\u0000${r.node}`;
    if (!this.exportedNodes.has(id)) return;
    if (!this.isLatest(`n\u0000${id}\u0000${r.windowMs}`, r.start)) return;
    const labels = { site: r.site, node: r.node, level: r.level, window };
    this.load.set(labels, r.loadWatts);
    this.utilization.set(labels, r.utilization);
    this.completeness.set(labels, r.completeness);
    this.peak.set(labels, r.peakWatts);
    this.usable.set(labels, r.usableWatts);
    setOrRemove(this.headroom, labels, r.headroomCertain ? r.headroomWatts : null);
    setOrRemove(this.failover, labels, r.headroomCertain ? r.failoverHeadroomWatts : null);
  }

  private writeSite(r: SiteWindow): void {
    const window = this.windowLabels.get(r.windowMs);
    if (window === undefined) return;
    if (!this.isLatest(`s\u0000${r.site}\u0000${r.windowMs}`, r.start)) return;
    const labels = { site: r.site, window };
    setOrRemove(this.pue, labels, r.pue);
    setOrRemove(this.contractHeadroom, labels, r.contractHeadroomWatts);
    setOrRemove(this.demand, labels, r.demandWatts);
  }
}

function setOrRemove<L extends string>(gauge: Gauge<L>, labels: Record<L, string>, value: number | null): void {
  if (value === null || !Number.isFinite(value)) gauge.remove(labels);
  else gauge.set(labels, value);
}
