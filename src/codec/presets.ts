/**
 * Presets for public telemetry formats (docs/replay-and-record.md, tests/fixtures/golden/README.md):
 *
 * - `ptdaemon`: SPEC PTDaemon power-analyser logs (MLPerf Power), key/value lines
 *   `Time,<MM-DD-YYYY HH:mm:ss.SSS>,Watts,<w>,Volts,<v>,Amps,<a>,PF,<pf>,Mark,<label>`.
 *   Multi-channel analysers add `Ch<N>,Watts,...` blocks: one meter per channel
 *   (`<meter>-ch<N>`) plus the total (`<meter>`; the line's own values, else the sum of the
 *   channels' watts). Meter default `ptd`; zone default UTC (the log has none).
 * - `gpu-trace`: headerless `seconds since start,w0,...,w7`: meters `gpu0`..`gpu7` in watts,
 *   times from `--start`.
 * - `uci-household`: the UCI "Individual household electric power consumption" export,
 *   `Date;Time;Global_active_power(kW);...;Voltage(V);Global_intensity(A);...` with `d/M/yyyy`
 *   dates and `?` for missing values: meter `household` (watts, volts, amps). Zone default
 *   Europe/Paris (the household is in Sceaux, France; the export has no zone).
 * - `eia930`: hourly balancing-authority demand (EIA-930, cleaned by Ruggles & Farnham),
 *   `date_time,raw demand (MW),category,cleaned demand (MW),forecast demand (MW)` in UTC with
 *   `MISSING` / `EMPTY` sentinels: meter `demand` (raw) and `demand-cleaned` (imputed).
 */
import type { Reading } from '../domain/index.js';
import { CsvMappingError, DEFAULT_MISSING_SENTINELS, type CsvMapping, type CsvFieldSpec } from './csv-mapping.js';
import { csvRowReader, unreadableLine, type DelimitedOptions, type RowReader } from './csv-reader.js';
import { parseDecimal, patternParser } from './csv-time.js';
import { cellDetail } from './replay-source-types.js';

export const PRESETS = ['ptdaemon', 'gpu-trace', 'uci-household', 'eia930'] as const;
export type PresetName = (typeof PRESETS)[number];

export function isPreset(name: string): name is PresetName {
  return (PRESETS as readonly string[]).includes(name);
}

export interface PresetOptions {
  site: string;
  /** Meter id (single-meter presets) or meter prefix; each preset has a default. */
  meter?: string;
  /** Start of relative times (gpu-trace). */
  startMs?: number;
  /** Zone of zone-less times; each preset has a default. */
  zone?: string;
}

export const GPU_TRACE_GPUS = 8;

/** The column mapping of a CSV preset (all but ptdaemon). */
export function presetMapping(name: Exclude<PresetName, 'ptdaemon'>, opts: PresetOptions): CsvMapping {
  switch (name) {
    case 'gpu-trace': {
      if (opts.startMs === undefined) throw new CsvMappingError('gpu-trace times are seconds since the start: give --start (ISO-8601 with zone)');
      const prefix = opts.meter === undefined ? '' : `${opts.meter}-`;
      const fields: CsvFieldSpec[] = [];
      for (let g = 0; g < GPU_TRACE_GPUS; g++) fields.push({ column: g + 1, meter: `${prefix}gpu${g}`, quantity: 'watts', unit: 'W' });
      return { delimiter: ',', header: false, site: opts.site, time: { kind: 'relative-s', column: 0, startMs: opts.startMs }, fields, missing: DEFAULT_MISSING_SENTINELS };
    }
    case 'uci-household': {
      const meter = opts.meter ?? 'household';
      return {
        delimiter: ';',
        header: true,
        site: opts.site,
        time: { kind: 'pattern', columns: ['Date', 'Time'], pattern: 'd/M/yyyy;HH:mm:ss', zone: opts.zone ?? 'Europe/Paris' },
        fields: [
          { column: 'Global_active_power', meter, quantity: 'watts', unit: 'kW' },
          { column: 'Voltage', meter, quantity: 'volts', unit: 'V' },
          { column: 'Global_intensity', meter, quantity: 'amps', unit: 'A' },
        ],
        missing: DEFAULT_MISSING_SENTINELS,
      };
    }
    case 'eia930': {
      const meter = opts.meter ?? 'demand';
      return {
        delimiter: ',',
        header: true,
        site: opts.site,
        time: { kind: 'pattern', columns: ['date_time'], pattern: 'yyyy-MM-dd HH:mm:ss', zone: opts.zone ?? 'UTC' },
        fields: [
          { column: 'raw demand (MW)', meter, quantity: 'watts', unit: 'MW' },
          { column: 'cleaned demand (MW)', meter: `${meter}-cleaned`, quantity: 'watts', unit: 'MW' },
        ],
        missing: DEFAULT_MISSING_SENTINELS,
      };
    }
  }
}

/** How to read a preset's file. */
export function presetReader(name: PresetName, opts: PresetOptions): DelimitedOptions {
  if (name === 'ptdaemon') {
    const reader = ptdaemonRowReader(opts.site, opts.meter ?? 'ptd', opts.zone ?? 'UTC');
    return { delimiter: ',', header: false, makeRowReader: () => reader };
  }
  const mapping = presetMapping(name, opts);
  return { delimiter: mapping.delimiter, header: mapping.header, makeRowReader: (header) => csvRowReader(mapping, opts.site, header) };
}

const PTD_FIELDS: Readonly<Record<string, keyof Reading>> = {
  Watts: 'watts',
  Volts: 'volts',
  Amps: 'amps',
  PF: 'powerFactor',
  VA: 'voltAmperes',
  Freq: 'hertz',
  Hz: 'hertz',
  Energy: 'wattHours',
};
const PTD_TEXT_KEYS = new Set(['Mark', 'Uncertainty', 'Range', 'Ranges']);
const CHANNEL_RE = /^Ch(\d{1,3})$/;
const PTD_MISSING = new Set(DEFAULT_MISSING_SENTINELS);

type NumericKey = Exclude<keyof Reading, 'site' | 'meter' | 'tsMs'>;

/** PTDaemon key/value lines → total and per-channel readings. */
export function ptdaemonRowReader(site: string, meter: string, zone: string): RowReader {
  const parseTime = patternParser('MM-dd-yyyy HH:mm:ss.SSS', zone);
  return (cells, line) => {
    if (cells.length < 4 || cells[0]!.trim() !== 'Time') return unreadableLine(line, 'bad_line', `expected 'Time,<time>,...', got ${cellDetail(cells.slice(0, 2).join(','))}`);
    const tsMs = parseTime(cells[1]!.trim());
    if (!Number.isFinite(tsMs)) return unreadableLine(line, 'bad_time', `time ${cellDetail(cells[1]!)} does not match 'MM-dd-yyyy HH:mm:ss.SSS'`);
    const total: Reading = { site, meter, tsMs };
    const channels: Reading[] = [];
    let current = total;
    let missingValues = 0;
    for (let i = 2; i < cells.length; i++) {
      const key = cells[i]!.trim();
      const channel = CHANNEL_RE.exec(key);
      if (channel !== null) {
        current = { site, meter: `${meter}-ch${Number(channel[1])}`, tsMs };
        channels.push(current);
        continue;
      }
      if (i + 1 >= cells.length) return unreadableLine(line, 'bad_line', `key ${cellDetail(key)} has no value`);
      const raw = cells[++i]!.trim();
      if (PTD_TEXT_KEYS.has(key)) continue;
      const field: NumericKey | undefined = PTD_FIELDS[key] as NumericKey | undefined;
      if (field === undefined) continue; // unknown keys (newer PTDaemon versions) are ignored
      if (raw.length === 0 || PTD_MISSING.has(raw)) {
        missingValues++;
        continue;
      }
      const value = parseDecimal(raw);
      if (!Number.isFinite(value)) return unreadableLine(line, 'bad_value', `${key}: ${cellDetail(raw)} is not a number`);
      current[field] = value;
    }
    if (total.watts === undefined && channels.length > 0 && channels.every((c) => c.watts !== undefined)) {
      total.watts = channels.reduce((sum, c) => sum + c.watts!, 0);
    }
    const readings = [total, ...channels].filter((r) => r.watts !== undefined || r.volts !== undefined || r.wattHours !== undefined || r.hertz !== undefined);
    return { line, readings, failures: [], missingValues };
  };
}
