import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { SummaryCollector, TerminalSummary, renderSummary, type FiringAlert, type SummaryTotals } from '../../../src/cli/summary.js';
import { countReadings } from '../../../src/pipeline/index.js';
import type { NodeWindow, SiteWindow, Topology } from '../../../src/domain/index.js';

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

const firing: FiringAlert = { site: 'lab1', node: 'pdu-1', rule: 'headroom_low', severity: 'critical', sinceMs: 20_000, summary: 'Headroom of pdu pdu-1 at lab1 is 4%' };

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

  it('renders plain lines when not on a terminal, every figure labelled, firing alerts by name and severity', () => {
    const c = new SummaryCollector(topology, 10_000);
    c.observe([nw('intake', 10_000, 400_000, 1_000_000), nw('pdu-1', 10_000, 70_000, 100_000), site]);
    const plain = renderSummary(c.snapshot(), totals, 10_000, false, [firing]);
    expect(plain.split('\n')).toEqual([
      'headroom · up 65s · 88 readings/s · 5000 readings · 3 dead letters · alerts: 0 firing, 0 transitions so far',
      'site lab1, latest 10s window: load 400kW, headroom 400kW (usable − load), utilization 40.0% of rating, contract headroom 500kW, PUE 1.33, least headroom pdu-1 (pdu) 12.5% of usable left',
      'site lab2, latest 10s window: load –, headroom – (usable − load), utilization – of rating, contract headroom –, PUE –, least headroom –',
      'alert firing: critical headroom_low at lab1/pdu-1: Headroom of pdu pdu-1 at lab1 is 4%',
      '',
    ]);
  });

  it('renders a table on a terminal, with the firing alerts listed by severity and name', () => {
    const c = new SummaryCollector(topology, 10_000);
    c.observe([nw('intake', 10_000, 400_000, 1_000_000), nw('pdu-1', 10_000, 70_000, 100_000), site]);
    const table = renderSummary(c.snapshot(), { ...totals, sourcePaused: true }, 10_000, true, [firing, { ...firing, node: null, rule: 'site_stale', severity: 'warning', summary: null }]);
    expect(table).toContain('source PAUSED (a sink is full)');
    expect(table).toMatch(/SITE\s+LOAD\s+HEADROOM\s+UTILIZATION\s+CONTRACT HEADROOM\s+PUE\s+LEAST HEADROOM \(node, % of usable left\)/);
    expect(table).toMatch(/lab1\s+400kW\s+400kW\s+40\.0%\s+500kW\s+1\.33\s+pdu-1 \(pdu\) 12\.5% of usable left/);
    expect(table).toContain('headroom: usable (rating × derate) − load at the roots');
    const alertLines = table.split('\n').slice(table.split('\n').indexOf('firing alerts (2):') + 1, -3);
    expect(alertLines).toEqual(['  CRITICAL  headroom_low  lab1/pdu-1  Headroom of pdu pdu-1 at lab1 is 4%', '  WARNING   site_stale    lab1']);
    expect(renderSummary(c.snapshot(), totals, 10_000, true, [])).toContain('firing alerts: none');
    const many = Array.from({ length: 13 }, (_, i) => ({ ...firing, node: `n${i}` }));
    expect(renderSummary(c.snapshot(), totals, 10_000, true, many)).toContain('  … and 3 more');
  });

  it('counts firing alerts until they resolve', () => {
    const c = new SummaryCollector(topology, 10_000);
    const alert = { type: 'alert' as const, site: 'lab1', node: 'pdu-1', rule: 'headroom', severity: 'warning' as const, atMs: 0, windowMs: 10_000, value: 1, threshold: 2, labels: {}, annotations: {} };
    c.observe([{ ...alert, state: 'pending' }, { ...alert, state: 'firing' }, { ...alert, severity: 'critical', state: 'firing', annotations: { summary: 'very low' } }]);
    expect([c.alerts, c.alertsFiring]).toEqual([3, 2]);
    expect(c.firingAlerts().map((a) => [a.severity, a.rule, a.node, a.summary])).toEqual([
      ['critical', 'headroom', 'pdu-1', 'very low'],
      ['warning', 'headroom', 'pdu-1', null],
    ]);
    c.observe([{ ...alert, state: 'resolved' }, { ...alert, severity: 'critical', state: 'resolved' }]);
    expect([c.alerts, c.alertsFiring]).toEqual([5, 0]);
    expect(c.firingAlerts()).toEqual([]);
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

  it('redraws in place on a TTY: each refresh moves back over the previous block instead of scrolling', () => {
    const out = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    const chunks: string[] = [];
    out.on('data', (b: Buffer) => chunks.push(b.toString()));
    const collector = new SummaryCollector(topology, 10_000);
    collector.observe([nw('intake', 10_000, 400_000, 1_000_000), nw('pdu-1', 10_000, 70_000, 100_000), site]);
    let nowMs = 0;
    const s = new TerminalSummary({
      collector,
      clock: () => nowMs,
      out,
      info: ['metrics http://127.0.0.1:9464/metrics'],
      totals: () => ({ readings: 0, deadLetters: 0, alerts: 0, alertsFiring: 0, sourcePaused: false }),
    });
    s.render();
    const first = chunks.join('');
    chunks.length = 0;
    nowMs = 3_000;
    s.render();
    const second = chunks.join('');
    // The first block: cursor to column 1, clear below, then the text (no screen clear, no scrollback).
    expect(first.startsWith('\x1b[1G\x1b[0J')).toBe(true);
    expect(first).not.toContain('\x1b[2J');
    const rows = first.slice('\x1b[1G\x1b[0J'.length).split('\n').length - 1;
    expect(rows).toBeGreaterThan(5);
    // The second: up exactly as many rows as the first took, then the same.
    expect(second.startsWith(`\x1b[${rows}A\x1b[1G\x1b[0J`)).toBe(true);
    // Every line fits the terminal (so it takes one row).
    const text = second.slice(`\x1b[${rows}A\x1b[1G\x1b[0J`.length);
    for (const line of text.split('\n')) expect(line.length).toBeLessThan(100);
    expect(second).toContain('metrics http://127.0.0.1:9464/metrics');
  });
});

describe('countReadings', () => {
  it('counts the readings of a simulated payload', () => {
    expect(countReadings('{"site":"a","meter":"m","ts":1,"watts":2}')).toBe(1);
    expect(countReadings('[{"site":"a","meter":"m","ts":1,"watts":2},{"site":"a","meter":"n","ts":1,"watts":2}]')).toBe(2);
  });
});
