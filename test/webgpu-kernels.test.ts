// The WebGPU kernels' shape-dependent paths against the float64 CPU reference, a few EM
// iterations from the same start: many components (K > 32: log-densities through global memory,
// several statistics workgroups along z beyond 256), several statistics tiles (D = 13: blocks
// 0..3 with a partial last one), point counts that are not multiples of 4, and chunks that split
// statistics ranges unevenly.
import { describe, it, expect } from 'vitest';
import { train, type TrainOptions } from '../src/index.js';
import { Rng } from '../src/util/rng.js';
import { relErr, maxRelErr } from './helpers.js';
import { GPU_AVAILABLE } from './gpu.js';
import { featureScales, scaledData } from '../src/train/feature-scale.js';
import { kmeans } from '../src/train/kmeans.js';
import { modelFromAssignments } from '../src/train/initialize.js';
import { DEFAULT_MAX_CONDITION, DEFAULT_VARIANCE_FLOOR } from '../src/train/constraints.js';

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
  const initial = modelFromAssignments({ data: data.data, n, d }, null, km.assignments, k, {
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
    expect(lls.webgpu.length).toBe(lls.cpu.length);
    lls.webgpu.forEach((v, i) => expect(relErr(v, lls.cpu[i]!), `iteration ${i}`).toBeLessThan(1e-5));
    const g = gpu.model, m = cpu.model, per = g.covariances.length / c.k;
    expect(maxRelErr(g.weights, m.weights)).toBeLessThan(1e-3);
    for (let j = 0; j < c.k; j++) {
      expect(maxRelErr(g.means.subarray(j * c.d, (j + 1) * c.d), m.means.subarray(j * c.d, (j + 1) * c.d)), `mean ${j}`).toBeLessThan(1e-3);
      expect(maxRelErr(g.covariances.subarray(j * per, (j + 1) * per), m.covariances.subarray(j * per, (j + 1) * per)), `covariance ${j}`).toBeLessThan(1e-3);
    }
  });
});
