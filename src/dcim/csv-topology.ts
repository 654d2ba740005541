/**
 * A DCIM export as a flat table → a topology. One row a node; a mapping names the columns:
 * `id=Asset,parent=Fed From,level=Type,rating=Capacity:kW,derate=Derate,meters=Meters,site=Site`.
 * Pure: rows in, sites and nodes out, every skipped row named with its line.
 */
import { parsePowerWatts } from '../config/index.js';
import { slugId, type ImportedNode, type ImportedTopology } from './imported.js';

export const CSV_TOPOLOGY_FIELDS = ['id', 'parent', 'level', 'rating', 'derate', 'meters', 'site', 'redundantWith', 'role'] as const;
export type CsvTopologyField = (typeof CSV_TOPOLOGY_FIELDS)[number];

export interface CsvTopologyMapping {
  columns: Partial<Record<CsvTopologyField, string>>;
  /** Unit of a bare number in the rating column (`W`, `kW`, `MW`, `VA`, `kVA`). Default W. */
  ratingUnit: string;
}

/** Thrown for a mapping that cannot work; names the flag's problem. */
export class CsvMappingError extends Error {
  override readonly name = 'CsvMappingError';
}

const RATING_UNITS: Record<string, number> = { W: 1, kW: 1e3, MW: 1e6, VA: 1, kVA: 1e3, MVA: 1e6 };

/** `id=Asset,parent=Fed From,rating=Capacity:kW` → the mapping. */
export function parseCsvTopologyMapping(spec: string): CsvTopologyMapping {
  const columns: Partial<Record<CsvTopologyField, string>> = {};
  let ratingUnit = 'W';
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CsvMappingError(`--mapping: '${part}' is not field=column`);
    const field = part.slice(0, eq).trim() as CsvTopologyField;
    if (!CSV_TOPOLOGY_FIELDS.includes(field)) throw new CsvMappingError(`--mapping: unknown field '${field}' (one of ${CSV_TOPOLOGY_FIELDS.join(', ')})`);
    let column = part.slice(eq + 1).trim();
    if (field === 'rating') {
      const colon = column.lastIndexOf(':');
      if (colon > 0 && RATING_UNITS[column.slice(colon + 1)] !== undefined) {
        ratingUnit = column.slice(colon + 1);
        column = column.slice(0, colon);
      }
    }
    if (column === '') throw new CsvMappingError(`--mapping: no column given for '${field}'`);
    columns[field] = column;
  }
  for (const required of ['id', 'level', 'rating'] as const) {
    if (columns[required] === undefined) throw new CsvMappingError(`--mapping: '${required}=COLUMN' is required`);
  }
  return { columns, ratingUnit };
}

/**
 * Rows (objects keyed by header, first data row on line `firstLine`) → topology. `defaultSite`
 * names the site when the mapping has no site column.
 */
export function csvRowsToTopology(rows: readonly Record<string, string>[], mapping: CsvTopologyMapping, defaultSite: string | undefined, firstLine = 2): ImportedTopology {
  const warnings: string[] = [];
  const header = rows[0] === undefined ? [] : Object.keys(rows[0]);
  for (const [field, column] of Object.entries(mapping.columns)) {
    if (rows.length > 0 && !header.includes(column)) throw new CsvMappingError(`--mapping: ${field}=${column}: no such column (columns: ${header.join(', ')})`);
  }
  if (mapping.columns.site === undefined && defaultSite === undefined) throw new CsvMappingError('--site is required when the mapping has no site column');
  const bySite = new Map<string, ImportedNode[]>();
  const col = (row: Record<string, string>, field: CsvTopologyField): string => {
    const name = mapping.columns[field];
    return name === undefined ? '' : (row[name] ?? '').trim();
  };
  rows.forEach((row, i) => {
    const line = firstLine + i;
    const rawId = col(row, 'id');
    if (rawId === '') {
      if (Object.values(row).some((v) => v.trim() !== '')) warnings.push(`line ${line}: no id: row skipped`);
      return;
    }
    const rating = ratingOf(col(row, 'rating'), mapping.ratingUnit);
    if (typeof rating === 'string') {
      warnings.push(`line ${line} (${rawId}): ${rating}: row skipped`);
      return;
    }
    const node: ImportedNode = { id: slugId(rawId), level: col(row, 'level') || 'node', ratingWatts: rating, meters: [], origin: `line ${line}` };
    const parent = col(row, 'parent');
    if (parent !== '') node.parent = slugId(parent);
    const derate = derateOf(col(row, 'derate'));
    if (typeof derate === 'string') warnings.push(`line ${line} (${rawId}): ${derate}: default derate used`);
    else if (derate !== undefined) node.derate = derate;
    const meters = col(row, 'meters');
    if (meters !== '') node.meters = meters.split(/[;|\s]+/).filter((m) => m !== '').map(slugId);
    const pair = col(row, 'redundantWith');
    if (pair !== '') node.redundantWith = slugId(pair);
    const role = col(row, 'role').toLowerCase();
    if (role === 'facility' || role === 'it') node.role = role;
    else if (role !== '') warnings.push(`line ${line} (${rawId}): role '${role}' is neither facility nor it: ignored`);
    const site = slugId(col(row, 'site') || defaultSite!);
    const list = bySite.get(site) ?? [];
    list.push(node);
    bySite.set(site, list);
  });
  return { sites: [...bySite].map(([id, nodes]) => ({ id, nodes })), warnings };
}

function ratingOf(text: string, unit: string): number | string {
  if (text === '') return 'no rating';
  const bare = Number(text.replace(/,/g, ''));
  if (Number.isFinite(bare)) return bare > 0 ? bare * RATING_UNITS[unit]! : `rating ${text} is not positive`;
  try {
    return parsePowerWatts(text.replace(/\s+/g, ''));
  } catch (err: unknown) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** `0.8` or `80%`; a bare number above 1 is ambiguous and refused. */
function derateOf(text: string): number | string | undefined {
  if (text === '') return undefined;
  const percent = text.endsWith('%');
  const value = Number(percent ? text.slice(0, -1) : text);
  if (!Number.isFinite(value)) return `derate '${text}' is not a number`;
  const share = percent ? value / 100 : value;
  if (!percent && value > 1) return `derate ${text}: give a share (0.8) or a percent (80%)`;
  if (share <= 0 || share > 1) return `derate ${text} is outside (0, 1]`;
  return share;
}
