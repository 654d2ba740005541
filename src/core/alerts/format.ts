/** Human formatting of alert values and annotation templating. Pure. */
import { windowLabel } from '../time.js';
import type { AlertMetric } from './types.js';

/** Variables an annotation template may use, as `{{name}}`. */
export const TEMPLATE_VARIABLES: readonly string[] = ['site', 'node', 'level', 'value', 'threshold', 'rule', 'severity', 'window'];

const TEMPLATE_RE = /\{\{\s*([A-Za-z_]+)\s*\}\}/g;

/** Names used in `template` that are not template variables (for config validation). */
export function unknownTemplateVariables(template: string): string[] {
  const out: string[] = [];
  for (const match of template.matchAll(TEMPLATE_RE)) {
    const name = match[1] ?? '';
    if (!TEMPLATE_VARIABLES.includes(name) && !out.includes(name)) out.push(name);
  }
  return out;
}

/** Replaces `{{name}}` by `vars[name]`; unknown names are left as they are. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(TEMPLATE_RE, (whole, name: string) => vars[name] ?? whole);
}

/** `10s`, `1m`, `15m`, `1h`, `1d`, `1500ms`: the window label (the same as on metrics and points). */
export const formatWindow = windowLabel;

function trim(value: number, digits: number): string {
  return Number(value.toFixed(digits)).toString();
}

function formatWatts(watts: number): string {
  const size = Math.abs(watts);
  if (size >= 1e9) return `${trim(watts / 1e9, 3)} GW`;
  if (size >= 1e6) return `${trim(watts / 1e6, 3)} MW`;
  if (size >= 1e3) return `${trim(watts / 1e3, 3)} kW`;
  return `${trim(watts, 1)} W`;
}

function formatSeconds(seconds: number): string {
  const size = Math.abs(seconds);
  if (size >= 7200) return `${trim(seconds / 3600, 2)} h`;
  if (size >= 120) return `${trim(seconds / 60, 1)} min`;
  return `${trim(seconds, 1)} s`;
}

/** A value of `metric` in its base unit, for people: `1.2 MW`, `85.3 %`, `12 min`. */
export function formatMetricValue(metric: AlertMetric, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  switch (metric) {
    case 'headroom':
    case 'failover_headroom':
    case 'demand':
    case 'swing':
      return formatWatts(value);
    case 'utilization':
    case 'completeness':
      return `${trim(value * 100, 1)} %`;
    case 'ramp_rate':
      return `${formatWatts(value)}/s`;
    case 'stale_meter':
    case 'time_to_breach':
      return formatSeconds(value);
    case 'grid_frequency':
      return `${trim(value, 3)} Hz`;
  }
}
