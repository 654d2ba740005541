// Public face of the sources: the Source contract, NATS core and JetStream sources, the
// NATS connection and dead-letter publisher, the in-process bus and the fleet simulator.
export * from './types.js';
/** The client connection type, for callers that hold a connection from `connectNats`. */
export type { NatsConnection } from 'nats';
export {
  connectNats,
  natsConnectionOptions,
  DEFAULT_RECONNECT_POLICY,
  NatsConnectError,
  NatsConnectAbortedError,
  type NatsConnectOptions,
  type NatsConnectDeps,
  type NatsConnectionState,
  type NatsConnectionStatus,
  type NatsHandle,
  type NatsReconnectPolicy,
} from './nats-connection.js';
export { NatsSource, type NatsSourceCounters, type NatsSourceOptions } from './nats-source.js';
export {
  JetStreamSource,
  JetStreamSetupError,
  claimDurable,
  ensureConsumer,
  ensureStream,
  planConsumers,
  type ConsumerPlan,
  type JetStreamSourceCounters,
  type JetStreamSourceOptions,
} from './jetstream/index.js';
export { NatsDeadLetterPublisher, type DeadLetterCounters } from './dead-letter.js';
// The subject grammar lives in codec/subjects.ts; re-exported for the sources' users.
export {
  deadLetterSubject,
  InvalidSubjectError,
  parseTelemetrySubject,
  subjectMatches,
  telemetrySubjectPattern,
  telemetrySubjects,
  UNKNOWN_SITE,
} from '../codec/index.js';
export * from './memory-bus.js';
export * from './simulator/index.js';
export * from './files/index.js';
export { tapNats, type RecordFrom, type TapWriter } from './nats-tap.js';
export { STOPPED, unlessStopped } from './stoppable.js';
