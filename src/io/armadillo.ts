/**
 * Armadillo's own matrix files, the ones mlpack's `data::Load` detects by their first line:
 * arma_ascii (`ARMA_MAT_TXT_FN008`, then "rows cols", then a line per row) and arma_binary
 * (`ARMA_MAT_BIN_FN008`, "rows cols", one newline, then the values in column-major order, in the
 * machine's byte order: little-endian on every platform mlpack ships for). A `.bin` data file that
 * mlpack or `arma::mat::save` wrote is arma_binary unless told otherwise. mlpack saves a dataset
 * transposed, one row per point, so the file's rows are the points and its columns the features —
 * the same orientation as a CSV file.
 */
import { InvalidDataError } from '../errors.js';
import type { NpyHeader } from './npy.js';

export interface ArmaHeader {
  /** arma_ascii or arma_binary. */
  kind: 'text' | 'binary';
  /** The first line, e.g. `ARMA_MAT_BIN_FN008`. */
  magic: string;
  rows: number;
  cols: number;
  /** Bytes before the first value (or, for text, the first value's line). */
  dataOffset: number;
  /** Lines the header takes (text: the first value is on line headerLines + 1). */
  headerLines: number;
}

const ASCII = new TextDecoder('latin1');
/** Long enough for the magic line and two 16-digit sizes. */
export const ARMA_HEADER_BYTES = 64;
const BLANK = /[ \t\r\n\v\f]/;

/**
 * `bytes` begins like an Armadillo file (`ARMA_MAT_TXT_…`, `ARMA_MAT_BIN_…`, a cube's or a sparse
 * matrix's magic, up to the first blank): its header decides what it is. Only the magic's own
 * prefixes count: a column named `ARMA_resid` (an ARMA model's residual) heads a CSV file.
 */
export function isArmaMagic(bytes: Uint8Array): boolean {
  const first = /^\S*/.exec(ASCII.decode(bytes.subarray(0, Math.min(bytes.length, ARMA_HEADER_BYTES))))![0];
  return /^ARMA_(?:MAT|CUB|SPM)_(?:TXT|BIN)_[^,;|"']*$/.test(first);
}

function fail(path: string, message: string): never {
  throw new InvalidDataError(`${path}: ${message}`);
}

/** What an Armadillo element-type code (`FN008`, `IS004`, …) holds, for messages. */
function describeType(code: string): string {
  const m = /^([FI])([NUSC])(\d{3})$/.exec(code);
  if (!m) return `an unknown element type "${code}"`;
  const bits = Number(m[3]) * 8;
  if (m[2] === 'C') return `complex numbers (${bits / 2}-bit parts)`;
  if (m[1] === 'F') return `${bits}-bit floating-point numbers`;
  return `${m[2] === 'U' ? 'unsigned' : 'signed'} ${bits}-bit integers`;
}

/**
 * Parses the header at the start of `head` (which must hold at least its first
 * {@link ARMA_HEADER_BYTES} bytes, or the whole file when shorter).
 * @throws InvalidDataError naming the file for a cube, a sparse matrix, an element type other than
 *   float64 / float32 in a binary file (mlpack's `arma::mat` loads only float64 there), complex
 *   values, or a malformed or empty header.
 */
export function parseArmaHeader(head: Uint8Array, path: string): ArmaHeader {
  const text = ASCII.decode(head.subarray(0, Math.min(head.length, ARMA_HEADER_BYTES)));
  const magic = /^\S*/.exec(text)![0];
  if (magic.startsWith('ARMA_CUB_')) fail(path, `an Armadillo cube (${magic}): a 3-D array, not a matrix of points`);
  if (magic.startsWith('ARMA_SPM_')) fail(path, `an Armadillo sparse matrix (${magic}); save it dense (arma_binary, CSV or .npy)`);
  const kind = magic.startsWith('ARMA_MAT_TXT_') ? 'text' : magic.startsWith('ARMA_MAT_BIN_') ? 'binary' : null;
  if (kind === null) fail(path, `starts with "${magic.slice(0, 40)}", which is no Armadillo matrix header (ARMA_MAT_TXT_… or ARMA_MAT_BIN_…)`);
  const code = magic.slice('ARMA_MAT_XXX_'.length);
  if (code.startsWith('FC')) fail(path, `an Armadillo matrix of ${describeType(code)}, which a Gaussian mixture cannot be trained on`);
  if (kind === 'binary' && code !== 'FN008' && code !== 'FN004') {
    fail(path, `an Armadillo binary matrix of ${describeType(code)}; only float64 (FN008) and float32 (FN004) are read, as mlpack loads only float64 into a dataset`);
  }
  if (kind === 'text' && !/^[FI][NUS]\d{3}$/.test(code)) fail(path, `an Armadillo text matrix of ${describeType(code)}`);
  // The sizes follow, separated by blanks; Armadillo's reader takes any whitespace between them.
  const sizes = /^\S+[ \t\r\n]+(\d+)[ \t]+(\d+)/.exec(text);
  if (!sizes) fail(path, `malformed Armadillo header: "${magic}" must be followed by the number of rows and of columns`);
  // The sizes must end inside the bytes looked at, or a longer number would be read cut short.
  if (sizes[0].length >= text.length) {
    fail(path, head.length < ARMA_HEADER_BYTES
      ? `the file ends in its Armadillo header, after "${text.trim().replace(/\s+/g, ' ')}" (truncated?)`
      : `malformed Armadillo header: no end to the matrix size within its first ${ARMA_HEADER_BYTES} bytes`);
  }
  const rows = Number(sizes[1]), cols = Number(sizes[2]);
  if (!Number.isSafeInteger(rows * cols)) fail(path, `malformed Armadillo header: ${sizes[1]} × ${sizes[2]} values is implausibly large`);
  if (rows === 0 || cols === 0) fail(path, `the Armadillo matrix is empty (${rows} × ${cols})`);
  let end = sizes[0].length;
  const lines = (to: number): number => (text.slice(0, to).match(/\r\n|\r|\n/g) ?? []).length;
  if (kind === 'binary') {
    // arma_binary: exactly one character (the newline) after the column count, then the data.
    if (end >= head.length || !BLANK.test(text[end] ?? '')) fail(path, 'malformed Armadillo header: no newline after the matrix size');
    if (text[end] === '\r' && text[end + 1] === '\n') {
      fail(path, 'the Armadillo header ends in CR LF, where the binary format has one newline (converted to Windows line endings?); the data would be read a byte off');
    }
    return { kind, magic, rows, cols, dataOffset: end + 1, headerLines: lines(end + 1) };
  }
  // arma_ascii: the values begin on the next line; nothing else may follow the sizes on theirs.
  // One byte past the window, so that a CR LF split by its end is taken whole (not a CR, then an
  // empty line that would shift every line number after it).
  const wider = ASCII.decode(head.subarray(0, Math.min(head.length, ARMA_HEADER_BYTES + 1)));
  const rest = /^[ \t]*(?:\r\n|\r|\n|$)/.exec(wider.slice(end));
  if (!rest) fail(path, `malformed Armadillo header: "${/^\s*\S*/.exec(text.slice(end))![0].trim()}" after the matrix size (${rows} ${cols}) on its line`);
  end += rest[0].length;
  return { kind, magic, rows, cols, dataOffset: end, headerLines: (wider.slice(0, end).match(/\r\n|\r|\n/g) ?? []).length };
}

/** The binary header in the shape the `.npy` reader takes: column-major, little-endian. */
export function armaBinaryAsNpy(h: ArmaHeader): NpyHeader {
  const itemSize = h.magic.endsWith('FN004') ? 4 : 8;
  return {
    descr: `${itemSize === 8 ? 'float64' : 'float32'} (${h.magic})`,
    shape: `(${h.rows}, ${h.cols})`,
    rows: h.rows,
    cols: h.cols,
    count: h.rows * h.cols,
    itemSize,
    bigEndian: false,
    transpose: h.rows > 1 && h.cols > 1,
    dataOffset: h.dataOffset,
    byteLength: h.rows * h.cols * itemSize,
  };
}

/** Values per block of {@link armaBinaryBlocks}: 1 MiB. */
const BLOCK_VALUES = 1 << 17;

/**
 * A row-major matrix as arma_binary float64 (what mlpack writes to a `.bin` output): the header,
 * then the values column by column, little-endian, in blocks of 1 MiB.
 */
export function* armaBinaryBlocks(data: ArrayLike<number>, rows: number, cols: number): Generator<Uint8Array> {
  yield new TextEncoder().encode(`ARMA_MAT_BIN_FN008\n${rows} ${cols}\n`);
  const total = rows * cols;
  for (let first = 0; first < total; first += BLOCK_VALUES) {
    const n = Math.min(BLOCK_VALUES, total - first);
    const block = new Uint8Array(n * 8);
    const view = new DataView(block.buffer);
    // Value number f of the file is element (f mod rows, f div rows).
    let i = first % rows;
    let j = (first - i) / rows;
    for (let t = 0; t < n; t++) {
      view.setFloat64(t * 8, data[i * cols + j]!, true);
      if (++i === rows) {
        i = 0;
        j++;
      }
    }
    yield block;
  }
}
