/**
 * Delimited numeric text (CSV, TSV, whitespace-separated) parsed byte by byte into a growable
 * Float64Array — browser-safe (no Node APIs), shared by the Node file reader, which streams chunks
 * into a {@link TextParser}, and {@link parseDelimited} for text already in memory (a browser's File).
 * Numbers are parsed exactly: every value equals `Number(token)` bit for bit.
 */
import { InvalidArgumentError, InvalidDataError } from '../errors.js';

export type DataFileFormat = 'csv' | 'tsv' | 'whitespace' | 'npy';

/** A data file's contents: `rows` points of `cols` values, row-major. */
export interface LoadedData {
  data: Float64Array | Float32Array;
  rows: number;
  cols: number;
  format: DataFileFormat;
  /** The first non-empty row was not numeric and was skipped as a header. */
  headerSkipped: boolean;
  /** The skipped header's cells (surrounding double quotes removed), when `headerSkipped`. */
  header?: string[];
}

const utf8 = new TextDecoder();
function decode(b: Uint8Array, start: number, end: number): string {
  return utf8.decode(b.subarray(start, end));
}

const TWO_53 = 9007199254740992;
// Powers of ten that are exactly representable as doubles.
const POW10 = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
/** 10^k = P10_HI[k] + P10_LO[k] exactly, for k ≤ DD_MAX_EXP (5^k fits in 106 bits up to k = 45). */
const DD_MAX_EXP = 44;
const P10_HI = new Float64Array(DD_MAX_EXP + 1);
const P10_LO = new Float64Array(DD_MAX_EXP + 1);
for (let k = 0; k <= DD_MAX_EXP; k++) {
  const exact = 10n ** BigInt(k);
  P10_HI[k] = Number(exact);
  P10_LO[k] = Number(exact - BigInt(P10_HI[k]!));
}
const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp split)
const TWO_M96 = 2 ** -96;

/** The exact rounding error of the product `p = fl(a * b)` (Dekker's TwoProduct): a·b = p + error. */
function productError(a: number, b: number, p: number): number {
  let c = SPLITTER * a;
  const ah = c - (c - a), al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b), bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/**
 * (mh + ml) · 10^q correctly rounded, where mh + ml (|ml| ≤ ulp(mh)/2) is an exact integer below
 * 10^19 and |q| ≤ 44, or NaN when that cannot be certified. The product / quotient is computed in
 * double-double arithmetic (relative error below 2^-100); the result is returned only when both ends
 * of a 2^-96 interval around that approximation round to the same double, which by monotonicity of
 * rounding is then the correctly rounded value (all that is ever declined is within 2^-96 of a
 * rounding boundary — for inputs of at most 19 digits, almost never).
 */
function scaleDoubleDouble(mh: number, ml: number, q: number): number {
  let vh: number, vl: number;
  if (q === 0) return mh + ml; // an exact sum rounded once
  if (q > 0) {
    if (q > DD_MAX_EXP) return NaN;
    const pH = P10_HI[q]!, pL = P10_LO[q]!;
    const a = mh * pH;
    const rest = productError(mh, pH, a) + (mh * pL + ml * pH);
    vh = a + rest;
    vl = rest - (vh - a);
  } else {
    if (q < -DD_MAX_EXP) return NaN;
    const pH = P10_HI[-q]!, pL = P10_LO[-q]!;
    const q1 = mh / pH;
    const p = q1 * pH;
    const r = mh - p - productError(q1, pH, p) + ml - q1 * pL; // the remainder m − q1·10^|q|
    const q2 = r / pH;
    vh = q1 + q2;
    vl = q2 - (vh - q1);
  }
  const d = Math.abs(vh) * TWO_M96;
  const up = vh + (vl + d);
  return up === vh + (vl - d) ? up : NaN;
}

export const COMMA = 44, TAB = 9, SPACE = 32, CR = 13, LF = 10;
/** Field separation: a comma, a tab, or runs of spaces / tabs. */
export type Mode = typeof COMMA | typeof TAB | 0;
const NON_FINITE_WORD = /^[+-]?(nan|inf|infinity)$/i;

/**
 * The fast path of the number parser, for a decimal `[+-]digits[.digits][(e|E)[+-]digits]` with at
 * most 19 significant digits (zeros beyond those are fine). Up to 15 digits (or a significand below
 * 2^53) with a decimal exponent within ±22 take one exactly rounded multiplication or division
 * (Clinger's fast path); longer significands or exponents up to ±44 take the certified double-double
 * path of `scaleDoubleDouble`. Either way the result equals `Number(text)` bit for bit. Returns NaN for
 * anything else (more digits, a larger exponent, hex, `Infinity`, not a number, or the rare
 * uncertifiable near-tie); the caller then falls back to `Number(text)`.
 * @internal exported for tests.
 */
export function fastParseNumber(b: Uint8Array, start: number, end: number): number {
  const v = parsePrefix(b, start, end);
  return prefixEnd === end ? v : NaN;
}

/** Where the number `parsePrefix` read ends (valid when it returned a number). */
let prefixEnd = 0;

/**
 * `fastParseNumber` for the longest number-like prefix of `b[start, end)`: returns its value and sets
 * `prefixEnd` to where it stops, or returns NaN. The caller checks that a separator follows.
 */
function parsePrefix(b: Uint8Array, start: number, end: number): number {
  let i = start;
  let neg = false;
  let c = b[i]!;
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) {
    i++;
  }
  // Significand = h · 10^nl + l, with h holding the first (up to) 15 significant digits and l the
  // next (up to) 4; nd counts significant digits (leading zeros are not significant).
  let h = 0, l = 0, nl = 0, nd = 0;
  let exp10 = 0;
  let digits = false;
  while (i < end) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) break;
    digits = true;
    i++;
    if (nd < 15) {
      h = h * 10 + d;
      if (h !== 0) nd++;
    } else if (nd < 19) {
      l = l * 10 + d;
      nl++;
      nd++;
    } else if (d === 0) {
      exp10++; // an integer-part zero beyond 19 digits: scale instead of storing it
    } else {
      return NaN;
    }
  }
  if (i < end && b[i] === 46) {
    i++;
    while (i < end) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) break;
      digits = true;
      i++;
      if (nd < 15) {
        h = h * 10 + d;
        if (h !== 0) nd++;
        exp10--;
      } else if (nd < 19) {
        l = l * 10 + d;
        nl++;
        nd++;
        exp10--;
      } else if (d !== 0) {
        return NaN; // a fraction zero beyond 19 digits changes nothing; anything else is inexact here
      }
    }
  }
  if (!digits) return NaN;
  if (i < end && (b[i]! | 32) === 101) {
    // 'e' or 'E'
    i++;
    let eneg = false;
    if (i < end && b[i] === 45) {
      eneg = true;
      i++;
    } else if (i < end && b[i] === 43) {
      i++;
    }
    const es = i;
    let ev = 0;
    while (i < end) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) break;
      if (ev < 100000) ev = ev * 10 + d;
      i++;
    }
    if (i === es) return NaN;
    exp10 += eneg ? -ev : ev;
  }
  prefixEnd = i;
  if (h === 0) return neg ? -0 : 0; // no significant digit: zero
  let m = h; // the significand when it is an exact double below 2^53
  if (nl > 0) {
    const ph = h * POW10[nl]!;
    m = ph + l;
    if (!(m < TWO_53)) {
      // Exact significand as a double-double: h·10^nl = ph + e exactly, e and l small integers.
      const t = productError(h, POW10[nl]!, ph) + l;
      const mh = ph + t;
      const r = scaleDoubleDouble(mh, t - (mh - ph), exp10);
      return neg ? -r : r;
    }
  }
  let r: number;
  if (exp10 === 0) r = m;
  else if (exp10 > 0 && exp10 <= 22) r = m * POW10[exp10]!;
  else if (exp10 < 0 && exp10 >= -22) r = m / POW10[-exp10]!;
  else r = scaleDoubleDouble(m, 0, exp10);
  return neg ? -r : r;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Streaming text parser: fed whole lines (ending in "\n", "\r\n" or "\r"), it appends values to a growable Float64Array. */
export class TextParser {
  out: Float64Array = new Float64Array(4096);
  n = 0;
  rows = 0;
  cols = 0;
  /** 1-based number of the line being parsed (blank lines count). */
  line = 0;
  firstDataLine = 0;
  sawContent = false;
  header: string[] | undefined;
  headerLine = 0;
  mode: Mode;
  private readonly detect: boolean;
  /** The last `feed` ended with a "\r": a "\n" beginning the next one completes that line break. */
  private endedInCR = false;

  constructor(
    readonly path: string,
    /** -1: detect from the first non-empty line. */
    mode: Mode | -1,
    /** Reject negative values (weights). */
    readonly nonneg: boolean,
  ) {
    this.mode = mode === -1 ? 0 : mode;
    this.detect = mode === -1;
  }

  /**
   * Parses the lines in `b[start, end)`. A line ends at "\n", "\r\n" or a lone "\r" (classic Mac);
   * the last one may lack its break only at end of input. A "\r\n" pair split across two calls (this
   * one ending in "\r", the next beginning with "\n") is one line break.
   */
  feed(b: Uint8Array, start: number, end: number): void {
    const nonneg = this.nonneg;
    let pos = start;
    if (this.endedInCR && pos < end) {
      this.endedInCR = false;
      if (b[pos] === LF) pos++; // the "\n" of a "\r\n" begun in the last call
    }
    if (pos >= end) return;
    this.endedInCR = b[end - 1] === CR;
    // The next LF and CR at or after `pos` (`end` when none). Each is searched for again only once
    // passed, so input without a CR (or without an LF) costs one scan for it per call; `upTo` (same
    // offsets as `b`) keeps those scans from running past `end`.
    const upTo = end < b.length ? b.subarray(0, end) : b;
    let lf = -1;
    let cr = -1;
    while (pos < end) {
      if (lf < pos) {
        lf = upTo.indexOf(LF, pos);
        if (lf < 0) lf = end;
      }
      if (cr < pos) {
        cr = upTo.indexOf(CR, pos);
        if (cr < 0) cr = end;
      }
      const s = pos;
      let e: number;
      if (cr < lf) {
        e = cr; // "\r\n" or a lone "\r"
        pos = cr + 1 === lf ? lf + 1 : cr + 1;
      } else {
        e = lf;
        pos = lf + 1;
      }
      this.line++;
      let k = s;
      while (k < e && (b[k] === SPACE || b[k] === TAB)) k++;
      if (k === e) continue; // blank line
      if (!this.sawContent) {
        this.sawContent = true;
        if (this.firstLine(b, k, e)) continue;
      }
      const mode = this.mode;
      let out = this.out;
      let n = this.n;
      let count = 0;
      if (mode === 0) {
        let i = k;
        for (;;) {
          while (i < e && (b[i] === SPACE || b[i] === TAB)) i++;
          if (i >= e) break;
          const ts = i;
          let v = parsePrefix(b, i, e);
          i = prefixEnd;
          if (v !== v || (i < e && b[i] !== SPACE && b[i] !== TAB)) {
            // Not a plain decimal the fast path can take: the whole token goes to Number().
            i = ts;
            while (i < e && b[i] !== SPACE && b[i] !== TAB) i++;
            v = this.slowToken(b, ts, i, count);
          }
          if (nonneg && v < 0) this.negative(b, ts, i, count);
          if (n === out.length) out = this.grow(n);
          out[n++] = v;
          count++;
        }
      } else {
        const delim = mode;
        let i = s;
        for (;;) {
          while (i < e && (b[i] === SPACE || (b[i] === TAB && delim !== TAB))) i++;
          const ts = i;
          let v = i < e ? parsePrefix(b, i, e) : NaN;
          let te = prefixEnd;
          if (v === v) {
            i = te;
            while (i < e && (b[i] === SPACE || (b[i] === TAB && delim !== TAB))) i++;
            if (i < e && b[i] !== delim) v = NaN;
          }
          if (v !== v) {
            // Not a plain decimal the fast path can take: the whole cell goes to Number().
            i = ts;
            while (i < e && b[i] !== delim) i++;
            te = i;
            while (te > ts && (b[te - 1] === SPACE || b[te - 1] === TAB)) te--;
            if (te === ts) this.emptyCell(count);
            v = this.slowToken(b, ts, te, count);
          }
          if (nonneg && v < 0) this.negative(b, ts, te, count);
          if (n === out.length) out = this.grow(n);
          out[n++] = v;
          count++;
          if (i >= e) break;
          i++; // the delimiter
        }
      }
      this.n = n;
      if (this.cols === 0) {
        this.cols = count;
        this.firstDataLine = this.line;
        if (this.header && this.header.length !== count) {
          this.fail(`line ${this.line} has ${plural(count, 'value')} but the header (line ${this.headerLine}) has ${plural(this.header.length, 'column')}`, this.rows);
        }
      } else if (count !== this.cols) {
        this.fail(`line ${this.line} has ${plural(count, 'value')} but line ${this.firstDataLine} has ${this.cols}`, this.rows);
      }
      this.rows++;
    }
  }

  /** Detects the separator (when asked to) and whether the line is a header. Returns true to skip it. */
  private firstLine(b: Uint8Array, s: number, e: number): boolean {
    if (this.detect) {
      let hasTab = false;
      let mode: Mode = 0;
      for (let i = s; i < e; i++) {
        if (b[i] === COMMA) {
          mode = COMMA;
          break;
        }
        if (b[i] === TAB) hasTab = true;
      }
      if (mode !== COMMA && hasTab) {
        // Tab-separated, unless tabs and spaces are mixed as separators between numbers
        // ("1 2\t3"): a tab-separated cell with an inner space, on a line whose whitespace-separated
        // tokens are all numbers, means the separator is runs of spaces / tabs.
        const text = decode(b, s, e);
        const innerSpace = text.split('\t').some((cell) => /\S +\S/.test(cell));
        const allNumeric = text.trim().split(/[ \t]+/).every(looksNumeric);
        mode = innerSpace && allNumeric ? 0 : TAB;
      }
      this.mode = mode;
    }
    const cells: string[] = [];
    const mode = this.mode;
    if (mode === 0) {
      let i = s;
      for (;;) {
        while (i < e && (b[i] === SPACE || b[i] === TAB)) i++;
        if (i >= e) break;
        const ts = i;
        while (i < e && b[i] !== SPACE && b[i] !== TAB) i++;
        cells.push(decode(b, ts, i));
      }
    } else {
      const text = decode(b, s, e);
      for (const cell of text.split(mode === COMMA ? ',' : '\t')) cells.push(cell.replace(/^[ \t]+|[ \t]+$/g, ''));
    }
    const isHeader = cells.some((cell) => cell !== '' && !looksNumeric(cell));
    if (!isHeader) return false;
    this.header = cells.map((cell) => (cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"') ? cell.slice(1, -1) : cell));
    this.headerLine = this.line;
    return true;
  }

  /** A token the fast path declined: parse it with `Number()`, or throw the right error. */
  private slowToken(b: Uint8Array, s: number, e: number, col: number): number {
    const text = decode(b, s, e);
    const v = text.trim() === '' ? NaN : Number(text);
    if (Number.isFinite(v)) return v;
    const where = `line ${this.line}, column ${col + 1}`;
    const word = text.trim();
    if (NON_FINITE_WORD.test(word)) {
      const what = /nan/i.test(word) ? 'NaN' : word.startsWith('-') ? '-Infinity' : 'Infinity';
      this.fail(`${where} is ${what} (values must be finite)`, this.rows, col);
    }
    if (v === Infinity || v === -Infinity) {
      this.fail(`${where}: ${quote(text)} overflows to ${v} (values must be finite)`, this.rows, col);
    }
    this.fail(`${where}: ${quote(text)} is not a number`, this.rows, col);
  }

  private negative(b: Uint8Array, s: number, e: number, col: number): never {
    const text = decode(b, s, e);
    this.fail(`line ${this.line}, column ${col + 1}: weight ${text} is negative (weights must be ≥ 0)`, this.rows, col);
  }

  private emptyCell(col: number): never {
    this.fail(`line ${this.line}, column ${col + 1} is empty`, this.rows, col);
  }

  private fail(message: string, row?: number, col?: number): never {
    throw new InvalidDataError(`${this.path}: ${message}`, row, col);
  }

  /** Doubles the value buffer (keeping the first `n` values) and returns it. */
  grow(n: number, atLeast = 0): Float64Array {
    const cap = Math.max(this.out.length * 2, atLeast);
    let next: Float64Array;
    try {
      next = new Float64Array(cap);
    } catch {
      this.fail(`too large to load (${plural(n, 'value')} read so far, could not allocate room for ${plural(cap, 'value')})`);
    }
    next.set(this.out.subarray(0, n));
    this.out = next;
    return next;
  }

  /** Grows the buffer once to an estimate of the final size (saves repeated doubling). */
  reserve(values: number): void {
    if (values > this.out.length) {
      try {
        const next = new Float64Array(values);
        next.set(this.out.subarray(0, this.n));
        this.out = next;
      } catch {
        // Estimate too large to allocate up front: keep doubling instead.
      }
    }
  }

  /** Ends the parse: the matrix read, or an error for input without data rows. */
  finish(): LoadedData {
    const path = this.path;
    if (!this.sawContent) throw new InvalidDataError(`${path}: the file is empty`);
    if (this.rows === 0) throw new InvalidDataError(`${path}: no data rows after the header`);
    const format: DataFileFormat = this.mode === COMMA ? 'csv' : this.mode === TAB ? 'tsv' : 'whitespace';
    const loaded: LoadedData = { data: this.result(), rows: this.rows, cols: this.cols, format, headerSkipped: this.header !== undefined };
    if (this.header) loaded.header = this.header;
    return loaded;
  }

  /** The values read, trimmed to length (a view when little space is wasted, else a copy). */
  result(): Float64Array {
    const { out, n } = this;
    return out.length - n > Math.max(n >> 4, 4096) ? out.slice(0, n) : out.subarray(0, n);
  }
}

function looksNumeric(cell: string): boolean {
  if (NON_FINITE_WORD.test(cell)) return true;
  if (cell.trim() === '') return false;
  return !Number.isNaN(Number(cell));
}

/** 3 when `bytes` begins with a UTF-8 byte-order mark (which the parser must skip), else 0. */
export function byteOrderMarkLength(bytes: Uint8Array): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** Options of {@link parseDelimited}. */
export interface ParseDelimitedOptions {
  /** Names the input in error messages (e.g. the file name). Default "data". */
  name?: string;
  /** The separator; `'auto'` (default) detects it from the first non-empty line. */
  format?: 'csv' | 'tsv' | 'whitespace' | 'auto';
}

const PARSE_DELIMITED_FORMATS = ['csv', 'tsv', 'whitespace', 'auto'];
const PARSE_DELIMITED_OPTIONS = ['name', 'format'];

function describeArgument(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `a ${Object.prototype.toString.call(v).slice(8, -1)}`;
  return typeof v;
}

/**
 * parseDelimited's argument checks, up front: anything else would be parsed as something it is not
 * (a number as no bytes — "no data rows" — a Float64Array as its values cast to bytes) or fall back
 * silently (an unknown format as 'auto'). Tags, not instanceof, so buffers from another realm pass.
 */
function checkParseDelimitedArguments(input: unknown, options: unknown): void {
  const tag = typeof input === 'object' && input !== null ? Object.prototype.toString.call(input) : '';
  const bytes = ArrayBuffer.isView(input) ? tag === '[object Uint8Array]' : tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]';
  if (typeof input !== 'string' && !bytes) {
    throw new InvalidArgumentError(
      'input',
      `input must be the text as a string, or its UTF-8 bytes as a Uint8Array or an ArrayBuffer, got ${describeArgument(input)}`,
    );
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError('options', `options must be an object { name?, format? }, got ${describeArgument(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!PARSE_DELIMITED_OPTIONS.includes(key)) {
      throw new InvalidArgumentError(key, `unknown option "${key}"; valid options are: ${PARSE_DELIMITED_OPTIONS.join(', ')}`);
    }
  }
  const { name, format } = options as Record<string, unknown>;
  if (name !== undefined && typeof name !== 'string') {
    throw new InvalidArgumentError('name', `name must be a string (naming the input in error messages), got ${describeArgument(name)}`);
  }
  if (format !== undefined && !PARSE_DELIMITED_FORMATS.includes(format as string)) {
    throw new InvalidArgumentError(
      'format',
      `format must be one of ${PARSE_DELIMITED_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${describeArgument(format)}`,
    );
  }
}

/**
 * Parses delimited numeric text held in memory — a string, or UTF-8 bytes such as a browser
 * `File`'s `arrayBuffer()` — with the same rules as the CLI's file reader: a header row is detected
 * and skipped, blank lines are skipped, every value must be a finite number.
 * @throws InvalidArgumentError naming the parameter when `input` is not a string, Uint8Array or
 *   ArrayBuffer, or an option is unknown or of the wrong kind.
 * @throws InvalidDataError naming the line and column of a ragged row or a bad cell.
 *
 * @example
 * const { data, rows, cols, header } = parseDelimited('x,y\n1,2\n3,4\n');
 */
export function parseDelimited(input: string | Uint8Array | ArrayBuffer, options: ParseDelimitedOptions = {}): LoadedData {
  checkParseDelimitedArguments(input, options);
  const name = options.name ?? 'data';
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input instanceof Uint8Array ? input : new Uint8Array(input);
  const format = options.format ?? 'auto';
  const mode: Mode | -1 = format === 'csv' ? COMMA : format === 'tsv' ? TAB : format === 'whitespace' ? 0 : -1;
  const parser = new TextParser(name, mode, false);
  parser.feed(bytes, byteOrderMarkLength(bytes), bytes.length);
  return parser.finish();
}
