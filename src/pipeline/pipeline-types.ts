/** The public types of the running pipeline (`Pipeline` in runner.ts). */
import type { WindowEngine } from '../core/index.js';
import type { AlertEngine } from '../core/alerts/index.js';
import type { Sink } from '../sinks/index.js';
import type { DeadLetterPublisher, NatsConnectionStatus, Source } from '../sources/index.js';
import type { Logger } from '../telemetry/index.js';
import type { Registry } from 'prom-client';
import type { LineProtocolInput } from './ingest.js';

export interface PipelineConfig {
  /** Subject prefix of telemetry subjects (the site is the next token). */
  subjectPrefix: string;
  maxMessageBytes: number;
  /** Subjects carrying InfluxDB line protocol (source.lineProtocol); default none. */
  lineProtocol?: readonly LineProtocolInput[];
}

export interface PipelineDeps {
  config: PipelineConfig;
  engine: WindowEngine;
  source: Source;
  sinks: readonly Sink[];
  /** Alert rules evaluated on every batch of window results (event time); absent = no alerts. */
  alerts?: AlertEngine;
  /** Rejected messages go here; absent = dead-lettering off (still counted). */
  deadLetter?: DeadLetterPublisher;
  /** Processing clock, ms since the epoch. The CLI passes Date.now; tests a fake. */
  clock: () => number;
  logger: Logger;
  /** Registry for the pipeline's health metrics; absent = no metrics. */
  registry?: Registry;
  /** The NATS connection tracker from `connectNats` (state and reconnects), exported as gauges; absent = no NATS metrics. */
  natsStatus?: NatsConnectionStatus;
  /** Tick period. Default 250 ms. 0 = no timer: the owner calls `tick()` (tests). */
  tickMs?: number;
  /** The stop budget: `stop()` resolves within it; every stage's deadline derives from it. Default 10 s. */
  stopTimeoutMs?: number;
  /**
   * What `stop()` does with windows still open after the final advance. `drain` (default):
   * close and write them, partial ones included, and resolve active alerts. `keep`: leave
   * them in the engine for a checkpoint (a worker handing its partition to another).
   */
  openWindowsOnStop?: 'drain' | 'keep';
}

export type PipelineState = 'new' | 'running' | 'stopping' | 'stopped';

export interface PipelineStatus {
  state: PipelineState;
  sourcePaused: boolean;
  /** Times the source was paused for backpressure. */
  pauses: number;
  /** Window records written to the sinks. */
  recordsOut: number;
  /** Unexpected exceptions while handling a message (should stay 0). */
  handlerErrors: number;
}

/** Readings recorded, window records written and messages dead-lettered, since start. */
export interface PipelineCounts {
  readings: number;
  recordsOut: number;
  deadLetters: number;
}

/** The counts of a pipeline not (yet) running. */
export const NO_COUNTS: Readonly<PipelineCounts> = { readings: 0, recordsOut: 0, deadLetters: 0 };

/** What `stop()` could not do within its budget. */
export interface StopReport {
  /** Records each sink dropped at shutdown (`droppedByReason.shutdown`), by sink; only sinks that dropped. */
  droppedAtShutdown: Record<string, number>;
  /** Sum of `droppedAtShutdown`. */
  droppedRecords: number;
  /** Sinks whose close() overran its deadline (a broken sink contract; what they held is unaccounted). */
  overran: string[];
}

/** `stop()` did not finish within its bound. */
export class StopTimeoutError extends Error {
  override readonly name = 'StopTimeoutError';
}
