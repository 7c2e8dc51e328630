/**
 * Data files for the command line (Node only): reading CSV / TSV / whitespace-separated text,
 * NumPy `.npy` and Armadillo's matrices into a row-major matrix (rows = points), reading a weights
 * column, and writing CSV or the format an extension names, atomically.
 *
 * Text is streamed in large chunks and parsed byte by byte straight into a growable Float64Array:
 * no per-line strings or row arrays are built, so loading costs about the size of the result plus
 * one chunk. Numbers are parsed exactly: every value equals `Number(token)` bit for bit. `.npy` data
 * is read in chunks straight into a typed array allocated from the header's shape (any size).
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { InvalidArgumentError, InvalidDataError, WebGmmError, abortError } from '../errors.js';
import { checkMatrixArgument, checkNumberValues, describeValue } from '../data.js';
import { parseNpyHeader, npyDataOffset, npyTruncated, npyTrailing, decodeNpyValues, isNpyMagic, plural, HOST_LITTLE_ENDIAN, type NpyHeader } from './npy.js';
import {
  TextParser, LF, CR, byteOrderMarkLength, describeNonText, checkOptionsObject, type LoadedData,
} from './delimited.js';
import { writeFileAtomic, errnoReason } from './atomic.js';
import { delimitedBlocks, writeMatrixFile } from './matrix-output.js';
import { ARMA_HEADER_BYTES, armaBinaryAsNpy, isArmaMagic, parseArmaHeader } from './armadillo.js';
import { parsePnmHeader, parsePgm } from './pgm.js';

export type { LoadedData, DataFileFormat } from './delimited.js';
export { fastParseNumber } from './delimited.js';

const CHUNK_BYTES = 1 << 20;
const PROGRESS_EVERY = 64 * 1024 * 1024;
/** Bytes read before deciding whether the input is text (enough for every magic number checked). */
const SNIFF_BYTES = ARMA_HEADER_BYTES;

/** @internal Bytes of `.npy` data read at a time (64 MiB); tests make it small. */
export const npyReading = { chunkBytes: 64 * 1024 * 1024 };

/** Options of {@link readDataFile}. */
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

/** The input's size, and whether it is a regular file (a pipe's or device's size says nothing). */
async function statInput(path: string): Promise<{ size: number; regular: boolean }> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (err) {
    throw readError(path, err);
  }
  if (st.isDirectory()) throw new InvalidDataError(`${path}: is a directory`);
  return { size: st.size, regular: st.isFile() };
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

/**
 * `onProgress` about every PROGRESS_EVERY bytes: the returned function is told the bytes read so
 * far and calls it each time they pass the next mark, with `total` or more as the total.
 */
function progressEvery(onProgress: ReadDataFileOptions['onProgress'], total: number): (bytesRead: number) => void {
  let nextReport = PROGRESS_EVERY;
  return (bytesRead) => {
    if (!onProgress || bytesRead < nextReport) return;
    onProgress(bytesRead, Math.max(total, bytesRead));
    while (nextReport <= bytesRead) nextReport += PROGRESS_EVERY;
  };
}

const NETPBM_EXTENSIONS = ['.pgm', '.pnm', '.pbm', '.ppm'];

/**
 * The whole of `fh`, `head` being what was already read from it; progress and `signal` as text's.
 * `size` (a regular file's): read into one buffer of that size, not pieces joined at the end.
 */
async function readWhole(fh: FileHandle, head: Uint8Array, size: number | undefined, options: ReadDataFileOptions): Promise<Uint8Array> {
  const { signal, onProgress } = options;
  let whole = new Uint8Array(Math.max(size ?? 0, head.length, CHUNK_BYTES));
  whole.set(head);
  let bytesRead = head.length;
  const progress = progressEvery(onProgress, size ?? 0);
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    let n: number;
    if (bytesRead < whole.length) {
      n = (await fh.read(whole, bytesRead, Math.min(CHUNK_BYTES, whole.length - bytesRead), null)).bytesRead;
    } else {
      // Full: a pipe, or a file that grew. Grow only if more comes (a file of the size read is done).
      const more = Buffer.allocUnsafe(CHUNK_BYTES);
      n = (await fh.read(more, 0, CHUNK_BYTES, null)).bytesRead;
      if (n > 0) {
        const grown = new Uint8Array(Math.max(2 * whole.length, whole.length + n));
        grown.set(whole);
        grown.set(more.subarray(0, n), bytesRead);
        whole = grown;
      }
    }
    if (n === 0) break;
    bytesRead += n;
    progress(bytesRead);
  }
  onProgress?.(bytesRead, Math.max(size ?? 0, bytesRead));
  return whole.subarray(0, bytesRead);
}

/** Sequential reads of a file handle, first serving bytes already read from it (`prefix`). */
class ByteSource {
  constructor(
    private readonly fh: FileHandle,
    private prefix: Uint8Array,
  ) {}

  /** Fills `dst`, or as much of it as the input has left; returns how many bytes it got. */
  async fill(dst: Uint8Array): Promise<number> {
    let got = 0;
    if (this.prefix.length > 0) {
      got = Math.min(this.prefix.length, dst.length);
      dst.set(this.prefix.subarray(0, got));
      this.prefix = this.prefix.subarray(got);
    }
    while (got < dst.length) {
      const { bytesRead } = await this.fh.read(dst, got, dst.length - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  /** Reads into `dst` at an absolute position of a regular file, leaving the sequential reads where they are. */
  async readAt(dst: Uint8Array, position: number): Promise<Uint8Array> {
    let got = 0;
    while (got < dst.length) {
      const { bytesRead } = await this.fh.read(dst, got, dst.length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return dst.subarray(0, got);
  }
}

/**
 * Reads `.npy` data from `source`, positioned at the file's start. The header is read first; when
 * the input's size is known (`size`, a regular file's), data shorter than the shape needs is an
 * error before anything is allocated. The typed array is then allocated from the shape and filled
 * in chunks (`npyReading.chunkBytes`), read straight into it when the byte order is the host's and
 * the order is C, else decoded chunk by chunk into place — so files over 2 GiB load, with memory for
 * the result plus one chunk.
 */
async function loadNpy(path: string, source: ByteSource, size: number | undefined, options: ReadDataFileOptions, nonneg: boolean): Promise<LoadedData> {
  const preamble = new Uint8Array(12);
  const got = await source.fill(preamble);
  if (got === 0) throw new InvalidDataError(`${path}: the file is empty`);
  const lead = preamble.subarray(0, got);
  if (!isNpyMagic(lead)) {
    const what = describeNonText(lead, false);
    if (what) throw new InvalidDataError(`${path}: ${what}`);
  }
  const dataOffset = npyDataOffset(lead, path);
  let headerBytes = lead;
  if (dataOffset > got) {
    // A corrupt header length (up to 4 GiB in format 2.0) allocates no more than the file holds.
    headerBytes = new Uint8Array(Math.min(dataOffset, size ?? got + (1 << 24)));
    headerBytes.set(lead);
    const more = await source.fill(headerBytes.subarray(got));
    if (got + more < dataOffset) headerBytes = headerBytes.subarray(0, got + more); // parseNpyHeader says truncated
  }
  return readBinaryMatrix(path, source, parseNpyHeader(headerBytes, path), size, options, nonneg, 'npy');
}

/**
 * The values of a binary matrix file whose header has been read (`source` is positioned at its
 * data): `.npy`, or Armadillo's arma_binary described as one. `size` is the whole file's, when known.
 */
async function readBinaryMatrix(
  path: string, source: ByteSource, h: NpyHeader, size: number | undefined, options: ReadDataFileOptions, nonneg: boolean, format: 'npy' | 'arma_binary',
  trailingHint = '',
): Promise<LoadedData> {
  const { signal, onProgress } = options;
  const dataOffset = h.dataOffset;
  if (size !== undefined && size - dataOffset < h.byteLength) npyTruncated(path, h, size - dataOffset);
  // Refused before the values are allocated and read where the size says so already; the bytes
  // right after the shape's data tell whether a second array follows.
  if (size !== undefined && size - dataOffset > h.byteLength) {
    const after = await source.readAt(new Uint8Array(6), dataOffset + h.byteLength);
    npyTrailing(path, h, size - dataOffset, false, after, trailingHint);
  }

  let data: Float64Array | Float32Array;
  try {
    data = h.itemSize === 8 ? new Float64Array(h.count) : new Float32Array(h.count);
  } catch {
    throw new InvalidDataError(`${path}: too large to load (shape ${h.shape} of ${h.descr} needs ${plural(h.byteLength, 'byte')}, which could not be allocated)`);
  }
  const direct = !h.transpose && h.bigEndian === !HOST_LITTLE_ENDIAN;
  const step = Math.max(h.itemSize, npyReading.chunkBytes - (npyReading.chunkBytes % h.itemSize));
  const scratch = direct ? undefined : new Uint8Array(Math.min(step, h.byteLength));
  let done = 0;
  const total = size ?? dataOffset + h.byteLength;
  const progress = progressEvery(onProgress, total);
  while (done < h.byteLength) {
    if (signal?.aborted) throw abortError(signal);
    const len = Math.min(step, h.byteLength - done);
    const dst = scratch ? scratch.subarray(0, len) : new Uint8Array(data.buffer, data.byteOffset + done, len);
    const n = await source.fill(dst);
    if (n < len) npyTruncated(path, h, done + n);
    if (scratch) decodeNpyValues(dst, h, data, done / h.itemSize);
    done += len;
    progress(dataOffset + done);
  }
  if (signal?.aborted) throw abortError(signal);
  if (size === undefined) {
    // A pipe's length is known only now.
    const after = new Uint8Array(6);
    const n = await source.fill(after);
    if (n > 0) npyTrailing(path, h, h.byteLength, true, after.subarray(0, n), trailingHint);
  }
  const m = { data, rows: h.rows, cols: h.cols };
  checkValues(m, path, nonneg);
  const end = Math.max(total, dataOffset + done);
  onProgress?.(end, end);
  return { ...m, format, headerSkipped: false };
}

const READ_OPTIONS = ['signal', 'onProgress'];
const WRITE_OPTIONS = ['signal'];

/** A path argument: a non-empty string (a number or a URL would reach fs as something else). */
export function checkPathArgument(caller: string, path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '') {
    throw new InvalidArgumentError('path', `${caller} needs a file name (a non-empty string), got ${describeValue(path)}`);
  }
}

/** The file functions' options: `known` of { signal, onProgress }, each of its kind. */
function checkFileOptions(options: unknown, known: readonly string[]): asserts options is ReadDataFileOptions {
  checkOptionsObject(options, known);
  const { signal, onProgress } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', `signal must be an AbortSignal, got ${describeValue(signal)}`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidArgumentError('onProgress', `onProgress must be a function, got ${describeValue(onProgress)}`);
  }
}

async function load(path: string, given: ReadDataFileOptions, nonneg: boolean): Promise<LoadedData> {
  const { signal } = given;
  if (signal?.aborted) throw abortError(signal);
  // What the caller's onProgress throws is the caller's, not a read error: it passes through.
  let thrown: { error: unknown } | undefined;
  const callback = given.onProgress;
  // Named, not spread: a spread would drop a signal the options object inherits.
  const options: ReadDataFileOptions = signal ? { signal } : {};
  if (callback) {
    options.onProgress = (done, total) => {
      try {
        callback(done, total);
      } catch (error) {
        thrown = { error };
        throw error;
      }
    };
  }
  const { size, regular } = await statInput(path);
  const ext = extname(path).toLowerCase();
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(path, 'r');
    if (ext === '.npy') return await loadNpy(path, new ByteSource(fh, new Uint8Array(0)), regular ? size : undefined, options, nonneg);
    return await loadText(path, fh, size, regular, options, nonneg);
  } catch (err) {
    if (thrown) throw thrown.error;
    if (err instanceof WebGmmError) throw err;
    if (signal?.aborted) throw abortError(signal);
    throw readError(path, err);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Above this many bytes left after the first chunk, loadText counts the lines to size its buffer. */
const COUNT_LINES_FROM = 16 << 20;

/**
 * Non-blank lines in bytes `from` … `to` of the file, plus one: an upper bound on its rows. A run
 * of line-break bytes (LF, CRLF, a lone CR of classic Mac files, blank lines between, in any mix)
 * ends one line. Positional reads: the file's own position, which the parse reads from, does not
 * move.
 */
async function linesFrom(fh: FileHandle, from: number, to: number, signal: AbortSignal | undefined): Promise<number> {
  const buffer = Buffer.allocUnsafe(4 * CHUNK_BYTES);
  let lines = 1;
  // Whether the byte before this block's first was a line break.
  let afterBreak = false;
  for (let at = from; at < to; ) {
    if (signal?.aborted) throw abortError(signal);
    const got = (await fh.read(buffer, 0, Math.min(buffer.length, to - at), at)).bytesRead;
    if (got === 0) break;
    const bytes = got === buffer.length ? buffer : buffer.subarray(0, got);
    // A break byte ends a line unless the byte before it is a break too.
    const ends = (i: number): boolean => (i === 0 ? !afterBreak : bytes[i - 1] !== LF && bytes[i - 1] !== CR);
    for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) if (ends(i)) lines++;
    for (let i = bytes.indexOf(CR); i >= 0; i = bytes.indexOf(CR, i + 1)) if (ends(i)) lines++;
    afterBreak = bytes[got - 1] === LF || bytes[got - 1] === CR;
    at += got;
  }
  return lines;
}

/**
 * Streams delimited text into a {@link TextParser}. The first bytes are looked at first: NumPy data
 * (whatever the file's name) is read as `.npy`, an Armadillo header as Armadillo's matrix; UTF-16,
 * compressed, HDF5, ARFF or other binary input is refused with what it looks like.
 */
async function loadText(
  path: string, fh: FileHandle, total: number, regular: boolean, options: ReadDataFileOptions, nonneg: boolean,
): Promise<LoadedData> {
  const { signal, onProgress } = options;
  // One buffer, reused for every read: memory stays at one chunk however large the file.
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let got = 0;
  while (got < SNIFF_BYTES) {
    if (signal?.aborted) throw abortError(signal);
    const n = (await fh.read(buffer, got, CHUNK_BYTES - got, null)).bytesRead;
    if (n === 0) break;
    got += n;
  }
  const head = buffer.subarray(0, got);
  if (isNpyMagic(head)) return loadNpy(path, new ByteSource(fh, head), regular ? total : undefined, options, nonneg);
  // Armadillo never writes a byte-order mark, but an editor may add one.
  const bom = byteOrderMarkLength(head);
  const arma = isArmaMagic(head.subarray(bom)) ? parseArmaHeader(head.subarray(bom), path) : undefined;
  if (arma) arma.dataOffset += bom;
  if (arma?.kind === 'binary') {
    // Armadillo's reader takes the one byte after the column count as the newline, whatever it is:
    // what else is on that line says how the data would be misread.
    let hint = '';
    if (head[arma.dataOffset - 1] !== 0x0a) {
      const newline = head.indexOf(0x0a, arma.dataOffset - 1);
      const rest = new TextDecoder('latin1').decode(head.subarray(arma.dataOffset - 1, newline < 0 ? Math.min(head.length, arma.dataOffset + 20) : Math.min(newline, arma.dataOffset + 20)));
      hint = /^[ \t\r]*$/.test(rest)
        ? `the matrix size's line ends in ${JSON.stringify(rest)} before its newline, so the data would be read ${rest.length === 1 ? 'a byte' : `${rest.length} bytes`} off`
        : `the matrix size's line goes on after the column count (${JSON.stringify(rest.trim())}), so the data would be read from there`;
    }
    return readBinaryMatrix(path, new ByteSource(fh, head.subarray(arma.dataOffset)), armaBinaryAsNpy(arma), regular ? total : undefined, options, nonneg, 'arma_binary', hint);
  }
  // Images by their extension, as mlpack goes by it: a table whose first cell is "P5" stays a table.
  if (NETPBM_EXTENSIONS.includes(extname(path).toLowerCase())) {
    // The whole file first: a pipe may deliver the header in pieces smaller than `head`.
    const bytes = await readWhole(fh, head, regular ? total : undefined, options);
    const pnm = parsePnmHeader(bytes);
    if (!pnm) throw new InvalidDataError(`${path}: does not start with a Netpbm image header (P5 or P2, width, height, maximum value)`);
    const m = parsePgm(bytes, pnm, path);
    return { ...m, format: 'pgm', headerSkipped: false };
  }
  const nonText = describeNonText(head);
  if (nonText) throw new InvalidDataError(`${path}: ${nonText}`);

  // The separator is detected from the content whatever the extension, as mlpack does: a
  // tab-separated ".csv" or a comma-separated ".tsv" loads (the CLI notes the mismatch).
  // arma_ascii's values, after its header, are separated by blanks (and it has no header row).
  const parser = new TextParser(path, arma ? 0 : -1, nonneg, !arma);
  if (arma) parser.line = arma.headerLines;
  let pending: Buffer[] = []; // copies of the pieces of a line not yet complete
  let bytesRead = 0;
  const progress = progressEvery(onProgress, total);
  let first = true;
  let estimated = false;
  for (;;) {
    if (!first) {
      if (signal?.aborted) throw abortError(signal);
      got = (await fh.read(buffer, 0, CHUNK_BYTES, null)).bytesRead;
    }
    if (got === 0) break;
    const chunk = got === CHUNK_BYTES ? buffer : buffer.subarray(0, got);
    bytesRead += got;
    let start = 0;
    if (first) {
      first = false;
      start = arma ? arma.dataOffset : byteOrderMarkLength(chunk);
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
        // Size the value buffer once. Growing it later holds the old and the new buffer at once,
        // and a slack buffer is copied to its size at the end: either is twice the data at the
        // peak. A large file's rest is counted in lines (a read of it, which warms the page cache
        // for the parse that follows: ~0.3 s per GB); a small one is estimated from the first
        // chunk's density (a 10M × 8 table whose first MiB held 10 % longer rows than the rest
        // peaked at 1289 MiB where 678 sufficed).
        estimated = true;
        const lines = regular && parser.cols > 0 && total - bytesRead > COUNT_LINES_FROM ? await linesFrom(fh, bytesRead, total, signal) : null;
        parser.reserve(lines !== null ? parser.n + lines * parser.cols + 1024 : Math.ceil((parser.n / bytesRead) * total * 1.03) + 1024);
      }
    }
    progress(bytesRead);
  }
  if (pending.length > 0) {
    const rest = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    parser.feed(rest, 0, rest.length);
  }
  if (signal?.aborted) throw abortError(signal);
  onProgress?.(bytesRead, Math.max(total, bytesRead));

  if (!arma) return parser.finish();
  if (parser.rows === 0) throw new InvalidDataError(`${path}: the Armadillo header says ${arma.rows} × ${arma.cols} but no values follow it`);
  const loaded = parser.finish();
  if (loaded.rows !== arma.rows || loaded.cols !== arma.cols) {
    throw new InvalidDataError(`${path}: the Armadillo header says ${arma.rows} × ${arma.cols} but the file holds ${plural(loaded.rows, 'row')} of ${plural(loaded.cols, 'value')}`);
  }
  return { ...loaded, format: 'arma_ascii' };
}

/**
 * Reads a data matrix (rows = points) from a file. `.npy` is NumPy's format (float64 / float32,
 * 1-D or 2-D, of any size). Text's separator is detected from the first data line whatever the
 * extension (a comma, else a tab, else runs of spaces / tabs), as mlpack does: `format` says which
 * was found, so a caller can note a tab-separated `.csv`. Blank lines
 * are skipped; lines may end in `\n`, `\r\n` or `\r`; one pair of double quotes around a cell is
 * removed. If the first non-empty line reads as column names (no numeric cell, or numbers among
 * names) it is taken as a header and skipped (`headerSkipped`); a first line mixing numbers with a
 * value that is no name ("NA", "1.2.3", "12kg") is an error. Values must be finite
 * decimal numbers. A file beginning with NumPy's magic string is read as `.npy`, and one beginning
 * with an Armadillo header (`ARMA_MAT_TXT_…`, `ARMA_MAT_BIN_FN008` / `FN004`) as Armadillo's
 * matrix, one point per row as mlpack saves it (`format` 'arma_ascii' / 'arma_binary'), whatever
 * the name — but a `.npy` name must hold `.npy` data. UTF-16, compressed, HDF5, ARFF and other
 * binary files are refused with what they look like.
 * @throws InvalidDataError naming the file (and the 1-based line and column) for a missing,
 *   unreadable, empty or non-text file, a ragged row, a non-numeric cell, NaN / ±Infinity /
 *   overflow, or an Armadillo matrix that is not one of points (integers, complex, a cube, sparse).
 */
export async function readDataFile(path: string, options: ReadDataFileOptions = {}): Promise<LoadedData> {
  checkPathArgument('readDataFile', path);
  checkFileOptions(options, READ_OPTIONS);
  return load(path, options, false);
}

/**
 * Reads per-point weights: one per line (a single column) or a single row; each finite and ≥ 0;
 * exactly `expectedRows` of them. `.npy` files are accepted too. A non-numeric first row is
 * skipped as a header; `onHeaderSkipped` is told. `signal` is checked between chunks, as by
 * {@link readDataFile}.
 * @throws InvalidDataError naming the file and line.
 */
export async function readWeightsFile(path: string, expectedRows: number, onHeaderSkipped?: () => void, signal?: AbortSignal): Promise<Float64Array> {
  checkPathArgument('readWeightsFile', path);
  if (!Number.isSafeInteger(expectedRows) || expectedRows < 0) {
    throw new InvalidArgumentError('expectedRows', `expectedRows must be a non-negative integer, got ${describeValue(expectedRows)}`);
  }
  if (onHeaderSkipped !== undefined && typeof onHeaderSkipped !== 'function') {
    throw new InvalidArgumentError('onHeaderSkipped', `onHeaderSkipped must be a function, got ${describeValue(onHeaderSkipped)}`);
  }
  checkFileOptions(signal === undefined ? {} : { signal }, READ_OPTIONS);
  const loaded = await load(path, signal ? { signal } : {}, true);
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

/**
 * Writes a row-major matrix as CSV: comma-separated, '\n' line ends, numbers in JavaScript's
 * shortest round-trip form (they read back exactly). Atomic (temporary file + rename).
 * @throws InvalidArgumentError for a `.npy` or `.bin` name (use {@link writeDataFile}).
 * @throws WebGmmError with code 'OUTPUT': `out.csv: cannot write: <reason>`.
 */
export async function writeCsv(path: string, m: { data: ArrayLike<number>; rows: number; cols: number }): Promise<void> {
  checkPathArgument('writeCsv', path);
  checkMatrixArgument('writeCsv', m);
  await writeCsvText('writeCsv', path, m);
}

async function writeCsvText(caller: string, path: string, m: { data: ArrayLike<number>; rows: number; cols: number }): Promise<void> {
  const { data, rows, cols } = m;
  const ext = extname(path).toLowerCase();
  if (ext === '.npy' || ext === '.bin') {
    // CSV text under a binary format's name would not read back (readDataFile goes by the content).
    throw new InvalidArgumentError('path', `${caller} writes CSV text, but ${path} names a binary format; writeDataFile writes the format its extension names`);
  }
  await writeFileAtomic(path, delimitedBlocks(data, rows, cols, ','));
}

/**
 * Writes a row-major matrix in the format `path`'s extension names, as the CLI's outputs do:
 * `.csv` comma-, `.tsv` tab-, `.txt` space-separated (numbers in JavaScript's shortest round-trip
 * form), `.npy` NumPy float64, `.bin` Armadillo's arma_binary float64 (mlpack's `.bin`); each reads
 * back exactly with {@link readDataFile}. Atomic; with `signal`, an abort leaves nothing behind.
 * @throws InvalidArgumentError when `data` holds fewer than rows × cols values.
 * @throws WebGmmError with code 'OUTPUT' for another extension (naming the ones it writes), or when
 *   the file cannot be written.
 */
export async function writeDataFile(
  path: string,
  m: { data: ArrayLike<number>; rows: number; cols: number },
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  checkPathArgument('writeDataFile', path);
  checkMatrixArgument('writeDataFile', m);
  checkFileOptions(options, WRITE_OPTIONS);
  await writeMatrixFile(path, m, options);
}

/** Writes one value per line (e.g. labels or log-likelihoods). Atomic, like `writeCsv`. */
export async function writeColumn(path: string, values: ArrayLike<number>): Promise<void> {
  checkPathArgument('writeColumn', path);
  if (typeof values !== 'object' || values === null || !Number.isInteger(values.length)) {
    throw new InvalidArgumentError('values', `writeColumn needs an array or typed array of numbers, got ${values === null ? 'null' : typeof values}`);
  }
  checkNumberValues('writeColumn', 'values', 'values', values, values.length);
  await writeCsvText('writeColumn', path, { data: values, rows: values.length, cols: 1 });
}
