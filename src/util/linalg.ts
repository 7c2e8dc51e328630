/**
 * Small dense linear algebra on row-major Float64Arrays (D×D, D small). Allocation-free where it
 * runs once per component per iteration; the symmetric eigensolver is in symmetric-eigen.ts.
 */
import { WebGmmError } from '../errors.js';
import { tridiagonalQL } from './symmetric-eigen.js';

/**
 * In-place Cholesky factorization A = L Lᵀ of the symmetric matrix stored at `a[off … off+d²)`
 * (only the lower triangle is read). On success the lower triangle holds L and the strict upper
 * triangle is zeroed. Returns false (leaving `a` partly overwritten) when A is not positive definite.
 */
export function choleskyInPlace(a: Float64Array, d: number, off = 0): boolean {
  for (let j = 0; j < d; j++) {
    const rj = off + j * d;
    let s = a[rj + j]!;
    for (let k = 0; k < j; k++) s -= a[rj + k]! * a[rj + k]!;
    if (!(s > 0) || !Number.isFinite(s)) return false;
    const ljj = Math.sqrt(s);
    a[rj + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      const ri = off + i * d;
      let t = a[ri + j]!;
      for (let k = 0; k < j; k++) t -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = t / ljj;
    }
  }
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) a[off + i * d + j] = 0;
  return true;
}

/** Inverse of the lower-triangular L (row-major, at `l[lOff…]`) into `out[outOff…]` (lower, zeros above). */
export function invertLower(l: Float64Array, d: number, out: Float64Array, lOff = 0, outOff = 0): void {
  for (let i = 0; i < d * d; i++) out[outOff + i] = 0;
  for (let j = 0; j < d; j++) {
    out[outOff + j * d + j] = 1 / l[lOff + j * d + j]!;
    for (let i = j + 1; i < d; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += l[lOff + i * d + k]! * out[outOff + k * d + j]!;
      out[outOff + i * d + j] = -s / l[lOff + i * d + i]!;
    }
  }
}

/** log det(L Lᵀ) from the Cholesky factor L. */
export function logDetFromCholesky(l: Float64Array, d: number, off = 0): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += Math.log(l[off + i * d + i]!);
  return 2 * s;
}

/** The last size's scratch, reused: the policy eigendecomposes every component after every M-step. */
let workspace: { d: number; transposed: Float64Array; scratch: Float64Array } | null = null;
function eigenWorkspace(d: number): { transposed: Float64Array; scratch: Float64Array } {
  if (workspace?.d !== d) workspace = { d, transposed: new Float64Array(d * d), scratch: new Float64Array(d) };
  return workspace;
}

/**
 * Eigendecomposition of a symmetric matrix (row-major d×d): eigenvalues ascending, and the
 * eigenvectors as the columns of a row-major d×d matrix.
 */
export function symmetricEigen(a: Float64Array, d: number, off = 0): { values: Float64Array; vectors: Float64Array } {
  let maxAbs = 0;
  for (let i = 0; i < d * d; i++) {
    const v = a[off + i]!;
    // The QL iteration would turn these into NaN eigenvalues (ml-matrix's threw a TypeError).
    if (!Number.isFinite(v)) {
      throw new WebGmmError('NUMERICAL', `a covariance matrix holds ${v} (entry ${Math.floor(i / d)}, ${i % d}): the data overflow float64 arithmetic, or changed during training`);
    }
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  // Entries below 2^-200 of the largest change no eigenvalue at float64's resolution, but
  // subnormal ones (binary data's covariances hold 1e-319) send the QL iteration astray (ml-matrix's
  // read out of bounds): they are taken as the zeros they stand for.
  const negligible = maxAbs * 2 ** -200;
  const cleaned = (i: number): number => {
    const v = a[off + i]!;
    return Math.abs(v) < negligible ? 0 : v;
  };
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  const { transposed, scratch } = eigenWorkspace(d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) transposed[j * d + i] = cleaned(i * d + j);
  tridiagonalQL(d, transposed, values, scratch);
  if (values.every(Number.isFinite) && transposed.every(Number.isFinite)) {
    for (let c = 0; c < d; c++) for (let r = 0; r < d; r++) vectors[r * d + c] = transposed[c * d + r]!;
    return { values, vectors };
  }
  // The QL iteration has failed on matrices no other check predicts; cyclic Jacobi rotations are
  // slower but cannot fail on a finite symmetric matrix.
  const j = jacobiEigen(Float64Array.from({ length: d * d }, (_, i) => cleaned(i)), d);
  const order = Array.from(j.values.keys()).sort((x, y) => j.values[x]! - j.values[y]!);
  for (let c = 0; c < d; c++) {
    const src = order[c]!;
    values[c] = j.values[src]!;
    for (let r = 0; r < d; r++) vectors[r * d + c] = j.vectors[r * d + src]!;
  }
  return { values, vectors };
}

/**
 * Eigenvalues and eigenvectors (columns of the row-major `vectors`) of the symmetric d×d row-major
 * `a` by cyclic Jacobi rotations, to float64's resolution: the fallback of {@link symmetricEigen}.
 */
export function jacobiEigen(a: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  const w = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, total = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const x = w[i * d + j]! * w[i * d + j]!;
        total += x;
        if (i !== j) off += x;
      }
    }
    if (!(off > Number.EPSILON * Number.EPSILON * total)) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = w[p * d + q]!;
        if (apq === 0) continue;
        const theta = (w[q * d + q]! - w[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = w[k * d + p]!, akq = w[k * d + q]!;
          w[k * d + p] = c * akp - s * akq;
          w[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = w[p * d + k]!, aqk = w[q * d + k]!;
          w[p * d + k] = c * apk - s * aqk;
          w[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!, vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = w[i * d + i]!;
  return { values, vectors: v };
}

/** Largest |a_ij − a_ji| relative to the largest |a_ij|: 0 for an exactly symmetric matrix. */
export function asymmetry(a: Float64Array, d: number, off = 0): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const v = a[off + i * d + j]!;
      if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
      if (j > i) {
        const diff = Math.abs(v - a[off + j * d + i]!);
        if (diff > maxDiff) maxDiff = diff;
      }
    }
  }
  return maxAbs === 0 ? 0 : maxDiff / maxAbs;
}

/** Replace the matrix by (A + Aᵀ)/2 (entries beyond half of float64's range too: halved first). */
export function symmetrizeInPlace(a: Float64Array, d: number, off = 0): void {
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const x = a[off + i * d + j]!, y = a[off + j * d + i]!;
      const sum = x + y;
      const v = Number.isFinite(sum) ? 0.5 * sum : 0.5 * x + 0.5 * y;
      a[off + i * d + j] = v;
      a[off + j * d + i] = v;
    }
  }
}
