import { pino, type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Minimum level. Default info. */
  level?: Level | 'silent';
  /** Where JSON lines go. Default: stderr (stdout is left to command output). */
  destination?: DestinationStream;
  /** Fields on every line (e.g. { service: 'headroom' }). */
  base?: Record<string, string>;
}

/** Key paths that never reach a log line, whatever a caller passes in. */
const REDACT_PATHS = ['password', 'pass', 'token', 'nkeySeed', 'authorization', '*.password', '*.pass', '*.token', '*.nkeySeed'];

/**
 * The one logger factory. JSON lines (pino); the destination is injectable so tests read
 * what was logged. Secret-looking fields are redacted as a second line of defence: callers
 * already log only descriptions of credentials, never their values.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: opts.base ?? { service: 'headroom' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return pino(options, opts.destination ?? pino.destination({ dest: 2, sync: true }));
}

/** The message of a thrown value, for log fields and error texts (`unknown` narrowed). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
