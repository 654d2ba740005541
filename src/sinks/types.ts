import type { OutputRecord } from '../domain/index.js';

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
}
