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
  // Each cluster's points are added four at a time, in their order (those of weight 0 add
  // nothing): every entry of the covariance gets the same additions in the same order as a point
  // at a time, bit for bit, with a quarter of the loads and stores of the sums (4M × 16 full,
  // K = 16: 0.93 s against 1.29 s). A cluster's points wait in a buffer of four, so that the data
  // is still read in order (grouping the points by cluster first: 1.45 s).
  const pending = new Float64Array(k * 4 * d);
  const pendingWeights = new Float64Array(k * 4);
  const count = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    if ((i & 4095) === 0) {
      const pause = yieldNow();
      if (pause) await pause;
    }
    const c = assignments[i]!;
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    const slot = c * 4 + count[c]!;
    const p = slot * d;
    for (let j = 0; j < d; j++) pending[p + j] = data[i * d + j]! - anchor[c * d + j]! - offsets[c * d + j]! + rounding[c * d + j]!;
    pendingWeights[slot] = w;
    if (++count[c]! === 4) {
      addScatter4(covariances, c * one, pending, c * 4, pendingWeights, d, diagonal);
      count[c] = 0;
    }
  }
  for (let c = 0; c < k; c++) {
    if (count[c] === 0) continue;
    // Fewer than four left: the rest of the buffer is zeros, whose products add +0 — a no-op on
    // these sums, which start at +0 and so are never −0.
    pending.fill(0, (c * 4 + count[c]!) * d, (c + 1) * 4 * d);
    pendingWeights.fill(0, c * 4 + count[c]!, (c + 1) * 4);
    addScatter4(covariances, c * one, pending, c * 4, pendingWeights, d, diagonal);
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

/**
 * Adds four weighted points' outer products (full: the upper triangle) or squares (diagonal) to
 * the sums at `o`, each entry's four terms in the points' order: (((s + t₀) + t₁) + t₂) + t₃. The
 * points are rows `first` … `first + 3` of `diffs`, their weights those entries of `weights`.
 */
function addScatter4(sums: Float64Array, o: number, diffs: Float64Array, first: number, weights: Float64Array, d: number, diagonal: boolean): void {
  const w0 = weights[first]!, w1 = weights[first + 1]!, w2 = weights[first + 2]!, w3 = weights[first + 3]!;
  const p0 = first * d, p1 = p0 + d, p2 = p1 + d, p3 = p2 + d;
  if (diagonal) {
    for (let j = 0; j < d; j++) {
      const x0 = diffs[p0 + j]!, x1 = diffs[p1 + j]!, x2 = diffs[p2 + j]!, x3 = diffs[p3 + j]!;
      sums[o + j] = sums[o + j]! + w0 * x0 * x0 + w1 * x1 * x1 + w2 * x2 * x2 + w3 * x3 * x3;
    }
    return;
  }
  for (let a = 0; a < d; a++) {
    const a0 = w0 * diffs[p0 + a]!, a1 = w1 * diffs[p1 + a]!, a2 = w2 * diffs[p2 + a]!, a3 = w3 * diffs[p3 + a]!;
    const row = o + a * d;
    for (let b = a; b < d; b++) {
      sums[row + b] = sums[row + b]! + a0 * diffs[p0 + b]! + a1 * diffs[p1 + b]! + a2 * diffs[p2 + b]! + a3 * diffs[p3 + b]!;
    }
  }
}
