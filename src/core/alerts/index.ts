// Public face of the alert engine (pure: no I/O, no clock).
export { AlertEngine } from './alert-engine.js';
export { TEMPLATE_VARIABLES, unknownTemplateVariables, renderTemplate, formatWindow, formatMetricValue } from './format.js';
export { ALERT_METRICS, SITE_METRICS, METRIC_DIRECTION } from './types.js';
export type {
  ActiveAlert,
  AlertMetric,
  AlertRule,
  AlertScope,
  AlertSeverityLevel,
  AlertsConfig,
  RevisionPolicy,
  SeverityThreshold,
  SeverityThresholds,
  Threshold,
  ThresholdOverride,
} from './types.js';
