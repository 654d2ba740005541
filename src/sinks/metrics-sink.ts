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
 *   stale one: failover headroom of a node without redundancy, PUE without IT load, ramp
 *   and time to breach without a trend, and the headroom of a node whose completeness is
 *   below the threshold (uncertain headroom must not look like spare capacity; completeness
 *   stays exported).
 * - `setTopology` (config reload): series of nodes and sites no longer present, no longer
 *   within `maxDepth`, or no longer in `windowsMs` are removed.
 */
import { Gauge, type Registry } from 'prom-client';
import type { NodeWindow, OutputRecord, SiteWindow, Topology } from '../domain/index.js';
import { windowLabel } from '../core/index.js';
import {
  NODE_COMPLETENESS_RATIO,
  NODE_FAILOVER_HEADROOM_WATTS,
  NODE_HEADROOM_WATTS,
  NODE_LOAD_WATTS,
  NODE_PEAK_WATTS,
  NODE_RAMP_WATTS_PER_SECOND,
  NODE_SWING_PERIOD_SECONDS,
  NODE_SWING_PERIOD_SHARE_RATIO,
  NODE_SWING_WATTS,
  NODE_TIME_TO_BREACH_SECONDS,
  NODE_USABLE_WATTS,
  NODE_UTILIZATION_RATIO,
  SITE_CONTRACT_HEADROOM_WATTS,
  SITE_CONTRACT_WATTS,
  SITE_DEMAND_15M_WATTS,
  SITE_GRID_FREQUENCY_HERTZ,
  SITE_LOAD_WATTS,
  SITE_PERIOD_PEAK_WATTS,
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

/** One exported gauge and how its value is read from a record (null = absent: no series). */
interface GaugeOf<L extends string, R> {
  gauge: Gauge<L>;
  value: (r: R) => number | null;
}

/** A series set this sink owns: its labels and the start of the window it shows. */
interface Exported<L extends string> {
  labels: Record<L, string>;
  windowMs: number;
  startMs: number;
}

export class MetricsSink implements Sink {
  readonly name = 'metrics';
  private readonly windowLabels = new Map<number, string>();
  /** Exported nodes (`site\u0000node`) → their level. */
  private exportedNodes = new Map<string, string>();
  private exportedSites = new Set<string>();
  /** Series per node or site and window, keyed `n|s \u0000 site[\u0000 node] \u0000 windowMs`. */
  private readonly nodeSeries = new Map<string, Exported<NodeLabels>>();
  private readonly siteSeries = new Map<string, Exported<SiteLabels>>();
  private readonly nodeGauges: GaugeOf<NodeLabels, NodeWindow>[];
  private readonly siteGauges: GaugeOf<SiteLabels, SiteWindow>[];
  private opts: MetricsSinkOptions;

  constructor(topology: Topology, opts: MetricsSinkOptions, registry: Registry) {
    this.opts = opts;
    this.applyOptions(topology);
    const registers = [registry];
    const node = (name: string, help: string, value: (r: NodeWindow) => number | null): GaugeOf<NodeLabels, NodeWindow> => ({
      gauge: new Gauge({ name, help, labelNames: ['site', 'node', 'level', 'window'], registers }),
      value,
    });
    const site = (name: string, help: string, value: (r: SiteWindow) => number | null): GaugeOf<SiteLabels, SiteWindow> => ({
      gauge: new Gauge({ name, help, labelNames: ['site', 'window'], registers }),
      value,
    });
    this.nodeGauges = [
      node(NODE_LOAD_WATTS, 'Time-weighted mean load of the node in its latest window', (r) => r.loadWatts),
      node(NODE_HEADROOM_WATTS, 'Usable capacity minus load (absent while completeness is below the threshold)', (r) => (r.headroomCertain ? r.headroomWatts : null)),
      node(NODE_UTILIZATION_RATIO, 'Load over rating', (r) => r.utilization),
      node(NODE_FAILOVER_HEADROOM_WATTS, 'Headroom if the redundant partner (or largest N+1 member) fails', (r) => (r.headroomCertain ? r.failoverHeadroomWatts : null)),
      node(NODE_COMPLETENESS_RATIO, "Share of the node's meters that reported in the window", (r) => r.completeness),
      node(NODE_PEAK_WATTS, 'Largest 1-second load in the window', (r) => r.peakWatts),
      node(NODE_USABLE_WATTS, 'Rating times derate', (r) => r.usableWatts),
      node(NODE_RAMP_WATTS_PER_SECOND, 'Load trend in the window (absent without a trend)', (r) => r.rampWattsPerSecond),
      node(NODE_TIME_TO_BREACH_SECONDS, 'Time until the load envelope reaches usable capacity (absent unless rising significantly towards it)', (r) => r.timeToBreachSeconds),
      node(NODE_SWING_WATTS, 'Peak-to-trough swing of the 1-second load (95th minus 5th percentile; windows of 1 min and longer)', (r) => r.swingWatts),
      node(NODE_SWING_PERIOD_SECONDS, 'Dominant period of the swing (absent when there is none)', (r) => r.swingPeriodSeconds),
      node(NODE_SWING_PERIOD_SHARE_RATIO, "Share of the swing's variance that repeats with its dominant period", (r) => r.swingPeriodShare),
    ];
    this.siteGauges = [
      site(SITE_PUE_RATIO, 'Facility energy over IT energy in the window', (r) => r.pue),
      site(SITE_CONTRACT_HEADROOM_WATTS, 'Interconnect contract minus facility load', (r) => r.contractHeadroomWatts),
      site(SITE_CONTRACT_WATTS, 'Interconnect contract of the site', (r) => r.contractWatts),
      site(SITE_DEMAND_15M_WATTS, 'Average facility power over the clock-aligned demand interval (15 minutes) to date', (r) => r.demandWatts),
      site(SITE_PERIOD_PEAK_WATTS, 'Highest demand-interval average so far in the billing period', (r) => r.periodPeakWatts),
      site(SITE_GRID_FREQUENCY_HERTZ, 'Mean grid frequency in the window', (r) => r.gridHertz),
      site(SITE_LOAD_WATTS, 'Facility load (time-weighted mean) in the window', (r) => r.facilityWatts),
    ];
  }

  write(records: readonly OutputRecord[], emittedAtMonoMs?: number): void {
    for (const r of records) {
      if (r.type === 'node') this.writeNode(r);
      else if (r.type === 'site') this.writeSite(r);
    }
    if (emittedAtMonoMs !== undefined) this.onDelivered?.(Math.max(0, performance.now() - emittedAtMonoMs) / 1000); // delivered: the gauges are set
  }
  onDelivered?: ((seconds: number) => void) | undefined;

  /**
   * A new topology (config reload), and optionally new export settings: series of nodes
   * and sites that are gone, moved below `maxDepth`, changed level, or of windows no longer
   * exported are removed at once; the rest stay until their next window.
   */
  setTopology(topology: Topology, opts?: MetricsSinkOptions): void {
    if (opts !== undefined) this.opts = opts;
    this.applyOptions(topology);
    for (const [key, s] of this.nodeSeries) {
      const level = this.exportedNodes.get(`${s.labels.site}\u0000${s.labels.node}`);
      if (level !== s.labels.level || !this.windowLabels.has(s.windowMs)) {
        for (const g of this.nodeGauges) g.gauge.remove(s.labels);
        this.nodeSeries.delete(key);
      }
    }
    for (const [key, s] of this.siteSeries) {
      if (!this.exportedSites.has(s.labels.site) || !this.windowLabels.has(s.windowMs)) {
        for (const g of this.siteGauges) g.gauge.remove(s.labels);
        this.siteSeries.delete(key);
      }
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

  private applyOptions(topology: Topology): void {
    this.windowLabels.clear();
    for (const ms of this.opts.windowsMs) this.windowLabels.set(ms, windowLabel(ms));
    const depths = nodeDepths(topology);
    const nodes = new Map<string, string>();
    for (const site of topology.sites) {
      for (const n of site.nodes) {
        const key = `${site.id}\u0000${n.id}`;
        if ((depths.get(key) ?? Number.POSITIVE_INFINITY) <= this.opts.maxDepth) nodes.set(key, n.level);
      }
    }
    this.exportedNodes = nodes;
    this.exportedSites = new Set(topology.sites.map((s) => s.id));
  }

  private writeNode(r: NodeWindow): void {
    const window = this.windowLabels.get(r.windowMs);
    if (window === undefined) return;
    const id = `${r.site}\u0000${r.node}`;
    if (!this.exportedNodes.has(id)) return;
    const key = `${id}\u0000${r.windowMs}`;
    const prev = this.nodeSeries.get(key);
    if (prev !== undefined && r.start < prev.startMs) return;
    const labels = { site: r.site, node: r.node, level: r.level, window };
    if (prev !== undefined && prev.labels.level !== r.level) for (const g of this.nodeGauges) g.gauge.remove(prev.labels);
    this.nodeSeries.set(key, { labels, windowMs: r.windowMs, startMs: r.start });
    for (const g of this.nodeGauges) setOrRemove(g.gauge, labels, g.value(r));
  }

  private writeSite(r: SiteWindow): void {
    const window = this.windowLabels.get(r.windowMs);
    if (window === undefined || !this.exportedSites.has(r.site)) return;
    const key = `${r.site}\u0000${r.windowMs}`;
    const prev = this.siteSeries.get(key);
    if (prev !== undefined && r.start < prev.startMs) return;
    const labels = { site: r.site, window };
    this.siteSeries.set(key, { labels, windowMs: r.windowMs, startMs: r.start });
    for (const g of this.siteGauges) setOrRemove(g.gauge, labels, g.value(r));
  }
}

function setOrRemove<L extends string>(gauge: Gauge<L>, labels: Record<L, string>, value: number | null): void {
  if (value === null || !Number.isFinite(value)) gauge.remove(labels);
  else gauge.set(labels, value);
}
