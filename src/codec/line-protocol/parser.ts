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
  utf8Encoder,
  typedValue,
} from './lexicon.js';
import { Scanner, SyntaxProblem } from './scanner.js';
import { NS_PER_UNIT, type FieldValue, type LineProtocolError, type LineProtocolField, type LineProtocolOptions, type LineProtocolPoint, type LineProtocolPrecision, type LineProtocolResult, type LineProtocolTag } from './types.js';

/** Decode a message (one or many lines). Never throws. */
export function decodeLineProtocol(input: Uint8Array | string, options: LineProtocolOptions = {}): LineProtocolResult {
  const bytes = typeof input === 'string' ? utf8Encoder.encode(input) : input;
  const parser = new LineParser(bytes, options.precision ?? '1ns', options.defaultTimeNs ?? 0n);
  return parser.parseAll();
}

class LineParser extends Scanner {
  private readonly points: LineProtocolPoint[] = [];
  private readonly errors: LineProtocolError[] = [];
  private readonly defaultTimeNs: bigint;
  private readonly nsPerUnit: bigint;

  constructor(buf: Uint8Array, precision: LineProtocolPrecision, defaultTimeNs: bigint) {
    super(buf);
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
}
