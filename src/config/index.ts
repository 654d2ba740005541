// Public face of the configuration layer.
export {
  headroomConfigSchema,
  secretSchema,
  natsUrlHasCredentials,
  natsUrlRequiresTls,
  NATS_URL_CREDENTIALS_MESSAGE,
  type HeadroomConfig,
  type HeadroomConfigInput,
  type Secret,
  type SourceConfig,
  type MemorySourceConfig,
  type NatsSourceConfig,
  type JetStreamSourceConfig,
  type StreamConfig,
  type ConsumerConfig,
  type NatsConfig,
  type NatsTlsConfig,
  type DeadLetterConfig,
  type SinksConfig,
  type NdjsonSinkConfig,
  type MetricsSinkConfig,
  type InfluxSinkConfig,
  type InfluxRetryConfig,
  type NatsResultsSinkConfig,
  type SimulatorConfig,
  type SimulatorFaults,
  type AlertRoutingConfig,
} from './schema/index.js';
export { defaultMetricsWindowsMs, parseListenAddress } from './schema/sinks.js';
export { parseConfigText, loadConfigFile, formatIssues, formatPath, validateConfig, type ConfigIssue, type ConfigResult } from './load.js';
export {
  alertsSectionSchema,
  builtinAlertsConfig,
  parseAlertRule,
  parseThreshold,
  BUILTIN_ALERT_RULES,
  type AlertRuleInput,
  type AlertsSectionInput,
} from './alerts/index.js';
export type { AlertsConfig, AlertRule } from '../core/alerts/index.js';
export { resolveSecret, describeSecret, SecretResolutionError, type SecretEnv, type SecretFileReader } from './secret.js';
export {
  parseDurationMs,
  parsePowerWatts,
  parseSizeBytes,
  formatDurationMs,
  formatPowerWatts,
  durationMs,
  powerWatts,
  sizeBytes,
  UnitParseError,
} from './units.js';
