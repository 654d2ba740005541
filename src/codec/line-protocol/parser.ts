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
import {
  BACKSLASH,
  type ByteSet,
  COMMA,
  COMMENT_CHARS,
  EQUALS,
  HASH,
  INT64_MAX,
  INT64_MIN,
  KEY_CHARS,
  KEY_ESCAPES,
  MEASUREMENT_CHARS,
  MEASUREMENT_ESCAPES,
  NEWLINE,
  QUOTE,
  RETURN,
  SIGNED_DIGITS,
  SPACE,
  STRING_CHARS,
  STRING_ESCAPES,
  TIME_CHARS,
  VALUE_CHARS,
  compareBytes,
  isLineSpace,
  quoteByte,
  utf8,
  utf8Encoder,
  typedValue,
} from './lexicon.js';
import { NS_PER_UNIT, type FieldValue, type LineProtocolError, type LineProtocolField, type LineProtocolOptions, type LineProtocolPoint, type LineProtocolPrecision, type LineProtocolResult, type LineProtocolTag } from './types.js';

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
    const typed = typedValue(first, text);
    if (typed === undefined) throw new SyntaxProblem(start, `value for field ${JSON.stringify(key)} (${JSON.stringify(text)}) has unrecognized type`);
    if (typeof typed === 'string') throw new SyntaxProblem(start, `cannot parse value for field key ${JSON.stringify(key)}: ${typed}`);
    return typed;
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
