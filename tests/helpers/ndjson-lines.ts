/** NDJSON lines as the replay reader yields them, shaped as one decode result a line (for the NDJSON reader tests). */
import type { DecodeOptions } from '../../src/codec/index.js';
import type { DecodeResult } from '../../src/domain/index.js';
import { openReplaySource } from '../../src/sources/index.js';

export interface NdjsonLine {
  /** 1-based line number in the (decompressed) file; blank lines count but are skipped. */
  line: number;
  result: DecodeResult;
  /** A torn last line: skipped, no readings. */
  torn?: true;
}

/** The lines of an NDJSON file (plain or gzip), read by the replay reader with `opts`. */
export async function* ndjsonLines(path: string, opts: DecodeOptions): AsyncGenerator<NdjsonLine> {
  const source = await openReplaySource(path, { format: 'ndjson', maxMessageBytes: opts.maxMessageBytes, ...(opts.subjectSite !== undefined ? { site: opts.subjectSite } : {}) });
  for await (const l of source.lines()) {
    yield l.torn === true ? { line: l.line, result: { readings: l.readings, failures: l.failures }, torn: true } : { line: l.line, result: { readings: l.readings, failures: l.failures } };
  }
}
