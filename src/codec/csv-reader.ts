/**
 * Streaming CSV → readings, through csv-parse (quotes, delimiters, BOM, CRLF). One row may
 * carry many meters (one column each). Memory stays bounded by the longest row.
 *
 * Data errors are values: a missing-value cell (empty or a sentinel such as `?`,
 * `MISSING`, `EMPTY`) is counted and left out of its reading, never read as zero; a row
 * that cannot be read (bad time, non-numeric value, too few cells, CSV syntax) yields an
 * `unreadable` entry with its line number and the replay goes on. A mapping that does not
 * fit the file (a named column absent from the header) throws CsvMappingError.
 */
import type { Readable } from 'node:stream';
import { parse as csvParse, type CsvError } from 'csv-parse';
import type { Reading } from '../domain/index.js';
import { CsvMappingError, resolveColumn, unitFactor, type CsvMapping, type Quantity } from './csv-mapping.js';
import { parseDecimal, patternParser, type TimeParser } from './csv-time.js';
import { cellDetail, type ReplayLine, type UnreadableReason } from './replay-source-types.js';

/** Turns the cells of one data row into its replay line. */
export type RowReader = (cells: readonly string[], line: number) => ReplayLine;

export interface DelimitedOptions {
  delimiter: string;
  /** true: the first non-empty row is a header, handed to `makeRowReader`. */
  header: boolean;
  /** Builds the row reader once the header (or its absence) is known. May throw CsvMappingError. */
  makeRowReader: (header: readonly string[] | null) => RowReader;
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

function isParsedRecord(value: unknown): value is ParsedRecord {
  return typeof value === 'object' && value !== null && 'record' in value && Array.isArray(value.record) && 'info' in value;
}

/** Yield one ReplayLine per data row (header excluded, blank lines skipped). */
export async function* readDelimitedLines(input: Readable, opts: DelimitedOptions): AsyncGenerator<ReplayLine> {
  const skipped: ReplayLine[] = [];
  const parser = csvParse({
    delimiter: opts.delimiter,
    bom: true,
    info: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined) => {
      const line = err !== undefined && typeof err['lines'] === 'number' ? err['lines'] : 0;
      skipped.push(unreadableLine(line, 'csv_syntax', err?.message ?? 'unreadable CSV record'));
      return undefined;
    },
  });
  input.on('error', (err: unknown) => parser.destroy(err instanceof Error ? err : new Error(String(err))));
  input.pipe(parser);
  let rowReader: RowReader | null = opts.header ? null : opts.makeRowReader(null);
  try {
    for await (const item of parser) {
      while (skipped.length > 0) yield skipped.shift()!;
      if (!isParsedRecord(item)) continue;
      if (rowReader === null) {
        rowReader = opts.makeRowReader(item.record.map((h) => h.trim()));
        continue;
      }
      yield rowReader(item.record, item.info.lines);
    }
    while (skipped.length > 0) yield skipped.shift()!;
  } finally {
    input.unpipe(parser);
    parser.destroy();
    input.destroy();
  }
}

export function unreadableLine(line: number, reason: UnreadableReason, detail: string): ReplayLine {
  return { line, readings: [], failures: [], missingValues: 0, unreadable: { line, reason, detail } };
}

interface CompiledField {
  column: number;
  quantity: Quantity;
  factor: number;
}

interface CompiledMeter {
  meter: string;
  fields: CompiledField[];
}

/** Reading fields that make a reading count (as in the wire decoder). */
const VALUE_FIELDS: ReadonlySet<Quantity> = new Set<Quantity>(['watts', 'wattHours', 'volts', 'hertz', 'pricePerMWh', 'carbonGramsPerKWh']);

/** Compile a mapping against the header into a row reader. */
export function csvRowReader(mapping: CsvMapping, site: string, header: readonly string[] | null): RowReader {
  const missing = new Set(mapping.missing);
  const time = compileTime(mapping, header);
  const meters = new Map<string, CompiledMeter>();
  let needCells = time.maxColumn + 1;
  mapping.fields.forEach((f, i) => {
    const column = resolveColumn(f.column, header, `columns[${i}] (${f.meter} ${f.quantity})`);
    needCells = Math.max(needCells, column + 1);
    let m = meters.get(f.meter);
    if (m === undefined) {
      m = { meter: f.meter, fields: [] };
      meters.set(f.meter, m);
    }
    m.fields.push({ column, quantity: f.quantity, factor: unitFactor(f) });
  });
  const compiled = [...meters.values()];
  return (cells, line) => {
    if (cells.length < needCells) return unreadableLine(line, 'short_row', `${cells.length} cells, the mapping needs ${needCells}`);
    const tsMs = time.parse(cells);
    if (!Number.isFinite(tsMs)) return unreadableLine(line, 'bad_time', `time ${cellDetail(time.text(cells))} does not match ${time.describe}`);
    const readings: Reading[] = [];
    let missingValues = 0;
    for (const m of compiled) {
      const r: Reading = { site, meter: m.meter, tsMs };
      let hasValue = false;
      for (const f of m.fields) {
        const cell = cells[f.column]!.trim();
        if (cell.length === 0 || missing.has(cell)) {
          missingValues++;
          continue;
        }
        const value = parseDecimal(cell);
        if (!Number.isFinite(value)) {
          return unreadableLine(line, 'bad_value', `column ${f.column + 1} (${m.meter} ${f.quantity}): ${cellDetail(cell)} is not a number`);
        }
        r[f.quantity] = value * f.factor;
        if (VALUE_FIELDS.has(f.quantity)) hasValue = true;
      }
      if (hasValue) readings.push(r);
    }
    return { line, readings, failures: [], missingValues };
  };
}

interface CompiledTime {
  parse: (cells: readonly string[]) => number;
  text: (cells: readonly string[]) => string;
  maxColumn: number;
  describe: string;
}

function compileTime(mapping: CsvMapping, header: readonly string[] | null): CompiledTime {
  const t = mapping.time;
  if (t.kind === 'pattern') {
    const columns = t.columns.map((c, i) => resolveColumn(c, header, `time.columns[${i}]`));
    const parser: TimeParser = patternParser(t.pattern, t.zone);
    const text = (cells: readonly string[]): string =>
      columns.length === 1 ? cells[columns[0]!]!.trim() : columns.map((c) => cells[c]!.trim()).join(mapping.delimiter);
    return { parse: (cells) => parser(text(cells)), text, maxColumn: Math.max(...columns), describe: `'${t.pattern}'` };
  }
  const column = resolveColumn(t.column, header, 'time.column');
  const text = (cells: readonly string[]): string => cells[column]!.trim();
  switch (t.kind) {
    case 'epoch-s':
      return { parse: (cells) => parseDecimal(text(cells)) * 1000, text, maxColumn: column, describe: 'epoch seconds' };
    case 'epoch-ms':
      return { parse: (cells) => parseDecimal(text(cells)), text, maxColumn: column, describe: 'epoch milliseconds' };
    case 'iso':
      return { parse: (cells) => isoMs(text(cells)), text, maxColumn: column, describe: 'ISO-8601 with zone' };
    case 'relative-s': {
      const startMs = t.startMs;
      if (startMs === undefined) throw new CsvMappingError('relative-second times need a start time (--start or time.start)');
      return { parse: (cells) => startMs + parseDecimal(text(cells)) * 1000, text, maxColumn: column, describe: 'seconds since the start' };
    }
  }
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function isoMs(text: string): number {
  return ISO_RE.test(text) ? Date.parse(text.replace(' ', 'T')) : NaN;
}
