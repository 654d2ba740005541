import type { NodeSpec } from '../../domain/index.js';
import type { AlertRule, AlertScope, SeverityThresholds } from './types.js';

const anyOf = <T>(list: readonly T[] | undefined, value: T | undefined): boolean =>
  list === undefined || list.length === 0 || (value !== undefined && list.includes(value));

/** Whether a node (null: the site itself, for site rules) is in scope. Fields AND, list items OR. */
export function matchesScope(scope: AlertScope, site: string, node: NodeSpec | null): boolean {
  if (!anyOf(scope.sites, site)) return false;
  if (node === null) return true;
  return anyOf(scope.levels, node.level) && anyOf(scope.nodes, node.id) && anyOf(scope.roles, node.role);
}

/**
 * The rule's thresholds for a target: per severity, the first matching override that sets it,
 * else the rule's own.
 */
export function thresholdsFor(rule: AlertRule, site: string, node: NodeSpec | null): SeverityThresholds {
  const matching = rule.overrides.filter((override) => matchesScope(override.scope, site, node));
  const warning = matching.find((override) => override.warning !== undefined)?.warning ?? rule.warning;
  const critical = matching.find((override) => override.critical !== undefined)?.critical ?? rule.critical;
  const out: SeverityThresholds = {};
  if (warning !== undefined) out.warning = warning;
  if (critical !== undefined) out.critical = critical;
  return out;
}
