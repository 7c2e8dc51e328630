/**
 * The initial model of a trial from a hard clustering (mlpack's EMFit::InitialClustering): per
 * cluster the (weighted) mean, the covariance around that mean divided by the cluster's weight
 * (an empty cluster keeps a zero mean and covariance, as mlpack's division by max(count, 1) does),
 * the constraint applied, and weights = cluster weight / total weight.
 *
 * Unlike mlpack 4.8.1, the covariance is the centred one: mlpack also adds Σ x xᵀ (uncentred) to
 * each cluster's covariance by mistake, which inflates it by μμᵀ + Σ.
 */
import { GaussianMixture, type CovarianceType } from '../model/gaussian-mixture.js';
import type { Dataset } from '../data.js';
import { applyConstraint, type ConstraintSpec } from './constraints.js';
import { NotPositiveDefiniteError } from '../errors.js';
import { createYielder } from '../util/yield.js';

export interface InitialModelOptions {
  covarianceType: CovarianceType;
  constraint: ConstraintSpec;
  forcePositive: boolean;
  trial: number;
}

export async function modelFromAssignments(
  ds: Dataset,
  weights: Float64Array | null,
  assignments: Int32Array,
  k: number,
  options: InitialModelOptions,
  signal?: AbortSignal,
): Promise<GaussianMixture> {
  const { data, n, d } = ds;
  const diagonal = options.covarianceType === 'diagonal';
  const mass = new Float64Array(k);
  const means = new Float64Array(k * d);
  // mlpack sums the points themselves. The default policy sums them about a member of their
  // cluster, as the M-step sums about the current means: where a feature's magnitude dwarfs its
  // spread (a constant column of 1e30, epoch microseconds) the plain sum's rounding put the mean
  // ~1e17 off the points, a spurious variance that the constraint, seeing it as the largest,
  // spread over every other feature (both components then started alike and stayed so).
  const anchored = options.constraint.policy !== 'mlpack';
  const anchor = new Float64Array(k * d);
  const rounding = new Float64Array(k * d);
  if (anchored) {
    const seen = new Uint8Array(k);
    for (let i = 0; i < n; i++) {
      const c = assignments[i]!;
      if (seen[c] || (weights !== null && !(weights[i]! > 0))) continue;
      seen[c] = 1;
      anchor.set(data.subarray(i * d, (i + 1) * d), c * d);
    }
  }
  // Two passes over every point (full covariances: D² per point): the event loop gets its turns.
  const yieldNow = createYielder(signal);
  for (let i = 0; i < n; i++) {
    if ((i & 4095) === 0) {
      const pause = yieldNow();
      if (pause) await pause;
    }
    const c = assignments[i]!;
    const w = weights ? weights[i]! : 1;
    mass[c] = mass[c]! + w;
    for (let j = 0; j < d; j++) means[c * d + j] = means[c * d + j]! + w * (data[i * d + j]! - anchor[c * d + j]!);
  }
  for (let c = 0; c < k; c++) {
    const div = mass[c]! > 0 ? mass[c]! : 1;
    for (let j = 0; j < d; j++) means[c * d + j] = means[c * d + j]! / div;
  }
  // The offsets δ from the anchors (mlpack: the means themselves, anchors 0), and the means as
  // stored, a + δ rounded, with what the rounding lost (exact, TwoSum), so that the covariance is
  // the scatter about the stored mean (see m-step.ts).
  const offsets = means.slice();
  if (anchored) {
    for (let p = 0; p < k * d; p++) {
      const a = anchor[p]!, b = offsets[p]!;
      const m = a + b;
      const bb = m - a;
      means[p] = m;
      rounding[p] = (a - (m - bb)) + (b - bb);
    }
  }
  const one = diagonal ? d : d * d;
  const covariances = new Float64Array(k * one);
  const diff = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    if ((i & 4095) === 0) {
      const pause = yieldNow();
      if (pause) await pause;
    }
    const c = assignments[i]!;
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    for (let j = 0; j < d; j++) diff[j] = data[i * d + j]! - anchor[c * d + j]! - offsets[c * d + j]! + rounding[c * d + j]!;
    const o = c * one;
    if (diagonal) {
      for (let j = 0; j < d; j++) covariances[o + j] = covariances[o + j]! + w * diff[j]! * diff[j]!;
    } else {
      for (let a = 0; a < d; a++) {
        const wa = w * diff[a]!;
        for (let b = a; b < d; b++) covariances[o + a * d + b] = covariances[o + a * d + b]! + wa * diff[b]!;
      }
    }
  }
  let total = 0;
  for (let c = 0; c < k; c++) total += mass[c]!;
  const mixWeights = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    mixWeights[c] = mass[c]! / total;
    const div = mass[c]! > 0 ? mass[c]! : 1;
    const o = c * one;
    if (diagonal) {
      for (let j = 0; j < d; j++) covariances[o + j] = covariances[o + j]! / div;
    } else {
      for (let a = 0; a < d; a++) {
        for (let b = a; b < d; b++) {
          const v = covariances[o + a * d + b]! / div;
          covariances[o + a * d + b] = v;
          covariances[o + b * d + a] = v;
        }
      }
    }
  }
  if (diagonal || options.forcePositive) applyConstraint(options.constraint, diagonal, covariances, k, d);
  try {
    return GaussianMixture.fromArrays(options.covarianceType, mixWeights, means, covariances);
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) {
      throw new NotPositiveDefiniteError(
        e.component,
        `the initial covariance of component ${e.component} (from k-means, trial ${options.trial + 1}) is not positive definite: ` +
          (options.forcePositive
            ? 'the cluster is degenerate; try `noise`'
            : 'a cluster with one point or on a subspace has a singular covariance; drop `noForcePositive` or add `noise`'),
      );
    }
    throw e;
  }
}
