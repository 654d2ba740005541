/** Rules → AlertRule: cross-field checks, built-ins merged, the AlertsConfig the engine takes. */
import type { EngineSettings, SiteSpec } from '../../domain/index.js';
import {
  METRIC_DIRECTION,
  SITE_METRICS,
  TEMPLATE_VARIABLES,
  unknownTemplateVariables,
  type AlertRule,
  type AlertScope,
  type AlertsConfig,
} from '../../core/alerts/index.js';
import { SWING_MIN_WINDOW_MS } from '../../core/index.js';
import { formatDurationMs } from '../units.js';
import { parsedBuiltins } from './builtins.js';
import { alertsSectionSchema, ruleSchema, type AlertRuleInput, type ParsedRule, type ParsedSection } from './rule-schema.js';
import { parseThreshold, severity, type AlertIssue } from './thresholds.js';

const LABEL_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Labels the engine sets itself. */
const RESERVED_LABELS = ['alertname', 'severity', 'site', 'node', 'level', 'window'];

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
  let minUtilization: number | undefined;
  if (rule.minUtilization !== undefined) {
    const r = parseThreshold('utilization', rule.minUtilization);
    if (!r.ok) issues.push({ path: ['minUtilization'], message: r.message });
    else if (SITE_METRICS.has(rule.metric)) issues.push({ path: ['minUtilization'], message: `${rule.metric} is a site metric: minUtilization applies to node rules only` });
    else minUtilization = r.value.value;
  }
  if (rule.metric === 'swing' && (rule.window ?? smallestWindowMs) < SWING_MIN_WINDOW_MS) {
    issues.push({ path: ['window'], message: 'swing metrics exist for windows of 1m and longer: set window: 1m (or longer)' });
  }
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
    clearForMs: rule.clearFor,
    labels: rule.labels,
    annotations: { summary: DEFAULT_SUMMARY, ...rule.annotations },
  };
  if (warning !== undefined) resolved.warning = warning;
  if (critical !== undefined) resolved.critical = critical;
  if (rule.metric === 'demand') resolved.reference = rule.of ?? 'period_peak';
  if (minUtilization !== undefined) resolved.minUtilization = minUtilization;
  return resolved;
}

// ---------------------------------------------------------------------------------------
// cross-field checks and normalisation (called from schema/index.ts)

/** Rule problems against the pipeline windows and the topology; paths from the file root. */
export function checkAlerts(section: ParsedSection, windowsMs: readonly number[], sites: readonly SiteSpec[]): AlertIssue[] {
  const issues: AlertIssue[] = [];
  const windows = new Set(windowsMs);
  const siteIds = new Set(sites.map((s) => s.id));
  const seen = new Map<string, number>();
  // Node ids and levels per site, built once when a scope names nodes or levels (a scan of
  // every node per named node is quadratic at 100,000 nodes).
  const nodeIndex = new Map<SiteSpec, { ids: Set<string>; levels: Set<string> }>();
  const indexOf = (site: SiteSpec): { ids: Set<string>; levels: Set<string> } => {
    let index = nodeIndex.get(site);
    if (index === undefined) {
      index = { ids: new Set(site.nodes.map((x) => x.id)), levels: new Set(site.nodes.map((x) => x.level)) };
      nodeIndex.set(site, index);
    }
    return index;
  };
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
        if (!inScope.some((s) => indexOf(s).ids.has(n))) issues.push({ path: [...path, 'nodes', j], message: `unknown node '${n}'` });
      });
      scope.levels?.forEach((l, j) => {
        if (!inScope.some((s) => indexOf(s).levels.has(l))) issues.push({ path: [...path, 'levels', j], message: `no node has level '${l}'` });
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
  if (section.builtins) {
    for (const b of parsedBuiltins) {
      if (userNames.has(b.name)) continue;
      // A built-in on a window the pipeline lacks takes the next longer one (none: left out).
      if (b.window !== undefined && !engine.windowsMs.includes(b.window)) {
        const longer = engine.windowsMs.filter((w) => w >= b.window!).sort((x, y) => x - y)[0];
        if (longer !== undefined) merged.push({ ...b, window: longer });
        continue;
      }
      merged.push(b);
    }
  }
  merged.push(...section.rules);
  const rules: AlertRule[] = [];
  for (const rule of merged) {
    if (!rule.enabled) continue;
    const issues: AlertIssue[] = [];
    const resolved = resolveRule(rule, smallest, issues);
    // checkAlerts reported any issue already; a rule with issues never reaches here.
    if (resolved !== undefined) rules.push(resolved);
  }
  const config: AlertsConfig = { revisions: section.revisions, allowedLatenessMs: engine.allowedLatenessMs, trendWindows: engine.trendWindows, rules };
  if (engine.trendHorizonMs !== undefined) config.trendHorizonMs = engine.trendHorizonMs;
  return config;
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
