/**
 * Text files for replay: opened as streams, gunzipped when they start with the gzip magic
 * bytes (not by name), and split into lines with bounded memory (the longest line).
 * I/O errors (missing file, corrupt gzip) reach the reader of the stream.
 */
import type { ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { TextLine } from '../../codec/index.js';

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

/** The file's bytes, gunzipped when `gzip`; errors of either stage reach the returned stream. */
export function decompressed(file: ReadStream, gzip: boolean): Readable {
  if (!gzip) return file;
  const out = new PassThrough();
  // pipeline() forwards an error of either stage to `out`, so the reader sees it.
  pipeline(file, createGunzip(), out, (err) => {
    if (err) out.destroy(err);
  });
  return out;
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
