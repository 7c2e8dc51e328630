/**
 * The 2-D view of D-dimensional data: the first two columns when D ≤ 2, otherwise the top two
 * principal components. Means project as P(μ − m), covariances as P Σ Pᵀ, so the ellipses drawn
 * are the exact marginal ellipses of each component in the plotted plane.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

export interface Projection {
  /** 2×D rows of P. */
  axes: [Float64Array, Float64Array];
  /** Subtracted before projecting (zero for the column view). */
  centre: Float64Array;
  labels: [string, string];
}

export function makeProjection(data: Float64Array, rows: number, cols: number, header?: string[]): Projection {
  const name = (j: number): string => header?.[j] || `column ${j + 1}`;
  if (cols <= 2) {
    const a = new Float64Array(cols), b = new Float64Array(cols);
    a[0] = 1;
    if (cols === 2) b[1] = 1;
    return { axes: [a, b], centre: new Float64Array(cols), labels: [name(0), cols === 2 ? name(1) : '(none)'] };
  }
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += data[i * cols + j]!;
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  const cov = Matrix.zeros(cols, cols);
  const x = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) x[j] = data[i * cols + j]! - mean[j]!;
    for (let r = 0; r < cols; r++) for (let c = r; c < cols; c++) cov.set(r, c, cov.get(r, c) + x[r]! * x[c]!);
  }
  for (let r = 0; r < cols; r++) for (let c = r; c < cols; c++) cov.set(c, r, cov.get(r, c));
  const eig = new EigenvalueDecomposition(cov, { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const order = values.map((v, i) => [v, i] as const).sort((p, q) => q[0] - p[0]);
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0) || 1;
  const vectors = eig.eigenvectorMatrix;
  const axis = (k: number): Float64Array => Float64Array.from({ length: cols }, (_, j) => vectors.get(j, order[k]![1]));
  const pct = (k: number): string => `${((100 * Math.max(order[k]![0], 0)) / total).toFixed(1)}% of variance`;
  return { axes: [axis(0), axis(1)], centre: mean, labels: [`PC1 (${pct(0)})`, `PC2 (${pct(1)})`] };
}

export function projectPoint(p: Projection, x: ArrayLike<number>, offset: number): [number, number] {
  const [a, b] = p.axes;
  let u = 0, v = 0;
  for (let j = 0; j < a.length; j++) {
    const c = x[offset + j]! - p.centre[j]!;
    u += a[j]! * c;
    v += b[j]! * c;
  }
  return [u, v];
}

/** P Σ Pᵀ as [σuu, σuv, σvv], for a full (D×D at `off`) or diagonal (D variances at `off`) covariance. */
export function projectCovariance(p: Projection, cov: ArrayLike<number>, off: number, diagonal: boolean): [number, number, number] {
  const [a, b] = p.axes;
  const d = a.length;
  let uu = 0, uv = 0, vv = 0;
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) {
      const s = diagonal ? (r === c ? cov[off + r]! : 0) : cov[off + r * d + c]!;
      if (s === 0) continue;
      uu += a[r]! * s * a[c]!;
      uv += a[r]! * s * b[c]!;
      vv += b[r]! * s * b[c]!;
    }
  }
  return [uu, uv, vv];
}
