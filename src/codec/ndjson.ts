/**
 * Streaming NDJSON reader for replay files (DESIGN section 9): one reading (or a batch
 * array) a line, gzip detected by its magic bytes (not the file name). Memory stays bounded
 * by the longest line, so files larger than memory are fine.
 *
 * Data errors are values (each line yields a DecodeResult); I/O errors (missing file,
 * corrupt gzip) are thrown from the iterator.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { DecodeFailure, DecodeResult } from '../domain/index.js';
import { decodeMessage, type DecodeOptions } from './reading-codec.js';

export type NdjsonReadOptions = DecodeOptions;

export interface NdjsonLine {
  /** 1-based line number in the (decompressed) file; blank lines count but are skipped. */
  line: number;
  result: DecodeResult;
  /** A torn last line (see `isTornLine`): skipped, no readings. */
  torn?: true;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** True when the file starts with the gzip magic bytes 1f 8b. */
export async function isGzipFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1;
  } finally {
    await handle.close();
  }
}

function openText(path: string, gzip: boolean): Readable {
  const file = createReadStream(path);
  if (!gzip) return file;
  const out = new PassThrough();
  // pipeline() forwards an error of either stage to `out`, so the reader sees it.
  pipeline(file, createGunzip(), out, (err) => {
    if (err) out.destroy(err);
  });
  return out;
}

/** One line of a text stream. */
export interface TextLine {
  /** 1-based line number. */
  line: number;
  text: string;
  /** The last line of a stream that does not end in a line break: possibly torn by a crash. */
  unterminated: boolean;
}

/**
 * The lines of a text stream, one behind: each is yielded once the next has arrived (or the
 * stream ended), so the last line is known to be last, and whether it ended in a line break.
 */
export async function* textLines(input: Readable): AsyncGenerator<TextLine> {
  let endsWithBreak = true;
  input.on('data', (chunk: string | Buffer) => {
    if (chunk.length === 0) return;
    const last = typeof chunk === 'string' ? chunk.charCodeAt(chunk.length - 1) : chunk[chunk.length - 1];
    endsWithBreak = last === 0x0a || last === 0x0d;
  });
  const reader = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  let held: string | null = null;
  try {
    for await (const text of reader) {
      if (held !== null) yield { line, text: held, unterminated: false };
      held = text;
      line++;
    }
    if (held !== null) yield { line, text: held, unterminated: !endsWithBreak };
  } finally {
    reader.close();
  }
}

/**
 * A last line without its line break that is not JSON: the tail of a write cut short by a
 * crash. Readers skip it and count it (`tornLines`) instead of reporting malformed JSON.
 */
export function isTornLine(l: TextLine, failures: readonly DecodeFailure[]): boolean {
  return l.unterminated && failures.some((f) => f.reason === 'malformed_json');
}

/** Yield one decode result per non-blank line; a torn last line is yielded as `torn` without readings. */
export async function* readNdjsonReadings(path: string, opts: NdjsonReadOptions): AsyncGenerator<NdjsonLine> {
  const input = openText(path, await isGzipFile(path));
  input.setEncoding('utf8');
  let streamError: unknown;
  input.on('error', (err: unknown) => {
    streamError = err;
  });
  try {
    for await (const l of textLines(input)) {
      if (isBlank(l.text)) continue;
      const result = decodeMessage(l.text, opts);
      if (isTornLine(l, result.failures)) yield { line: l.line, result: { readings: [], failures: [] }, torn: true };
      else yield { line: l.line, result };
    }
    if (streamError !== undefined) throw streamError;
  } finally {
    input.destroy();
  }
}

/** True for an empty line or one of spaces, tabs and a trailing CR. */
export function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
