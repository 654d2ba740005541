/** What the replay readers yield: one entry per line (row) of the input, in file order. */
import type { DecodeFailure, Reading } from '../domain/index.js';

/** Why a row could not be read at all (its readings are lost; the replay goes on). */
export type UnreadableReason =
  /** CSV syntax (an unclosed quote, for example). */
  | 'csv_syntax'
  /** Fewer cells than the mapping needs. */
  | 'short_row'
  /** The time cell(s) did not parse. */
  | 'bad_time'
  /** A value cell is neither a number nor a missing-value sentinel. */
  | 'bad_value'
  /** A line of a key/value log (PTDaemon) without the expected shape. */
  | 'bad_line';

export const UNREADABLE_REASONS: readonly UnreadableReason[] = ['csv_syntax', 'short_row', 'bad_time', 'bad_value', 'bad_line'];

export interface UnreadableRow {
  /** 1-based line number in the (decompressed) file. */
  line: number;
  reason: UnreadableReason;
  /** Safe to print: the offending cell (truncated), never the whole row. */
  detail: string;
}

export interface ReplayLine {
  /** 1-based line number in the (decompressed) file. */
  line: number;
  readings: Reading[];
  /** NDJSON: decode failures of the line (counted as `invalid_<reason>`). */
  failures: DecodeFailure[];
  /** CSV: value cells holding a missing-value sentinel or nothing; never read as zero. */
  missingValues: number;
  unreadable?: UnreadableRow;
  /** NDJSON: the last line, without its line break and not JSON (a write cut short by a crash); skipped, counted as `tornLines`. */
  torn?: true;
}

/** Truncate a cell for error details. */
export function cellDetail(text: string): string {
  const t = text.length <= 40 ? text : `${text.slice(0, 40)}…`;
  return JSON.stringify(t);
}
