/** JetStream messages as the pipeline sees them, and the acks that must never throw into the pull loop. */
import type { JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { SourceMessage } from '../types.js';
import { errorText } from './errors.js';
import type { JetStreamSourceCounters } from './types.js';

/**
 * The message with its stream position and an ack that counts (and logs once) its failures. A
 * class, not a closure per message: the ack is one method on the prototype.
 */
class JetStreamMessage implements SourceMessage {
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly position: { stream: string; sequence: number };

  constructor(
    private readonly m: JsMsg,
    stream: string,
    private readonly counters: JetStreamSourceCounters,
    private readonly log: Logger,
  ) {
    this.subject = m.subject;
    this.payload = m.data;
    this.position = { stream, sequence: m.seq };
  }

  ack(): void {
    try {
      this.m.ack();
    } catch (err: unknown) {
      if (this.counters.ackErrors++ === 0) this.log.warn({ err: errorText(err) }, 'ack failed; the message will be redelivered');
    }
  }
}

export function toSourceMessage(m: JsMsg, stream: string, counters: JetStreamSourceCounters, log: Logger): SourceMessage {
  if (m.redelivered) counters.redelivered++;
  return new JetStreamMessage(m, stream, counters, log);
}

/** Nak so the message is redelivered at once; a failed nak only delays it until ack_wait. */
export function nakQuietly(m: JsMsg, log: Logger): void {
  try {
    m.nak();
  } catch (err: unknown) {
    log.debug({ err: errorText(err) }, 'nak failed; the message will be redelivered after ack_wait');
  }
}

/** Longest wait for `dropStalePulls` before nak'ing anyway (a server that does not answer). */
const DROP_STALE_PULLS_MAX_WAIT_MS = 1000;

/**
 * Naks what a stopped pull left, so another worker gets it at once. First `dropStalePulls` (a
 * consumer-info round trip, which makes the server drop pull requests nobody listens to): with
 * only such a request waiting, nats-server before 2.10.14 hands it a nak'ed message, loses it
 * until ack_wait and steps the consumer back one message (nats-io/nats-server#5305).
 */
export async function nakAfterStop(left: readonly JsMsg[], dropStalePulls: () => Promise<unknown>, log: Logger): Promise<void> {
  if (left.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DROP_STALE_PULLS_MAX_WAIT_MS);
  });
  try {
    await Promise.race([dropStalePulls(), gaveUp]);
  } catch (err: unknown) {
    log.debug({ err: errorText(err) }, 'consumer info before nak failed; one nak\'ed message may come back only after ack_wait');
  } finally {
    clearTimeout(timer);
  }
  for (const m of left) nakQuietly(m, log);
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
