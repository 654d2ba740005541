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
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import { DeliverPolicy, type NatsConnection, type Subscription } from 'nats';

export interface RecorderOptions {
  /** Output path; `.gz` at the end turns gzip on. */
  path: string;
  /** Start a new file once this many (uncompressed) bytes were written to the current one. */
  rotateBytes?: number;
  /** Start a new file once the current one is this old (checked when a message arrives). */
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

interface OpenFile {
  path: string;
  file: WriteStream;
  gzip: Gzip | null;
  bytes: number;
  openedMs: number;
}

const utf8 = new TextDecoder('utf-8');
const NEWLINE = new Uint8Array([0x0a]);

/** Writes raw payloads as NDJSON lines, with optional gzip and rotation. */
export class NdjsonRecorder {
  readonly stats: RecorderStats = { messages: 0, bytes: 0, rewritten: 0, skipped: 0, files: [] };
  private current: OpenFile | null = null;
  private readonly gzip: boolean;
  private readonly rotating: boolean;
  private error: Error | null = null;
  private closed = false;

  constructor(private readonly opts: RecorderOptions) {
    this.gzip = opts.path.endsWith('.gz');
    this.rotating = opts.rotateBytes !== undefined || opts.rotateMs !== undefined;
    mkdirSync(dirname(opts.path), { recursive: true });
  }

  /** Append one message. Returns false when the file stream wants the caller to wait (`drained()`). */
  write(payload: Uint8Array): boolean {
    if (this.closed) throw new Error('recorder is closed');
    if (this.error !== null) throw this.error;
    const line = this.lineOf(payload);
    if (line === null) {
      this.stats.skipped++;
      return true;
    }
    const out = this.fileFor(line.byteLength + 1);
    out.bytes += line.byteLength + 1;
    this.stats.messages++;
    this.stats.bytes += line.byteLength + 1;
    const sink = out.gzip ?? out.file;
    // One copy: the client may reuse its read buffer once the callback returns.
    return sink.write(Buffer.concat([line, NEWLINE]));
  }

  /** Resolves when the current file's buffer has drained. */
  async drained(): Promise<void> {
    const sink = this.current?.gzip ?? this.current?.file;
    if (sink !== undefined && sink.writableNeedDrain) await once(sink, 'drain');
  }

  /** Ends the current file (gzip trailer included) and waits until it is on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeCurrent();
    if (this.error !== null) throw this.error;
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

  private fileFor(nextBytes: number): OpenFile {
    const cur = this.current;
    if (cur !== null) {
      const full = this.opts.rotateBytes !== undefined && cur.bytes > 0 && cur.bytes + nextBytes > this.opts.rotateBytes;
      const old = this.opts.rotateMs !== undefined && this.opts.nowMs() - cur.openedMs >= this.opts.rotateMs;
      if (!full && !old) return cur;
      void this.closeCurrent();
    }
    const path = this.rotating ? rotatedPath(this.opts.path, this.stats.files.length + 1) : this.opts.path;
    const file = createWriteStream(path, { flags: 'w' });
    file.on('error', (err) => {
      this.error = err;
    });
    let gzip: Gzip | null = null;
    if (this.gzip) {
      gzip = createGzip();
      gzip.on('error', (err) => {
        this.error = err;
      });
      gzip.pipe(file);
    }
    this.current = { path, file, gzip, bytes: 0, openedMs: this.opts.nowMs() };
    this.stats.files.push(path);
    return this.current;
  }

  private closing: Promise<void>[] = [];

  private async closeCurrent(): Promise<void> {
    const cur = this.current;
    this.current = null;
    if (cur !== null) {
      const done = once(cur.file, 'close').then(() => undefined);
      if (cur.gzip !== null) cur.gzip.end();
      else cur.file.end();
      this.closing.push(done);
    }
    await Promise.all(this.closing);
  }
}

/** `dir/name.ndjson.gz` + 3 → `dir/name-000003.ndjson.gz` (numbered before the first dot). */
export function rotatedPath(path: string, n: number): string {
  const base = basename(path);
  const dot = base.indexOf('.', 1);
  const stem = dot < 0 ? base : base.slice(0, dot);
  const ext = dot < 0 ? '' : base.slice(dot);
  return join(dirname(path), `${stem}-${String(n).padStart(6, '0')}${ext}`);
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
}

/**
 * Records until `signal` aborts (or, for JetStream with `stopAtEnd`, until caught up), then
 * drains and closes the file. Resolves with what was written.
 */
export async function recordNats(nc: NatsConnection, from: RecordFrom, recorder: NdjsonRecorder, signal: AbortSignal): Promise<RecordSummary> {
  try {
    if (from.kind === 'core') await recordCore(nc, from.subjects, recorder, signal);
    else await recordJetStream(nc, from, recorder, signal);
  } finally {
    await recorder.close();
  }
  const s = recorder.stats;
  return { type: 'record-summary', messages: s.messages, bytes: s.bytes, rewritten: s.rewritten, skipped: s.skipped, files: [...s.files] };
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
  await nc.flush(); // the server has the subscriptions before we report "recording"
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // Drain: messages the client already holds go through the callbacks first.
  await Promise.all(subs.map((s) => s.drain()));
  if (failure !== null) throw failure instanceof Error ? failure : new Error(String(failure));
}

async function recordJetStream(nc: NatsConnection, from: Extract<RecordFrom, { kind: 'jetstream' }>, recorder: NdjsonRecorder, signal: AbortSignal): Promise<void> {
  const js = nc.jetstream();
  const deliver =
    from.startSeq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.startSeq }
      : from.startTimeMs !== undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.startTimeMs).toISOString() }
        : from.newOnly === true
          ? { deliver_policy: DeliverPolicy.New }
          : { deliver_policy: DeliverPolicy.All };
  const consumer = await js.consumers.get(from.stream, { ...deliver, ...(from.subjects !== undefined ? { filterSubjects: from.subjects } : {}) });
  if (from.stopAtEnd === true) {
    const info = await consumer.info(true);
    if (info.num_pending === 0) return;
  }
  const messages = await consumer.consume();
  const stop = (): void => {
    void messages.close();
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of messages) {
      if (!recorder.write(m.data)) await recorder.drained();
      if (from.stopAtEnd === true && m.info.pending === 0) break;
      if (signal.aborted) break;
    }
  } finally {
    signal.removeEventListener('abort', stop);
    await messages.close();
  }
}
