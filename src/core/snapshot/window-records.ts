/**
 * NodeWindow and SiteWindow records in binary (the alert snapshot's windows waiting to become
 * final). One fixed row per record, fields in the order of the lists below: strings as table
 * indices (u32), a flags byte or two (null numbers, booleans), then every number as float64
 * (0 where null). Written field by field, without per-record objects or keys.
 */
import type { NodeWindow, SiteWindow } from '../../domain/index.js';
import type { ByteReader } from './byte-reader.js';
import { newStringCache, type ByteWriter } from './byte-writer.js';

/** Bytes of one NodeWindow row: site, node, level (u32), two flag bytes, 21 numbers. */
const NODE_ROW_BYTES = 12 + 2 + 21 * 8;
/** Bytes of one SiteWindow row: site (u32), two flag bytes, 4 + 15 numbers. */
const SITE_ROW_BYTES = 4 + 2 + 19 * 8;

// Nullable fields of NodeWindow, bit i of the null flags.
//   0 failoverHeadroomWatts  1 childrenLoadWatts  2 unmeteredWatts  3 rampWattsPerSecond
//   4 timeToBreachSeconds  5 swingWatts  6 swingPeriodSeconds  7 swingPeriodShare
// Second flags byte: bit 0 headroomCertain.

export function writeNodeWindows(w: ByteWriter, rows: readonly NodeWindow[]): void {
  w.u32(rows.length);
  w.reserve(rows.length * NODE_ROW_BYTES);
  const site = newStringCache();
  const level = newStringCache();
  for (const n of rows) {
    w.u32Unchecked(w.strIndexCached(n.site, site));
    w.u32Unchecked(w.strIndex(n.node));
    w.u32Unchecked(w.strIndexCached(n.level, level));
    w.u8Unchecked(
      (n.failoverHeadroomWatts === null ? 1 : 0) |
        (n.childrenLoadWatts === null ? 2 : 0) |
        (n.unmeteredWatts === null ? 4 : 0) |
        (n.rampWattsPerSecond === null ? 8 : 0) |
        (n.timeToBreachSeconds === null ? 16 : 0) |
        (n.swingWatts === null ? 32 : 0) |
        (n.swingPeriodSeconds === null ? 64 : 0) |
        (n.swingPeriodShare === null ? 128 : 0),
    );
    w.u8Unchecked(n.headroomCertain ? 1 : 0);
    w.f64Unchecked(n.windowMs);
    w.f64Unchecked(n.start);
    w.f64Unchecked(n.end);
    w.f64Unchecked(n.revision);
    w.f64Unchecked(n.loadWatts);
    w.f64Unchecked(n.peakWatts);
    w.f64Unchecked(n.minWatts);
    w.f64Unchecked(n.energyWh);
    w.f64Unchecked(n.ratingWatts);
    w.f64Unchecked(n.usableWatts);
    w.f64Unchecked(n.headroomWatts);
    w.f64Unchecked(n.utilization);
    w.f64Unchecked(n.completeness);
    w.f64Unchecked(n.failoverHeadroomWatts ?? 0);
    w.f64Unchecked(n.childrenLoadWatts ?? 0);
    w.f64Unchecked(n.unmeteredWatts ?? 0);
    w.f64Unchecked(n.rampWattsPerSecond ?? 0);
    w.f64Unchecked(n.timeToBreachSeconds ?? 0);
    w.f64Unchecked(n.swingWatts ?? 0);
    w.f64Unchecked(n.swingPeriodSeconds ?? 0);
    w.f64Unchecked(n.swingPeriodShare ?? 0);
  }
}

export function readNodeWindows(r: ByteReader): NodeWindow[] {
  const count = r.u32();
  r.need(count * NODE_ROW_BYTES);
  const out = new Array<NodeWindow>(count);
  for (let i = 0; i < count; i++) {
    const site = r.string(r.u32Unchecked());
    const node = r.string(r.u32Unchecked());
    const level = r.string(r.u32Unchecked());
    const nulls = r.u8Unchecked();
    const bools = r.u8Unchecked();
    const windowMs = r.f64Unchecked();
    const start = r.f64Unchecked();
    const end = r.f64Unchecked();
    const revision = r.f64Unchecked();
    const loadWatts = r.f64Unchecked();
    const peakWatts = r.f64Unchecked();
    const minWatts = r.f64Unchecked();
    const energyWh = r.f64Unchecked();
    const ratingWatts = r.f64Unchecked();
    const usableWatts = r.f64Unchecked();
    const headroomWatts = r.f64Unchecked();
    const utilization = r.f64Unchecked();
    const completeness = r.f64Unchecked();
    const nullable = (bit: number): number | null => {
      const x = r.f64Unchecked();
      return (nulls & bit) !== 0 ? null : x;
    };
    out[i] = {
      type: 'node',
      site,
      node,
      level,
      windowMs,
      start,
      end,
      revision,
      loadWatts,
      peakWatts,
      minWatts,
      energyWh,
      ratingWatts,
      usableWatts,
      headroomWatts,
      utilization,
      failoverHeadroomWatts: nullable(1),
      completeness,
      headroomCertain: (bools & 1) !== 0,
      childrenLoadWatts: nullable(2),
      unmeteredWatts: nullable(4),
      rampWattsPerSecond: nullable(8),
      timeToBreachSeconds: nullable(16),
      swingWatts: nullable(32),
      swingPeriodSeconds: nullable(64),
      swingPeriodShare: nullable(128),
    };
  }
  return out;
}

/** The SiteWindow fields that may be null, in row order (bit i of the null flags). */
const SITE_NULLABLE = [
  'facilityWatts',
  'itWatts',
  'pue',
  'contractWatts',
  'contractHeadroomWatts',
  'demandWatts',
  'demandIntervalStart',
  'periodPeakWatts',
  'periodStart',
  'gridHertz',
  'hertzDeviation',
  'pricePerMWh',
  'energyCost',
  'carbonGramsPerKWh',
  'carbonGrams',
] as const satisfies readonly (keyof SiteWindow)[];

type SiteNullable = (typeof SITE_NULLABLE)[number];
// Every nullable number of SiteWindow is listed (a new field fails to compile here).
type Unlisted = Exclude<{ [K in keyof SiteWindow]: null extends SiteWindow[K] ? K : never }[keyof SiteWindow], SiteNullable>;
export const SITE_NULLABLE_COMPLETE: [Unlisted] extends [never] ? true : Unlisted = true;

export function writeSiteWindow(w: ByteWriter, s: SiteWindow): void {
  w.reserve(SITE_ROW_BYTES);
  w.u32Unchecked(w.strIndex(s.site));
  let nulls = 0;
  SITE_NULLABLE.forEach((field, bit) => {
    if (s[field] === null) nulls |= 1 << bit;
  });
  w.u8Unchecked(nulls & 0xff);
  w.u8Unchecked(nulls >> 8);
  w.f64Unchecked(s.windowMs);
  w.f64Unchecked(s.start);
  w.f64Unchecked(s.end);
  w.f64Unchecked(s.revision);
  for (const field of SITE_NULLABLE) w.f64Unchecked(s[field] ?? 0);
}

export function readSiteWindow(r: ByteReader): SiteWindow {
  r.need(SITE_ROW_BYTES);
  const site = r.string(r.u32Unchecked());
  const nulls = r.u8Unchecked() | (r.u8Unchecked() << 8);
  const out = { type: 'site', site, windowMs: r.f64Unchecked(), start: r.f64Unchecked(), end: r.f64Unchecked(), revision: r.f64Unchecked() } as SiteWindow;
  SITE_NULLABLE.forEach((field, bit) => {
    const x = r.f64Unchecked();
    out[field] = (nulls & (1 << bit)) !== 0 ? null : x;
  });
  return out;
}
