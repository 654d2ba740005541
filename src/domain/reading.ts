/** One decoded, validated meter reading. Units are in the field names. */
export interface Reading {
  site: string;
  meter: string;
  /** Event time, ms since the Unix epoch (UTC). */
  tsMs: number;
  /** Real power, instantaneous or averaged by the meter. */
  watts?: number;
  /** Cumulative energy counter; may reset or wrap. */
  wattHours?: number;
  voltAmperes?: number;
  powerFactor?: number;
  volts?: number;
  amps?: number;
  /** Grid frequency (grid sensors). */
  hertz?: number;
  /** Energy price in currency units per MWh (grid sensors). */
  pricePerMWh?: number;
  /** Carbon intensity in grams CO2e per kWh (grid sensors). */
  carbonGramsPerKWh?: number;
}

/** The optional numeric fields of a reading, in canonical (encoding) order. */
export const READING_NUMBER_FIELDS = [
  'watts',
  'wattHours',
  'voltAmperes',
  'powerFactor',
  'volts',
  'amps',
  'hertz',
  'pricePerMWh',
  'carbonGramsPerKWh',
] as const satisfies readonly (keyof Reading)[];

/** Why a message or a reading inside it could not be decoded. */
export type DecodeFailureReason =
  | 'malformed_json'
  | 'too_large'
  | 'schema'
  | 'bad_id'
  | 'bad_timestamp'
  | 'non_finite'
  | 'no_value'
  | 'site_mismatch'
  /** A line that is not InfluxDB line protocol. */
  | 'malformed_line'
  /** A line-protocol point that no mapping turns into a reading. */
  | 'unmapped';

export const DECODE_FAILURE_REASONS: readonly DecodeFailureReason[] = [
  'malformed_json',
  'too_large',
  'schema',
  'bad_id',
  'bad_timestamp',
  'non_finite',
  'no_value',
  'site_mismatch',
  'malformed_line',
  'unmapped',
];

export interface DecodeFailure {
  reason: DecodeFailureReason;
  /** Human-readable detail, safe to log (never the whole payload). */
  detail: string;
  /** Index within a batch, when the message was an array. */
  index?: number;
}

export interface DecodeResult {
  readings: Reading[];
  failures: DecodeFailure[];
}

/** What the core did with a reading. The pipeline counts these per batch. */
export type RecordOutcome =
  | 'accepted'
  /** Accepted after its window was emitted; the window is re-emitted with revision + 1. */
  | 'accepted_late'
  /** Too late even for allowed lateness: dropped and counted. */
  | 'late'
  | 'duplicate'
  | 'future'
  | 'unknown_site'
  | 'unknown_meter'
  /** Physically implausible (beyond ± k × the node's rating; grid signals out of range): dropped, counted, dead-lettered. */
  | 'implausible';

export const RECORD_OUTCOMES: readonly RecordOutcome[] = [
  'accepted',
  'accepted_late',
  'late',
  'duplicate',
  'future',
  'unknown_site',
  'unknown_meter',
  'implausible',
];
