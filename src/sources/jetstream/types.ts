/** Options, counters and per-consumer state of the JetStream source. */
import type { Consumer, JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { NatsConnectionStatus } from '../nats-connection.js';
import type { SourceMessage } from '../types.js';
import type { PartitionClaim } from './claims.js';
import type { ConsumerPlan } from './setup.js';

export interface JetStreamSourceOptions {
  log: Logger;
  /** Connection state tracker from `connectNats`; without it, health uses `nc.isClosed()`. */
  status?: NatsConnectionStatus;
  /** How often `health().pending` is refreshed from consumer info when no message brings it. Default 5000. */
  pendingRefreshMs?: number;
  /** Longest wait between retries of a failing pull. Default 5000. */
  maxRetryWaitMs?: number;
  /** How long start-up retries JetStream API calls that time out or find no responders. Default 30000. */
  setupTimeoutMs?: number;
  /** Consume one partition as its worker-group owner, from the checkpoint's sequence on. */
  claim?: PartitionClaim;
}

/** Plain counters, read by the metrics layer. */
export interface JetStreamSourceCounters {
  delivered: number;
  redelivered: number;
  pullErrors: number;
  handlerErrors: number;
  /** `ack()` calls that failed (connection closed); the message comes back after ack_wait. */
  ackErrors: number;
}

export interface ConsumerRun {
  plan: ConsumerPlan;
  consumer: Consumer;
  /**
   * Last known consumer num_pending (from the last message received, or consumer info), plus,
   * when nothing was received between two consumer-info refreshes, the num_ack_pending this
   * source does not hold: messages delivered elsewhere or lost on the way, back after ack_wait.
   */
  pending: number;
  /** Messages received and not yet handed over (held while paused), oldest first. */
  held: JsMsg[];
  /**
   * The server stopped answering this consumer's pulls (heartbeats missed, a pull failed): what
   * waits upstream is unknown, so the source is not caught up. Cleared by the next message or
   * pull that ends on the server's word.
   */
  unanswered: boolean;
  /** Messages received since start (tells a refresh whether any arrived since the previous one). */
  received: number;
  /** `received` at the previous consumer-info refresh. */
  receivedAtRefresh: number;
  loop: Promise<void>;
  /** Stops the pull in flight (on stop): what was received but not handed over is nak'ed. */
  abort: (() => void) | null;
  /** Wakes the hand-over loop (on resume). */
  wake: (() => void) | null;
}

export type Handler = (batch: SourceMessage[]) => Promise<void> | void;
