/** JetStream error handling: the set-up error and how NATS errors are classified. */
import { NatsError } from 'nats';

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

export { errorText } from '../../telemetry/index.js';

/** The pull found no consumer to answer it: deleted under us, or a memory stream lost in a restart. */
export function isMissingConsumer(err: unknown): boolean {
  if (!(err instanceof NatsError)) return false;
  const message = err.message.toLowerCase();
  return err.code === '503' || message.includes('consumer deleted') || message.includes('consumer not found') || apiErrorCode(err) === JS_ERR_CONSUMER_NOT_FOUND;
}

/** Timeouts and "no responders" happen while a server restarts or a cluster elects leaders. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof NatsError)) return false;
  return err.code === 'TIMEOUT' || err.code === '503' || err.code === 'CONNECTION_DRAINING' || err.code === 'DISCONNECT' || err.code === 'CONNECTION_REFUSED';
}
