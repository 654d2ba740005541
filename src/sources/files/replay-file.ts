/**
 * Replay files (docs/design.md section 9): one entry point for every file format `headroom replay`
 * reads (the formats and their parsing are in `codec/replay-source.ts`). Gzip is detected
 * by its magic bytes. Everything streams: memory is bounded by the longest line, and
 * `bytesRead()` tells how far into the (compressed) file the reader is, for progress.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { decodeNdjsonLine, readDelimitedLines, replayLineFormat, type DecodeOptions, type ReplayLine, type ReplaySourceOptions } from '../../codec/index.js';
import { decompressed, isGzipFile, textLines } from './text-file.js';

export interface ReplaySource {
  readonly path: string;
  /** Size of the file on disk (compressed size for .gz). */
  readonly sizeBytes: number;
  /** Bytes of the file read so far (compressed bytes for .gz). */
  bytesRead(): number;
  /** One entry per line or row, in file order. I/O errors are thrown from the iterator. */
  lines(): AsyncGenerator<ReplayLine>;
}

/**
 * Open a replay file. Mapping problems (no site, a preset without its start time, a bad
 * zone) throw CsvMappingError here, before any reading; a named column missing from the
 * header throws it from the first `next()`.
 */
export async function openReplaySource(path: string, opts: ReplaySourceOptions): Promise<ReplaySource> {
  const sizeBytes = (await stat(path)).size;
  const gzip = sizeBytes >= 2 && (await isGzipFile(path));
  const format = replayLineFormat(opts);
  let file: ReadStream | null = null;
  return {
    path,
    sizeBytes,
    bytesRead: () => (file === null ? 0 : file.bytesRead),
    lines: () => {
      file = createReadStream(path);
      const text = decompressed(file, gzip);
      return format.kind === 'ndjson' ? ndjsonLines(text, format.decode) : readDelimitedLines(text, format.options);
    },
  };
}

/** NDJSON lines, decoded as NATS messages are (blank lines count but are skipped; a torn last line is marked `torn`). */
async function* ndjsonLines(input: Readable, decode: DecodeOptions): AsyncGenerator<ReplayLine> {
  input.setEncoding('utf8');
  let streamError: unknown;
  input.on('error', (err: unknown) => {
    streamError = err;
  });
  try {
    for await (const l of textLines(input)) {
      const entry = decodeNdjsonLine(l, decode);
      if (entry !== null) yield entry;
    }
    if (streamError !== undefined) throw streamError;
  } finally {
    input.destroy();
  }
}
