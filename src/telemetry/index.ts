// Public face of telemetry: the logger factory and the pipeline's own metrics.
export { createLogger, errorText, type Logger, type LoggerOptions } from './logger.js';
export * from './metric-names.js';
export { EXIT_CONFIG, EXIT_DROPPED_AT_SHUTDOWN, EXIT_OK, EXIT_RUNTIME, EXIT_SECOND_SIGNAL, OperationalError, redactUrlCredentials, type OperationalErrorOptions } from './operational-error.js';
export type { SinkStats } from './sink-stats.js';
export {
  PipelineMetrics,
  collectProcessMetrics,
  type AlertSeriesSample,
  type DeliveryReporter,
  type NatsHealthSample,
  type PipelineHealthSample,
  type SinkHealthSample,
} from './pipeline-metrics.js';
