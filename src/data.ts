/**
 * Normalizes the data forms the public API accepts into one dense row-major matrix (rows =
 * points), checking shape and finiteness once, up front, so the hot loops need not. Float32 input
 * stays float32 (every float32 value is exact in the float64 arithmetic that reads it, so results
 * are the same as from a float64 copy, at half the memory).
 */
import { Matrix } from 'ml-matrix';
import { InvalidDataError } from './errors.js';

/** Row-major matrix in a typed array: `rows` points of `cols` dimensions. */
export interface DenseMatrix<T extends Float64Array | Float32Array = Float64Array | Float32Array> {
  data: T;
  rows: number;
  cols: number;
}

/** Every form of data `train()` and the model methods accept. Rows are points. */
export type DataInput = number[][] | readonly (readonly number[])[] | Matrix | DenseMatrix;

/** Point values as the hot loops read them: float64, or float32 input kept as given. */
export type Values = Float64Array | Float32Array;

/** The canonical internal form: row-major, validated finite. Read only. */
export interface Dataset {
  data: Values;
  n: number;
  d: number;
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
        fail(what, `row ${i}, column ${j} is ${v} (every value must be finite)`, i, j);
      }
    }
  }
}

/**
 * Converts and validates `input`. Dense typed input (float64 or float32) is used without copying
 * (it is only read); everything else is copied into a new Float64Array.
 * @param what names the argument in error messages (e.g. "data").
 */
export function toDataset(input: DataInput, what = 'data'): Dataset {
  if (input === null || input === undefined) fail(what, 'is missing');
  if (Matrix.isMatrix(input)) {
    const m = input as Matrix;
    const n = m.rows, d = m.columns;
    if (n === 0 || d === 0) fail(what, `is empty (${n}×${d})`);
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = m.get(i, j);
    checkFinite(data, n, d, what);
    return { data, n, d };
  }
  if (Array.isArray(input)) {
    const rowsArr = input as readonly (readonly number[])[];
    const n = rowsArr.length;
    if (n === 0) fail(what, 'has no rows');
    const first = rowsArr[0];
    if (!Array.isArray(first) && !ArrayBuffer.isView(first)) fail(what, 'row 0 is not an array of numbers', 0);
    const d = first.length;
    if (d === 0) fail(what, 'row 0 is empty', 0);
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const r = rowsArr[i];
      if (!Array.isArray(r) && !ArrayBuffer.isView(r)) fail(what, `row ${i} is not an array of numbers`, i);
      if (r.length !== d) fail(what, `row ${i} has ${r.length} values but row 0 has ${d}`, i);
      for (let j = 0; j < d; j++) {
        const v = r[j];
        if (typeof v !== 'number') fail(what, `row ${i}, column ${j} is not a number (${typeof v})`, i, j);
        data[i * d + j] = v;
      }
    }
    checkFinite(data, n, d, what);
    return { data, n, d };
  }
  const dm = input as DenseMatrix;
  if (typeof dm === 'object' && (dm.data instanceof Float64Array || dm.data instanceof Float32Array)) {
    const { rows: n, cols: d } = dm;
    if (!Number.isInteger(n) || n <= 0) fail(what, `rows must be a positive integer, got ${n}`);
    if (!Number.isInteger(d) || d <= 0) fail(what, `cols must be a positive integer, got ${d}`);
    if (dm.data.length !== n * d) fail(what, `data has ${dm.data.length} values but rows × cols = ${n * d}`);
    checkFinite(dm.data, n, d, what);
    return { data: dm.data, n, d };
  }
  return fail(what, 'must be number[][], an ml-matrix Matrix, or { data: Float64Array | Float32Array, rows, cols }');
}
