/**
 * The M-step on the host in float64: turns the shifted sufficient statistics of θ_t into θ_{t+1}.
 *   μ_k = c_k + s_k / N_k  (c_k: the shift point, μ_k(θ_t) up to the backend's rounding),   Σ_k = S_k / N_k − (s_k / N_k)(s_k / N_k)ᵀ + e_k e_kᵀ,   w_k = N_k / Σ_j N_j
 * (e_k: what rounding μ_k to float64 lost, so that Σ_k is the scatter about μ_k as stored), then
 * the covariance constraint. A component with N_k = 0 keeps its mean and covariance (mlpack).
 */
import type { SufficientStats } from '../backends/backend.js';
import { packedSize } from '../backends/backend.js';
import { GaussianMixture } from '../model/gaussian-mixture.js';
import { applyConstraint, type ConstraintSpec } from './constraints.js';
import { WebGmmError } from '../errors.js';

export interface MStepOptions {
  constraint: ConstraintSpec;
  /** false = mlpack's `no_force_positive` for full covariances: no constraint at all. */
  forcePositive: boolean;
}

export interface MStepResult {
  weights: Float64Array;
  means: Float64Array;
  covariances: Float64Array;
}

export function mStep(prev: GaussianMixture, stats: SufficientStats, options: MStepOptions): MStepResult {
  const k = prev.gaussians, d = prev.dimensionality;
  const diagonal = prev.covarianceType === 'diagonal';
  const { nk, sums, scatter } = stats;
  const shift = stats.shift ?? prev.means;
  const weights = new Float64Array(k);
  const means = Float64Array.from(prev.means);
  const covariances = Float64Array.from(prev.covariances);
  const tri = packedSize(d);
  const delta = new Float64Array(d);
  const rounding = new Float64Array(d);
  let total = 0;
  for (let c = 0; c < k; c++) total += nk[c]!;
  if (!(total > 0)) {
    throw new WebGmmError('NUMERICAL', 'no point has a non-zero likelihood under the current model; try `noise` or rescaling the data');
  }
  const updated = new Uint8Array(k);
  for (let c = 0; c < k; c++) {
    weights[c] = nk[c]! / total;
    const n = nk[c]!;
    if (!(n > 0)) continue;
    for (let j = 0; j < d; j++) delta[j] = sums[c * d + j]! / n;
    let finite = true;
    if (diagonal) {
      for (let j = 0; j < d; j++) {
        const v = scatter[c * d + j]! / n - delta[j]! * delta[j]!;
        if (!Number.isFinite(v)) finite = false;
      }
    } else {
      for (let p = 0; p < tri; p++) if (!Number.isFinite(scatter[c * tri + p]! / n)) finite = false;
    }
    for (let j = 0; j < d; j++) if (!Number.isFinite(shift[c * d + j]! + delta[j]!)) finite = false;
    // N_k so small that the statistics underflowed: keep the component as it is, as for N_k = 0.
    if (!finite) continue;
    updated[c] = 1;
    // The mean as stored is c + δ rounded; e = (c + δ) − μ is exact (TwoSum). The covariance is the
    // scatter about the stored mean, Σ + e eᵀ, as mlpack forms it from data − mean: where |μ| dwarfs
    // the spread (timestamps with sub-millisecond detail) e can exceed a thin component's width, and
    // a covariance about the unrounded mean would leave every point many σ from the mean it is
    // scored against.
    for (let j = 0; j < d; j++) {
      const a = shift[c * d + j]!, b = delta[j]!;
      const m = a + b;
      const bb = m - a;
      means[c * d + j] = m;
      rounding[j] = (a - (m - bb)) + (b - bb);
    }
    if (diagonal) {
      for (let j = 0; j < d; j++) covariances[c * d + j] = scatter[c * d + j]! / n - delta[j]! * delta[j]! + rounding[j]! * rounding[j]!;
    } else {
      const co = c * d * d;
      let p = c * tri;
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++) {
          const v = scatter[p++]! / n - delta[i]! * delta[j]! + rounding[i]! * rounding[j]!;
          covariances[co + i * d + j] = v;
          covariances[co + j * d + i] = v;
        }
      }
    }
  }
  if (diagonal || options.forcePositive) {
    // Constrain only the re-estimated components: the others already satisfy the constraint.
    const one = diagonal ? d : d * d;
    for (let c = 0; c < k; c++) {
      if (updated[c]) applyConstraint(options.constraint, diagonal, covariances.subarray(c * one, (c + 1) * one), 1, d);
    }
  }
  return { weights, means, covariances };
}
