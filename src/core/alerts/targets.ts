/**
 * Alert targets (one rule applied to one node, or to one site) and the state machine of
 * their severity instances: breach → pending → firing, clear → inactive, with hysteresis,
 * plus inhibition by ancestors and the labels and annotations an instance announces.
 */
import type { NodeSpec, SiteSpec } from '../../domain/index.js';
import { formatMetricValue, formatWindow, renderTemplate } from './format.js';
import { absoluteThreshold, judge, newTargetMemory, observe, type TargetMemory, type Tick } from './observe.js';
import { matchesScope, thresholdsFor } from './scope.js';
import type { AlertRule, AlertSeverityLevel, SeverityThreshold } from './types.js';

export type RawState = 'inactive' | 'pending' | 'firing';

/** One rule × target × severity. */
export interface Instance {
  severity: AlertSeverityLevel;
  threshold: SeverityThreshold;
  /** Schmitt trigger: set by a breach, reset by a clear, kept inside the band. */
  active: boolean;
  activeSinceMs: number;
  firingSinceMs: number;
  /** While pending and no longer breaching: start of the clear stretch (NaN otherwise). */
  clearSinceMs: number;
  raw: RawState;
  /** What was last sent out (inhibited instances announce `inactive`). */
  announced: RawState;
  value: number | null;
  thresholdValue: number | null;
}

/** One rule applied to one node (or one site for a site rule). */
export interface Target {
  key: string;
  rule: AlertRule;
  site: string;
  node: NodeSpec | null;
  facilityId: string | null;
  memory: TargetMemory;
  /** Severities in announcement order: warning, critical. */
  instances: Instance[];
  /** Targets of the same rule on this node's ancestors, nearest first. */
  ancestors: Target[];
}

export interface SiteState {
  spec: SiteSpec;
  /** rule index → targets in topology order. */
  targets: Target[][];
}

export const SEVERITIES: readonly AlertSeverityLevel[] = ['warning', 'critical'];
export const SEVERITY_RANK: Readonly<Record<AlertSeverityLevel, number>> = { warning: 1, critical: 2 };

/** The targets of one rule on one site, in topology order; each is also registered in `targetsByKey`. */
export function buildTargets(spec: SiteSpec, rule: AlertRule, targetsByKey: Map<string, Target>): Target[] {
  const facilityId = spec.nodes.find((nodeSpec) => nodeSpec.role === 'facility')?.id ?? null;
  const make = (node: NodeSpec | null): Target | null => {
    if (!matchesScope(rule.scope, spec.id, node)) return null;
    const thresholds = thresholdsFor(rule, spec.id, node);
    const instances: Instance[] = [];
    for (const severity of SEVERITIES) {
      const threshold = thresholds[severity];
      if (threshold === undefined) continue;
      instances.push({
        severity,
        threshold,
        active: false,
        activeSinceMs: NaN,
        firingSinceMs: NaN,
        clearSinceMs: NaN,
        raw: 'inactive',
        announced: 'inactive',
        value: null,
        thresholdValue: null,
      });
    }
    if (instances.length === 0) return null;
    const key = `${rule.name}|${spec.id}|${node?.id ?? ''}`;
    const target: Target = { key, rule, site: spec.id, node, facilityId, memory: newTargetMemory(), instances, ancestors: [] };
    targetsByKey.set(key, target);
    return target;
  };
  if (rule.metric === 'demand' || rule.metric === 'grid_frequency') {
    const siteTarget = make(null);
    return siteTarget === null ? [] : [siteTarget];
  }
  const targets: Target[] = [];
  const byNode = new Map<string, Target>();
  for (const node of spec.nodes) {
    if (rule.metric === 'failover_headroom' && node.redundantWith === undefined && node.redundancy === undefined) continue;
    const target = make(node);
    if (target === null) continue;
    targets.push(target);
    byNode.set(node.id, target);
  }
  const parentOf = new Map(spec.nodes.map((nodeSpec) => [nodeSpec.id, nodeSpec.parent]));
  for (const target of targets) {
    const seen = new Set<string>();
    let parent = target.node?.parent ?? null;
    while (parent !== null && !seen.has(parent)) {
      seen.add(parent);
      const anc = byNode.get(parent);
      if (anc !== undefined) target.ancestors.push(anc);
      parent = parentOf.get(parent) ?? null;
    }
  }
  return targets;
}

/** Advances the state machine of each severity of a target by one tick. */
export function step(target: Target, tick: Tick, trendWindows: number): void {
  const obs = observe(target, tick, trendWindows);
  for (const inst of target.instances) {
    const verdict = judge(target.rule, obs, inst.threshold);
    if (verdict === 'unknown') continue;
    inst.value = obs.value;
    inst.thresholdValue = absoluteThreshold(inst.threshold.at, obs.base);
    if (verdict === 'clear') {
      inst.active = false;
      inst.activeSinceMs = NaN;
      // Hysteresis in time: an episode (pending or firing) ends once the value stayed clear
      // for clearFor; a breach before that continues it, with no new pending.
      const holdMs = target.rule.clearForMs ?? 0;
      if (inst.raw !== 'inactive' && holdMs > 0) {
        if (Number.isNaN(inst.clearSinceMs)) inst.clearSinceMs = tick.start;
        if (tick.end - inst.clearSinceMs < holdMs) continue;
      }
      inst.clearSinceMs = NaN;
      inst.firingSinceMs = NaN;
      inst.raw = 'inactive';
      continue;
    }
    if (verdict === 'breach') inst.clearSinceMs = NaN;
    if (verdict === 'breach' && !inst.active) {
      inst.active = true;
      inst.activeSinceMs = tick.start;
    }
    if (!inst.active || inst.raw === 'firing') continue;
    if (tick.end - inst.activeSinceMs >= target.rule.forMs) {
      inst.firingSinceMs = tick.end;
      inst.raw = 'firing';
    } else inst.raw = 'pending';
  }
}

/** The nearest ancestor target firing at the same or a higher severity, if any. */
export function inhibitor(target: Target, inst: Instance): Target | null {
  for (const anc of target.ancestors) {
    for (const ancInstance of anc.instances) {
      if (ancInstance.raw === 'firing' && SEVERITY_RANK[ancInstance.severity] >= SEVERITY_RANK[inst.severity]) return anc;
    }
  }
  return null;
}

export function thresholdOf(inst: Instance): number {
  return inst.thresholdValue ?? inst.threshold.at.value;
}

export function labelsOf(target: Target, inst: Instance): Record<string, string> {
  const labels: Record<string, string> = { alertname: target.rule.name, severity: inst.severity, site: target.site };
  if (target.node !== null) {
    labels['node'] = target.node.id;
    labels['level'] = target.node.level;
  }
  labels['window'] = formatWindow(target.rule.windowMs);
  return { ...target.rule.labels, ...labels };
}

export function annotationsOf(target: Target, inst: Instance): Record<string, string> {
  const vars: Record<string, string> = {
    site: target.site,
    node: target.node?.id ?? '',
    level: target.node?.level ?? '',
    value: formatMetricValue(target.rule.metric, inst.value),
    threshold: formatMetricValue(target.rule.metric, thresholdOf(inst)),
    rule: target.rule.name,
    severity: inst.severity,
    window: formatWindow(target.rule.windowMs),
  };
  const out: Record<string, string> = {};
  for (const [k, template] of Object.entries(target.rule.annotations)) out[k] = renderTemplate(template, vars);
  return out;
}
