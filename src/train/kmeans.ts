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
 *
 * Speed: the per-point loops live in kmeans-kernels.ts (several distances per pass over a point,
 * tight loops over typed arrays). With a helper-thread provider installed (kmeans-parallel.ts; the
 * Node entry's `useKMeansThreads()` installs worker threads) and a large enough problem, the assignment passes and
 * k-means++ run on several threads over shared memory with exactly the one-thread results: every
 * pass writes per-point, per-block or per-cluster results that one thread computes whole, and the
 * centroid sums stay in point order per cluster (mlpack's results bit for bit).
 */
import { InvalidArgumentError, throwIfAborted, unlessAborted } from '../errors.js';
import type { Rng } from '../util/rng.js';
import { gatherRows, type Values } from '../data.js';
import { createYielder } from '../util/yield.js';
import { CycleDetector, cycleStop, sameValues } from '../util/cycle.js';
import { kmFullScan, kmHamerly, kmPlusPlusBlocks, kmPlusPlusFirst } from './kmeans-kernels.js';
import { float64, int32, isShared, kmeansThreadsFor, sharedCopy, type KMeansThreadPool } from './kmeans-parallel.js';

export interface KMeansOptions {
  /** Lloyd iterations cap; 0 = until convergence (mlpack: kmeans_max_iterations, default 1000). */
  maxIterations: number;
  /** Optional non-negative observation weights (length n): centroid = weighted mean; a weight-0 point is assigned but moves nothing. */
  weights?: Float64Array | null;
  signal?: AbortSignal;
  /**
   * Called after every Lloyd iteration with its number (1-based) and the centroid shift; awaited
   * when it returns a promise (a rejection fails k-means).
   */
  onIteration?: ((iteration: number, shift: number) => void) | undefined;
  /**
   * scikit-learn's stopping rule (its `tol`): stop once the squared centroid shift Σ_j ‖Δc_j‖² is
   * ≤ `tolerance` × the data's mean per-feature (weighted) variance — relative to the data's own
   * spread, so it does not depend on units. Absent: mlpack's rule, shift ≤ 1e-5 in the data's
   * units.
   */
  tolerance?: number | undefined;
  /**
   * mlpack's KMeans metric: `'euclidean'` (the default, mlpack's `KMeans<>`) or `'squared-euclidean'`,
   * which mlpack's gmm_train uses for the k-means after a refined start
   * (`KMeans<SquaredEuclideanDistance, RefinedStart>`). Assignments are the same (the nearest centroid
   * either way), but mlpack squares the metric's value wherever it sums one: the shift becomes
   * √(Σ_j ‖Δc_j‖⁴) — so Lloyd stops sooner — and an empty cluster's donor is chosen by
   * Σ w‖x − c‖⁴ / count.
   */
  distance?: 'euclidean' | 'squared-euclidean' | undefined;
}

export interface KMeansResult {
  /** K×d row-major. */
  centroids: Float64Array;
  /** Index of the nearest FINAL centroid for every point (mlpack's final assignment pass). */
  assignments: Int32Array;
  /** Lloyd iterations performed. */
  iterations: number;
  /** Stopped because the centroid shift fell within the tolerance (not because of the iteration cap). */
  converged: boolean;
  /**
   * Point–centroid and centroid–centroid distances evaluated for the assignment steps (including
   * the final assignment pass). Brute-force Lloyd would need n·K·(iterations + 1).
   */
  distanceComputations: number;
}

/** mlpack's KMeans::Cluster stops once the centroid shift (Frobenius norm) is ≤ this. */
const CONVERGENCE_TOLERANCE = 1e-5;
/**
 * Tasks per thread a parallel pass is split into: small enough that a thread held up by the
 * operating system delays the others by little, large enough to cost nothing to hand out.
 */
const TASKS_PER_THREAD = 24;
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
  const shiftLimit = shiftLimitFor(options.tolerance, data, n, d, weights);
  return lloyd(data, n, d, k, initial, weights, options.maxIterations, shiftLimit, options.signal, options.onIteration, null, squaredMetric(options));
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
  const seed = takeSeeding(initial, data, n, d, k);
  const shiftLimit = shiftLimitFor(options.tolerance, data, n, d, weights);
  return lloyd(data, n, d, k, Float64Array.from(initial), weights, options.maxIterations, shiftLimit, options.signal, options.onIteration, seed, squaredMetric(options));
}

function squaredMetric(options: KMeansOptions): boolean {
  const { distance } = options;
  if (distance !== undefined && distance !== 'euclidean' && distance !== 'squared-euclidean') {
    throw new InvalidArgumentError('distance', `k-means distance must be 'euclidean' or 'squared-euclidean', got ${String(distance)}`);
  }
  return distance === 'squared-euclidean';
}

/** The largest centroid shift (Frobenius norm) that ends Lloyd: see KMeansOptions.tolerance. */
function shiftLimitFor(tolerance: number | undefined, data: Values, n: number, d: number, weights: Float64Array | null): number {
  if (tolerance === undefined) return CONVERGENCE_TOLERANCE;
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new InvalidArgumentError('tolerance', `k-means tolerance must be a finite number ≥ 0, got ${tolerance}`);
  }
  const limit = Math.sqrt(tolerance * meanVariance(data, n, d, weights));
  // Variances beyond float64 (values near 1e154 and up): no scale to be relative to; mlpack's rule.
  return Number.isFinite(limit) ? limit : CONVERGENCE_TOLERANCE;
}

/** The mean over the d features of their (weighted) variances, two passes (mean, then squares). */
function meanVariance(data: Values, n: number, d: number, weights: Float64Array | null): number {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  let total = 0;
  for (let i = 0, o = 0; i < n; i++, o += d) {
    const w = weights ? weights[i]! : 1;
    if (!(w > 0)) continue;
    total += w;
    for (let j = 0; j < d; j++) mean[j] = mean[j]! + w * data[o + j]!;
  }
  if (!(total > 0)) return 0;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / total;
  for (let i = 0, o = 0; i < n; i++, o += d) {
    const w = weights ? weights[i]! : 1;
    if (!(w > 0)) continue;
    for (let j = 0; j < d; j++) {
      const t = data[o + j]! - mean[j]!;
      m2[j] = m2[j]! + w * t * t;
    }
  }
  let v = 0;
  for (let j = 0; j < d; j++) v += m2[j]! / total;
  return v / d;
}

/**
 * The Lloyd loop. `start` is owned (copied into one of the two ping-pong centroid buffers). With
 * `seed` (k-means++'s nearest-seed assignments and squared distances for these very centroids),
 * the first assignment pass starts from them instead of scanning every centroid.
 */
async function lloyd(
  data: Values,
  n: number,
  d: number,
  k: number,
  start: Float64Array,
  weights: Float64Array | null,
  maxIterations: number,
  shiftLimit: number,
  signal: AbortSignal | undefined,
  onIteration: ((iteration: number, shift: number) => void) | undefined,
  seed: Seeding | null,
  squared: boolean,
): Promise<KMeansResult> {
  const pool = kmeansThreadsFor(n, d, k);
  const par = pool !== null;
  if (par) {
    data = seed?.sharedData ?? sharedCopy(data, n * d);
    if (weights) weights = sharedCopy(weights, n);
  }
  let current = float64(k * d, par); // centroids used for this iteration's assignment
  current.set(start);
  let next = float64(k * d, par); // centroids produced by this iteration
  let assignments: Int32Array;
  let upper: Float64Array;
  if (seed !== null && isShared(seed.assign) === par) {
    assignments = seed.assign;
    upper = seed.closest;
  } else {
    assignments = int32(n, par);
    upper = float64(n, par);
    if (seed !== null) {
      assignments.set(seed.assign);
      upper.set(seed.closest);
    }
  }
  const lower = float64(n, par);
  const half = new Float64Array(k);
  const movement = new Float64Array(k);
  const counts = int32(k, par);
  const weightSums = float64(k, par);
  const variances = new Float64Array(k);
  // Relative error bound of a computed Euclidean distance (d squared differences summed, sqrt),
  // with a generous safety factor.
  const rel = (2 * d + 16) * UNIT_ROUNDOFF;
  const distUp = 1 + rel;
  const distDown = 1 - rel;
  const state: AssignState = {
    data, n, d, k, assignments, upper, lower, half, centHalf: float64(k * k, par), distUp, distDown, pool,
    boundsValid: seed !== null, seeded: seed !== null, pending: false, movement, maxJ: -1, maxMove: 0, secondMove: 0, distanceComputations: 0,
  };

  let iteration = 0;
  let cNorm: number;
  let reassigned = false;
  const yieldNow = createYielder(signal);
  // The centroids (with the assignments that produced them) can cycle exactly — more clusters than
  // distinct points: an empty cluster is handed a duplicated point that the next assignment takes
  // back — and then never converge. Once a cycle is seen, the run stops at the iteration whose
  // state is the one maxIterations would end with (its results bit for bit), or at once when
  // there is no cap.
  const cycle = new CycleDetector<{ c: Float64Array; a: Int32Array }>(
    (s, into) => (into ? (into.c.set(s.c), into.a.set(s.a), into) : { c: Float64Array.from(s.c), a: Int32Array.from(s.a) }),
    (x, y) => sameValues(x.c, y.c) && sameValues(x.a, y.a),
  );
  cycle.observe({ c: current, a: assignments });
  let stopAt = -1;
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
      // mlpack sums the metric's value squared: ‖Δc‖² (Euclidean) or ‖Δc‖⁴ (squared Euclidean).
      shiftSq += squared ? s * s : s;
      movement[j] = Math.sqrt(s) * distUp;
    }
    cNorm = Math.sqrt(shiftSq);

    // MaxVarianceNewCluster for every empty cluster (no points, or no weight).
    reassigned = false;
    let variancesReady = false;
    for (let j = 0; j < k; j++) {
      if (counts[j] === 0 || (weights !== null && !(weightSums[j]! > 0))) {
        if (!variancesReady) {
          clusterVariances(data, n, d, k, assignments, weights, current, counts, variances, squared);
          variancesReady = true;
        }
        if (maxVarianceNewCluster(data, n, d, k, j, assignments, weights, next, counts, weightSums, variances, squared)) reassigned = true;
      }
    }
    if (reassigned) state.boundsValid = false;
    else scheduleBoundUpdate(state);

    iteration++;
    if (onIteration) await unlessAborted(Promise.resolve(onIteration(iteration, cNorm)), signal);
    if (!Number.isFinite(cNorm)) cNorm = Math.max(1e-4, 2 * shiftLimit); // keep iterating, as mlpack does
    const swap = current;
    current = next;
    next = swap;

    if (stopAt < 0 && cNorm > shiftLimit) {
      const period = cycle.observe({ c: current, a: assignments });
      if (period > 0) stopAt = cycleStop(iteration, period, maxIterations);
    }

    const pause = yieldNow();
    if (pause) await pause;
    throwIfAborted(signal);
  } while (cNorm > shiftLimit && iteration !== maxIterations && iteration !== stopAt);

  // Final assignment of every point to its nearest final centroid — unless the last iteration
  // moved no centroid and reassigned none: its assignments are then to these very centroids.
  if (!(cNorm === 0 && !reassigned)) assignStep(state, current, null, weights, counts, weightSums);

  return {
    // Ordinary arrays for the caller, whatever the threads worked on.
    centroids: par ? Float64Array.from(current) : current,
    assignments: par ? Int32Array.from(assignments) : assignments,
    iterations: stopAt >= 0 && maxIterations > 0 ? maxIterations : iteration,
    converged: !(cNorm > shiftLimit),
    distanceComputations: state.distanceComputations,
  };
}

/** [tasks, chunk, limit] of a pass over n points split for the pool (chunks of ≥ 2048 points). */
function pointTasks(n: number, pool: KMeansThreadPool): [number, number, number] {
  const chunk = Math.max(2048, Math.ceil(n / (TASKS_PER_THREAD * (pool.helpers + 1))));
  return [Math.ceil(n / chunk), chunk, n];
}

/**
 * What k-means++ knows when it returns: every point's nearest seed and squared distance to it. kmeansFromCentroids picks it up when it is given
 * those very centroids for the same data, so its first Lloyd pass need not scan every centroid.
 * This assumes the data is not modified in between, as train() does not.
 */
interface Seeding {
  data: Values;
  n: number;
  d: number;
  k: number;
  /** The centroids as returned (to notice a caller's changes). */
  centroids: Float64Array;
  assign: Int32Array;
  closest: Float64Array;
  /** The data in shared memory when the helper threads ran k-means++ (reused by Lloyd). */
  sharedData: Values | null;
}

/** Keyed by the centroid array kmeansPlusPlusCentroids returned; taken once. */
const seedings = new WeakMap<Float64Array, Seeding>();

function takeSeeding(initial: Float64Array, data: Values, n: number, d: number, k: number): Seeding | null {
  const s = seedings.get(initial);
  if (s === undefined) return null;
  seedings.delete(initial);
  if (s.data !== data || s.n !== n || s.d !== d || s.k !== k) return null;
  for (let i = 0; i < k * d; i++) if (!Object.is(s.centroids[i], initial[i])) return null;
  return s;
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
  /** ½‖c_a − c_b‖ (rounded down) for every pair, k×k (diagonal 0). */
  centHalf: Float64Array;
  distUp: number;
  distDown: number;
  /** Helper threads for the passes, or null. */
  pool: KMeansThreadPool | null;
  /** The bounds hold for the last centroids assigned with (once `pending` movements are applied). */
  boundsValid: boolean;
  /** `assignments` are every point's nearest centroid and `upper` the squared distances to it (k-means++ hand-off). */
  seeded: boolean;
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
    // s(j) = ½ min_{j'≠j} ‖c_j − c_j'‖ (rounded down), and every ½‖c_a − c_b‖ (centHalf).
    half.fill(Infinity);
    const centHalf = st.centHalf;
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
        centHalf[a * k + b] = h;
        centHalf[b * k + a] = h;
        if (h < half[a]!) half[a] = h;
        if (h < half[b]!) half[b] = h;
      }
    }
    computations += (k * (k - 1)) / 2;
  }

  const pool = st.pool;
  // On one thread the sums are accumulated inside the pass, slice by slice in point order.
  const fused = pool === null ? sums : null;
  if (full) {
    if (pool) pool.run(1, [data, d, k, centroids, assignments, upper, lower, distUp, distDown, counts, weightSums], ...pointTasks(n, pool));
    else kmFullScan(data, d, k, centroids, 0, n, assignments, upper, lower, distUp, distDown, weights, fused, counts, weightSums);
    computations += n * k;
  } else if (pool) {
    const args = [data, d, k, centroids, assignments, upper, lower, half, st.centHalf, movement,
      pending, st.seeded, maxJ, maxMove, secondMove, distUp, distDown, ROUND_UP, ROUND_DOWN, counts, weightSums];
    computations += pool.run(2, args, ...pointTasks(n, pool));
  } else {
    computations += kmHamerly(
      data, d, k, centroids, 0, n, assignments, upper, lower, half, st.centHalf, movement,
      pending, st.seeded, maxJ, maxMove, secondMove, distUp, distDown, ROUND_UP, ROUND_DOWN,
      weights, fused, counts, weightSums,
    );
  }
  // With helper threads: the new centroids' (weighted) sums, each cluster's in point order.
  if (sums !== null && pool) {
    const phases = Math.min(k, pool.helpers + 1);
    pool.run(3, [data, d, n, assignments, weights, sums, counts, weightSums, k], phases, 1, phases);
  }
  st.seeded = false;
  st.boundsValid = true;
  st.pending = false;
  st.distanceComputations += computations;
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
 * cluster has at most one point. `squared`: the metric is squared Euclidean, and mlpack squares
 * its value here too (Σ w‖x − c_j‖⁴).
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
  squared: boolean,
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
    if (squared) s *= s;
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
  squared: boolean,
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
    // (The farthest point is the same either way; its squared metric enters the variance update.)
    if (squared) s *= s;
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
 * Points per k-means++ block: the unit of the fixed partition over which potentials are summed
 * (block sums in point order, then over blocks in block order) — a power of two near 32 Ki values,
 * so that a block's coordinates stay in cache while several candidates are scored against it.
 * It depends on d only, never on how many threads run, so results do not either.
 */
function plusPlusBlockPoints(d: number): number {
  let b = 256;
  while (b < 16384 && b * 2 * d <= 32768) b *= 2;
  return b;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007), greedy variant as scikit-learn's: the first
 * centroid is a point drawn with probability ∝ its weight; each further one is the best of
 * `2 + ⌊ln k⌋` candidates drawn with probability ∝ w_i·D(x_i)² (D = distance to the nearest centroid
 * so far), best = the one that leaves the smallest Σ w_i D². Deterministic for a given `rng`.
 * Not an mlpack behaviour: the `'unit-invariant'` policy seeds every trial with it unless the refined
 * start is asked for (see train.ts).
 *
 * How it runs: all candidates of a round are drawn first (they come from the same distribution),
 * then scored together in one pass over the data (kmPlusPlusBlocks), skipping the points that the
 * triangle inequality proves farther from a candidate than from their centroid (exactly: the
 * skipped terms are the ones the computation would give), and listing the points each candidate
 * would bring closer, so that the winner updates D² without a second pass. Sums run over fixed
 * blocks of points (block sums in point order, combined in block order, whatever the number of
 * threads); a draw finds its block from the block sums, then walks that block. The choices are the
 * plain algorithm's, up to rounding in the sums (ties within rounding). The result remembers each
 * point's nearest seed for kmeansFromCentroids (see Seeding).
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
  let w = checkWeights(weights, n);
  const source = data;
  const pool = kmeansThreadsFor(n, d, k);
  const par = pool !== null;
  if (par) {
    data = sharedCopy(data, n * d);
    if (w) w = sharedCopy(w, n);
  }
  const centroids = new Float64Array(k * d);
  const localTrials = 2 + Math.floor(Math.log(k));
  const block = plusPlusBlockPoints(d);
  const nb = Math.ceil(n / block);
  const closest = float64(n, par);
  const assign = int32(n, par);
  // Per-block total weight (for draws by weight) and Σ w·D² (for draws by D²).
  const weightMass = new Float64Array(nb);
  const mass = float64(nb, par);
  const pot = float64(nb * localTrials, par);
  // Per block and candidate, the points it would bring closer and their new D² (mostly untouched
  // memory: a candidate improves few points outside its neighbourhood).
  const listIdx = int32(nb * localTrials * block, par);
  const listS = float64(nb * localTrials * block, par);
  const listCnt = int32(nb * localTrials, par);
  const cand = new Float64Array(localTrials * d);
  const candThr = new Float64Array(localTrials * k);
  const factor = pruneFactor(d);
  const blocksPerTask = pool ? Math.max(1, Math.ceil(nb / (TASKS_PER_THREAD * (pool.helpers + 1)))) : nb;
  const tasks = Math.ceil(nb / blocksPerTask);
  let total = 0;
  for (let b = 0; b < nb; b++) {
    const start = b * block;
    const end = Math.min(n, start + block);
    let s = 0;
    if (w) for (let i = start; i < end; i++) s += w[i]!;
    else s = end - start;
    weightMass[b] = s;
    total += s;
  }
  /**
   * Index drawn with probability ∝ per-point mass (w_i·D² when `byDistance`, else w_i): the block
   * where the target falls by the block sums, then a walk through that block; rounding that runs
   * past the end falls back on the last point of positive mass.
   */
  const drawIndex = (byDistance: boolean): number => {
    const sums = byDistance ? mass : weightMass;
    let target = rng.nextFloat() * (byDistance ? potential : total);
    let lastBlock = -1;
    let b = 0;
    for (; b < nb; b++) {
      const m = sums[b]!;
      if (!(m > 0)) continue;
      lastBlock = b;
      if (target < m) break;
      target -= m;
    }
    if (b === nb) {
      if (lastBlock < 0) return 0; // no mass anywhere (unreachable: callers check the total)
      b = lastBlock;
      target = Infinity;
    }
    const start = b * block;
    const end = Math.min(n, start + block);
    let last = -1;
    for (let i = start; i < end; i++) {
      const m = byDistance ? (w ? w[i]! * closest[i]! : closest[i]!) : w ? w[i]! : 1;
      if (!(m > 0)) continue;
      last = i;
      if (target < m) return i;
      target -= m;
    }
    return last;
  };
  let potential = 0;
  const first = drawIndex(false);
  centroids.set(data.subarray(first * d, first * d + d), 0);
  const firstRow = centroids.slice(0, d);
  if (pool) pool.run(4, [data, d, n, w, closest, block, firstRow, mass], tasks, blocksPerTask, nb);
  else kmPlusPlusFirst(data, d, n, w, closest, block, 0, nb, firstRow, mass);
  for (let b = 0; b < nb; b++) potential += mass[b]!;
  const chosenIdx = new Int32Array(localTrials);
  for (let c = 1; c < k; c++) {
    // All points coincide with the centroids so far: draw by weight alone.
    for (let t = 0; t < localTrials; t++) {
      const idx = potential > 0 ? drawIndex(true) : drawIndex(false);
      chosenIdx[t] = idx;
      cand.set(data.subarray(idx * d, idx * d + d), t * d);
    }
    // Pruning thresholds: a point whose D² (to centroid j) is ≤ ‖cand − c_j‖²/factor is at least
    // as far from the candidate (triangle inequality, with room for rounding).
    for (let t = 0; t < localTrials; t++) {
      for (let j = 0; j < c; j++) candThr[t * k + j] = pruneThreshold(cand, t * d, centroids, j * d, d, factor);
    }
    if (pool) {
      const args = [data, d, n, w, closest, assign, k, block, cand, localTrials, candThr, pot, listIdx, listS, listCnt];
      pool.run(0, args, tasks, blocksPerTask, nb);
    } else {
      kmPlusPlusBlocks(data, d, n, w, closest, assign, k, block, 0, nb, cand, localTrials, candThr, pot, listIdx, listS, listCnt);
    }
    let chosen = 0;
    let chosenPotential = Infinity;
    for (let t = 0; t < localTrials; t++) {
      let p = 0;
      for (let b = 0; b < nb; b++) p += pot[b * localTrials + t]!;
      if (p < chosenPotential) {
        chosenPotential = p;
        chosen = t;
      }
    }
    const idx = chosenIdx[chosen]!;
    centroids.set(data.subarray(idx * d, idx * d + d), c * d);
    // D² ← min(D², distance to the new centroid): exactly the chosen candidate's lists.
    for (let b = 0; b < nb; b++) {
      const o = b * localTrials + chosen;
      const base = o * block;
      const count = listCnt[o]!;
      for (let r = 0; r < count; r++) {
        const i = listIdx[base + r]!;
        closest[i] = listS[base + r]!;
        assign[i] = c;
      }
      mass[b] = pot[o]!;
    }
    potential = chosenPotential;
  }
  seedings.set(centroids, {
    data: source, n, d, k, centroids: centroids.slice(), assign, closest, sharedData: par ? data : null,
  });
  return centroids;
}

/**
 * Above this many points, {@link sampledStartCentroids} runs k-means++ and Lloyd on a uniform
 * subsample of this many before Lloyd on all the points. k-means++ costs (2 + ln K) passes over
 * the data per centroid — on 1M × 8 points, K = 8, more than the Lloyd iterations that follow it —
 * and Lloyd's first iterations, where most points change cluster, cost a full scan each; a sample
 * of 2¹⁷ points still holds thousands of points of any cluster that Lloyd on the whole data keeps.
 */
export const PLUSPLUS_MAX_POINTS = 1 << 17;

/**
 * The start of the default policy's k-means on all n points: k-means++ seeds
 * ({@link kmeansPlusPlusCentroids}) up to `maxPoints` points; above that, k-means — k-means++ and
 * Lloyd with `options` (its iteration cap and tolerance; silently) — on `maxPoints` of the points
 * of positive weight drawn uniformly with `rng` (each keeping its weight), whose centroids Lloyd
 * on all the points then usually only polishes: on 1M × 8 points, K = 8, in overlapping clusters
 * 2–4 full iterations after 6–40 on the sample, instead of 6–34 full ones (2–3.6× less time, the
 * same inertia). Deterministic for a given `rng`.
 */
export async function sampledStartCentroids(
  data: Values,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  options: Pick<KMeansOptions, 'maxIterations' | 'tolerance' | 'weights' | 'signal'>,
  maxPoints: number = PLUSPLUS_MAX_POINTS,
): Promise<Float64Array> {
  checkShape(data, n, d, k);
  const w = checkWeights(options.weights, n);
  if (n <= maxPoints) return kmeansPlusPlusCentroids(data, n, d, k, rng, w);
  const rows = positiveSample(n, w, maxPoints, rng);
  const m = rows.length;
  // Fewer points of positive weight than clusters: k-means++ itself handles that (by drawing again).
  if (m < k) return kmeansPlusPlusCentroids(data, n, d, k, rng, w);
  const sample = gatherRows({ data, n, d }, rows).data;
  const sampleWeights = w ? Float64Array.from(rows, (i) => w[i]!) : null;
  const seeds = kmeansPlusPlusCentroids(sample, m, d, k, rng, sampleWeights);
  const { maxIterations, tolerance, signal } = options;
  return (await kmeansFromCentroids(sample, m, d, seeds, k, { maxIterations, tolerance, weights: sampleWeights, ...(signal ? { signal } : {}) })).centroids;
}

/**
 * m of the points of positive weight drawn uniformly (partial Fisher–Yates) with `rng`, in
 * ascending order — or all of them when there are at most m. Points of weight 0 take no part in
 * k-means, and a sample of them alone would have no weight.
 */
export function positiveSample(n: number, weights: Float64Array | null, m: number, rng: Rng): Int32Array {
  let pool: Int32Array;
  if (weights) {
    let positive = 0;
    for (let i = 0; i < n; i++) if (weights[i]! > 0) positive++;
    pool = new Int32Array(positive);
    for (let i = 0, p = 0; i < n; i++) if (weights[i]! > 0) pool[p++] = i;
  } else {
    pool = new Int32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
  }
  if (pool.length <= m) return pool;
  for (let i = 0; i < m; i++) {
    const j = i + rng.nextInt(pool.length - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, m).sort();
}

/** Unit roundoff-based factor F of the k-means++ pruning test D² ≤ ‖c − c_j‖² / F (F ≥ 4). */
function pruneFactor(d: number): number {
  // A computed squared distance is within a relative (2d + 16)·u of the exact one; F = 4·(1 + 16γ)
  // leaves room for both distances' rounding and the division (see kmPlusPlusBlocks).
  return 4 * (1 + 16 * (2 * d + 16) * UNIT_ROUNDOFF);
}

/**
 * ‖a − b‖² / factor, less an absolute 1e-290 for underflow; −1 (never prune) when not finite.
 * Exact pruning: D² ≤ this ⇒ ‖x − a‖ ≥ ‖a − b‖ − ‖x − b‖ ≥ (1 + ε)·D, so the computed ‖x − a‖²
 * is ≥ the computed D².
 */
function pruneThreshold(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number, factor: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const diff = a[ao + t]! - b[bo + t]!;
    s += diff * diff;
  }
  const thr = s / factor - 1e-290;
  return Number.isFinite(thr) ? thr : -1;
}
