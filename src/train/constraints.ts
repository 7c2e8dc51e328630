/**
 * Covariance constraints applied after every M-step and to the initial clusters.
 *
 * `'mlpack'` is mlpack's PositiveDefiniteConstraint, bit for bit in intent: symmetrize from the
 * upper triangle, eigendecompose, and if the smallest eigenvalue is negative, the condition number
 * exceeds 1e5, or the largest eigenvalue is below 1e-50, raise every eigenvalue to at least
 * max(λmax / 1e5, 1e-50) and rebuild V Λ Vᵀ. The diagonal form applies the same rule per variance.
 */
import { symmetricEigen } from '../util/linalg.js';

/** Which covariance constraint policy to apply. Only mlpack's exists for now. */
export type CovarianceConstraint = 'mlpack';
export const COVARIANCE_CONSTRAINTS: readonly CovarianceConstraint[] = ['mlpack'];

const MAX_CONDITION = 1e5;
const MIN_EIGENVALUE = 1e-50;

/** mlpack's PositiveDefiniteConstraint on the full d×d covariance at `cov[off…]`, in place. */
export function applyMlpackFull(cov: Float64Array, d: number, off = 0): void {
  // symmatu: the upper triangle is authoritative.
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) cov[off + j * d + i] = cov[off + i * d + j]!;
  const { values, vectors } = symmetricEigen(cov, d, off);
  const lmin = values[0]!;
  const lmax = values[d - 1]!;
  if (!(lmin < 0 || lmax / lmin > MAX_CONDITION || lmax < MIN_EIGENVALUE)) return;
  const floor = Math.max(lmax / MAX_CONDITION, MIN_EIGENVALUE);
  for (let i = 0; i < d; i++) if (values[i]! < floor) values[i] = floor;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let m = 0; m < d; m++) s += vectors[i * d + m]! * values[m]! * vectors[j * d + m]!;
      cov[off + i * d + j] = s;
      cov[off + j * d + i] = s;
    }
  }
}

/** mlpack's PositiveDefiniteConstraint for a diagonal covariance (d variances at `v[off…]`), in place. */
export function applyMlpackDiagonal(v: Float64Array, d: number, off = 0): void {
  let vmax = -Number.MAX_VALUE;
  for (let j = 0; j < d; j++) if (v[off + j]! > vmax) vmax = v[off + j]!;
  const floor = Math.max(vmax / MAX_CONDITION, MIN_EIGENVALUE);
  for (let j = 0; j < d; j++) {
    const x = v[off + j]!;
    if (x < 0 || vmax / x > MAX_CONDITION || vmax < MIN_EIGENVALUE) v[off + j] = floor;
  }
}

/** Applies `policy` to every component of a packed K×D×D (full) or K×D (diagonal) covariance array. */
export function applyConstraint(
  policy: CovarianceConstraint,
  diagonal: boolean,
  covariances: Float64Array,
  k: number,
  d: number,
): void {
  switch (policy) {
    case 'mlpack':
      for (let c = 0; c < k; c++) {
        if (diagonal) applyMlpackDiagonal(covariances, d, c * d);
        else applyMlpackFull(covariances, d, c * d * d);
      }
      return;
  }
}
