/**
 * Dead letters on NATS: the original payload of a rejected message, published to
 * `<subjectPrefix>.<site>` (default prefix `headroom.deadletter`; site `_unknown` when the
 * site is missing or not a valid id) with headers `Headroom-Reason` (e.g. `schema`,
 * `unknown_meter`) and `Headroom-Detail` (a short, log-safe description).
 *
 * Publishing never throws: failures are counted in `counters.errors` (the first one after a
 * success is logged). While NATS reconnects, nats.js buffers the publishes.
 */
import { headers, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { deadLetterSubject } from '../codec/index.js';
import type { DeadLetterConfig } from '../config/index.js';
import { DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_REASON_HEADER, type DeadLetterPublisher } from './types.js';
import { errorText } from '../telemetry/index.js';

const MAX_HEADER_CHARS = 512;

/** Plain counters, read by the metrics layer. */
export interface DeadLetterCounters {
  published: number;
  errors: number;
}

/** Header values are one line of printable text, bounded in length. */
function headerValue(text: string): string {
  // Control characters (CR, LF, NUL, ...) would break the header block: they are the point here.
  // eslint-disable-next-line no-control-regex
  const oneLine = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return oneLine.length <= MAX_HEADER_CHARS ? oneLine : `${oneLine.slice(0, MAX_HEADER_CHARS - 1)}…`;
}

export class NatsDeadLetterPublisher implements DeadLetterPublisher {
  readonly counters: DeadLetterCounters = { published: 0, errors: 0 };
  private failing = false;
  private readonly log: Logger;

  constructor(
    private readonly nc: NatsConnection,
    private readonly cfg: DeadLetterConfig,
    log: Logger,
  ) {
    this.log = log.child({ component: 'dead-letter' });
  }

  publish(site: string, reason: string, payload: Uint8Array, detail?: string): void {
    if (!this.cfg.enabled) return;
    const subject = deadLetterSubject(this.cfg.subjectPrefix, site);
    try {
      const h = headers();
      h.set(DEAD_LETTER_REASON_HEADER, headerValue(reason) || 'unknown');
      if (detail !== undefined && detail !== '') h.set(DEAD_LETTER_DETAIL_HEADER, headerValue(detail));
      this.nc.publish(subject, payload, { headers: h });
      this.counters.published++;
      this.failing = false;
    } catch (err: unknown) {
      this.counters.errors++;
      if (!this.failing) {
        this.failing = true;
        this.log.warn({ subject, reason, err: errorText(err) }, 'dead-letter publish failed; counting further failures');
      }
    }
  }
}
