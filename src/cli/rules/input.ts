/**
 * What the rule and routing files need from a config: the alerting window, the intake
 * levels, the order of levels in the electrical trees, and the site teams. Level names are
 * free text, so they are escaped wherever they enter PromQL, a regex or YAML.
 */
import { defaultMetricsWindowsMs, type AlertRoutingConfig, type HeadroomConfig } from '../../config/index.js';
import { windowLabel } from '../../core/index.js';
import type { SiteSpec } from '../../domain/index.js';
import { metricsSinkNotes } from './metrics-needs.js';

export interface LevelBelow {
  level: string;
  /** Levels of nodes under a node of `level` somewhere in the fleet (never above it anywhere). */
  below: string[];
}

export interface RulesInput {
  /** Shown in the generated files' first line. */
  configName: string;
  /** Window the alert rules evaluate: the smallest the metrics sink exports (`10s`). */
  alertingWindowLabel: string;
  windowLabels: string[];
  /** Levels of the facility nodes (the intake), or of the root nodes where no site has one. */
  intakeLevels: string[];
  /** Levels with levels below them, from the top of the trees down. */
  levelOrder: LevelBelow[];
  routing: AlertRoutingConfig;
  /**
   * What the rules need from `sinks.metrics` that this config does not export (one line
   * each, naming the setting to change); written into the files and printed by the command.
   */
  metricsNotes: string[];
}

export function rulesInput(config: HeadroomConfig, configName: string): RulesInput {
  const windowsMs = [...(config.sinks.metrics?.windowsMs ?? defaultMetricsWindowsMs(config.engine.windowsMs))].sort((a, b) => a - b);
  const sites = config.topology.sites;
  const facility = sites.flatMap((s) => s.nodes.filter((n) => n.role === 'facility').map((n) => n.level));
  const roots = sites.flatMap((s) => s.nodes.filter((n) => n.parent === null).map((n) => n.level));
  const alertingWindowMs = windowsMs[0] ?? config.engine.windowsMs[0] ?? 10_000;
  const intakeLevels = [...new Set(facility.length > 0 ? facility : roots)];
  return {
    configName,
    alertingWindowLabel: windowLabel(alertingWindowMs),
    windowLabels: windowsMs.map(windowLabel),
    intakeLevels,
    levelOrder: levelOrder(sites),
    routing: config.alertRouting,
    metricsNotes: metricsSinkNotes(config, { exportedWindowsMs: windowsMs, alertingWindowMs, intakeLevels }),
  };
}

/**
 * For each level, the levels found below it in any site's tree. A pair of levels found each
 * above the other (in different sites) has no order and is dropped both ways, so two alerts
 * never silence each other. Sorted by the shallowest depth a level has, then first appearance.
 */
export function levelOrder(sites: readonly SiteSpec[]): LevelBelow[] {
  const below = new Map<string, Set<string>>();
  const depth = new Map<string, number>();
  for (const site of sites) {
    const byId = new Map(site.nodes.map((n) => [n.id, n]));
    for (const node of site.nodes) {
      let d = 0;
      const seen = new Set<string>([node.id]);
      for (let p = node.parent === null ? undefined : byId.get(node.parent); p !== undefined && !seen.has(p.id); p = p.parent === null ? undefined : byId.get(p.parent)) {
        seen.add(p.id);
        d++;
        if (p.level !== node.level) {
          const set = below.get(p.level) ?? new Set<string>();
          set.add(node.level);
          below.set(p.level, set);
        }
      }
      depth.set(node.level, Math.min(depth.get(node.level) ?? Infinity, d));
    }
  }
  const order = [...depth.keys()];
  return order
    .map((level, i) => ({ level, i, d: depth.get(level) ?? 0 }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map(({ level }) => ({ level, below: order.filter((l) => below.get(level)?.has(l) === true && below.get(l)?.has(level) !== true) }))
    .filter((x) => x.below.length > 0);
}

/** RE2 metacharacters escaped, so a level is matched literally inside `=~`. */
export function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A double-quoted PromQL / Alertmanager matcher value. */
export function quoted(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `level="grid"`, or `level=~"a|b"` for several levels. */
export function levelMatcher(levels: readonly string[]): string {
  return levels.length === 1 ? `level=${quoted(levels[0] ?? '')}` : `level=~${quoted(levels.map(regexLiteral).join('|'))}`;
}

/** Text on one line, for a YAML comment. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** The notes of `metricsNotes` as YAML comment lines (empty when the config exports every input). */
export function metricsNotesComment(notes: readonly string[]): string {
  if (notes.length === 0) return '';
  return `#\n# Inputs this config's sinks.metrics does not export:\n${notes.map((n) => `# - ${oneLine(n)}\n`).join('')}`;
}

/** A YAML single-quoted scalar. */
export function yamlQuoted(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
