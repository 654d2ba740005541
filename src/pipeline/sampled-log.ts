import { errorText, type Logger } from '../telemetry/index.js';

/**
 * Counts occurrences of one kind of unexpected error and logs the 1st, 2nd, 4th, 8th, …:
 * a bug that repeats on every message must not flood the log. One per kind, so one kind
 * cannot hide another's first occurrence.
 */
export class SampledErrorLog {
  /** Occurrences so far. */
  count = 0;

  constructor(private readonly log: Logger) {}

  /** Counts one occurrence of `err`; logs it with `msg` when the count is a power of two. */
  record(err: unknown, msg: string): void {
    const n = ++this.count;
    if ((n & (n - 1)) === 0) this.log.error({ err: errorText(err), occurrences: n }, msg);
  }
}
