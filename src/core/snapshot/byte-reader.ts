/** Reads the binary snapshot layout of binary.ts, bounds-checked. */
import { HEADER_BYTES, LITTLE_ENDIAN_HOST } from './binary.js';
import { SnapshotError } from './error.js';

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
