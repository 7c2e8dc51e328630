/**
 * Data files for the command line (Node only): reading CSV / TSV / whitespace-separated text and
 * NumPy `.npy` into a row-major matrix (rows = points), reading a weights column, and writing CSV
 * atomically.
 *
 * Text is streamed in large chunks and parsed byte by byte straight into a growable Float64Array:
 * no per-line strings or row arrays are built, so loading costs about the size of the result plus
 * one chunk. Numbers are parsed exactly: every value equals `Number(token)` bit for bit.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { InvalidArgumentError, InvalidDataError, WebGmmError, abortError } from '../errors.js';
import { parseNpy } from './npy.js';
import { writeFileAtomic, errnoReason } from './atomic.js';

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

export interface ReadDataFileOptions {
  /** Checked between chunks; when aborted, the read rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Called about every 64 MiB read, and once at the end. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

const CHUNK_BYTES = 1 << 20;
const PROGRESS_EVERY = 64 * 1024 * 1024;
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

const COMMA = 44, TAB = 9, SPACE = 32, CR = 13, LF = 10;
/** Field separation: a comma, a tab, or runs of spaces / tabs. */
type Mode = typeof COMMA | typeof TAB | 0;
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

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Streaming text parser: fed whole lines, it appends values to a growable Float64Array. */
class TextParser {
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

  /** Parses the lines in `b[start, end)`; the last one may lack its '\n' only at end of input. */
  feed(b: Buffer, start: number, end: number): void {
    const nonneg = this.nonneg;
    let pos = start;
    while (pos < end) {
      let nl = b.indexOf(LF, pos);
      if (nl < 0 || nl >= end) nl = end;
      const s = pos;
      let e = nl;
      pos = nl + 1;
      if (e > s && b[e - 1] === CR) e--;
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
  private firstLine(b: Buffer, s: number, e: number): boolean {
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
        const text = b.toString('utf8', s, e);
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
        cells.push(b.toString('utf8', ts, i));
      }
    } else {
      const text = b.toString('utf8', s, e);
      for (const cell of text.split(mode === COMMA ? ',' : '\t')) cells.push(cell.replace(/^[ \t]+|[ \t]+$/g, ''));
    }
    const isHeader = cells.some((cell) => cell !== '' && !looksNumeric(cell));
    if (!isHeader) return false;
    this.header = cells.map((cell) => (cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"') ? cell.slice(1, -1) : cell));
    this.headerLine = this.line;
    return true;
  }

  /** A token the fast path declined: parse it with `Number()`, or throw the right error. */
  private slowToken(b: Buffer, s: number, e: number, col: number): number {
    const text = b.toString('utf8', s, e);
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

  private negative(b: Buffer, s: number, e: number, col: number): never {
    const text = b.toString('utf8', s, e);
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
      this.fail(`too large to load (${n} values read so far, could not allocate room for ${cap})`);
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


function readError(path: string, err: unknown): InvalidDataError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new InvalidDataError(`${path}: no such file`);
  if (code === 'EISDIR') return new InvalidDataError(`${path}: is a directory`);
  return new InvalidDataError(`${path}: cannot read: ${errnoReason(err)}`);
}

async function statInput(path: string): Promise<number> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (err) {
    throw readError(path, err);
  }
  if (st.isDirectory()) throw new InvalidDataError(`${path}: is a directory`);
  return st.size;
}

/** Rejects non-finite values (and, for weights, negative ones) in npy data, naming the row and column. */
function checkValues(m: { data: Float64Array | Float32Array; rows: number; cols: number }, path: string, nonneg: boolean): void {
  const { data, rows, cols } = m;
  const count = rows * cols;
  for (let k = 0; k < count; k++) {
    const v = data[k]!;
    if (v - v === 0 && !(nonneg && v < 0)) continue; // finite (and ≥ 0 when asked)
    const i = Math.floor(k / cols), j = k - i * cols;
    const where = `row ${i + 1}, column ${j + 1}`;
    if (Number.isFinite(v)) {
      throw new InvalidDataError(`${path}: ${where}: weight ${v} is negative (weights must be ≥ 0)`, i, j);
    }
    throw new InvalidDataError(`${path}: ${where} is ${v} (values must be finite)`, i, j);
  }
}

async function load(path: string, options: ReadDataFileOptions, nonneg: boolean): Promise<LoadedData> {
  const { signal, onProgress } = options;
  if (signal?.aborted) throw abortError(signal);
  const total = await statInput(path);
  const ext = extname(path).toLowerCase();

  if (ext === '.npy') {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(path, signal ? { signal } : undefined);
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      throw readError(path, err);
    }
    if (signal?.aborted) throw abortError(signal);
    onProgress?.(bytes.length, Math.max(total, bytes.length));
    if (bytes.length === 0) throw new InvalidDataError(`${path}: the file is empty`);
    const m = parseNpy(bytes, path);
    checkValues(m, path, nonneg);
    return { data: m.data, rows: m.rows, cols: m.cols, format: 'npy', headerSkipped: false };
  }

  const parser = new TextParser(path, ext === '.csv' ? COMMA : ext === '.tsv' ? TAB : -1, nonneg);
  let pending: Buffer[] = []; // copies of the pieces of a line not yet complete
  let bytesRead = 0;
  let nextReport = PROGRESS_EVERY;
  let first = true;
  let estimated = false;
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(path, 'r');
    // One buffer, reused for every read: memory stays at one chunk however large the file.
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const got = (await fh.read(buffer, 0, CHUNK_BYTES, null)).bytesRead;
      if (got === 0) break;
      const chunk = got === CHUNK_BYTES ? buffer : buffer.subarray(0, got);
      bytesRead += got;
      let start = 0;
      if (first) {
        first = false;
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3; // UTF-8 byte-order mark
      }
      const nl = chunk.lastIndexOf(LF);
      if (nl < start) {
        pending.push(Buffer.from(chunk.subarray(start)));
      } else {
        if (pending.length > 0) {
          // Complete the line begun in earlier chunks, then parse the rest of this one in place.
          const lineEnd = chunk.indexOf(LF) + 1;
          pending.push(chunk.subarray(0, lineEnd));
          const joined = Buffer.concat(pending); // a new buffer: pending pieces are copies
          pending = [];
          parser.feed(joined, 0, joined.length);
          start = lineEnd;
        }
        parser.feed(chunk, start, nl + 1);
        if (nl + 1 < chunk.length) pending.push(Buffer.from(chunk.subarray(nl + 1)));
        if (!estimated && parser.n > 0 && total > bytesRead) {
          // Size the value buffer once from the first chunk's density.
          estimated = true;
          parser.reserve(Math.ceil((parser.n / bytesRead) * total * 1.03) + 1024);
        }
      }
      if (onProgress && bytesRead >= nextReport) {
        onProgress(bytesRead, Math.max(total, bytesRead));
        while (nextReport <= bytesRead) nextReport += PROGRESS_EVERY;
      }
    }
  } catch (err) {
    if (err instanceof WebGmmError) throw err;
    if (signal?.aborted) throw abortError(signal);
    throw readError(path, err);
  } finally {
    await fh?.close().catch(() => undefined);
  }
  if (pending.length > 0) {
    const rest = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    parser.feed(rest, 0, rest.length);
  }
  if (signal?.aborted) throw abortError(signal);
  onProgress?.(bytesRead, Math.max(total, bytesRead));

  if (!parser.sawContent) throw new InvalidDataError(`${path}: the file is empty`);
  if (parser.rows === 0) throw new InvalidDataError(`${path}: no data rows after the header`);
  const format: DataFileFormat = parser.mode === COMMA ? 'csv' : parser.mode === TAB ? 'tsv' : 'whitespace';
  const loaded: LoadedData = {
    data: parser.result(),
    rows: parser.rows,
    cols: parser.cols,
    format,
    headerSkipped: parser.header !== undefined,
  };
  if (parser.header) loaded.header = parser.header;
  return loaded;
}

/**
 * Reads a data matrix (rows = points) from a file. `.npy` is NumPy's format (float64 / float32,
 * 1-D or 2-D); `.csv` is comma-separated, `.tsv` tab-separated; any other extension is detected from
 * the first non-empty line (a comma, else a tab, else runs of spaces / tabs). Blank lines are skipped;
 * lines may end in `\n` or `\r\n`. If the first non-empty row holds a non-numeric cell it is taken as a
 * header and skipped (`headerSkipped`). Values must be finite numbers.
 * @throws InvalidDataError naming the file (and the 1-based line and column) for a missing,
 *   unreadable or empty file, a ragged row, a non-numeric cell, or NaN / ±Infinity / overflow.
 */
export async function readDataFile(path: string, options: ReadDataFileOptions = {}): Promise<LoadedData> {
  return load(path, options, false);
}

/**
 * Reads per-point weights: one per line (a single column) or a single row; each finite and ≥ 0;
 * exactly `expectedRows` of them. `.npy` files are accepted too.
 * @throws InvalidDataError naming the file and line.
 */
export async function readWeightsFile(path: string, expectedRows: number): Promise<Float64Array> {
  const loaded = await load(path, {}, true);
  const { rows, cols } = loaded;
  let count: number;
  if (cols === 1) count = rows;
  else if (rows === 1) count = cols;
  else {
    throw new InvalidDataError(
      `${path}: has ${plural(rows, 'row')} of ${plural(cols, 'value')}; expected one weight per line (a single column) or a single row`,
    );
  }
  if (count !== expectedRows) {
    throw new InvalidDataError(`${path}: has ${plural(count, 'weight')} but the data has ${plural(expectedRows, 'point')}`);
  }
  const data = loaded.data;
  return data instanceof Float64Array ? data : Float64Array.from(data);
}

// ---------------------------------------------------------------------------------------------
// Writing

const WRITE_BLOCK = 1 << 20; // characters per write

/** JavaScript's shortest round-trip form; `-0` keeps its sign. */
function formatNumber(x: number): string {
  return x === 0 && 1 / x < 0 ? '-0' : String(x);
}

function checkShape(what: string, length: number, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new InvalidArgumentError(what, `${what}: rows and cols must be non-negative integers (got ${rows}×${cols})`);
  }
  if (length < rows * cols) {
    throw new InvalidArgumentError(what, `${what}: has ${length} values but ${rows}×${cols} needs ${rows * cols}`);
  }
}

/**
 * Writes a row-major matrix as CSV: comma-separated, '\n' line ends, numbers in JavaScript's
 * shortest round-trip form (they read back exactly). Atomic (temporary file + rename).
 * @throws WebGmmError with code 'OUTPUT': `out.csv: cannot write: <reason>`.
 */
export async function writeCsv(path: string, m: { data: ArrayLike<number>; rows: number; cols: number }): Promise<void> {
  const { data, rows, cols } = m;
  checkShape('matrix', data.length, rows, cols);
  await writeFileAtomic(path, csvBlocks(data, rows, cols));
}

/** The CSV text of a row-major matrix (as writeCsv writes it), in blocks of about WRITE_BLOCK characters. */
export function* csvBlocks(data: ArrayLike<number>, rows: number, cols: number): Generator<string> {
  let s = '';
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      if (j > 0) s += ',';
      s += formatNumber(data[o + j]!);
    }
    s += '\n';
    if (s.length >= WRITE_BLOCK) {
      yield s;
      s = '';
    }
  }
  if (s.length > 0) yield s;
}

/** Writes one value per line (e.g. labels or log-likelihoods). Atomic, like `writeCsv`. */
export async function writeColumn(path: string, values: ArrayLike<number>): Promise<void> {
  await writeCsv(path, { data: values, rows: values.length, cols: 1 });
}
