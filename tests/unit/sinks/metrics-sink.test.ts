import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { NodeWindow, SiteWindow, Topology } from '../../../src/domain/index.js';
import { MetricsSink, nodeDepths } from '../../../src/sinks/metrics-sink.js';
import {
  DEAD_LETTERS_TOTAL,
  LATE_READINGS_TOTAL,
  METRIC_NAMES,
  NATS_CONNECTION_STATE,
  NODE_FAILOVER_HEADROOM_WATTS,
  NODE_HEADROOM_WATTS,
  NODE_LOAD_WATTS,
  NODE_PEAK_WATTS,
  NODE_RAMP_WATTS_PER_SECOND,
  NODE_TIME_TO_BREACH_SECONDS,
  NODE_USABLE_WATTS,
  NODE_UTILIZATION_RATIO,
  PipelineMetrics,
  SITE_CONTRACT_WATTS,
  SITE_DEMAND_15M_WATTS,
  SITE_DEMAND_WATTS,
  SITE_GRID_FREQUENCY_HERTZ,
  SITE_LOAD_WATTS,
  SITE_PERIOD_PEAK_WATTS,
  READINGS_TOTAL,
  SITE_PUE_RATIO,
  WATERMARK_LAG_SECONDS,
  WINDOW_EMIT_DELAY_SECONDS,
  type PipelineHealthSample,
} from '../../../src/telemetry/index.js';

const topology: Topology = {
  sites: [
    {
      id: 'lab1',
      nominalHertz: 60,
      billingPeriod: 'month',
      demandIntervalMs: 900_000,
      gridMeters: [],
      nodes: [
        { id: 'intake', parent: null, level: 'grid', ratingWatts: 1_200_000, derate: 0.8, meters: ['m-main'], role: 'facility' },
        { id: 'ups-1', parent: 'intake', level: 'ups', ratingWatts: 500_000, derate: 0.9, meters: ['m-ups'], role: 'it' },
        { id: 'pdu-1', parent: 'ups-1', level: 'pdu', ratingWatts: 200_000, derate: 0.8, meters: ['m-pdu'] },
      ],
    },
  ],
};

function nodeWindow(node: string, level: string, windowMs: number, start: number, loadWatts: number, extra: Partial<NodeWindow> = {}): NodeWindow {
  const usableWatts = 100_000;
  return {
    type: 'node', site: 'lab1', node, level, windowMs, start, end: start + windowMs, revision: 0,
    loadWatts, peakWatts: loadWatts * 1.1, minWatts: loadWatts * 0.9, energyWh: 0, ratingWatts: 125_000, usableWatts,
    headroomWatts: usableWatts - loadWatts, utilization: loadWatts / 125_000, failoverHeadroomWatts: null, completeness: 1,
    headroomCertain: true, childrenLoadWatts: null, unmeteredWatts: null, rampWattsPerSecond: null, timeToBreachSeconds: null, swingWatts: null, swingPeriodSeconds: null, swingPeriodShare: null,
    ...extra,
  };
}

function siteWindow(windowMs: number, start: number, pue: number | null): SiteWindow {
  return {
    type: 'site', site: 'lab1', windowMs, start, end: start + windowMs, revision: 0, facilityWatts: 600_000, itWatts: 400_000, pue,
    contractWatts: 1_000_000, contractHeadroomWatts: 400_000, demandWatts: 590_000, demandIntervalStart: start, periodPeakWatts: 610_000,
    periodStart: 0, gridHertz: null, hertzDeviation: null, pricePerMWh: null, energyCost: null, carbonGramsPerKWh: null, carbonGrams: null,
  };
}

/** `name{labels} value` lines of one metric from the exposition text. */
async function series(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

const T0 = 1_750_000_000_000;

describe('nodeDepths', () => {
  it('counts roots as depth 0', () => {
    expect([...nodeDepths(topology).values()]).toEqual([0, 1, 2]);
  });
});

describe('MetricsSink', () => {
  it('exports the latest window per node and window size in the Prometheus text format', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [10_000, 60_000], maxDepth: 10 }, registry);
    sink.write([nodeWindow('intake', 'grid', 10_000, T0, 50_000), nodeWindow('intake', 'grid', 60_000, T0, 40_000)]);
    sink.write([nodeWindow('intake', 'grid', 10_000, T0 + 10_000, 60_000)]);
    const text = await registry.metrics();
    expect(text).toContain(`# TYPE ${NODE_LOAD_WATTS} gauge`);
    expect(await series(registry, NODE_LOAD_WATTS)).toEqual([
      `${NODE_LOAD_WATTS}{site="lab1",node="intake",level="grid",window="10s"} 60000`,
      `${NODE_LOAD_WATTS}{site="lab1",node="intake",level="grid",window="1m"} 40000`,
    ]);
    expect(await series(registry, NODE_HEADROOM_WATTS)).toContain(`${NODE_HEADROOM_WATTS}{site="lab1",node="intake",level="grid",window="10s"} 40000`);
  });

  it('a late revision of an older window does not overwrite a newer one; a revision of the newest does', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [10_000], maxDepth: 10 }, registry);
    sink.write([nodeWindow('intake', 'grid', 10_000, T0 + 10_000, 70_000)]);
    sink.write([nodeWindow('intake', 'grid', 10_000, T0, 10_000, { revision: 1 })]);
    expect(await series(registry, NODE_LOAD_WATTS)).toEqual([`${NODE_LOAD_WATTS}{site="lab1",node="intake",level="grid",window="10s"} 70000`]);
    sink.write([nodeWindow('intake', 'grid', 10_000, T0 + 10_000, 71_000, { revision: 1 })]);
    expect(await series(registry, NODE_LOAD_WATTS)).toEqual([`${NODE_LOAD_WATTS}{site="lab1",node="intake",level="grid",window="10s"} 71000`]);
  });

  it('exports only configured windows and nodes down to maxDepth', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [60_000], maxDepth: 1 }, registry);
    sink.write([
      nodeWindow('intake', 'grid', 10_000, T0, 1),
      nodeWindow('intake', 'grid', 60_000, T0, 2),
      nodeWindow('ups-1', 'ups', 60_000, T0, 3),
      nodeWindow('pdu-1', 'pdu', 60_000, T0, 4),
    ]);
    const lines = await series(registry, NODE_LOAD_WATTS);
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['2', '3']);
    expect(lines.join('\n')).not.toContain('pdu-1');
    expect(lines.join('\n')).not.toContain('window="10s"');

    const rootsOnly = new Registry();
    new MetricsSink(topology, { windowsMs: [60_000], maxDepth: 0 }, rootsOnly).write([nodeWindow('ups-1', 'ups', 60_000, T0, 3), nodeWindow('intake', 'grid', 60_000, T0, 2)]);
    expect((await series(rootsOnly, NODE_LOAD_WATTS)).map((l) => l.split(' ')[1])).toEqual(['2']);
  });

  it('removes the headroom series while headroom is uncertain, and failover headroom where there is none', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [10_000], maxDepth: 10 }, registry);
    sink.write([nodeWindow('ups-1', 'ups', 10_000, T0, 30_000, { failoverHeadroomWatts: 20_000 })]);
    expect(await series(registry, NODE_HEADROOM_WATTS)).toHaveLength(1);
    expect(await series(registry, NODE_FAILOVER_HEADROOM_WATTS)).toHaveLength(1);
    sink.write([nodeWindow('ups-1', 'ups', 10_000, T0 + 10_000, 5_000, { completeness: 0.5, headroomCertain: false, failoverHeadroomWatts: 20_000 })]);
    expect(await series(registry, NODE_HEADROOM_WATTS)).toEqual([]);
    expect(await series(registry, NODE_FAILOVER_HEADROOM_WATTS)).toEqual([]);
    expect(await series(registry, 'headroom_node_completeness_ratio')).toEqual([
      'headroom_node_completeness_ratio{site="lab1",node="ups-1",level="ups",window="10s"} 0.5',
    ]);
    sink.write([nodeWindow('ups-1', 'ups', 10_000, T0 + 20_000, 30_000)]);
    expect(await series(registry, NODE_HEADROOM_WATTS)).toHaveLength(1);
    expect(await series(registry, NODE_FAILOVER_HEADROOM_WATTS)).toEqual([]);
  });

  it('exports site gauges and drops a PUE that is absent', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [10_000], maxDepth: 10 }, registry);
    sink.write([siteWindow(10_000, T0, 1.5), siteWindow(60_000, T0, 1.2)]);
    expect(await series(registry, SITE_PUE_RATIO)).toEqual([`${SITE_PUE_RATIO}{site="lab1",window="10s"} 1.5`]);
    expect(await series(registry, 'headroom_site_contract_headroom_watts')).toEqual(['headroom_site_contract_headroom_watts{site="lab1",window="10s"} 400000']);
    sink.write([siteWindow(10_000, T0 + 10_000, null)]);
    expect(await series(registry, SITE_PUE_RATIO)).toEqual([]);
  });

  it('never buffers and uses only the injected registry', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [10_000], maxDepth: 10 }, registry);
    expect(sink.health()).toMatchObject({ buffered: 0, failed: false });
    // A second sink on another registry does not collide (no global registry).
    new MetricsSink(topology, { windowsMs: [10_000], maxDepth: 10 }, new Registry());
    expect((await registry.getMetricsAsJSON()).length).toBe(19);
  });

  it('exports ramp, time to breach and every site gauge of the latest window, removing absent values', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [10_000], maxDepth: 10 }, registry);
    sink.write([
      nodeWindow('ups-1', 'ups', 10_000, T0, 30_000, { rampWattsPerSecond: 12.5, timeToBreachSeconds: 600 }),
      { ...siteWindow(10_000, T0, 1.4), gridHertz: 59.98 },
    ]);
    const labels = 'site="lab1",node="ups-1",level="ups",window="10s"';
    expect(await series(registry, NODE_RAMP_WATTS_PER_SECOND)).toEqual([`${NODE_RAMP_WATTS_PER_SECOND}{${labels}} 12.5`]);
    expect(await series(registry, NODE_TIME_TO_BREACH_SECONDS)).toEqual([`${NODE_TIME_TO_BREACH_SECONDS}{${labels}} 600`]);
    expect(await series(registry, NODE_PEAK_WATTS)).toEqual([`${NODE_PEAK_WATTS}{${labels}} 33000`]);
    expect(await series(registry, NODE_USABLE_WATTS)).toEqual([`${NODE_USABLE_WATTS}{${labels}} 100000`]);
    expect(await series(registry, NODE_UTILIZATION_RATIO)).toEqual([`${NODE_UTILIZATION_RATIO}{${labels}} 0.24`]);
    const site = 'site="lab1",window="10s"';
    expect(await series(registry, SITE_DEMAND_15M_WATTS)).toEqual([`headroom_site_demand_15m_watts{${site}} 590000`]);
    expect(await series(registry, SITE_PERIOD_PEAK_WATTS)).toEqual([`${SITE_PERIOD_PEAK_WATTS}{${site}} 610000`]);
    expect(await series(registry, SITE_GRID_FREQUENCY_HERTZ)).toEqual([`${SITE_GRID_FREQUENCY_HERTZ}{${site}} 59.98`]);
    expect(await series(registry, SITE_LOAD_WATTS)).toEqual([`${SITE_LOAD_WATTS}{${site}} 600000`]);
    expect(await series(registry, SITE_CONTRACT_WATTS)).toEqual([`${SITE_CONTRACT_WATTS}{${site}} 1000000`]);
    sink.write([nodeWindow('ups-1', 'ups', 10_000, T0 + 10_000, 30_000), siteWindow(10_000, T0 + 10_000, 1.4)]);
    expect(await series(registry, NODE_RAMP_WATTS_PER_SECOND)).toEqual([]);
    expect(await series(registry, NODE_TIME_TO_BREACH_SECONDS)).toEqual([]);
    expect(await series(registry, SITE_GRID_FREQUENCY_HERTZ)).toEqual([]);
  });

  it('keeps one constant for the 15-minute demand (the old export is the same name)', () => {
    expect(SITE_DEMAND_15M_WATTS).toBe('headroom_site_demand_15m_watts');
    expect(SITE_DEMAND_WATTS).toBe(SITE_DEMAND_15M_WATTS);
    expect(METRIC_NAMES.filter((n) => n.startsWith('headroom_site_demand'))).toEqual([SITE_DEMAND_15M_WATTS]);
  });

  it('setTopology removes the series of nodes and sites that are gone, moved or no longer exported', async () => {
    const registry = new Registry();
    const sink = new MetricsSink(topology, { windowsMs: [10_000, 60_000], maxDepth: 10 }, registry);
    sink.write([
      nodeWindow('intake', 'grid', 10_000, T0, 1),
      nodeWindow('ups-1', 'ups', 10_000, T0, 2),
      nodeWindow('pdu-1', 'pdu', 10_000, T0, 3),
      nodeWindow('pdu-1', 'pdu', 60_000, T0, 4),
      siteWindow(10_000, T0, 1.5),
    ]);
    expect(await series(registry, NODE_LOAD_WATTS)).toHaveLength(4);
    const site = topology.sites[0]!;
    // pdu-1 removed, ups-1 moved to another level.
    const next: Topology = {
      sites: [{ ...site, nodes: site.nodes.filter((n) => n.id !== 'pdu-1').map((n) => (n.id === 'ups-1' ? { ...n, level: 'ups-b' } : n)) }],
    };
    sink.setTopology(next);
    expect((await series(registry, NODE_LOAD_WATTS)).map((l) => l.split('{')[1])).toEqual(['site="lab1",node="intake",level="grid",window="10s"} 1']);
    expect(await series(registry, NODE_HEADROOM_WATTS)).toHaveLength(1);
    expect(await series(registry, SITE_PUE_RATIO)).toHaveLength(1);
    // Records of the removed node (still in flight) are not exported again.
    sink.write([nodeWindow('pdu-1', 'pdu', 10_000, T0 + 10_000, 3), nodeWindow('ups-1', 'ups-b', 10_000, T0 + 10_000, 5)]);
    expect((await series(registry, NODE_LOAD_WATTS)).map((l) => l.split(' ')[1])).toEqual(['1', '5']);
    // New export settings: roots only, one window; a topology without the site drops its gauges.
    sink.setTopology(next, { windowsMs: [60_000], maxDepth: 0 });
    expect(await series(registry, NODE_LOAD_WATTS)).toEqual([]);
    sink.setTopology({ sites: [] }, { windowsMs: [10_000], maxDepth: 10 });
    expect(await series(registry, SITE_PUE_RATIO)).toEqual([]);
    sink.write([siteWindow(10_000, T0 + 20_000, 1.5)]);
    expect(await series(registry, SITE_PUE_RATIO)).toEqual([]);
  });
});

describe('PipelineMetrics', () => {
  const sample = (over: Partial<PipelineHealthSample> = {}): PipelineHealthSample => ({
    readingsByOutcome: { accepted: 10, late: 0 },
    deadLettersByReason: { schema: 2 },
    lateBySite: { lab1: 0 },
    watermarkLagSecondsBySite: { lab1: 2.5, lab2: null },
    sinks: [{ name: 'ndjson', buffered: 12, failed: false }],
    sourcePaused: false,
    ...over,
  });

  it('feeds counters from cumulative totals (deltas), creating series at 0', async () => {
    const registry = new Registry();
    const m = new PipelineMetrics(registry);
    m.update(sample());
    m.update(sample({ readingsByOutcome: { accepted: 25, late: 3 }, lateBySite: { lab1: 3 } }));
    m.update(sample({ readingsByOutcome: { accepted: 25, late: 3 }, lateBySite: { lab1: 3 } }));
    expect(await series(registry, READINGS_TOTAL)).toEqual([`${READINGS_TOTAL}{outcome="accepted"} 25`, `${READINGS_TOTAL}{outcome="late"} 3`]);
    expect(await series(registry, DEAD_LETTERS_TOTAL)).toEqual([`${DEAD_LETTERS_TOTAL}{reason="schema"} 2`]);
    expect(await series(registry, LATE_READINGS_TOTAL)).toEqual([`${LATE_READINGS_TOTAL}{site="lab1"} 3`]);
    expect(await series(registry, WATERMARK_LAG_SECONDS)).toEqual([`${WATERMARK_LAG_SECONDS}{site="lab1"} 2.5`]);
    expect(await series(registry, 'headroom_sink_buffered_records')).toEqual(['headroom_sink_buffered_records{sink="ndjson"} 12']);
  });

  it('exports the NATS connection state only when there is a connection', async () => {
    const registry = new Registry();
    const m = new PipelineMetrics(registry);
    m.update(sample());
    expect(await series(registry, NATS_CONNECTION_STATE)).toEqual([]);
    m.update(sample({ nats: { connected: true, reconnects: 0 } }));
    expect(await series(registry, NATS_CONNECTION_STATE)).toEqual([`${NATS_CONNECTION_STATE} 1`]);
  });

  it('observes emit delays in a histogram', async () => {
    const registry = new Registry();
    const m = new PipelineMetrics(registry);
    m.observeEmitDelaySeconds(2.25);
    m.observeEmitDelaySeconds(Number.NaN);
    const text = await registry.metrics();
    expect(text).toContain(`${WINDOW_EMIT_DELAY_SECONDS}_count 1`);
    expect(text).toContain(`${WINDOW_EMIT_DELAY_SECONDS}_bucket{le="3"} 1`);
  });

  it('metric names follow headroom_<what>_<unit>[_total] and are unique', () => {
    expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
    for (const name of METRIC_NAMES) expect(name).toMatch(/^headroom_[a-z0-9_]+_(watts|watts_per_second|ratio|seconds|hertz|total|records|state|messages|paused|failed|firing)$/);
  });
});
