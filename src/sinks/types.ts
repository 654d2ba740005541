import type { OutputRecord } from '../domain/index.js';
import type { SinkStats } from '../telemetry/index.js';
import type { DeliveryObserver } from './delivery.js';

export type { SinkStats } from '../telemetry/index.js';

export interface SinkHealth {
  /** Records or points waiting in the sink's own bounded buffer. */
  buffered: number;
  /** Buffer bound; the pipeline pauses its sources when a sink is full. */
  capacity: number;
  /**
   * True while the sink fails permanently: it cannot write until an operator changes
   * something (rejected credentials, a TLS certificate it does not trust, a server without
   * its write API). `/readyz` answers 503 with `detail`.
   */
  failed: boolean;
  /**
   * False while the sink cannot yet tell whether it can write (its server not reached since
   * start); it holds what is written and keeps trying. `/readyz` answers 503. Absent = ready.
   */
  ready?: boolean;
  /** One line: the reason when failed or not ready, else the state of retries. */
  detail?: string;
}

export interface SinkCloseOptions {
  /**
   * Deadline of this close, from the pipeline's stop budget: by then the sink has delivered
   * what it could and dropped the rest, counted as `shutdown` and logged with the number.
   * Absent: the sink's own default.
   */
  timeoutMs?: number;
}

/**
 * A destination for window results and alert transitions. `write` never blocks and never
 * throws for I/O: a sink buffers (bounded), retries on its own, and reports its buffer in
 * `health()` so the pipeline can apply backpressure. Each sink has its own buffer, so an
 * outage of one never stalls another.
 */
export interface Sink {
  readonly name: string;
  /**
   * `emittedAtMonoMs`: the monotonic time (`performance.now()`) at which the pipeline emitted
   * the batch; a sink that has it and an `onDelivered` observer reports the batch's delivery
   * delay. Absent (replay, tests): nothing is observed.
   */
  write(records: readonly OutputRecord[], emittedAtMonoMs?: number): void;
  /**
   * Set by the owner of the metrics (the pipeline): called with `now − emittedAtMonoMs` in
   * seconds once per written batch when it is delivered (see DeliveryObserver in delivery.ts
   * for what "delivered" means per sink). Must not throw; absent = nothing observed.
   */
  onDelivered?: DeliveryObserver | undefined;
  /**
   * Optional start-up check, awaited by `Pipeline.start()` before the source starts. Rejects
   * only when the sink can never work as configured (an Error with a one-line message: the
   * problem and the fix); a server that is merely unreachable makes the sink not ready instead.
   */
  start?(): Promise<void>;
  /** Resolves when everything written so far was delivered (or dropped and counted). */
  flush(): Promise<void>;
  /**
   * Delivers what is buffered and releases the sink's resources, resolving within
   * `opts.timeoutMs`: what cannot be delivered by then is dropped, counted as `shutdown`
   * (droppedByReason) and logged with the number. Never rejects for I/O.
   */
  close(opts?: SinkCloseOptions): Promise<void>;
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
