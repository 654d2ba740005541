/** JetStream messages as the pipeline sees them, and the acks that must never throw into the pull loop. */
import type { JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { SourceMessage } from '../types.js';
import { errorText } from './errors.js';
import type { JetStreamSourceCounters } from './types.js';

/** The message with its stream position and an ack that counts (and logs once) its failures. */
export function toSourceMessage(m: JsMsg, stream: string, counters: JetStreamSourceCounters, log: Logger): SourceMessage {
  if (m.redelivered) counters.redelivered++;
  return {
    subject: m.subject,
    payload: m.data,
    position: { stream, sequence: m.seq },
    ack: () => {
      try {
        m.ack();
      } catch (err: unknown) {
        if (counters.ackErrors++ === 0) log.warn({ err: errorText(err) }, 'ack failed; the message will be redelivered');
      }
    },
  };
}

/** Nak so the message is redelivered at once; a failed nak only delays it until ack_wait. */
export function nakQuietly(m: JsMsg, log: Logger): void {
  try {
    m.nak();
  } catch (err: unknown) {
    log.debug({ err: errorText(err) }, 'nak failed; the message will be redelivered after ack_wait');
  }
}

/** In-progress acks for held messages, so ack_wait does not bring them back. */
export function workingAll(held: readonly JsMsg[], log: Logger): void {
  for (const m of held) {
    try {
      m.working();
    } catch (err: unknown) {
      log.debug({ err: errorText(err) }, 'in-progress ack failed; a held message may be redelivered (a duplicate)');
    }
  }
}
