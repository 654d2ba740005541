// Public face of telemetry: the logger factory and the pipeline's own metrics.
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export * from './metric-names.js';
export { PipelineMetrics, type PipelineHealthSample } from './pipeline-metrics.js';
