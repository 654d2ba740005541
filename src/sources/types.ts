/** What every source hands the pipeline: raw messages with their stream position. */

export interface StreamPosition {
  /** Stream name (JetStream) or a file path (replay). */
  stream: string;
  /** Stream sequence (JetStream) or line number (replay). */
  sequence: number;
}

export interface SourceMessage {
  subject: string;
  payload: Uint8Array;
  /** Position in a durable stream; absent for at-most-once sources (core NATS, memory bus). */
  position?: StreamPosition;
  /** Acknowledge after the message's readings are recorded (JetStream); absent otherwise. */
  ack?: () => void;
}

export interface SourceHealth {
  connected: boolean;
  /** Messages waiting upstream (JetStream consumer pending), when known. */
  pending?: number;
  /**
   * Nothing waits for this worker upstream or inside the source (JetStream: connected, not
   * paused, consumer pending 0, nothing held). The pipeline lets idle sites advance on the
   * processing clock only then. Absent: the source has no backlog notion (core NATS, memory
   * bus) and counts as caught up while connected.
   */
  caughtUp?: boolean;
  detail?: string;
}

/**
 * A source of telemetry messages. Lifecycle: start → (pause/resume)* → stop.
 * The handler is called with batches in arrival order; a source waits for the returned
 * promise before delivering the next batch, so the pipeline can apply backpressure.
 */
export interface Source {
  readonly kind: 'memory' | 'nats' | 'jetstream' | 'replay';
  start(handler: (batch: SourceMessage[]) => Promise<void> | void): Promise<void>;
  /**
   * Stop handing over (sink buffers full); messages stay upstream or are held, unacked, and
   * handed over on resume (JetStream), or are dropped and counted (core NATS).
   */
  pause(): void;
  resume(): void;
  /** Stop pulling and resolve once in-flight batches were handed over. */
  stop(): Promise<void>;
  health(): SourceHealth;
}

/** Header of a dead letter naming why it was rejected (e.g. `schema`, `unknown_meter`). */
export const DEAD_LETTER_REASON_HEADER = 'Headroom-Reason';
/** Header of a dead letter with a short, log-safe description. */
export const DEAD_LETTER_DETAIL_HEADER = 'Headroom-Detail';

/** Publishes rejected messages to the dead-letter subject, with the reason. */
export interface DeadLetterPublisher {
  /**
   * Never throws. `site` may be '' when unknown; `detail` is a short, log-safe description
   * (e.g. `IngestReport.rejectDetail`).
   */
  publish(site: string, reason: string, payload: Uint8Array, detail?: string): void;
}
