// Lexes one G-code line (file, console or wire form) into command, parameters, comment, line number and checksum.

import { checksum } from './checksum.ts';

export interface GcodeLine {
  /** The line as given. */
  raw: string;
  /**
   * Normalised command word: `G1`, `M104`, `T0`, `G29.1` (upper case, no leading zeros), or an extended
   * command name such as `SET_PRINT_STATS_INFO`. Absent on blank and comment-only lines.
   */
  command?: string;
  /**
   * Classic words: upper-case letter → number, or string when the value is not a number (`P192.168.1.5`,
   * a quoted `S"ssid"`), or '' for a bare flag (`G28 X`). Extended commands: upper-case KEY → the value
   * string as written (never converted, so `NAME=007` stays '007', as Klipper hands it to handlers).
   */
  params: Record<string, number | string>;
  /** The whole argument of a string command (`M117 Hello world` → 'Hello world'); set only for those. */
  text?: string;
  /** `;` and `( )` comment text, trimmed; several comments are joined with a space. */
  comment?: string;
  /** The leading `N<n>` word. */
  lineNumber?: number;
  /** The number after the `*`. */
  checksum?: number;
  /** Whether `checksum` equals the XOR of the bytes before the `*`; set only when a checksum is present. */
  checksumValid?: boolean;
  /** True for Klipper-style `NAME KEY=VALUE` commands. */
  extended: boolean;
}

export interface LineError {
  /** What is wrong and where, e.g. `unclosed '(' comment starting at column 8`. */
  message: string;
  /** 1-based column in `raw`. */
  column: number;
  raw: string;
}

export type LineResult = { ok: true; line: GcodeLine } | { ok: false; error: LineError };

/**
 * Commands whose argument is free text kept whole (Marlin's string_arg list in its G-code parser):
 * M16 expected printer, M23/M28/M30/M32/M33 SD file names, M117/M118 messages, M810-M819 macros,
 * M928 SD logging.
 */
export const STRING_ARGUMENT_COMMANDS: ReadonlySet<string> = new Set([
  'M16',
  'M23',
  'M28',
  'M30',
  'M32',
  'M33',
  'M117',
  'M118',
  'M810',
  'M811',
  'M812',
  'M813',
  'M814',
  'M815',
  'M816',
  'M817',
  'M818',
  'M819',
  'M928',
]);

const SPACE = 32;
const TAB = 9;
const SEMICOLON = 59;
const HASH = 35;
const PAREN_OPEN = 40;
const STAR = 42;
const QUOTE = 34;
const APOSTROPHE = 39;
const EQUALS = 61;
const DOT = 46;
const PLUS = 43;
const MINUS = 45;
const UNDERSCORE = 95;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isWordChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === UNDERSCORE;
}

/** Length of the line without a trailing CR/LF. */
function contentEnd(raw: string): number {
  let end = raw.length;
  while (end > 0) {
    const c = raw.charCodeAt(end - 1);
    if (c !== 10 && c !== 13) break;
    end--;
  }
  return end;
}

function skipSpaces(raw: string, i: number, end: number): number {
  while (i < end && isSpace(raw.charCodeAt(i))) i++;
  return i;
}

/**
 * If a checksum starts at `star` (a `*`, digits, then only spaces up to `end` or a `;`), return the
 * index just after its digits; otherwise -1.
 */
function checksumEnd(raw: string, star: number, end: number): number {
  let j = star + 1;
  while (j < end && isDigit(raw.charCodeAt(j))) j++;
  if (j === star + 1) return -1;
  const k = skipSpaces(raw, j, end);
  if (k < end && raw.charCodeAt(k) !== SEMICOLON) return -1;
  return j;
}

class LineLexer {
  readonly line: GcodeLine;
  private readonly comments: string[] = [];
  private i: number;
  private readonly end: number;
  /** Start of the checksummed bytes: the first non-blank character. */
  private readonly start: number;

  constructor(private readonly raw: string) {
    this.line = { raw, params: {}, extended: false };
    this.end = contentEnd(raw);
    this.i = skipSpaces(raw, 0, this.end);
    this.start = this.i;
  }

  run(): LineResult {
    const { raw, end } = this;
    this.readLineNumber();
    const err = this.skipLeadingComments();
    if (err) return err;
    if (this.i >= end) return this.done();

    const c = raw.charCodeAt(this.i);
    if (c === STAR) return this.finishClassic();
    if (isLetter(c) && this.i + 1 < end && isDigit(raw.charCodeAt(this.i + 1))) {
      this.readClassicCommand();
      if (STRING_ARGUMENT_COMMANDS.has(this.line.command ?? '')) return this.finishStringArgument();
      return this.finishClassic();
    }
    if (isLetter(c) || c === UNDERSCORE) {
      let j = this.i + 1;
      while (j < end && isWordChar(raw.charCodeAt(j))) j++;
      const next = j < end ? raw.charCodeAt(j) : SPACE;
      if (j - this.i === 1) {
        return this.fail(`expected a number after '${raw.charAt(this.i)}'`, this.i + 1);
      }
      if (!isSpace(next) && next !== SEMICOLON && next !== HASH && next !== STAR) {
        return this.fail(`unexpected '${raw.charAt(j)}' in command name`, j);
      }
      this.line.command = raw.slice(this.i, j).toUpperCase();
      this.line.extended = true;
      this.i = j;
      return this.finishExtended();
    }
    return this.fail(
      `expected a command (a G, M or T word, or a command name), found '${raw.charAt(this.i)}'`,
      this.i,
    );
  }

  private readLineNumber(): void {
    const { raw, end } = this;
    const c = raw.charCodeAt(this.i);
    if ((c !== 78 && c !== 110) || this.i + 1 >= end || !isDigit(raw.charCodeAt(this.i + 1))) return;
    let j = this.i + 1;
    let n = 0;
    while (j < end && isDigit(raw.charCodeAt(j))) n = n * 10 + (raw.charCodeAt(j++) - 48);
    this.line.lineNumber = n;
    this.i = skipSpaces(raw, j, end);
  }

  private skipLeadingComments(): LineResult | undefined {
    for (;;) {
      if (this.i >= this.end) return undefined;
      const c = this.raw.charCodeAt(this.i);
      if (c === SEMICOLON) {
        this.readSemicolonComment();
        return undefined;
      }
      if (c !== PAREN_OPEN) return undefined;
      const err = this.readParenComment();
      if (err) return err;
      this.i = skipSpaces(this.raw, this.i, this.end);
    }
  }

  private readClassicCommand(): void {
    const { raw, end } = this;
    const letter = raw.charAt(this.i).toUpperCase();
    let j = this.i + 1;
    let n = 0;
    while (j < end && isDigit(raw.charCodeAt(j))) n = n * 10 + (raw.charCodeAt(j++) - 48);
    let command = letter + String(n);
    // Subcodes such as G29.1 or M862.3.
    if (j + 1 < end && raw.charCodeAt(j) === DOT && isDigit(raw.charCodeAt(j + 1))) {
      const subStart = ++j;
      while (j < end && isDigit(raw.charCodeAt(j))) j++;
      command += `.${raw.slice(subStart, j)}`;
    }
    this.line.command = command;
    this.i = j;
  }

  /** Classic words: `X10`, `Y-1.5`, `X10Y20`, flags (`G28 X`), strings (`P192.168.1.5`, `S"x y"`). */
  private finishClassic(): LineResult {
    const { raw, end, line } = this;
    for (;;) {
      this.i = skipSpaces(raw, this.i, end);
      if (this.i >= end) return this.done();
      const c = raw.charCodeAt(this.i);
      if (c === SEMICOLON) {
        this.readSemicolonComment();
        return this.done();
      }
      if (c === PAREN_OPEN) {
        const err = this.readParenComment();
        if (err) return err;
        continue;
      }
      if (c === STAR) return this.readChecksum();
      if (!isLetter(c)) {
        return this.fail(`unexpected '${raw.charAt(this.i)}', expected a parameter letter`, this.i);
      }
      const key = raw.charAt(this.i).toUpperCase();
      this.i++;
      // PrusaSlicer writes `M862.3 P "MK3S"`: a quoted value may follow the letter after blanks.
      const quote = skipSpaces(raw, this.i, end);
      if (quote < end && raw.charCodeAt(quote) === QUOTE) {
        this.i = quote;
        const quoted = this.readDoubleQuoted();
        if (typeof quoted !== 'string') return quoted;
        line.params[key] = quoted;
        continue;
      }
      line.params[key] = this.readClassicValue();
    }
  }

  private readClassicValue(): number | string {
    const { raw, end } = this;
    const start = this.i;
    let j = start;
    let digits = 0;
    let dots = 0;
    let valid = true;
    while (j < end) {
      const c = raw.charCodeAt(j);
      if (isDigit(c)) digits++;
      else if (c === DOT) dots++;
      else if (c === PLUS || c === MINUS) valid &&= j === start;
      else break;
      j++;
    }
    const next = j < end ? raw.charCodeAt(j) : SPACE;
    const boundary = isSpace(next) || next === SEMICOLON || next === PAREN_OPEN || next === STAR;
    if (j > start && valid && digits > 0 && dots <= 1 && (boundary || isLetter(next))) {
      this.i = j;
      return Number(raw.slice(start, j));
    }
    if (j === start && boundary) return '';
    // Not a number: the value is the text up to the next blank, comment or checksum.
    while (j < end) {
      const c = raw.charCodeAt(j);
      if (isSpace(c) || c === SEMICOLON || c === PAREN_OPEN || (c === STAR && checksumEnd(raw, j, end) >= 0))
        break;
      j++;
    }
    this.i = j;
    return raw.slice(start, j);
  }

  /** RepRapFirmware quoting: `"..."` with `""` standing for one quote. */
  private readDoubleQuoted(): string | LineResult {
    const { raw, end } = this;
    const open = this.i;
    let j = open + 1;
    let value = '';
    let from = j;
    for (;;) {
      if (j >= end) return this.fail('unterminated string starting', open);
      if (raw.charCodeAt(j) === QUOTE) {
        value += raw.slice(from, j);
        if (j + 1 < end && raw.charCodeAt(j + 1) === QUOTE) {
          value += '"';
          j += 2;
          from = j;
          continue;
        }
        this.i = j + 1;
        return value;
      }
      j++;
    }
  }

  /** `M117 Hello world`: everything up to a `;` comment or a trailing checksum is the argument. */
  private finishStringArgument(): LineResult {
    const { raw, end, line } = this;
    let stop = raw.indexOf(';', this.i);
    if (stop < 0 || stop > end) stop = end;
    let textEnd = stop;
    const star = raw.lastIndexOf('*', stop - 1);
    if (star >= this.i && checksumEnd(raw, star, stop) >= 0) textEnd = star;
    line.text = raw.slice(this.i, textEnd).trim();
    this.i = textEnd;
    if (textEnd !== stop) return this.readChecksum();
    if (stop < end) {
      this.i = stop;
      this.readSemicolonComment();
    }
    return this.done();
  }

  /**
   * Klipper's rules: whitespace-separated KEY=VALUE words, shell-style quotes, `;` and `#` start a
   * comment (klippy/gcode.py uses shlex with those commenters).
   */
  private finishExtended(): LineResult {
    const { raw, end, line } = this;
    for (;;) {
      this.i = skipSpaces(raw, this.i, end);
      if (this.i >= end) return this.done();
      const c = raw.charCodeAt(this.i);
      if (c === SEMICOLON || c === HASH) {
        this.readSemicolonComment();
        return this.done();
      }
      if (c === STAR && checksumEnd(raw, this.i, end) >= 0) return this.readChecksum();
      if (!isLetter(c) && c !== UNDERSCORE) {
        return this.fail(`unexpected '${raw.charAt(this.i)}', expected KEY=VALUE`, this.i);
      }
      const keyStart = this.i;
      let j = keyStart + 1;
      while (j < end && isWordChar(raw.charCodeAt(j))) j++;
      const key = raw.slice(keyStart, j);
      if (j >= end || raw.charCodeAt(j) !== EQUALS) {
        return this.fail(`expected '=' after parameter name '${key}'`, j);
      }
      this.i = j + 1;
      const value = this.readShellWord();
      if (typeof value !== 'string') return value;
      line.params[key.toUpperCase()] = value;
    }
  }

  private readShellWord(): string | LineResult {
    const { raw, end } = this;
    let value = '';
    let j = this.i;
    while (j < end) {
      const c = raw.charCodeAt(j);
      if (isSpace(c) || c === SEMICOLON || c === HASH) break;
      if (c === STAR && checksumEnd(raw, j, end) >= 0) break;
      if (c === QUOTE || c === APOSTROPHE) {
        const close = raw.indexOf(raw.charAt(j), j + 1);
        if (close < 0 || close >= end) return this.fail('unterminated string starting', j);
        value += raw.slice(j + 1, close);
        j = close + 1;
        continue;
      }
      value += raw.charAt(j);
      j++;
    }
    this.i = j;
    return value;
  }

  private readChecksum(): LineResult {
    const { raw, end, line } = this;
    const star = this.i;
    const after = checksumEnd(raw, star, end);
    if (after < 0) {
      let j = star + 1;
      while (j < end && isDigit(raw.charCodeAt(j))) j++;
      if (j === star + 1) return this.fail("expected digits after '*'", star + 1);
      return this.fail('unexpected text after the checksum', skipSpaces(raw, j, end));
    }
    line.checksum = Number(raw.slice(star + 1, after));
    line.checksumValid = checksum(raw.slice(this.start, star)) === line.checksum;
    this.i = skipSpaces(raw, after, end);
    if (this.i < end) this.readSemicolonComment();
    return this.done();
  }

  private readSemicolonComment(): void {
    const text = this.raw.slice(this.i + 1, this.end).trim();
    if (text !== '') this.comments.push(text);
    this.i = this.end;
  }

  private readParenComment(): LineResult | undefined {
    const close = this.raw.indexOf(')', this.i + 1);
    if (close < 0 || close >= this.end) return this.fail("unclosed '(' comment starting", this.i);
    const text = this.raw.slice(this.i + 1, close).trim();
    if (text !== '') this.comments.push(text);
    this.i = close + 1;
    return undefined;
  }

  private done(): LineResult {
    if (this.comments.length > 0) this.line.comment = this.comments.join(' ');
    return { ok: true, line: this.line };
  }

  private fail(what: string, index: number): LineResult {
    const column = index + 1;
    return { ok: false, error: { message: `${what} at column ${column}`, column, raw: this.raw } };
  }
}

/** Parse one G-code line. Never throws: malformed input gives `{ ok: false, error }`. */
export function parseLine(raw: string): LineResult {
  return new LineLexer(raw).run();
}

/**
 * The text to put on the wire for a line: comments, any `N<n>` and `*<sum>` the line already carries,
 * and surplus blanks removed (every byte counts against the firmware's RX buffer). Case is kept. '' when
 * there is nothing to send. Never fails: a malformed line is passed on for the firmware to reject.
 */
export function stripForWire(raw: string): string {
  const end = contentEnd(raw);
  let i = skipSpaces(raw, 0, end);
  // Drop an existing line number; the sender numbers lines itself.
  if (
    i + 1 < end &&
    (raw.charCodeAt(i) === 78 || raw.charCodeAt(i) === 110) &&
    isDigit(raw.charCodeAt(i + 1))
  ) {
    i++;
    while (i < end && isDigit(raw.charCodeAt(i))) i++;
    i = skipSpaces(raw, i, end);
  }
  // The first word decides how comments and quotes work.
  let j = i;
  while (j < end && isWordChar(raw.charCodeAt(j))) j++;
  const classic = j - i >= 2 && isLetter(raw.charCodeAt(i)) && isDigit(raw.charCodeAt(i + 1));
  const extended = !classic && j - i >= 2;
  let k = i + 1;
  while (classic && k < end && isDigit(raw.charCodeAt(k))) k++;

  if (classic && STRING_ARGUMENT_COMMANDS.has(normaliseClassic(raw.slice(i, k).toUpperCase()))) {
    let stop = raw.indexOf(';', i);
    if (stop < 0 || stop > end) stop = end;
    const star = raw.lastIndexOf('*', stop - 1);
    if (star >= i && checksumEnd(raw, star, stop) >= 0) stop = star;
    return raw.slice(i, stop).trim();
  }

  let out = '';
  let pendingSpace = false;
  while (i < end) {
    const c = raw.charCodeAt(i);
    if (isSpace(c)) {
      pendingSpace = out !== '';
      i++;
      continue;
    }
    if (c === SEMICOLON || (extended && c === HASH)) break;
    if (c === STAR && checksumEnd(raw, i, end) >= 0) break;
    if (!extended && c === PAREN_OPEN) {
      // Marlin's PAREN_COMMENTS: an unclosed one runs to the end of the line.
      const close = raw.indexOf(')', i + 1);
      if (close < 0 || close >= end) break;
      pendingSpace = out !== '';
      i = close + 1;
      continue;
    }
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    if (c === QUOTE || (extended && c === APOSTROPHE)) {
      const close = raw.indexOf(raw.charAt(i), i + 1);
      const stop = close < 0 || close >= end ? end : close + 1;
      out += raw.slice(i, stop);
      i = stop;
      continue;
    }
    out += raw.charAt(i);
    i++;
  }
  return out;
}

// `G01` and `G1` are the same command.
function normaliseClassic(word: string): string {
  let k = 1;
  while (k < word.length - 1 && word.charCodeAt(k) === 48) k++;
  return word.charAt(0) + word.slice(k);
}
