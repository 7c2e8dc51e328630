import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../src/errors.js';
import { Rng } from '../src/util/rng.js';
import { kmeans, kmeansFromCentroids, kmeansPlusPlusCentroids, sampleInitialCentroids, sampledStartCentroids } from '../src/train/kmeans.js';
import { meansOfNearest, refinedStartCentroids } from '../src/train/refined-start.js';
import { setKMeansThreadProvider } from '../src/train/kmeans-parallel.js';
import { createKMeansThreadPool, nodeKMeansThreads, terminateKMeansThreads } from '../src/worker/kmeans-threads.js';

interface Reference {
  centroids: Float64Array;
  assignments: Int32Array;
  iterations: number;
  converged: boolean;
}

function sqDist(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const diff = a[ao + t]! - b[bo + t]!;
    s += diff * diff;
  }
  return s;
}

function nearest(data: Float64Array, i: number, c: Float64Array, k: number, d: number): number {
  let best = Infinity;
  let bestJ = 0;
  for (let j = 0; j < k; j++) {
    const s = sqDist(data, i * d, c, j * d, d);
    if (s < best) {
      best = s;
      bestJ = j;
    }
  }
  return bestJ;
}

/** Weighted mean of the points assigned to j (in point order); zero vector when no weight. */
function meanOf(data: Float64Array, n: number, d: number, assign: Int32Array, j: number, w: Float64Array | null): Float64Array {
  const out = new Float64Array(d);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (assign[i] !== j) continue;
    const wi = w ? w[i]! : 1;
    total += wi;
    for (let t = 0; t < d; t++) out[t]! += w ? wi * data[i * d + t]! : data[i * d + t]!;
  }
  if (total > 0) for (let t = 0; t < d; t++) out[t]! /= total;
  else out.fill(0);
  return out;
}

/**
 * Brute-force mlpack KMeans<> (NaiveKMeans + MaxVarianceNewCluster), written plainly; `squared`:
 * KMeans<SquaredEuclideanDistance>, whose summed metric values are ‖·‖⁴ where Euclidean's are ‖·‖².
 */
function naiveKMeans(
  data: Float64Array,
  n: number,
  d: number,
  init: Float64Array,
  k: number,
  maxIterations: number,
  w: Float64Array | null = null,
  squared = false,
): Reference {
  const metricSq = (a: Float64Array, ao: number, b: Float64Array, bo: number): number => {
    const s = sqDist(a, ao, b, bo, d);
    return squared ? s * s : s;
  };
  let c = Float64Array.from(init);
  let iteration = 0;
  let cNorm: number;
  do {
    const assign = new Int32Array(n);
    for (let i = 0; i < n; i++) assign[i] = nearest(data, i, c, k, d);
    const next = new Float64Array(k * d);
    const counts = new Array<number>(k).fill(0);
    const wsum = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      counts[assign[i]!]!++;
      wsum[assign[i]!]! += w ? w[i]! : 1;
    }
    for (let j = 0; j < k; j++) next.set(meanOf(data, n, d, assign, j, w), j * d);
    let sq = 0;
    for (let j = 0; j < k; j++) sq += metricSq(c, j * d, next, j * d);
    cNorm = Math.sqrt(sq);
    // mlpack MaxVarianceNewCluster: variances about the OLD centroids (computed once per
    // iteration, then updated incrementally), farthest point from the NEW centroid.
    let variances: number[] | null = null;
    for (let e = 0; e < k; e++) {
      if (counts[e] !== 0 && wsum[e]! > 0) continue;
      if (variances === null) {
        variances = [];
        for (let j = 0; j < k; j++) {
          let v = 0;
          for (let i = 0; i < n; i++) if (assign[i] === j) v += (w ? w[i]! : 1) * metricSq(data, i * d, c, j * d);
          variances.push(counts[j]! <= 1 ? 0 : v / counts[j]!);
        }
      }
      let maxJ = 0;
      for (let j = 1; j < k; j++) if (variances[j]! > variances[maxJ]!) maxJ = j;
      const maxVar = variances[maxJ]!;
      if (!(maxVar > 0)) continue;
      let far = -1;
      let farDist = -Infinity;
      for (let i = 0; i < n; i++) {
        if (assign[i] !== maxJ || (w && !(w[i]! > 0))) continue;
        const s = metricSq(data, i * d, next, maxJ * d);
        if (s > farDist) {
          farDist = s;
          far = i;
        }
      }
      assign[far] = e;
      counts[maxJ]!--;
      counts[e]!++;
      const wf = w ? w[far]! : 1;
      wsum[maxJ]! -= wf;
      wsum[e]! += wf;
      next.set(meanOf(data, n, d, assign, maxJ, w), maxJ * d);
      next.set(data.subarray(far * d, far * d + d), e * d);
      variances[e] = 0;
      const cm = counts[maxJ]!;
      variances[maxJ] = cm <= 1 ? 0 : (1 / cm) * ((cm + 1) * maxVar - wf * farDist);
    }
    iteration++;
    if (!Number.isFinite(cNorm)) cNorm = 1e-4;
    c = next;
  } while (cNorm > 1e-5 && iteration !== maxIterations);
  const assignments = new Int32Array(n);
  for (let i = 0; i < n; i++) assignments[i] = nearest(data, i, c, k, d);
  return { centroids: c, assignments, iterations: iteration, converged: !(cNorm > 1e-5) };
}

/** n points from `clusters` Gaussian blobs with centres uniform in [-spread, spread]^d. */
function blobs(rng: Rng, n: number, d: number, clusters: number, spread: number, sigma = 1) {
  const centres = new Float64Array(clusters * d);
  for (let i = 0; i < centres.length; i++) centres[i] = (2 * rng.nextFloat() - 1) * spread;
  const data = new Float64Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.nextInt(clusters);
    labels[i] = c;
    for (let t = 0; t < d; t++) data[i * d + t] = centres[c * d + t]! + sigma * rng.nextNormal();
  }
  return { data, centres, labels };
}

/** Blobs of the given sizes around `centres` (sizes.length × d), unit normal noise, in blob order. */
function unequalBlobs(rng: Rng, centres: number[], sizes: number[], d: number): Float64Array {
  const data = new Float64Array(sizes.reduce((a, b) => a + b, 0) * d);
  let i = 0;
  sizes.forEach((m, c) => {
    for (let r = 0; r < m; r++, i++) for (let t = 0; t < d; t++) data[i * d + t] = centres[c * d + t]! + rng.nextNormal();
  });
  return data;
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("k-means with mlpack's squared Euclidean metric (gmm_train's k-means after a refined start)", () => {
  it('stops on √(Σ‖Δc‖⁴) ≤ 1e-5, sooner than the Euclidean rule, as the brute-force reference does', async () => {
    // (Overlapping blobs whose shifts shrink slowly: 36 Lloyd iterations against 41.)
    const rng = new Rng(4);
    const n = 3000, d = 2, k = 9;
    const { data } = blobs(rng, n, d, 6, 2);
    const init = sampleInitialCentroids(data, n, d, k, rng);
    const ref = naiveKMeans(data, n, d, init, k, 1000, null, true);
    const got = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1000, distance: 'squared-euclidean' });
    expect(got.iterations).toBe(ref.iterations);
    expect(got.converged).toBe(true);
    expect(maxAbsDiff(got.centroids, ref.centroids)).toBeLessThanOrEqual(1e-12);
    expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
    const euclidean = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1000 });
    expect(got.iterations).toBeLessThan(euclidean.iterations);
  });

  it('picks the donor of an empty cluster by Σ‖x − c‖⁴ / count', async () => {
    // Cluster A {0, …, 4} about 2: Σd²/5 = 2, Σd⁴/5 = 6.8; cluster B {100 ×9, 104} about 100.4:
    // Σd²/10 = 1.44, Σd⁴/10 = 16.8. The third (empty) cluster takes A's 0 under the Euclidean
    // metric, B's 104 under the squared one.
    const data = new Float64Array([0, 1, 2, 3, 4, ...new Array(9).fill(100), 104]);
    const init = new Float64Array([2, 100.4, 1e6]);
    const sq = await kmeansFromCentroids(data, 15, 1, init, 3, { maxIterations: 1, distance: 'squared-euclidean' });
    expect(sq.centroids[2]).toBe(104);
    const eu = await kmeansFromCentroids(data, 15, 1, init, 3, { maxIterations: 1 });
    expect(eu.centroids[2]).toBe(0);
    for (const squared of [false, true]) {
      const ref = naiveKMeans(data, 15, 1, init, 3, 1000, null, squared);
      const got = await kmeansFromCentroids(data, 15, 1, init, 3, { maxIterations: 1000, distance: squared ? 'squared-euclidean' : 'euclidean' });
      expect(Array.from(got.centroids)).toEqual(Array.from(ref.centroids));
      expect(got.iterations).toBe(ref.iterations);
    }
  });

  it("two empty clusters in one iteration: the donor's variance is updated with its farthest point's ‖·‖⁴", async () => {
    // (A case a review found: without the squared update the second empty cluster takes another donor.)
    const data = new Float64Array([6, 61, 11, 56, 2, 0, 11, 52, 52, 59, 53, 58, 52, 58, 10, 53, 54]);
    const init = new Float64Array([6, 54, 1e6, 2e6]);
    const ref = naiveKMeans(data, 17, 1, init, 4, 1000, null, true);
    const got = await kmeansFromCentroids(data, 17, 1, init, 4, { maxIterations: 1000, distance: 'squared-euclidean' });
    expect(Array.from(got.centroids)).toEqual(Array.from(ref.centroids));
    expect(Array.from(got.centroids)).toEqual([9.5, 53.142857142857146, 1, 59]);
    expect(got.iterations).toBe(3);
  });

  it("mlpack's start after a refined start: the means of the points nearest each centroid, an unchosen one at the origin", () => {
    // Points 0, 1 → centroid 0 (mean 0.5); 9, 10 → centroid 2 (9.5); centroid 1 (at 100) is nearest
    // to none: 0. The point 5, halfway between centroids 0 and 2, goes to the first (mean 2).
    const data = new Float64Array([0, 1, 9, 10, 5]);
    expect(Array.from(meansOfNearest(data, 5, 1, new Float64Array([0, 100, 10]), 3))).toEqual([2, 0, 9.5]);
    expect(Array.from(meansOfNearest(data, 4, 1, new Float64Array([0, 100, 10]), 3))).toEqual([0.5, 0, 9.5]);
    expect(Array.from(meansOfNearest(data, 4, 1, new Float64Array([0, 100, 10]), 3, new Float64Array([1, 3, 0, 2])))).toEqual([0.75, 0, 10]);
    // Squared distances one ulp apart (7.900407214010075 and …074) with equal square roots: mlpack
    // compares EuclideanDistance, √ of the sum, so the first centroid wins (a review's case).
    const p = new Float64Array([3.4086333924678707, 1.2879788630088997]);
    const tie = new Float64Array([0.6101020633953462, 1.5499514077719805, 0.6101020633953462, 1.5499514077719798]);
    expect(Array.from(meansOfNearest(p, 1, 2, tie, 2))).toEqual([...p, 0, 0]);
  });
});

describe('kmeans (Hamerly) matches brute-force Lloyd', () => {
  const cases = [
    { name: '2000×3, 5 blobs, k=5', seed: 1, n: 2000, d: 3, clusters: 5, k: 5, spread: 4 },
    { name: '5000×8, 16 blobs, k=16', seed: 2, n: 5000, d: 8, clusters: 16, k: 16, spread: 3 },
    { name: '3000×2, 6 blobs, k=9 (overlapping)', seed: 3, n: 3000, d: 2, clusters: 6, k: 9, spread: 2 },
    { name: '1500×5, uniform-ish, k=7', seed: 4, n: 1500, d: 5, clusters: 1, k: 7, spread: 0, sigma: 1 },
    { name: '1000×1, 3 blobs, k=1', seed: 5, n: 1000, d: 1, clusters: 3, k: 1, spread: 5 },
  ];
  for (const cs of cases) {
    it(cs.name, async () => {
      const rng = new Rng(cs.seed);
      const { data } = blobs(rng, cs.n, cs.d, cs.clusters, cs.spread, cs.sigma ?? 1);
      const init = sampleInitialCentroids(data, cs.n, cs.d, cs.k, rng);
      const initCopy = Float64Array.from(init);
      const ref = naiveKMeans(data, cs.n, cs.d, init, cs.k, 1000);
      const got = await kmeansFromCentroids(data, cs.n, cs.d, init, cs.k, { maxIterations: 1000 });
      expect(init).toEqual(initCopy); // not modified
      expect(got.iterations).toBe(ref.iterations);
      expect(got.converged).toBe(ref.converged);
      expect(maxAbsDiff(got.centroids, ref.centroids)).toBeLessThanOrEqual(1e-12);
      expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
      const bruteForce = cs.n * cs.k * (got.iterations + 1);
      expect(got.distanceComputations).toBeGreaterThan(0);
      if (cs.k > 1 && got.iterations >= 5) expect(got.distanceComputations).toBeLessThan(0.5 * bruteForce);
    });
  }

  it('more clusters than distinct points: an exact cycle ends where the cap would leave it, and "until convergence" ends', async () => {
    // Lattice data with duplicates: MaxVarianceNewCluster hands a duplicated point to an empty
    // cluster and the next assignment takes it back, forever (periods 2, 4 and 6 occur).
    let cycling = 0;
    for (let s = 1; s <= 120; s++) {
      const r = new Rng(s);
      const distinct = 1 + r.nextInt(5), k = 1 + r.nextInt(8), n = Math.max(k, 5 + r.nextInt(60)), d = 1 + r.nextInt(3);
      // Tenths: a centroid of equal points need not round to the point, which is what cycles.
      const locs = Array.from({ length: distinct * d }, () => r.nextInt(5) * 0.1);
      const data = new Float64Array(n * d);
      for (let i = 0; i < n; i++) {
        const l = r.nextInt(distinct);
        for (let t = 0; t < d; t++) data[i * d + t] = locs[l * d + t]!;
      }
      const weights = s % 3 === 0 ? Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1 : r.nextInt(3))) : null;
      const init = sampleInitialCentroids(data, n, d, k, new Rng(s * 7), weights);
      const ref = naiveKMeans(data, n, d, init, k, 1001, weights);
      if (ref.converged) continue;
      cycling++;
      const got = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1001, weights });
      expect(got.iterations).toBe(1001);
      expect(got.converged).toBe(false);
      expect(Array.from(got.centroids)).toEqual(Array.from(ref.centroids));
      expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
      // Far fewer distance computations than 1001 iterations' worth: it stopped at the cycle.
      expect(got.distanceComputations).toBeLessThan(100 * n * k);
      const unbounded = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 0, weights });
      expect(unbounded.converged).toBe(false);
      expect(unbounded.iterations).toBeLessThan(100);
    }
    expect(cycling).toBeGreaterThanOrEqual(3);
  });

  it('does markedly fewer distance computations than n·k·iterations', async () => {
    const rng = new Rng(11);
    const n = 5000, d = 8, k = 16;
    const { data } = blobs(rng, n, d, k, 3);
    const init = sampleInitialCentroids(data, n, d, k, rng);
    const got = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 0 });
    expect(got.converged).toBe(true);
    expect(got.iterations).toBeGreaterThan(5);
    expect(got.distanceComputations).toBeLessThan(0.3 * n * k * got.iterations);
  });

  it('matches the reference with a maxIterations cap', async () => {
    const rng = new Rng(12);
    const n = 2000, d = 3, k = 6;
    const { data } = blobs(rng, n, d, 6, 2);
    const init = sampleInitialCentroids(data, n, d, k, rng);
    const ref = naiveKMeans(data, n, d, init, k, 3);
    const got = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 3 });
    expect(got.iterations).toBe(3);
    expect(got.converged).toBe(false);
    expect(ref.iterations).toBe(3);
    expect(maxAbsDiff(got.centroids, ref.centroids)).toBeLessThanOrEqual(1e-12);
    expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
  });

  it('matches the reference with weights', async () => {
    const rng = new Rng(13);
    const n = 2500, d = 4, k = 8;
    const { data } = blobs(rng, n, d, 8, 3);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = i % 10 === 0 ? 0 : 0.1 + 3 * rng.nextFloat();
    const init = sampleInitialCentroids(data, n, d, k, rng, w);
    const ref = naiveKMeans(data, n, d, init, k, 1000, w);
    const got = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1000, weights: w });
    expect(got.iterations).toBe(ref.iterations);
    expect(maxAbsDiff(got.centroids, ref.centroids)).toBeLessThanOrEqual(1e-12);
    expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
  });
});

describe('kmeans behaviour', () => {
  it('recovers well-separated blobs', async () => {
    const rng = new Rng(21);
    const n = 3000, d = 2, k = 4;
    const centres = new Float64Array([0, 0, 50, 0, 0, 50, 50, 50]);
    const data = new Float64Array(n * d);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % k;
      labels[i] = c;
      for (let t = 0; t < d; t++) data[i * d + t] = centres[c * d + t]! + rng.nextNormal();
    }
    // Start from one point of each blob so a local minimum is impossible.
    const init = new Float64Array(k * d);
    for (let j = 0; j < k; j++) init.set(data.subarray((10 + j) * d, (11 + j) * d), j * d);
    const res = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1000 });
    expect(res.converged).toBe(true);
    for (let j = 0; j < k; j++) {
      const c = (10 + j) % k; // blob of the seed point
      expect(Math.abs(res.centroids[j * d]! - centres[c * d]!)).toBeLessThan(0.2);
      expect(Math.abs(res.centroids[j * d + 1]! - centres[c * d + 1]!)).toBeLessThan(0.2);
    }
    for (let i = 0; i < n; i++) expect(res.assignments[i]).toBe((labels[i]! - 10 + 4 * k) % k);
  });

  it('gives an empty cluster the farthest point of the max-variance cluster (far-away centroid)', async () => {
    // Cluster A {0,1,2,10} (variance 20.75 about its old centroid 1), cluster B {100,101} (0.25);
    // A's farthest point from its new centroid 3.25 is 10.
    const data = new Float64Array([0, 1, 2, 10, 100, 101]);
    const init = new Float64Array([1, 100.5, 1e6]);
    const one = await kmeansFromCentroids(data, 6, 1, init, 3, { maxIterations: 1 });
    expect(one.iterations).toBe(1);
    expect(one.converged).toBe(false);
    expect(Array.from(one.centroids)).toEqual([1, 100.5, 10]);
    expect(Array.from(one.assignments)).toEqual([0, 0, 0, 2, 1, 1]);
    const full = await kmeansFromCentroids(data, 6, 1, init, 3, { maxIterations: 1000 });
    const ref = naiveKMeans(data, 6, 1, init, 3, 1000);
    expect(Array.from(full.centroids)).toEqual(Array.from(ref.centroids));
    expect(Array.from(full.centroids)).toEqual([1, 100.5, 10]);
    expect(full.converged).toBe(true);
  });

  it('handles duplicate initial centroids like the reference', async () => {
    const rng = new Rng(22);
    const n = 1200, d = 3, k = 5;
    const { data } = blobs(rng, n, d, 5, 4);
    const init = new Float64Array(k * d);
    for (const [j, p] of [[0, 5], [1, 5], [2, 9], [3, 9], [4, 40]] as const) init.set(data.subarray(p * d, p * d + d), j * d);
    const ref = naiveKMeans(data, n, d, init, k, 1000);
    const got = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1000 });
    expect(got.iterations).toBe(ref.iterations);
    expect(maxAbsDiff(got.centroids, ref.centroids)).toBeLessThanOrEqual(1e-12);
    expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
    const counts = new Array<number>(k).fill(0);
    for (const a of got.assignments) counts[a]!++;
    for (const c of counts) expect(c).toBeGreaterThan(0);
    // After the first iteration the duplicate's empty twin holds one data point exactly.
    const first = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1 });
    const refFirst = naiveKMeans(data, n, d, init, k, 1);
    expect(Array.from(first.centroids)).toEqual(Array.from(refFirst.centroids));
    for (const j of [1, 3]) {
      const c = first.centroids.subarray(j * d, j * d + d);
      let isPoint = false;
      for (let i = 0; i < n && !isPoint; i++) isPoint = sqDist(data, i * d, c, 0, d) === 0;
      expect(isPoint).toBe(true);
    }
  });

  it('fills several empty clusters in one iteration like the reference', async () => {
    const rng = new Rng(27);
    const n = 1500, d = 2, k = 6;
    const { data } = blobs(rng, n, d, 4, 5);
    const init = new Float64Array(k * d);
    // Clusters 1 and 2 duplicate cluster 0 (ties go to 0), cluster 4 is far from everything.
    for (const [j, p] of [[0, 3], [1, 3], [2, 3], [3, 50], [4, -1], [5, 90]] as const) {
      if (p < 0) init.set([1e6, -1e6], j * d);
      else init.set(data.subarray(p * d, p * d + d), j * d);
    }
    for (const cap of [1, 2, 1000]) {
      const ref = naiveKMeans(data, n, d, init, k, cap);
      const got = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: cap });
      expect(got.iterations).toBe(ref.iterations);
      expect(maxAbsDiff(got.centroids, ref.centroids)).toBeLessThanOrEqual(1e-12);
      expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
    }
    const one = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1 });
    for (const j of [1, 2, 4]) {
      const c = one.centroids.subarray(j * d, j * d + d);
      let isPoint = false;
      for (let i = 0; i < n && !isPoint; i++) isPoint = sqDist(data, i * d, c, 0, d) === 0;
      expect(isPoint).toBe(true);
    }
  });

  it('is deterministic for a seed; different seeds give different initial centroids', async () => {
    const gen = new Rng(23);
    const n = 800, d = 3, k = 6;
    const { data } = blobs(gen, n, d, 6, 3);
    const a = await kmeans(data, n, d, k, new Rng(99), { maxIterations: 1000 });
    const b = await kmeans(data, n, d, k, new Rng(99), { maxIterations: 1000 });
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    expect(Array.from(a.assignments)).toEqual(Array.from(b.assignments));
    expect(a.iterations).toBe(b.iterations);
    // kmeans = SampleInitialization from the rng + kmeansFromCentroids.
    const init = sampleInitialCentroids(data, n, d, k, new Rng(99));
    const c = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1000 });
    expect(Array.from(c.centroids)).toEqual(Array.from(a.centroids));
    const other = sampleInitialCentroids(data, n, d, k, new Rng(100));
    expect(Array.from(other)).not.toEqual(Array.from(init));
    // Every initial centroid is a data point.
    for (let j = 0; j < k; j++) {
      let found = false;
      for (let i = 0; i < n && !found; i++) found = sqDist(data, i * d, init, j * d, d) === 0;
      expect(found).toBe(true);
    }
  });

  it('draws weighted initial centroids proportionally to weight, never weight-0 points', () => {
    const n = 4, d = 1;
    const data = new Float64Array([0, 1, 2, 3]);
    const w = new Float64Array([0, 1, 3, 0]);
    const rng = new Rng(5);
    const counts = [0, 0, 0, 0];
    for (let r = 0; r < 4000; r++) counts[sampleInitialCentroids(data, n, d, 1, rng, w)[0]!]!++;
    expect(counts[0]).toBe(0);
    expect(counts[3]).toBe(0);
    expect(counts[2]! / 4000).toBeGreaterThan(0.72);
    expect(counts[2]! / 4000).toBeLessThan(0.78);
  });

  it('weight 2 equals a duplicated point; weight 0 moves nothing', async () => {
    const rng = new Rng(24);
    const n = 1500, d = 3, k = 5;
    const { data } = blobs(rng, n, d, 5, 3);
    const w = new Float64Array(n);
    const dup: number[] = [];
    for (let i = 0; i < n; i++) {
      w[i] = rng.nextFloat() < 0.3 ? 2 : 1;
      dup.push(i);
      if (w[i] === 2) dup.push(i);
    }
    const dupData = new Float64Array(dup.length * d);
    dup.forEach((i, r) => dupData.set(data.subarray(i * d, i * d + d), r * d));
    const init = sampleInitialCentroids(data, n, d, k, rng);
    const weighted = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 1000, weights: w });
    const duplicated = await kmeansFromCentroids(dupData, dup.length, d, init, k, { maxIterations: 1000 });
    expect(weighted.iterations).toBe(duplicated.iterations);
    expect(maxAbsDiff(weighted.centroids, duplicated.centroids)).toBeLessThan(1e-9);
    dup.forEach((i, r) => expect(weighted.assignments[i]).toBe(duplicated.assignments[r]));

    // Appending a weight-0 point (inside the data's range) changes no centroid.
    const extra = new Float64Array((n + 1) * d);
    extra.set(data);
    extra.set([0.3, -0.2, 0.1], n * d);
    const w0 = new Float64Array(n + 1);
    w0.set(w);
    const withZero = await kmeansFromCentroids(extra, n + 1, d, init, k, { maxIterations: 1000, weights: w0 });
    expect(Array.from(withZero.centroids)).toEqual(Array.from(weighted.centroids));
    expect(withZero.assignments[n]).toBeGreaterThanOrEqual(0);
    expect(withZero.assignments[n]).toBeLessThan(k);
  });

  it('honours the maxIterations cap', async () => {
    const rng = new Rng(25);
    const n = 3000, d = 4, k = 10;
    const { data } = blobs(rng, n, d, 10, 2);
    const res = await kmeans(data, n, d, k, rng, { maxIterations: 2 });
    expect(res.iterations).toBe(2);
    expect(res.converged).toBe(false);
  });

  it('validates k and n', async () => {
    const data = new Float64Array([1, 2, 3]);
    await expect(kmeans(data, 3, 1, 4, new Rng(1), { maxIterations: 10 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(kmeans(data, 3, 1, 0, new Rng(1), { maxIterations: 10 })).rejects.toMatchObject({ parameter: 'gaussians' });
    await expect(kmeans(data, 3, 1, 4, new Rng(1), { maxIterations: 10 })).rejects.toMatchObject({ parameter: 'gaussians' });
  });

  it('rejects with an AbortError for an already-aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    const data = new Float64Array([1, 2, 3, 4]);
    await expect(kmeans(data, 4, 1, 2, new Rng(1), { maxIterations: 10, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(kmeansFromCentroids(data, 4, 1, new Float64Array([1, 4]), 2, { maxIterations: 10, signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    await expect(refinedStartCentroids(data, 4, 1, 2, new Rng(1), { samplings: 2, percentage: 1, signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('aborts while running once the signal fires', async () => {
    const rng = new Rng(26);
    const n = 50000, d = 8, k = 64; // ~3 s to converge; the abort must cut it short
    const { data } = blobs(rng, n, d, 64, 1);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 5);
    // Ignoring the signal, k-means would run to convergence and resolve.
    const p = kmeans(data, n, d, k, rng, { maxIterations: 0, signal: ac.signal });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe("kmeans with scikit-learn's relative tolerance", () => {
  // Overlapping clusters: mlpack's absolute 1e-5 shift takes many iterations to reach.
  const rng = new Rng(51);
  const n = 20_000, d = 3, k = 4;
  const { data } = blobs(rng, n, d, k, 1.5);
  const w = Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 0.5 + (i % 3)));
  /** Σ_d weighted variance / d, written out independently of kmeans.ts. */
  function meanVariance(weights: Float64Array | null): number {
    let total = 0;
    const mean = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const wi = weights ? weights[i]! : 1;
      total += wi;
      for (let t = 0; t < d; t++) mean[t] += wi * data[i * d + t]!;
    }
    let v = 0;
    for (let t = 0; t < d; t++) {
      let m2 = 0;
      for (let i = 0; i < n; i++) m2 += (weights ? weights[i]! : 1) * (data[i * d + t]! - mean[t]! / total) ** 2;
      v += m2 / total;
    }
    return v / d;
  }

  it.each([['unweighted', null], ['weighted', w]] as const)('%s: stops at the first shift² ≤ tol × the mean variance, on the same path as mlpack\'s rule', async (_name, weights) => {
    const start = sampleInitialCentroids(data, n, d, k, new Rng(3), weights);
    const limit = Math.sqrt(1e-4 * meanVariance(weights));
    const shifts: number[] = [];
    const relative = await kmeansFromCentroids(data, n, d, start, k, { maxIterations: 0, tolerance: 1e-4, weights, onIteration: (_i, sh) => shifts.push(sh) });
    const mlpackShifts: number[] = [];
    const mlpack = await kmeansFromCentroids(data, n, d, start, k, { maxIterations: 0, weights, onIteration: (_i, sh) => mlpackShifts.push(sh) });
    expect(relative.converged).toBe(true);
    expect(relative.iterations).toBeLessThan(mlpack.iterations);
    expect(shifts.at(-1)!).toBeLessThanOrEqual(limit * (1 + 1e-9));
    for (const sh of shifts.slice(0, -1)) expect(sh).toBeGreaterThan(limit * (1 - 1e-9));
    expect(shifts).toEqual(mlpackShifts.slice(0, shifts.length));
    // The same centroids as mlpack's rule stopped after as many iterations.
    const capped = await kmeansFromCentroids(data, n, d, start, k, { maxIterations: relative.iterations, weights });
    expect(Array.from(relative.centroids)).toEqual(Array.from(capped.centroids));
    expect(Array.from(relative.assignments)).toEqual(Array.from(capped.assignments));
  });

  it('falls back on mlpack\'s rule where the variance overflows float64', async () => {
    // Values near 1e155: their squares overflow, so there is no variance to be relative to.
    const huge = Float64Array.from(data, (v) => v * 1e155);
    const start = sampleInitialCentroids(huge, n, d, k, new Rng(5));
    const relative = await kmeansFromCentroids(huge, n, d, start, k, { maxIterations: 0, tolerance: 1e-4 });
    const mlpack = await kmeansFromCentroids(huge, n, d, start, k, { maxIterations: 0 });
    expect(relative.iterations).toBe(mlpack.iterations);
    expect(Array.from(relative.centroids)).toEqual(Array.from(mlpack.centroids));
  });

  it('rejects a tolerance that is negative or not finite', async () => {
    for (const tolerance of [-1, NaN, Infinity]) {
      await expect(kmeansFromCentroids(data, n, d, data.slice(0, k * d), k, { maxIterations: 0, tolerance })).rejects.toThrow(InvalidArgumentError);
    }
  });
});

describe('kmeansPlusPlusCentroids (the unit-invariant policy\'s seeding)', () => {
  it('is deterministic for a seed and returns data points', () => {
    const rng = new Rng(31);
    const n = 300, d = 3, k = 5;
    const data = Float64Array.from({ length: n * d }, () => rng.nextNormal());
    const a = kmeansPlusPlusCentroids(data, n, d, k, new Rng(4));
    const b = kmeansPlusPlusCentroids(data, n, d, k, new Rng(4));
    const c = kmeansPlusPlusCentroids(data, n, d, k, new Rng(5));
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
    for (let j = 0; j < k; j++) {
      let found = false;
      for (let i = 0; i < n && !found; i++) found = sqDist(data, i * d, a, j * d, d) === 0;
      expect(found).toBe(true);
    }
  });

  it('puts one centroid in each of k well-separated blobs, on every seed', () => {
    const rng = new Rng(32);
    const n = 400, d = 2, k = 4;
    const centres = [0, 0, 100, 0, 0, 100, 100, 100];
    // Unequal blob sizes: a uniform draw would often miss the small one.
    const data = unequalBlobs(rng, centres, [250, 100, 40, 10], d);
    for (let seed = 1; seed <= 20; seed++) {
      const cent = kmeansPlusPlusCentroids(data, n, d, k, new Rng(seed));
      const hit = new Set<number>();
      for (let j = 0; j < k; j++) hit.add(blobOf(cent, j));
      expect(hit.size).toBe(k);
    }
    function blobOf(cent: Float64Array, j: number): number {
      return nearest(cent, j, new Float64Array(centres), k, d);
    }
  });

  it('never picks a weight-0 point; coincident points do not break it', () => {
    const d = 1;
    const data = new Float64Array([0, 0, 0, 5, 100]);
    const w = new Float64Array([1, 1, 1, 1, 0]);
    for (let seed = 1; seed <= 50; seed++) {
      const cent = kmeansPlusPlusCentroids(data, 5, d, 3, new Rng(seed), w);
      expect(Array.from(cent)).not.toContain(100);
      // Only two distinct positive-weight values exist: the third centroid repeats one of them.
      expect(new Set(Array.from(cent)).size).toBe(2);
    }
  });

  it('validates k and n', () => {
    expect(() => kmeansPlusPlusCentroids(new Float64Array(4), 2, 2, 3, new Rng(1))).toThrow(InvalidArgumentError);
  });
});

describe('sampledStartCentroids (the start of k-means on large data)', () => {
  const opts = { maxIterations: 0, tolerance: 1e-4 };
  it('is k-means++ itself up to maxPoints points', async () => {
    const rng = new Rng(41);
    const n = 500, d = 3, k = 4;
    const data = Float64Array.from({ length: n * d }, () => rng.nextNormal());
    expect(same(await sampledStartCentroids(data, n, d, k, new Rng(7), opts, n), kmeansPlusPlusCentroids(data, n, d, k, new Rng(7)))).toBe(true);
    expect(same(await sampledStartCentroids(data, n, d, k, new Rng(7), opts, n - 1), kmeansPlusPlusCentroids(data, n, d, k, new Rng(7)))).toBe(false);
  });

  it('above maxPoints, finds every blob — a 1 % one too — and Lloyd on all points then reaches the full-data optimum', async () => {
    const rng = new Rng(42);
    const n = 20_000, d = 2, k = 4;
    const centres = [0, 0, 60, 0, 0, 60, 60, 60];
    const data = unequalBlobs(rng, centres, [12_000, 5_000, 2_800, 200], d);
    const inertia = (km: { centroids: Float64Array; assignments: Int32Array }): number => {
      let s = 0;
      for (let p = 0; p < n; p++) s += sqDist(data, p * d, km.centroids, km.assignments[p]! * d, d);
      return s;
    };
    const full = await kmeansFromCentroids(data, n, d, kmeansPlusPlusCentroids(data, n, d, k, new Rng(1)), k, opts);
    for (let seed = 1; seed <= 10; seed++) {
      const a = await sampledStartCentroids(data, n, d, k, new Rng(seed), opts, 1000);
      expect(same(a, await sampledStartCentroids(data, n, d, k, new Rng(seed), opts, 1000))).toBe(true);
      // One centroid near each blob centre (within 1: a sample of 1000 holds ~10 points of the small one).
      const hit = new Set<number>();
      for (let j = 0; j < k; j++) {
        const b = nearest(a, j, new Float64Array(centres), k, d);
        expect(sqDist(a, j * d, new Float64Array(centres), b * d, d)).toBeLessThan(1);
        hit.add(b);
      }
      expect(hit.size).toBe(k);
      const km = await kmeansFromCentroids(data, n, d, a, k, opts);
      expect(inertia(km)).toBeCloseTo(inertia(full), 6);
    }
  });

  it('samples among the points of positive weight, weighted, and copes with fewer of them than clusters', async () => {
    // Two groups of positive-weight points at 0 and 100 (weights 1 and 9 in the first, all 1 in
    // the second), the rest weight 0 far away: one cluster each, the first at its weighted mean.
    const n = 5000, d = 1;
    const data = new Float64Array(n).fill(1e6);
    const w = new Float64Array(n);
    for (let i = 0; i < 200; i++) {
      data[i * 20] = i % 2 ? 10 : 0;
      w[i * 20] = i % 2 ? 9 : 1;
      data[i * 20 + 1] = 100;
      w[i * 20 + 1] = 1;
    }
    for (let seed = 1; seed <= 10; seed++) {
      // A sample of 100 of the 400 points of positive weight: never a weight-0 point.
      const sampled = Array.from(await sampledStartCentroids(data, n, d, 2, new Rng(seed), { ...opts, weights: w }, 100)).sort((x, y) => x - y);
      expect(sampled[0]).toBeGreaterThanOrEqual(0);
      expect(sampled[0]).toBeLessThanOrEqual(10);
      expect(sampled[1]).toBe(100);
      // maxPoints (1000) below n but above the 400 points of positive weight: the sample is all of
      // them, and the first cluster's centroid their weighted mean, (100·9·10) / (100·1 + 100·9) = 9.
      const all = Array.from(await sampledStartCentroids(data, n, d, 2, new Rng(seed), { ...opts, weights: w }, 1000)).sort((x, y) => x - y);
      expect(all[0]).toBeCloseTo(9, 9);
      expect(all[1]).toBe(100);
    }
    // Two points of positive weight, at values no weight-0 point has.
    const few = new Float64Array(n);
    few[10] = few[4000] = 1;
    const other = Float64Array.from(data, (v, i) => (i === 10 ? -5 : i === 4000 ? 7 : v));
    const cent = await sampledStartCentroids(other, n, d, 3, new Rng(3), { ...opts, weights: few }, 40);
    expect(cent.length).toBe(3);
    for (const c of cent) expect([-5, 7]).toContain(c);
  });
});

describe('refinedStartCentroids', () => {
  it('returns k finite centroids near the true blob centres', async () => {
    // mlpack's refined start clusters the collected centroids (tight clumps) from a random start,
    // so it can still end in a local minimum; require it on most seeds, not all.
    const n = 4000, d = 2, k = 4;
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
      [10, 10],
    ];
    let good = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const rng = new Rng(seed);
      const data = new Float64Array(n * d);
      for (let i = 0; i < n; i++) {
        const c = centres[rng.nextInt(k)]!;
        data[i * d] = c[0]! + rng.nextNormal();
        data[i * d + 1] = c[1]! + rng.nextNormal();
      }
      const cents = await refinedStartCentroids(data, n, d, k, rng, { samplings: 20, percentage: 0.05 });
      expect(cents.length).toBe(k * d);
      for (const v of cents) expect(Number.isFinite(v)).toBe(true);
      const ok = centres.every((c) => {
        let best = Infinity;
        for (let j = 0; j < k; j++) best = Math.min(best, Math.hypot(cents[j * d]! - c[0]!, cents[j * d + 1]! - c[1]!));
        return best < 1;
      });
      if (ok) good++;
      if (seed === 1) {
        // Deterministic for a seed.
        const a = await refinedStartCentroids(data, n, d, k, new Rng(7), { samplings: 5, percentage: 0.05 });
        const b = await refinedStartCentroids(data, n, d, k, new Rng(7), { samplings: 5, percentage: 0.05 });
        expect(Array.from(a)).toEqual(Array.from(b));
      }
    }
    expect(good).toBeGreaterThanOrEqual(6);
  });

  it('finds two well-separated blobs on every seed', async () => {
    const n = 2000, d = 2, k = 2;
    for (let seed = 1; seed <= 10; seed++) {
      const rng = new Rng(seed);
      const data = new Float64Array(n * d);
      for (let i = 0; i < n; i++) {
        const c = rng.nextInt(2) * 30;
        data[i * d] = c + rng.nextNormal();
        data[i * d + 1] = rng.nextNormal();
      }
      const cents = await refinedStartCentroids(data, n, d, k, rng, { samplings: 10, percentage: 0.02 });
      const xs = [cents[0]!, cents[2]!].sort((a, b) => a - b);
      expect(Math.abs(xs[0]!)).toBeLessThan(0.5);
      expect(Math.abs(xs[1]! - 30)).toBeLessThan(0.5);
      expect(Math.abs(cents[1]!)).toBeLessThan(0.5);
      expect(Math.abs(cents[3]!)).toBeLessThan(0.5);
    }
  });

  it('works with weights', async () => {
    const rng = new Rng(32);
    const n = 2000, d = 3, k = 3;
    const { data } = blobs(rng, n, d, 3, 10);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = rng.nextFloat() * 2;
    const cents = await refinedStartCentroids(data, n, d, k, rng, { samplings: 10, percentage: 0.1, weights: w });
    expect(cents.length).toBe(k * d);
    for (const v of cents) expect(Number.isFinite(v)).toBe(true);
  });

  it('throws when percentage × n gives fewer points than the gaussians', async () => {
    const data = new Float64Array(1000);
    const p = refinedStartCentroids(data, 1000, 1, 5, new Rng(1), { samplings: 10, percentage: 0.002 });
    await expect(p).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(refinedStartCentroids(data, 1000, 1, 5, new Rng(1), { samplings: 10, percentage: 0.002 })).rejects.toMatchObject({
      parameter: 'percentage',
      message: expect.stringMatching(/gives 2 points.*fewer than the 5 gaussians; a percentage of 0\.005 or more gives 5$/),
    });
    // The suggested percentage is the smallest (to 4 decimals) that works: 3 / 44 = 0.06818… → 0.0682.
    const { refinedSampleSize } = await import('../src/train/refined-start.js');
    expect(() => refinedSampleSize(44, 3, 0.02)).toThrow(/; a percentage of 0\.0682 or more gives 3$/);
    expect(refinedSampleSize(44, 3, 0.0682)).toBe(3);
    expect(() => refinedSampleSize(44, 3, 0.0681)).toThrow(/0\.0682/);
    // 7/25·1e4 rounds to 2800.0000000000005: the suggestion is still 0.28, and 0.28 works.
    expect(() => refinedSampleSize(25, 7, 0.02)).toThrow(/; a percentage of 0\.28 or more gives 7$/);
    expect(refinedSampleSize(25, 7, 0.28)).toBe(7);
    // Over many sizes, the suggestion works and one step less does not.
    for (let n = 5; n <= 400; n += 7) {
      for (let k = 1; k <= Math.min(n, 40); k += 3) {
        if (Math.floor(0.0001 * n) >= k) continue;
        const m = /a percentage of ([\d.]+) or more/.exec((() => { try { refinedSampleSize(n, k, 0.0001); return ''; } catch (e) { return (e as Error).message; } })());
        const p = Number(m![1]);
        expect(refinedSampleSize(n, k, p), `${n}, ${k}`).toBe(Math.floor(p * n));
        expect(Math.floor((Math.round(p * 1e4) - 1) / 1e4 * n), `${n}, ${k}`).toBeLessThan(k);
      }
    }
    // More gaussians than points: no percentage helps, and none is suggested.
    expect(() => refinedSampleSize(4, 5, 1)).toThrow(/fewer than the 5 gaussians$/);
  });
});

/**
 * Greedy k-means++ written plainly, as it was first implemented: one candidate at a time, every
 * sum and every draw sequential over all points.
 */
function referencePlusPlus(data: Float64Array, n: number, d: number, k: number, rng: Rng, w: Float64Array | null): Float64Array {
  const wt = (i: number): number => (w ? w[i]! : 1);
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
  const centroids = new Float64Array(k * d);
  const closest = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += wt(i);
  const first = draw(wt, total);
  centroids.set(data.subarray(first * d, first * d + d), 0);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = sqDist(data, i * d, centroids, 0, d);
    potential += wt(i) * closest[i]!;
  }
  for (let c = 1; c < k; c++) {
    let chosen = -1;
    let chosenPotential = Infinity;
    let chosenTrial: Float64Array | null = null;
    for (let t = 0; t < 2 + Math.floor(Math.log(k)); t++) {
      const idx = potential > 0 ? draw((i) => wt(i) * closest[i]!, potential) : draw(wt, total);
      const trial = new Float64Array(n);
      let p = 0;
      for (let i = 0; i < n; i++) {
        trial[i] = Math.min(sqDist(data, i * d, data, idx * d, d), closest[i]!);
        p += wt(i) * trial[i]!;
      }
      if (p < chosenPotential) {
        chosenPotential = p;
        chosen = idx;
        chosenTrial = trial;
      }
    }
    centroids.set(data.subarray(chosen * d, chosen * d + d), c * d);
    closest.set(chosenTrial!);
    potential = chosenPotential;
  }
  return centroids;
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

describe('k-means++ and Lloyd kernels: blocks, pruning, the hand-off and helper threads', () => {
  const pools: { terminate(): void }[] = [];
  afterAll(() => {
    setKMeansThreadProvider(null);
    terminateKMeansThreads();
    for (const p of pools) p.terminate();
  });
  const helpersOf = (count: number) => {
    // Not adaptive: the helpers take part in every job however busy the machine is.
    const pool = createKMeansThreadPool(count, { adaptive: false });
    pools.push(pool);
    return () => pool;
  };
  const oneHelper = helpersOf(1);
  const threeHelpers = helpersOf(3);
  // Run small inputs on the helper threads too.
  const parallel = { minWork: 0, minPoints: 0 };

  const cases = [
    { name: '20000×1, k=3, weights', seed: 21, n: 20000, d: 1, k: 3, clusters: 4, weighted: true, integer: false },
    { name: '12000×2, k=5', seed: 22, n: 12000, d: 2, k: 5, clusters: 5, weighted: false, integer: false },
    { name: '9000×3, k=8, weights with zeros', seed: 23, n: 9000, d: 3, k: 8, clusters: 8, weighted: true, integer: false },
    { name: '6000×8, k=8 (one group of 4 candidates)', seed: 24, n: 6000, d: 8, k: 8, clusters: 8, weighted: false, integer: false },
    { name: '3000×13, k=21, weights (5 candidates)', seed: 25, n: 3000, d: 13, k: 21, clusters: 10, weighted: true, integer: false },
    { name: '2500×64, k=4 (3 candidates)', seed: 26, n: 2500, d: 64, k: 4, clusters: 3, weighted: false, integer: false },
    { name: '5000×5, k=60 (6 candidates)', seed: 27, n: 5000, d: 5, k: 60, clusters: 30, weighted: false, integer: false },
    { name: '8000×4 small integers (ties, duplicates), k=12, integer weights', seed: 28, n: 8000, d: 4, k: 12, clusters: 6, weighted: true, integer: true },
  ];
  for (const cs of cases) {
    it(cs.name, async () => {
      const rng = new Rng(cs.seed);
      const { data } = blobs(rng, cs.n, cs.d, cs.clusters, 4);
      if (cs.integer) for (let i = 0; i < data.length; i++) data[i] = Math.round(data[i]!);
      let w: Float64Array | null = null;
      if (cs.weighted) {
        w = new Float64Array(cs.n);
        for (let i = 0; i < cs.n; i++) w[i] = i % 7 === 0 ? 0 : cs.integer ? 1 + rng.nextInt(3) : 0.1 + 2 * rng.nextFloat();
      }
      const { n, d, k } = cs;

      // k-means++: blocked sums, pruning and the candidates' lists choose what the plain version does.
      setKMeansThreadProvider(null);
      const ref = referencePlusPlus(data, n, d, k, new Rng(cs.seed + 100), w);
      const single = kmeansPlusPlusCentroids(data, n, d, k, new Rng(cs.seed + 100), w);
      expect(same(single, ref)).toBe(true);
      // Lloyd from those seeds, without the hand-off (a copy) and with it, on one thread.
      const plain = await kmeansFromCentroids(data, n, d, Float64Array.from(single), k, { maxIterations: 0, weights: w });
      const handed = await kmeansFromCentroids(data, n, d, single, k, { maxIterations: 0, weights: w });
      const naive = naiveKMeans(data, n, d, single, k, 1000, w);
      expect(plain.iterations).toBe(naive.iterations);
      expect(plain.converged).toBe(naive.converged);
      expect(maxAbsDiff(plain.centroids, naive.centroids)).toBeLessThanOrEqual(1e-12);
      expect(Array.from(plain.assignments)).toEqual(Array.from(naive.assignments));
      expect(same(handed.centroids, plain.centroids)).toBe(true);
      expect(Array.from(handed.assignments)).toEqual(Array.from(plain.assignments));
      expect(handed.iterations).toBe(plain.iterations);
      // The hand-off spares the first full scan.
      expect(handed.distanceComputations).toBeLessThan(plain.distanceComputations);

      // The same on helper threads, with one or three helpers (different task splits): bit for bit.
      for (const provider of [oneHelper, threeHelpers, nodeKMeansThreads]) {
        setKMeansThreadProvider(provider, parallel);
        const par = kmeansPlusPlusCentroids(data, n, d, k, new Rng(cs.seed + 100), w);
        expect(same(par, single)).toBe(true);
        const km = await kmeansFromCentroids(data, n, d, par, k, { maxIterations: 0, weights: w });
        expect(same(km.centroids, plain.centroids)).toBe(true);
        expect(Array.from(km.assignments)).toEqual(Array.from(plain.assignments));
        expect(km.iterations).toBe(plain.iterations);
        expect(km.distanceComputations).toBe(handed.distanceComputations);
        // Ordinary arrays come back, whatever the threads shared.
        expect(km.centroids.buffer).toBeInstanceOf(ArrayBuffer);
        expect(km.assignments.buffer).toBeInstanceOf(ArrayBuffer);
        // mlpack's k-means (uniform start, point-order sums) is bit for bit the one-thread result.
        const mlpack = await kmeans(data, n, d, k, new Rng(cs.seed + 200), { maxIterations: 50, weights: w });
        setKMeansThreadProvider(null);
        const mlpack1 = await kmeans(data, n, d, k, new Rng(cs.seed + 200), { maxIterations: 50, weights: w });
        expect(same(mlpack.centroids, mlpack1.centroids)).toBe(true);
        expect(Array.from(mlpack.assignments)).toEqual(Array.from(mlpack1.assignments));
        expect(mlpack.iterations).toBe(mlpack1.iterations);
      }
    });
  }

  it('fills empty clusters on the helper threads as on one thread (duplicate starts, weights)', async () => {
    const rng = new Rng(41);
    const n = 4000, d = 3, k = 7;
    const { data } = blobs(rng, n, d, 7, 3);
    const w = Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1 + rng.nextFloat()));
    const init = new Float64Array(k * d);
    for (let j = 0; j < k; j++) init.set(data.subarray((j % 3) * d, (j % 3) * d + d), j * d); // only 3 distinct
    setKMeansThreadProvider(null);
    const one = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 0, weights: w });
    const ref = naiveKMeans(data, n, d, init, k, 1000, w);
    expect(one.iterations).toBe(ref.iterations);
    expect(maxAbsDiff(one.centroids, ref.centroids)).toBeLessThanOrEqual(1e-12);
    setKMeansThreadProvider(threeHelpers, parallel);
    const par = await kmeansFromCentroids(data, n, d, init, k, { maxIterations: 0, weights: w });
    setKMeansThreadProvider(null);
    expect(same(par.centroids, one.centroids)).toBe(true);
    expect(Array.from(par.assignments)).toEqual(Array.from(one.assignments));
  });

  it('runs float32 data on the helper threads as on one thread (mlpack k-means, k-means++)', async () => {
    const rng = new Rng(43);
    const n = 7000, d = 6, k = 9;
    const data = Float32Array.from(blobs(rng, n, d, 9, 3).data);
    setKMeansThreadProvider(null);
    const one = await kmeans(data, n, d, k, new Rng(5), { maxIterations: 0 });
    const seeds1 = kmeansPlusPlusCentroids(data, n, d, k, new Rng(6));
    const pp1 = await kmeansFromCentroids(data, n, d, seeds1, k, { maxIterations: 0 });
    setKMeansThreadProvider(threeHelpers, parallel);
    const par = await kmeans(data, n, d, k, new Rng(5), { maxIterations: 0 });
    const seeds = kmeansPlusPlusCentroids(data, n, d, k, new Rng(6));
    const pp = await kmeansFromCentroids(data, n, d, seeds, k, { maxIterations: 0 });
    setKMeansThreadProvider(null);
    expect(same(par.centroids, one.centroids)).toBe(true);
    expect(Array.from(par.assignments)).toEqual(Array.from(one.assignments));
    expect(same(seeds, seeds1)).toBe(true);
    expect(same(pp.centroids, pp1.centroids)).toBe(true);
    expect(same(seeds1, referencePlusPlus(Float64Array.from(data), n, d, k, new Rng(6), null))).toBe(true);
  });

  it('stays on the calling thread below the size threshold', () => {
    let asked = 0;
    setKMeansThreadProvider(() => {
      asked++;
      return null;
    });
    const rng = new Rng(42);
    const data = Float64Array.from({ length: 300 * 2 }, () => rng.nextNormal());
    kmeansPlusPlusCentroids(data, 300, 2, 3, new Rng(1));
    setKMeansThreadProvider(null);
    expect(asked).toBe(0);
  });

  it('does not keep a Node process alive once k-means is done', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgmm-kmeans-threads-'));
    try {
      const src = (f: string) => JSON.stringify(new URL(`../src/${f}`, import.meta.url).href);
      const script = join(dir, 'run.mts');
      writeFileSync(
        script,
        `import { kmeansPlusPlusCentroids, kmeansFromCentroids } from ${src('train/kmeans.js')};
import { setKMeansThreadProvider } from ${src('train/kmeans-parallel.js')};
import { nodeKMeansThreads } from ${src('worker/kmeans-threads.js')};
import { Rng } from ${src('util/rng.js')};
setKMeansThreadProvider(nodeKMeansThreads, { minWork: 0, minPoints: 0 });
const n = 20000, d = 3, r = new Rng(3);
const data = Float64Array.from({ length: n * d }, () => r.nextNormal());
const km = await kmeansFromCentroids(data, n, d, kmeansPlusPlusCentroids(data, n, d, 5, new Rng(4)), 5, { maxIterations: 0 });
console.log(JSON.stringify(Array.from(km.centroids)));
`,
      );
      const root = fileURLToPath(new URL('..', import.meta.url));
      // A process kept alive is killed by the 30 s guard: status null, not 0.
      const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, encoding: 'utf8', timeout: 30_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      // …and computed what one thread computes here.
      setKMeansThreadProvider(null);
      const n = 20000, d = 3, r = new Rng(3);
      const data = Float64Array.from({ length: n * d }, () => r.nextNormal());
      return kmeansFromCentroids(data, n, d, kmeansPlusPlusCentroids(data, n, d, 5, new Rng(4)), 5, { maxIterations: 0 }).then((km) => {
        expect(JSON.parse(run.stdout.trim())).toEqual(Array.from(km.centroids));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("mlpack's empty-cluster rules and the refined start's weights (pinned by a mutation audit)", () => {
  it('of clusters with tied largest variances the first gives a point to the empty one (arma index_max)', async () => {
    // Points 0, 2 | 10, 12 around centroids 1 and 11 (both variance 1), centroid 100 empty: the
    // first cluster's farthest point (from 1: 0 and 2 tie, the first) is taken.
    const r = await kmeansFromCentroids(Float64Array.of(0, 2, 10, 12), 4, 1, Float64Array.of(1, 11, 100), 3, { maxIterations: 100 });
    expect(Array.from(r.centroids)).toEqual([2, 11, 0]);
  });

  it('a one-point cluster has variance 0 and never gives its point away', async () => {
    const r = await kmeansFromCentroids(Float64Array.of(5, 20, 21), 3, 1, Float64Array.of(8, 20.5, 100), 3, { maxIterations: 100 });
    expect(Array.from(r.centroids)).toEqual([5, 21, 20]);
  });

  it('the refined start clusters its subsamples with their weights: points of weight 0 pull nothing', async () => {
    const n = 400;
    const data = new Float64Array(n);
    const w = new Float64Array(n);
    const rng = new Rng(3);
    for (let i = 0; i < n; i++) {
      const far = i % 2 === 1;
      data[i] = (far ? 100 : 0) + rng.nextNormal();
      w[i] = far ? 0 : 1;
    }
    const c = await refinedStartCentroids(data, n, 1, 1, new Rng(1), { samplings: 10, percentage: 0.5, weights: w });
    expect(Math.abs(c[0]!)).toBeLessThan(1);
  });
});
