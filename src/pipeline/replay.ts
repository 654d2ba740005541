// Public face of replay (docs/design.md section 9): reading the inputs, in-process on the event-time clock, or to NATS.
export {
  DEFAULT_REORDER_MAX_BUFFERED,
  DEFAULT_REORDER_WINDOW_MS,
  UNREADABLE_SAMPLES,
  type FormatSummaryFields,
  type ReorderReport,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayReadOptions,
  type UnreadableSample,
} from './replay/read.js';
export { MedianEventClock, EVENT_CLOCK_SAMPLES } from './replay/event-clock.js';
export { replayFiles, type ReplayReport, type ReplaySummary } from './replay/in-process.js';
export { replayToNats, type NatsReplayOptions, type NatsReplaySummary, type ReplayPublisher, type WallClock } from './replay/to-nats.js';
