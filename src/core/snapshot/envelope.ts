/**
 * The envelope every snapshot shares: UTF-8 JSON of an object whose `version` field names its
 * format. A reader accepts only the versions it knows and refuses the rest with SnapshotError,
 * so a checkpoint written by a newer build is never half-read by an older one.
 */
import { SnapshotError } from './error.js';

/** Serialises `state` (which carries its own `version`) to bytes. */
export function encodeSnapshot(state: { version: number }, replacer?: (key: string, value: unknown) => unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(state, replacer));
}

/**
 * Parses snapshot bytes of `what` (for messages) and checks the format version; anything else
 * about the content is the caller's to check. Corrupt bytes and unknown versions throw SnapshotError.
 */
export function decodeSnapshot(
  bytes: Uint8Array,
  what: string,
  versions: readonly number[],
  reviver?: (key: string, value: unknown) => unknown,
  /** The versions named in the refusal (all this build reads, binary ones included). */
  readable: readonly number[] = versions,
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes), reviver);
  } catch (err: unknown) {
    throw new SnapshotError(`${what} snapshot is corrupt: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SnapshotError(`${what} snapshot is not an object`);
  const record = parsed as Record<string, unknown>;
  const version = record['version'];
  if (typeof version !== 'number' || !versions.includes(version)) {
    throw new SnapshotError(`${what} snapshot has format version ${JSON.stringify(version) ?? 'none'}; this build reads version ${readable.join(', ')}`);
  }
  return record;
}

/** JSON replacer and reviver that keep NaN and ±Infinity (as the strings `#NaN`, `#Infinity`, `#-Infinity`). */
export function encodeNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return `#${String(value)}`;
  return value;
}

export function decodeNonFinite(_key: string, value: unknown): unknown {
  if (value === '#NaN') return NaN;
  if (value === '#Infinity') return Infinity;
  if (value === '#-Infinity') return -Infinity;
  return value;
}
