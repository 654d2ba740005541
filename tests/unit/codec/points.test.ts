import { describe, expect, it } from 'vitest';
import { formatTimestamp, formatWindowLabel, pointToLine, recordToLine, recordToPoint } from '../../../src/codec/points.js';
import type { AlertEvent, MeterWindow, NodeWindow, SiteWindow } from '../../../src/domain/index.js';

const T0 = Date.UTC(2026, 0, 1); // 1767225600000

const nodeWindow: NodeWindow = {
  type: 'node',
  site: 'ash1',
  node: 'pdu-a1',
  level: 'pdu',
  windowMs: 60_000,
  start: T0,
  end: T0 + 60_000,
  revision: 0,
  loadWatts: 12_000,
  peakWatts: 12_500.5,
  minWatts: 11_800,
  energyWh: 200,
  ratingWatts: 20_000,
  usableWatts: 16_000,
  headroomWatts: 4_000,
  utilization: 0.6,
  failoverHeadroomWatts: null,
  completeness: 1,
  headroomCertain: true,
  childrenLoadWatts: null,
  unmeteredWatts: null,
  rampWattsPerSecond: 1.25,
  timeToBreachSeconds: null,
  swingWatts: null,
  swingPeriodSeconds: null,
  swingPeriodShare: null,
};

const siteWindow: SiteWindow = {
  type: 'site',
  site: 'ash1',
  windowMs: 900_000,
  start: T0,
  end: T0 + 900_000,
  revision: 2,
  facilityWatts: 1_300_000,
  itWatts: 1_000_000,
  pue: 1.3,
  contractWatts: 2_000_000,
  contractHeadroomWatts: 700_000,
  demandWatts: 1_290_000,
  demandIntervalStart: T0,
  periodPeakWatts: 1_350_000,
  periodStart: T0,
  gridHertz: 60.01,
  hertzDeviation: 0.01,
  pricePerMWh: null,
  energyCost: null,
  carbonGramsPerKWh: null,
  carbonGrams: null,
};

const meterWindow: MeterWindow = {
  type: 'meter',
  site: 'ash1',
  meter: 'm-1',
  windowMs: 10_000,
  start: T0,
  end: T0 + 10_000,
  revision: 1,
  loadWatts: 500,
  energyWh: 1.3888888888888888,
  coverage: 1,
  count: 10,
  minWatts: 490,
  maxWatts: 510,
  lastWatts: 505,
  lastTsMs: T0 + 9_000,
  counterResets: 0,
};

const alert: AlertEvent = {
  type: 'alert',
  site: 'ash1',
  node: 'pdu-a1',
  rule: 'headroom_low',
  severity: 'critical',
  state: 'firing',
  atMs: T0 + 60_000,
  windowMs: 60_000,
  value: 1500,
  threshold: 1600,
  labels: {},
  annotations: { summary: 'headroom below 10%' },
};

describe('formatWindowLabel', () => {
  it.each([
    [10_000, '10s'],
    [60_000, '1m'],
    [900_000, '15m'],
    [90_000, '90s'],
    [5_400_000, '90m'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [1_500, '1500ms'],
  ] as const)('%d ms → %s', (ms, label) => {
    expect(formatWindowLabel(ms)).toBe(label);
  });
});

describe('record → line protocol', () => {
  it('node window: tags sorted, null fields left out, bool and int typed, time = window start', () => {
    expect(recordToLine(nodeWindow, 'ms')).toBe(
      'headroom_node,level=pdu,node=pdu-a1,site=ash1,window=1m ' +
        'load_w=12000,peak_w=12500.5,min_w=11800,energy_wh=200,rating_w=20000,usable_w=16000,headroom_w=4000,' +
        'utilization=0.6,completeness=1,headroom_certain=true,ramp_w_per_s=1.25,revision=0i 1767225600000',
    );
  });

  it('site window', () => {
    expect(recordToLine(siteWindow, 'ms')).toBe(
      'headroom_site,site=ash1,window=15m ' +
        'facility_w=1300000,it_w=1000000,pue=1.3,contract_w=2000000,contract_headroom_w=700000,demand_w=1290000,' +
        'demand_interval_start_ms=1767225600000i,period_peak_w=1350000,period_start_ms=1767225600000i,' +
        'grid_hz=60.01,hz_deviation=0.01,revision=2i 1767225600000',
    );
  });

  it('meter window', () => {
    expect(recordToLine(meterWindow, 'ms')).toBe(
      'headroom_meter,meter=m-1,site=ash1,window=10s ' +
        'load_w=500,energy_wh=1.3888888888888888,coverage=1,count=10i,min_w=490,max_w=510,last_w=505,' +
        'last_ts_ms=1767225609000i,counter_resets=0i,revision=1i 1767225600000',
    );
  });

  it('alert transition: time = atMs, state as string and code', () => {
    expect(recordToLine(alert, 'ms')).toBe(
      'headroom_alert,node=pdu-a1,rule=headroom_low,severity=critical,site=ash1,window=1m ' +
        'state="firing",state_code=2i,value=1500,threshold=1600 1767225660000',
    );
  });

  it('site alert without node and value: the tag and the field are left out', () => {
    expect(recordToLine({ ...alert, node: null, value: null, state: 'resolved', rule: 'demand_high', severity: 'warning' }, 's')).toBe(
      'headroom_alert,rule=demand_high,severity=warning,site=ash1,window=1m state="resolved",state_code=0i,threshold=1600 1767225660',
    );
  });

  it('a restatement maps to the same series and timestamp, with the higher revision', () => {
    const first = recordToPoint(nodeWindow);
    const restated = recordToPoint({ ...nodeWindow, revision: 1, loadWatts: 12_100 });
    expect(restated.measurement).toBe(first.measurement);
    expect(restated.tags).toEqual(first.tags);
    expect(restated.timeMs).toBe(first.timeMs);
    expect(restated.fields.revision).toEqual({ type: 'int', value: 1 });
  });

  it('non-finite numbers are left out', () => {
    const line = recordToLine({ ...nodeWindow, utilization: Number.POSITIVE_INFINITY, rampWattsPerSecond: Number.NaN }, 'ms');
    expect(line).not.toContain('utilization=');
    expect(line).not.toContain('ramp_w_per_s=');
  });
});

describe('escaping and precision', () => {
  it('escapes measurement, tag and string field special characters; drops empty tags', () => {
    const line = pointToLine(
      {
        measurement: 'my meas,ure',
        tags: { 'a b': 'x,y=z', empty: '' },
        fields: { 'f=1': { type: 'string', value: 'say "hi" \\ bye\nnow' }, ok: { type: 'bool', value: false } },
        timeMs: 1000,
      },
      'ms',
    );
    expect(line).toBe('my\\ meas\\,ure,a\\ b=x\\,y\\=z f\\=1="say \\"hi\\" \\\\ bye\\nnow",ok=false 1000');
  });

  it('a point without fields has no line', () => {
    expect(pointToLine({ measurement: 'm', tags: {}, fields: {}, timeMs: 0 }, 'ms')).toBeNull();
  });

  it.each([
    ['s', '1767225600'],
    ['ms', '1767225600000'],
    ['us', '1767225600000000'],
    ['ns', '1767225600000000000'],
  ] as const)('precision %s', (precision, text) => {
    expect(formatTimestamp(T0, precision)).toBe(text);
  });

  it('ns timestamps are exact beyond 2^53', () => {
    expect(formatTimestamp(T0 + 123, 'ns')).toBe('1767225600123000000');
  });
});
