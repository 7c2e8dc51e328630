/**
 * Bradley–Fayyad refined start, as mlpack 4.8.1's RefinedStart::Cluster: k-means on `samplings`
 * random subsamples, then k-means on the collected centroids.
 */
import { InvalidArgumentError, throwIfAborted } from '../errors.js';
import type { Rng } from '../util/rng.js';
import type { Values } from '../data.js';
import { kmeans } from './kmeans.js';

/** mlpack KMeans<> default iteration cap, used for both k-means stages. */
const KMEANS_MAX_ITERATIONS = 1000;

export interface RefinedStartOptions {
  /** Number of subsamples (mlpack: samplings, default 100). */
  samplings: number;
  /** Fraction of the points in each subsample (mlpack: percentage, default 0.02). */
  percentage: number;
  /** Optional non-negative observation weights (length n), used by the subsamples' k-means. */
  weights?: Float64Array | null;
  signal?: AbortSignal;
}

/**
 * Points per subsample of the refined start, ⌊percentage · n⌋.
 * @throws InvalidArgumentError('percentage') when they are fewer than the k clusters.
 */
export function refinedSampleSize(n: number, k: number, percentage: number): number {
  const m = Math.floor(percentage * n);
  if (m < k) {
    // The smallest percentage (to 4 decimals, ≤ 1) that gives k points, for the message, tested
    // as it is printed (k/n·1e4 may round up past a whole number: 7/25 → 2800.0000000000005).
    const gives = (c: number): boolean => Math.floor((c / 1e4) * n) >= k;
    let c = Math.ceil((k * 1e4) / n);
    while (c > 1 && gives(c - 1)) c--;
    while (c <= 1e4 && !gives(c)) c++;
    const remedy = c <= 1e4 ? `; a percentage of ${c / 1e4} or more gives ${k}` : '';
    throw new InvalidArgumentError(
      'percentage',
      `refined start percentage × n = ${percentage} × ${n} gives ${m} point${m === 1 ? '' : 's'} per sampling, fewer than the ${k} gaussians${remedy}`,
    );
  }
  return m;
}

/**
 * `samplings` times: draw ⌊percentage·n⌋ distinct points uniformly at random (rejection sampling:
 * an already-used index is redrawn), run k-means on them (random initial centroids from `rng`,
 * at most 1000 iterations) and collect the k centroids; then run k-means (same settings) on the
 * samplings·k collected centroids and return its k centroids (K×d row-major).
 *
 * With weights, each subsample's k-means uses the sampled points' weights (a subsample whose
 * weights are all 0 is clustered unweighted); the final k-means on the centroids is unweighted.
 */
export async function refinedStartCentroids(
  data: Values,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  options: RefinedStartOptions,
): Promise<Float64Array> {
  const { samplings, percentage, signal } = options;
  throwIfAborted(signal);
  if (!Number.isInteger(d) || d < 1) throw new InvalidArgumentError('data', `dimensionality must be a positive integer, got ${d}`);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('data', `point count must be a non-negative integer, got ${n}`);
  if (data.length < n * d) {
    throw new InvalidArgumentError('data', `data holds ${data.length} values, fewer than ${n} points × ${d} dimensions`);
  }
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError('gaussians', `the number of clusters must be an integer ≥ 1, got ${k}`);
  if (!Number.isInteger(samplings) || samplings < 1) {
    throw new InvalidArgumentError('samplings', `refined start samplings must be an integer ≥ 1, got ${samplings}`);
  }
  if (!Number.isFinite(percentage) || !(percentage > 0) || percentage > 1) {
    throw new InvalidArgumentError('percentage', `refined start percentage must be in (0, 1], got ${percentage}`);
  }
  const m = refinedSampleSize(n, k, percentage);
  const weights = options.weights ?? null;
  if (weights !== null) {
    if (weights.length !== n) throw new InvalidArgumentError('weights', `expected ${n} observation weights, got ${weights.length}`);
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) throw new InvalidArgumentError('weights', `observation weight ${i} is ${w}; weights must be finite and non-negative`);
    }
  }

  const sample = new Float64Array(m * d);
  const sampleWeights = weights !== null ? new Float64Array(m) : null;
  const used = new Uint8Array(n);
  const collected = new Float64Array(samplings * k * d);

  for (let s = 0; s < samplings; s++) {
    used.fill(0);
    let total = 0;
    for (let cur = 0; cur < m; ) {
      const idx = rng.nextInt(n);
      if (used[idx] !== 0) continue;
      used[idx] = 1;
      sample.set(data.subarray(idx * d, idx * d + d), cur * d);
      if (sampleWeights !== null) {
        const w = weights![idx]!;
        sampleWeights[cur] = w;
        total += w;
      }
      cur++;
    }
    const result = await kmeans(sample, m, d, k, rng, {
      maxIterations: KMEANS_MAX_ITERATIONS,
      weights: sampleWeights !== null && total > 0 ? sampleWeights : null,
      signal,
    });
    collected.set(result.centroids, s * k * d);
  }

  const final = await kmeans(collected, samplings * k, d, k, rng, { maxIterations: KMEANS_MAX_ITERATIONS, signal });
  return final.centroids;
}

/**
 * Where mlpack's KMeans starts Lloyd after a refined start: it takes the start as point
 * assignments, not centroids — its GivesCentroids test looks for a non-const Cluster(data, k,
 * centroids), and RefinedStart's is const — so every point goes to its nearest refined centroid
 * (by the Euclidean distance itself, √ of the squared sum as mlpack evaluates it: squared sums one
 * ulp apart can tie there, and the first wins), and Lloyd starts from those clusters' (weighted)
 * means, a cluster that no point chose at the origin. Lloyd then counts its iterations, and the
 * `kmeans_max_iterations` cap, from there (one fewer than from the centroids themselves where
 * every centroid is chosen; otherwise the two paths differ, an unchosen one starting at 0).
 */
export function meansOfNearest(data: Values, n: number, d: number, centroids: Float64Array, k: number, weights: Float64Array | null = null): Float64Array {
  const sums = new Float64Array(k * d);
  const mass = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let best = Infinity;
    let nearest = 0;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = data[o + t]! - centroids[j * d + t]!;
        s += diff * diff;
      }
      const dist = Math.sqrt(s);
      if (dist < best) {
        best = dist;
        nearest = j;
      }
    }
    const w = weights === null ? 1 : weights[i]!;
    if (weights === null) for (let t = 0; t < d; t++) sums[nearest * d + t]! += data[o + t]!;
    else for (let t = 0; t < d; t++) sums[nearest * d + t]! += w * data[o + t]!;
    mass[nearest]! += w;
  }
  for (let j = 0; j < k; j++) if (mass[j]! !== 0) for (let t = 0; t < d; t++) sums[j * d + t]! /= mass[j]!;
  return sums;
}
