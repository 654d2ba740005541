/**
 * Line files with rotation: the one implementation behind `headroom record` and the NDJSON
 * results sink.
 *
 * - Whole lines only: callers hand over lines that end in "\n", and rotation happens
 *   between lines, so a line is never split across files.
 * - `append` keeps what a previous run wrote. A crash (SIGKILL, power loss) mid-write can
 *   leave a torn last line; before appending, the torn tail (the bytes after the last "\n")
 *   is cut, so the next line starts on a fresh line and every line of the file parses.
 *   `truncate` starts from an empty output.
 * - Rotation (by size, by age, or both) numbers the files before the first dot of the name:
 *   `out.ndjson` → `out-000001.ndjson`, `out-000002.ndjson`, ... In `append` mode a restart
 *   continues the series with the next number (the last file's torn tail cut first); in
 *   `truncate` mode the existing series is deleted and numbering starts at 000001.
 * - Size counts uncompressed bytes; age counts from a file's first line, on the injected
 *   clock, checked when lines are written.
 * - Gzip (`gzip: true`) is for fresh files only: a gzip file cannot be appended to safely.
 */
import { closeSync, createWriteStream, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';

export type LineFileMode = 'append' | 'truncate';

export interface LineFileOptions {
  /** Output path; the numbered series is derived from it when rotating. */
  path: string;
  /** `append`: keep existing lines (cut a torn tail first). `truncate`: start empty. */
  mode: LineFileMode;
  /** Gzip-compress each file (`truncate` mode only). Default false. */
  gzip?: boolean;
  /** Start a new file before the current one would grow past this many (uncompressed) bytes. */
  rotateBytes?: number;
  /** Start a new file once the current one's first line is this old. */
  rotateMs?: number;
  /** Clock for `rotateMs` (injected). */
  nowMs: () => number;
  /** Open the first file at construction. Default false: at the first line, so no input means no file. */
  eager?: boolean;
}

export interface LineFileStats {
  /** Uncompressed bytes written by this writer. */
  bytes: number;
  /** Files written to, in order. */
  files: string[];
  /** Bytes of a torn last line cut from an existing file before appending. */
  tornBytesCut: number;
}

interface OpenFile {
  path: string;
  file: WriteStream;
  gzip: Gzip | null;
  bytes: number;
  /** When the first line was written (null while empty). */
  firstLineMs: number | null;
}

const NEWLINE = 0x0a;
const TAIL_SCAN_BYTES = 64 * 1024;

export class LineFileWriter {
  readonly stats: LineFileStats = { bytes: 0, files: [], tornBytesCut: 0 };
  private current: OpenFile | null = null;
  private readonly closing: Promise<void>[] = [];
  private readonly rotating: boolean;
  /** Number of the next file in the series (rotation only); 0 until the series was scanned. */
  private nextNumber = 0;
  private error: Error | null = null;
  private closed = false;

  constructor(private readonly opts: LineFileOptions) {
    if (opts.gzip === true && opts.mode === 'append') throw new Error(`${opts.path}: gzip output cannot be appended to; use truncate mode`);
    this.rotating = opts.rotateBytes !== undefined || opts.rotateMs !== undefined;
    mkdirSync(dirname(opts.path), { recursive: true });
    if (opts.eager === true) this.current = this.openNext();
  }

  /** The first I/O error of any file, if one happened (later lines are dropped). */
  get failure(): Error | null {
    return this.error;
  }

  /** Bytes waiting in the current file's buffer. */
  get bufferedBytes(): number {
    const cur = this.current;
    return cur === null ? 0 : (cur.gzip?.writableLength ?? 0) + cur.file.writableLength;
  }

  /**
   * Writes whole lines, each ending in "\n". Returns false when the file's buffer is full
   * (wait for `drained()`). After an I/O error, lines are dropped (see `failure`).
   * `onWritten`: called once every chunk holding these lines was handed to the file (the
   * streams' write callbacks), not called when one of them failed.
   */
  writeLines(lines: readonly (string | Uint8Array)[], onWritten?: () => void): boolean {
    if (this.closed) throw new Error(`${this.opts.path}: writer is closed`);
    if (this.error !== null || lines.length === 0) return this.error === null;
    const nowMs = this.opts.rotateMs !== undefined ? this.opts.nowMs() : 0;
    let out = this.current ?? (this.current = this.openNext());
    let chunk: (string | Uint8Array)[] = [];
    let ok = true;
    // Chunks of this call not yet written (more than one only when rotating mid-call).
    let pending = 1;
    const written =
      onWritten === undefined
        ? undefined
        : (err?: Error | null): void => {
            if (err === null || err === undefined) {
              if (--pending === 0) onWritten();
            }
          };
    for (const line of lines) {
      const lineBytes = typeof line === 'string' ? Buffer.byteLength(line) : line.byteLength;
      if (this.rotating && this.isDue(out, lineBytes, nowMs)) {
        if (chunk.length > 0) pending++;
        ok = this.put(out, chunk, written) && ok;
        chunk = [];
        void this.retire();
        out = this.current = this.openNext();
      }
      chunk.push(line);
      out.bytes += lineBytes;
      out.firstLineMs ??= nowMs;
      this.stats.bytes += lineBytes;
    }
    return this.put(out, chunk, written) && ok;
  }

  /** Resolves when the current file's buffer has drained (rejects on its I/O error). */
  async drained(): Promise<void> {
    const cur = this.current;
    const sink = cur?.gzip ?? cur?.file;
    if (sink !== undefined && sink.writableNeedDrain && this.error === null) await once(sink, 'drain');
  }

  /** Ends the current file (gzip trailer included) and waits until every file is closed. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.retire();
    }
    await Promise.all(this.closing);
    if (this.error !== null) throw this.error;
  }

  private isDue(out: OpenFile, lineBytes: number, nowMs: number): boolean {
    if (out.bytes === 0) return false;
    const full = this.opts.rotateBytes !== undefined && out.bytes + lineBytes > this.opts.rotateBytes;
    const old = this.opts.rotateMs !== undefined && out.firstLineMs !== null && nowMs - out.firstLineMs >= this.opts.rotateMs;
    return full || old;
  }

  private put(out: OpenFile, chunk: (string | Uint8Array)[], written?: (err?: Error | null) => void): boolean {
    if (chunk.length === 0) return true;
    const data = chunk.every((c) => typeof c === 'string') ? chunk.join('') : Buffer.concat(chunk.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    return written === undefined ? (out.gzip ?? out.file).write(data) : (out.gzip ?? out.file).write(data, written);
  }

  private openNext(): OpenFile {
    const append = this.opts.mode === 'append';
    let path = this.opts.path;
    if (this.rotating) {
      if (this.nextNumber === 0) this.nextNumber = this.startSeries();
      path = rotatedPath(this.opts.path, this.nextNumber++);
    } else if (append) {
      this.stats.tornBytesCut += cutTornTail(path);
    }
    const file = createWriteStream(path, { flags: append ? 'a' : 'w' });
    file.on('error', (err) => {
      this.error ??= err;
    });
    let gzip: Gzip | null = null;
    if (this.opts.gzip === true) {
      gzip = createGzip();
      gzip.on('error', (err) => {
        this.error ??= err;
      });
      gzip.pipe(file);
    }
    this.stats.files.push(path);
    return { path, file, gzip, bytes: 0, firstLineMs: null };
  }

  /** Scans the existing series: append continues after its last file, truncate deletes it. */
  private startSeries(): number {
    const existing = seriesNumbers(this.opts.path);
    if (this.opts.mode === 'truncate') {
      for (const n of existing) rmSync(rotatedPath(this.opts.path, n), { force: true });
      return 1;
    }
    const last = existing.at(-1);
    if (last === undefined) return 1;
    this.stats.tornBytesCut += cutTornTail(rotatedPath(this.opts.path, last));
    return last + 1;
  }

  private async retire(): Promise<void> {
    const cur = this.current;
    this.current = null;
    if (cur === null) return;
    const done = once(cur.file, 'close').then(
      () => undefined,
      (err: unknown) => {
        this.error ??= err instanceof Error ? err : new Error(String(err));
      },
    );
    this.closing.push(done);
    if (cur.gzip !== null) cur.gzip.end();
    else cur.file.end();
    await done;
  }
}

/** `dir/name.ndjson.gz` + 3 → `dir/name-000003.ndjson.gz` (numbered before the first dot). */
export function rotatedPath(path: string, n: number): string {
  const { stem, ext } = splitName(path);
  return join(dirname(path), `${stem}-${String(n).padStart(6, '0')}${ext}`);
}

function splitName(path: string): { stem: string; ext: string } {
  const base = basename(path);
  const dot = base.indexOf('.', 1);
  return dot < 0 ? { stem: base, ext: '' } : { stem: base.slice(0, dot), ext: base.slice(dot) };
}

/** Numbers of the existing files of `path`'s rotation series, ascending. */
function seriesNumbers(path: string): number[] {
  const { stem, ext } = splitName(path);
  const numbered = new RegExp(`^${escapeRegExp(stem)}-(\\d{6,})${escapeRegExp(ext)}$`);
  const numbers: number[] = [];
  for (const name of readdirSync(dirname(path))) {
    const m = numbered.exec(name);
    if (m?.[1] !== undefined) numbers.push(Number(m[1]));
  }
  return numbers.sort((a, b) => a - b);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * If the file exists and does not end in "\n", cuts it back to just after its last "\n"
 * (to empty if it has none): the bytes of a line torn by a crash. Returns the bytes cut.
 */
export function cutTornTail(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err: unknown) {
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const sizeBytes = fstatSync(fd).size;
    const buf = Buffer.alloc(TAIL_SCAN_BYTES);
    let end = sizeBytes;
    while (end > 0) {
      const start = Math.max(0, end - TAIL_SCAN_BYTES);
      const n = readSync(fd, buf, 0, end - start, start);
      const at = buf.subarray(0, n).lastIndexOf(NEWLINE);
      if (at >= 0) {
        const keep = start + at + 1;
        if (keep < sizeBytes) ftruncateSync(fd, keep);
        return sizeBytes - keep;
      }
      end = start;
    }
    if (sizeBytes > 0) ftruncateSync(fd, 0);
    return sizeBytes;
  } finally {
    closeSync(fd);
  }
}
