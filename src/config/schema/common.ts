/** Building blocks of the config schema: strict objects with key suggestions, ids, subjects, units, secrets. */
import { z } from 'zod';
import { durationMs, formatDurationMs } from '../units.js';

// ---------------------------------------------------------------------------------------
// Building blocks

const UNIT_SUFFIXES = ['Ms', 'Watts', 'Bytes', 'Seconds', 'Hz', 'W'];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] ?? 0;
      row[j] = Math.min(up + 1, (row[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length] ?? 0;
}

/** `unknown key 'ratingWatts' (did you mean 'rating'? values take units, e.g. 2MW)`. */
export function unknownKeyMessage(key: string, knownKeys: readonly string[]): string {
  for (const known of knownKeys) {
    if (key.startsWith(known) && UNIT_SUFFIXES.includes(key.slice(known.length))) {
      return `unknown key '${key}' (did you mean '${known}'? values take units, e.g. 10s or 2MW)`;
    }
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of knownKeys) {
    const d = editDistance(key.toLowerCase(), known.toLowerCase());
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 4))) {
    return `unknown key '${key}' (did you mean '${best}'?)`;
  }
  return `unknown key '${key}'`;
}

/** Separator between the per-key messages of one unrecognized_keys issue. */
export const UNKNOWN_KEYS_SEPARATOR = '; ';

/** z.object(shape).strict() whose unknown-key message names each key with a suggestion. */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z
    .object(shape, {
      errorMap: (issue, ctx) =>
        issue.code === z.ZodIssueCode.unrecognized_keys
          ? { message: issue.keys.map((k) => unknownKeyMessage(k, known)).join(UNKNOWN_KEYS_SEPARATOR) }
          : { message: ctx.defaultError },
    })
    .strict();
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Site, node and meter ids: `[A-Za-z0-9_-]{1,64}`. */
export const id = z.string().regex(ID_RE, { message: 'must match [A-Za-z0-9_-]{1,64}' });

const SUBJECT_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
/** NATS subject prefix: dot-separated tokens, no wildcards. */
export const subjectPrefix = z.string().regex(SUBJECT_RE, { message: 'must be dot-separated tokens of [A-Za-z0-9_-] (no wildcards)' });

type UnitSchema = typeof durationMs;

export function positive(schema: UnitSchema, what: string) {
  return schema.refine((v) => typeof v !== 'number' || v > 0, { message: `${what} must be greater than 0` });
}

/** A duration that is a whole number of seconds, at least 1 s. */
export const wholeSecondsMs = durationMs.superRefine((ms, ctx) => {
  // A failed unit parse leaves no number behind; its own issue is already reported.
  if (typeof ms !== 'number') return;
  if (ms < 1000) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${formatDurationMs(ms)} is shorter than 1s` });
  else if (ms % 1000 !== 0) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${formatDurationMs(ms)} is not a whole number of seconds` });
});

export const fraction = z.number().min(0).max(1);

/**
 * A secret: a literal string, `{ env: VAR }` (read from the environment) or `{ file: path }`
 * (the file's contents, trailing newline removed). Resolved by `resolveSecret` at start-up,
 * never at parse time, so a parsed config never holds a value it did not have to.
 */
export const secretSchema = z.union(
  [z.string().min(1), strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }), strictObject({ file: z.string().min(1) })],
  {
    errorMap: (issue, ctx) =>
      issue.code === z.ZodIssueCode.invalid_union
        ? { message: 'expected a string, { env: VAR_NAME } or { file: path }' }
        : { message: ctx.defaultError },
  },
);
