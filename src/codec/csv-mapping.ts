/**
 * CSV column mappings (docs/design.md section 9): which column is the time and in what form, which
 * columns carry which meter's quantities and in which unit, the delimiter, a header or not,
 * and the sentinels that mean "missing".
 *
 * A mapping comes from a YAML file (`headroom replay --mapping FILE`, validated here with
 * zod, unknown keys rejected) or from a preset (presets.ts). Column references are a header
 * name (matched exactly, else ignoring case and a trailing `(unit)`: `Global_active_power`
 * finds `Global_active_power(kW)`) or a 0-based index.
 *
 *   delimiter: ";"
 *   header: true
 *   time: { columns: [Date, Time], format: "d/M/yyyy;HH:mm:ss", zone: Europe/Paris }
 *   columns:
 *     - { column: Global_active_power, meter: house, quantity: watts, unit: kW }
 *     - { column: Voltage, meter: house, quantity: volts }
 *   missing: ["?", ""]
 */
import { z } from 'zod';
import { READING_NUMBER_FIELDS } from '../domain/index.js';

/** Numeric quantities a column can carry (the optional numeric fields of a Reading). */
export const QUANTITIES = READING_NUMBER_FIELDS;
export type Quantity = (typeof QUANTITIES)[number];

/** Units accepted per quantity and their factor to the base unit (the field's unit). */
export const UNIT_FACTORS: Readonly<Record<Quantity, Readonly<Record<string, number>>>> = {
  watts: { W: 1, kW: 1e3, MW: 1e6, GW: 1e9 },
  wattHours: { Wh: 1, kWh: 1e3, MWh: 1e6, GWh: 1e9 },
  voltAmperes: { VA: 1, kVA: 1e3, MVA: 1e6 },
  powerFactor: { '1': 1, '%': 0.01 },
  volts: { V: 1, kV: 1e3, mV: 1e-3 },
  amps: { A: 1, kA: 1e3, mA: 1e-3 },
  hertz: { Hz: 1, mHz: 1e-3 },
  pricePerMWh: { '/MWh': 1, '/kWh': 1e3 },
  carbonGramsPerKWh: { 'g/kWh': 1, 'kg/MWh': 1, 'g/MWh': 1e-3 },
};

/** The base unit of each quantity (the default when a column names none). */
export const BASE_UNITS: Readonly<Record<Quantity, string>> = {
  watts: 'W',
  wattHours: 'Wh',
  voltAmperes: 'VA',
  powerFactor: '1',
  volts: 'V',
  amps: 'A',
  hertz: 'Hz',
  pricePerMWh: '/MWh',
  carbonGramsPerKWh: 'g/kWh',
};

/** Cells that mean "no value" unless a mapping says otherwise. Empty cells always do. */
export const DEFAULT_MISSING_SENTINELS: readonly string[] = ['?', 'MISSING', 'EMPTY', 'NA', 'N/A', 'NaN', 'null', '-'];

/** A header name or a 0-based column index. */
export type ColumnRef = string | number;

/** How a row's time is written. */
export type CsvTimeSpec =
  /** Seconds or ms since the Unix epoch, or an ISO-8601 string with zone. */
  | { kind: 'epoch-s' | 'epoch-ms' | 'iso'; column: ColumnRef }
  /** Seconds since `startMs` (given by the mapping, a preset's caller or `--start`). */
  | { kind: 'relative-s'; column: ColumnRef; startMs?: number }
  /**
   * A date-fns pattern (Unicode tokens: `d/M/yyyy`, `HH:mm:ss.SSS`, `XXX` for an offset).
   * Several columns are joined with the delimiter before parsing, so the pattern reads as
   * the columns appear in the file (`d/M/yyyy;HH:mm:ss` for `Date;Time`). Without an
   * offset token the wall-clock time is read in `zone` (IANA name or ±hh:mm; default UTC).
   */
  | { kind: 'pattern'; columns: ColumnRef[]; pattern: string; zone?: string };

export interface CsvFieldSpec {
  column: ColumnRef;
  meter: string;
  quantity: Quantity;
  /** One of UNIT_FACTORS[quantity]; default the base unit. */
  unit?: string;
}

export interface CsvMapping {
  /** One character. Default ','. */
  delimiter: string;
  /** true: the first row names the columns. */
  header: boolean;
  /** Site of every reading; `--site` overrides. */
  site?: string;
  time: CsvTimeSpec;
  fields: CsvFieldSpec[];
  /** Cells that mean "missing" (compared after trimming). Empty cells always do. */
  missing: readonly string[];
}

/** A mapping that cannot work (bad unit, unknown column, missing start time): a config error. */
export class CsvMappingError extends Error {
  override readonly name = 'CsvMappingError';
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const id = z.string().regex(ID_RE, { message: 'must match [A-Za-z0-9_-]{1,64}' });
const columnRef = z.union([z.string().min(1), z.number().int().min(0)]);

const TIME_KINDS = ['epoch-s', 'epoch-ms', 'iso', 'relative-s'] as const;

const timeSchema = z
  .object({
    /** The time column (name or index). */
    column: columnRef.optional(),
    /** Several columns joined with the delimiter (pattern formats only). */
    columns: z.array(columnRef).min(1).optional(),
    /** epoch-s, epoch-ms, iso, relative-s, or a date-fns pattern such as `d/M/yyyy;HH:mm:ss`. */
    format: z.string().min(1),
    /** Zone of zone-less patterns: IANA name or ±hh:mm. Default UTC. */
    zone: z.string().min(1).optional(),
    /** Start of relative-s times: ISO-8601 with zone. */
    start: z.string().min(1).optional(),
  })
  .strict();

const fieldSchema = z
  .object({
    column: columnRef,
    meter: id,
    quantity: z.enum(QUANTITIES),
    unit: z.string().min(1).optional(),
  })
  .strict();

const mappingFileSchema = z
  .object({
    delimiter: z.string().length(1).default(','),
    header: z.boolean().default(true),
    site: id.optional(),
    time: timeSchema,
    columns: z.array(fieldSchema).min(1),
    missing: z.array(z.string()).optional(),
  })
  .strict();

export type CsvMappingInput = z.input<typeof mappingFileSchema>;

/** Validate a parsed YAML/JSON value as a mapping; issues as readable `path: message` lines. */
export function parseCsvMapping(value: unknown): CsvMapping {
  const parsed = mappingFileSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new CsvMappingError(`invalid CSV mapping:\n${lines.join('\n')}`);
  }
  const m = parsed.data;
  const mapping: CsvMapping = {
    delimiter: m.delimiter,
    header: m.header,
    time: timeSpecOf(m.time),
    fields: m.columns.map((c) => ({ column: c.column, meter: c.meter, quantity: c.quantity, ...(c.unit !== undefined ? { unit: c.unit } : {}) })),
    missing: m.missing ?? DEFAULT_MISSING_SENTINELS,
  };
  if (m.site !== undefined) mapping.site = m.site;
  for (const f of mapping.fields) unitFactor(f);
  return mapping;
}

function timeSpecOf(t: z.output<typeof timeSchema>): CsvTimeSpec {
  const kind = (TIME_KINDS as readonly string[]).includes(t.format) ? (t.format as (typeof TIME_KINDS)[number]) : undefined;
  if (kind !== undefined) {
    if (t.column === undefined) throw new CsvMappingError(`invalid CSV mapping: time.column is required for format ${t.format}`);
    if (kind === 'relative-s') {
      const spec: CsvTimeSpec = { kind, column: t.column };
      if (t.start !== undefined) spec.startMs = parseStartMs(t.start);
      return spec;
    }
    return { kind, column: t.column };
  }
  const columns = t.columns ?? (t.column !== undefined ? [t.column] : undefined);
  if (columns === undefined) throw new CsvMappingError('invalid CSV mapping: time.column or time.columns is required');
  return { kind: 'pattern', columns, pattern: t.format, ...(t.zone !== undefined ? { zone: t.zone } : {}) };
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** `--start` / `time.start`: ISO-8601 with a zone → ms; a CsvMappingError otherwise. */
export function parseStartMs(text: string): number {
  const ms = ISO_WITH_ZONE.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new CsvMappingError(`start time '${text}' is not an ISO-8601 time with a zone (e.g. 2024-05-01T00:00:00Z)`);
  return ms;
}

/** Factor from the column's unit to the quantity's base unit. */
export function unitFactor(f: CsvFieldSpec): number {
  const table = UNIT_FACTORS[f.quantity];
  const unit = f.unit ?? BASE_UNITS[f.quantity];
  const factor = table[unit];
  if (factor === undefined) {
    throw new CsvMappingError(`unit '${unit}' is not a unit of ${f.quantity} (one of ${Object.keys(table).join(', ')})`);
  }
  return factor;
}

/** Column names compared ignoring case, spaces and a trailing `(unit)`. */
function looseName(name: string): string {
  return name.replace(/\s*\([^)]*\)\s*$/, '').trim().toLowerCase();
}

/** Resolve a column reference against the header (or check an index). */
export function resolveColumn(ref: ColumnRef, header: readonly string[] | null, what: string): number {
  if (typeof ref === 'number') return ref;
  if (header === null) throw new CsvMappingError(`${what}: column '${ref}' is named but the file has no header (use a 0-based index)`);
  const exact = header.indexOf(ref);
  if (exact >= 0) return exact;
  const loose = looseName(ref);
  const found = header.findIndex((h) => looseName(h) === loose);
  if (found >= 0) return found;
  throw new CsvMappingError(`${what}: no column '${ref}' in the header (${header.map((h) => `'${h}'`).join(', ')})`);
}
