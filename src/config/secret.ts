import type { Secret } from './schema/index.js';

/** A secret whose source is missing: an unset environment variable or an unreadable file. */
export class SecretResolutionError extends Error {
  override readonly name = 'SecretResolutionError';
}

export type SecretEnv = Readonly<Record<string, string | undefined>>;
export type SecretFileReader = (path: string) => string;

/**
 * The value of a secret: a literal as is, `{ env: VAR }` from `env`, `{ file: path }` from
 * `readFile` with one trailing newline removed. Empty values are errors. Never logs the value.
 * `configPath` (like `nats.token`) names the field in the error, with the fix: the message is
 * one line an operator can act on.
 */
export function resolveSecret(secret: Secret, env: SecretEnv, readFile: SecretFileReader, configPath?: string): string {
  const at = configPath === undefined ? '' : `${configPath}: `;
  const field = configPath ?? 'the field';
  if (typeof secret === 'string') return secret;
  if ('env' in secret) {
    const value = env[secret.env];
    if (value === undefined || value === '') {
      throw new SecretResolutionError(`${at}environment variable ${secret.env} is not set; export it, or point ${field} at another { env: VAR } or { file: path }`);
    }
    return value;
  }
  let text: string;
  try {
    text = readFile(secret.file);
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new SecretResolutionError(`${at}cannot read secret file ${secret.file}: ${reason}; create it, or point ${field} at another { env: VAR } or { file: path }`, { cause: err });
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new SecretResolutionError(`${at}secret file ${secret.file} is empty; write the secret into it`);
  return value;
}

/** Where a secret comes from, safe to log: `env NATS_TOKEN`, `file /run/secrets/x`, `literal`. */
export function describeSecret(secret: Secret): string {
  if (typeof secret === 'string') return 'literal';
  return 'env' in secret ? `env ${secret.env}` : `file ${secret.file}`;
}
