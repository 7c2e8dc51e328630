/**
 * Delimited numeric text (CSV, TSV, whitespace-separated) parsed byte by byte into a growable
 * Float64Array — browser-safe (no Node APIs), shared by the Node file reader, which streams chunks
 * into a {@link TextParser}, and {@link parseDelimited} for text already in memory (a browser's File).
 * Numbers are parsed exactly: every value equals `Number(token)` bit for bit.
 */
import { InvalidArgumentError, InvalidDataError } from '../errors.js';
import { isNpyMagic, plural } from './npy.js';
import { describeValue } from '../data.js';

/**
 * How a data file was read: delimited text (`'csv'`, `'tsv'`, `'whitespace'`-separated), NumPy
 * `.npy`, Armadillo's text or binary matrix (`arma_ascii`, `arma_binary`), or a Netpbm grey image
 * (`'pgm'`).
 */
export type DataFileFormat = 'csv' | 'tsv' | 'whitespace' | 'npy' | 'arma_ascii' | 'arma_binary' | 'pgm';

/** A data file's contents: `rows` points of `cols` values, row-major. */
export interface LoadedData {
  /** rows × cols values, row-major: a Float32Array for float32 files (`.npy`, Armadillo's binary `FN004`), kept as stored; else a Float64Array. */
  data: Float64Array | Float32Array;
  /** Number of points (data rows; a skipped header not counted). */
  rows: number;
  /** Values per point. */
  cols: number;
  /** How the file was read. */
  format: DataFileFormat;
  /** The first non-empty row read as column names (no numeric cell, or numbers among names) and was skipped as a header. */
  headerSkipped: boolean;
  /** The skipped header's cells (surrounding double quotes removed), when `headerSkipped`. */
  header?: string[];
  /**
   * A tab-separated file (found so on its first line) that separates with spaces from this line on
   * (1-based): read as blank-separated, as mlpack's raw ASCII reads it.
   */
  blanksFromLine?: number;
}

const utf8 = new TextDecoder();
/** A first line longer than this is judged by its first this many bytes where they settle it (TextParser.firstLine). */
const SNIFF_PREFIX = 2 ** 20;
/** The longest first line (or first line after a header) of data read as text: see TextParser.sniffed. */
const MAX_SNIFFED_LINE = 128 * 2 ** 20;
/** V8's longest string (2^29 − 24 UTF-16 units), in bytes of a line that decodes to at most as many. */
const MAX_STRING_BYTES = 2 ** 29 - 24;
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
const QUOTE = 34;
/** Field separation: a comma, a tab, or runs of spaces / tabs. */
export type Mode = typeof COMMA | typeof TAB | 0;
const NON_FINITE_WORD = /^[+-]?(nan|inf|infinity)$/i;
/**
 * The number syntax accepted: decimal only, `[+-]digits[.digits][(e|E)[+-]digits]` (either side of
 * the point may be empty, not both). `Number()` also takes `0x1F`, `0b101` and `0o17`; data files
 * may not, nor may the CLI's number flags.
 */
export const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const NON_DECIMAL_LITERAL = /^[+-]?0[xXbBoO]/;
/** Appended to a cell error on a first line that mixes numbers and other text. */
const HEADER_HINT = 'mixes numbers with a value that is no column name, so it is read as data (a header line has no numeric cells, or names among them)';
/** Why a first line of values that are neither numbers nor names is read as data. */
const NAMELESS_HINT = 'has no column name, so it is read as data: a name holds a letter and does not begin with a digit, or is quoted';
/**
 * Numbers joined by a character that separates columns elsewhere (`1;2`, `3|4`, a tab in a
 * comma-separated file, a no-break space): a file whose separator is not the one read. (Not `:`:
 * `08:00` is a time, and a header of times is a header.)
 */
const FOREIGN_SEPARATOR = /[0-9.][ \t\u00a0]*([;|\t\u00a0])[ \t\u00a0]*[-+.0-9]/;
/** A whole cell of numbers joined by one such separator: a first line of these is data, not a header. */
const FOREIGN_ROW = /^[-+]?[0-9.][-+.0-9eE]*(?:[ \t\u00a0]*([;|\t\u00a0])[ \t\u00a0]*[-+]?[0-9.][-+.0-9eE]*)+$/;

/**
 * The fast path of the number parser, for a decimal `[+-]digits[.digits][(e|E)[+-]digits]` with at
 * most 19 significant digits (zeros beyond those are fine). Up to 15 digits (or a significand below
 * 2^53) with a decimal exponent within ±22 take one exactly rounded multiplication or division
 * (Clinger's fast path); longer significands or exponents up to ±44 take the certified double-double
 * path of `scaleDoubleDouble`. Either way the result equals `Number(text)` bit for bit. Returns NaN for
 * anything else (more digits, a larger exponent, hex, `Infinity`, not a number, or the rare
 * uncertifiable near-tie); the caller then checks the text is decimal and falls back to `Number(text)`.
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

/**
 * A cell's text for a message, in double quotes, with the characters a terminal does not show
 * escaped: JSON's escapes cover only those below U+0020, so `"4"` could be a cell "4\x7f" that is
 * no number (DEL, C1 controls, no-break and zero-width spaces, soft hyphen, bidirectional
 * controls, variation selectors, tag characters, byte-order mark).
 */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
    .replace(/[\x7f-\xa0\xad\u180e\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufe00-\ufe0f\ufeff\u{e0000}-\u{e007f}]/gu, (c) => {
      const cp = c.codePointAt(0)!;
      return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    });
}

/** Where the cell that `slowCell` / `slowWord` read ends (its separator or the line end). */
let cellEnd = 0;
/** The text of the value that `slowCell` / `slowWord` read (inside its quotes, if quoted). */
let tokStart = 0, tokEnd = 0;

/** Whether every cell of the line is in double quotes (no quote inside: names, not text with quotes). */
function allQuoted(text: string, mode: Mode): boolean {
  const line = text.trim();
  if (mode === 0) return /^"[^"]*"(?:[ \t]+"[^"]*")*$/.test(line);
  const sep = mode === TAB ? '\\t' : ',';
  return new RegExp(`^"[^"]*"(?:[ \\t]*${sep}[ \\t]*"[^"]*")*$`).test(line);
}

/** The index of the quote closing the one at `open` (`""` inside is an escaped quote), or -1. */
function closingQuote(b: Uint8Array, open: number, end: number): number {
  let j = open + 1;
  while (j < end) {
    if (b[j] === QUOTE) {
      if (j + 1 < end && b[j + 1] === QUOTE) {
        j += 2;
        continue;
      }
      return j;
    }
    j++;
  }
  return -1;
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
  /** The header line's text, split again once the data's separator and column count are known. */
  private headerText = '';
  /** A header was skipped while detecting the separator: the next non-empty line decides it. */
  private modePending = false;
  /** The first non-empty line mixes numbers with other text: its cell errors say why it is not a header. */
  private mixedFirstLine = false;
  /** The first non-empty line has neither numbers nor names: likewise. */
  private namelessFirstLine = false;
  /**
   * The first line is all quoted numbers ("1990","2000"): column names as Python's
   * csv.QUOTE_NONNUMERIC writes them when the data below are unquoted, the first row of a QUOTE_ALL
   * file when they are quoted too. Read as data until the second line decides.
   */
  private quotedNumbersFirst = false;
  /** The line from which a file found tab-separated is read as blank-separated (0: none). */
  private blanksFrom = 0;

  constructor(
    readonly path: string,
    /** -1: detect from the first non-empty line (from the first data line when that is a header). */
    mode: Mode | -1,
    /** Reject negative values (weights). */
    readonly nonneg: boolean,
    /** Whether the first line may be a header (not in formats whose header is elsewhere: Armadillo's). */
    private readonly headerAllowed = true,
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
        if (this.headerAllowed && this.firstLine(b, k, e)) continue;
      } else if (this.quotedNumbersFirst) {
        this.quotedNumbersFirst = false;
        if (this.rows === 1 && b.subarray(k, e).indexOf(QUOTE) < 0) this.unreadFirstRowAsHeader();
      } else if (this.modePending) {
        // The separator of the first data line, unless it is a single value: the header's then.
        this.modePending = false;
        const text = (e - k > SNIFF_PREFIX ? prefixText(b, k, k + SNIFF_PREFIX) : null) ?? this.sniffed(b, k, e);
        const mode = detectMode(text);
        if (mode !== 0 || /[ \t]/.test(text.trim())) this.mode = mode;
      }
      // A tab-separated file that also separates with spaces further down ("1\t2" then "3 4") is
      // read as blank-separated from that line on, as mlpack's raw_ascii reads it: the line is read again.
      let mode: Mode;
      let n: number;
      let count: number;
      do {
        mode = this.mode;
        let out = this.out;
        n = this.n;
        count = 0;
        if (mode === 0) {
          let i = k;
          for (;;) {
            while (i < e && (b[i] === SPACE || b[i] === TAB)) i++;
            if (i >= e) break;
            let ts = i;
            let v = parsePrefix(b, i, e);
            i = prefixEnd;
            let te = i;
            if (v !== v || (i < e && b[i] !== SPACE && b[i] !== TAB)) {
              // Not a plain decimal the fast path can take (quoted, long, or not a number at all).
              v = this.slowWord(b, ts, e, count);
              i = cellEnd;
              ts = tokStart;
              te = tokEnd;
            }
            if (nonneg && v < 0) this.negative(b, ts, te, count);
            if (n === out.length) out = this.grow(n);
            out[n++] = v;
            count++;
          }
        } else {
          const delim = mode;
          let i = s;
          let stop = e;
          if (delim === TAB) {
            // Tabs at either end of a tab-separated line separate nothing: mlpack reads the file
            // as whitespace-separated, and a row ending in a tab is common output of other tools.
            i = k;
            while (stop > i && (b[stop - 1] === SPACE || b[stop - 1] === TAB)) stop--;
          }
          cells: for (;;) {
            while (i < stop && (b[i] === SPACE || (b[i] === TAB && delim !== TAB))) i++;
            let ts = i;
            let v = i < stop ? parsePrefix(b, i, stop) : NaN;
            let te = prefixEnd;
            if (v === v) {
              i = te;
              while (i < stop && (b[i] === SPACE || (b[i] === TAB && delim !== TAB))) i++;
              if (i < stop && b[i] !== delim) v = NaN;
            }
            if (v !== v) {
              // Not a plain decimal the fast path can take (quoted, long, empty, or not a number).
              v = this.slowCell(b, ts, stop, delim, count);
              if (this.mode !== mode) break cells;
              i = cellEnd;
              ts = tokStart;
              te = tokEnd;
            }
            if (nonneg && v < 0) this.negative(b, ts, te, count);
            if (n === out.length) out = this.grow(n);
            out[n++] = v;
            count++;
            if (i >= stop) break;
            i++; // the delimiter
          }
        }
      } while (this.mode !== mode);
      this.n = n;
      if (this.cols === 0) {
        this.cols = count;
        this.firstDataLine = this.line;
        if (this.header) {
          const fitted = fitHeader(this.headerText, this.mode, count);
          if (!fitted) {
            // The header's own count, or, where that equals the data's, its count as the data are split.
            const names = this.header.length !== count ? this.header.length : splitCells(this.headerText, this.mode).length;
            this.fail(`line ${this.line} has ${plural(count, 'value')} but the header (line ${this.headerLine}) has ${plural(names, 'column')}`, this.rows);
          }
          this.header = fitted;
        }
      } else if (count !== this.cols) {
        this.fail(`line ${this.line} has ${plural(count, 'value')} but line ${this.firstDataLine} has ${this.cols}`, this.rows);
      }
      this.rows++;
    }
  }

  /** The first row read was column names after all (see quotedNumbersFirst): it becomes the header. */
  private unreadFirstRowAsHeader(): void {
    this.header = splitCells(this.headerText, this.mode);
    this.headerLine = this.firstDataLine;
    this.n = 0;
    this.rows = 0;
    this.cols = 0;
  }

  /**
   * Detects the separator (when asked to) and whether the first non-empty line is a header: it is
   * when it reads as column names — no numeric cell and at least one name, or numbers among names
   * ("id,2019"); a line whose non-numeric cells are no names ("NA,NA", "1,2,NA") is data, which
   * then fails. Returns true to skip it. When the
   * separator is being detected, a header only suggests one: the first data line decides.
   */
  private firstLine(b: Uint8Array, s: number, e: number): boolean {
    // A long line (a single row of many values: weights, a transposed file) is judged by its first
    // megabyte where that settles it — numbers, and no header reading of them — without its whole
    // text and cells in memory (a 101 MB line cost 1.1 GB; past 512 MB no string can hold it).
    const prefix = e - s > SNIFF_PREFIX ? prefixText(b, s, s + SNIFF_PREFIX) : null;
    if (prefix !== null) {
      const mode = this.detect ? detectMode(prefix) : this.mode;
      const { numbers, words, names } = classifyCells(splitCells(prefix, mode));
      // Data for certain: numbers, and either no other text or text that is no name (a bad value).
      if (numbers > 0 && (words === 0 || names !== words)) {
        this.mode = mode;
        this.mixedFirstLine = words > 0;
        return false;
      }
    }
    const text = this.sniffed(b, s, e);
    const mode = this.detect ? detectMode(text) : this.mode;
    const cells = splitCells(text, mode);
    const { numbers, words, names } = classifyCells(cells);
    // The cells come unquoted: quoted text is looked for in the line itself.
    const quoted = [...text.matchAll(/"((?:[^"]|"")*)"/g)].some((m) => isText(m[1]!.replace(/""/g, '"'))) ? 1 : 0;
    // A header: names and no numeric cell, or numbers among names (scikit-learn's CSVs begin with
    // "150,4,setosa,versicolor,virginica"; "id,2019,2020") — but not a data row with a bad value:
    // "1,2,NA", "1.2.3,4" or "-,3" have a non-numeric cell that is no name, and "NA,NA", "?,?",
    // "12kg,13kg" or "0x1,0x2" have no name at all (dropping them would shift every row); quotes
    // mark text, so "1st","2nd" is a header.
    // Numbers joined by another separator ("1;2" in a file read as comma-separated) are data, not
    // a header: the error then names this line and the separator, instead of line 2 failing alike.
    const filled = cells.map((cell) => cell.trim()).filter((cell) => cell !== '');
    const foreign = filled.length > 0 && filled.every((cell) => FOREIGN_ROW.test(cell));
    if (words > 0 && (numbers === 0 ? !foreign && names + quoted > 0 : names === words)) {
      this.header = cells;
      this.headerText = text;
      this.headerLine = this.line;
      this.mode = mode;
      this.modePending = this.detect;
      return true;
    }
    this.mode = mode;
    this.mixedFirstLine = numbers > 0 && words > 0;
    this.namelessFirstLine = numbers === 0 && words > 0 && !foreign;
    if (numbers === cells.length && allQuoted(text, mode)) {
      this.quotedNumbersFirst = true;
      this.headerText = text;
    }
    return false;
  }

  /**
   * A cell of a comma- or tab-separated line that the fast path declined, beginning at `ts` (past
   * leading blanks): a quoted value (one pair of double quotes around it is removed), a number the
   * fast path does not handle, or an error. Sets `cellEnd`, `tokStart` and `tokEnd`.
   */
  private slowCell(b: Uint8Array, ts: number, e: number, delim: number, col: number): number {
    if (ts < e && b[ts] === QUOTE) {
      const close = closingQuote(b, ts, e);
      if (close >= 0) {
        let k = close + 1;
        while (k < e && (b[k] === SPACE || (b[k] === TAB && delim !== TAB))) k++;
        if (k >= e || b[k] === delim) {
          cellEnd = k;
          return this.quotedValue(b, ts + 1, close, col);
        }
      }
    }
    let i = ts;
    while (i < e && b[i] !== delim) i++;
    cellEnd = i;
    let te = i;
    while (te > ts && (b[te - 1] === SPACE || b[te - 1] === TAB)) te--;
    tokStart = ts;
    tokEnd = te;
    if (te === ts) this.emptyCell(col);
    if (this.detect && delim === TAB && blankSeparatedNumbers(decode(b, ts, te))) {
      this.mode = 0; // the caller reads the line again
      this.blanksFrom = this.line;
      return NaN;
    }
    return this.slowToken(b, ts, te, col);
  }

  /** `slowCell` for whitespace-separated lines: a word, or a quoted value (which may hold blanks). */
  private slowWord(b: Uint8Array, ts: number, e: number, col: number): number {
    if (b[ts] === QUOTE) {
      const close = closingQuote(b, ts, e);
      if (close >= 0 && (close + 1 >= e || b[close + 1] === SPACE || b[close + 1] === TAB)) {
        cellEnd = close + 1;
        return this.quotedValue(b, ts + 1, close, col);
      }
    }
    let i = ts;
    while (i < e && b[i] !== SPACE && b[i] !== TAB) i++;
    cellEnd = i;
    tokStart = ts;
    tokEnd = i;
    return this.slowToken(b, ts, i, col);
  }

  /** The value inside a pair of quotes, `b[s, e)` (blanks around it allowed). */
  private quotedValue(b: Uint8Array, s: number, e: number, col: number): number {
    while (s < e && (b[s] === SPACE || b[s] === TAB)) s++;
    while (e > s && (b[e - 1] === SPACE || b[e - 1] === TAB)) e--;
    tokStart = s;
    tokEnd = e;
    if (s === e) this.emptyCell(col);
    const v = parsePrefix(b, s, e);
    if (v === v && prefixEnd === e) return v;
    return this.slowToken(b, s, e, col);
  }

  /**
   * A token the fast path declined: a decimal number is parsed with `Number()` (exact); anything
   * else (hexadecimal and other non-decimal forms included) throws the right error.
   */
  private slowToken(b: Uint8Array, s: number, e: number, col: number): number {
    const text = decode(b, s, e);
    const word = text.trim();
    const where = `line ${this.line}, column ${col + 1}`;
    if (DECIMAL.test(word)) {
      const v = Number(word);
      if (Number.isFinite(v)) return v;
      this.fail(`${where}: ${quote(text)} overflows to ${v} (values must be finite)`, this.rows, col);
    }
    if (NON_FINITE_WORD.test(word)) {
      const what = /nan/i.test(word) ? 'NaN' : word.startsWith('-') ? '-Infinity' : 'Infinity';
      this.fail(`${where} is ${what} (values must be finite)`, this.rows, col);
    }
    const separator = FOREIGN_SEPARATOR.exec(word)?.[1];
    const note = NON_DECIMAL_LITERAL.test(word)
      ? 'only decimal notation is accepted'
      : separator !== undefined
        ? `numbers separated by ${separator === '\t' ? 'a tab' : separator === '\u00a0' ? 'a no-break space' : `"${separator}"`}? columns are read separated by ${this.separatorName()}`
        : undefined;
    this.badCell(`${where}: ${quote(text)} is not a number`, col, note);
  }

  /** How this file's columns are being split, for messages. */
  private separatorName(): string {
    if (this.detect && this.mode === 0 && this.blanksFrom === 0) return 'commas, tabs or spaces'; // none of them was found
    return this.mode === COMMA ? 'commas' : this.mode === TAB ? 'tabs' : 'spaces or tabs';
  }

  private negative(b: Uint8Array, s: number, e: number, col: number): never {
    const text = decode(b, s, e);
    this.fail(`line ${this.line}, column ${col + 1}: weight ${text} is negative (weights must be ≥ 0)`, this.rows, col);
  }

  private emptyCell(col: number): never {
    this.badCell(`line ${this.line}, column ${col + 1} is empty`, col);
  }

  /**
   * A cell that is not a number, with `note` in parentheses; on a first line that mixes numbers with
   * other text, the note also says why that line is not a header.
   */
  private badCell(message: string, col: number, note?: string): never {
    const notes = note === undefined ? [] : [note];
    if (this.mixedFirstLine && this.rows === 0) notes.push(`line ${this.line} ${HEADER_HINT}`);
    if (this.namelessFirstLine && this.rows === 0) notes.push(`line ${this.line} ${NAMELESS_HINT}`);
    this.fail(notes.length > 0 ? `${message} (${notes.join('; ')})` : message, this.rows, col);
  }

  /**
   * A line whose separator and header are being detected, as text. Those two lines are the only
   * ones read as strings (split into cells, ~10 bytes of memory per byte of line); a line beyond
   * {@link MAX_SNIFFED_LINE} would not fit a JavaScript string, and is no point anyway.
   */
  private sniffed(b: Uint8Array, s: number, e: number): string {
    // Weights may be one row (one weight per point): only JavaScript's string limit bounds it.
    const limit = this.nonneg ? MAX_STRING_BYTES : MAX_SNIFFED_LINE;
    if (e - s > limit) {
      const mib = ((e - s) / 2 ** 20).toFixed(0);
      this.fail(
        this.nonneg
          ? `line ${this.line} is ${mib} MiB long, beyond what one line can be read as here (${(limit / 2 ** 20).toFixed(0)} MiB); write one weight per line`
          : `line ${this.line} is ${mib} MiB long: one point per row is expected (is the file transposed?); a first line beyond ${limit / 2 ** 20} MiB is not read`,
      );
    }
    return decode(b, s, e);
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
    if (this.blanksFrom > 0) loaded.blanksFromLine = this.blanksFrom;
    return loaded;
  }

  /** The values read, trimmed to length (a view when little space is wasted, else a copy). */
  result(): Float64Array {
    const { out, n } = this;
    return out.length - n > Math.max(n >> 4, 4096) ? out.slice(0, n) : out.subarray(0, n);
  }
}

/** Missing-value markers and the like: text, but not a column name. */
const NOT_A_NAME = /^(n\/?a|nan|null|none|nil|missing|undefined|inf(inity)?|[-+]inf(inity)?|\?|\.)$/i;

/** The inside of a pair of double quotes holds text ("1st"): no number, no missing-value marker. */
function isText(inner: string): boolean {
  const t = inner.trim();
  return t !== '' && !isNumberCell(t) && !NOT_A_NAME.test(t);
}

/**
 * A cell that reads as a column name: it holds a letter ("x", "#id", "°C", "(mm)", "%RH"), does
 * not begin like a number (a digit, perhaps after a sign or point: "12kg", "0x10", "-1e" are bad
 * values) and is no missing-value marker.
 */
function isNameCell(cell: string): boolean {
  const t = unquote(cell.trim());
  return /[\p{L}_]/u.test(t) && !/^[+-]?\.?\d/.test(t) && !NOT_A_NAME.test(t);
}

/** A cell's text is a number (decimal, or a NaN / infinity word, which is an error later). */
function isNumberCell(cell: string): boolean {
  const t = cell.trim();
  return DECIMAL.test(t) || NON_FINITE_WORD.test(t);
}

/** Two or more numbers separated by runs of spaces or tabs ("3 4", "1 2\t3"). */
function blankSeparatedNumbers(text: string): boolean {
  const words = text.trim().split(/[ \t]+/);
  return words.length > 1 && words.every((word) => isNumberCell(unquote(word)));
}

/** One pair of double quotes around `word` removed. */
function unquote(word: string): string {
  return word.length >= 2 && word.startsWith('"') && word.endsWith('"') ? word.slice(1, -1) : word;
}

/** How many cells of a line are numbers, other text, and names among the latter. */
function classifyCells(cells: string[]): { numbers: number; words: number; names: number } {
  let numbers = 0, words = 0, names = 0;
  for (const cell of cells) {
    if (isNumberCell(cell)) numbers++;
    else if (cell.trim() !== '') {
      words++;
      if (isNameCell(cell)) names++;
    }
  }
  return { numbers, words, names };
}

/**
 * The text of `b[s, limit)` up to its last comma, tab or space outside quotes — whole cells only —
 * or null where there is none, or a quote is open there.
 */
function prefixText(b: Uint8Array, s: number, limit: number): string | null {
  let quotes = 0, cut = -1;
  for (let i = s; i < limit; i++) {
    const c = b[i]!;
    if (c === QUOTE) quotes++;
    else if ((c === COMMA || c === TAB || c === SPACE) && quotes % 2 === 0) cut = i;
  }
  return cut > s ? decode(b, s, cut) : null;
}

/**
 * The separator of a line: a comma (outside double quotes), else a tab, else runs of spaces / tabs.
 * Tabs and spaces mixed as separators between numbers ("1 2\t3") are runs of blanks: a tab-separated
 * cell with an inner space, on a line whose blank-separated words are all numbers.
 */
function detectMode(text: string): Mode {
  let inQuotes = false;
  let hasTab = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (inQuotes) continue;
    else if (c === COMMA) return COMMA;
    else if (c === TAB) hasTab = true;
  }
  if (!hasTab) return 0;
  const innerSpace = text.split('\t').some((cell) => /\S +\S/.test(cell));
  return innerSpace && blankSeparatedNumbers(text) ? 0 : TAB;
}

/**
 * Splits a (header) line into cells, with RFC 4180 quoting: a cell beginning with a double quote
 * runs to the matching quote (separators inside are text, `""` is a quote), and the quotes are
 * removed. Blanks around unquoted cells are trimmed.
 */
function splitCells(text: string, mode: Mode, trimTabs = true): string[] {
  const cells: string[] = [];
  const blank = (c: string | undefined) => c === ' ' || c === '\t';
  let i = 0;
  if (mode === 0) {
    const n = text.length;
    for (;;) {
      while (i < n && blank(text[i])) i++;
      if (i >= n) break;
      if (text[i] === '"') {
        const q = readQuoted(text, i);
        if (q && (q.end >= n || blank(text[q.end]))) {
          cells.push(q.cell);
          i = q.end;
          continue;
        }
      }
      const s = i;
      while (i < n && !blank(text[i])) i++;
      cells.push(text.slice(s, i));
    }
    return cells;
  }
  const sep = mode === COMMA ? ',' : '\t';
  const pad = (c: string | undefined) => c === ' ' || (c === '\t' && sep !== '\t');
  // As on the data lines, tabs at either end of a tab-separated line separate nothing (unless
  // `trimTabs` is false: a header may name its last column with nothing, see fitHeader).
  const trim = sep === '\t' && trimTabs;
  const n = trim ? text.replace(/[ \t]+$/, '').length : text.length;
  if (trim) while (i < n && blank(text[i])) i++;
  for (;;) {
    while (i < n && pad(text[i])) i++;
    let cell: string | undefined;
    if (text[i] === '"') {
      const q = readQuoted(text, i);
      if (q) {
        let k = q.end;
        while (k < n && text[k] !== sep) k++;
        cell = q.cell + text.slice(q.end, k).replace(/[ \t]+$/, '');
        i = k;
      }
    }
    if (cell === undefined) {
      const s = i;
      while (i < n && text[i] !== sep) i++;
      cell = text.slice(s, i).replace(/[ \t]+$/, '');
    }
    cells.push(cell);
    if (i >= n) break;
    i++; // the separator
  }
  return cells;
}

/** The quoted text opening at `text[open]` and the index after its closing quote, or undefined when unclosed. */
function readQuoted(text: string, open: number): { cell: string; end: number } | undefined {
  let cell = '';
  let from = open + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0) return undefined;
    cell += text.slice(from, q);
    if (text[q + 1] === '"') {
      cell += '"';
      from = q + 2;
    } else {
      return { cell, end: q + 1 };
    }
  }
}

/**
 * The header's cells for data of `count` columns separated by `mode`: split by that separator, or,
 * when that gives too few cells, by another one that gives `count` ("x y z" names over
 * comma-separated data) — or too many over blank-separated data (names with spaces,
 * "sepal length,sepal width" over "1 2"). Over a single blank-separated column, the whole line is
 * the one name. Undefined when nothing fits.
 */
function fitHeader(text: string, mode: Mode, count: number): string[] | undefined {
  if (mode === 0 && count === 1) return [unquote(text.trim())]; // one column: the whole line names it
  const cells = splitCells(text, mode);
  if (cells.length === count) return cells;
  // `x\ty\t` over rows of three values: the third column's name is empty.
  if (mode === TAB && cells.length < count) {
    const untrimmed = splitCells(text, mode, false);
    if (untrimmed.length === count) return untrimmed;
  }
  // scikit-learn's bundled CSVs: "n_samples,n_features,<class names>" above rows of the features
  // and the class (wine: "178,13,class_0,class_1,class_2" over rows of 14 values).
  const sizes = cells.length > 2 && cells.slice(0, 2).every((c) => /^\d+$/.test(c.trim()));
  if (sizes && Number(cells[1]) + 1 === count && cells.slice(2).every((c) => c.trim() !== '' && Number.isNaN(Number(c)))) return cells;
  if (cells.length > count && mode !== 0) return undefined;
  for (const other of [COMMA, TAB, 0] as const) {
    if (other === mode) continue;
    const alt = splitCells(text, other);
    if (alt.length === count) return alt;
  }
  return undefined;
}

/** 3 when `bytes` begins with a UTF-8 byte-order mark (which the parser must skip), else 0. */
export function byteOrderMarkLength(bytes: Uint8Array): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}


/** How many leading bytes {@link describeNonText} looks at for a NUL byte. */
const SNIFF_NUL_BYTES = 1 << 20;

/** How much of the input is searched for ARFF's "@relation" past its comments. */
const ARFF_SNIFF_BYTES = 1 << 16;

/** ARFF's start: comment lines (%), then "@relation". */
const ARFF = /^(?:\ufeff|\xef\xbb\xbf)?(?:[ \t]*(?:%[^\n]*)?\r?\n)*[ \t]*@relation\b/i;

/**
 * What the input is when its first bytes show it is not UTF-8 text (or is text webgmm does not
 * read: ARFF): UTF-16, compressed or archived,
 * NumPy, or binary (a NUL byte among the first `SNIFF_NUL_BYTES`, when `checkNul`); undefined for
 * text. The result completes "<name>: …".
 */
export function describeNonText(bytes: Uint8Array, checkNul = true): string | undefined {
  const b = bytes;
  if (b[0] === 0xff && b[1] === 0xfe) return 'looks like UTF-16 text (little-endian, byte-order mark FF FE); save or convert it as UTF-8';
  if (b[0] === 0xfe && b[1] === 0xff) return 'looks like UTF-16 text (big-endian, byte-order mark FE FF); save or convert it as UTF-8';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'looks like gzip-compressed data; decompress it first';
  if (b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) {
    return 'looks like a ZIP archive (or an Excel .xlsx workbook); extract it, or export the sheet as CSV';
  }
  if (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[4] === 0x31 && b[5] === 0x41 && b[6] === 0x59) {
    return 'looks like bzip2-compressed data; decompress it first';
  }
  if (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a && b[5] === 0x00) {
    return 'looks like xz-compressed data; decompress it first';
  }
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'looks like zstd-compressed data; decompress it first';
  if (isNpyMagic(b)) return 'looks like NumPy .npy data, not text';
  if (b[0] === 0x89 && b[1] === 0x48 && b[2] === 0x44 && b[3] === 0x46 && b[4] === 0x0d && b[5] === 0x0a) {
    return 'looks like an HDF5 file, which webgmm does not read; save the dataset as .npy (h5py and numpy.save) or CSV';
  }
  // Weka's files often open with a long block of % comments.
  if (ARFF.test(new TextDecoder('latin1').decode(b.subarray(0, ARFF_SNIFF_BYTES)))) {
    return 'looks like an ARFF file (Weka), which webgmm does not read; save its @data section as CSV';
  }
  if (!checkNul) return undefined;
  const head = b.length > SNIFF_NUL_BYTES ? b.subarray(0, SNIFF_NUL_BYTES) : b;
  if (head.indexOf(0) < 0) return undefined;
  if (b.length >= 4 && b[0] !== 0 && b[1] === 0 && b[2] !== 0 && b[3] === 0) {
    return 'looks like UTF-16 text (little-endian, no byte-order mark); save or convert it as UTF-8';
  }
  if (b.length >= 4 && b[0] === 0 && b[1] !== 0 && b[2] === 0 && b[3] !== 0) {
    return 'looks like UTF-16 text (big-endian, no byte-order mark); save or convert it as UTF-8';
  }
  return 'looks like binary data (it contains NUL bytes), not text';
}

/** Options of {@link parseDelimited}. */
export interface ParseDelimitedOptions {
  /** Names the input in error messages (e.g. the file name); it does not choose the separator. Default "data". */
  name?: string;
  /** The separator; `'auto'` (default) detects it from the first non-empty line. */
  format?: 'csv' | 'tsv' | 'whitespace' | 'auto';
}

const PARSE_DELIMITED_FORMATS = ['csv', 'tsv', 'whitespace', 'auto'];
const PARSE_DELIMITED_OPTIONS = ['name', 'format'];

/** An options argument: an object (not null or an array) whose own keys are all among `known`. */
export function checkOptionsObject(options: unknown, known: readonly string[]): asserts options is Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError('options', `options must be an object { ${known.map((k) => `${k}?`).join(', ')} }, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(key, `unknown option "${key}"; ${known.length === 1 ? 'the only option is' : 'valid options are'}: ${known.join(', ')}`);
    }
  }
}


/**
 * `input` as text, or as a Uint8Array of this realm over its bytes (a Uint8Array or Buffer, an
 * ArrayBuffer or SharedArrayBuffer); null for anything else — a Float64Array's values are no
 * bytes. Tags, not instanceof, so buffers from another realm (a worker, an iframe) pass.
 */
export function textOrBytes(input: unknown): string | Uint8Array | null {
  if (typeof input === 'string') return input;
  const tag = typeof input === 'object' && input !== null ? Object.prototype.toString.call(input) : '';
  if (ArrayBuffer.isView(input)) {
    if (tag !== '[object Uint8Array]') return null;
    return input instanceof Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }
  return tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]' ? new Uint8Array(input as ArrayBufferLike) : null;
}

/**
 * parseDelimited's argument checks, up front: anything else would be parsed as something it is not
 * (a number as no bytes — "no data rows" — a Float64Array as its values cast to bytes) or fall back
 * silently (an unknown format as 'auto').
 */
function checkParseDelimitedArguments(input: unknown, options: unknown): void {
  if (textOrBytes(input) === null) {
    throw new InvalidArgumentError(
      'input',
      `input must be the text as a string, or its UTF-8 bytes as a Uint8Array or an ArrayBuffer, got ${describeValue(input)}`,
    );
  }
  checkOptionsObject(options, PARSE_DELIMITED_OPTIONS);
  const { name, format } = options;
  if (name !== undefined && typeof name !== 'string') {
    throw new InvalidArgumentError('name', `name must be a string (naming the input in error messages), got ${describeValue(name)}`);
  }
  if (format !== undefined && !PARSE_DELIMITED_FORMATS.includes(format as string)) {
    throw new InvalidArgumentError(
      'format',
      `format must be one of ${PARSE_DELIMITED_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${describeValue(format)}`,
    );
  }
}

/**
 * Parses delimited numeric text held in memory — a string, or UTF-8 bytes such as a browser
 * `File`'s `arrayBuffer()` — with the same rules as the CLI's file reader: a first line of column
 * names (no numeric cell, or numbers among names) is a header and is skipped, blank lines are skipped, one pair of double quotes around
 * a cell is removed, every value must be a finite decimal number. UTF-16, compressed and other binary
 * input (and NumPy `.npy` bytes) is refused with an error saying what it looks like.
 * @throws InvalidArgumentError naming the parameter when `input` is not a string, Uint8Array or
 *   ArrayBuffer, or an option is unknown or of the wrong kind.
 * @throws InvalidDataError naming the line and column of a ragged row or a bad cell, or saying what
 *   non-text input looks like.
 *
 * @example
 * const { data, rows, cols, header } = parseDelimited('x,y\n1,2\n3,4\n');
 */
export function parseDelimited(input: string | Uint8Array | ArrayBuffer, options: ParseDelimitedOptions = {}): LoadedData {
  checkParseDelimitedArguments(input, options);
  const name = options.name ?? 'data';
  const content = textOrBytes(input)!;
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const format = options.format ?? 'auto';
  const mode: Mode | -1 = format === 'csv' ? COMMA : format === 'tsv' ? TAB : format === 'whitespace' ? 0 : -1;
  const nonText = describeNonText(bytes);
  if (nonText) throw new InvalidDataError(`${name}: ${nonText}`);
  const parser = new TextParser(name, mode, false);
  parser.feed(bytes, byteOrderMarkLength(bytes), bytes.length);
  return parser.finish();
}
