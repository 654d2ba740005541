/**
 * The CLI's top-level error report: every failure that reaches `main` becomes one line on
 * stderr (`headroom: <problem>; <fix>`) and an exit code; the stack trace only when asked
 * for (`--log-level debug` or `trace`). Config errors keep their one line per problem.
 */
import { SecretResolutionError } from '../config/index.js';
import { EXIT_CONFIG, EXIT_RUNTIME, OperationalError } from '../telemetry/index.js';
import { ConfigError } from './config-arg.js';

export interface FailureReport {
  /** What to write to stderr, newline-terminated. */
  text: string;
  exitCode: number;
}

/** Errors that are programming mistakes rather than operational conditions. */
const BUG_ERRORS = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError']);

/** One line per thrown value; with `stacks`, the stack and each `cause`'s stack follow. */
export function describeFailure(err: unknown, opts: { stacks: boolean }): FailureReport {
  if (err instanceof ConfigError) return { text: `${err.message}\n${opts.stacks ? stackTrail(err) : ''}`, exitCode: EXIT_CONFIG };
  const exitCode = err instanceof OperationalError ? err.exitCode : err instanceof SecretResolutionError ? EXIT_CONFIG : EXIT_RUNTIME;
  const message = err instanceof Error ? err.message : String(err);
  const bug = err instanceof Error && BUG_ERRORS.has(err.name);
  const line = `headroom: ${bug ? `${err.name}: ` : ''}${oneLine(message)}${bug && !opts.stacks ? ' (--log-level debug shows the stack trace)' : ''}`;
  return { text: `${line}\n${opts.stacks ? stackTrail(err) : ''}`, exitCode };
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/** The stack of `err` and of each error in its `cause` chain (bounded). */
function stackTrail(err: unknown): string {
  let out = '';
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    out += `${depth === 0 ? '' : 'caused by: '}${current.stack ?? `${current.name}: ${current.message}`}\n`;
    current = current.cause;
  }
  return out;
}

/** `--log-level` values that ask for stack traces. */
export function wantsStacks(logLevel: unknown): boolean {
  return logLevel === 'debug' || logLevel === 'trace';
}
