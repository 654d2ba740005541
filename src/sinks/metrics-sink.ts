/**
 * Prometheus sink: the latest window per node and site as gauges, on an injected registry.
 *
 * - Labels: nodes `site, node, level, window`; sites `site, window`. `window` is the window
 *   size as in the config (`10s`, `1m`, `15m`).
 * - Only the configured windows (`windowsMs`) and the selected nodes (`levels`, `maxDepth`;
 *   by default every level but the rack rows: metrics-export.ts) are exported: the topology
 *   and these settings bound the cardinality. Series per exported node and window: 12 node
 *   gauges at most; per site and window: 7 site gauges at most.
 * - Cheap at 100,000 meters: a window close replaces the latest record in a map; the series
 *   are rendered from those records at scrape time (no `gauge.set(labels)` per value).
 * - "Latest" is by window start: a late re-emission (revision + 1) of an older window does
 *   not overwrite a newer one; a re-emission of the newest window does.
 * - A value that is absent in the latest window removes its series rather than leaving a
 *   stale one: failover headroom of a node without redundancy, PUE without IT load, ramp
 *   and time to breach without a trend, and the headroom of a node whose completeness is
 *   below the threshold (uncertain headroom must not look like spare capacity; completeness
 *   stays exported).
 * - `setTopology` (config reload): series of nodes and sites no longer present, no longer
 *   selected, or no longer in `windowsMs` are removed.
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
import { exportedNodes, type NodeSelection } from './metrics-export.js';
import type { Sink, SinkHealth } from './types.js';

export { nodeDepths } from './metrics-export.js';

export interface MetricsSinkOptions extends NodeSelection {
  /** Window sizes exported. */
  windowsMs: readonly number[];
}

type NodeLabels = 'site' | 'node' | 'level' | 'window';
type SiteLabels = 'site' | 'window';

/** The latest record of one node or site and window, and the labels of its series. */
interface Latest<L extends string, R> {
  labels: Record<L, string>;
  windowMs: number;
  record: R;
}

/**
 * A gauge whose series are rendered at scrape time from the latest records (one value per
 * record; null or non-finite: no series), instead of a `set(labels)` per record and gauge:
 * a window close only replaces a map entry.
 */
class LatestGauge<L extends string, R> extends Gauge<L> {
  constructor(
    config: { name: string; help: string; labelNames: readonly L[] },
    private readonly latest: ReadonlyMap<string, Latest<L, R>>,
    private readonly value: (r: R) => number | null,
  ) {
    super({ ...config, registers: [] });
  }

  override async get(): ReturnType<Gauge<L>['get']> {
    const base = await super.get();
    const values: (typeof base.values)[number][] = [];
    for (const { labels, record } of this.latest.values()) {
      const v = this.value(record);
      if (v === null || !Number.isFinite(v)) continue;
      // The same labels object as `sharedLabels`: prom-client caches its rendered text per
      // object, so each series' labels are escaped and joined once, not at every scrape.
      const value = { labels, sharedLabels: labels, value: v };
      values.push(value);
    }
    return { ...base, values };
  }
}

export class MetricsSink implements Sink {
  readonly name = 'metrics';
  private readonly windowLabels = new Map<number, string>();
  /** Exported nodes (`site\u0000node`) → their level. */
  private exportedNodes = new Map<string, string>();
  private exportedSites = new Set<string>();
  /** Latest record per node or site and window, keyed `site\u0000node\u0000windowMs` / `site\u0000windowMs`. */
  private readonly nodeLatest = new Map<string, Latest<NodeLabels, NodeWindow>>();
  private readonly siteLatest = new Map<string, Latest<SiteLabels, SiteWindow>>();
  private opts: MetricsSinkOptions;

  constructor(topology: Topology, opts: MetricsSinkOptions, registry: Registry) {
    this.opts = opts;
    this.applyOptions(topology);
    const node = (name: string, help: string, value: (r: NodeWindow) => number | null): void => {
      registry.registerMetric(new LatestGauge({ name, help, labelNames: ['site', 'node', 'level', 'window'] }, this.nodeLatest, value));
    };
    const site = (name: string, help: string, value: (r: SiteWindow) => number | null): void => {
      registry.registerMetric(new LatestGauge({ name, help, labelNames: ['site', 'window'] }, this.siteLatest, value));
    };
    node(NODE_LOAD_WATTS, 'Time-weighted mean load of the node in its latest window', (r) => r.loadWatts);
    node(NODE_HEADROOM_WATTS, 'Usable capacity minus load (absent while completeness is below the threshold)', (r) => (r.headroomCertain ? r.headroomWatts : null));
    node(NODE_UTILIZATION_RATIO, 'Load over rating', (r) => r.utilization);
    node(NODE_FAILOVER_HEADROOM_WATTS, 'Headroom if the redundant partner (or largest N+1 member) fails', (r) => (r.headroomCertain ? r.failoverHeadroomWatts : null));
    node(NODE_COMPLETENESS_RATIO, "Share of the node's meters that reported in the window", (r) => r.completeness);
    node(NODE_PEAK_WATTS, 'Largest 1-second load in the window', (r) => r.peakWatts);
    node(NODE_USABLE_WATTS, 'Rating times derate', (r) => r.usableWatts);
    node(NODE_RAMP_WATTS_PER_SECOND, 'Load trend in the window (absent without a trend)', (r) => r.rampWattsPerSecond);
    node(NODE_TIME_TO_BREACH_SECONDS, 'Time until the load envelope reaches usable capacity (absent unless rising significantly towards it)', (r) => r.timeToBreachSeconds);
    node(NODE_SWING_WATTS, 'Peak-to-trough swing of the 1-second load (95th minus 5th percentile; windows of 1 min and longer)', (r) => r.swingWatts);
    node(NODE_SWING_PERIOD_SECONDS, 'Dominant period of the swing (absent when there is none)', (r) => r.swingPeriodSeconds);
    node(NODE_SWING_PERIOD_SHARE_RATIO, "Share of the swing's variance that repeats with its dominant period", (r) => r.swingPeriodShare);
    site(SITE_PUE_RATIO, 'Facility energy over IT energy in the window', (r) => r.pue);
    site(SITE_CONTRACT_HEADROOM_WATTS, 'Interconnect contract minus facility load', (r) => r.contractHeadroomWatts);
    site(SITE_CONTRACT_WATTS, 'Interconnect contract of the site', (r) => r.contractWatts);
    site(SITE_DEMAND_15M_WATTS, 'Average facility power over the clock-aligned demand interval (15 minutes) to date', (r) => r.demandWatts);
    site(SITE_PERIOD_PEAK_WATTS, 'Highest demand-interval average so far in the billing period', (r) => r.periodPeakWatts);
    site(SITE_GRID_FREQUENCY_HERTZ, 'Mean grid frequency in the window', (r) => r.gridHertz);
    site(SITE_LOAD_WATTS, 'Facility load (time-weighted mean) in the window', (r) => r.facilityWatts);
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
   * and sites that are gone, no longer selected, changed level, or of windows no longer
   * exported are removed at once; the rest stay until their next window.
   */
  setTopology(topology: Topology, opts?: MetricsSinkOptions): void {
    if (opts !== undefined) this.opts = opts;
    this.applyOptions(topology);
    for (const [key, s] of this.nodeLatest) {
      const level = this.exportedNodes.get(`${s.labels.site}\u0000${s.labels.node}`);
      if (level !== s.labels.level || !this.windowLabels.has(s.windowMs)) this.nodeLatest.delete(key);
    }
    for (const [key, s] of this.siteLatest) {
      if (!this.exportedSites.has(s.labels.site) || !this.windowLabels.has(s.windowMs)) this.siteLatest.delete(key);
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Only the latest record per series is kept: nothing is ever buffered. */
  health(): SinkHealth {
    return { buffered: 0, capacity: Number.POSITIVE_INFINITY, failed: false };
  }

  private applyOptions(topology: Topology): void {
    this.windowLabels.clear();
    for (const ms of this.opts.windowsMs) this.windowLabels.set(ms, windowLabel(ms));
    this.exportedNodes = exportedNodes(topology, this.opts);
    this.exportedSites = new Set(topology.sites.map((s) => s.id));
  }

  private writeNode(r: NodeWindow): void {
    const window = this.windowLabels.get(r.windowMs);
    if (window === undefined) return;
    const id = `${r.site}\u0000${r.node}`;
    if (!this.exportedNodes.has(id)) return;
    const key = `${id}\u0000${r.windowMs}`;
    const prev = this.nodeLatest.get(key);
    if (prev !== undefined && r.start < prev.record.start) return;
    if (prev !== undefined && prev.labels.level === r.level) {
      prev.record = r;
      return;
    }
    // A new series (or one that changed level) goes to the end, as a new gauge series would.
    if (prev !== undefined) this.nodeLatest.delete(key);
    this.nodeLatest.set(key, { labels: { site: r.site, node: r.node, level: r.level, window }, windowMs: r.windowMs, record: r });
  }

  private writeSite(r: SiteWindow): void {
    const window = this.windowLabels.get(r.windowMs);
    if (window === undefined || !this.exportedSites.has(r.site)) return;
    const key = `${r.site}\u0000${r.windowMs}`;
    const prev = this.siteLatest.get(key);
    if (prev === undefined) this.siteLatest.set(key, { labels: { site: r.site, window }, windowMs: r.windowMs, record: r });
    else if (r.start >= prev.record.start) prev.record = r;
  }
}
