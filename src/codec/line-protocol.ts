/**
 * InfluxDB line protocol (as Telegraf's `data_format = "influx"` writes it): bytes → points.
 *
 * The whole language: escapes in measurement, tag and field names and string values
 * (measurement `\ ` `\,`; tag keys, tag values and field keys `\ ` `\,` `\=`; string values
 * `\"` `\\` `\n` `\r` `\t`; a backslash before any other character is kept as it is), floats
 * (decimal and Go-style hexadecimal, finite only), integers (`i`, int64), unsigned (`u`,
 * uint64), booleans (`t T true True TRUE f F false False FALSE`), strings (may hold raw new
 * lines), an optional timestamp in the given precision (int64 nanoseconds after scaling),
 * comments (`#` to the end of the line), blank lines, `\n` or `\r\n` line ends. Tokens must be
 * valid UTF-8. Tags come back sorted by key (bytewise, as InfluxDB stores them); a tag key
 * given twice is an error. Field keys may repeat (the last wins when stored).
 *
 * Times and integers are `bigint`: nanosecond times and int64/uint64 values pass 2^53.
 *
 * Each line is decoded on its own: a bad line gives one error (line and column, a sentence
 * saying what was expected) and decoding goes on with the next line. Never throws.
 */

export type LineProtocolPrecision = '1ns' | '1us' | '1ms' | '1s';

export const LINE_PROTOCOL_PRECISIONS: readonly LineProtocolPrecision[] = ['1ns', '1us', '1ms', '1s'];

/** Nanoseconds per unit of each precision. */
const NS_PER_UNIT: Record<LineProtocolPrecision, bigint> = { '1ns': 1n, '1us': 1_000n, '1ms': 1_000_000n, '1s': 1_000_000_000n };

export type FieldValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean };

export interface LineProtocolTag {
  readonly key: string;
  readonly value: string;
}

export interface LineProtocolField {
  readonly key: string;
  readonly value: FieldValue;
}

export interface LineProtocolPoint {
  readonly measurement: string;
  /** Sorted by key (bytewise). */
  readonly tags: readonly LineProtocolTag[];
  /** In the order written; at least one. */
  readonly fields: readonly LineProtocolField[];
  /** Nanoseconds since the Unix epoch. */
  readonly timeNs: bigint;
  /** 1-based line of the input the point starts on. */
  readonly line: number;
}

export interface LineProtocolError {
  /** 1-based line and column (in bytes) where the problem was found. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface LineProtocolResult {
  readonly points: LineProtocolPoint[];
  readonly errors: LineProtocolError[];
}

export interface LineProtocolOptions {
  /** Unit of the timestamps in the text. Default 1ns. */
  readonly precision?: LineProtocolPrecision;
  /** Time (ns) of a line without a timestamp, truncated to the precision. Default 0. */
  readonly defaultTimeNs?: bigint;
}

// ---------------------------------------------------------------------------------------
// byte classes

const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const HASH = 0x23;

type ByteSet = Uint8Array;

function byteSet(pred: (b: number) => boolean): ByteSet {
  const set = new Uint8Array(256);
  for (let b = 0; b < 256; b++) set[b] = pred(b) ? 1 : 0;
  return set;
}

const isNonPrintable = (b: number): boolean => b < 0x20 || b === 0x7f;
const isLineSpace = (b: number): boolean => b === SPACE || b === RETURN || b === NEWLINE;

/** Bytes a measurement may hold unescaped. */
const MEASUREMENT_CHARS = byteSet((b) => !isNonPrintable(b) && b !== SPACE && b !== COMMA);
/** Bytes a tag key, tag value or field key may hold unescaped. */
const KEY_CHARS = byteSet((b) => !isNonPrintable(b) && !isLineSpace(b) && b !== COMMA && b !== EQUALS);
/** Bytes of a string field value: anything but the closing quote. */
const STRING_CHARS = byteSet((b) => b !== QUOTE);
/** Bytes of an unquoted field value. */
const VALUE_CHARS = byteSet((b) => !isLineSpace(b) && b !== COMMA);
const TIME_CHARS = byteSet((b) => b === 0x2d || (b >= 0x30 && b <= 0x39));
const COMMENT_CHARS = byteSet((b) => !isNonPrintable(b));

/** Escape tables: the byte after a backslash → the byte it stands for (0: not an escape). */
function escapes(pairs: Record<string, string>): Uint8Array {
  const table = new Uint8Array(256);
  for (const [written, meant] of Object.entries(pairs)) table[written.charCodeAt(0)] = meant.charCodeAt(0);
  return table;
}
const MEASUREMENT_ESCAPES = escapes({ ' ': ' ', ',': ',' });
const KEY_ESCAPES = escapes({ ' ': ' ', ',': ',', '=': '=' });
const STRING_ESCAPES = escapes({ '\\': '\\', '"': '"', n: '\n', r: '\r', t: '\t' });

const BOOLEANS = new Map<string, boolean>([
  ['t', true], ['T', true], ['true', true], ['True', true], ['TRUE', true],
  ['f', false], ['F', false], ['false', false], ['False', false], ['FALSE', false],
]);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const DECIMAL_FLOAT = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_FLOAT = /^(-?)0[xX]((?:[0-9a-fA-F]_?)*[0-9a-fA-F]?)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;
const SIGNED_DIGITS = /^-?\d+$/;
const DIGITS = /^\d+$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** A problem in the current line; caught by the line loop, never escapes `decodeLineProtocol`. */
class SyntaxProblem {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** Decode a message (one or many lines). Never throws. */
export function decodeLineProtocol(input: Uint8Array | string, options: LineProtocolOptions = {}): LineProtocolResult {
  const bytes = typeof input === 'string' ? utf8Encoder.encode(input) : input;
  const parser = new LineParser(bytes, options.precision ?? '1ns', options.defaultTimeNs ?? 0n);
  return parser.parseAll();
}

class LineParser {
  private pos = 0;
  private readonly points: LineProtocolPoint[] = [];
  private readonly errors: LineProtocolError[] = [];
  private readonly defaultTimeNs: bigint;
  private readonly nsPerUnit: bigint;

  constructor(
    private readonly buf: Uint8Array,
    precision: LineProtocolPrecision,
    defaultTimeNs: bigint,
  ) {
    this.nsPerUnit = NS_PER_UNIT[precision];
    // Truncated to the precision: floor to a whole unit.
    const rem = ((defaultTimeNs % this.nsPerUnit) + this.nsPerUnit) % this.nsPerUnit;
    this.defaultTimeNs = defaultTimeNs - rem;
  }

  parseAll(): LineProtocolResult {
    for (;;) {
      const lineStart = this.pos;
      try {
        this.skipBlankLines();
        if (this.pos >= this.buf.length) break;
        this.points.push(this.parseEntry());
      } catch (problem) {
        if (!(problem instanceof SyntaxProblem)) throw problem;
        this.errors.push(this.located(problem));
        this.skipRestOfLine();
        if (this.pos === lineStart) this.pos++; // always make progress
      }
    }
    return { points: this.points, errors: this.errors };
  }

  // -------------------------------------------------------------------------------------
  // lines

  private skipBlankLines(): void {
    for (;;) {
      this.skipSpaces();
      const b = this.at(0);
      if (b === HASH) {
        const commentStart = this.pos;
        this.take(COMMENT_CHARS);
        if (!this.takeLineEnd()) {
          this.pos = commentStart;
          throw new SyntaxProblem(this.pos, 'invalid character found in comment line');
        }
      } else if (b === NEWLINE) {
        this.pos++;
      } else if (b === RETURN) {
        if (!this.takeLineEnd()) return; // a lone CR: the entry's measurement reports it
      } else {
        return;
      }
    }
  }

  private parseEntry(): LineProtocolPoint {
    const entryStart = this.pos;
    const measurement = this.parseMeasurement();
    const tags = this.parseTags();
    const fields = this.parseFields();
    const timeNs = this.hasTime ? this.parseTime() : this.defaultTimeNs;
    return { measurement, tags, fields, timeNs, line: this.lineAt(entryStart) };
  }

  private parseMeasurement(): string {
    const start = this.pos;
    const name = this.takeEscaped(MEASUREMENT_CHARS, MEASUREMENT_ESCAPES);
    if (name.length === 0) {
      if (this.atEnd()) throw new SyntaxProblem(start, 'no measurement name found');
      throw new SyntaxProblem(start, `invalid character ${quoteByte(this.at(0))} found at start of measurement name`);
    }
    this.takeTagComma();
    return name;
  }

  /** After the measurement or a tag value: a comma must be followed by a tag key. */
  private takeTagComma(): void {
    if (this.at(0) !== COMMA) return;
    this.pos++;
    if (this.atEnd()) throw new SyntaxProblem(this.pos, 'expected tag key after comma; got end of input');
    if (isLineSpace(this.at(0))) throw new SyntaxProblem(this.pos, 'expected tag key after comma; got white space instead');
  }

  private parseTags(): LineProtocolTag[] {
    const tags: { key: string; value: string; keyBytes: Uint8Array }[] = [];
    for (;;) {
      if (this.at(0) === SPACE) {
        this.skipSpaces();
        break;
      }
      const keyStart = this.pos;
      const key = this.takeEscaped(KEY_CHARS, KEY_ESCAPES);
      if (key.length === 0 || this.at(0) !== EQUALS) {
        if (this.atEnd()) {
          throw new SyntaxProblem(keyStart, key.length === 0
            ? 'expected tag key or field but found end of input instead'
            : `expected '=' after tag key ${JSON.stringify(key)}, but got end of input instead`);
        }
        if (key.length > 0) throw new SyntaxProblem(keyStart, `expected '=' after tag key ${JSON.stringify(key)}, but got ${quoteByte(this.at(0))} instead`);
        if (this.at(0) === EQUALS) throw new SyntaxProblem(keyStart, 'empty tag key');
        throw new SyntaxProblem(keyStart, `expected tag key or field but found ${quoteByte(this.at(0))} instead`);
      }
      this.pos++;
      const valueStart = this.pos;
      const value = this.takeEscaped(KEY_CHARS, KEY_ESCAPES);
      if (value.length === 0) throw new SyntaxProblem(valueStart, `expected tag value after tag key ${JSON.stringify(key)}, but none found`);
      tags.push({ key, value, keyBytes: utf8Encoder.encode(key) });
      if (this.atEnd()) break; // the field section reports the missing fields
      this.takeTagComma();
    }
    tags.sort((a, b) => compareBytes(a.keyBytes, b.keyBytes));
    for (let i = 1; i < tags.length; i++) {
      if (tags[i]!.key === tags[i - 1]!.key) throw new SyntaxProblem(this.pos, `duplicate tag key ${JSON.stringify(tags[i]!.key)}`);
    }
    return tags.map(({ key, value }) => ({ key, value }));
  }

  /** Set by parseFields: whether a timestamp section follows the fields. */
  private hasTime = false;

  private parseFields(): LineProtocolField[] {
    const fields: LineProtocolField[] = [];
    this.hasTime = false;
    for (;;) {
      const keyStart = this.pos;
      const key = this.takeEscaped(KEY_CHARS, KEY_ESCAPES);
      if (key.length === 0) {
        if (this.atEnd()) throw new SyntaxProblem(keyStart, 'expected field key but none found');
        throw new SyntaxProblem(keyStart, `invalid character ${quoteByte(this.at(0))} found at start of field key`);
      }
      if (this.atEnd()) throw new SyntaxProblem(this.pos, `want '=' after field key ${JSON.stringify(key)}, found end of input`);
      if (this.at(0) !== EQUALS) throw new SyntaxProblem(this.pos, `want '=' after field key ${JSON.stringify(key)}, found ${quoteByte(this.at(0))}`);
      this.pos++;
      fields.push({ key, value: this.parseFieldValue(key) });

      if (this.atEnd()) return fields;
      const next = this.at(0);
      if (next === COMMA) {
        this.pos++;
        continue;
      }
      if (!isLineSpace(next)) throw new SyntaxProblem(this.pos, `unexpected character ${quoteByte(next)} after field ${JSON.stringify(key)}`);
      this.skipSpaces();
      if (this.takeLineEnd()) return fields;
      this.hasTime = true;
      return fields;
    }
  }

  private parseFieldValue(key: string): FieldValue {
    const start = this.pos;
    if (this.atEnd()) throw new SyntaxProblem(start, `expected value for field ${JSON.stringify(key)}, found end of input`);
    const first = this.at(0);
    if (first === QUOTE) {
      this.pos++;
      const value = this.takeEscaped(STRING_CHARS, STRING_ESCAPES);
      if (this.at(0) !== QUOTE) throw new SyntaxProblem(start, `expected closing quote for string field ${JSON.stringify(key)}, found end of input`);
      this.pos++;
      return { kind: 'string', value };
    }
    if (first === SPACE || first === COMMA) throw new SyntaxProblem(start, `missing field value for field ${JSON.stringify(key)}`);
    const text = this.ascii(this.take(VALUE_CHARS));
    const bad = (why: string): SyntaxProblem => new SyntaxProblem(start, `cannot parse value for field key ${JSON.stringify(key)}: ${why}`);
    if (first === 0x74 || first === 0x54 || first === 0x66 || first === 0x46) {
      const value = BOOLEANS.get(text);
      if (value === undefined) throw bad(`invalid bool value ${JSON.stringify(text)}`);
      return { kind: 'bool', value };
    }
    if (first === 0x2d || first === 0x2e || (first >= 0x30 && first <= 0x39)) {
      const last = text[text.length - 1];
      if (last === 'i') {
        const digits = text.slice(0, -1);
        if (!SIGNED_DIGITS.test(digits)) throw bad(`invalid integer value syntax ${JSON.stringify(digits)}`);
        const value = BigInt(digits);
        if (value < INT64_MIN || value > INT64_MAX) throw bad(`integer ${digits} out of range`);
        return { kind: 'int', value };
      }
      if (last === 'u') {
        const digits = text.slice(0, -1);
        if (!DIGITS.test(digits)) throw bad(`invalid unsigned integer value syntax ${JSON.stringify(digits)}`);
        const value = BigInt(digits);
        if (value > UINT64_MAX) throw bad(`unsigned integer ${digits} out of range`);
        return { kind: 'uint', value };
      }
      const value = parseFloatText(text);
      if (value === undefined) throw bad(`invalid float value syntax ${JSON.stringify(text)}`);
      if (!Number.isFinite(value)) throw bad(`float ${text} out of range`);
      // -0 is 0 (as InfluxDB stores it and the corpus expects).
      return { kind: 'float', value: value === 0 ? 0 : value };
    }
    throw new SyntaxProblem(start, `value for field ${JSON.stringify(key)} (${JSON.stringify(text)}) has unrecognized type`);
  }

  private parseTime(): bigint {
    const start = this.pos;
    const text = this.ascii(this.take(TIME_CHARS));
    if (!this.atEnd()) {
      if (!isLineSpace(this.at(0))) {
        this.skipRestOfLineKeepingNewline();
        throw new SyntaxProblem(start, `invalid timestamp (${JSON.stringify(this.ascii(this.buf.subarray(start, this.pos)))})`);
      }
      this.skipSpaces();
      if (!this.atEnd() && !this.takeLineEnd()) throw new SyntaxProblem(this.pos, 'unexpected text after timestamp');
    }
    if (text.length === 0) return this.defaultTimeNs;
    if (!SIGNED_DIGITS.test(text)) throw new SyntaxProblem(start, `invalid timestamp (${JSON.stringify(text)})`);
    const units = BigInt(text);
    if (units < INT64_MIN || units > INT64_MAX) throw new SyntaxProblem(start, `invalid timestamp (${JSON.stringify(text)}): out of range`);
    const ns = units * this.nsPerUnit;
    if (ns < INT64_MIN || ns > INT64_MAX) throw new SyntaxProblem(start, `invalid timestamp (${JSON.stringify(text)}): out of range`);
    return ns;
  }

  // -------------------------------------------------------------------------------------
  // scanning

  private at(offset: number): number {
    const i = this.pos + offset;
    return i < this.buf.length ? this.buf[i]! : -1;
  }

  private atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  private take(set: ByteSet): Uint8Array {
    const start = this.pos;
    while (this.pos < this.buf.length && set[this.buf[this.pos]!] === 1) this.pos++;
    return this.buf.subarray(start, this.pos);
  }

  private skipSpaces(): void {
    while (this.at(0) === SPACE) this.pos++;
  }

  /** Consumes `\n`, `\r\n`, or a `\r` at the very end; true at the end of the input too. */
  private takeLineEnd(): boolean {
    const b = this.at(0);
    if (b === -1) return true;
    if (b === NEWLINE) {
      this.pos++;
      return true;
    }
    if (b === RETURN) {
      const after = this.at(1);
      if (after === -1 || after === NEWLINE) {
        this.pos += after === -1 ? 1 : 2;
        return true;
      }
    }
    return false;
  }

  private skipRestOfLine(): void {
    while (this.pos < this.buf.length && this.buf[this.pos] !== NEWLINE) this.pos++;
    if (this.pos < this.buf.length) this.pos++;
  }

  private skipRestOfLineKeepingNewline(): void {
    while (this.pos < this.buf.length && this.buf[this.pos] !== NEWLINE && this.buf[this.pos] !== RETURN) this.pos++;
  }

  /**
   * Bytes in `set`, where a backslash before a byte of `table` stands for that byte and a
   * backslash before anything else is kept (and the byte after it is judged on its own).
   */
  private takeEscaped(set: ByteSet, table: Uint8Array): string {
    const start = this.pos;
    const buf = this.buf;
    let out: number[] | undefined;
    let segmentStart = start;
    while (this.pos < buf.length) {
      const b = buf[this.pos]!;
      if (b !== BACKSLASH) {
        if (set[b] !== 1) break;
        this.pos++;
        continue;
      }
      if (this.pos + 1 >= buf.length) {
        this.pos = buf.length;
        break;
      }
      const meant = table[buf[this.pos + 1]!]!;
      if (meant === 0) {
        this.pos++;
        continue;
      }
      out ??= [];
      for (let i = segmentStart; i < this.pos; i++) out.push(buf[i]!);
      out.push(meant);
      this.pos += 2;
      segmentStart = this.pos;
    }
    let token: Uint8Array;
    if (out === undefined) {
      token = buf.subarray(start, this.pos);
    } else {
      for (let i = segmentStart; i < this.pos; i++) out.push(buf[i]!);
      token = Uint8Array.from(out);
    }
    try {
      return utf8.decode(token);
    } catch (err: unknown) {
      if (!(err instanceof TypeError)) throw err;
      throw new SyntaxProblem(start, 'invalid utf-8 sequence in token');
    }
  }

  /** Value and time tokens hold only ASCII by construction of the checks that follow. */
  private ascii(bytes: Uint8Array): string {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return s;
  }

  private lineAt(offset: number): number {
    let line = 1;
    for (let i = 0; i < offset && i < this.buf.length; i++) if (this.buf[i] === NEWLINE) line++;
    return line;
  }

  private located(problem: SyntaxProblem): LineProtocolError {
    let lineStart = 0;
    for (let i = 0; i < problem.offset && i < this.buf.length; i++) if (this.buf[i] === NEWLINE) lineStart = i + 1;
    const line = this.lineAt(problem.offset);
    return { line, column: problem.offset - lineStart + 1, message: `at line ${line}:${problem.offset - lineStart + 1}: ${problem.message}` };
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function quoteByte(b: number): string {
  if (b === -1) return 'end of input';
  return JSON.stringify(String.fromCharCode(b));
}

/** Go's strconv.ParseFloat on the forms a field value can start with; undefined = bad syntax. */
function parseFloatText(text: string): number | undefined {
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
