/**
 * What the generated Prometheus rules read that a config's `sinks.metrics` does not export:
 * the rules must never lose their input series silently. Each note names the series the
 * rules read and the setting that exports them. (The in-stream rules see every node and
 * window whatever /metrics exports: their alerts are on NATS and in the NDJSON output.)
 */
import type { HeadroomConfig } from '../../config/index.js';
import { windowLabel } from '../../core/index.js';
import { exportedNodes } from '../../sinks/index.js';

/** The swing rule reads 1-minute windows (the swing needs windows of 1 min and longer). */
export const SWING_RULE_WINDOW_MS = 60_000;

export interface ExportFacts {
  /** Windows /metrics exports, ascending. */
  exportedWindowsMs: readonly number[];
  /** The window the rules alert on (the smallest exported). */
  alertingWindowMs: number;
  /** Levels the ramp rule reads. */
  intakeLevels: readonly string[];
}

/** One line per missing input: which rule, which series, which `sinks.metrics` setting. */
export function metricsSinkNotes(config: HeadroomConfig, facts: ExportFacts): string[] {
  const notes: string[] = [];
  const metrics = config.sinks.metrics;
  const exported = new Set(facts.exportedWindowsMs);
  const smallestMs = Math.min(...config.engine.windowsMs);
  if (!exported.has(SWING_RULE_WINDOW_MS)) {
    const inPipeline = config.engine.windowsMs.includes(SWING_RULE_WINDOW_MS);
    notes.push(`swing_high reads window="1m", which /metrics does not export: add 1m to sinks.metrics.windows${inPipeline ? '' : ' (and to pipeline.windows)'}.`);
  }
  if (facts.alertingWindowMs !== smallestMs) {
    const label = windowLabel(smallestMs);
    notes.push(`the rules alert on window="${windowLabel(facts.alertingWindowMs)}", the smallest window /metrics exports; the in-stream rules evaluate ${label} by default: to alert on ${label} too, set sinks.metrics.windows: [${[smallestMs, ...facts.exportedWindowsMs].map(windowLabel).join(', ')}].`);
  }
  const nodes = exportedNodes(config.topology, { levels: metrics?.levels, maxDepth: metrics?.maxDepth });
  const missing: string[] = [];
  for (const site of config.topology.sites) {
    for (const n of site.nodes) if (!nodes.has(`${site.id}\u0000${n.id}`) && !missing.includes(n.level)) missing.push(n.level);
  }
  const intakeMissing = facts.intakeLevels.filter((l) => missing.includes(l));
  if (intakeMissing.length > 0) {
    notes.push(`ramp_rate_high reads level ${intakeMissing.join(', ')}, which /metrics does not export (fully): add ${intakeMissing.length === 1 ? 'it' : 'them'} to sinks.metrics.levels.`);
  }
  if (missing.length > 0) {
    notes.push(`the node alerts cover only the nodes /metrics exports: nodes of level ${missing.join(', ')} are not exported (sinks.metrics.levels, maxDepth), so their alerts come from the in-stream rules only; to alert on them here, add the levels to sinks.metrics.levels.`);
  }
  return notes;
}
