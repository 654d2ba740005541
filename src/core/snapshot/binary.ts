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
 * is copied as bytes where the machine is little-endian too. ByteWriter (byte-writer.ts) writes
 * this layout, ByteReader (byte-reader.ts) reads it.
 */
export const HEADER_BYTES = 12;
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
/** Shortest run of one value written as a run. */
export const MIN_RUN = 8;
/** "no string" (e.g. a site rule's node) as a string index. */
export const NO_STRING = 0xffffffff;

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
