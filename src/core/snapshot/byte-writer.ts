/** Writes the binary snapshot layout of binary.ts into a growable buffer. */
import { HEADER_BYTES, LITTLE_ENDIAN_HOST, MIN_RUN } from './binary.js';

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
