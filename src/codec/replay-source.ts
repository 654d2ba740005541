/**
 * Replay inputs (DESIGN section 9): one entry point for every file format `headroom replay`
 * reads. NDJSON (the wire format, one reading or batch a line), CSV with a column mapping,
 * and the presets for public telemetry formats. Gzip is detected by its magic bytes.
 * Everything streams: memory is bounded by the longest line, and `bytesRead()` tells how
 * far into the (compressed) file the reader is, for progress.
 *
 * This file is the public face of the replay readers (the pipeline imports only it).
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CsvMappingError, type CsvMapping } from './csv-mapping.js';
import { csvRowReader, readDelimitedLines, type DelimitedOptions } from './csv-reader.js';
import { isBlank, isGzipFile, isTornLine, textLines } from './ndjson.js';
import { isPreset, presetReader, PRESETS, type PresetName } from './presets.js';
import { decodeMessage } from './reading-codec.js';
import type { ReplayLine } from './replay-source-types.js';

export { CsvMappingError, parseCsvMapping, parseStartMs, QUANTITIES, UNIT_FACTORS, DEFAULT_MISSING_SENTINELS } from './csv-mapping.js';
export type { CsvMapping, CsvTimeSpec, CsvFieldSpec, ColumnRef, Quantity } from './csv-mapping.js';
export { PRESETS, GPU_TRACE_GPUS, presetMapping, type PresetName } from './presets.js';
export { UNREADABLE_REASONS } from './replay-source-types.js';
export type { ReplayLine, UnreadableReason, UnreadableRow } from './replay-source-types.js';
export { ReorderBuffer, type ReorderEvent, type ReorderOptions } from './replay-source-reorder.js';

export const REPLAY_FORMATS = ['ndjson', 'csv', ...PRESETS] as const;
export type ReplayFormat = 'ndjson' | 'csv' | PresetName;

export function isReplayFormat(name: string): name is ReplayFormat {
  return (REPLAY_FORMATS as readonly string[]).includes(name);
}

export interface ReplaySourceOptions {
  format: ReplayFormat;
  /** NDJSON: longest line accepted. */
  maxMessageBytes: number;
  /**
   * Site of the readings. CSV and presets: required (or the mapping's `site`). NDJSON:
   * the site of readings that omit it (as a NATS subject gives it); present ones must match.
   */
  site?: string;
  /** Meter id or prefix for single-meter presets. */
  meter?: string;
  /** Start of relative times (gpu-trace, mappings with relative-s). */
  startMs?: number;
  /** Zone of zone-less time patterns (IANA or ±hh:mm); overrides the mapping's and preset's. */
  zone?: string;
  /** Column mapping for `csv`. */
  mapping?: CsvMapping;
}

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
  const delimited = opts.format === 'ndjson' ? null : delimitedOptions(opts);
  let file: ReadStream | null = null;
  return {
    path,
    sizeBytes,
    bytesRead: () => (file === null ? 0 : file.bytesRead),
    lines: () => {
      file = createReadStream(path);
      const text = decompressed(file, gzip);
      return delimited === null ? ndjsonLines(text, opts) : readDelimitedLines(text, delimited);
    },
  };
}

function delimitedOptions(opts: ReplaySourceOptions): DelimitedOptions {
  if (opts.format === 'csv') {
    if (opts.mapping === undefined) throw new CsvMappingError('--format csv needs a column mapping (--mapping FILE)');
    const mapping = withOverrides(opts.mapping, opts);
    const site = opts.site ?? mapping.site;
    if (site === undefined) throw new CsvMappingError('CSV readings need a site: give --site or `site:` in the mapping');
    return { delimiter: mapping.delimiter, header: mapping.header, makeRowReader: (header) => csvRowReader(mapping, site, header) };
  }
  if (!isPreset(opts.format)) throw new CsvMappingError(`unknown format '${String(opts.format)}'`);
  if (opts.site === undefined) throw new CsvMappingError(`--format ${opts.format} needs --site`);
  return presetReader(opts.format, {
    site: opts.site,
    ...(opts.meter !== undefined ? { meter: opts.meter } : {}),
    ...(opts.startMs !== undefined ? { startMs: opts.startMs } : {}),
    ...(opts.zone !== undefined ? { zone: opts.zone } : {}),
  });
}

function withOverrides(mapping: CsvMapping, opts: ReplaySourceOptions): CsvMapping {
  const t = mapping.time;
  if (t.kind === 'pattern' && opts.zone !== undefined) return { ...mapping, time: { ...t, zone: opts.zone } };
  if (t.kind === 'relative-s' && opts.startMs !== undefined) return { ...mapping, time: { ...t, startMs: opts.startMs } };
  return mapping;
}

function decompressed(file: ReadStream, gzip: boolean): Readable {
  if (!gzip) return file;
  const out = new PassThrough();
  // pipeline() forwards an error of either stage to `out`, so the reader sees it.
  pipeline(file, createGunzip(), out, (err) => {
    if (err) out.destroy(err);
  });
  return out;
}

/** NDJSON lines, decoded as NATS messages are (blank lines count but are skipped; a torn last line is marked `torn`). */
async function* ndjsonLines(input: Readable, opts: ReplaySourceOptions): AsyncGenerator<ReplayLine> {
  input.setEncoding('utf8');
  let streamError: unknown;
  input.on('error', (err: unknown) => {
    streamError = err;
  });
  const decodeOpts = opts.site === undefined ? { maxMessageBytes: opts.maxMessageBytes } : { maxMessageBytes: opts.maxMessageBytes, subjectSite: opts.site };
  try {
    for await (const l of textLines(input)) {
      if (isBlank(l.text)) continue;
      const { readings, failures } = decodeMessage(l.text, decodeOpts);
      if (isTornLine(l, failures)) yield { line: l.line, readings: [], failures: [], missingValues: 0, torn: true };
      else yield { line: l.line, readings, failures, missingValues: 0 };
    }
    if (streamError !== undefined) throw streamError;
  } finally {
    input.destroy();
  }
}
