/** The points, errors and options of the line-protocol decoder. */

export type LineProtocolPrecision = '1ns' | '1us' | '1ms' | '1s';

export const LINE_PROTOCOL_PRECISIONS: readonly LineProtocolPrecision[] = ['1ns', '1us', '1ms', '1s'];

/** Nanoseconds per unit of each precision. */
export const NS_PER_UNIT: Record<LineProtocolPrecision, bigint> = { '1ns': 1n, '1us': 1_000n, '1ms': 1_000_000n, '1s': 1_000_000_000n };

export type FieldValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean };

export interface LineProtocolTag {
  readonly key: string;
  readonly value: string;
}

export interface LineProtocolField {
  readonly key: string;
  readonly value: FieldValue;
}

export interface LineProtocolPoint {
  readonly measurement: string;
  /** Sorted by key (bytewise). */
  readonly tags: readonly LineProtocolTag[];
  /** In the order written; at least one. */
  readonly fields: readonly LineProtocolField[];
  /** Nanoseconds since the Unix epoch. */
  readonly timeNs: bigint;
  /** 1-based line of the input the point starts on. */
  readonly line: number;
}

export interface LineProtocolError {
  /** 1-based line and column (in bytes) where the problem was found. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface LineProtocolResult {
  readonly points: LineProtocolPoint[];
  readonly errors: LineProtocolError[];
}

export interface LineProtocolOptions {
  /** Unit of the timestamps in the text. Default 1ns. */
  readonly precision?: LineProtocolPrecision;
  /** Time (ns) of a line without a timestamp, truncated to the precision. Default 0. */
  readonly defaultTimeNs?: bigint;
}

// ---------------------------------------------------------------------------------------
