import type { OutputRecord } from '../domain/index.js';
import type { SinkStats } from '../telemetry/index.js';

export type { SinkStats } from '../telemetry/index.js';

export interface SinkHealth {
  /** Records or points waiting in the sink's own bounded buffer. */
  buffered: number;
  /** Buffer bound; the pipeline pauses its sources when a sink is full. */
  capacity: number;
  /** True when the sink failed permanently (bad config, rejected credentials). */
  failed: boolean;
  detail?: string;
}

/**
 * A destination for window results and alert transitions. `write` never blocks and never
 * throws for I/O: a sink buffers (bounded), retries on its own, and reports its buffer in
 * `health()` so the pipeline can apply backpressure. Each sink has its own buffer, so an
 * outage of one never stalls another.
 */
export interface Sink {
  readonly name: string;
  write(records: readonly OutputRecord[]): void;
  /** Resolves when everything written so far was delivered (or dropped and counted). */
  flush(): Promise<void>;
  close(): Promise<void>;
  health(): SinkHealth;
  /**
   * Optional delivery counters for the metrics layer, read once per pipeline tick:
   * `{ written?, failed?, failedByReason?, retries?, droppedByReason?, writes?, lastWriteSeconds? }`,
   * cumulative since start (see SinkStats in src/telemetry/sink-stats.ts). A sink's own
   * stats type may carry more fields; the ones named here are exported as
   * headroom_sink_written_records_total, headroom_sink_failures_total{reason},
   * headroom_sink_retries_total, headroom_sink_dropped_records_total{reason} and
   * headroom_sink_write_seconds.
   */
  stats?(): SinkStats;
}
