/**
 * Output files of points and per-point values (`probability`, `generate`), in the format the
 * file's extension names, as mlpack chooses it: `.csv` comma-separated, `.txt` space-separated
 * (mlpack's raw ASCII), `.tsv` tab-separated, `.npy` NumPy float64, `.bin` Armadillo's
 * arma_binary float64 (mlpack's default for that extension) — each readable again by
 * `readDataFile` while its values are finite (a density that overflows float64 is written as
 * Infinity). A device, FIFO or socket (`/dev/null`, a named pipe) or a descriptor's name (`/dev/stdout`,
 * `/dev/fd/3`) without one of these extensions gets CSV. Any other name is refused before any work, so that a typo (`out.nyp`) or
 * an unsupported format (`.h5`, `.arff`) does not produce a file in the wrong format.
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { WebGmmError } from '../errors.js';
import { npyBlocks } from './npy.js';
import { armaBinaryBlocks } from './armadillo.js';
import { isStreamPath, writeFileAtomic } from './atomic.js';

export type MatrixFileFormat = 'csv' | 'tsv' | 'txt' | 'npy' | 'bin';

const BY_EXTENSION: Record<string, MatrixFileFormat> = { '.csv': 'csv', '.tsv': 'tsv', '.txt': 'txt', '.npy': 'npy', '.bin': 'bin' };
const SEPARATOR: Record<Exclude<MatrixFileFormat, 'npy' | 'bin'>, string> = { csv: ',', tsv: '\t', txt: ' ' };
const WRITE_BLOCK = 1 << 20; // characters per write

/**
 * The format `path` is written in (see the module comment).
 * @throws WebGmmError with code 'OUTPUT' naming the path when the extension is not one of them.
 */
export async function matrixFileFormat(path: string): Promise<MatrixFileFormat> {
  const known = BY_EXTENSION[extname(path).toLowerCase()];
  if (known) return known;
  if (isStreamPath(path)) return 'csv';
  const st = await stat(path).catch(() => null);
  if (st && !st.isFile() && !st.isDirectory()) return 'csv';
  const ext = extname(path);
  throw new WebGmmError(
    'OUTPUT',
    `${path}: ${ext ? `unknown output file extension "${ext}"` : 'no file extension to tell the format by'} (use .csv, .txt, .tsv, .npy or .bin)`,
  );
}

/** JavaScript's shortest round-trip form; `-0` keeps its sign. */
function formatNumber(x: number): string {
  return x === 0 && 1 / x < 0 ? '-0' : String(x);
}

/** The text of a row-major matrix, values separated by `separator`, in blocks of about 1 Mi characters. */
export function* delimitedBlocks(data: ArrayLike<number>, rows: number, cols: number, separator = ','): Generator<string> {
  let s = '';
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      if (j > 0) s += separator;
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

/**
 * Writes a row-major matrix in the format of `path`'s extension (see {@link matrixFileFormat}),
 * atomically; numbers in text formats are JavaScript's shortest round-trip form (they read back
 * exactly). With `signal`, an abort stops the write and leaves nothing behind.
 */
export async function writeMatrixFile(
  path: string,
  m: { data: ArrayLike<number>; rows: number; cols: number },
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const format = await matrixFileFormat(path);
  if (format === 'npy') {
    const data = m.data instanceof Float64Array ? m.data : Float64Array.from(m.data as ArrayLike<number>);
    await writeFileAtomic(path, npyBlocks(data, m.rows, m.cols), options.signal);
    return;
  }
  if (format === 'bin') {
    await writeFileAtomic(path, armaBinaryBlocks(m.data, m.rows, m.cols), options.signal);
    return;
  }
  await writeFileAtomic(path, delimitedBlocks(m.data, m.rows, m.cols, SEPARATOR[format]), options.signal);
}
