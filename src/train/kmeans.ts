/**
 * k-means with mlpack 4.8.1 `KMeans<>` semantics (NaiveKMeans Lloyd steps + MaxVarianceNewCluster
 * empty-cluster action + SampleInitialization), accelerated with Hamerly's exact algorithm.
 *
 * Hamerly keeps, per point, an upper bound on the distance to its assigned centre and one lower
 * bound on the distance to every other centre, and per centre s(j) = half the distance to the
 * nearest other centre. A point whose upper bound is below max(s(a), lower) cannot change cluster
 * and costs no distance computation. Bounds are kept rigorous under floating-point rounding (each
 * computed distance is widened by a relative error bound), so a point is skipped only when its
 * assigned centre is strictly nearest; the assignments then equal brute-force Lloyd's except on
 * ties within rounding error. Centroid sums are recomputed from the assignments every iteration
 * (exact, in point order), so the centroids are bit-identical to the brute-force ones.
 *
 * Empty clusters (no points, or, with weights, no weight) follow mlpack's MaxVarianceNewCluster:
 * cluster variances Σ w‖x − c_old‖² / count are taken about the centroids the points were
 * assigned with (mlpack's Precalculate), computed once per iteration and updated incrementally as
 * points are handed out; the donor is the first cluster of largest variance (none when it is 0),
 * it gives its point farthest from its NEW centroid, and its centroid is recomputed as the mean of
 * its remaining points. With weights, only positive-weight points are candidates.
 *
 * Data layout: row-major Float64Array, n points × d dims; centroids K×d row-major.
 */
import { InvalidArgumentError, throwIfAborted } from '../errors.js';
import type { Rng } from '../util/rng.js';
import type { Values } from '../data.js';
import { createYielder } from '../util/yield.js';

export interface KMeansOptions {
  /** Lloyd iterations cap; 0 = until convergence (mlpack: kmeans_max_iterations, default 1000). */
  maxIterations: number;
  /** Optional non-negative observation weights (length n): centroid = weighted mean; a weight-0 point is assigned but moves nothing. */
  weights?: Float64Array | null;
  signal?: AbortSignal;
  /** Called after every Lloyd iteration with its number (1-based) and the centroid shift. */
  onIteration?: ((iteration: number, shift: number) => void) | undefined;
}

export interface KMeansResult {
  /** K×d row-major. */
  centroids: Float64Array;
  /** Index of the nearest FINAL centroid for every point (mlpack's final assignment pass). */
  assignments: Int32Array;
  /** Lloyd iterations performed. */
  iterations: number;
  /** Stopped because the centroid shift fell to ≤ 1e-5 (not because of the iteration cap). */
  converged: boolean;
  /**
   * Point–centroid and centroid–centroid distances evaluated for the assignment steps (including
   * the final assignment pass). Brute-force Lloyd would need n·K·(iterations + 1).
   */
  distanceComputations: number;
}

/** mlpack's KMeans::Cluster stops once the centroid shift (Frobenius norm) is ≤ this. */
const CONVERGENCE_TOLERANCE = 1e-5;
/** Unit roundoff 2^-53. */
const UNIT_ROUNDOFF = 1.1102230246251565e-16;
/** Widening factors for one rounded addition / subtraction in the bound updates. */
const ROUND_UP = 1 + 4 * UNIT_ROUNDOFF;
const ROUND_DOWN = 1 - 4 * UNIT_ROUNDOFF;

function checkShape(data: Values, n: number, d: number, k: number): void {
  if (!Number.isInteger(d) || d < 1) throw new InvalidArgumentError('data', `dimensionality must be a positive integer, got ${d}`);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('data', `point count must be a non-negative integer, got ${n}`);
  if (data.length < n * d) {
    throw new InvalidArgumentError('data', `data holds ${data.length} values, fewer than ${n} points × ${d} dimensions`);
  }
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError('gaussians', `the number of clusters must be an integer ≥ 1, got ${k}`);
  if (n < k) throw new InvalidArgumentError('gaussians', `cannot form ${k} clusters from ${n} points (need n ≥ ${k})`);
}

function checkMaxIterations(maxIterations: number): void {
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new InvalidArgumentError('maxIterations', `k-means maxIterations must be an integer ≥ 0 (0 = no cap), got ${maxIterations}`);
  }
}

/** Validates weights (length n, finite, ≥ 0, positive total); returns null when absent. */
function checkWeights(weights: Float64Array | null | undefined, n: number): Float64Array | null {
  if (weights == null) return null;
  if (weights.length !== n) throw new InvalidArgumentError('weights', `expected ${n} observation weights, got ${weights.length}`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    if (!(w >= 0) || !Number.isFinite(w)) throw new InvalidArgumentError('weights', `observation weight ${i} is ${w}; weights must be finite and non-negative`);
    total += w;
  }
  if (!(total > 0) || !Number.isFinite(total)) throw new InvalidArgumentError('weights', `observation weights must have a positive finite sum, got ${total}`);
  return weights;
}

/**
 * mlpack SampleInitialization: centroid j = data point RandInt(n), drawn with replacement. With
 * weights, each draw picks point i with probability w_i / Σw (a weight-2 point counts twice).
 */
export function sampleInitialCentroids(
  data: Values,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  weights?: Float64Array | null,
): Float64Array {
  checkShape(data, n, d, k);
  const w = checkWeights(weights, n);
  const centroids = new Float64Array(k * d);
  let cumulative: Float64Array | null = null;
  let lastPositive = 0;
  if (w) {
    cumulative = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i] as number;
      acc += wi;
      cumulative[i] = acc;
      if (wi > 0) lastPositive = i;
    }
  }
  for (let j = 0; j < k; j++) {
    let idx: number;
    if (cumulative) {
      const target = rng.nextFloat() * (cumulative[n - 1] as number);
      // Smallest i with cumulative[i] > target (zero-weight points are never chosen).
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((cumulative[mid] as number) > target) hi = mid;
        else lo = mid + 1;
      }
      idx = (cumulative[lo] as number) > target ? lo : lastPositive;
    } else {
      idx = rng.nextInt(n);
    }
    centroids.set(data.subarray(idx * d, idx * d + d), j * d);
  }
  return centroids;
}

/** k-means from centroids drawn by {@link sampleInitialCentroids} from `rng`. */
export async function kmeans(
  data: Values,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  options: KMeansOptions,
): Promise<KMeansResult> {
  throwIfAborted(options.signal);
  checkShape(data, n, d, k);
  checkMaxIterations(options.maxIterations);
  const weights = checkWeights(options.weights, n);
  const initial = sampleInitialCentroids(data, n, d, k, rng, weights);
  return lloyd(data, n, d, k, initial, weights, options.maxIterations, options.signal, options.onIteration);
}

/** k-means starting from the given K×d centroids (copied, not modified). */
export async function kmeansFromCentroids(
  data: Values,
  n: number,
  d: number,
  initial: Float64Array,
  k: number,
  options: KMeansOptions,
): Promise<KMeansResult> {
  throwIfAborted(options.signal);
  checkShape(data, n, d, k);
  checkMaxIterations(options.maxIterations);
  if (initial.length !== k * d) {
    throw new InvalidArgumentError('initialCentroids', `expected ${k}×${d} = ${k * d} initial centroid values, got ${initial.length}`);
  }
  const weights = checkWeights(options.weights, n);
  return lloyd(data, n, d, k, Float64Array.from(initial), weights, options.maxIterations, options.signal, options.onIteration);
}

/**
 * The Lloyd loop. `start` is owned (becomes one of the two ping-pong centroid buffers).
 */
async function lloyd(
  data: Values,
  n: number,
  d: number,
  k: number,
  start: Float64Array,
  weights: Float64Array | null,
  maxIterations: number,
  signal: AbortSignal | undefined,
  onIteration?: (iteration: number, shift: number) => void,
): Promise<KMeansResult> {
  let current: Float64Array = start; // centroids used for this iteration's assignment
  let next: Float64Array = new Float64Array(k * d); // centroids produced by this iteration
  const assignments = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const half = new Float64Array(k);
  const movement = new Float64Array(k);
  const counts = new Int32Array(k);
  const weightSums = new Float64Array(k);
  const variances = new Float64Array(k);
  // Relative error bound of a computed Euclidean distance (d squared differences summed, sqrt),
  // with a generous safety factor.
  const rel = (2 * d + 16) * UNIT_ROUNDOFF;
  const distUp = 1 + rel;
  const distDown = 1 - rel;
  const state: AssignState = {
    data, n, d, k, assignments, upper, lower, half, distUp, distDown,
    boundsValid: false, pending: false, movement, maxJ: -1, maxMove: 0, secondMove: 0, distanceComputations: 0,
  };

  let iteration = 0;
  let cNorm: number;
  const yieldNow = createYielder(signal);
  do {
    // Assignment, then the new centroids' (weighted) sums accumulated in point order.
    assignStep(state, current, next, weights, counts, weightSums);
    // New centroids: (weighted) means, recomputed from scratch every iteration.
    finishCentroids(d, k, weights, next, counts, weightSums);

    // Shift (Frobenius norm of the centroid change) and per-centroid movement for the bounds.
    let shiftSq = 0;
    for (let j = 0; j < k; j++) {
      const o = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = current[o + t]! - next[o + t]!;
        s += diff * diff;
      }
      shiftSq += s;
      movement[j] = Math.sqrt(s) * distUp;
    }
    cNorm = Math.sqrt(shiftSq);

    // MaxVarianceNewCluster for every empty cluster (no points, or no weight).
    let reassigned = false;
    let variancesReady = false;
    for (let j = 0; j < k; j++) {
      if (counts[j] === 0 || (weights !== null && !(weightSums[j]! > 0))) {
        if (!variancesReady) {
          clusterVariances(data, n, d, k, assignments, weights, current, counts, variances);
          variancesReady = true;
        }
        if (maxVarianceNewCluster(data, n, d, k, j, assignments, weights, next, counts, weightSums, variances)) reassigned = true;
      }
    }
    if (reassigned) state.boundsValid = false;
    else scheduleBoundUpdate(state);

    iteration++;
    onIteration?.(iteration, cNorm);
    if (!Number.isFinite(cNorm)) cNorm = 1e-4; // keep iterating, as mlpack does
    const swap = current;
    current = next;
    next = swap;

    const pause = yieldNow();
    if (pause) await pause;
    throwIfAborted(signal);
  } while (cNorm > CONVERGENCE_TOLERANCE && iteration !== maxIterations);

  // Final assignment of every point to its nearest final centroid.
  assignStep(state, current, null, weights, counts, weightSums);

  return {
    centroids: current,
    assignments,
    iterations: iteration,
    converged: !(cNorm > CONVERGENCE_TOLERANCE),
    distanceComputations: state.distanceComputations,
  };
}

interface AssignState {
  data: Values;
  n: number;
  d: number;
  k: number;
  assignments: Int32Array;
  /** Upper bound on the distance from each point to its assigned centre. */
  upper: Float64Array;
  /** Lower bound on the distance from each point to every other centre. */
  lower: Float64Array;
  /** s(j): half the distance from centre j to its nearest other centre (lower bound). */
  half: Float64Array;
  distUp: number;
  distDown: number;
  /** The bounds hold for the last centroids assigned with (once `pending` movements are applied). */
  boundsValid: boolean;
  /** Centroid movements not yet applied to the bounds (applied lazily in the next pass). */
  pending: boolean;
  /** Per-centroid movement (rounded up) of the last update. */
  movement: Float64Array;
  /** Centroid that moved most, its movement, and the second largest movement. */
  maxJ: number;
  maxMove: number;
  secondMove: number;
  distanceComputations: number;
}

/**
 * Assigns every point to its nearest centroid (squared Euclidean, ties → lowest index), using
 * Hamerly's bounds when they are valid (first applying the pending centroid movements), and leaves
 * the bounds valid for `centroids`. When `sums` is given, also accumulates each point (times its
 * weight) into `sums` at its cluster, in point order, with `counts` / `weightSums`.
 */
function assignStep(
  st: AssignState,
  centroids: Float64Array,
  sums: Float64Array | null,
  weights: Float64Array | null,
  counts: Int32Array,
  weightSums: Float64Array,
): void {
  const { data, n, d, k, assignments, upper, lower, half, distUp, distDown, movement, maxJ, maxMove, secondMove } = st;
  const full = !st.boundsValid;
  const pending = st.pending && !full;
  let computations = 0;
  if (sums !== null) {
    sums.fill(0);
    counts.fill(0);
    weightSums.fill(0);
  }

  if (!full) {
    // s(j) = ½ min_{j'≠j} ‖c_j − c_j'‖ (rounded down).
    half.fill(Infinity);
    for (let a = 0; a < k; a++) {
      const oa = a * d;
      for (let b = a + 1; b < k; b++) {
        const ob = b * d;
        let s = 0;
        for (let t = 0; t < d; t++) {
          const diff = centroids[oa + t]! - centroids[ob + t]!;
          s += diff * diff;
        }
        const h = 0.5 * Math.sqrt(s) * distDown;
        if (h < half[a]!) half[a] = h;
        if (h < half[b]!) half[b] = h;
      }
    }
    computations += (k * (k - 1)) / 2;
  }

  if (full) {
    for (let i = 0, off = 0; i < n; i++, off += d) fullScan(data, off, centroids, k, d, i, assignments, upper, lower, distUp, distDown);
    computations += n * k;
  } else {
    for (let i = 0, off = 0; i < n; i++, off += d) {
      const a = assignments[i]!;
      let u = upper[i]!;
      let l = lower[i]!;
      if (pending) {
        u = (u + movement[a]!) * ROUND_UP;
        // Negative lower bounds carry no information (s(j) ≥ 0 dominates), so rounding them
        // toward zero is harmless.
        l = (l - (a === maxJ ? secondMove : maxMove)) * ROUND_DOWN;
        upper[i] = u;
        lower[i] = l;
      }
      const h = half[a]!;
      const m = l > h ? l : h;
      if (u < m) continue;
      // Tighten the upper bound with the exact distance to the assigned centre.
      const oa = a * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = data[off + t]! - centroids[oa + t]!;
        s += diff * diff;
      }
      computations++;
      u = Math.sqrt(s) * distUp;
      upper[i] = u;
      if (u < m) continue;
      fullScan(data, off, centroids, k, d, i, assignments, upper, lower, distUp, distDown);
      computations += k;
    }
  }
  // Accumulate the new centroids' (weighted) sums in point order.
  if (sums !== null) {
    if (weights === null) {
      for (let i = 0, off = 0; i < n; i++, off += d) {
        const j = assignments[i]!;
        counts[j]!++;
        const o = j * d;
        for (let t = 0; t < d; t++) sums[o + t]! += data[off + t]!;
      }
    } else {
      for (let i = 0, off = 0; i < n; i++, off += d) {
        const j = assignments[i]!;
        const w = weights[i]!;
        counts[j]!++;
        weightSums[j]! += w;
        const o = j * d;
        for (let t = 0; t < d; t++) sums[o + t]! += w * data[off + t]!;
      }
    }
  }
  st.boundsValid = true;
  st.pending = false;
  st.distanceComputations += computations;
}

/** Brute-force nearest and second-nearest centroid of point i; sets its assignment and bounds. */
function fullScan(
  data: Values,
  off: number,
  centroids: Float64Array,
  k: number,
  d: number,
  i: number,
  assignments: Int32Array,
  upper: Float64Array,
  lower: Float64Array,
  distUp: number,
  distDown: number,
): void {
  let best = Infinity;
  let second = Infinity;
  let bestJ = 0;
  for (let j = 0, o = 0; j < k; j++, o += d) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const diff = data[off + t]! - centroids[o + t]!;
      s += diff * diff;
    }
    if (s < best) {
      second = best;
      best = s;
      bestJ = j;
    } else if (s < second) {
      second = s;
    }
  }
  assignments[i] = bestJ;
  upper[i] = Math.sqrt(best) * distUp;
  lower[i] = Math.sqrt(second) * distDown;
}

/**
 * Records the centroid movements (already in `st.movement`, rounded up) for the next pass:
 * u(i) += p(a(i)), l(i) −= max_{j≠a(i)} p(j). Non-finite movements invalidate the bounds.
 */
function scheduleBoundUpdate(st: AssignState): void {
  const { k, movement } = st;
  let maxMove = 0;
  let maxJ = -1;
  let secondMove = 0;
  let finite = true;
  for (let j = 0; j < k; j++) {
    const p = movement[j]!;
    if (!Number.isFinite(p)) finite = false;
    if (p > maxMove) {
      secondMove = maxMove;
      maxMove = p;
      maxJ = j;
    } else if (p > secondMove) {
      secondMove = p;
    }
  }
  if (!finite) {
    st.boundsValid = false;
    st.pending = false;
    return;
  }
  st.maxJ = maxJ;
  st.maxMove = maxMove;
  st.secondMove = secondMove;
  st.pending = true;
}

/**
 * Turns the accumulated sums into (weighted) means. A cluster without points (or without weight)
 * gets the zero vector, as in mlpack before the empty-cluster action.
 */
function finishCentroids(
  d: number,
  k: number,
  weights: Float64Array | null,
  out: Float64Array,
  counts: Int32Array,
  weightSums: Float64Array,
): void {
  for (let j = 0; j < k; j++) {
    const o = j * d;
    if (weights === null) {
      const c = counts[j]!;
      if (c > 0) for (let t = 0; t < d; t++) out[o + t]! /= c;
    } else {
      const ws = weightSums[j]!;
      if (ws > 0) for (let t = 0; t < d; t++) out[o + t]! /= ws;
      else for (let t = 0; t < d; t++) out[o + t] = 0;
    }
  }
}

/** Recomputes centroid j alone as the (weighted) mean of its assigned points, in point order. */
function recomputeCentroid(
  data: Values,
  n: number,
  d: number,
  j: number,
  assignments: Int32Array,
  weights: Float64Array | null,
  out: Float64Array,
): void {
  const o = j * d;
  for (let t = 0; t < d; t++) out[o + t] = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (assignments[i] !== j) continue;
    const off = i * d;
    if (weights === null) {
      total++;
      for (let t = 0; t < d; t++) out[o + t]! += data[off + t]!;
    } else {
      const w = weights[i]!;
      total += w;
      for (let t = 0; t < d; t++) out[o + t]! += w * data[off + t]!;
    }
  }
  if (total > 0) for (let t = 0; t < d; t++) out[o + t]! /= total;
}

/**
 * mlpack MaxVarianceNewCluster::Precalculate: variance of cluster j = Σ w‖x − c_j‖² / count_j
 * about the centroids the points were assigned with (the iteration's old centroids); 0 when the
 * cluster has at most one point.
 */
function clusterVariances(
  data: Values,
  n: number,
  d: number,
  k: number,
  assignments: Int32Array,
  weights: Float64Array | null,
  oldCentroids: Float64Array,
  counts: Int32Array,
  variances: Float64Array,
): void {
  variances.fill(0);
  for (let i = 0; i < n; i++) {
    const j = assignments[i]!;
    const off = i * d;
    const o = j * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const diff = data[off + t]! - oldCentroids[o + t]!;
      s += diff * diff;
    }
    variances[j]! += weights === null ? s : weights[i]! * s;
  }
  for (let j = 0; j < k; j++) {
    const c = counts[j]!;
    variances[j] = c <= 1 ? 0 : variances[j]! / c;
  }
}

/**
 * mlpack MaxVarianceNewCluster::EmptyCluster: the cluster with the largest variance (first on
 * ties) gives its point farthest from its new centroid to the empty cluster, whose centroid
 * becomes that point; the donor's centroid is recomputed as the mean of its remaining points and
 * its variance is updated as mlpack does, for a further empty cluster in the same iteration.
 * Returns false (nothing changed) when the largest variance is 0.
 */
function maxVarianceNewCluster(
  data: Values,
  n: number,
  d: number,
  k: number,
  empty: number,
  assignments: Int32Array,
  weights: Float64Array | null,
  centroids: Float64Array,
  counts: Int32Array,
  weightSums: Float64Array,
  variances: Float64Array,
): boolean {
  let maxJ = 0;
  let maxVar = variances[0]!;
  for (let j = 1; j < k; j++) {
    if (variances[j]! > maxVar) {
      maxVar = variances[j]!;
      maxJ = j;
    }
  }
  if (!(maxVar > 0)) return false;

  // Farthest point of that cluster from its new centroid (with weights: among points of positive
  // weight, so the donor keeps positive weight and the new centroid carries mass).
  let far = -1;
  let farDist = -Infinity;
  const o = maxJ * d;
  for (let i = 0; i < n; i++) {
    if (assignments[i] !== maxJ) continue;
    if (weights !== null && !(weights[i]! > 0)) continue;
    const off = i * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const diff = data[off + t]! - centroids[o + t]!;
      s += diff * diff;
    }
    if (s > farDist) {
      farDist = s;
      far = i;
    }
  }
  if (far < 0) return false;

  const wFar = weights === null ? 1 : weights[far]!;
  assignments[far] = empty;
  counts[maxJ]!--;
  counts[empty]!++;
  weightSums[maxJ]! -= wFar;
  weightSums[empty]! += wFar;
  recomputeCentroid(data, n, d, maxJ, assignments, weights, centroids);
  centroids.set(data.subarray(far * d, far * d + d), empty * d);

  variances[empty] = 0;
  const c = counts[maxJ]!;
  variances[maxJ] = c <= 1 ? 0 : (1 / c) * ((c + 1) * maxVar - wFar * farDist);
  return true;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007), greedy variant as scikit-learn's: the first
 * centroid is a point drawn with probability ∝ its weight; each further one is the best of
 * `2 + ⌊ln k⌋` candidates drawn with probability ∝ w_i·D(x_i)² (D = distance to the nearest centroid
 * so far), best = the one that leaves the smallest Σ w_i D². Deterministic for a given `rng`.
 * Not an mlpack behaviour: the `'unit-invariant'` policy seeds every trial with it unless the refined
 * start is asked for (see train.ts).
 */
export function kmeansPlusPlusCentroids(
  data: Values,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  weights?: Float64Array | null,
): Float64Array {
  checkShape(data, n, d, k);
  const w = checkWeights(weights, n);
  const centroids = new Float64Array(k * d);
  const closest = new Float64Array(n);
  const trial = new Float64Array(n);
  const bestTrial = new Float64Array(n);
  const localTrials = 2 + Math.floor(Math.log(k));
  const wt = (i: number): number => (w ? (w[i] as number) : 1);
  /** Index drawn with probability ∝ mass[i] (mass[i] ≥ 0, total > 0); falls back to the last positive. */
  const draw = (mass: (i: number) => number, total: number): number => {
    let target = rng.nextFloat() * total;
    let last = -1;
    for (let i = 0; i < n; i++) {
      const m = mass(i);
      if (!(m > 0)) continue;
      last = i;
      if (target < m) return i;
      target -= m;
    }
    return last;
  };
  let total = 0;
  for (let i = 0; i < n; i++) total += wt(i);
  const first = draw(wt, total);
  centroids.set(data.subarray(first * d, first * d + d), 0);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    const s = sqDistTo(data, i * d, centroids, 0, d);
    closest[i] = s;
    potential += wt(i) * s;
  }
  for (let c = 1; c < k; c++) {
    let chosen = -1;
    let chosenPotential = Infinity;
    for (let t = 0; t < localTrials; t++) {
      // All points coincide with the centroids so far: draw by weight alone.
      const idx = potential > 0 ? draw((i) => wt(i) * (closest[i] as number), potential) : draw(wt, total);
      const o = idx * d;
      let p = 0;
      for (let i = 0; i < n; i++) {
        const s = sqDistTo(data, i * d, data, o, d);
        const m = s < (closest[i] as number) ? s : (closest[i] as number);
        trial[i] = m;
        p += wt(i) * m;
      }
      if (p < chosenPotential) {
        chosenPotential = p;
        chosen = idx;
        bestTrial.set(trial);
      }
    }
    centroids.set(data.subarray(chosen * d, chosen * d + d), c * d);
    closest.set(bestTrial);
    potential = chosenPotential;
  }
  return centroids;
}

function sqDistTo(a: Values, ao: number, b: Values, bo: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const diff = (a[ao + t] as number) - (b[bo + t] as number);
    s += diff * diff;
  }
  return s;
}
