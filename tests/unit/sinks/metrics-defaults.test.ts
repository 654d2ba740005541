/**
 * The /metrics defaults an operator's Prometheus can hold: one window (the smallest of 1m or
 * longer) and every level but the rack rows; explicit `windows`, `levels` and `maxDepth`
 * export what they say.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { defaultMetricsWindowsMs } from '../../../src/config/index.js';
import type { NodeWindow, Topology } from '../../../src/domain/index.js';
import { defaultExportedLevels, exportedNodes, leafLevels, MetricsSink } from '../../../src/sinks/index.js';
import { NODE_LOAD_WATTS } from '../../../src/telemetry/index.js';
import { configFromText, configIssuesFromText } from '../../helpers/config.js';

/** grid → 2 UPS → hall (role it) → 2 PDUs → 3 racks each; cooling (a facility leaf) under the grid. */
const NODES = [
  '{ id: intake, level: grid, role: facility, rating: 10MW, meters: [m-intake] }',
  '{ id: cooling, parent: intake, level: cooling, rating: 2MW, meters: [m-cool] }',
  '{ id: ups-a, parent: intake, level: ups, rating: 4MW, meters: [m-ups-a] }',
  '{ id: ups-b, parent: intake, level: ups, rating: 4MW, meters: [m-ups-b] }',
  '{ id: hall, parent: ups-a, level: hall, role: it, rating: 3MW }',
  '{ id: pdu-1, parent: hall, level: pdu, rating: 400kW }',
  '{ id: pdu-2, parent: hall, level: pdu, rating: 400kW }',
  ...[1, 2].flatMap((p) => [1, 2, 3].map((r) => `{ id: rack-${p}-${r}, parent: pdu-${p}, level: rack, rating: 17kW, meters: [m-${p}-${r}] }`)),
];

function yaml(metrics: string, windows = '[10s, 1m, 15m]'): string {
  return [`pipeline: { windows: ${windows} }`, `sinks: { metrics: ${metrics} }`, 'sites:', '  - id: s1', '    nodes:', ...NODES.map((n) => `      - ${n}`), ''].join('\n');
}

const topologyOf = (text: string): Topology => configFromText(text).topology;

function nodeWindow(node: string, level: string, windowMs: number): NodeWindow {
  return {
    type: 'node', site: 's1', node, level, windowMs, start: 0, end: windowMs, revision: 0, loadWatts: 1000, peakWatts: 1000, minWatts: 1000, energyWh: 0,
    ratingWatts: 2000, usableWatts: 1600, headroomWatts: 600, utilization: 0.5, failoverHeadroomWatts: null, completeness: 1, headroomCertain: true,
    childrenLoadWatts: null, unmeteredWatts: null, rampWattsPerSecond: null, timeToBreachSeconds: null, swingWatts: null, swingPeriodSeconds: null, swingPeriodShare: null,
  };
}

/** node/window pairs of the load series a sink built from `text` exports when every node reports every window. */
async function exported(text: string): Promise<string[]> {
  const config = configFromText(text);
  const m = config.sinks.metrics;
  if (m === undefined) throw new Error('no sinks.metrics');
  const registry = new Registry();
  const sink = new MetricsSink(config.topology, m, registry);
  const site = config.topology.sites[0]!;
  sink.write(config.engine.windowsMs.flatMap((ms) => site.nodes.map((n) => nodeWindow(n.id, n.level, ms))));
  const lines = (await registry.metrics()).split('\n').filter((l) => l.startsWith(`${NODE_LOAD_WATTS}{`));
  return lines.map((l) => `${/node="([^"]*)"/.exec(l)?.[1]}/${/window="([^"]*)"/.exec(l)?.[1]}`);
}

describe('sinks.metrics.windows default', () => {
  it('is one window: the smallest pipeline window of 1m or longer, else the smallest', () => {
    expect(defaultMetricsWindowsMs([10_000, 60_000, 900_000])).toEqual([60_000]);
    expect(defaultMetricsWindowsMs([900_000, 10_000, 300_000])).toEqual([300_000]);
    expect(defaultMetricsWindowsMs([1_000, 10_000])).toEqual([1_000]);
    expect(defaultMetricsWindowsMs([60_000])).toEqual([60_000]);
    expect(configFromText(yaml('{}', '[30s, 5m, 15m]')).sinks.metrics?.windowsMs).toEqual([300_000]);
  });
});

describe('sinks.metrics.levels default: every level but the rack rows', () => {
  it('a leaf level is one whose nodes are all leaves under a role: it node', () => {
    const topology = topologyOf(yaml('{}'));
    expect(leafLevels(topology)).toEqual(['rack']);
    expect(defaultExportedLevels(topology)).toEqual(['grid', 'cooling', 'ups', 'hall', 'pdu']);
  });

  it('a level with one node that has children, or a root, is not a leaf level; a site without an IT node counts every leaf', () => {
    const topology: Topology = {
      sites: [
        { id: 'a', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, gridMeters: [], nodes: [
          { id: 'r', parent: null, level: 'feed', ratingWatts: 1e6, derate: 1, meters: ['a1'] },
          { id: 'p', parent: 'r', level: 'pdu', ratingWatts: 1e5, derate: 1, meters: ['a2'] },
          { id: 'c', parent: 'p', level: 'cab', ratingWatts: 1e4, derate: 1, meters: ['a3'] },
        ] },
        { id: 'b', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, gridMeters: [], nodes: [
          { id: 'r', parent: null, level: 'feed', ratingWatts: 1e6, derate: 1, meters: ['b1'] },
          { id: 'p', parent: 'r', level: 'pdu', ratingWatts: 1e5, derate: 1, meters: ['b2'] },
        ] },
        // A lone root is a leaf and a root: its level stays.
        { id: 'c', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, gridMeters: [], nodes: [{ id: 'x', parent: null, level: 'lone', ratingWatts: 1e6, derate: 1, meters: ['c1'] }] },
      ],
    };
    expect(leafLevels(topology)).toEqual(['cab']);
    expect([...exportedNodes(topology, {}).keys()]).toEqual(['a\u0000r', 'a\u0000p', 'b\u0000r', 'b\u0000p', 'c\u0000x']);
  });

  it('levels must be levels of the topology', () => {
    expect(configIssuesFromText(yaml('{ levels: [grid, rackz] }')).map((i) => `${i.path}: ${i.message}`)).toEqual(["sinks.metrics.levels[1]: 'rackz' is not the level of any node"]);
  });
});

describe('MetricsSink with the config defaults and explicit settings', () => {
  const aboveRacks = ['intake', 'cooling', 'ups-a', 'ups-b', 'hall', 'pdu-1', 'pdu-2'];

  it('by default: one window (1m), every node but the racks', async () => {
    expect(await exported(yaml('{}'))).toEqual(aboveRacks.map((n) => `${n}/1m`));
  });

  it('explicit maxDepth exports down to that depth, racks included, as before', async () => {
    const all = await exported(yaml('{ windows: [10s, 1m, 15m], maxDepth: 10 }'));
    expect(all).toHaveLength(13 * 3);
    expect(all).toContain('rack-2-3/15m');
    expect(await exported(yaml('{ windows: [10s], maxDepth: 1 }'))).toEqual(['intake/10s', 'cooling/10s', 'ups-a/10s', 'ups-b/10s']);
  });

  it('explicit levels export those levels (with maxDepth: both apply)', async () => {
    expect(await exported(yaml('{ levels: [grid, rack] }'))).toEqual(['intake', 'rack-1-1', 'rack-1-2', 'rack-1-3', 'rack-2-1', 'rack-2-2', 'rack-2-3'].map((n) => `${n}/1m`));
    expect(await exported(yaml('{ levels: [grid, rack], maxDepth: 3 }'))).toEqual(['intake/1m']);
  });
});
