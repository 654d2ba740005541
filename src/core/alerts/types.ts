/**
 * Alert rules as the engine takes them: normalised (base units, windows resolved), produced
 * by the config layer (src/config/alerts/) or built in code by tests.
 */
import type { NodeRole } from '../../domain/index.js';

/** What a rule watches. Node metrics are evaluated per node, site metrics once per site. */
export type AlertMetric =
  /** headroomWatts, below threshold. Thresholds: fraction of usableWatts or absolute watts. */
  | 'headroom'
  /** utilization (load / rating), above threshold. Thresholds: ratio. */
  | 'utilization'
  /** failoverHeadroomWatts, below threshold. Thresholds: fraction of usableWatts or absolute watts. */
  | 'failover_headroom'
  /** |rampWattsPerSecond|, above threshold. Thresholds: W/s, or fraction of usableWatts per second. */
  | 'ramp_rate'
  /** completeness (share of the node's meters reporting), below threshold. Thresholds: ratio. */
  | 'completeness'
  /** Seconds since the node last had a window with data, above threshold. Thresholds: seconds. */
  | 'stale_meter'
  /** timeToBreachSeconds, below threshold (absent trend = clear). Thresholds: seconds. */
  | 'time_to_breach'
  /** swingWatts (windows >= 1 min), above threshold. Thresholds: fraction of ratingWatts or absolute watts. */
  | 'swing'
  /** Site 15-minute demand, above threshold. Thresholds: fraction of the reference or absolute watts. */
  | 'demand'
  /** Site |gridHertz - nominal|, above threshold. Thresholds: hertz. */
  | 'grid_frequency';

export const ALERT_METRICS: readonly AlertMetric[] = [
  'headroom',
  'utilization',
  'failover_headroom',
  'ramp_rate',
  'completeness',
  'stale_meter',
  'time_to_breach',
  'swing',
  'demand',
  'grid_frequency',
];

export const SITE_METRICS: ReadonlySet<AlertMetric> = new Set<AlertMetric>(['demand', 'grid_frequency']);

/** Whether a metric breaches below its threshold (headroom-like) or above it. */
export const METRIC_DIRECTION: Readonly<Record<AlertMetric, 'below' | 'above'>> = {
  headroom: 'below',
  utilization: 'above',
  failover_headroom: 'below',
  ramp_rate: 'above',
  completeness: 'below',
  stale_meter: 'above',
  time_to_breach: 'below',
  swing: 'above',
  demand: 'above',
  grid_frequency: 'above',
};

/**
 * A threshold: `value` in the metric's base unit (watts, ratio, W/s, seconds, hertz), or,
 * with `relative: true`, a fraction of the node's usableWatts (headroom, failover headroom,
 * ramp per second), of its ratingWatts (swing) or of the demand reference (period peak or contract).
 */
export interface Threshold {
  value: number;
  relative: boolean;
}

/** One severity of a rule: breach beyond `at`, clear beyond `clear` (hysteresis band between). */
export interface SeverityThreshold {
  at: Threshold;
  clear: Threshold;
}

export type AlertSeverityLevel = 'warning' | 'critical';

export interface SeverityThresholds {
  warning?: SeverityThreshold;
  critical?: SeverityThreshold;
}

/** Which nodes (or sites) a rule or an override applies to. Empty or absent field: any. */
export interface AlertScope {
  sites?: string[];
  levels?: string[];
  nodes?: string[];
  roles?: NodeRole[];
}

/** Thresholds for the targets matching `scope`; the first matching override wins. */
export interface ThresholdOverride extends SeverityThresholds {
  scope: AlertScope;
}

export interface AlertRule {
  /** Unique name; the `alertname` label. */
  name: string;
  metric: AlertMetric;
  /** Window size the rule is evaluated on (one of the pipeline windows). */
  windowMs: number;
  scope: AlertScope;
  warning?: SeverityThreshold;
  critical?: SeverityThreshold;
  overrides: ThresholdOverride[];
  /** The breach must last this long (event time) before the alert fires; pending until then. */
  forMs: number;
  /**
   * An alert (pending or firing) ends only once its value stayed clear this long (default 0:
   * at the first clear window). A firing alert then resolves; a pending one ends silently.
   */
  clearForMs?: number;
  /** Node rules: below this utilization (load / rating) the node counts as clear. */
  minUtilization?: number;
  /** demand only: what the demand is compared with. */
  reference?: 'period_peak' | 'contract';
  /** Static labels added to every event of the rule. */
  labels: Record<string, string>;
  /** Annotation templates: {{site}} {{node}} {{level}} {{value}} {{threshold}} {{rule}} {{severity}} {{window}}. */
  annotations: Record<string, string>;
}

/**
 * How window restatements (revision > 0) are treated.
 * - `final`: a window is evaluated once, in its last revision, when it can no longer change
 *   (its site's watermark passed end + allowedLateness, seen from a later window of the site
 *   or passed in; or on flush()). Alerts are the same for any arrival order of readings within
 *   allowed lateness, at a latency of allowedLateness.
 * - `first`: a window is evaluated on its first emission (revision 0); restatements are
 *   ignored. Lowest latency; live and replay agree when readings arrive within maxOutOfOrder.
 */
export type RevisionPolicy = 'final' | 'first';

export interface AlertsConfig {
  revisions: RevisionPolicy;
  /** The pipeline's allowed lateness: when a window becomes final. */
  allowedLatenessMs: number;
  /** The pipeline's trend length in windows (at least): time to breach is trusted after the trend horizon of stable completeness. */
  trendWindows: number;
  /** The pipeline's trend horizon, ms (default 10 min). */
  trendHorizonMs?: number;
  rules: AlertRule[];
}

/** An alert currently pending or firing (not inhibited), for the metrics layer and summaries. */
export interface ActiveAlert {
  rule: string;
  severity: AlertSeverityLevel;
  site: string;
  node: string | null;
  level: string | null;
  state: 'pending' | 'firing';
  /** Start of the first window of the breach (event time). */
  activeSinceMs: number;
  /** End of the window the alert started firing at; null while pending. */
  firingSinceMs: number | null;
  /** Latest evaluated value and threshold, in the metric's base unit. */
  value: number | null;
  threshold: number;
  windowMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
