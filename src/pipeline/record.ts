/**
 * `headroom record` (DESIGN section 9): NATS messages → NDJSON files for replay later.
 *
 * One message a line, the raw payload as received (a gateway batch stays one JSON array).
 * A payload with a line break cannot be one NDJSON line: if it is JSON it is rewritten
 * compactly (counted as `rewritten`), otherwise it is skipped and counted, as are empty
 * payloads. Files are gzip-compressed when the path ends in `.gz`, and rotate by size
 * (uncompressed bytes) or by age: `out.ndjson.gz` becomes `out-000001.ndjson.gz`,
 * `out-000002.ndjson.gz`, ... Stopping (the CLI's SIGINT) drains the subscriptions, so
 * messages already received are written, then ends and closes the file: no tail is lost.
 */
import { DeliverPolicy, type ConsumerMessages, type NatsConnection, type Subscription } from 'nats';
import { LineFileWriter, rotatedPath } from '../sinks/index.js';

export { rotatedPath };

export interface RecorderOptions {
  /** Output path; `.gz` at the end turns gzip on. */
  path: string;
  /** Start a new file before the current one would grow past this many (uncompressed) bytes. */
  rotateBytes?: number;
  /** Start a new file once the current one's first line is this old (checked when a message arrives). */
  rotateMs?: number;
  /** Processing clock (injected; the pipeline owns time). */
  nowMs: () => number;
}

export interface RecorderStats {
  messages: number;
  bytes: number;
  /** JSON payloads with line breaks, rewritten compactly. */
  rewritten: number;
  /** Payloads that could not be one NDJSON line (empty, or non-JSON with a line break). */
  skipped: number;
  files: string[];
}

const utf8 = new TextDecoder('utf-8');
const NEWLINE = new Uint8Array([0x0a]);

/**
 * Writes raw payloads as NDJSON lines, with optional gzip and rotation (the shared
 * LineFileWriter, in truncate mode: a recording starts from an empty output).
 */
export class NdjsonRecorder {
  readonly stats: RecorderStats = { messages: 0, bytes: 0, rewritten: 0, skipped: 0, files: [] };
  private readonly out: LineFileWriter;
  private closed = false;

  constructor(opts: RecorderOptions) {
    this.out = new LineFileWriter({
      path: opts.path,
      mode: 'truncate',
      gzip: opts.path.endsWith('.gz'),
      nowMs: opts.nowMs,
      ...(opts.rotateBytes !== undefined ? { rotateBytes: opts.rotateBytes } : {}),
      ...(opts.rotateMs !== undefined ? { rotateMs: opts.rotateMs } : {}),
    });
    this.stats.files = this.out.stats.files;
  }

  /** Append one message. Returns false when the file stream wants the caller to wait (`drained()`). */
  write(payload: Uint8Array): boolean {
    if (this.closed) throw new Error('recorder is closed');
    const failure = this.out.failure;
    if (failure !== null) throw failure;
    const line = this.lineOf(payload);
    if (line === null) {
      this.stats.skipped++;
      return true;
    }
    this.stats.messages++;
    this.stats.bytes += line.byteLength + 1;
    // One copy: the client may reuse its read buffer once the callback returns.
    return this.out.writeLines([Buffer.concat([line, NEWLINE])]);
  }

  /** Resolves when the current file's buffer has drained. */
  async drained(): Promise<void> {
    await this.out.drained();
  }

  /** Ends the current file (gzip trailer included) and waits until it is on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.out.close();
  }

  private lineOf(payload: Uint8Array): Uint8Array | null {
    if (payload.byteLength === 0) return null;
    if (payload.indexOf(0x0a) < 0 && payload.indexOf(0x0d) < 0) return payload;
    try {
      const value: unknown = JSON.parse(utf8.decode(payload));
      this.stats.rewritten++;
      return new TextEncoder().encode(JSON.stringify(value));
    } catch (err: unknown) {
      if (err instanceof SyntaxError) return null;
      throw err;
    }
  }
}

/** Where to read from. */
export type RecordFrom =
  /** Core NATS subscriptions (at most once, from now on). */
  | { kind: 'core'; subjects: string[] }
  /**
   * A JetStream stream through an ordered consumer, from a sequence, a time, the start or
   * only new messages. `stopAtEnd`: finish once caught up with the stream's last message.
   */
  | { kind: 'jetstream'; stream: string; subjects?: string[]; startSeq?: number; startTimeMs?: number; newOnly?: boolean; stopAtEnd?: boolean };

export interface RecordSummary {
  type: 'record-summary';
  messages: number;
  bytes: number;
  rewritten: number;
  skipped: number;
  files: string[];
  /** Set when the stop came before any message could be received (JetStream: the consumer was not ready yet). */
  stoppedWhile?: 'waiting-for-consumer';
}

/** What `unlessStopped` resolves with when the signal fired first. */
export const STOPPED: unique symbol = Symbol('stopped');

/**
 * The promise's value, or STOPPED as soon as `signal` aborts. The abandoned promise may still
 * settle later (nats.js retries consumer creation on its own): a value goes to `discard`, an
 * error is dropped on purpose, since the recorder is stopping and has nothing left to do with it.
 */
export async function unlessStopped<T>(work: Promise<T>, signal: AbortSignal, discard?: (value: T) => void): Promise<T | typeof STOPPED> {
  if (signal.aborted) {
    work.then(discard, dropAfterStop);
    return STOPPED;
  }
  return new Promise<T | typeof STOPPED>((resolve, reject) => {
    let stopped = false;
    const onAbort = (): void => {
      stopped = true;
      resolve(STOPPED);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (stopped) discard?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!stopped) reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function dropAfterStop(err: unknown): void {
  // Stopping: the outcome of work that was abandoned no longer matters.
  void err;
}

/**
 * Records until `signal` aborts (or, for JetStream with `stopAtEnd`, until caught up), then
 * drains and closes the file. Resolves with what was written. Every wait (subscribing,
 * creating the consumer, idle, writing) ends promptly when `signal` aborts.
 */
export async function recordNats(nc: NatsConnection, from: RecordFrom, recorder: NdjsonRecorder, signal: AbortSignal): Promise<RecordSummary> {
  let consumed = true;
  try {
    if (from.kind === 'core') await recordCore(nc, from.subjects, recorder, signal);
    else consumed = await recordJetStream(nc, from, recorder, signal);
  } finally {
    await recorder.close();
  }
  const s = recorder.stats;
  return {
    type: 'record-summary',
    messages: s.messages,
    bytes: s.bytes,
    rewritten: s.rewritten,
    skipped: s.skipped,
    files: [...s.files],
    ...(consumed ? {} : { stoppedWhile: 'waiting-for-consumer' as const }),
  };
}

async function recordCore(nc: NatsConnection, subjects: string[], recorder: NdjsonRecorder, signal: AbortSignal): Promise<void> {
  let failure: unknown = null;
  const subs: Subscription[] = subjects.map((subject) =>
    nc.subscribe(subject, {
      // Callbacks run in arrival order across subscriptions: one file order for all.
      callback: (err, msg) => {
        if (err !== null) failure ??= err;
        else {
          try {
            recorder.write(msg.data);
          } catch (e: unknown) {
            failure ??= e;
          }
        }
      },
    }),
  );
  // The server has the subscriptions before we report "recording" (unless stopped first).
  if ((await unlessStopped(nc.flush(), signal)) !== STOPPED) {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  // Drain: messages the client already holds go through the callbacks first.
  await Promise.all(subs.map((s) => s.drain()));
  if (failure !== null) throw failure instanceof Error ? failure : new Error(String(failure));
}

/** The ordered consumer's start: a sequence, a time, only new messages, or the whole stream. */
function deliverOptions(from: Extract<RecordFrom, { kind: 'jetstream' }>): { deliver_policy?: DeliverPolicy; opt_start_seq?: number; opt_start_time?: string } {
  if (from.startSeq !== undefined) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.startSeq };
  if (from.startTimeMs !== undefined) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.startTimeMs).toISOString() };
  if (from.newOnly === true) return { deliver_policy: DeliverPolicy.New };
  // The whole stream: no policy, so the ordered consumer starts at sequence 1. Asking for
  // DeliverPolicy.All makes nats.js 2.29 send it together with opt_start_seq 1, which the
  // server rejects, and the client then retries for ever: `record --stream X` hung.
  return {};
}

/** Returns false when stopped before the consumer was ready. */
async function recordJetStream(nc: NatsConnection, from: Extract<RecordFrom, { kind: 'jetstream' }>, recorder: NdjsonRecorder, signal: AbortSignal): Promise<boolean> {
  const js = nc.jetstream();
  const consumer = await unlessStopped(js.consumers.get(from.stream, { ...deliverOptions(from), ...(from.subjects !== undefined ? { filterSubjects: from.subjects } : {}) }), signal);
  if (consumer === STOPPED) return false;
  if (from.stopAtEnd === true) {
    const info = await unlessStopped(consumer.info(true), signal);
    if (info === STOPPED) return false;
    if (info.num_pending === 0) return true;
  }
  const messages = await unlessStopped(consumer.consume(), signal, (late) => void closeMessages(late));
  if (messages === STOPPED) return false;
  const stop = (): void => {
    void closeMessages(messages);
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    if (!signal.aborted) {
      for await (const m of messages) {
        if (!recorder.write(m.data)) await unlessStopped(recorder.drained(), signal);
        if (from.stopAtEnd === true && m.info.pending === 0) break;
        if (signal.aborted) break;
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
    await closeMessages(messages);
  }
  return true;
}

/** Stops the pull; never rejects (it runs from signal handlers and after a stop). */
async function closeMessages(messages: ConsumerMessages): Promise<void> {
  await messages.close().then(undefined, dropAfterStop);
}
