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
import { TextParser, COMMA, TAB, LF, CR, plural, byteOrderMarkLength, type LoadedData } from './delimited.js';
import { writeFileAtomic, errnoReason } from './atomic.js';

export type { LoadedData, DataFileFormat } from './delimited.js';
export { fastParseNumber } from './delimited.js';

const CHUNK_BYTES = 1 << 20;
const PROGRESS_EVERY = 64 * 1024 * 1024;

export interface ReadDataFileOptions {
  /** Checked between chunks; when aborted, the read rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Called about every 64 MiB read, and once at the end. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
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
        start = byteOrderMarkLength(chunk);
      }
      // Lines end at LF, CRLF or a lone CR (classic Mac files); the parser joins a CRLF split here.
      const nl = Math.max(chunk.lastIndexOf(LF), chunk.lastIndexOf(CR));
      if (nl < start) {
        pending.push(Buffer.from(chunk.subarray(start)));
      } else {
        if (pending.length > 0) {
          // Complete the line begun in earlier chunks, then parse the rest of this one in place.
          const lf = chunk.indexOf(LF);
          const cr = chunk.indexOf(CR);
          const lineEnd = (lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr)) + 1;
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

  return parser.finish();
}

/**
 * Reads a data matrix (rows = points) from a file. `.npy` is NumPy's format (float64 / float32,
 * 1-D or 2-D); `.csv` is comma-separated, `.tsv` tab-separated; any other extension is detected from
 * the first non-empty line (a comma, else a tab, else runs of spaces / tabs). Blank lines are skipped;
 * lines may end in `\n`, `\r\n` or `\r`. If the first non-empty row holds a non-numeric cell it is taken as a
 * header and skipped (`headerSkipped`). Values must be finite numbers.
 * @throws InvalidDataError naming the file (and the 1-based line and column) for a missing,
 *   unreadable or empty file, a ragged row, a non-numeric cell, or NaN / ±Infinity / overflow.
 */
export async function readDataFile(path: string, options: ReadDataFileOptions = {}): Promise<LoadedData> {
  return load(path, options, false);
}

/**
 * Reads per-point weights: one per line (a single column) or a single row; each finite and ≥ 0;
 * exactly `expectedRows` of them. `.npy` files are accepted too. A non-numeric first row is
 * skipped as a header; `onHeaderSkipped` is told.
 * @throws InvalidDataError naming the file and line.
 */
export async function readWeightsFile(path: string, expectedRows: number, onHeaderSkipped?: () => void): Promise<Float64Array> {
  const loaded = await load(path, {}, true);
  if (loaded.headerSkipped) onHeaderSkipped?.();
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
