/**
 * The `alerts:` section: alert rules in human units, merged with the built-in rules
 * (config/alerts.yaml mirrors BUILTIN_ALERT_RULES) and normalised into the AlertsConfig
 * the alert engine takes.
 *
 *   alerts:
 *     builtins: true          # include the built-in rules (default true)
 *     revisions: final        # final | first (see RevisionPolicy)
 *     rules:                  # a rule named like a built-in replaces it
 *       - name: headroom_low
 *         metric: headroom
 *         window: 10s         # default: the smallest pipeline window
 *         scope: { levels: [pdu, rack] }
 *         warning: { at: 15%, clear: 20% }   # headroom: % of usable, or a power (200kW)
 *         critical: 5%                       # scalar: clear = at (no hysteresis)
 *         for: 30s
 *         overrides: [{ nodes: [rpdu-101a], warning: 10% }]
 *         labels: { team: power }
 *         annotations: { summary: '{{node}} at {{site}}: {{value}} headroom', runbook_url: 'https://runbooks/{{site}}/{{node}}' }
 */
import { z } from 'zod';
import type { EngineSettings, SiteSpec } from '../domain/index.js';
import {
  ALERT_METRICS,
  METRIC_DIRECTION,
  SITE_METRICS,
  TEMPLATE_VARIABLES,
  unknownTemplateVariables,
  type AlertMetric,
  type AlertRule,
  type AlertScope,
  type AlertsConfig,
  type SeverityThreshold,
  type Threshold,
} from '../core/alerts/index.js';
import { checkDurationMs, checkPowerWatts, formatDurationMs } from './units.js';

function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z
    .object(shape, {
      errorMap: (issue, ctx) =>
        issue.code === z.ZodIssueCode.unrecognized_keys
          ? {
              message: issue.keys
                .map((k) => {
                  const near = known.find((n) => n.toLowerCase() === k.toLowerCase() || n.startsWith(k) || k.startsWith(n));
                  return near === undefined ? `unknown key '${k}'` : `unknown key '${k}' (did you mean '${near}'?)`;
                })
                .join('; '),
            }
          : { message: ctx.defaultError },
    })
    .strict();
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const id = z.string().regex(ID_RE, { message: 'must match [A-Za-z0-9_-]{1,64}' });
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const LABEL_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Labels the engine sets itself. */
const RESERVED_LABELS = ['alertname', 'severity', 'site', 'node', 'level', 'window'];

const scopeShape = {
  /** Only these sites. Default: all. */
  sites: z.array(id).optional(),
  /** Only nodes of these levels (node rules). Default: all. */
  levels: z.array(z.string().min(1).max(64)).optional(),
  /** Only these node ids (node rules). Default: all. */
  nodes: z.array(id).optional(),
  /** Only nodes with these roles (facility, it). Default: all. */
  roles: z.array(z.enum(['facility', 'it'])).optional(),
};

const scalar = z.union([z.string(), z.number()], { errorMap: () => ({ message: 'expected a number or a string with a unit' }) });
/** A threshold: `15%`, `200kW`, `30s`, `0.9`, ... (meaning depends on the metric), or { at, clear }. */
const severityInput = z.union([scalar, strict({ at: scalar, clear: scalar.optional() })], {
  errorMap: () => ({ message: 'expected a threshold (e.g. 15%, 200kW, 30s, 0.9) or { at, clear }' }),
});
type SeverityInput = z.infer<typeof severityInput>;

const overrideSchema = strict({
  ...scopeShape,
  /** Warning threshold for the matching targets. */
  warning: severityInput.optional(),
  /** Critical threshold for the matching targets. */
  critical: severityInput.optional(),
});

const ruleSchema = strict({
  /** Unique rule name, the `alertname` label: [A-Za-z_][A-Za-z0-9_]*. */
  name: z.string().regex(NAME_RE, { message: 'must match [A-Za-z_][A-Za-z0-9_]{0,63}' }),
  /** What is watched: headroom, utilization, failover_headroom, ramp_rate, completeness, stale_meter, time_to_breach, demand, grid_frequency. */
  metric: z.enum(ALERT_METRICS as [AlertMetric, ...AlertMetric[]]),
  /** Window size evaluated; one of pipeline.windows. Default: the smallest. */
  window: durationOrIssue().optional(),
  /** Targets. Default: every node (node metrics) or every site (demand, grid_frequency). */
  scope: strict(scopeShape).default({}),
  /** Warning threshold (scalar or { at, clear }). */
  warning: severityInput.optional(),
  /** Critical threshold (scalar or { at, clear }). */
  critical: severityInput.optional(),
  /** How long the breach must last before the alert fires (event time). Default 0s. */
  for: durationOrIssue().default(0),
  /** demand only: compare with the billing period's peak or with the contract. Default period_peak. */
  of: z.enum(['period_peak', 'contract']).optional(),
  /** Per-scope thresholds; per severity the first matching override that sets it wins. */
  overrides: z.array(overrideSchema).default([]),
  /** Static labels added to every event. */
  labels: z.record(z.string()).default({}),
  /** Annotation templates ({{site}} {{node}} {{level}} {{value}} {{threshold}} {{rule}} {{severity}} {{window}}). */
  annotations: z.record(z.string()).default({}),
  /** false: drop the rule (e.g. a built-in). Default true. */
  enabled: z.boolean().default(true),
});

function durationOrIssue() {
  return scalar.transform((v, ctx): number => {
    const r = checkDurationMs(v);
    if (r.ok) return r.value;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: r.message });
    return z.NEVER;
  });
}

export type AlertRuleInput = z.input<typeof ruleSchema>;
type ParsedRule = z.output<typeof ruleSchema>;

export const alertsSectionSchema = strict({
  /** Include the built-in rules (config/alerts.yaml). Default true. */
  builtins: z.boolean().default(true),
  /** Restatements: `final` (evaluate each window once it is final) or `first` (revision 0 only). Default final. */
  revisions: z.enum(['final', 'first']).default('final'),
  /** Rules; one named like a built-in replaces it. Default []. */
  rules: z.array(ruleSchema).default([]),
});
export type AlertsSectionInput = z.input<typeof alertsSectionSchema>;
type ParsedSection = z.output<typeof alertsSectionSchema>;

// ---------------------------------------------------------------------------------------
// thresholds

type ThresholdResult = { ok: true; value: Threshold } | { ok: false; message: string };

const PERCENT_RE = /^\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*%\s*$/;
const PER_TIME_RE = /^\s*(.+?)\s*\/\s*(s|min|h)\s*$/;
const HERTZ_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*Hz\s*$/;
const PER_SECONDS: Readonly<Record<string, number>> = { s: 1, min: 60, h: 3600 };

function signedPower(s: string): ThresholdResult {
  const neg = /^\s*-/.test(s);
  const r = checkPowerWatts(neg ? s.replace('-', '') : s);
  if (!r.ok) return r;
  return { ok: true, value: { value: neg ? -r.value : r.value, relative: false } };
}

function percent(s: string): number | null {
  const m = PERCENT_RE.exec(s);
  return m === null || m[1] === undefined ? null : Number(m[1]) / 100;
}

/** One threshold scalar of `metric` → Threshold (base units, or relative). */
export function parseThreshold(metric: AlertMetric, input: string | number): ThresholdResult {
  const s = typeof input === 'string' ? input : null;
  switch (metric) {
    case 'headroom':
    case 'failover_headroom':
    case 'demand': {
      const what = metric === 'demand' ? 'of the reference (period peak or contract)' : 'of usable';
      if (s === null) return { ok: false, message: `expected a percentage ${what} (15%) or a power (200kW), got a bare number` };
      const p = percent(s);
      if (p !== null) return { ok: true, value: { value: p, relative: true } };
      return signedPower(s);
    }
    case 'utilization':
    case 'completeness': {
      if (typeof input === 'number') return input >= 0 && input <= 2 ? { ok: true, value: { value: input, relative: false } } : { ok: false, message: `expected a ratio (0.9) or a percentage (90%), got ${input}` };
      const p = percent(input);
      return p === null ? { ok: false, message: `expected a ratio (0.9) or a percentage (90%), got '${input}'` } : { ok: true, value: { value: p, relative: false } };
    }
    case 'ramp_rate': {
      if (typeof input === 'number') return input >= 0 ? { ok: true, value: { value: input, relative: false } } : { ok: false, message: 'must not be negative' };
      const m = PER_TIME_RE.exec(input);
      const per = m?.[2] === undefined ? undefined : PER_SECONDS[m[2]];
      if (m === null || m[1] === undefined || per === undefined) {
        return { ok: false, message: `expected a power per time (5MW/min, 100kW/s) or a share of usable per time (10%/min), got '${input}'` };
      }
      const p = percent(m[1]);
      if (p !== null) return p < 0 ? { ok: false, message: 'must not be negative' } : { ok: true, value: { value: p / per, relative: true } };
      const w = checkPowerWatts(m[1]);
      return w.ok ? { ok: true, value: { value: w.value / per, relative: false } } : w;
    }
    case 'stale_meter':
    case 'time_to_breach': {
      const r = checkDurationMs(input);
      return r.ok ? { ok: true, value: { value: r.value / 1000, relative: false } } : r;
    }
    case 'grid_frequency': {
      if (typeof input === 'number') return input >= 0 ? { ok: true, value: { value: input, relative: false } } : { ok: false, message: 'must not be negative' };
      const m = HERTZ_RE.exec(input);
      return m === null || m[1] === undefined ? { ok: false, message: `expected a deviation from nominal in hertz (0.1Hz), got '${input}'` } : { ok: true, value: { value: Number(m[1]), relative: false } };
    }
  }
}

export interface AlertIssue {
  path: (string | number)[];
  message: string;
}

function severity(metric: AlertMetric, input: SeverityInput, path: (string | number)[], issues: AlertIssue[]): SeverityThreshold | undefined {
  const atIn = typeof input === 'object' ? input.at : input;
  const clearIn = typeof input === 'object' ? input.clear : undefined;
  const at = parseThreshold(metric, atIn);
  if (!at.ok) {
    issues.push({ path: typeof input === 'object' ? [...path, 'at'] : path, message: at.message });
    return undefined;
  }
  if (clearIn === undefined) return { at: at.value, clear: at.value };
  const clear = parseThreshold(metric, clearIn);
  if (!clear.ok) {
    issues.push({ path: [...path, 'clear'], message: clear.message });
    return undefined;
  }
  if (at.value.relative !== clear.value.relative) {
    issues.push({ path: [...path, 'clear'], message: 'clear must be of the same kind as at (both relative, e.g. %, or both absolute)' });
    return undefined;
  }
  const below = METRIC_DIRECTION[metric] === 'below';
  if (below ? clear.value.value < at.value.value : clear.value.value > at.value.value) {
    issues.push({
      path: [...path, 'clear'],
      message: `${metric} alerts on values ${below ? 'below' : 'above'} the threshold: clear must be ${below ? 'at or above' : 'at or below'} at`,
    });
    return undefined;
  }
  return { at: at.value, clear: clear.value };
}

function scopeOf(s: { sites?: string[] | undefined; levels?: string[] | undefined; nodes?: string[] | undefined; roles?: ('facility' | 'it')[] | undefined }): AlertScope {
  const scope: AlertScope = {};
  if (s.sites !== undefined) scope.sites = s.sites;
  if (s.levels !== undefined) scope.levels = s.levels;
  if (s.nodes !== undefined) scope.nodes = s.nodes;
  if (s.roles !== undefined) scope.roles = s.roles;
  return scope;
}

const DEFAULT_SUMMARY = '{{rule}} ({{severity}}) at {{site}} {{node}}: {{value}}, threshold {{threshold}}';

/** A parsed rule → AlertRule, or issues (paths relative to the rule). */
function resolveRule(rule: ParsedRule, smallestWindowMs: number, issues: AlertIssue[]): AlertRule | undefined {
  const before = issues.length;
  if (rule.warning === undefined && rule.critical === undefined) issues.push({ path: [], message: 'a rule needs warning, critical or both' });
  const warning = rule.warning === undefined ? undefined : severity(rule.metric, rule.warning, ['warning'], issues);
  const critical = rule.critical === undefined ? undefined : severity(rule.metric, rule.critical, ['critical'], issues);
  if (warning !== undefined && critical !== undefined && warning.at.relative === critical.at.relative) {
    const below = METRIC_DIRECTION[rule.metric] === 'below';
    if (below ? critical.at.value > warning.at.value : critical.at.value < warning.at.value) {
      issues.push({ path: ['critical'], message: `critical must be ${below ? 'at or below' : 'at or above'} warning for ${rule.metric}` });
    }
  }
  if (SITE_METRICS.has(rule.metric) && (rule.scope.levels ?? rule.scope.nodes ?? rule.scope.roles) !== undefined) {
    issues.push({ path: ['scope'], message: `${rule.metric} is a site metric: its scope takes only sites` });
  }
  if (rule.of !== undefined && rule.metric !== 'demand') issues.push({ path: ['of'], message: 'of applies to demand rules only' });
  for (const key of Object.keys(rule.labels)) {
    if (!LABEL_RE.test(key)) issues.push({ path: ['labels', key], message: 'label names must match [A-Za-z_][A-Za-z0-9_]*' });
    else if (RESERVED_LABELS.includes(key)) issues.push({ path: ['labels', key], message: `'${key}' is set by the engine` });
  }
  for (const [key, template] of Object.entries(rule.annotations)) {
    const unknown = unknownTemplateVariables(template);
    if (unknown.length > 0) {
      issues.push({ path: ['annotations', key], message: `unknown template variable ${unknown.map((u) => `{{${u}}}`).join(', ')} (known: ${TEMPLATE_VARIABLES.join(', ')})` });
    }
  }
  const overrides = rule.overrides.map((o, i) => {
    const out: AlertRule['overrides'][number] = { scope: scopeOf(o) };
    const w = o.warning === undefined ? undefined : severity(rule.metric, o.warning, ['overrides', i, 'warning'], issues);
    const c = o.critical === undefined ? undefined : severity(rule.metric, o.critical, ['overrides', i, 'critical'], issues);
    if (w !== undefined) out.warning = w;
    if (c !== undefined) out.critical = c;
    return out;
  });
  if (issues.length > before) return undefined;
  const resolved: AlertRule = {
    name: rule.name,
    metric: rule.metric,
    windowMs: rule.window ?? smallestWindowMs,
    scope: scopeOf(rule.scope),
    overrides,
    forMs: rule.for,
    labels: rule.labels,
    annotations: { summary: DEFAULT_SUMMARY, ...rule.annotations },
  };
  if (warning !== undefined) resolved.warning = warning;
  if (critical !== undefined) resolved.critical = critical;
  if (rule.metric === 'demand') resolved.reference = rule.of ?? 'period_peak';
  return resolved;
}

// ---------------------------------------------------------------------------------------
// built-in rules (config/alerts.yaml holds the same, as YAML; a unit test keeps them equal)

const RUNBOOK = 'https://runbooks.example.com/headroom';

export const BUILTIN_ALERT_RULES: readonly AlertRuleInput[] = [
  {
    name: 'headroom_low',
    metric: 'headroom',
    warning: { at: '15%', clear: '20%' },
    critical: { at: '5%', clear: '8%' },
    for: '30s',
    annotations: {
      summary: 'Headroom of {{level}} {{node}} at {{site}} is {{value}} (threshold {{threshold}})',
      runbook_url: `${RUNBOOK}/headroom-low?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'utilization_high',
    metric: 'utilization',
    warning: { at: '90%', clear: '85%' },
    critical: { at: '100%', clear: '95%' },
    for: '30s',
    annotations: {
      summary: '{{level}} {{node}} at {{site}} runs at {{value}} of its rating',
      runbook_url: `${RUNBOOK}/utilization-high?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'failover_headroom_low',
    metric: 'failover_headroom',
    warning: { at: '5%', clear: '8%' },
    critical: { at: '0%', clear: '2%' },
    for: '30s',
    annotations: {
      summary: 'If its redundant partner fails, {{node}} at {{site}} is left with {{value}} of headroom',
      runbook_url: `${RUNBOOK}/failover-headroom?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'ramp_rate_high',
    metric: 'ramp_rate',
    scope: { roles: ['facility'] },
    warning: { at: '10%/min', clear: '8%/min' },
    critical: { at: '20%/min', clear: '15%/min' },
    for: '0s',
    annotations: {
      summary: 'Site {{site}} ramps at {{value}} (limit {{threshold}})',
      runbook_url: `${RUNBOOK}/ramp-rate?site={{site}}`,
    },
  },
  {
    name: 'completeness_low',
    metric: 'completeness',
    warning: { at: 0.9, clear: 0.95 },
    critical: { at: 0.5, clear: 0.6 },
    for: '1m',
    annotations: {
      summary: 'Only {{value}} of the meters under {{node}} at {{site}} report: its headroom is uncertain',
      runbook_url: `${RUNBOOK}/completeness?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'meter_stale',
    metric: 'stale_meter',
    warning: '30s',
    critical: '5m',
    annotations: {
      summary: 'No data for {{node}} at {{site}} for {{value}}',
      runbook_url: `${RUNBOOK}/meter-stale?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'time_to_breach_short',
    metric: 'time_to_breach',
    warning: { at: '15m', clear: '20m' },
    critical: { at: '5m', clear: '7m' },
    for: '30s',
    annotations: {
      summary: 'At the current trend {{node}} at {{site}} runs out of headroom in {{value}}',
      runbook_url: `${RUNBOOK}/time-to-breach?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'demand_near_period_peak',
    metric: 'demand',
    of: 'period_peak',
    warning: { at: '95%', clear: '92%' },
    for: '1m',
    annotations: {
      summary: '15-minute demand at {{site}} is {{value}}, near the billing period peak ({{threshold}} = 95%)',
      runbook_url: `${RUNBOOK}/demand-peak?site={{site}}`,
    },
  },
  {
    name: 'demand_near_contract',
    metric: 'demand',
    of: 'contract',
    warning: { at: '90%', clear: '87%' },
    critical: { at: '98%', clear: '95%' },
    for: '1m',
    annotations: {
      summary: '15-minute demand at {{site}} is {{value}} against the interconnect contract (threshold {{threshold}})',
      runbook_url: `${RUNBOOK}/demand-contract?site={{site}}`,
    },
  },
  {
    name: 'grid_frequency_out_of_band',
    metric: 'grid_frequency',
    warning: { at: '0.1Hz', clear: '0.05Hz' },
    critical: { at: '0.2Hz', clear: '0.15Hz' },
    for: '10s',
    annotations: {
      summary: 'Grid frequency at {{site}} is {{value}} off nominal',
      runbook_url: `${RUNBOOK}/grid-frequency?site={{site}}`,
    },
  },
];

const parsedBuiltins: ParsedRule[] = BUILTIN_ALERT_RULES.map((r) => ruleSchema.parse(r));

// ---------------------------------------------------------------------------------------
// cross-field checks and normalisation (called from schema.ts)

/** Rule problems against the pipeline windows and the topology; paths from the file root. */
export function checkAlerts(section: ParsedSection, windowsMs: readonly number[], sites: readonly SiteSpec[]): AlertIssue[] {
  const issues: AlertIssue[] = [];
  const windows = new Set(windowsMs);
  const siteIds = new Set(sites.map((s) => s.id));
  const seen = new Map<string, number>();
  section.rules.forEach((rule, i) => {
    const at = (...p: (string | number)[]): (string | number)[] => ['alerts', 'rules', i, ...p];
    const first = seen.get(rule.name);
    if (first !== undefined) issues.push({ path: at('name'), message: `duplicate rule name '${rule.name}' (first at alerts.rules[${first}])` });
    else seen.set(rule.name, i);
    if (rule.window !== undefined && !windows.has(rule.window)) {
      issues.push({ path: at('window'), message: `${formatDurationMs(rule.window)} is not one of pipeline.windows` });
    }
    const scopes: [(string | number)[], ParsedRule['scope']][] = [[at('scope'), rule.scope], ...rule.overrides.map((o, j): [(string | number)[], ParsedRule['scope']] => [at('overrides', j), o])];
    for (const [path, scope] of scopes) {
      scope.sites?.forEach((s, j) => {
        if (!siteIds.has(s)) issues.push({ path: [...path, 'sites', j], message: `unknown site '${s}'` });
      });
      const inScope = sites.filter((s) => scope.sites === undefined || scope.sites.includes(s.id));
      scope.nodes?.forEach((n, j) => {
        if (!inScope.some((s) => s.nodes.some((x) => x.id === n))) issues.push({ path: [...path, 'nodes', j], message: `unknown node '${n}'` });
      });
      scope.levels?.forEach((l, j) => {
        if (!inScope.some((s) => s.nodes.some((x) => x.level === l))) issues.push({ path: [...path, 'levels', j], message: `no node has level '${l}'` });
      });
    }
    const ruleIssues: AlertIssue[] = [];
    resolveRule(rule, windowsMs[0] ?? 0, ruleIssues);
    for (const issue of ruleIssues) issues.push({ path: at(...issue.path), message: issue.message });
  });
  return issues;
}

/** The section → AlertsConfig: built-ins merged (a user rule replaces a built-in of its name), disabled rules dropped. */
export function resolveAlerts(section: ParsedSection, engine: EngineSettings): AlertsConfig {
  const smallest = Math.min(...engine.windowsMs);
  const merged: ParsedRule[] = [];
  const userNames = new Set(section.rules.map((r) => r.name));
  if (section.builtins) for (const b of parsedBuiltins) if (!userNames.has(b.name)) merged.push(b);
  merged.push(...section.rules);
  const rules: AlertRule[] = [];
  for (const rule of merged) {
    if (!rule.enabled) continue;
    const issues: AlertIssue[] = [];
    const resolved = resolveRule(rule, smallest, issues);
    // checkAlerts reported any issue already; a rule with issues never reaches here.
    if (resolved !== undefined) rules.push(resolved);
  }
  return { revisions: section.revisions, allowedLatenessMs: engine.allowedLatenessMs, trendWindows: engine.trendWindows, rules };
}

/** The built-in rules alone, resolved for `engine` (tests, embedded default). */
export function builtinAlertsConfig(engine: EngineSettings): AlertsConfig {
  return resolveAlerts(alertsSectionSchema.parse({}), engine);
}

/** Parses one rule input (tests, code-built configs). Throws on invalid input. */
export function parseAlertRule(input: AlertRuleInput, engine: EngineSettings): AlertRule {
  const parsed = ruleSchema.parse(input);
  const issues: AlertIssue[] = [];
  const rule = resolveRule(parsed, Math.min(...engine.windowsMs), issues);
  if (rule === undefined) throw new Error(issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return rule;
}
