/**
 * Version 2 of the window engine's snapshot: SiteState in binary (binary.ts layout, magic
 * "HRSW"). Per site, in this order:
 *
 *   site id (string); frontierMs, acceptFromMs, maxTsMs, watermarkMs, dirtyFromMs, dirtyToMs,
 *   counterResets, passedUntilMs (f64); closed, allStarted (u8)
 *   tails: meter count u32; live pairs per meter (u32 each); counter flag per meter (u8 each);
 *     then the live [ts, watts] pairs of every meter in meter order (f64), then the wattHours of
 *     the meters that have them (f64)
 *   counterMeters, lateByMeter, lateByGridMeter, meterMaxTsMs, meterSeenMs (number arrays)
 *   gridSeen: grid meter count u32, a number array each
 *   sizes: count u32; per size windowMs, nextStartMs (f64), started (u8); frozen: startMs
 *     then the AGG_FIELDS arrays; open windows as [startMs, revision] pairs; history start and
 *     load arrays; demand windows as [start, energy, covered] triples; demand intervals as
 *     [start, watts] pairs; grid sums as [start, the 8 GridSums fields] rows; swing: present u8,
 *     then startMs and the two arrays.
 *
 * Number arrays are a length u32 and float64 values.
 */
import type { GridSums } from '../grid.js';
import { binaryVersion } from './binary.js';
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { SnapshotError } from './error.js';
import { AGG_FIELDS, WINDOW_SNAPSHOT_VERSION, type AggregatesState, type SiteState, type SizeSnapshot, type TailState, tailPairs } from './window-state.js';

export const WINDOW_MAGIC = 'HRSW';
const WHAT = 'window engine';
const GRID_FIELDS = ['hertzSum', 'hertzCount', 'voltsSum', 'voltsCount', 'priceSum', 'priceCount', 'carbonSum', 'carbonCount'] as const satisfies readonly (keyof GridSums)[];

export function writeWindowState(sites: readonly SiteState[]): Uint8Array {
  // An upper bound of the size (runs only shrink it): the buffer is allocated once.
  let boundBytes = 1 << 12;
  for (const site of sites) boundBytes += siteBoundBytes(site);
  const w = new ByteWriter(WINDOW_MAGIC, WINDOW_SNAPSHOT_VERSION, boundBytes);
  w.u32(sites.length);
  for (const site of sites) writeSite(w, site);
  return w.finish();
}

/** Bytes a site takes at most: every number as float64, plus lengths and segment headers. */
function siteBoundBytes(site: SiteState): number {
  const arrayBytes = (values: ArrayLike<number>): number => 16 + values.length * 8;
  let bytes = 1024 + site.site.length * 3;
  for (const tail of site.tails) bytes += 5 + 24 * (tailPairs(tail) - tail.head);
  for (const values of [site.counterMeters ?? [], site.lateByMeter, site.lateByGridMeter, site.meterMaxTsMs, site.meterSeenMs, ...site.gridSeen]) bytes += arrayBytes(values);
  for (const size of site.sizes) {
    bytes += 1024 + 24 * size.open.length + 32 * size.demandWindows.length + 24 * size.demandIntervals.length + 80 * size.grid.length;
    for (const field of AGG_FIELDS) bytes += arrayBytes(size.frozen[field]);
    bytes += arrayBytes(size.historyStartMs) + arrayBytes(size.historyLoadWatts);
    if (size.swing !== null) bytes += arrayBytes(size.swing[1]) + arrayBytes(size.swing[2]);
  }
  return bytes;
}

function writeSite(w: ByteWriter, site: SiteState): void {
  w.str(site.site);
  for (const x of [site.frontierMs, site.acceptFromMs ?? site.frontierMs, site.maxTsMs, site.watermarkMs, site.dirtyFromMs, site.dirtyToMs ?? -Infinity, site.counterResets, site.passedUntilMs]) w.f64(x);
  w.bool(site.closed);
  w.bool(site.allStarted);
  writeTails(w, site.tails);
  w.f64s(site.counterMeters ?? []);
  w.f64s(site.lateByMeter);
  w.f64s(site.lateByGridMeter);
  w.f64s(site.meterMaxTsMs);
  w.f64s(site.meterSeenMs);
  w.u32(site.gridSeen.length);
  for (const seen of site.gridSeen) w.f64s(seen);
  w.u32(site.sizes.length);
  for (const size of site.sizes) writeSize(w, size);
}

function writeTails(w: ByteWriter, tails: readonly TailState[]): void {
  const n = tails.length;
  w.u32(n);
  w.reserve(n * 5);
  for (const tail of tails) w.u32Unchecked(tailPairs(tail) - tail.head);
  for (const tail of tails) w.u8Unchecked(tail.wattHours === null ? 0 : 1);
  for (const tail of tails) w.f64Values(tail.data, tail.head << 1, tailPairs(tail) << 1);
  for (const tail of tails) if (tail.wattHours !== null) w.f64Values(tail.wattHours, tail.head, tailPairs(tail));
}

function writeSize(w: ByteWriter, size: SizeSnapshot): void {
  w.f64(size.windowMs);
  w.f64(size.nextStartMs);
  w.bool(size.started);
  w.f64(size.frozen.startMs);
  for (const field of AGG_FIELDS) w.f64s(size.frozen[field]);
  w.f64s(size.open.flatMap((window) => [window.startMs, window.revision]));
  w.f64s(size.historyStartMs);
  w.f64s(size.historyLoadWatts);
  w.f64s(size.demandWindows.flatMap(([startMs, [energy, coveredMs]]) => [startMs, energy, coveredMs]));
  w.f64s(size.demandIntervals.flat());
  w.f64s(size.grid.flatMap(([startMs, sums]) => [startMs, ...GRID_FIELDS.map((field) => sums[field])]));
  w.bool(size.swing !== null);
  if (size.swing !== null) {
    w.f64(size.swing[0]);
    w.f64s(size.swing[1]);
    w.f64s(size.swing[2]);
  }
}

/** Site states of a version 2 snapshot (refuses versions not in `versions`). */
export function readWindowState(bytes: Uint8Array, versions: readonly number[]): SiteState[] {
  const version = binaryVersion(bytes);
  if (version === undefined || version !== WINDOW_SNAPSHOT_VERSION || !versions.includes(version)) {
    throw new SnapshotError(`${WHAT} snapshot has format version ${String(version ?? 'none')}; this build reads version ${versions.join(', ')}`);
  }
  const r = new ByteReader(bytes, WHAT);
  const count = r.u32();
  const sites: SiteState[] = [];
  for (let i = 0; i < count; i++) sites.push(readSite(r));
  r.done();
  return sites;
}

function readSite(r: ByteReader): SiteState {
  const site = r.str();
  const [frontierMs, acceptFromMs, maxTsMs, watermarkMs, dirtyFromMs, dirtyToMs, counterResets, passedUntilMs] = Array.from(r.f64Values(8));
  const closed = r.bool();
  const allStarted = r.bool();
  const tails = readTails(r);
  const counterMeters = Array.from(r.f64s());
  const lateByMeter = r.f64s();
  const lateByGridMeter = r.f64s();
  const meterMaxTsMs = r.f64s();
  const meterSeenMs = r.f64s();
  const gridSeen = Array.from({ length: r.u32() }, () => Array.from(r.f64s()));
  const sizes = Array.from({ length: r.u32() }, () => readSize(r));
  return {
    site,
    tails,
    frontierMs: frontierMs!,
    acceptFromMs: acceptFromMs!,
    counterMeters,
    maxTsMs: maxTsMs!,
    watermarkMs: watermarkMs!,
    dirtyFromMs: dirtyFromMs!,
    dirtyToMs: dirtyToMs!,
    closed,
    lateByMeter,
    lateByGridMeter,
    meterMaxTsMs,
    meterSeenMs,
    counterResets: counterResets!,
    passedUntilMs: passedUntilMs!,
    allStarted,
    gridSeen,
    sizes,
  };
}

function readTails(r: ByteReader): TailState[] {
  const n = r.u32();
  r.need(n * 5);
  const pairs = new Array<number>(n);
  let total = 0;
  for (let m = 0; m < n; m++) {
    pairs[m] = r.u32Unchecked();
    total += pairs[m]!;
  }
  const counter = new Array<boolean>(n);
  let counterTotal = 0;
  for (let m = 0; m < n; m++) {
    const flag = r.u8Unchecked();
    if (flag > 1) throw new SnapshotError(`${WHAT} snapshot is corrupt: counter flag ${flag}`);
    counter[m] = flag === 1;
    if (flag === 1) counterTotal += pairs[m]!;
  }
  const data = r.f64Values(total * 2);
  const wattHours = r.f64Values(counterTotal);
  const tails: TailState[] = [];
  let at = 0;
  let whAt = 0;
  for (let m = 0; m < n; m++) {
    const k = pairs[m]!;
    // The engine's tails are growable number arrays.
    const tail: TailState = { data: toArray(data, at << 1, (at + k) << 1), wattHours: null, head: 0 };
    if (counter[m]!) {
      tail.wattHours = toArray(wattHours, whAt, whAt + k);
      whAt += k;
    }
    at += k;
    tails.push(tail);
  }
  return tails;
}

function toArray(values: Float64Array, from: number, to: number): number[] {
  const out = new Array<number>(to - from);
  for (let i = from; i < to; i++) out[i - from] = values[i]!;
  return out;
}

function readSize(r: ByteReader): SizeSnapshot {
  const windowMs = r.f64();
  const nextStartMs = r.f64();
  const started = r.bool();
  const frozen = { startMs: r.f64() } as AggregatesState;
  for (const field of AGG_FIELDS) frozen[field] = r.f64s();
  const open = rows(r.f64s(), 2, (v, i) => ({ startMs: v[i]!, revision: v[i + 1]! }));
  const historyStartMs = r.f64s();
  const historyLoadWatts = r.f64s();
  const demandWindows = rows(r.f64s(), 3, (v, i): [number, [number, number]] => [v[i]!, [v[i + 1]!, v[i + 2]!]]);
  const demandIntervals = rows(r.f64s(), 2, (v, i): [number, number] => [v[i]!, v[i + 1]!]);
  const grid = rows(r.f64s(), 1 + GRID_FIELDS.length, (v, i): [number, GridSums] => {
    const sums = {} as GridSums;
    GRID_FIELDS.forEach((field, k) => {
      sums[field] = v[i + 1 + k]!;
    });
    return [v[i]!, sums];
  });
  let swing: SizeSnapshot['swing'] = null;
  if (r.bool()) swing = [r.f64(), r.f64s(), r.f64s()];
  return { windowMs, nextStartMs, started, frozen, open, historyStartMs, historyLoadWatts, demandWindows, demandIntervals, grid, swing };
}

/** Rows of `width` numbers each. */
function rows<T>(values: Float64Array, width: number, row: (values: Float64Array, at: number) => T): T[] {
  if (values.length % width !== 0) throw new SnapshotError(`${WHAT} snapshot is corrupt: ${values.length} numbers in rows of ${width}`);
  const out: T[] = [];
  for (let i = 0; i < values.length; i += width) out.push(row(values, i));
  return out;
}
