/**
 * NDJSON lines of replay files and recordings (docs/design.md section 9): one reading (or a batch
 * array) a line, decoded as a NATS message is. Pure: the lines come from a reader in
 * `sources/files`, which opens, decompresses and splits the file.
 *
 * Data errors are values (each line yields its readings and decode failures); blank lines
 * count but are skipped; a torn last line is marked, not reported as malformed.
 */
import type { DecodeFailure } from '../domain/index.js';
import { decodeMessage, type DecodeOptions } from './reading-codec.js';
import type { ReplayLine } from './replay-source-types.js';

/** One line of a text stream. */
export interface TextLine {
  /** 1-based line number. */
  line: number;
  text: string;
  /** The last line of a stream that does not end in a line break: possibly torn by a crash. */
  unterminated: boolean;
}

/**
 * A last line without its line break that is not JSON: the tail of a write cut short by a
 * crash. Readers skip it and count it (`tornLines`) instead of reporting malformed JSON.
 */
export function isTornLine(l: TextLine, failures: readonly DecodeFailure[]): boolean {
  return l.unterminated && failures.some((f) => f.reason === 'malformed_json');
}

/** True for an empty line or one of spaces, tabs and a trailing CR. */
export function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** One NDJSON line decoded: null for a blank line, `torn` (without readings) for a torn last line. */
export function decodeNdjsonLine(l: TextLine, opts: DecodeOptions): ReplayLine | null {
  if (isBlank(l.text)) return null;
  const { readings, failures } = decodeMessage(l.text, opts);
  if (isTornLine(l, failures)) return { line: l.line, readings: [], failures: [], missingValues: 0, torn: true };
  return { line: l.line, readings, failures, missingValues: 0 };
}
