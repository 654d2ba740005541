/**
 * Replay formats (docs/design.md section 9): the pure side of every file format `headroom replay`
 * reads. NDJSON (the wire format, one reading or batch a line), CSV with a column mapping,
 * and the presets for public telemetry formats. Opening, decompressing and streaming the
 * files is the sources' part (`sources/files`); here are the format names, the options, and
 * how a format's lines become readings.
 */
import { CsvMappingError, type CsvMapping } from './csv-mapping.js';
import { csvRowReader, type DelimitedOptions } from './csv-reader.js';
import { isPreset, presetReader, PRESETS, type PresetName } from './presets.js';
import type { DecodeOptions } from './reading-codec.js';

export { CsvMappingError, parseCsvMapping, parseStartMs, QUANTITIES, UNIT_FACTORS, DEFAULT_MISSING_SENTINELS } from './csv-mapping.js';
export type { CsvMapping, CsvTimeSpec, CsvFieldSpec, ColumnRef, Quantity } from './csv-mapping.js';
export { PRESETS, GPU_TRACE_GPUS, presetMapping, type PresetName } from './presets.js';
export { UNREADABLE_REASONS } from './replay-source-types.js';
export type { ReplayLine, UnreadableReason, UnreadableRow } from './replay-source-types.js';
export { ReorderBuffer, type ReorderEvent, type ReorderOptions } from './replay-source-reorder.js';
export { readDelimitedLines, type DelimitedOptions } from './csv-reader.js';

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

/** How a format's lines are read: NDJSON lines decoded as NATS messages are, or delimited rows. */
export type ReplayLineFormat = { kind: 'ndjson'; decode: DecodeOptions } | { kind: 'delimited'; options: DelimitedOptions };

/**
 * The line format of `opts`. Mapping problems (no site, a preset without its start time, a
 * bad zone) throw CsvMappingError here, before any reading.
 */
export function replayLineFormat(opts: ReplaySourceOptions): ReplayLineFormat {
  if (opts.format === 'ndjson') {
    const decode = opts.site === undefined ? { maxMessageBytes: opts.maxMessageBytes } : { maxMessageBytes: opts.maxMessageBytes, subjectSite: opts.site };
    return { kind: 'ndjson', decode };
  }
  return { kind: 'delimited', options: delimitedOptions(opts) };
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
