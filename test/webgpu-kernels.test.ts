// The WebGPU kernels' shape-dependent paths against the float64 CPU reference, a few EM
// iterations from the same start: many components (K > 32: log-densities through global memory,
// several statistics workgroups along z beyond 256), several statistics tiles (D = 13: blocks
// 0..3 with a partial last one), point counts that are not multiples of 4, and chunks that split
// statistics ranges unevenly. Then one pass of each kernel path — the fused kernel (K ≤ twice the
// subgroup size, D ≤ 8 full or ≤ 32 diagonal: fused.wgsl, fused-diagonal.wgsl) and the E-step +
// statistics pair, with subgroups (stats-*-subgroup.wgsl) and without (stats-*.wgsl, as on a
// device without the feature) — on the same shapes, against the CPU; parameters beyond the 64 KiB
// uniform block (read from storage). Last, the log-likelihood's
// error against the bound the backend reports for it (`logLikelihoodUncertainty`): data with
// repeated values, and strongly correlated components.
import { describe, it, expect } from 'vitest';
import { train, type TrainOptions } from '../src/index.js';
import { Rng } from '../src/util/rng.js';
import { relErr, maxRelErr } from './helpers.js';
import { GPU_AVAILABLE } from './gpu.js';
import { acquireGpu } from '../src/backends/webgpu/device.js';
import { HARDWARE_GEOMETRY, SOFTWARE_GEOMETRY, WebGpuBackend, type DispatchGeometry } from '../src/backends/webgpu/webgpu-backend.js';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { mixtureParams } from '../src/train/em.js';
import { packedSize, type PassResult } from '../src/backends/backend.js';
import { featureScales, scaledData } from '../src/train/feature-scale.js';
import { kmeans } from '../src/train/kmeans.js';
import { modelFromAssignments } from '../src/train/initialize.js';
import { DEFAULT_MAX_CONDITION, DEFAULT_VARIANCE_FLOOR } from '../src/train/constraints.js';
import { GaussianMixture } from '../src/model/gaussian-mixture.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The start every case compares from: k-means from uniformly drawn centroids (seed 2) on the
 * range-scaled data, then one EM iteration under the default policy. A uniform draw often puts two
 * centroids in one blob, which leaves EM work for the 4 iterations compared; the default k-means++
 * start can sit so close to the optimum of these separated blobs that float32 reaches a fixed point
 * (and stops) sooner than float64.
 */
async function roughStart(data: { data: Float64Array; rows: number; cols: number }, k: number, diagonal: boolean) {
  const { rows: n, cols: d } = data;
  const scaling = featureScales(data.data, n, d, null);
  const km = await kmeans(scaledData(data.data, n, d, scaling), n, d, k, new Rng(2), { maxIterations: 1000 });
  const initial = await modelFromAssignments({ data: data.data, n, d }, null, km.assignments, k, {
    covarianceType: diagonal ? 'diagonal' : 'full',
    constraint: { policy: 'unit-invariant', scale: scaling.scale, maxCondition: DEFAULT_MAX_CONDITION, varianceFloor: DEFAULT_VARIANCE_FLOOR, featureFloor: scaling.floor },
    forcePositive: true,
    trial: 0,
  });
  return (await train(data, { gaussians: k, inputModel: initial, maxIterations: 1, backend: 'cpu', diagonalCovariance: diagonal })).model;
}

function blobs(n: number, d: number, k: number, seed: number, spread: number) {
  const rng = new Rng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => spread * rng.nextNormal()));
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[i % k]!;
    for (let j = 0; j < d; j++) data[i * d + j] = c[j]! + (0.5 + (j % 3) * 0.4) * rng.nextNormal() + (j > 0 ? 0.3 * data[i * d + j - 1]! : 0);
  }
  return { data, rows: n, cols: d };
}

const CASES: [string, { n: number; d: number; k: number; diagonal: boolean; spread?: number; maxChunkPoints?: number }][] = [
  ['K = 40 full (log-densities via global memory)', { n: 4001, d: 3, k: 40, diagonal: false }],
  ['K = 40 diagonal', { n: 4003, d: 6, k: 40, diagonal: true }],
  ['K = 300 diagonal (two statistics workgroups along z)', { n: 3000, d: 2, k: 300, diagonal: true, spread: 20 }],
  ['D = 13 full (10 statistics tiles), n % 4 = 1', { n: 3001, d: 13, k: 5, diagonal: false }],
  ['D = 13 diagonal, uneven chunks', { n: 3001, d: 13, k: 5, diagonal: true, maxChunkPoints: 777 }],
  ['D = 2 full, overlapping, chunks of 5 points', { n: 203, d: 2, k: 3, diagonal: false, spread: 1, maxChunkPoints: 5 }],
  ['D = 8 full, K = 8 (fused kernel)', { n: 5003, d: 8, k: 8, diagonal: false }],
  ['D = 5 diagonal, K = 6 (fused kernel), uneven chunks', { n: 4001, d: 5, k: 6, diagonal: true, maxChunkPoints: 1234 }],
  // Parameters beyond the 64 KiB uniform block (8.8 KiB per full 64-dimensional component, 528 B
  // per diagonal one): the E-step reads them from its storage binding.
  ['D = 64 full, K = 8 (parameters in storage: 70 KiB)', { n: 2003, d: 64, k: 8, diagonal: false }],
  ['D = 64 diagonal, K = 130 (parameters in storage: 67 KiB)', { n: 2600, d: 64, k: 130, diagonal: true, spread: 3 }],
  // Diagonal covariance beyond 64 dimensions (its E-step keeps no point in private memory there).
  ['D = 130 diagonal, K = 6', { n: 1500, d: 130, k: 6, diagonal: true, spread: 0.3 }],
];

describe.skipIf(!GPU_AVAILABLE)('WebGPU kernels across shapes', () => {
  it.each(CASES)('%s', async (_name, c) => {
    const data = blobs(c.n, c.d, c.k, c.n + c.d, c.spread ?? 6);
    const start = await roughStart(data, c.k, c.diagonal);
    const opts: TrainOptions = { gaussians: c.k, inputModel: start, diagonalCovariance: c.diagonal, maxIterations: 4, tolerance: 0 };
    const lls = { webgpu: [] as number[], cpu: [] as number[] };
    const gpu = await train(data, { ...opts, backend: 'webgpu', ...(c.maxChunkPoints ? { maxChunkPoints: c.maxChunkPoints } : {}), onIteration: (i) => void lls.webgpu.push(i.logLikelihood) });
    const cpu = await train(data, { ...opts, backend: 'cpu', onIteration: (i) => void lls.cpu.push(i.logLikelihood) });
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.trials[0]!.float64Passes).toBe(0);
    // With tolerance 0 the CPU stops early only at an exact fixed point of its arithmetic (well
    // separated blobs at D = 64 reach one in two M-steps), which float32 does not repeat bit for bit.
    if (cpu.converged) expect(lls.webgpu.length).toBeGreaterThanOrEqual(lls.cpu.length);
    else expect(lls.webgpu.length).toBe(lls.cpu.length);
    lls.cpu.forEach((v, i) => expect(relErr(lls.webgpu[i]!, v), `iteration ${i}`).toBeLessThan(1e-5));
    const g = gpu.model, m = cpu.model, per = g.covariances.length / c.k;
    expect(maxRelErr(g.weights, m.weights)).toBeLessThan(1e-3);
    for (let j = 0; j < c.k; j++) {
      expect(maxRelErr(g.means.subarray(j * c.d, (j + 1) * c.d), m.means.subarray(j * c.d, (j + 1) * c.d)), `mean ${j}`).toBeLessThan(1e-3);
      expect(maxRelErr(g.covariances.subarray(j * per, (j + 1) * per), m.covariances.subarray(j * per, (j + 1) * per)), `covariance ${j}`).toBeLessThan(1e-3);
    }
  });
});

/** Per component: weight N_k, mean c_k + s_k/N_k and covariance S_k/N_k − δδᵀ (upper triangle or diagonal). */
function moments(r: PassResult, params: { means: Float64Array }, k: number, d: number, diagonal: boolean) {
  const { nk, sums, scatter, shift } = r.stats;
  const c = shift ?? params.means;
  const per = diagonal ? d : packedSize(d);
  const mean = new Float64Array(k * d), cov = new Float64Array(k * per);
  for (let j = 0; j < k; j++) {
    const n = nk[j]!;
    for (let a = 0; a < d; a++) mean[j * d + a] = c[j * d + a]! + sums[j * d + a]! / n;
    let t = 0;
    for (let a = 0; a < d; a++) {
      for (let b = a; b < (diagonal ? a + 1 : d); b++) {
        const da = sums[j * d + a]! / n, db = sums[j * d + b]! / n;
        cov[j * per + t] = scatter[j * per + t]! / n - da * db;
        t++;
      }
    }
  }
  return { mean, cov };
}

const PASS_CASES: [string, { n: number; d: number; k: number; diagonal: boolean; weights?: boolean; outliers?: boolean; maxChunkPoints?: number; geometry?: DispatchGeometry }][] = [
  ['D = 8 full, K = 8', { n: 3001, d: 8, k: 8, diagonal: false }],
  ['D = 3 diagonal, K = 5, weights, chunks of 700', { n: 2999, d: 3, k: 5, diagonal: true, weights: true, maxChunkPoints: 700 }],
  ['D = 6 full, K = 4, far outliers (every density underflows)', { n: 2000, d: 6, k: 4, diagonal: false, outliers: true }],
  ['D = 1 full, K = 2, weights', { n: 1001, d: 1, k: 2, diagonal: false, weights: true }],
  ['D = 20 diagonal, K = 7, weights', { n: 2500, d: 20, k: 7, diagonal: true, weights: true }],
  ['D = 12 full, K = 3 (beyond the fused kernel: both runs use the pair)', { n: 1500, d: 12, k: 3, diagonal: false }],
  ['D = 8 full, K = 16 (two components per invocation on 8-lane subgroups)', { n: 4000, d: 8, k: 16, diagonal: false }],
  ['D = 24 diagonal, K = 11, weights, chunks of 900 (an empty slot)', { n: 3001, d: 24, k: 11, diagonal: true, weights: true, maxChunkPoints: 900 }],
  // The fused full-covariance kernel loads four points at a time, one vec4 per lane, where they
  // fit (4 · ⌈D/4⌉ ≤ lanes): weights, chunks and tails with that.
  ['D = 3 full, K = 5, weights, chunks of 998 (four points per load)', { n: 3001, d: 3, k: 5, diagonal: false, weights: true, maxChunkPoints: 998 }],
  ['D = 4 full, K = 15, weights, far outliers, n % 4 = 3', { n: 2003, d: 4, k: 15, diagonal: false, weights: true, outliers: true }],
  // The fused diagonal kernel walks four points per step (vec4 lanes): counts that are not a
  // multiple of 4, fewer points than one step, chunks, one and two components per invocation, odd
  // K and D, and the subgroupMax fallback where every density of a point underflows.
  ['D = 1 diagonal, K = 1, n = 3 (fewer points than one step)', { n: 3, d: 1, k: 1, diagonal: true }],
  ['D = 1 diagonal, K = 3, weights, chunks of 5 points', { n: 203, d: 1, k: 3, diagonal: true, weights: true, maxChunkPoints: 5 }],
  ['D = 5 diagonal, K = 16 (two components per invocation), weights, n % 4 = 2', { n: 4002, d: 5, k: 16, diagonal: true, weights: true }],
  ['D = 32 diagonal, K = 1, n % 4 = 3', { n: 1003, d: 32, k: 1, diagonal: true }],
  ['D = 32 diagonal, K = 13, weights, chunks of 333 (n % 4 = 1 per chunk)', { n: 2000, d: 32, k: 13, diagonal: true, weights: true, maxChunkPoints: 333 }],
  ['D = 7 diagonal, K = 9, far outliers (every density underflows)', { n: 2001, d: 7, k: 9, diagonal: true, outliers: true }],
  ['D = 5 diagonal, K = 16, weights, far outliers, chunks of 997', { n: 3001, d: 5, k: 16, diagonal: true, weights: true, outliers: true, maxChunkPoints: 997 }],
  // The E-step + statistics pair, with and without subgroups (stats-*-subgroup.wgsl load SG points
  // at a time, one per lane, and mask the points past a range's end; K rounds up to whole
  // subgroups of lanes): several statistics tiles, K beyond a subgroup and odd, ranges and chunks
  // that end inside a step of SG points, fewer points than one step, zero weights, outliers.
  ['D = 9 full, K = 17, weights, chunks of 333', { n: 1001, d: 9, k: 17, diagonal: false, weights: true, maxChunkPoints: 333 }],
  ['D = 9 full, K = 3, chunks of 5 points', { n: 203, d: 9, k: 3, diagonal: false, maxChunkPoints: 5 }],
  ['D = 16 full, K = 33, far outliers, n % 4 = 2', { n: 2002, d: 16, k: 33, diagonal: false, outliers: true }],
  ['D = 32 full, K = 1, n = 3', { n: 3, d: 32, k: 1, diagonal: false }],
  ['D = 32 full, K = 16, weights, n % 4 = 3', { n: 1003, d: 32, k: 16, diagonal: false, weights: true }],
  ['D = 64 full, K = 3, weights, far outliers, chunks of 500', { n: 1501, d: 64, k: 3, diagonal: false, weights: true, outliers: true, maxChunkPoints: 500 }],
  ['D = 9 diagonal, K = 17, far outliers, n % 4 = 1', { n: 1001, d: 9, k: 17, diagonal: true, outliers: true }],
  ['D = 12 diagonal, K = 3, n = 6', { n: 6, d: 12, k: 3, diagonal: true }],
  ['D = 16 diagonal, K = 33, weights, chunks of 777', { n: 2001, d: 16, k: 33, diagonal: true, weights: true, maxChunkPoints: 777 }],
  ['D = 40 diagonal, K = 1, n = 5', { n: 5, d: 40, k: 1, diagonal: true }],
  ['D = 64 diagonal, K = 8, weights, far outliers, n % 4 = 3', { n: 2003, d: 64, k: 8, diagonal: true, weights: true, outliers: true }],
  // The diagonal E-step walks dimensions outside components from D = 45 (K ≤ 32), and not beyond.
  ['D = 52 diagonal, K = 3, n = 7, chunks of 5 points', { n: 7, d: 52, k: 3, diagonal: true, maxChunkPoints: 5 }],
  ['D = 48 diagonal, K = 33, weights, chunks of 600', { n: 1801, d: 48, k: 33, diagonal: true, weights: true, maxChunkPoints: 600 }],
  // A large model: parameters in storage (878 KiB), and under a GPU's geometry one reduction
  // workgroup per statistics vec4, 81 600: more than one dispatch row of 65 535 holds.
  ['D = 64 full, K = 100 (81 600 reduction workgroups: two rows)', { n: 403, d: 64, k: 100, diagonal: false }],
  // Parameters in storage, staged in workgroup memory under a GPU's geometry: blocks that end
  // past the chunk (n % 4 = 1, chunks of 500), observation weights, both covariance types.
  ['D = 64 full, K = 8, weights, n % 4 = 1, chunks of 500 (parameters in storage)', { n: 1501, d: 64, k: 8, diagonal: false, weights: true, maxChunkPoints: 500 }],
  ['D = 64 diagonal, K = 130, n % 4 = 2 (parameters in storage)', { n: 2602, d: 64, k: 130, diagonal: true }],
  // Diagonal beyond 64 dimensions: the E-step walks dimensions outside components (K ≤ 32) or reads
  // each point's blocks from storage per component (K > 32); parameters in storage at D = 257.
  ['D = 100 diagonal, K = 8, weights, far outliers, n % 4 = 3', { n: 1003, d: 100, k: 8, diagonal: true, weights: true, outliers: true }],
  ['D = 70 diagonal, K = 40, weights, chunks of 500', { n: 1201, d: 70, k: 40, diagonal: true, weights: true, maxChunkPoints: 500 }],
  ['D = 257 diagonal, K = 33, n % 4 = 1 (parameters in storage: 67.5 KiB)', { n: 801, d: 257, k: 33, diagonal: true }],
  // Under a GPU's geometry, more statistics partials than the reduction's 64 lanes per output
  // (313 point ranges: lanes add four or five each before the tree).
  ['D = 4 full, K = 6, weights, n = 20 001', { n: 20001, d: 4, k: 6, diagonal: false, weights: true }],
  // A geometry whose caps bind at small n (tests' own): 70 point ranges (chunks of 7777: 128
  // points each, the last 9 empty; 20 001 points whole: 288 each), three E-step workgroups that
  // walk their points in a grid-stride loop, and a reduction whose lanes add one or two partials.
  ['D = 13 full, K = 5, chunks of 7777, capped geometry', { n: 20003, d: 13, k: 5, diagonal: false, maxChunkPoints: 7777, geometry: { statsPointsPerGroup: 32, maxStatsGroups: 70, estepIterations: 1, maxEstepGroups: 3, wideReduce: true, stageParams: true } }],
  ['D = 6 diagonal, K = 9, weights, capped geometry', { n: 20001, d: 6, k: 9, diagonal: true, weights: true, geometry: { statsPointsPerGroup: 32, maxStatsGroups: 70, estepIterations: 1, maxEstepGroups: 3, wideReduce: true, stageParams: true } }],
];

describe.skipIf(!GPU_AVAILABLE)('WebGPU kernel paths, one pass against the CPU', () => {
  it.each(PASS_CASES)('%s', async (_name, c) => {
    const data = blobs(c.n, c.d, c.k, 7 * c.n + c.d, 5);
    const weights = c.weights ? Float64Array.from({ length: c.n }, (_, i) => (i % 7 === 3 ? 0 : 0.25 + (i % 5))) : null;
    const start = await roughStart(data, c.k, c.diagonal);
    if (c.outliers) {
      // Points added after the start was fitted, ~1e2–1e3 standard deviations from every
      // component: log-densities far below float32's exp range, so only the max-shifted
      // log-sum-exp keeps them.
      for (let i = 0; i < c.n; i += 97) for (let j = 0; j < c.d; j++) data.data[i * c.d + j] = (i % 2 ? 1 : -1) * (300 + i + 10 * j);
    }
    const params = mixtureParams(start);
    const ds = { data: data.data, n: c.n, d: c.d };
    const cpu = await new CpuBackend(ds, weights).pass(params);
    const expected = moments(cpu, params, c.k, c.d, c.diagonal);
    const handle = (await acquireGpu())!;
    const kernels: string[] = [];
    // The default (fused where it applies), the pair with subgroups where the device has them, and
    // the pair without subgroup operations (as on a device without them); then all three with the
    // dispatch geometry of the other kind of adapter (a GPU's many short point ranges on
    // lavapipe, and the reverse).
    const otherGeometry = c.geometry ?? (handle.hostMemory ? HARDWARE_GEOMETRY : SOFTWARE_GEOMETRY);
    const variants = [{}, { fused: false }, { subgroups: false }];
    for (const variant of [...variants, ...variants.map((v) => ({ ...v, geometry: otherGeometry }))]) {
      const backend = await WebGpuBackend.create(handle, ds, weights, {
        k: c.k, covarianceType: c.diagonal ? 'diagonal' : 'full', maxChunkPoints: c.maxChunkPoints, ...variant,
      });
      try {
        backend.profile = {};
        const r = await backend.pass(params);
        kernels.push(Object.keys(backend.profile).join('+'));
        const path = `${kernels.at(-1)}${'subgroups' in variant ? ', no subgroups' : ''}${'geometry' in variant ? ", the other adapter's geometry" : ''}`;
        const got = moments(r, params, c.k, c.d, c.diagonal);
        expect(relErr(r.logLikelihood, cpu.logLikelihood), `log-likelihood (${path})`).toBeLessThan(1e-5);
        expect(r.zeroLikelihoodPoints).toBe(cpu.zeroLikelihoodPoints);
        expect(maxRelErr(r.stats.nk, cpu.stats.nk), `N_k (${path})`).toBeLessThan(1e-4);
        // Moments of components that hold a share of the points (a component with N_k ~ 1e-100
        // in float64 has none in float32, and no mean to compare).
        const total = cpu.stats.nk.reduce((a, b) => a + b, 0);
        const per = c.diagonal ? c.d : packedSize(c.d);
        for (let j = 0; j < c.k; j++) {
          if (cpu.stats.nk[j]! < 1e-6 * total) continue;
          const at = (v: Float64Array, m: number) => v.subarray(j * m, (j + 1) * m);
          expect(maxRelErr(at(got.mean, c.d), at(expected.mean, c.d)), `mean ${j} (${path})`).toBeLessThan(1e-4);
          expect(maxRelErr(at(got.cov, per), at(expected.cov, per)), `covariance ${j} (${path})`).toBeLessThan(1e-3);
        }
      } finally {
        backend.dispose();
      }
    }
    // Both paths ran: the fused kernel where the device has subgroups of at least K/2 lanes and
    // D ≤ 8 (full) or ≤ 32 (diagonal).
    const fusable = 2 * handle.subgroupMinSize >= c.k && c.d <= (c.diagonal ? 32 : 8);
    const pair = 'estep+stats+reduce';
    expect(kernels).toEqual([fusable ? 'fused+reduce' : pair, pair, pair, fusable ? 'fused+reduce' : pair, pair, pair]);
  });
});

describe.skipIf(!GPU_AVAILABLE)('WebGPU: data far from the origin', () => {
  it('one pass at 1e8 from the origin, spread 1, gives the CPU\'s means (the points are centred on upload), on both kernel paths', async () => {
    // Uncentred, float32 holds 1e8 to ±4: the means came out 2σ off (a mutation audit).
    const n = 4000, d = 2, off = 1e8;
    const rng = new Rng(2);
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      data[i * d] = off + (i % 2 ? 4 : 0) + rng.nextNormal();
      data[i * d + 1] = off + rng.nextNormal();
    }
    const model = new GaussianMixture({ weights: [0.5, 0.5], means: [[off, off], [off + 4, off]], covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] });
    const params = mixtureParams(model);
    const cpu = await new CpuBackend({ data, n, d }, null).pass(params);
    for (const variant of [{}, { fused: false }]) {
      const backend = await WebGpuBackend.create((await acquireGpu())!, { data, n, d }, null, { k: 2, covarianceType: 'full', ...variant });
      try {
        const r = await backend.pass(params);
        for (let c = 0; c < 2; c++) {
          for (let j = 0; j < d; j++) {
            const gpuMean = r.stats.sums[c * d + j]! / r.stats.nk[c]! + r.stats.shift![c * d + j]!;
            const cpuMean = cpu.stats.sums[c * d + j]! / cpu.stats.nk[c]! + params.means[c * d + j]!;
            expect(Math.abs(gpuMean - cpuMean), `${JSON.stringify(variant)} component ${c}, feature ${j}`).toBeLessThan(1e-4);
          }
        }
      } finally {
        backend.dispose();
      }
    }
  });
});

describe.skipIf(!GPU_AVAILABLE)('WebGPU: diagonal covariance in 190 000 dimensions', () => {
  it('one pass against the CPU (the full-covariance row count TRI4, ~D²/8, once overflowed u32 here)', async () => {
    const n = 6, d = 190_000, k = 2;
    const rng = new Rng(4);
    const data = Float64Array.from({ length: n * d }, (_, i) => (i % d) * 1e-3 + (Math.floor(i / d) % 2) * 3 + rng.nextNormal());
    const means = new Float64Array(k * d);
    for (let j = 0; j < d; j++) means[d + j] = 3;
    const model = GaussianMixture.fromArrays('diagonal', Float64Array.from([0.5, 0.5]), means.map((v, i) => v + (i % d) * 1e-3), new Float64Array(k * d).fill(1));
    const params = mixtureParams(model);
    const ds = { data, n, d };
    const backend = await WebGpuBackend.create((await acquireGpu())!, ds, null, { k, covarianceType: 'diagonal' });
    try {
      await expectPassAsCpu(backend, ds, params);
    } finally {
      backend.dispose();
    }
  }, 120_000);
});

/** One pass of `backend` against the CPU backend's on the same points and θ: log-likelihood and N_k. */
async function expectPassAsCpu(backend: WebGpuBackend, ds: { data: Float64Array; n: number; d: number }, params: ReturnType<typeof mixtureParams>) {
  const cpu = await new CpuBackend(ds, null).pass(params);
  const r = await backend.pass(params);
  expect(relErr(r.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-5);
  expect(maxRelErr(r.stats.nk, cpu.stats.nk)).toBeLessThan(1e-4);
}

describe.skipIf(!GPU_AVAILABLE)('WebGPU: chunks as large as a storage binding holds', () => {
  it.each([[48, false], [51, true]] as const)('K = %i (diagonal: %s) over 1M × 2 points: the N×K responsibilities fill whole bindings, no more', async (k, diagonal) => {
    // 2^25 / K is not a multiple of 4 for these K: a chunk rounded up to whole vec4 lanes overran
    // the binding by a few bytes and setup failed (on a GPU with 128 MiB bindings, as lavapipe's).
    const data = blobs(1_000_000, 2, 6, 11, 8);
    const rng = new Rng(3);
    const means = Array.from({ length: k }, () => {
      const i = rng.nextInt(data.rows);
      return [data.data[2 * i]!, data.data[2 * i + 1]!];
    });
    const model = diagonal
      ? GaussianMixture.fromArrays('diagonal', new Float64Array(k).fill(1 / k), Float64Array.from(means.flat()), new Float64Array(2 * k).fill(4))
      : new GaussianMixture({ weights: new Array(k).fill(1 / k), means, covariances: means.map(() => [[4, 1], [1, 3]]) });
    const params = mixtureParams(model);
    const ds = { data: data.data, n: data.rows, d: 2 };
    const handle = (await acquireGpu())!;
    const backend = await WebGpuBackend.create(handle, ds, null, { k, covarianceType: diagonal ? 'diagonal' : 'full', fused: false });
    try {
      const bindingPoints = Math.floor(Math.min(handle.device.limits.maxStorageBufferBindingSize, handle.device.limits.maxBufferSize) / (4 * k));
      expect(backend.chunkPoints % 4).toBe(0);
      expect(backend.chunkPoints).toBeLessThanOrEqual(bindingPoints);
      if (bindingPoints < data.rows) expect(backend.chunkCount).toBeGreaterThan(1);
      await expectPassAsCpu(backend, ds, params);
    } finally {
      backend.dispose();
    }
  }, 120_000);
});

describe.skipIf(!GPU_AVAILABLE)('WebGPU kernels: zero-likelihood points', () => {
  it.each([false, true])('are counted only where their weight is positive (diagonal: %s), in every kernel', async (diagonal) => {
    // Log-densities far below the kernels' zero-likelihood threshold (−1e37): log det Σ_k = 1e38
    // (no real covariance: the float32 kernels are only given models they can evaluate, where the
    // count stays 0) and points 1e19 from every mean, beyond the fused kernels' cap on distances.
    // Every point is lost, and the count is of those with positive weight, 30 of 40.
    const n = 40, d = 2;
    const rng = new Rng(5);
    const data = Float64Array.from({ length: n * d }, (_, j) => (j % 2 ? rng.nextNormal() : 1e19 * (1 + (j % 3))));
    const weights = Float64Array.from({ length: n }, (_, i) => (i % 4 === 1 ? 0 : 0.5 + (i % 3)));
    const model = diagonal
      ? GaussianMixture.fromArrays('diagonal', Float64Array.of(0.5, 0.5), Float64Array.of(0, 0, 1, 0), Float64Array.of(1, 1, 1.5, 1))
      : new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [1, 0]], covariances: [[[1, 0], [0, 1]], [[1.5, 0.2], [0.2, 1]]] });
    const params = { ...mixtureParams(model), logDets: Float64Array.of(1e38, 1e38) };
    const positive = weights.filter((w) => w > 0).length;
    expect(positive).toBe(30);
    const handle = (await acquireGpu())!;
    for (const variant of [{}, { fused: false }, { subgroups: false }]) {
      const backend = await WebGpuBackend.create(handle, { data, n, d }, weights, { k: 2, covarianceType: diagonal ? 'diagonal' : 'full', ...variant });
      try {
        const r = await backend.pass(params);
        expect(r.zeroLikelihoodPoints, JSON.stringify(variant)).toBe(positive);
      } finally {
        backend.dispose();
      }
    }
  });
});

/**
 * One pass of `variant` (default: the fused kernel where it applies) against the CPU on the same
 * θ: the log-likelihood's error, the bound the backend reports for it, and the kernels that ran.
 */
async function llAgainstBound(data: Float64Array, n: number, d: number, model: GaussianMixture, variant: { fused?: boolean } = {}) {
  const params = mixtureParams(model);
  const ds = { data, n, d };
  const cpu = await new CpuBackend(ds, null).pass(params);
  const backend = await WebGpuBackend.create((await acquireGpu())!, ds, null, { k: model.gaussians, covarianceType: model.covarianceType, ...variant });
  try {
    backend.profile = {};
    const r = await backend.pass(params);
    return {
      error: Math.abs(r.logLikelihood - cpu.logLikelihood),
      bound: r.logLikelihoodUncertainty!,
      kernels: Object.keys(backend.profile).join('+'),
      evaluable: backend.evaluable(params),
    };
  } finally {
    backend.dispose();
  }
}

describe.skipIf(!GPU_AVAILABLE)('WebGPU log-likelihood within its reported bound', () => {
  // Data with repeated values: the per-point log-densities repeat, so float32 rounding in a long
  // running sum does not cancel. The fused kernels once summed a workgroup's 2048 points in one
  // float32 (error 1.1e-5 and 1.7e-5 of log L here, 3–4.5× the bound); the E-step kernel sums 32 at a
  // time (~1e-8). The README says measured errors stay below a tenth of the bound.
  const n = 200_000, d = 2;
  const binary = new Float64Array(n * d);
  const rng = new Rng(1);
  for (let i = 0; i < n; i++) {
    binary[i * d] = (i % 2 ? 10 : 0) + rng.nextInt(2);
    binary[i * d + 1] = rng.nextInt(2);
  }
  const repeated = new Float64Array(n * d);
  for (let i = 0; i < n; i++) repeated.set([0.1, 0.2], i * d);
  const models = {
    full: new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [10, 0]], covariances: [[[2, 0.1], [0.1, 2]], [[2.2, 0], [0, 1.9]]] }),
    diagonal: new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [10, 0]], covariances: [[2, 2], [2.2, 1.9]] }),
  };
  it.each([
    ['binary features', 'full'],
    ['binary features', 'diagonal'],
    ['one point repeated', 'full'],
    ['one point repeated', 'diagonal'],
  ] as const)('%s, N = 2e5, %s covariance: the fused kernel within a tenth of the bound', async (name, type) => {
    const r = await llAgainstBound(name === 'binary features' ? binary : repeated, n, d, models[type]);
    const handle = (await acquireGpu())!;
    expect(r.kernels).toBe(handle.subgroupMinSize > 0 ? 'fused+reduce' : 'estep+stats+reduce');
    expect(r.error, `error ${r.error}, bound ${r.bound}`).toBeLessThanOrEqual(r.bound / 10);
    // The two-kernel path (the E-step kernel's own Σ w|log p|) reports a bound as honest.
    const split = await llAgainstBound(name === 'binary features' ? binary : repeated, n, d, models[type], { fused: false });
    expect(split.kernels).toBe('estep+stats+reduce');
    expect(split.error, `two kernels: error ${split.error}, bound ${split.bound}`).toBeLessThanOrEqual(split.bound / 10);
  });

  // Strongly correlated components (ρ = 1 − 1e-7: condition number 2e7, precision factors ~2e4 in
  // the points' units) that float32 still evaluates: the rounding of the points and means, times
  // the precision factors, dominates the error of log L. The bound once ignored it (error 2× the
  // bound on both kernel paths here; 6.7× with only 50 distinct points).
  it.each([
    ['5003 distinct points', 5003],
    ['50 distinct points, each 100 times', 50],
  ])('ill-conditioned components, %s: both kernel paths within the bound', async (_name, distinct) => {
    const rho = 1 - 1e-7, n = 5003, d = 2;
    const r = new Rng(4);
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      if (i >= distinct) {
        data.set(data.subarray((i % distinct) * d, (i % distinct + 1) * d), i * d);
        continue;
      }
      const z = r.nextNormal(), c = i % 2 ? 5 : -5;
      for (let j = 0; j < d; j++) data[i * d + j] = c + z + Math.sqrt(1 - rho * rho) * r.nextNormal();
    }
    const cov = (s: number) => [[s, rho * s], [rho * s, s]];
    const model = new GaussianMixture({ weights: [0.5, 0.5], means: [[-5, -5], [5, 5]], covariances: [cov(1.0), cov(1.1)] });
    for (const variant of [{}, { fused: false }]) {
      const res = await llAgainstBound(data, n, d, model, variant);
      expect(res.evaluable).toBe(true);
      expect(res.error, `${res.kernels}: error ${res.error}, bound ${res.bound}`).toBeLessThanOrEqual(res.bound);
    }
  });
});

describe.skipIf(!GPU_AVAILABLE)('WebGPU statistics: compensated totals', () => {
  // The statistics kernels add plain float32 sums over blocks of 32 (fused diagonal: 64) points
  // into Kahan-compensated totals, and reduce.wgsl adds the workgroups' totals the same way. On
  // lavapipe the compiler once folded the compensation (u − t) − y to 0, so every total was a plain
  // float32 sum: on 1e6 points of a few repeated values (lavapipe's geometry: ~120 blocks per
  // workgroup, 256 workgroups) N_k, the means and the covariances were off by 2–7e-6, 0.6–1.6e-6
  // (of σ) and 2.8–7.2e-6 (of σ_a σ_b), on every path; with the compensation in force ≤ 1.3e-7,
  // 1.2e-7 and 3.5e-7. Each path runs under the other adapter class's geometry too (a GPU's: 4096
  // ranges of 8 blocks, partials summed by reduce.wgsl's `wide`).
  const n = 1_000_000, d = 2;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = [0.1, 0.7, 1.3][(i * 7 + j) % 3]! + (i % 2) * 0.5;
  it.each([['full', false], ['diagonal', true]] as const)('%s covariance: N_k, means and covariances of one pass, on every path', async (_name, diagonal) => {
    const k = 2;
    const cov = (s: number) => (diagonal ? [s, s] : [[s, 0.1 * s], [0.1 * s, s]]);
    const model = new GaussianMixture({ weights: [0.5, 0.5], means: [[0.6, 0.6], [1.0, 1.0]], covariances: [cov(0.3), cov(0.35)] as number[][][] | number[][] });
    const params = mixtureParams(model);
    const ds = { data, n, d };
    const cpu = await new CpuBackend(ds, null).pass(params);
    const expected = moments(cpu, params, k, d, diagonal);
    const per = diagonal ? d : packedSize(d);
    const handle = (await acquireGpu())!;
    const kernels: string[] = [];
    const otherGeometry = handle.hostMemory ? HARDWARE_GEOMETRY : SOFTWARE_GEOMETRY;
    const variants = [{}, { fused: false }, { subgroups: false }];
    for (const variant of [...variants, ...variants.map((v) => ({ ...v, geometry: otherGeometry }))]) {
      const backend = await WebGpuBackend.create(handle, ds, null, { k, covarianceType: diagonal ? 'diagonal' : 'full', ...variant });
      try {
        backend.profile = {};
        const r = await backend.pass(params);
        const kernelsRun = Object.keys(backend.profile).join('+');
        kernels.push(kernelsRun);
        const path = `${kernelsRun}${'subgroups' in variant ? ', no subgroups' : ''}${'geometry' in variant ? ", the other adapter's geometry" : ''}`;
        const got = moments(r, params, k, d, diagonal);
        for (let j = 0; j < k; j++) {
          // σ_a² of component j (the float64 covariance's diagonal), the scale of its moments' errors.
          const variance: number[] = [];
          for (let a = 0, t = 0; a < d; t += diagonal ? 1 : d - a, a++) variance.push(expected.cov[j * per + t]!);
          const errN = Math.abs(r.stats.nk[j]! - cpu.stats.nk[j]!) / cpu.stats.nk[j]!;
          let errMean = 0, errCov = 0;
          for (let a = 0, t = 0; a < d; a++) {
            errMean = Math.max(errMean, Math.abs(got.mean[j * d + a]! - expected.mean[j * d + a]!) / Math.sqrt(variance[a]!));
            for (let b = a; b < (diagonal ? a + 1 : d); b++, t++) {
              errCov = Math.max(errCov, Math.abs(got.cov[j * per + t]! - expected.cov[j * per + t]!) / Math.sqrt(variance[a]! * variance[b]!));
            }
          }
          expect.soft(errN, `N_${j} (${path})`).toBeLessThan(5e-7);
          expect.soft(errMean, `mean ${j}, in σ (${path})`).toBeLessThan(3e-7);
          expect.soft(errCov, `covariance ${j}, in σ_a σ_b (${path})`).toBeLessThan(1e-6);
        }
      } finally {
        backend.dispose();
      }
    }
    const fused = handle.subgroupMinSize > 0;
    const paths = [fused ? 'fused+reduce' : 'estep+stats+reduce', 'estep+stats+reduce', 'estep+stats+reduce'];
    expect(kernels).toEqual([...paths, ...paths]);
  });
});

describe.skipIf(!GPU_AVAILABLE)('WebGPU dispatch geometry overrides', () => {
  it('are checked: counts from 1 to 65535 (a dispatch dimension), wideReduce a boolean', async () => {
    const handle = (await acquireGpu())!;
    const ds = { data: new Float64Array(40).map((_, i) => i % 7), n: 20, d: 2 };
    for (const geometry of [{ maxStatsGroups: 0 }, { statsPointsPerGroup: 1.5 }, { maxEstepGroups: 65536 }, { wideReduce: 1 as unknown as boolean }]) {
      await expect(WebGpuBackend.create(handle, ds, null, { k: 2, covarianceType: 'full', geometry })).rejects.toThrow(/geometry\.\w+ must be/);
    }
    // An explicit undefined keeps the adapter's value.
    const backend = await WebGpuBackend.create(handle, ds, null, { k: 2, covarianceType: 'full', geometry: { maxStatsGroups: undefined as unknown as number } });
    expect(backend.geometry).toEqual(handle.hostMemory ? SOFTWARE_GEOMETRY : HARDWARE_GEOMETRY);
    backend.dispose();
  });
});

describe.skipIf(!GPU_AVAILABLE)('WebGPU: uploads by queue writes, and a timed pass without readback', () => {
  it('points written in several slices, with a count not a multiple of 4, give the CPU\'s pass', async () => {
    // 262 147 × 20: 80 bytes a point in the kernels' layout, 21 MB, so two 16 MiB slices.
    const data = blobs(262_147, 20, 3, 17, 6);
    const k = 3;
    const model = GaussianMixture.fromArrays('diagonal', new Float64Array(k).fill(1 / k), data.data.slice(0, k * 20), new Float64Array(k * 20).fill(9));
    const params = mixtureParams(model);
    const ds = { data: data.data, n: data.rows, d: 20 };
    const backend = await WebGpuBackend.create((await acquireGpu())!, ds, null, { k, covarianceType: 'diagonal' });
    try {
      const cpu = await new CpuBackend(ds, null).pass(params);
      const r = await backend.pass(params);
      expect(relErr(r.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-5);
      expect(maxRelErr(r.stats.nk, cpu.stats.nk)).toBeLessThan(1e-4);
      expect(maxRelErr(r.stats.sums, cpu.stats.sums)).toBeLessThan(1e-4);
    } finally {
      backend.dispose();
    }
  }, 60_000);

  it('timePass leaves the backend as it was: the next pass gives a fresh backend\'s bits', async () => {
    const data = blobs(5003, 5, 4, 23, 5);
    const k = 4;
    const model = new GaussianMixture({ weights: [0.25, 0.25, 0.25, 0.25], means: [0, 1, 2, 3].map((c) => Array.from(data.data.subarray(c * 5, c * 5 + 5))), covariances: [0, 1, 2, 3].map(() => [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? 4 : 0.5)))) });
    const params = mixtureParams(model);
    const ds = { data: data.data, n: data.rows, d: 5 };
    const handle = (await acquireGpu())!;
    const timed = await WebGpuBackend.create(handle, ds, null, { k, covarianceType: 'full' });
    const fresh = await WebGpuBackend.create(handle, ds, null, { k, covarianceType: 'full' });
    try {
      await timed.timePass(params);
      const a = await timed.pass(params);
      const b = await fresh.pass(params);
      expect(a.logLikelihood).toBe(b.logLikelihood);
      expect(Array.from(a.stats.scatter)).toEqual(Array.from(b.stats.scatter));
    } finally {
      timed.dispose();
      fresh.dispose();
    }
  });

  it('setup and timePass detach no ArrayBuffer; a pass\'s readback does (V8 then slows every typed-array loop)', () => {
    // V8 reports when the first detached ArrayBuffer invalidates its ArrayBufferDetaching protector.
    const script = `
      import { acquireGpu, setGpuProvider } from './dist/backends/webgpu/device.js';
      import { nodeGpuProvider } from './dist/backends/webgpu/node-gpu.js';
      import { WebGpuBackend } from './dist/backends/webgpu/webgpu-backend.js';
      import { GaussianMixture } from './dist/model/gaussian-mixture.js';
      import { mixtureParams } from './dist/train/em.js';
      setGpuProvider(nodeGpuProvider);
      const gpu = await acquireGpu();
      const data = Float64Array.from({ length: 4000 }, (_, i) => Math.sin(i));
      const params = mixtureParams(new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [0.5, 0.5]], covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] }));
      const backend = await WebGpuBackend.create(gpu, { data, n: 2000, d: 2 }, null, { k: 2, covarianceType: 'full' });
      await backend.timePass(params);
      console.log('TIMED');
      await backend.pass(params);
      console.log('PASSED');
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--trace-protector-invalidation', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const out = r.stdout + r.stderr;
    const detached = out.indexOf('Invalidating protector cell ArrayBufferDetaching');
    expect(out.indexOf('TIMED'), out).toBeGreaterThan(-1);
    expect(out.indexOf('PASSED'), out).toBeGreaterThan(out.indexOf('TIMED'));
    expect(detached, out).toBeGreaterThan(out.indexOf('TIMED'));
    expect(detached, out).toBeLessThan(out.indexOf('PASSED'));
  }, 60_000);
});
