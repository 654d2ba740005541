/**
 * Output records → InfluxDB points and line protocol. Pure: no I/O, no clock.
 *
 * Schema (docs/outputs.md):
 * - measurements `headroom_node`, `headroom_site`, `headroom_meter`, `headroom_alert`;
 * - tags `site`, `node`, `level`, `meter`, `window` (`10s`, `1m`, `15m`: formatWindowLabel),
 *   and for alerts `rule`, `severity`;
 * - fields: the record's numbers in snake_case with their unit (`load_w`, `energy_wh`, …);
 *   null and non-finite values are left out;
 * - time: the window start (alerts: `atMs`), so a restatement (higher revision) writes the
 *   same series and timestamp and overwrites the earlier point.
 */
import { windowLabel } from '../core/index.js';
import type { AlertEvent, MeterWindow, NodeWindow, OutputRecord, SiteWindow } from '../domain/index.js';

export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's';

export const MEASUREMENT = {
  node: 'headroom_node',
  site: 'headroom_site',
  meter: 'headroom_meter',
  alert: 'headroom_alert',
} as const;

export type PointFieldValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string };

/** One InfluxDB point. Tags and fields keep insertion order; line protocol sorts tags. */
export interface InfluxPoint {
  measurement: string;
  tags: Readonly<Record<string, string>>;
  fields: Readonly<Record<string, PointFieldValue>>;
  timeMs: number;
}

/** Alert state as a number, for stores that keep numeric fields only (VictoriaMetrics). */
export const ALERT_STATE_CODE = { resolved: 0, pending: 1, firing: 2 } as const;

/** The window size as a tag value: the same label as Prometheus series and alerts carry. */
export const formatWindowLabel = windowLabel;

class FieldBuilder {
  readonly fields: Record<string, PointFieldValue> = {};

  float(key: string, value: number | null): this {
    if (value !== null && Number.isFinite(value)) this.fields[key] = { type: 'float', value };
    return this;
  }

  int(key: string, value: number | null): this {
    if (value !== null && Number.isFinite(value)) this.fields[key] = { type: 'int', value: Math.trunc(value) };
    return this;
  }

  bool(key: string, value: boolean): this {
    this.fields[key] = { type: 'bool', value };
    return this;
  }

  string(key: string, value: string): this {
    this.fields[key] = { type: 'string', value };
    return this;
  }
}

function nodePoint(r: NodeWindow): InfluxPoint {
  const f = new FieldBuilder()
    .float('load_w', r.loadWatts)
    .float('peak_w', r.peakWatts)
    .float('min_w', r.minWatts)
    .float('energy_wh', r.energyWh)
    .float('rating_w', r.ratingWatts)
    .float('usable_w', r.usableWatts)
    .float('headroom_w', r.headroomWatts)
    .float('utilization', r.utilization)
    .float('failover_headroom_w', r.failoverHeadroomWatts)
    .float('completeness', r.completeness)
    .bool('headroom_certain', r.headroomCertain)
    .float('children_load_w', r.childrenLoadWatts)
    .float('unmetered_w', r.unmeteredWatts)
    .float('ramp_w_per_s', r.rampWattsPerSecond)
    .float('time_to_breach_s', r.timeToBreachSeconds)
    .float('swing_w', r.swingWatts)
    .float('swing_period_s', r.swingPeriodSeconds)
    .float('swing_period_share', r.swingPeriodShare)
    .int('revision', r.revision);
  return {
    measurement: MEASUREMENT.node,
    tags: { site: r.site, node: r.node, level: r.level, window: formatWindowLabel(r.windowMs) },
    fields: f.fields,
    timeMs: r.start,
  };
}

function sitePoint(r: SiteWindow): InfluxPoint {
  const f = new FieldBuilder()
    .float('facility_w', r.facilityWatts)
    .float('it_w', r.itWatts)
    .float('pue', r.pue)
    .float('contract_w', r.contractWatts)
    .float('contract_headroom_w', r.contractHeadroomWatts)
    .float('demand_w', r.demandWatts)
    .int('demand_interval_start_ms', r.demandIntervalStart)
    .float('period_peak_w', r.periodPeakWatts)
    .int('period_start_ms', r.periodStart)
    .float('grid_hz', r.gridHertz)
    .float('hz_deviation', r.hertzDeviation)
    .float('price_per_mwh', r.pricePerMWh)
    .float('energy_cost', r.energyCost)
    .float('carbon_g_per_kwh', r.carbonGramsPerKWh)
    .float('carbon_g', r.carbonGrams)
    .int('revision', r.revision);
  return {
    measurement: MEASUREMENT.site,
    tags: { site: r.site, window: formatWindowLabel(r.windowMs) },
    fields: f.fields,
    timeMs: r.start,
  };
}

function meterPoint(r: MeterWindow): InfluxPoint {
  const f = new FieldBuilder()
    .float('load_w', r.loadWatts)
    .float('energy_wh', r.energyWh)
    .float('coverage', r.coverage)
    .int('count', r.count)
    .float('min_w', r.minWatts)
    .float('max_w', r.maxWatts)
    .float('last_w', r.lastWatts)
    .int('last_ts_ms', r.lastTsMs)
    .int('counter_resets', r.counterResets)
    .int('revision', r.revision);
  return {
    measurement: MEASUREMENT.meter,
    tags: { site: r.site, meter: r.meter, window: formatWindowLabel(r.windowMs) },
    fields: f.fields,
    timeMs: r.start,
  };
}

function alertPoint(r: AlertEvent): InfluxPoint {
  const f = new FieldBuilder()
    .string('state', r.state)
    .int('state_code', ALERT_STATE_CODE[r.state])
    .float('value', r.value)
    .float('threshold', r.threshold);
  const tags: Record<string, string> = { site: r.site };
  if (r.node !== null) tags.node = r.node;
  tags.rule = r.rule;
  tags.severity = r.severity;
  tags.window = formatWindowLabel(r.windowMs);
  return { measurement: MEASUREMENT.alert, tags, fields: f.fields, timeMs: r.atMs };
}

/** The point of one output record (time = window start; alerts: the transition time). */
export function recordToPoint(record: OutputRecord): InfluxPoint {
  switch (record.type) {
    case 'node':
      return nodePoint(record);
    case 'site':
      return sitePoint(record);
    case 'meter':
      return meterPoint(record);
    case 'alert':
      return alertPoint(record);
  }
}

// ── line protocol ──

/** Measurements: commas and spaces are escaped; other whitespace becomes an escaped space. */
const escapeMeasurement = (s: string): string => s.replace(/[,\s]/g, (c) => (c === ',' ? '\\,' : '\\ '));
/** Tag keys, tag values and field keys: commas, equals signs and spaces are escaped; other whitespace becomes a space (escaped). */
const escapeKey = (s: string): string => s.replace(/[,= \t\r\n]/g, (c) => (c === ',' || c === '=' ? `\\${c}` : '\\ '));
const escapeStringField = (s: string): string => s.replace(/["\\]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');

function formatField(v: PointFieldValue): string {
  switch (v.type) {
    case 'float':
      return String(v.value);
    case 'int':
      return `${v.value}i`;
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'string':
      return `"${escapeStringField(v.value)}"`;
  }
}

/** ms since the epoch in the given precision, as an integer string (exact for ns too). */
export function formatTimestamp(timeMs: number, precision: InfluxPrecision): string {
  const ms = Math.trunc(timeMs);
  switch (precision) {
    case 'ms':
      return String(ms);
    case 's':
      return String(Math.floor(ms / 1000));
    case 'us':
      return (BigInt(ms) * 1_000n).toString();
    case 'ns':
      return (BigInt(ms) * 1_000_000n).toString();
  }
}

/**
 * One line of line protocol, tags sorted by key (InfluxDB's recommendation), empty tag
 * values left out. Returns null for a point without fields (not representable).
 */
export function pointToLine(point: InfluxPoint, precision: InfluxPrecision): string | null {
  const fieldParts: string[] = [];
  for (const [key, value] of Object.entries(point.fields)) fieldParts.push(`${escapeKey(key)}=${formatField(value)}`);
  if (fieldParts.length === 0) return null;
  let line = escapeMeasurement(point.measurement);
  for (const key of Object.keys(point.tags).sort()) {
    const value = point.tags[key];
    if (value === undefined || value === '') continue;
    line += `,${escapeKey(key)}=${escapeKey(value)}`;
  }
  return `${line} ${fieldParts.join(',')} ${formatTimestamp(point.timeMs, precision)}`;
}

/** recordToPoint then pointToLine. */
export function recordToLine(record: OutputRecord, precision: InfluxPrecision): string | null {
  return pointToLine(recordToPoint(record), precision);
}
