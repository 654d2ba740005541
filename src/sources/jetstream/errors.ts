/** JetStream error handling: the set-up error and how NATS errors are classified (by code, never by message text). */
import { ConsumerDebugEvents, ConsumerEvents, ErrorCode, NatsError, type ConsumerMessages } from 'nats';
import type { Logger } from 'pino';
import { errorText } from '../../telemetry/index.js';

/** The stream or consumer exists with settings this source cannot use or change. */
export class JetStreamSetupError extends Error {
  override readonly name = 'JetStreamSetupError';
}

/** JetStream API error codes (nats-server `errors.json`). */
export const JS_ERR_STREAM_NOT_FOUND = 10059;
export const JS_ERR_CONSUMER_NOT_FOUND = 10014;

export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

export { errorText };

/** A pull ended because its consumer or stream is gone: the consumer status event that said so. */
export class ConsumerGoneError extends Error {
  override readonly name = 'ConsumerGoneError';

  constructor(readonly event: string) {
    super(`consumer not found (${event})`);
  }
}

/** The status events after which a pull can never be answered: the consumer or its stream is gone. */
const GONE_EVENTS: ReadonlySet<string> = new Set([ConsumerEvents.ConsumerDeleted, ConsumerEvents.ConsumerNotFound, ConsumerEvents.StreamNotFound]);

/**
 * The pull found no consumer to answer it: deleted under us, or a memory stream lost in a
 * restart. Told by no responders (503) or the API error code of a missing consumer. A
 * ConsumerGoneError (a status event) is not counted here: during a server restart the event
 * can be momentary, so the pull loop re-creates the consumer only when the pull fails again.
 */
export function isMissingConsumer(err: unknown): boolean {
  if (!(err instanceof NatsError)) return false;
  return err.code === ErrorCode.NoResponders || apiErrorCode(err) === JS_ERR_CONSUMER_NOT_FOUND;
}

/** NATS error codes of a server restarting or a cluster electing leaders. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([ErrorCode.Timeout, ErrorCode.NoResponders, ErrorCode.ConnectionDraining, ErrorCode.Disconnect, ErrorCode.ConnectionRefused]);

/** Timeouts and "no responders" happen while a server restarts or a cluster elects leaders. */
export function isTransient(err: unknown): boolean {
  return err instanceof NatsError && TRANSIENT_CODES.has(err.code);
}

/**
 * The status events that say the server is not answering this consumer's pulls: its idle
 * heartbeats stopped (the consumer's leader died, or its node is cut off, until an election
 * or a reconnect re-pulls), or nobody answers at all.
 */
const UNANSWERED_EVENTS: ReadonlySet<string> = new Set([ConsumerEvents.HeartbeatsMissed, ConsumerEvents.NoResponders]);

/**
 * Watches a consume()'s status events:
 * - `onAnswered(false)` when the server stopped answering (heartbeats missed, no responders),
 *   `onAnswered(true)` when a pull ended on the server's word (it expired with nothing more to
 *   deliver: the consumer is reachable and has nothing for us). Messages say so too; the pull
 *   loop notes those.
 * - Stops the consume() with a ConsumerGoneError when its consumer or stream is gone: consume()
 *   would retry a vanished consumer for ever on its own; ended with an error, the pull loop
 *   re-creates it.
 */
export async function watchConsumerStatus(messages: ConsumerMessages, log: Logger, onAnswered: (answered: boolean) => void): Promise<void> {
  try {
    for await (const s of await messages.status()) {
      if (UNANSWERED_EVENTS.has(s.type)) onAnswered(false);
      else if (s.type === ConsumerDebugEvents.Discard) onAnswered(true);
      if (GONE_EVENTS.has(s.type)) {
        messages.stop(new ConsumerGoneError(s.type));
        return;
      }
    }
  } catch (err: unknown) {
    log.debug({ err: errorText(err) }, 'consumer status stream ended');
  }
}
