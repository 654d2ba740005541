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

/** Publishes rejected messages to the dead-letter subject, with the reason. */
export interface DeadLetterPublisher {
  /**
   * Never throws. `site` may be '' when unknown; `detail` is a short, log-safe description
   * (e.g. `IngestReport.rejectDetail`).
   */
  publish(site: string, reason: string, payload: Uint8Array, detail?: string): void;
}

/**
 * `<prefix>.<site>.<source>` → its parts, or null when the subject has another shape. The
 * prefix may hold `*` tokens matching any one token (partitioned subjects: `tp.*`).
 */
export function parseTelemetrySubject(subject: string, prefix: string): { site: string; source: string } | null {
  let rest: string;
  if (!prefix.includes('*')) {
    if (!subject.startsWith(prefix + '.')) return null;
    rest = subject.slice(prefix.length + 1);
  } else {
    const want = prefix.split('.');
    let at = 0;
    for (const token of want) {
      const dot = subject.indexOf('.', at);
      if (dot < 0) return null;
      const got = subject.slice(at, dot);
      if (got === '' || (token !== '*' && token !== got)) return null;
      at = dot + 1;
    }
    rest = subject.slice(at);
  }
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) return null;
  return { site: rest.slice(0, dot), source: rest.slice(dot + 1) };
}

/** The subject prefix a pipeline parses sites from: partitioned subjects carry `<p>` first. */
export function telemetrySubjectPattern(source: { subjectPrefix: string; partitions?: { subjectPrefix: string } | undefined }): string {
  return source.partitions === undefined ? source.subjectPrefix : `${source.partitions.subjectPrefix}.*`;
}
