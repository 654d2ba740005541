/** What the InfluxDB sink reports: drop reasons, the last error, and its counters. */
export type InfluxDropReason =
  /** 400: the server rejected the line (bad point). */
  | 'bad_point'
  /** 422: the server cannot store it (InfluxDB: outside the bucket's retention). */
  | 'unprocessable'
  /** 413 for a single line. */
  | 'too_large'
  /** The record maps to a point without fields (every value null or non-finite). */
  | 'unmappable'
  /** Written while the buffer held twice its capacity. */
  | 'buffer_full'
  /** Still undelivered when close() gave up, or written after close(). */
  | 'shutdown';

export const INFLUX_DROP_REASONS: readonly InfluxDropReason[] = ['bad_point', 'unprocessable', 'too_large', 'unmappable', 'buffer_full', 'shutdown'];

export interface InfluxSinkError {
  message: string;
  /** HTTP status, when the server answered. */
  status?: number;
  atMs: number;
}

/** Counters for the metrics layer (monotonic except buffered, inFlight, consecutiveFailures, last*). */
export interface InfluxSinkStats {
  pointsWritten: number;
  batchesWritten: number;
  /** Failed write requests that were (or will be) retried. */
  retries: number;
  droppedByReason: Record<InfluxDropReason, number>;
  buffered: number;
  capacity: number;
  /** Lines in the request now on the wire (part of buffered). */
  inFlight: number;
  consecutiveFailures: number;
  lastError: InfluxSinkError | null;
  /** Duration of the last successful write request. */
  lastWriteLatencyMs: number | null;
  /** Sum and count of successful write request durations (a mean, or a rate in Prometheus). */
  writeLatencyMsSum: number;
  writeLatencyCount: number;
  // The SinkStats names (src/telemetry/sink-stats.ts) for the metrics layer:
  /** = pointsWritten */
  written: number;
  /** = batchesWritten */
  writes: number;
  /** Failed write requests (each retried, or bisected when the server rejected points). */
  failed: number;
  /** Failed write requests by reason: timeout, unreachable, http_<status>. */
  failedByReason: Record<string, number>;
  /** = lastWriteLatencyMs / 1000 */
  lastWriteSeconds: number | null;
}

/** Counters at start-up, for a buffer of `capacity` points. */
export function emptyInfluxSinkStats(capacity: number): InfluxSinkStats {
  return {
    pointsWritten: 0,
    batchesWritten: 0,
    retries: 0,
    droppedByReason: { bad_point: 0, unprocessable: 0, too_large: 0, unmappable: 0, buffer_full: 0, shutdown: 0 },
    buffered: 0,
    capacity,
    inFlight: 0,
    consecutiveFailures: 0,
    lastError: null,
    lastWriteLatencyMs: null,
    writeLatencyMsSum: 0,
    writeLatencyCount: 0,
    written: 0,
    writes: 0,
    failed: 0,
    failedByReason: {},
    lastWriteSeconds: null,
  };
}

/** A copy of the counters, with the queue's fill level and the SinkStats names filled in. */
export function influxStatsSnapshot(s: InfluxSinkStats, buffered: number, inFlight: number): InfluxSinkStats {
  return {
    ...s,
    droppedByReason: { ...s.droppedByReason },
    failedByReason: { ...s.failedByReason },
    buffered,
    inFlight,
    written: s.pointsWritten,
    writes: s.batchesWritten,
    lastWriteSeconds: s.lastWriteLatencyMs === null ? null : s.lastWriteLatencyMs / 1000,
  };
}
