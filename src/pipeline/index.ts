// Public face of the pipeline: the running service, ingest, replay and the simulator driver.
export { Pipeline, StopTimeoutError, type StopReport, type PipelineConfig, type PipelineDeps, type PipelineState, type PipelineStatus } from './runner.js';
export { SimulatorDriver, countReadings, type SimulatorDriverOptions, type SimulatorDriverStats, type SimulatorSpeed } from './runner-simulator.js';
export { ingestPayload, IngestCounters, type IngestOptions, type IngestReport, type LineProtocolInput, type RejectReason } from './ingest.js';
export * from './replay.js';
export * from './record.js';
export { HeadroomService, ServiceConfigError, type ServiceOptions, type ServiceStopReport } from './service.js';
export { Router, type RouteCounts, type RouterOptions } from './router.js';
