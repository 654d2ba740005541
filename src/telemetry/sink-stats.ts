/**
 * What a sink may report about its deliveries, for the metrics layer (`Sink.stats?()`).
 * Every field is optional and cumulative since start unless noted, so a sink reports what
 * it knows; sink-specific stats types (InfluxSinkStats, NatsResultsSinkStats) extend or
 * structurally satisfy this shape. Read once per pipeline tick, never per record.
 */
export interface SinkStats {
  /** Records (points, messages) delivered. */
  written?: number;
  /** Failed write attempts (each later retried or dropped). */
  failed?: number;
  /** Failed write attempts by reason (`timeout`, `http_5xx`, `unreachable`, …); sums to `failed`. */
  failedByReason?: Readonly<Record<string, number>>;
  /** Write attempts that were retries. */
  retries?: number;
  /** Records the sink gave up on, by reason (`buffer_full`, `rejected`, `shutdown`, …). */
  droppedByReason?: Readonly<Record<string, number>>;
  /** Successful write requests (tells the metrics layer whether `lastWriteSeconds` is new). */
  writes?: number;
  /** Duration of the last successful write request, seconds (a level, not cumulative). */
  lastWriteSeconds?: number | null;
}
