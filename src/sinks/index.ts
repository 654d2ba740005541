// Public face of the sinks: the Sink contract, NDJSON file, Prometheus metrics, InfluxDB, NATS results.
export * from './types.js';
export { observeDelivery, type DeliveryObserver } from './delivery.js';
export { NdjsonSink, type NdjsonSinkOptions } from './ndjson-sink.js';
export { NdjsonRecorder, type RecorderOptions, type RecorderStats } from './ndjson-recorder.js';
export { LineFileWriter, cutTornTail, rotatedPath, type LineFileMode, type LineFileOptions, type LineFileStats } from './line-file-writer.js';
export { MetricsSink, type MetricsSinkOptions } from './metrics-sink.js';
export { defaultExportedLevels, exportedNodes, leafLevels, nodeDepths, type NodeSelection } from './metrics-export.js';
export { MetricsServer, type MetricsServerOptions, type Readiness } from './metrics-server.js';
export { InfluxSink, InfluxServerUnsupportedError, type InfluxSinkDeps } from './influx/index.js';
export { NatsResultsSink, type NatsResultsSinkDeps } from './nats-results-sink.js';
