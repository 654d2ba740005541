/** The bytes, escapes and value syntax of InfluxDB line protocol, as InfluxData's parser reads them. */
import type { FieldValue } from './types.js';
// byte classes

export const BACKSLASH = 0x5c;
export const NEWLINE = 0x0a;
export const RETURN = 0x0d;
export const SPACE = 0x20;
export const COMMA = 0x2c;
export const EQUALS = 0x3d;
export const QUOTE = 0x22;
export const HASH = 0x23;

export type ByteSet = Uint8Array;

export function byteSet(pred: (b: number) => boolean): ByteSet {
  const set = new Uint8Array(256);
  for (let b = 0; b < 256; b++) set[b] = pred(b) ? 1 : 0;
  return set;
}

export const isNonPrintable = (b: number): boolean => b < 0x20 || b === 0x7f;
export const isLineSpace = (b: number): boolean => b === SPACE || b === RETURN || b === NEWLINE;

/** Bytes a measurement may hold unescaped. */
export const MEASUREMENT_CHARS = byteSet((b) => !isNonPrintable(b) && b !== SPACE && b !== COMMA);
/** Bytes a tag key, tag value or field key may hold unescaped. */
export const KEY_CHARS = byteSet((b) => !isNonPrintable(b) && !isLineSpace(b) && b !== COMMA && b !== EQUALS);
/** Bytes of a string field value: anything but the closing quote. */
export const STRING_CHARS = byteSet((b) => b !== QUOTE);
/** Bytes of an unquoted field value. */
export const VALUE_CHARS = byteSet((b) => !isLineSpace(b) && b !== COMMA);
export const TIME_CHARS = byteSet((b) => b === 0x2d || (b >= 0x30 && b <= 0x39));
export const COMMENT_CHARS = byteSet((b) => !isNonPrintable(b));

/** Escape tables: the byte after a backslash → the byte it stands for (0: not an escape). */
export function escapes(pairs: Record<string, string>): Uint8Array {
  const table = new Uint8Array(256);
  for (const [written, meant] of Object.entries(pairs)) table[written.charCodeAt(0)] = meant.charCodeAt(0);
  return table;
}
export const MEASUREMENT_ESCAPES = escapes({ ' ': ' ', ',': ',' });
export const KEY_ESCAPES = escapes({ ' ': ' ', ',': ',', '=': '=' });
export const STRING_ESCAPES = escapes({ '\\': '\\', '"': '"', n: '\n', r: '\r', t: '\t' });

export const BOOLEANS = new Map<string, boolean>([
  ['t', true], ['T', true], ['true', true], ['True', true], ['TRUE', true],
  ['f', false], ['F', false], ['false', false], ['False', false], ['FALSE', false],
]);

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

export const DECIMAL_FLOAT = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
export const HEX_FLOAT = /^(-?)0[xX]((?:[0-9a-fA-F]_?)*[0-9a-fA-F]?)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;
export const SIGNED_DIGITS = /^-?\d+$/;
export const DIGITS = /^\d+$/;

export const utf8 = new TextDecoder('utf-8', { fatal: true });
export const utf8Encoder = new TextEncoder();

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function quoteByte(b: number): string {
  if (b === -1) return 'end of input';
  return JSON.stringify(String.fromCharCode(b));
}

/** Go's strconv.ParseFloat on the forms a field value can start with; undefined = bad syntax. */
export function parseFloatText(text: string): number | undefined {
  if (DECIMAL_FLOAT.test(text)) return Number(text);
  const hex = HEX_FLOAT.exec(text);
  if (hex === null) return undefined;
  const [, sign, intPart, fracPart = '', expPart] = hex;
  const intDigits = (intPart ?? '').replaceAll('_', '');
  if (intDigits.length + fracPart.length === 0) return undefined;
  const mantissa = BigInt(`0x${intDigits}${fracPart}` === '0x' ? '0x0' : `0x${intDigits}${fracPart}`);
  const exponent = Number(expPart) - 4 * fracPart.length;
  const magnitude = Number(mantissa) * 2 ** exponent;
  return sign === '-' ? -magnitude : magnitude;
}

/**
 * An unquoted field value by its first byte: a boolean (t T f F), or a number (- . digit)
 * whose last character says int (`i`), unsigned (`u`) or float. A string says why it is
 * wrong; undefined: no value type starts with that byte.
 */
export function typedValue(first: number, text: string): FieldValue | string | undefined {
  if (first === 0x74 || first === 0x54 || first === 0x66 || first === 0x46) {
    const value = BOOLEANS.get(text);
    return value === undefined ? `invalid bool value ${JSON.stringify(text)}` : { kind: 'bool', value };
  }
  if (!(first === 0x2d || first === 0x2e || (first >= 0x30 && first <= 0x39))) return undefined;
  const last = text[text.length - 1];
  if (last === 'i') {
    const digits = text.slice(0, -1);
    if (!SIGNED_DIGITS.test(digits)) return `invalid integer value syntax ${JSON.stringify(digits)}`;
    const value = BigInt(digits);
    return value < INT64_MIN || value > INT64_MAX ? `integer ${digits} out of range` : { kind: 'int', value };
  }
  if (last === 'u') {
    const digits = text.slice(0, -1);
    if (!DIGITS.test(digits)) return `invalid unsigned integer value syntax ${JSON.stringify(digits)}`;
    const value = BigInt(digits);
    return value > UINT64_MAX ? `unsigned integer ${digits} out of range` : { kind: 'uint', value };
  }
  const value = parseFloatText(text);
  if (value === undefined) return `invalid float value syntax ${JSON.stringify(text)}`;
  if (!Number.isFinite(value)) return `float ${text} out of range`;
  // -0 is 0 (as InfluxDB stores it and the corpus expects).
  return { kind: 'float', value: value === 0 ? 0 : value };
}
