/**
 * The NDJSON recorder of `headroom record` (docs/design.md section 9): one message a line, the raw
 * payload as received (a gateway batch stays one JSON array).
 *
 * A payload with a line break cannot be one NDJSON line: if it is JSON it is rewritten
 * compactly (counted as `rewritten`), otherwise it is skipped and counted, as are empty
 * payloads. Files are gzip-compressed when the path ends in `.gz`, and rotate by size
 * (uncompressed bytes) or by age: `out.ndjson.gz` becomes `out-000001.ndjson.gz`,
 * `out-000002.ndjson.gz`, ... `close()` ends and closes the file: no tail is lost.
 */
import { LineFileWriter } from './line-file-writer.js';

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
