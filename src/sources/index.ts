// Public face of the sources: the Source contract, NATS core and JetStream sources, the
// NATS connection and dead-letter publisher, the in-process bus and the fleet simulator.
export * from './types.js';
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
export { NatsSource, telemetrySubjects, type NatsSourceCounters, type NatsSourceOptions } from './nats-source.js';
export {
  JetStreamSource,
  JetStreamSetupError,
  ensureConsumer,
  ensureStream,
  planConsumers,
  type ConsumerPlan,
  type JetStreamSourceCounters,
  type JetStreamSourceOptions,
} from './jetstream/index.js';
export {
  NatsDeadLetterPublisher,
  deadLetterSubject,
  UNKNOWN_SITE,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_DETAIL_HEADER,
  type DeadLetterCounters,
} from './dead-letter.js';
export * from './memory-bus.js';
export * from './simulator/index.js';
