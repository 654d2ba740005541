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
import type { DecodeResult } from '../domain/index.js';
import { decodeMessage, type DecodeOptions } from './reading-codec.js';

export type NdjsonReadOptions = DecodeOptions;

export interface NdjsonLine {
  /** 1-based line number in the (decompressed) file; blank lines count but are skipped. */
  line: number;
  result: DecodeResult;
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

/** Yield one decode result per non-blank line. */
export async function* readNdjsonReadings(path: string, opts: NdjsonReadOptions): AsyncGenerator<NdjsonLine> {
  const input = openText(path, await isGzipFile(path));
  input.setEncoding('utf8');
  let streamError: unknown;
  input.on('error', (err: unknown) => {
    streamError = err;
  });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (isBlank(text)) continue;
      yield { line, result: decodeMessage(text, opts) };
    }
    if (streamError !== undefined) throw streamError;
  } finally {
    lines.close();
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
