/**
 * The byte scanner under the line protocol parser: a position in the message, byte classes,
 * line ends, escaped tokens decoded as UTF-8, and the line and column of a problem.
 */
import { BACKSLASH, type ByteSet, NEWLINE, RETURN, SPACE, utf8 } from './lexicon.js';
import type { LineProtocolError } from './types.js';

/** A problem in the current line; caught by the line loop, never escapes `decodeLineProtocol`. */
export class SyntaxProblem {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

export class Scanner {
  protected pos = 0;

  constructor(protected readonly buf: Uint8Array) {}


  protected at(offset: number): number {
    const i = this.pos + offset;
    return i < this.buf.length ? this.buf[i]! : -1;
  }

  protected atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  protected take(set: ByteSet): Uint8Array {
    const start = this.pos;
    while (this.pos < this.buf.length && set[this.buf[this.pos]!] === 1) this.pos++;
    return this.buf.subarray(start, this.pos);
  }

  protected skipSpaces(): void {
    while (this.at(0) === SPACE) this.pos++;
  }

  /** Consumes `\n`, `\r\n`, or a `\r` at the very end; true at the end of the input too. */
  protected takeLineEnd(): boolean {
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

  protected skipRestOfLine(): void {
    while (this.pos < this.buf.length && this.buf[this.pos] !== NEWLINE) this.pos++;
    if (this.pos < this.buf.length) this.pos++;
  }

  protected skipRestOfLineKeepingNewline(): void {
    while (this.pos < this.buf.length && this.buf[this.pos] !== NEWLINE && this.buf[this.pos] !== RETURN) this.pos++;
  }

  /**
   * Bytes in `set`, where a backslash before a byte of `table` stands for that byte and a
   * backslash before anything else is kept (and the byte after it is judged on its own).
   */
  protected takeEscaped(set: ByteSet, table: Uint8Array): string {
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
  protected ascii(bytes: Uint8Array): string {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return s;
  }

  protected lineAt(offset: number): number {
    let line = 1;
    for (let i = 0; i < offset && i < this.buf.length; i++) if (this.buf[i] === NEWLINE) line++;
    return line;
  }

  protected located(problem: SyntaxProblem): LineProtocolError {
    let lineStart = 0;
    for (let i = 0; i < problem.offset && i < this.buf.length; i++) if (this.buf[i] === NEWLINE) lineStart = i + 1;
    const line = this.lineAt(problem.offset);
    return { line, column: problem.offset - lineStart + 1, message: `at line ${line}:${problem.offset - lineStart + 1}: ${problem.message}` };
  }
}
