/**
 * The Grafana dashboards and provisioning under grafana/: every dashboard validates against
 * grafana/schema/dashboard.schema.json (ajv); data sources only through the ${ds_prometheus}
 * and ${ds_influxdb} variables; stable unique uids; a unit and thresholds on every panel, the
 * thresholds at the levels of the built-in alert rules (config/alerts.yaml); every metric
 * name in a PromQL expression (panels and variable queries) is an exported constant
 * (src/telemetry/metric-names.ts); every InfluxQL query reads measurements, fields and tags
 * the point mapping (src/codec/points.ts) writes. The queries run against real servers in
 * tests/integration/grafana.test.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { MEASUREMENT, recordToPoint } from '../../../src/codec/points.js';
import type { AlertEvent, NodeWindow, OutputRecord, SiteWindow } from '../../../src/domain/index.js';
import { METRIC_NAMES, NODEJS_METRICS_PREFIX, PROCESS_METRICS_PREFIX, SINK_DELIVERY_DELAY_SECONDS, SINK_WRITE_SECONDS, WINDOW_EMIT_DELAY_SECONDS } from '../../../src/telemetry/metric-names.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dashboardsDir = join(repoRoot, 'grafana/dashboards');

// ───────────────────────────── reading the dashboards ─────────────────────────────

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);

interface Dashboard {
  file: string;
  json: JsonObject;
}

interface Query {
  dashboard: string;
  panel: string;
  kind: 'promql' | 'influxql' | 'variable';
  text: string;
}

function loadDashboards(): Dashboard[] {
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const json = JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Json;
      if (!isObject(json)) throw new Error(`${file}: not a JSON object`);
      return { file, json };
    });
}

/** Panels, including those nested in collapsed rows. */
function panelsOf(d: Dashboard): JsonObject[] {
  const out: JsonObject[] = [];
  for (const p of arr(d.json.panels)) {
    if (!isObject(p)) continue;
    out.push(p);
    for (const inner of arr(p.panels)) if (isObject(inner)) out.push(inner);
  }
  return out;
}

function variablesOf(d: Dashboard): JsonObject[] {
  const templating = d.json.templating;
  return isObject(templating) ? arr(templating.list).filter(isObject) : [];
}

function queriesOf(d: Dashboard): Query[] {
  const out: Query[] = [];
  for (const p of panelsOf(d)) {
    for (const t of arr(p.targets)) {
      if (!isObject(t)) continue;
      const panel = str(p.title) ?? '?';
      const expr = str(t.expr);
      const query = str(t.query);
      if (expr !== undefined) out.push({ dashboard: d.file, panel, kind: 'promql', text: expr });
      else if (query !== undefined) out.push({ dashboard: d.file, panel, kind: 'influxql', text: query });
    }
  }
  for (const v of variablesOf(d)) {
    if (v.type !== 'query') continue;
    const q = v.query;
    const text = isObject(q) ? str(q.query) : str(q);
    if (text !== undefined) out.push({ dashboard: d.file, panel: `variable ${str(v.name) ?? '?'}`, kind: 'variable', text });
  }
  return out;
}

// ───────────────────────────── PromQL metric names ─────────────────────────────

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan', 'atan2']);

/**
 * The metric names an expression reads: string literals, label matchers `{…}`, range and
 * subquery brackets `[…]`, grouping label lists (`by (…)`, `on (…)`, …), template variables
 * and numbers are removed; identifiers followed by `(` are functions or aggregations; what is
 * left (and not a keyword) is a metric name. `label_values(metric, label)` yields its metric.
 */
function promqlMetricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const labelValues = /^\s*label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.exec(s) ?? /^\s*label_values\((.+)\)\s*$/.exec(s);
  if (labelValues !== null) s = labelValues[1] ?? '';
  let prev = '';
  while (prev !== s) {
    prev = s;
    s = s.replace(/\{[^{}]*\}/g, ' ').replace(/\[[^[\]]*\]/g, ' ');
  }
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g, ' ');
  s = s.replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, ' ');
  s = s.replace(/\b(\d+(ms|[smhdwy]))+\b/g, ' ');
  s = s.replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    const after = s.slice((m.index ?? 0) + name.length);
    if (/^\s*\(/.test(after)) continue;
    if (PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

const HISTOGRAMS = new Set([WINDOW_EMIT_DELAY_SECONDS, SINK_WRITE_SECONDS, SINK_DELIVERY_DELAY_SECONDS]);

/** The exported constant a series name belongs to (histogram series: `_bucket`, `_sum`, `_count`). */
function exportedNameOf(series: string): string | null {
  if (METRIC_NAMES.includes(series)) return series;
  const base = series.replace(/_(bucket|sum|count)$/, '');
  if (base !== series && HISTOGRAMS.has(base)) return base;
  if (series.startsWith(PROCESS_METRICS_PREFIX)) return PROCESS_METRICS_PREFIX;
  if (series.startsWith(NODEJS_METRICS_PREFIX)) return NODEJS_METRICS_PREFIX;
  return null;
}

// ───────────────────────────── InfluxQL identifiers ─────────────────────────────

/** Measurement → tags and fields the point mapping writes (from records with every value set). */
function influxSchema(): Map<string, Set<string>> {
  const node: NodeWindow = {
    type: 'node', site: 's', node: 'n', level: 'l', windowMs: 10_000, start: 0, end: 10_000, revision: 0,
    loadWatts: 1, peakWatts: 1, minWatts: 1, energyWh: 1, ratingWatts: 1, usableWatts: 1, headroomWatts: 1, utilization: 1,
    failoverHeadroomWatts: 1, completeness: 1, headroomCertain: true, childrenLoadWatts: 1, unmeteredWatts: 1, rampWattsPerSecond: 1, timeToBreachSeconds: 1, swingWatts: 1, swingPeriodSeconds: 1, swingPeriodShare: 1,
  };
  const site: SiteWindow = {
    type: 'site', site: 's', windowMs: 10_000, start: 0, end: 10_000, revision: 0,
    facilityWatts: 1, itWatts: 1, pue: 1, contractWatts: 1, contractHeadroomWatts: 1, demandWatts: 1, demandIntervalStart: 0, periodPeakWatts: 1, periodStart: 0,
    gridHertz: 60, hertzDeviation: 0, pricePerMWh: 1, energyCost: 1, carbonGramsPerKWh: 1, carbonGrams: 1,
  };
  const alert: AlertEvent = {
    type: 'alert', site: 's', node: 'n', rule: 'r', severity: 'warning', state: 'firing', atMs: 0, windowMs: 10_000, value: 1, threshold: 1, labels: {}, annotations: {},
  };
  const schema = new Map<string, Set<string>>();
  for (const r of [node, site, alert] satisfies OutputRecord[]) {
    const p = recordToPoint(r);
    schema.set(p.measurement, new Set([...Object.keys(p.tags), ...Object.keys(p.fields)]));
  }
  return schema;
}

/** Double-quoted identifiers of an InfluxQL query, minus aliases (`AS "…"`). */
function influxIdentifiers(query: string): string[] {
  const ids: string[] = [];
  for (const m of query.matchAll(/(\bAS\s+)?"([^"]+)"/gi)) if (m[1] === undefined && m[2] !== undefined) ids.push(m[2]);
  return ids;
}

// ───────────────────────────── tests ─────────────────────────────

const dashboards = loadDashboards();
const EXPECTED_UIDS: Record<string, string> = {
  'fleet-overview.json': 'headroom-fleet-overview',
  'pipeline-health.json': 'headroom-pipeline-health',
  'site-drilldown.json': 'headroom-site-drilldown',
};

function compileSchema(): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(repoRoot, 'grafana/schema/dashboard.schema.json'), 'utf8')) as object;
  return new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false }).compile(schema);
}

describe('Grafana dashboards', () => {
  const validate = compileSchema();

  it('are the three expected files with stable, unique uids', () => {
    expect(dashboards.map((d) => d.file)).toEqual(Object.keys(EXPECTED_UIDS).sort());
    for (const d of dashboards) expect(d.json.uid, d.file).toBe(EXPECTED_UIDS[d.file]);
    const uids = dashboards.map((d) => d.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it.each(dashboards.map((d) => [d.file, d] as const))('%s validates against the dashboard schema', (_file, d) => {
    const ok = validate(d.json);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema rejects a hard-coded data source uid, a panel without a unit and an InfluxQL query without $timeFilter', () => {
    const base = dashboards[0]!.json;
    const firstPanel = (d: JsonObject): JsonObject => {
      const p = arr(d.panels).find((x): x is JsonObject => isObject(x) && x.type !== 'row');
      if (p === undefined) throw new Error('no panel');
      return p;
    };
    const hardUid = structuredClone(base);
    firstPanel(hardUid).datasource = { type: 'prometheus', uid: 'P1809F7CD0C75ACF3' };
    expect(validate(hardUid)).toBe(false);

    const noUnit = structuredClone(base);
    const fc = firstPanel(noUnit).fieldConfig;
    if (!isObject(fc) || !isObject(fc.defaults)) throw new Error('no fieldConfig');
    delete fc.defaults.unit;
    expect(validate(noUnit)).toBe(false);

    const influxPanel = structuredClone(base);
    const p = firstPanel(influxPanel);
    p.datasource = { type: 'influxdb', uid: '${ds_influxdb}' };
    p.targets = [{ refId: 'A', datasource: { type: 'influxdb', uid: '${ds_influxdb}' }, query: 'SELECT mean("load_w") FROM "headroom_node"', rawQuery: true }];
    expect(validate(influxPanel)).toBe(false);
  });

  it('refer to data sources only through ${ds_prometheus} and ${ds_influxdb}, and declare both variables', () => {
    for (const d of dashboards) {
      const refs: string[] = [];
      const walk = (v: Json, key: string): void => {
        if (key === 'datasource' && isObject(v)) refs.push(str(v.uid) ?? '(none)');
        else if (key === 'datasource' && v !== null) refs.push(`string ${JSON.stringify(v)}`);
        if (Array.isArray(v)) for (const x of v) walk(x, '');
        else if (isObject(v)) for (const [k, x] of Object.entries(v)) walk(x, k);
      };
      walk(d.json, '');
      // The built-in annotation query is the one exception (Grafana's own data source).
      const bad = refs.filter((u) => u !== '${ds_prometheus}' && u !== '${ds_influxdb}' && u !== '-- Grafana --');
      expect(bad, d.file).toEqual([]);
      expect(JSON.stringify(d.json)).not.toMatch(/headroom-(prometheus|influxdb)/);
      const names = variablesOf(d).map((v) => v.name);
      expect(names, d.file).toEqual(expect.arrayContaining(['ds_prometheus', 'ds_influxdb']));
    }
  });

  it('have a unit on every panel, unique panel ids, and panels inside the 24-column grid without overlaps', () => {
    const KNOWN_UNITS = new Set(['watt', 'percentunit', 's', 'hertz', 'none', 'short', 'cps', 'bytes', 'si:W/s']);
    for (const d of dashboards) {
      const panels = panelsOf(d);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, d.file).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const g = p.gridPos;
        if (!isObject(g)) throw new Error(`${d.file}: panel ${String(p.title)} has no gridPos`);
        const [x, y, w, h] = [g.x, g.y, g.w, g.h].map(Number) as [number, number, number, number];
        expect(x + w, `${d.file} ${String(p.title)}`).toBeLessThanOrEqual(24);
        for (let cx = x; cx < x + w; cx++) {
          for (let cy = y; cy < y + h; cy++) {
            const cell = `${cx},${cy}`;
            expect(cells.has(cell), `${d.file}: ${String(p.title)} overlaps another panel at ${cell}`).toBe(false);
            cells.add(cell);
          }
        }
        if (p.type === 'row') continue;
        const fc = p.fieldConfig;
        const unit = isObject(fc) && isObject(fc.defaults) ? str(fc.defaults.unit) : undefined;
        expect(unit, `${d.file}: ${String(p.title)} has no unit`).toBeDefined();
        expect(KNOWN_UNITS.has(unit ?? ''), `${d.file}: ${String(p.title)} unit ${String(unit)}`).toBe(true);
      }
    }
  });

  it('read in PromQL only metric names exported as constants (panels and variable queries)', () => {
    const unknown: string[] = [];
    const used = new Set<string>();
    let expressions = 0;
    for (const d of dashboards) {
      for (const q of queriesOf(d)) {
        if (q.kind === 'influxql') continue;
        expressions++;
        const names = promqlMetricNames(q.text);
        expect(names.length, `${q.dashboard} ${q.panel}: no metric in ${q.text}`).toBeGreaterThan(0);
        for (const n of names) {
          const exported = exportedNameOf(n);
          if (exported === null) unknown.push(`${q.dashboard} / ${q.panel}: ${n}`);
          else used.add(exported);
        }
      }
    }
    expect(unknown).toEqual([]);
    expect(expressions).toBeGreaterThan(50);
    // Every exported metric is on some dashboard.
    expect(METRIC_NAMES.filter((n) => !used.has(n))).toEqual([]);
  });

  it('the metric-name parser finds the names and skips functions, labels, ranges and grouping', () => {
    expect(promqlMetricNames('histogram_quantile(0.99, sum by (sink, le) (rate(headroom_sink_write_seconds_bucket{instance=~"$instance"}[$__rate_interval])))')).toEqual(['headroom_sink_write_seconds_bucket']);
    expect(promqlMetricNames('abs(a_x{site="b_y"} - round(a_x{w="1m"}, 10)) / on (site) group_left (node) c_z offset 5m')).toEqual(['a_x', 'c_z']);
    expect(promqlMetricNames('label_values(headroom_node_load_watts{site="$site"}, node)')).toEqual(['headroom_node_load_watts']);
    expect(promqlMetricNames('sum(increase(x_total[$__range])) > bool 0 and y')).toEqual(['x_total', 'y']);
    expect(exportedNameOf('headroom_window_emit_delay_seconds_count')).toBe(WINDOW_EMIT_DELAY_SECONDS);
    expect(exportedNameOf('headroom_node_load_watts_count')).toBeNull();
    expect(exportedNameOf('headroom_node_lod_watts')).toBeNull();
  });

  it('read in InfluxQL only measurements, fields and tags the point mapping writes', () => {
    const schema = influxSchema();
    expect([...schema.keys()].sort()).toEqual([MEASUREMENT.alert, MEASUREMENT.node, MEASUREMENT.site].sort());
    let queries = 0;
    for (const d of dashboards) {
      const influx = queriesOf(d).filter((q) => q.kind === 'influxql');
      expect(influx.length, `${d.file} has no InfluxDB panel`).toBeGreaterThan(0);
      for (const q of influx) {
        queries++;
        const measurement = /\bFROM\s+"([^"]+)"/i.exec(q.text)?.[1];
        expect(measurement, q.text).toBeDefined();
        const known = schema.get(measurement ?? '');
        expect(known, `${q.panel}: measurement ${String(measurement)}`).toBeDefined();
        const unknown = influxIdentifiers(q.text).filter((id) => id !== measurement && !known!.has(id));
        expect(unknown, `${q.dashboard} / ${q.panel}`).toEqual([]);
      }
    }
    expect(queries).toBeGreaterThanOrEqual(3);
  });

  it('colour thresholds at the levels of the built-in alert rules (config/alerts.yaml)', () => {
    const alerts = parseYaml(readFileSync(join(repoRoot, 'config/alerts.yaml'), 'utf8')) as { alerts: { rules: { name: string; warning?: unknown; critical?: unknown }[] } };
    const at = (rule: string, severity: 'warning' | 'critical'): number => {
      const r = alerts.alerts.rules.find((x) => x.name === rule);
      const v = r?.[severity];
      const text = String(typeof v === 'object' && v !== null && 'at' in v ? (v as { at: unknown }).at : v);
      const pct = /^(-?[\d.]+)%$/.exec(text);
      if (pct !== null) return Number(pct[1]) / 100;
      const perMin = /^([\d.]+)%\/min$/.exec(text);
      if (perMin !== null) return Number(perMin[1]) / 100;
      const hz = /^([\d.]+)Hz$/.exec(text);
      if (hz !== null) return Number(hz[1]);
      const dur = /^([\d.]+)(s|m)$/.exec(text);
      if (dur !== null) return Number(dur[1]) * (dur[2] === 'm' ? 60 : 1);
      return Number(text);
    };
    const expected: { what: string; match: (exprs: string[], unit: string) => boolean; values: number[] }[] = [
      { what: 'headroom share', match: (e, u) => u === 'percentunit' && e.every((x) => /headroom_node_headroom_watts\{[^}]*\} \/ headroom_node_usable_watts/.test(x)), values: [at('headroom_low', 'critical'), at('headroom_low', 'warning')] },
      { what: 'utilization', match: (e, u) => u === 'percentunit' && e.every((x) => /^max by \(site\) \(headroom_node_utilization_ratio|^headroom_node_utilization_ratio/.test(x)), values: [at('utilization_high', 'warning'), at('utilization_high', 'critical')] },
      { what: 'failover share', match: (e, u) => u === 'percentunit' && e.every((x) => /headroom_node_failover_headroom_watts\{[^}]*\} \/ headroom_node_usable_watts/.test(x)), values: [at('failover_headroom_low', 'critical'), at('failover_headroom_low', 'warning')] },
      { what: 'completeness', match: (e, u) => u === 'percentunit' && e.every((x) => x.includes('headroom_node_completeness_ratio')), values: [at('completeness_low', 'critical'), at('completeness_low', 'warning')] },
      { what: 'demand against contract', match: (e, u) => u === 'percentunit' && e.some((x) => /headroom_site_demand_15m_watts\{[^}]*\} \/ headroom_site_contract_watts/.test(x)), values: [at('demand_near_contract', 'warning'), at('demand_near_contract', 'critical')] },
      { what: 'grid frequency deviation', match: (e, u) => u === 'hertz' && e.every((x) => x.startsWith('abs(headroom_site_grid_frequency_hertz')), values: [at('grid_frequency_out_of_band', 'warning'), at('grid_frequency_out_of_band', 'critical')] },
      { what: 'ramp share', match: (e, u) => u === 'percentunit' && e.every((x) => x.includes('headroom_node_ramp_watts_per_second')), values: [at('ramp_rate_high', 'warning'), at('ramp_rate_high', 'critical')] },
      { what: 'time to breach', match: (e, u) => u === 's' && e.every((x) => x.includes('headroom_node_time_to_breach_seconds')), values: [at('time_to_breach_short', 'critical'), at('time_to_breach_short', 'warning')] },
    ];
    const seen = new Map<string, number>();
    for (const d of dashboards) {
      for (const p of panelsOf(d)) {
        if (p.type === 'row') continue;
        const exprs = arr(p.targets).flatMap((t) => (isObject(t) && typeof t.expr === 'string' ? [t.expr] : []));
        const fc = p.fieldConfig;
        if (exprs.length === 0 || !isObject(fc) || !isObject(fc.defaults)) continue;
        const unit = str(fc.defaults.unit) ?? '';
        const th = fc.defaults.thresholds;
        const values = isObject(th) ? arr(th.steps).flatMap((s) => (isObject(s) && typeof s.value === 'number' ? [s.value] : [])) : [];
        for (const e of expected) {
          if (!e.match(exprs, unit)) continue;
          seen.set(e.what, (seen.get(e.what) ?? 0) + 1);
          expect(values, `${d.file}: ${String(p.title)} (${e.what})`).toEqual(e.values);
        }
      }
    }
    for (const e of expected) expect(seen.get(e.what) ?? 0, `no panel checked for ${e.what}`).toBeGreaterThan(0);
  });
});

describe('Grafana provisioning', () => {
  it('declares the Prometheus and InfluxDB (InfluxQL) data sources with stable uids and addresses from the environment', () => {
    const doc = parseYaml(readFileSync(join(repoRoot, 'grafana/provisioning/datasources/headroom.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: { name: string; uid: string; type: string; url: string; jsonData?: Record<string, unknown> }[];
    };
    expect(doc.apiVersion).toBe(1);
    const byType = new Map(doc.datasources.map((d) => [d.type, d]));
    expect([...byType.keys()].sort()).toEqual(['influxdb', 'prometheus']);
    expect(byType.get('prometheus')?.uid).toBe('headroom-prometheus');
    expect(byType.get('influxdb')?.uid).toBe('headroom-influxdb');
    for (const d of doc.datasources) expect(d.url, d.name).toMatch(/^\$\{[A-Z_]+\}$/);
    expect(byType.get('influxdb')?.jsonData).toMatchObject({ version: 'InfluxQL', dbName: '${HEADROOM_INFLUXDB_DB}' });
  });

  it('has a file provider for the dashboards folder', () => {
    const doc = parseYaml(readFileSync(join(repoRoot, 'grafana/provisioning/dashboards/headroom.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { name: string; type: string; folder: string; options: { path: string } }[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.providers).toHaveLength(1);
    expect(doc.providers[0]).toMatchObject({ type: 'file', folder: 'Headroom', options: { path: '/var/lib/grafana/dashboards/headroom' } });
  });
});
