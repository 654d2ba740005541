/**
 * Expected operational failures (a port in use, a server that cannot be reached, a missing
 * secret): one line that names the problem and the fix, and the process exit code. The CLI
 * prints the message alone (no stack trace unless `--log-level debug`) and exits with the
 * code. Exit codes are documented in docs/operations.md ("Exit codes").
 */

/** Everything went as asked (including a stop by SIGTERM/SIGINT). */
export const EXIT_OK = 0;
/** A runtime or operational failure: a server unreachable or refusing us, a port in use. */
export const EXIT_RUNTIME = 1;
/** A configuration or usage error, including a secret whose variable or file is missing. */
export const EXIT_CONFIG = 2;
/**
 * `run` stopped by SIGTERM/SIGINT within its stop budget, but a sink could not deliver
 * everything and dropped records (counted as `shutdown` and logged with the number).
 */
export const EXIT_DROPPED_AT_SHUTDOWN = 3;
/** A second SIGINT/SIGTERM during a graceful stop: exit at once (128 + SIGINT). */
export const EXIT_SECOND_SIGNAL = 130;

export interface OperationalErrorOptions {
  /** Process exit code; default EXIT_RUNTIME. */
  exitCode?: number;
  /** The underlying error, kept for `--log-level debug`. */
  cause?: unknown;
}

/** An expected failure whose message is one self-sufficient line: the problem and the fix. */
export class OperationalError extends Error {
  override readonly name: string = 'OperationalError';
  readonly exitCode: number;

  constructor(message: string, opts: OperationalErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.exitCode = opts.exitCode ?? EXIT_RUNTIME;
  }
}

/** `nats://user:secret@host:4222` → `nats://[redacted]@host:4222`; other text unchanged. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/@]*@/g, '$1[redacted]@');
}
