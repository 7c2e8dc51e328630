/**
 * Normalizes the data forms the public API accepts into one dense row-major matrix (rows =
 * points), checking shape and finiteness once, up front, so the hot loops need not. Float32 input
 * stays float32 (every float32 value is exact in the float64 arithmetic that reads it, so results
 * are the same as from a float64 copy, at half the memory).
 */
import type { AbstractMatrix } from 'ml-matrix';
import { InvalidArgumentError, InvalidDataError } from './errors.js';

/** Row-major matrix in a typed array: `rows` points of `cols` dimensions. */
export interface DenseMatrix<T extends Float64Array | Float32Array = Float64Array | Float32Array> {
  /** rows × cols values, row-major: point i's coordinates at [i·cols, (i+1)·cols). */
  data: T;
  /** Number of points. */
  rows: number;
  /** Number of dimensions per point. */
  cols: number;
}

/**
 * Numbers in a row, a model's weights or a mean: an array, or a typed array of numbers (a
 * `DataView` or another array-like object is refused; so are a `BigInt64Array`'s values).
 */
export type NumberArray =
  | readonly number[]
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray;

/** Whether `v` is an array or a typed array (not a `DataView`): what {@link NumberArray} admits, its values still to check. */
export function isNumberArray(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/**
 * Every form of data `train()` and the model methods accept. Rows are points: arrays of numbers,
 * or typed arrays (`Float64Array[]`, as visualization code often holds them); an ml-matrix `Matrix`
 * or any of its views (`AbstractMatrix`).
 */
export type DataInput = number[][] | readonly NumberArray[] | AbstractMatrix | DenseMatrix;

/** Point values as the hot loops read them: float64, or float32 input kept as given. */
export type Values = Float64Array | Float32Array;

/** The canonical internal form: row-major, validated finite. Read only. */
export interface Dataset {
  data: Values;
  n: number;
  d: number;
}

/**
 * How messages name column (feature) j: counted from 1, as the CLI's parse errors count a file's
 * columns ("line 3, column 2"), with the 0-based index an array-minded caller uses.
 */
export function columnLabel(j: number): string {
  return `${j + 1} (index ${j})`;
}

/** How messages name row (point) i: counted from 1 with its 0-based index, as columns are. */
function rowLabel(i: number): string {
  return `${i + 1} (index ${i})`;
}

/** Several columns, as {@link columnLabel}: "1, 4 (indices 0, 3)"; `extra` follows each index. */
export function columnList(js: readonly number[], extra: (j: number) => string = () => ''): string {
  if (js.length === 1) return `${js[0]! + 1} (index ${js[0]}${extra(js[0]!)})`;
  return `${js.map((j) => j + 1).join(', ')} (indices ${js.map((j) => `${j}${extra(j)}`).join(', ')})`;
}

function fail(what: string, message: string, row?: number, col?: number): never {
  throw new InvalidDataError(`${what}: ${message}`, row, col);
}

function checkFinite(data: Values, n: number, d: number, what: string): void {
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const v = data[o + j]!;
      if (!Number.isFinite(v)) {
        fail(what, `row ${rowLabel(i)}, column ${columnLabel(j)} is ${v} (every value must be finite)`, i, j);
      }
    }
  }
}

/** A value as an error message shows it: strings quoted (so `"1"` is told from 1), objects by their kind. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    // The tag, not the constructor, so that objects from another realm (a worker) read the same.
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    return tag === 'Object' ? 'an object' : `${/^[AEIOU]/.test(tag) ? 'an' : 'a'} ${tag}`;
  }
  return typeof v;
}

/**
 * Observation weights as train() and the model's methods take them: one finite weight ≥ 0 per
 * point, not all zero; `undefined` means every point counts once (null is returned).
 */
export function checkObservationWeights(w: unknown, n: number): Float64Array | null {
  if (w === undefined) return null;
  if (typeof w !== 'object' || w === null || typeof (w as ArrayLike<unknown>).length !== 'number') {
    throw new InvalidArgumentError('observationWeights', `observationWeights must be an array of numbers, one per point, got ${describeValue(w)}`);
  }
  const a = w as ArrayLike<unknown>;
  if (a.length !== n) {
    throw new InvalidArgumentError('observationWeights', `observationWeights has ${a.length} entries but the data has ${n} points`);
  }
  const out = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new InvalidArgumentError('observationWeights', `observationWeights[${i}] = ${describeValue(v)}: weights must be finite and ≥ 0`);
    }
    out[i] = v;
    total += v;
  }
  if (!(total > 0)) throw new InvalidArgumentError('observationWeights', 'observationWeights are all zero');
  return out;
}

/**
 * Largest Σ w·|x| and Σ w·x² a column may reach, and the least nonzero spread it may have:
 * EM forms those sums (and products of deviations) in float64, whose range is 1e±308; the margins
 * leave room for the products and for sums over components.
 */
const MAX_SUM = 1e280;
const MIN_SPREAD = 1e-140;
/** Least Σ w·|x| and Σ w·(x − x̄)² a column that is not all zero (or not constant) may reach. */
const MIN_SUM = 1e-280;

/** The points `idx` of `ds` (in that order), copied into a new row-major float64 dataset. */
export function gatherRows(ds: Dataset, idx: Int32Array): Dataset {
  const d = ds.d;
  const data = new Float64Array(idx.length * d);
  for (let r = 0; r < idx.length; r++) data.set(ds.data.subarray(idx[r]! * d, idx[r]! * d + d), r * d);
  return { data, n: idx.length, d };
}

/** Per column of the n×d row-major `data`, its least and greatest value. */
export function columnRanges(data: Values, n: number, d: number): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  // Feature by feature over ~64 KiB blocks of points, the extremes in registers.
  const rows = Math.max(1, Math.floor(8192 / d));
  for (let b = 0; b < n; b += rows) {
    const e = Math.min(n, b + rows) * d;
    for (let j = 0; j < d; j++) {
      let min = lo[j]!, max = hi[j]!;
      for (let o = b * d + j; o < e; o += d) {
        const v = data[o]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      lo[j] = min;
      hi[j] = max;
    }
  }
  return { lo, hi };
}

/**
 * Rejects data whose magnitudes float64 EM cannot work with: a column whose (weighted) sum of
 * values or of their squares would overflow, or whose values differ by so little that their
 * variances underflow (InvalidDataError), or weights whose sum makes the weighted sums overflow or
 * underflow (InvalidArgumentError for `observationWeights`). `context` is said first in the data's
 * messages and in parentheses in the weights' (e.g. that noise was added).
 */
export function checkMagnitudes(ds: Dataset, weights: Float64Array | null, what = 'data', context = ''): void {
  const { data, n, d } = ds;
  let totalWeight = n;
  if (weights) {
    totalWeight = 0;
    for (let i = 0; i < n; i++) totalWeight += weights[i]!;
  }
  const { lo, hi } = columnRanges(data, n, d);
  // A sum of weights beyond float64 is the weights' own problem (only their ratios matter), so it
  // names them, not the data.
  const weightsFail = (message: string): never => {
    throw new InvalidArgumentError('observationWeights', `observationWeights ${message}`);
  };
  const afterNoise = context === '' ? '' : ` (${context.replace(/,\s*$/, '')})`;
  // Deviations from a computed mean are bounded by the spread plus the mean's rounding error, which
  // grows with the magnitude (a constant column of 1e200 deviates by ~1e184): bound by the magnitude.
  const tooLarge = (total: number, largest: number) => !(total * largest <= MAX_SUM) || !(total * largest * largest <= MAX_SUM);
  for (let j = 0; j < d; j++) {
    const spread = hi[j]! - lo[j]!;
    const range = `from ${lo[j]!.toPrecision(3)} to ${hi[j]!.toPrecision(3)}`;
    const largest = Math.max(Math.abs(lo[j]!), Math.abs(hi[j]!));
    if (tooLarge(totalWeight, largest)) {
      if (weights && !tooLarge(n, largest)) {
        weightsFail(
          `sum to ${totalWeight.toPrecision(3)}: too large for float64 arithmetic with the values of ${what} column ${columnLabel(j)}, ${range}${afterNoise} ` +
            '(their weighted sums and squares overflow); rescale the weights (only their ratios matter)',
        );
      }
      if (weights) {
        // Rows of weight 0 take no part in the fit, but their values still pass through float64
        // arithmetic (centring, distances): say so where one of them is what overflows.
        let row = -1;
        let kept = 0;
        for (let i = 0; i < n; i++) {
          const v = Math.abs(data[i * d + j]!);
          if (weights[i]! > 0) kept = Math.max(kept, v);
          else if (row < 0 || v > Math.abs(data[row * d + j]!)) row = i;
        }
        if (row >= 0 && !tooLarge(totalWeight, kept)) {
          fail(
            what,
            `${context}row ${rowLabel(row)}, column ${columnLabel(j)} holds ${data[row * d + j]!.toPrecision(3)}: too large for float64 arithmetic beside the data's total weight (Σw·x² would pass 1e280) — though its observation weight is 0, its values are still computed with; remove the row`,
            row,
            j,
          );
        }
      }
      fail(what, `${context}column ${columnLabel(j)} holds values ${range}: too large for float64 arithmetic (their sums and squares overflow); rescale the column`, undefined, j);
    }
    const tinySums = (largest > 0 && totalWeight * largest < MIN_SUM) || (spread > 0 && totalWeight * spread * spread < MIN_SUM);
    if (weights && tinySums && !(spread > 0 && spread < MIN_SPREAD)) {
      weightsFail(
        `sum to ${totalWeight.toPrecision(3)}: too small for float64 arithmetic with the values of ${what} column ${columnLabel(j)}, ${range}${afterNoise} ` +
          '(their weighted sums and squares underflow); rescale the weights (only their ratios matter)',
      );
    }
    if (spread > 0 && spread < MIN_SPREAD) {
      fail(what, `${context}column ${columnLabel(j)} holds values ${range}: they differ by only ${spread.toPrecision(3)}, too little for float64 arithmetic (their variances underflow); rescale the column`, undefined, j);
    }
  }
}

/**
 * The `{ data, rows, cols }` argument of an exported writer or encoder, checked for callers without
 * types: an InvalidArgumentError naming `matrix` (in `caller`'s words) instead of a TypeError deep in
 * the write.
 * @internal
 */
export function checkMatrixArgument(caller: string, m: unknown): asserts m is { data: ArrayLike<number>; rows: number; cols: number } {
  const o = m as { data?: { length?: unknown } | null; rows?: unknown; cols?: unknown } | null;
  if (typeof o !== 'object' || o === null || typeof o.data !== 'object' || o.data === null || !Number.isInteger(o.data.length)) {
    throw new InvalidArgumentError('matrix', `${caller} needs { data, rows, cols } with data an array or typed array of numbers, got ${o === null ? 'null' : typeof o}`);
  }
  const { rows, cols } = o;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || (rows as number) < 0 || (cols as number) < 0) {
    throw new InvalidArgumentError('matrix', `${caller}: rows and cols must be non-negative integers (got ${String(rows)}×${String(cols)})`);
  }
  const need = (rows as number) * (cols as number);
  if ((o.data.length as number) < need) throw new InvalidArgumentError('matrix', `${caller}: data has ${String(o.data.length)} values but ${String(rows)}×${String(cols)} needs ${need}`);
  checkNumberValues(caller, 'matrix', 'data', o.data as ArrayLike<unknown>, need);
}

/**
 * The first `count` entries of a writer's values are numbers (a typed array's are, but a BigInt
 * array's): values that are not were written as they print ('1,5' as two CSV fields, a hole as
 * "undefined") or as NaN, or threw a TypeError (BigInt) in the encoder.
 * @internal
 */
export function checkNumberValues(caller: string, parameter: string, what: string, data: ArrayLike<unknown>, count: number): void {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    throw new InvalidArgumentError(parameter, `${caller}: ${what} is a ${data.constructor.name}; write numbers (a Float64Array, a Float32Array or an array)`);
  }
  if (ArrayBuffer.isView(data)) return;
  for (let i = 0; i < count; i++) {
    if (typeof data[i] !== 'number') throw new InvalidArgumentError(parameter, `${caller}: ${what}[${i}] is ${describeValue(data[i])}, not a number`);
  }
}

/** Options of {@link toDataset}. */
export interface ToDatasetOptions {
  /**
   * Accept zero rows (the model's methods: no points, empty results); `train()` needs at least
   * one point, so the default is false. `[]` and a 0×0 Matrix, whose number of columns is
   * unknown, give `d` = 0, which the caller takes as "any"; `{ data, rows: 0, cols }` still needs
   * cols ≥ 1.
   */
  allowEmpty?: boolean;
  /** Where a copy is made (trainInWorker: in shared memory). Default: a new Float64Array. */
  allocate?: (length: number) => Float64Array;
}

/**
 * An ml-matrix matrix or view, told as ml-matrix's own `Matrix.isMatrix` tells it (`klass`), without
 * importing ml-matrix at run time: its ES module entry re-exports CommonJS, which a page's worker
 * served unbundled (Vite's dev server) cannot load — and the browser bundle carried 69 KiB of it
 * for this one test.
 */
function isMlMatrix(input: unknown): input is AbstractMatrix {
  return typeof input === 'object' && input !== null && (input as { klass?: unknown }).klass === 'Matrix';
}

/**
 * Converts and validates `input`. Dense typed input (float64 or float32) is used without copying
 * (it is only read); everything else is copied into a new Float64Array.
 * @param what names the argument in error messages (e.g. "data").
 */
export function toDataset(input: DataInput, what = 'data', options: ToDatasetOptions = {}): Dataset {
  const allowEmpty = options.allowEmpty === true;
  if (input === null || input === undefined) fail(what, 'is missing');
  if (isMlMatrix(input)) {
    const m = input;
    const n = m.rows, d = m.columns;
    if (n === 0 && allowEmpty) return { data: new Float64Array(0), n: 0, d };
    if (n === 0 || d === 0) fail(what, `is empty (${n}×${d})`);
    const data = options.allocate ? options.allocate(n * d) : new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = m.get(i, j);
    checkFinite(data, n, d, what);
    return { data, n, d };
  }
  if (Array.isArray(input)) {
    const rowsArr = input as readonly unknown[];
    const n = rowsArr.length;
    if (n === 0) {
      if (allowEmpty) return { data: new Float64Array(0), n: 0, d: 0 };
      fail(what, 'has no rows');
    }
    const first = rowsArr[0];
    if (!isNumberArray(first)) fail(what, `row ${rowLabel(0)} is not an array of numbers`, 0);
    const d = first.length;
    if (d === 0) fail(what, `row ${rowLabel(0)} is empty`, 0);
    const data = options.allocate ? options.allocate(n * d) : new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const r = rowsArr[i];
      if (!isNumberArray(r)) fail(what, `row ${rowLabel(i)} is not an array of numbers`, i);
      if (r.length !== d) fail(what, `row ${rowLabel(i)} has ${r.length} values but row 1 (index 0) has ${d}`, i);
      for (let j = 0; j < d; j++) {
        const v = r[j];
        if (typeof v !== 'number') fail(what, `row ${rowLabel(i)}, column ${columnLabel(j)} is not a number (${typeof v})`, i, j);
        data[i * d + j] = v;
      }
    }
    checkFinite(data, n, d, what);
    return { data, n, d };
  }
  const dm = input as DenseMatrix;
  if (typeof dm === 'object' && (dm.data instanceof Float64Array || dm.data instanceof Float32Array)) {
    const { rows: n, cols: d } = dm;
    if (!Number.isInteger(n) || n < 0 || (n === 0 && !allowEmpty)) fail(what, `rows must be a ${allowEmpty ? 'non-negative' : 'positive'} integer, got ${describeValue(n)}`);
    if (!Number.isInteger(d) || d <= 0) fail(what, `cols must be a positive integer, got ${describeValue(d)}`);
    if (dm.data.length !== n * d) fail(what, `data has ${dm.data.length} values but rows × cols = ${n * d}`);
    checkFinite(dm.data, n, d, what);
    return { data: dm.data, n, d };
  }
  return fail(what, 'must be number[][], an ml-matrix Matrix, or { data: Float64Array | Float32Array, rows, cols }');
}
