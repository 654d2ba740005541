/**
 * The byte layer of the binary snapshot formats (version 2 and later): a growable writer and a
 * bounds-checked reader over a Uint8Array, little-endian, with every string stored once in a
 * table at the end. Pure: Uint8Array and DataView only.
 *
 * Layout of a binary snapshot:
 *
 *    0  magic (4 ASCII bytes, one per format: "HRSW" windows, "HRSA" alerts)
 *    4  format version                              u16
 *    6  reserved, 0                                 u16
 *    8  offset of the string table                  u32
 *   12  body (the format's fields, in its order)
 *   ..  string table: count u32, then per string its UTF-8 length u32 and bytes
 *
 * A string in the body is its index in the table (u32). A number array is its length (u32), then
 * segments until that many numbers are given: a segment header u32 (count × 2 + 1 for a run of
 * one value, count × 2 for literals), then the run's value or the literals (float64). Runs of
 * identical values (same bits: NaN and -0 kept) of MIN_RUN or more are written once; the rest
 * is copied as bytes where the machine is little-endian too.
 */
import { SnapshotError } from './error.js';

const HEADER_BYTES = 12;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
/** Shortest run of one value written as a run. */
const MIN_RUN = 8;
/** "no string" (e.g. a site rule's node) as a string index. */
export const NO_STRING = 0xffffffff;

/** The last string looked up at one call site, and its index. */
export interface StringCache {
  s: string | undefined;
  index: number;
}

export const newStringCache = (): StringCache => ({ s: undefined, index: 0 });

export class ByteWriter {
  private bytes: Uint8Array;
  private view: DataView;
  /** Bytes written so far. */
  at = HEADER_BYTES;
  private readonly strings = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly magic: string,
    private readonly version: number,
    initialBytes = 1 << 16,
  ) {
    this.bytes = new Uint8Array(Math.max(initialBytes, 64));
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.at + n;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(x: number): void {
    this.reserve(1);
    this.bytes[this.at++] = x;
  }

  u32(x: number): void {
    this.reserve(4);
    this.view.setUint32(this.at, x, true);
    this.at += 4;
  }

  f64(x: number): void {
    this.reserve(8);
    this.view.setFloat64(this.at, x, true);
    this.at += 8;
  }

  /** Writes without a bounds check: the caller reserved the room (hot loops). */
  f64Unchecked(x: number): void {
    this.view.setFloat64(this.at, x, true);
    this.at += 8;
  }

  u32Unchecked(x: number): void {
    this.view.setUint32(this.at, x, true);
    this.at += 4;
  }

  u8Unchecked(x: number): void {
    this.bytes[this.at++] = x;
  }

  bool(x: boolean): void {
    this.u8(x ? 1 : 0);
  }

  /** A string as its index in the table. */
  str(s: string): void {
    this.u32(this.strIndex(s));
  }

  /** strIndex() for a string that often repeats at this call site: `cache` holds the last one. */
  strIndexCached(s: string, cache: StringCache): number {
    if (s !== cache.s) {
      cache.s = s;
      cache.index = this.strIndex(s);
    }
    return cache.index;
  }

  strIndex(s: string): number {
    let index = this.strings.get(s);
    if (index === undefined) {
      index = this.strings.size;
      this.strings.set(s, index);
    }
    return index;
  }

  /** A number array: its length, then its values in literal and run segments. */
  f64s(values: ArrayLike<number>): void {
    const n = values.length;
    this.u32(n);
    if (!(LITTLE_ENDIAN_HOST && values instanceof Float64Array)) {
      if (n > 0) this.u32(n * 2);
      this.f64Values(values);
      return;
    }
    // Compare bit patterns, two 32-bit words per number.
    const words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
    let literalFrom = 0;
    let i = 0;
    while (i < n) {
      const lo = words[i * 2]!;
      const hi = words[i * 2 + 1]!;
      let j = i + 1;
      while (j < n && words[j * 2] === lo && words[j * 2 + 1] === hi) j++;
      if (j - i >= MIN_RUN) {
        if (i > literalFrom) {
          this.u32((i - literalFrom) * 2);
          this.f64Values(values, literalFrom, i);
        }
        this.u32((j - i) * 2 + 1);
        this.f64(values[i]!);
        literalFrom = j;
      }
      i = j;
    }
    if (n > literalFrom) {
      this.u32((n - literalFrom) * 2);
      this.f64Values(values, literalFrom, n);
    }
  }

  /** Values only (the length is known to the reader). */
  f64Values(values: ArrayLike<number>, from = 0, to = values.length): void {
    const n = to - from;
    this.reserve(n * 8);
    if (LITTLE_ENDIAN_HOST && values instanceof Float64Array) {
      this.bytes.set(new Uint8Array(values.buffer, values.byteOffset + from * 8, n * 8), this.at);
      this.at += n * 8;
      return;
    }
    const view = this.view;
    let at = this.at;
    for (let i = from; i < to; i++) {
      view.setFloat64(at, values[i]!, true);
      at += 8;
    }
    this.at = at;
  }

  /** The snapshot: header, body, string table (a view of the writer's buffer, not a copy). */
  finish(): Uint8Array {
    const tableAt = this.at;
    this.u32(this.strings.size);
    for (const s of this.strings.keys()) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      this.reserve(4 + s.length * 3);
      const { written } = this.encoder.encodeInto(s, this.bytes.subarray(this.at + 4));
      this.view.setUint32(this.at, written, true);
      this.at += 4 + written;
    }
    for (let i = 0; i < 4; i++) this.bytes[i] = this.magic.charCodeAt(i);
    this.view.setUint16(4, this.version, true);
    this.view.setUint16(6, 0, true);
    this.view.setUint32(8, tableAt, true);
    return this.bytes.subarray(0, this.at);
  }
}

/** True when `bytes` start with the 4-byte `magic` of a binary snapshot. */
export function hasMagic(bytes: Uint8Array, magic: string): boolean {
  if (bytes.length < 4) return false;
  for (let i = 0; i < 4; i++) if (bytes[i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** The format version of a binary snapshot (header already known to carry the magic). */
export function binaryVersion(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(4, true);
}

/** Reads a binary snapshot; every read past the end throws SnapshotError (a truncated snapshot). */
export class ByteReader {
  private readonly view: DataView;
  at = HEADER_BYTES;
  readonly strings: string[];
  private readonly end: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < HEADER_BYTES) throw this.corrupt('shorter than its header');
    const tableAt = this.view.getUint32(8, true);
    if (tableAt < HEADER_BYTES || tableAt > bytes.length) throw this.corrupt('string table out of bounds');
    this.end = tableAt;
    this.strings = this.readTable(tableAt);
  }

  private corrupt(why: string): SnapshotError {
    return new SnapshotError(`${this.what} snapshot is corrupt: ${why}`);
  }

  private readTable(tableAt: number): string[] {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let at = tableAt;
    const need = (n: number): void => {
      if (at + n > this.bytes.length) throw this.corrupt('string table truncated');
    };
    need(4);
    const count = this.view.getUint32(at, true);
    at += 4;
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      need(4);
      const length = this.view.getUint32(at, true);
      at += 4;
      need(length);
      try {
        out[i] = decoder.decode(this.bytes.subarray(at, at + length));
      } catch (err: unknown) {
        throw new SnapshotError(`${this.what} snapshot is corrupt: a string is not UTF-8`, { cause: err });
      }
      at += length;
    }
    if (at !== this.bytes.length) throw this.corrupt(`${this.bytes.length - at} bytes after the string table`);
    return out;
  }

  /** Throws unless `n` more body bytes are there. */
  need(n: number): void {
    if (!(this.at + n <= this.end)) throw this.corrupt(`truncated at byte ${this.at}`);
  }

  /** Throws unless the body was read to its last byte. */
  done(): void {
    if (this.at !== this.end) throw this.corrupt(`${this.end - this.at} unread bytes`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.at++);
  }

  u32(): number {
    this.need(4);
    const x = this.view.getUint32(this.at, true);
    this.at += 4;
    return x;
  }

  f64(): number {
    this.need(8);
    const x = this.view.getFloat64(this.at, true);
    this.at += 8;
    return x;
  }

  /** Unchecked reads: the caller called need() for the whole run. */
  f64Unchecked(): number {
    const x = this.view.getFloat64(this.at, true);
    this.at += 8;
    return x;
  }

  u32Unchecked(): number {
    const x = this.view.getUint32(this.at, true);
    this.at += 4;
    return x;
  }

  u8Unchecked(): number {
    return this.view.getUint8(this.at++);
  }

  bool(): boolean {
    const x = this.u8();
    if (x > 1) throw this.corrupt(`boolean ${x} at byte ${this.at - 1}`);
    return x === 1;
  }

  str(): string {
    return this.string(this.u32());
  }

  string(index: number): string {
    const s = this.strings[index];
    if (s === undefined) throw this.corrupt(`string ${index} of ${this.strings.length}`);
    return s;
  }

  /** A number array written by ByteWriter.f64s, as a Float64Array. */
  f64s(): Float64Array {
    const n = this.u32();
    const out = new Float64Array(n);
    let at = 0;
    while (at < n) {
      const header = this.u32();
      const count = Math.floor(header / 2);
      if (count === 0 || at + count > n) throw this.corrupt(`segment of ${count} numbers at ${at} of ${n}`);
      if (header % 2 === 1) out.fill(this.f64(), at, at + count);
      else this.f64Into(out, at, count);
      at += count;
    }
    return out;
  }

  /** `n` float64 written by ByteWriter.f64Values. */
  f64Values(n: number): Float64Array {
    const out = new Float64Array(n);
    this.f64Into(out, 0, n);
    return out;
  }

  private f64Into(out: Float64Array, at: number, n: number): void {
    this.need(n * 8);
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer, out.byteOffset + at * 8, n * 8).set(this.bytes.subarray(this.at, this.at + n * 8));
      this.at += n * 8;
      return;
    }
    for (let i = 0; i < n; i++) out[at + i] = this.f64Unchecked();
  }
}
