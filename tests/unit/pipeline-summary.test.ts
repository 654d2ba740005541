import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { SummaryCollector, TerminalSummary, renderSummary, type SummaryTotals } from '../../src/cli/summary.js';
import { countReadings } from '../../src/pipeline/index.js';
import type { NodeWindow, SiteWindow, Topology } from '../../src/domain/index.js';

const topology: Topology = {
  sites: [
    {
      id: 'lab1',
      nominalHertz: 60,
      billingPeriod: 'month',
      demandIntervalMs: 900_000,
      gridMeters: [],
      nodes: [
        { id: 'intake', parent: null, level: 'grid', ratingWatts: 1_000_000, derate: 0.8, meters: ['a'] },
        { id: 'pdu-1', parent: 'intake', level: 'pdu', ratingWatts: 100_000, derate: 0.8, meters: ['b'] },
      ],
    },
    { id: 'lab2', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, gridMeters: [], nodes: [{ id: 'root', parent: null, level: 'grid', ratingWatts: 1, derate: 1, meters: ['c'] }] },
  ],
};

function nw(node: string, start: number, loadWatts: number, ratingWatts: number, windowMs = 10_000): NodeWindow {
  const usableWatts = ratingWatts * 0.8;
  return {
    type: 'node', site: 'lab1', node, level: node === 'intake' ? 'grid' : 'pdu', windowMs, start, end: start + windowMs, revision: 0,
    loadWatts, peakWatts: loadWatts, minWatts: loadWatts, energyWh: 0, ratingWatts, usableWatts, headroomWatts: usableWatts - loadWatts,
    utilization: loadWatts / ratingWatts, failoverHeadroomWatts: null, completeness: 1, headroomCertain: true, childrenLoadWatts: null,
    unmeteredWatts: null, rampWattsPerSecond: null, timeToBreachSeconds: null, swingWatts: null, swingPeriodSeconds: null, swingPeriodShare: null,
  };
}

const site: SiteWindow = {
  type: 'site', site: 'lab1', windowMs: 10_000, start: 10_000, end: 20_000, revision: 0, facilityWatts: 400_000, itWatts: 300_000, pue: 1.3333,
  contractWatts: 900_000, contractHeadroomWatts: 500_000, demandWatts: null, demandIntervalStart: null, periodPeakWatts: null, periodStart: null,
  gridHertz: null, hertzDeviation: null, pricePerMWh: null, energyCost: null, carbonGramsPerKWh: null, carbonGrams: null,
};

const totals: SummaryTotals = { uptimeSeconds: 65, readingsPerSecond: 88.4, readings: 5000, deadLetters: 3, alertsFiring: 0, alerts: 0, sourcePaused: false };

describe('terminal summary', () => {
  it('keeps the latest window per site and finds the node with the least headroom ratio', () => {
    const c = new SummaryCollector(topology, 10_000);
    c.observe([nw('intake', 0, 100_000, 1_000_000), nw('pdu-1', 0, 10_000, 100_000)]);
    c.observe([nw('intake', 10_000, 400_000, 1_000_000), nw('pdu-1', 10_000, 70_000, 100_000), site, nw('intake', 0, 1, 1_000_000), nw('intake', 20_000, 1, 1, 60_000)]);
    const [lab1, lab2] = c.snapshot();
    expect(lab1).toMatchObject({ site: 'lab1', windowStartMs: 10_000, loadWatts: 400_000, headroomWatts: 400_000, utilization: 0.4, pue: 1.3333, contractHeadroomWatts: 500_000 });
    expect(lab1!.worst).toMatchObject({ node: 'pdu-1', headroomWatts: 10_000 });
    expect(lab1!.worst!.headroomRatio).toBeCloseTo(0.125, 9);
    expect(lab2).toMatchObject({ site: 'lab2', windowStartMs: null, loadWatts: null, worst: null });
  });

  it('renders plain lines when not on a terminal, and a table on one', () => {
    const c = new SummaryCollector(topology, 10_000);
    c.observe([nw('intake', 10_000, 400_000, 1_000_000), nw('pdu-1', 10_000, 70_000, 100_000), site]);
    const plain = renderSummary(c.snapshot(), totals, 10_000, false);
    expect(plain.split('\n')).toEqual([
      'headroom · up 65s · 88 readings/s · 5000 readings · dead letters 3 · alerts 0 firing (0 so far)',
      'site lab1 [10s]: load 400kW, headroom 400kW, utilization 40.0%, worst pdu-1 12.5%, PUE 1.33',
      'site lab2 [10s]: load –, headroom –, utilization –, worst –, PUE –',
      '',
    ]);
    const table = renderSummary(c.snapshot(), { ...totals, sourcePaused: true }, 10_000, true);
    expect(table).toContain('source PAUSED');
    expect(table).toMatch(/SITE\s+LOAD\s+HEADROOM\s+UTIL/);
    expect(table).toMatch(/lab1\s+400kW\s+400kW\s+40\.0%\s+500kW\s+1\.33\s+pdu-1 \(pdu\) 12\.5%/);
  });

  it('counts firing alerts until they resolve', () => {
    const c = new SummaryCollector(topology, 10_000);
    const alert = { type: 'alert' as const, site: 'lab1', node: 'pdu-1', rule: 'headroom', severity: 'warning' as const, atMs: 0, windowMs: 10_000, value: 1, threshold: 2, labels: {}, annotations: {} };
    c.observe([{ ...alert, state: 'pending' }, { ...alert, state: 'firing' }]);
    expect([c.alerts, c.alertsFiring]).toEqual([2, 1]);
    c.observe([{ ...alert, state: 'resolved' }]);
    expect([c.alerts, c.alertsFiring]).toEqual([3, 0]);
  });

  it('writes plain text to a stream that is not a TTY, with readings/s from the injected clock', () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (b: Buffer) => chunks.push(b.toString()));
    let nowMs = 0;
    let readings = 0;
    const s = new TerminalSummary({
      collector: new SummaryCollector(topology, 10_000),
      clock: () => nowMs,
      out,
      totals: () => ({ readings, deadLetters: 0, alerts: 0, alertsFiring: 0, sourcePaused: false }),
    });
    nowMs = 2_000;
    readings = 500;
    s.render();
    const text = chunks.join('');
    expect(text).toContain('250 readings/s');
    expect(text).not.toContain('\x1b[');
  });
});

describe('countReadings', () => {
  it('counts the readings of a simulated payload', () => {
    expect(countReadings('{"site":"a","meter":"m","ts":1,"watts":2}')).toBe(1);
    expect(countReadings('[{"site":"a","meter":"m","ts":1,"watts":2},{"site":"a","meter":"n","ts":1,"watts":2}]')).toBe(2);
  });
});
