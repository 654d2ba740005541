// Public face of the sinks: the Sink contract, the NDJSON file and the Prometheus metrics sink.
export * from './types.js';
export { NdjsonSink } from './ndjson-sink.js';
export { MetricsSink, nodeDepths, type MetricsSinkOptions } from './metrics-sink.js';
export { MetricsServer, type MetricsServerOptions, type Readiness } from './metrics-server.js';
