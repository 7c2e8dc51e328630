// The WebGPU backend against the float64 CPU reference (same data, same start), its determinism,
// chunking, cancellation and backend selection.
import { describe, it, expect } from 'vitest';
import { train, gpuIdle, GaussianMixture, type TrainOptions } from '../src/index.js';
import { Rng } from '../src/util/rng.js';
import { sampleMixture, relErr, maxRelErr, rainy } from './helpers.js';
import { GPU_AVAILABLE } from './gpu.js';
import { acquireGpu, setGpuProvider } from '../src/backends/webgpu/device.js';
import { nodeGpuProvider } from '../src/backends/webgpu/node-gpu.js';
import { WebGpuBackend, cachedPipeline, PIPELINE_CACHE_SIZE, streamsPoints } from '../src/backends/webgpu/webgpu-backend.js';
import { float64IterationCost } from '../src/backends/backend.js';
import { toDataset } from '../src/data.js';
import { mixtureParams } from '../src/train/em.js';

function dataset(n: number, seed: number) {
  // Four overlapping 5-D components with correlations: D not a multiple of 4, K ≠ D.
  const rng = new Rng(seed);
  const means = [[0, 0, 0, 0, 0], [3, 1, -2, 0, 1], [-2, 4, 1, 2, -1], [1, -3, 3, -2, 2]];
  const chol = means.map(() => Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (j < i ? 0.4 * rng.nextNormal() : j === i ? 0.6 + rng.nextFloat() : 0))));
  return sampleMixture(rng, n, [0.4, 0.3, 0.2, 0.1], means, chol).data;
}

async function trace(data: Parameters<typeof train>[0], options: TrainOptions) {
  const lls: number[] = [];
  const models: GaussianMixture[] = [];
  const result = await train(data, {
    ...options,
    onIteration: (i) => {
      lls.push(i.logLikelihood);
      models.push(i.model);
    },
  });
  return { result, lls, models };
}

function expectClose(gpu: Awaited<ReturnType<typeof trace>>, cpu: Awaited<ReturnType<typeof trace>>) {
  expect(gpu.result.backend).toBe('webgpu');
  expect(cpu.result.backend).toBe('cpu');
  // With tolerance 0 the float32 run may stop early at an exact float32 fixed point (Δ log L = 0).
  expect(gpu.lls.length).toBeGreaterThan(10);
  expect(gpu.lls.length).toBeLessThanOrEqual(cpu.lls.length);
  gpu.lls.forEach((v, i) => expect(relErr(v, cpu.lls[i]!), `iteration ${i}`).toBeLessThan(1e-5));
  // Compare the models of the same iteration.
  const g = gpu.result.model, c = cpu.models[gpu.lls.length - 1]!;
  expect(maxRelErr(g.weights, c.weights)).toBeLessThan(1e-3);
  const k = g.gaussians, d = g.dimensionality, per = g.covariances.length / k;
  for (let j = 0; j < k; j++) {
    expect(maxRelErr(g.means.subarray(j * d, (j + 1) * d), c.means.subarray(j * d, (j + 1) * d))).toBeLessThan(1e-3);
    expect(maxRelErr(g.covariances.subarray(j * per, (j + 1) * per), c.covariances.subarray(j * per, (j + 1) * per))).toBeLessThan(1e-3);
  }
}

describe.skipIf(!GPU_AVAILABLE)('WebGPU backend', () => {
  const data = dataset(8000, 1);

  it('auto measures both backends: WebGPU for a large problem, the CPU for a tiny one', async () => {
    // 200k × 5, K = 8 full: a WebGPU pass is several times faster than the CPU's even on lavapipe.
    const large = dataset(200_000, 4);
    const r = await train(large, { gaussians: 8, seed: 3, maxIterations: 1, kmeansMaxIterations: 2 });
    expect(r.backend).toBe('webgpu');
    expect(r.adapter).toMatch(/\S/);
    // 40 points: the CPU pass takes microseconds, a GPU dispatch and readback at least ~100 µs.
    const tiny = dataset(40, 5);
    const t = await train(tiny, { gaussians: 2, seed: 3, maxIterations: 2 });
    expect(t.backend).toBe('cpu');
    expect(t.warnings.join('\n')).toMatch(/using the CPU backend: the problem is small/);
    // 20 000 points (1.6e6 multiply-adds per pass): both are timed; whichever wins, it says why.
    const mid = await train(dataset(20_000, 6), { gaussians: 2, seed: 3, maxIterations: 1 });
    if (mid.backend === 'cpu') {
      expect(mid.warnings.join('\n')).toMatch(/using the CPU backend: one E-step pass measured \S+ ms on the CPU \(estimated from \d+ points\) against \S+ ms on WebGPU/);
    } else {
      expect(mid.adapter).toMatch(/\S/);
    }
  });

  it("auto keeps the CPU where the M-step outweighs the pass (few points in many dimensions), without building WebGPU", async () => {
    // 1400 × 64, K = 2 full: a pass of 1.2e7 multiply-adds against M-steps of 4.2e6 — a float64
    // iteration costs at most 4 float32 ones on any adapter (float64IterationCost: 3.2 on a
    // software one, 3.7 on a hardware GPU), and WebGPU would finish in float64 anyway.
    const rng = new Rng(21);
    const wide = { data: Float64Array.from({ length: 1400 * 64 }, (_, i) => (i % 64) + rng.nextNormal() + (Math.floor(i / 64) % 2) * 5), rows: 1400, cols: 64 };
    const r = await train(wide, { gaussians: 2, seed: 3, maxIterations: 2 });
    expect(r.backend).toBe('cpu');
    expect(r.warnings.join('\n')).toMatch(/using the CPU backend: with 1400 points in 64 dimensions the M-step outweighs the E-step/);
    // Asked for by name, WebGPU runs it.
    expect((await train(wide, { gaussians: 2, seed: 3, maxIterations: 2, backend: 'webgpu' })).backend).toBe('webgpu');
    // 1797 points (the digits' shape): 3.7 on a software adapter, 4.5 on a hardware GPU — decided
    // once the adapter is known: the CPU on a software one, the usual timing on a GPU.
    const digitsShape = { data: Float64Array.from({ length: 1797 * 64 }, (_, i) => (i % 64) + rng.nextNormal() + (Math.floor(i / 64) % 2) * 5), rows: 1797, cols: 64 };
    const d = await train(digitsShape, { gaussians: 2, seed: 3, maxIterations: 2 });
    if ((await acquireGpu())!.hostMemory) {
      expect(d.backend).toBe('cpu');
      expect(d.warnings.join('\n')).toMatch(/with 1797 points in 64 dimensions the M-step outweighs the E-step, so an iteration on WebGPU \(.+\) would be at most 3\.7× faster/);
    } else {
      expect(d.warnings.join('\n')).not.toMatch(/M-step outweighs/);
    }
  });

  it('a warm start far from the data: the pass float32 cannot resolve runs in float64, and the fit follows the CPU\'s', async () => {
    // Means 1e6 from points of spread 1, variances 1e-3: log-densities ~ −5e14, whose differences
    // float32 cannot see. Its first M-step from noise took 98 iterations to recover (CPU: 6), and
    // with noForcePositive made a singular covariance the CPU never had.
    const rng = new Rng(5);
    const points = Array.from({ length: 300 }, (_, i) => [(i % 3) * 5 + rng.nextNormal(), (i % 3) * 6 + rng.nextNormal()]);
    const inputModel = new GaussianMixture({ weights: [0.3, 0.3, 0.4], means: [[1e6, 0], [1e6, 6], [1e6, 12]], covariances: [[1e-3, 1e-3], [1e-3, 1e-3], [1e-3, 1e-3]] });
    const opts: TrainOptions = { gaussians: 3, inputModel, noForcePositive: true, covarianceConstraint: 'mlpack' };
    const cpu = await train(points, { ...opts, backend: 'cpu' });
    const ranOn: string[] = [];
    const gpu = await train(points, { ...opts, backend: 'webgpu', onIteration: (i) => void ranOn.push(i.backend) });
    expect(gpu.backend).toBe('webgpu');
    // The redone pass is reported as the CPU's, which ran it.
    expect(ranOn[0]).toBe('cpu');
    expect(gpu.iterations).toBe(cpu.iterations);
    expect(relErr(gpu.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-9);
    expect(gpu.trials[0]!.float64Passes).toBeGreaterThan(0);
  });

  it.each([false, true])('matches the CPU reference from the same start (diagonal=%s)', async (diagonalCovariance) => {
    const start = (await train(data, { gaussians: 4, seed: 5, maxIterations: 1, backend: 'cpu', diagonalCovariance })).model;
    const opts: TrainOptions = { gaussians: 4, inputModel: start, diagonalCovariance, maxIterations: 25, tolerance: 0 };
    expectClose(await trace(data, { ...opts, backend: 'webgpu' }), await trace(data, { ...opts, backend: 'cpu' }));
  }, 60_000);

  it('matches the CPU reference with observation weights', async () => {
    const rng = new Rng(9);
    const weights = Array.from({ length: data.rows }, () => (rng.nextFloat() < 0.1 ? 0 : 0.5 + 2 * rng.nextFloat()));
    const start = (await train(data, { gaussians: 4, seed: 5, maxIterations: 1, backend: 'cpu' })).model;
    const opts: TrainOptions = { gaussians: 4, inputModel: start, observationWeights: weights, maxIterations: 20, tolerance: 0 };
    expectClose(await trace(data, { ...opts, backend: 'webgpu' }), await trace(data, { ...opts, backend: 'cpu' }));
  }, 60_000);

  it.each([
    ['huge and tiny features, huge weights', 2 ** 130, 2 ** -110, 2 ** 140],
    ['tiny and huge features, tiny weights', 2 ** -120, 2 ** 125, 2 ** -140],
  ])('matches the CPU reference on values float32 cannot hold (%s)', async (_, big, small, weightScale) => {
    // Feature 0 beyond float32's range (±3.4e38) or below its normal range (1.2e-38), feature 1 the
    // other way, weights likewise: the upload's power-of-two units must bring all of them in range.
    const scaled = Float64Array.from(data.data, (v, i) => (i % data.cols === 0 ? v * big : i % data.cols === 1 ? v * small : v));
    const input = { data: scaled, rows: data.rows, cols: data.cols };
    const rng = new Rng(12);
    const weights = Array.from({ length: data.rows }, () => (0.5 + 2 * rng.nextFloat()) * weightScale);
    for (const diagonalCovariance of [false, true]) {
      const start = (await train(input, { gaussians: 4, seed: 5, maxIterations: 1, backend: 'cpu', diagonalCovariance, observationWeights: weights })).model;
      const opts: TrainOptions = { gaussians: 4, inputModel: start, diagonalCovariance, observationWeights: weights, maxIterations: 15, tolerance: 0 };
      expectClose(await trace(input, { ...opts, backend: 'webgpu' }), await trace(input, { ...opts, backend: 'cpu' }));
    }
  }, 120_000);

  it('weights float32 cannot hold next to the largest: trains, and the warning says they count as 0 there', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => [(i % 2) * 5 + Math.sin(i), Math.cos(3 * i)]);
    const r = await train(rows, { gaussians: 2, seed: 1, backend: 'webgpu', maxIterations: 2, observationWeights: rows.map((_, i) => (i < 2 ? 1 : 1e-200)) });
    expect(r.backend).toBe('webgpu');
    expect(r.warnings.join('\n')).toMatch(/198 observation weights are positive but below 2\^-126 of the largest.*on WebGPU those points count as weight 0 \(backend 'cpu' keeps them\)/);
  }, 60_000);

  it('a change float32 cannot resolve is not convergence: EM goes on as the float64 backend does', async () => {
    // Two point masses of 20k points and 10k scattered ones: |log L| ≈ 6e5, where the default
    // tolerance is below float64's resolution too. float32 log-likelihoods tie long before the
    // model stops moving (it used to report "converged" after 9 iterations, 15 nats short).
    const rng = new Rng(31);
    const n = 50_000;
    const pts = new Float64Array(2 * n);
    for (let i = 40_000; i < n; i++) {
      pts[2 * i] = 5 + 3 * rng.nextNormal();
      pts[2 * i + 1] = 5 + 3 * rng.nextNormal();
    }
    for (let i = 20_000; i < 40_000; i++) pts[2 * i] = pts[2 * i + 1] = 1;
    const input = { data: pts, rows: n, cols: 2 };
    const opts: TrainOptions = { gaussians: 4, seed: 7, maxIterations: 60 };
    const gpu = await train(input, { ...opts, backend: 'webgpu' });
    const cpu = await train(input, { ...opts, backend: 'cpu' });
    expect(gpu.converged).toBe(cpu.converged);
    expect(gpu.iterations).toBe(cpu.iterations);
    expect(relErr(gpu.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-6);
  }, 120_000);

  it('well-separated clusters: a float64 probe finds the exact fixed point the CPU stops at (not 3000 float32 iterations)', async () => {
    // |log L| ≈ 2.4e5: the default tolerance is below float64's resolution, so float32 cannot
    // decide; the CPU converges at once (every responsibility exactly 0 or 1). With 3000 iterations
    // allowed the probe is worth its cost on any adapter (see referencePassCost).
    const rng = new Rng(4);
    const n = 60_000;
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      data[2 * i] = 100 * c + rng.nextNormal();
      data[2 * i + 1] = -100 * c + rng.nextNormal();
    }
    const input = { data, rows: n, cols: 2 };
    const gpu = await train(input, { gaussians: 3, seed: 1, backend: 'webgpu', maxIterations: 3000 });
    const cpu = await train(input, { gaussians: 3, seed: 1, backend: 'cpu', maxIterations: 3000 });
    expect(cpu.converged).toBe(true);
    expect(gpu.converged).toBe(true);
    expect(gpu.iterations).toBeLessThan(20);
    expect(gpu.trials[0]!.float64Passes).toBeGreaterThan(0);
    expect(relErr(gpu.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-12);
  }, 120_000);

  it('small data asked onto WebGPU: a device round trip per pass makes float64 iterations cheap, and the run is the CPU backend’s', async () => {
    // 12 000 × 2, K = 3 (|log L| ≈ 2.1e5, beyond float64's resolution of the tolerance): a pass of
    // 3.6e5 multiply-adds, which the device's round trip outweighs — a float64 iteration costs at
    // most 4 float32 ones on any adapter, so the trial finishes (here: starts again) in float64.
    // Without the round trip in the cost (a float64 iteration of ≈ 16 or 225 float32 ones) it
    // stayed in float32: 40 iterations, stopped where float32 repeats itself (with repeated
    // probes, 29, ended by one).
    for (const c of WebGpuBackend.everyDeviceCosts) expect(float64IterationCost(12_000, 3, 2, 'full', c.referencePassCost, c.passOverhead)).toBeLessThanOrEqual(4);
    const rng = new Rng(5);
    const n = 12_000;
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < 2; j++) data[2 * i + j] = 1000 * (4 * (i % 3 === j + 1 ? 1 : 0) + rng.nextNormal());
    const input = { data, rows: n, cols: 2 };
    const gpu = await train(input, { gaussians: 3, seed: 2, backend: 'webgpu' });
    const cpu = await train(input, { gaussians: 3, seed: 2, backend: 'cpu' });
    expect(cpu.converged).toBe(true);
    expect(gpu.converged).toBe(true);
    expect(gpu.iterations).toBe(cpu.iterations);
    expect(gpu.logLikelihood).toBe(cpu.logLikelihood);
    expect(Array.from(gpu.model.covariances)).toEqual(Array.from(cpu.model.covariances));
    // Its log-likelihood is float64's (and says so); a run that stays in float32 says that.
    expect([gpu.backend, gpu.logLikelihoodBackend, cpu.logLikelihoodBackend]).toEqual(['webgpu', 'cpu', 'cpu']);
    const float32 = await train(input, { gaussians: 3, seed: 2, backend: 'webgpu', tolerance: 0, maxIterations: 5 });
    expect(float32.logLikelihoodBackend).toBe('webgpu');
  }, 120_000);

  it("a component collapsing onto duplicated points under mlpack's floor keeps its points (θ built from float64 statistics)", async () => {
    // Half the points on (1, 2), half scattered: the float32 statistics put the collapsing
    // component's mean 3e-8 off, beyond its 1e-17 variance; it lost every point (weight 0).
    const rng = new Rng(3);
    const n = 20_000;
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      if (i % 2) {
        data[2 * i] = 1;
        data[2 * i + 1] = 2;
      } else {
        data[2 * i] = 2 * rng.nextNormal();
        data[2 * i + 1] = 2 * rng.nextNormal();
      }
    }
    const opts: TrainOptions = { gaussians: 3, seed: 1, covarianceConstraint: 'mlpack', maxIterations: 100 };
    const gpu = await train({ data, rows: n, cols: 2 }, { ...opts, backend: 'webgpu' });
    const cpu = await train({ data, rows: n, cols: 2 }, { ...opts, backend: 'cpu' });
    expect(Math.min(...gpu.model.weights)).toBeGreaterThan(0.1);
    expect(maxRelErr(gpu.model.weights, cpu.model.weights)).toBeLessThan(1e-6);
    expect(relErr(gpu.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-6);
  }, 120_000);

  it.each([
    ['full', false],
    ['diagonal', true],
  ])("models float32 cannot evaluate (mlpack's floor on duplicated points, %s) continue in float64", async (_, diagonalCovariance) => {
    // Full: 20 copies of one 16-D point and 20 scattered ones; diagonal: 30 copies each of two
    // points. mlpack's clamp gives a point mass a variance of 1e-50, far below float32's
    // resolution of the points: the component lost its points (log L −534 against 17 774), or
    // 1/σ² overflowed float32 and the log-likelihood became NaN.
    const rng = new Rng(8);
    const rows = diagonalCovariance
      ? Array.from({ length: 60 }, (_, i) => (i < 30 ? [0, 0] : [1, 1]))
      : Array.from({ length: 40 }, (_, i) => Array.from({ length: 16 }, () => (i < 20 ? 1 : rng.nextNormal())));
    const opts: TrainOptions = { gaussians: 2, seed: diagonalCovariance ? 1 : 2, covarianceConstraint: 'mlpack', diagonalCovariance };
    const gpu = await train(rows, { ...opts, backend: 'webgpu' });
    const cpu = await train(rows, { ...opts, backend: 'cpu' });
    expect(gpu.trials[0]!.float64Passes).toBeGreaterThan(0);
    expect(relErr(gpu.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-9);
    expect(maxRelErr(gpu.model.weights, cpu.model.weights)).toBeLessThan(1e-9);
  }, 60_000);

  it('nearly collinear features: θ is built from float64 statistics, which float32 rounds past the narrowest direction', async () => {
    // Two clusters along x, a column within 1e-3 of x (correlation 1 − 5e-7 within a cluster):
    // float32 statistics moved the thin direction's variance by 5–8 % at every M-step, and the
    // WebGPU fit ended at maxIterations 25–170 nats short of the CPU's (200 000 points).
    const rng = new Rng(21);
    const n = 40_000;
    const data = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      const x = rng.nextNormal() + 3 * (i % 2);
      data.set([x, x + 1e-3 * rng.nextNormal(), rng.nextNormal()], 3 * i);
    }
    const opts: TrainOptions = { gaussians: 2, seed: 1 };
    const gpu = await train({ data, rows: n, cols: 3 }, { ...opts, backend: 'webgpu' });
    const cpu = await train({ data, rows: n, cols: 3 }, { ...opts, backend: 'cpu' });
    expect(cpu.converged).toBe(true);
    expect(gpu.converged).toBe(true);
    expect(gpu.trials[0]!.float64Passes).toBeGreaterThan(0);
    expect(relErr(gpu.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-9);
    expect(maxRelErr(gpu.model.covariances, cpu.model.covariances)).toBeLessThan(1e-6);
  }, 120_000);

  it('without the constraint (noForcePositive), a covariance float32 statistics make indefinite is built from float64 ones, as the CPU trains it', async () => {
    // y = x + 1e-4 noise: positive definite in float64 (condition number 4e8); from float32
    // statistics its smallest eigenvalue came out negative, and WebGPU failed with "not positive
    // definite … the data may be degenerate".
    const rng = new Rng(22);
    const rows = Array.from({ length: 5000 }, () => {
      const x = rng.nextNormal();
      return [x, x + 1e-4 * rng.nextNormal()];
    });
    for (const covarianceConstraint of ['mlpack', 'unit-invariant'] as const) {
      const opts: TrainOptions = { gaussians: 1, seed: 1, noForcePositive: true, covarianceConstraint };
      const gpu = await train(rows, { ...opts, backend: 'webgpu' });
      const cpu = await train(rows, { ...opts, backend: 'cpu' });
      expect(relErr(gpu.logLikelihood, cpu.logLikelihood)).toBeLessThan(1e-9);
    }
  }, 60_000);

  it('trainings at once on the shared device give what each gives alone', async () => {
    const jobs: [Parameters<typeof train>[0], TrainOptions][] = [
      [data, { gaussians: 4, seed: 3, maxIterations: 12, backend: 'webgpu' }],
      [data, { gaussians: 3, seed: 5, maxIterations: 12, backend: 'webgpu', diagonalCovariance: true }],
      [dataset(3000, 9), { gaussians: 6, seed: 1, maxIterations: 12, backend: 'webgpu' }],
    ];
    const together = await Promise.all(jobs.map(([x, o]) => train(x, o)));
    for (const [i, [x, o]] of jobs.entries()) {
      const alone = await train(x, o);
      expect(together[i]!.logLikelihood, `job ${i}`).toBe(alone.logLikelihood);
      expect(Array.from(together[i]!.model.means), `job ${i}`).toEqual(Array.from(alone.model.means));
    }
  }, 120_000);

  it('gives the same results with tiny chunks (smaller than a tile)', async () => {
    const small = dataset(1000, 2);
    const start = (await train(small, { gaussians: 3, seed: 5, maxIterations: 1, backend: 'cpu' })).model;
    const opts: TrainOptions = { gaussians: 3, inputModel: start, maxIterations: 10, tolerance: 0, backend: 'webgpu' };
    const whole = await trace(small, opts);
    const chunked = await trace(small, { ...opts, maxChunkPoints: 37 });
    chunked.lls.forEach((v, i) => expect(relErr(v, whole.lls[i]!)).toBeLessThan(1e-6));
    expect(maxRelErr(chunked.result.model.covariances, whole.result.model.covariances)).toBeLessThan(1e-4);
  }, 60_000);

  it('is deterministic: the same seed gives a bitwise identical model', async () => {
    const opts: TrainOptions = { gaussians: 4, seed: 17, trials: 2, maxIterations: 15, backend: 'webgpu' };
    const a = await train(data, opts);
    const b = await train(data, opts);
    expect(Array.from(b.model.weights)).toEqual(Array.from(a.model.weights));
    expect(Array.from(b.model.means)).toEqual(Array.from(a.model.means));
    expect(Array.from(b.model.covariances)).toEqual(Array.from(a.model.covariances));
    expect(b.logLikelihood).toBe(a.logLikelihood);
  }, 60_000);

  it('recovers a known mixture end to end (k-means start, trials)', async () => {
    const truth = new GaussianMixture({
      weights: [0.5, 0.3, 0.2],
      means: [[0, 0, 0], [8, -4, 2], [-6, 6, 8]],
      covariances: [[[1, 0.3, 0], [0.3, 1, 0], [0, 0, 0.5]], [[2, 0, 0], [0, 1, 0.4], [0, 0.4, 1]], [[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]]],
    });
    const pts = truth.sample(30_000, 8);
    const r = await train(pts, { gaussians: 3, seed: 2, trials: 3, backend: 'webgpu' });
    const order = Array.from(truth.predict({ data: r.model.means, rows: 3, cols: 3 }));
    expect(new Set(order).size).toBe(3);
    order.forEach((t, c) => {
      expect(Math.abs(r.model.weights[c]! - truth.weights[t]!)).toBeLessThan(0.01);
      for (let j = 0; j < 3; j++) expect(Math.abs(r.model.means[c * 3 + j]! - truth.means[t * 3 + j]!)).toBeLessThan(0.05);
      expect(maxRelErr(r.model.covariances.subarray(c * 9, c * 9 + 9), truth.covariances.subarray(t * 9, t * 9 + 9))).toBeLessThan(0.05);
    });
  }, 60_000);

  it('aborts promptly, and the device stays usable afterwards', async () => {
    const big = dataset(200_000, 3);
    const ac = new AbortController();
    const p = train(big, { gaussians: 8, seed: 1, maxIterations: 1000, tolerance: 0, backend: 'webgpu', signal: ac.signal });
    setTimeout(() => ac.abort(), 500);
    const err = await p.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const after = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu' });
    expect(Number.isFinite(after.logLikelihood)).toBe(true);
  }, 60_000);

  it('rejects with a clear error when the device is lost mid-training, then recovers', async () => {
    const handle = (await acquireGpu())!;
    const p = train(data, {
      gaussians: 4, seed: 1, maxIterations: 50, tolerance: 0, backend: 'webgpu',
      onIteration: ({ iteration }) => {
        if (iteration === 2) handle.device.destroy();
      },
    });
    await expect(p).rejects.toThrow(/GPU device was lost during training/);
    const again = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu' });
    expect(again.backend).toBe('webgpu');
  });

  it('timePass on a lost device rejects as pass does (not a fast, empty pass)', async () => {
    const handle = (await acquireGpu())!;
    const ds = toDataset(data);
    const backend = await WebGpuBackend.create(handle, ds, null, { k: 2, covarianceType: 'full' });
    try {
      handle.device.destroy();
      const model = GaussianMixture.fromArrays('full', Float64Array.of(0.5, 0.5), Float64Array.from(ds.data.subarray(0, 2 * ds.d)), Float64Array.from({ length: 2 * ds.d * ds.d }, (_, i) => (Math.floor((i % (ds.d * ds.d)) / ds.d) === i % ds.d ? 1 : 0)));
      await expect(backend.timePass(mixtureParams(model))).rejects.toThrow(/GPU device was lost/);
    } finally {
      backend.dispose();
    }
    const again = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu' });
    expect(again.backend).toBe('webgpu');
  });

  describe('streamed points (dataResidency)', () => {
    const rng = new Rng(21);
    const weights = Array.from({ length: data.rows }, () => (rng.nextFloat() < 0.1 ? 0 : 0.5 + 2 * rng.nextFloat()));
    // K = 20 exceeds the fused kernel on lavapipe (subgroups of 8, two components per lane).
    it.each([
      ['full, K = 4', 4, false],
      ['diagonal, K = 4', 4, true],
      ['full, K = 20', 20, false],
    ] as const)('give bitwise the results of resident points at the same chunking (%s)', async (_name, gaussians, diagonalCovariance) => {
      const start = (await train(data, { gaussians, seed: 5, maxIterations: 1, backend: 'cpu', diagonalCovariance })).model;
      // 8000 points in chunks of 337: 24 chunks, the last of 249 (not a multiple of 4).
      const opts: TrainOptions = {
        gaussians, inputModel: start, diagonalCovariance, observationWeights: weights, maxIterations: 6, tolerance: 0,
        backend: 'webgpu', maxChunkPoints: 337,
      };
      const resident = await trace(data, { ...opts, dataResidency: 'device' });
      const streamed = await trace(data, { ...opts, dataResidency: 'streamed' });
      expect(streamed.lls).toEqual(resident.lls);
      expect(Array.from(streamed.result.model.means)).toEqual(Array.from(resident.result.model.means));
      expect(Array.from(streamed.result.model.covariances)).toEqual(Array.from(resident.result.model.covariances));
      expect(Array.from(streamed.result.model.weights)).toEqual(Array.from(resident.result.model.weights));
    }, 60_000);

    it('streams only when asked, or on a software adapter above 256 MiB of points', async () => {
      const MiB = 1024 * 1024;
      expect(streamsPoints('streamed', false, 1)).toBe(true);
      expect(streamsPoints('device', true, 4096 * MiB)).toBe(false);
      expect(streamsPoints('auto', true, 257 * MiB)).toBe(true);
      expect(streamsPoints('auto', true, 256 * MiB)).toBe(false);
      expect(streamsPoints('auto', false, 4096 * MiB)).toBe(false);
      const handle = (await acquireGpu())!;
      if (/llvmpipe|lavapipe|swiftshader/i.test(handle.adapter)) expect(handle.hostMemory).toBe(true);
      // A streamed backend's chunks are small (about 32 MiB) whatever the binding limit.
      const ds = toDataset(data);
      const options = { k: 4, covarianceType: 'full' as const };
      const streamed = await WebGpuBackend.create(handle, ds, null, { ...options, residency: 'streamed' });
      const resident = await WebGpuBackend.create(handle, ds, null, { ...options, residency: 'auto' });
      try {
        expect(streamed.streamed).toBe(true);
        expect(resident.streamed).toBe(false);
        expect(streamed.chunkPoints * 2 * 16).toBeLessThanOrEqual(32 * MiB);
      } finally {
        streamed.dispose();
        resident.dispose();
      }
    });

    it('aborts promptly between streamed chunks, and the device stays usable afterwards', async () => {
      const big = dataset(200_000, 3);
      const ac = new AbortController();
      const p = train(big, {
        gaussians: 8, seed: 1, maxIterations: 1000, tolerance: 0, backend: 'webgpu', dataResidency: 'streamed', maxChunkPoints: 5000, signal: ac.signal,
      });
      setTimeout(() => ac.abort(), 500);
      const err = await p.catch((e: unknown) => e);
      expect((err as Error).name).toBe('AbortError');
      const after = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu', dataResidency: 'streamed', maxChunkPoints: 999 });
      expect(Number.isFinite(after.logLikelihood)).toBe(true);
    }, 60_000);

    it('rejects with a clear error when the device is lost while streaming', async () => {
      const handle = (await acquireGpu())!;
      const p = train(data, {
        gaussians: 4, seed: 1, maxIterations: 50, tolerance: 0, backend: 'webgpu', dataResidency: 'streamed', maxChunkPoints: 500,
        onIteration: ({ iteration }) => {
          if (iteration === 2) handle.device.destroy();
        },
      });
      await expect(p).rejects.toThrow(/GPU device was lost during training/);
      const again = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu' });
      expect(again.backend).toBe('webgpu');
    });
  });
});

describe.skipIf(!GPU_AVAILABLE)("a device that cannot set the problem up", () => {
  it("'auto' trains on the CPU with a note; 'webgpu' reports the error", async () => {
    const { vi } = await import('vitest');
    const { WebGmmError } = await import('../src/index.js');
    const rng = new Rng(8);
    const data = Array.from({ length: 60_000 }, (_, i) => [(i % 3) * 6 + rng.nextNormal(), rng.nextNormal()]);
    const failing = () => vi.spyOn(WebGpuBackend, 'create').mockRejectedValueOnce(new WebGmmError('GPU_ERROR', 'WebGPU rejected the backend\'s setup: Binding size too large\n - While validating'));
    const spy = failing();
    try {
      const r = await train(data, { gaussians: 3, seed: 1, maxIterations: 2 });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(r.backend).toBe('cpu');
      expect(r.warnings).toContainEqual(expect.stringMatching(/^using the CPU backend: WebGPU \(.*\) could not set this problem up: WebGPU rejected the backend's setup: Binding size too large$/));
      const cpu = await train(data, { gaussians: 3, seed: 1, maxIterations: 2, backend: 'cpu' });
      expect(r.logLikelihood).toBe(cpu.logLikelihood);
      failing();
      await expect(train(data, { gaussians: 3, seed: 1, maxIterations: 2, backend: 'webgpu' })).rejects.toMatchObject({ code: 'GPU_ERROR' });
      // Or set up, but out of memory in the first pass (the speed measurement, timed without its
      // readback): the CPU too.
      const pass = vi.spyOn(WebGpuBackend.prototype, 'timePass').mockRejectedValueOnce(new WebGmmError('GPU_OUT_OF_MEMORY', 'the GPU ran out of memory'));
      const m = await train(data, { gaussians: 3, seed: 1, maxIterations: 2 });
      expect(pass).toHaveBeenCalledTimes(1);
      expect(m.backend).toBe('cpu');
      expect(m.warnings).toContainEqual(expect.stringMatching(/^using the CPU backend: WebGPU \(.*\) could not run this problem: the GPU ran out of memory$/));
      expect(m.logLikelihood).toBe(cpu.logLikelihood);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe.skipIf(!GPU_AVAILABLE)('a model whose statistics outgrow the largest buffer the device allows', () => {
  it("'webgpu' says so and names the CPU backend; 'auto' trains on the CPU with a note", async () => {
    const handle = (await acquireGpu())!;
    // The read-back of 10 chunks' statistics (K = 100 full at D = 64: 1.25 MiB each) against a
    // device that allows buffers of 8 MiB (WebGPU's default is 256 MiB; lavapipe's 4 GiB).
    const limits = handle.device.limits;
    // Dawn's `limits` may be the device's own property or its prototype's: put back whichever it was.
    const own = Object.getOwnPropertyDescriptor(handle.device, 'limits');
    const small: Record<string, number> = {};
    for (const key in limits) small[key] = (limits as unknown as Record<string, number>)[key]!;
    small.maxBufferSize = 8 * 2 ** 20;
    Object.defineProperty(handle.device, 'limits', { value: small, configurable: true });
    try {
      const data = dataset(2000, 12);
      const wide = { data: Float64Array.from({ length: 2000 * 64 }, (_, i) => data.data[i % data.data.length]! + (i % 64) * 0.01 * Math.sin(i)), rows: 2000, cols: 64 };
      const options: TrainOptions = { gaussians: 100, seed: 1, maxIterations: 1, maxChunkPoints: 200, diagonalCovariance: false };
      const err = await train(wide, { ...options, backend: 'webgpu' }).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('GPU_ERROR');
      expect((err as Error).message).toMatch(/the statistics of 100 full 64-dimensional components read back from 10 chunks \(12 MiB\) exceed the largest buffer this device allows \(8 MiB\); use backend 'cpu'$/);
      const auto = await train(wide, options);
      expect(auto.backend).toBe('cpu');
      expect(auto.warnings.join('\n')).toMatch(/could not set this problem up: .*exceed the largest buffer this device allows/);
    } finally {
      if (own) Object.defineProperty(handle.device, 'limits', own);
      else delete (handle.device as unknown as { limits?: unknown }).limits;
    }
    expect(handle.device.limits.maxBufferSize).toBeGreaterThan(8 * 2 ** 20);
  }, 120_000);
});

describe.skipIf(!GPU_AVAILABLE)('GPU memory', () => {
  it('every buffer a training creates is destroyed when it ends, fails or is aborted', async () => {
    // Dawn's own GPU, with each new device's createBuffer and each buffer's destroy watched.
    const live = new Set<GPUBuffer>();
    let created = 0;
    const watch = (device: GPUDevice): GPUDevice => {
      const createBuffer = device.createBuffer.bind(device);
      device.createBuffer = (descriptor: GPUBufferDescriptor) => {
        const buffer = createBuffer(descriptor);
        created++;
        live.add(buffer);
        const destroy = buffer.destroy.bind(buffer);
        buffer.destroy = () => {
          live.delete(buffer);
          destroy();
        };
        return buffer;
      };
      return device;
    };
    setGpuProvider(async () => {
      const gpu = (await nodeGpuProvider()) as GPU | undefined;
      if (!gpu) return undefined;
      return {
        requestAdapter: async (options?: GPURequestAdapterOptions) => {
          const adapter = await gpu.requestAdapter(options);
          if (!adapter) return null;
          const requestDevice = adapter.requestDevice.bind(adapter);
          adapter.requestDevice = async (descriptor?: GPUDeviceDescriptor) => watch(await requestDevice(descriptor));
          return adapter;
        },
      };
    });
    try {
      const data = dataset(20_000, 11);
      // Ends: whole data on the device, then streamed in chunks.
      await train(data, { gaussians: 3, seed: 1, maxIterations: 5, backend: 'webgpu' });
      expect(created).toBeGreaterThan(0);
      expect(live.size).toBe(0);
      let before = created;
      await train(data, { gaussians: 3, seed: 1, maxIterations: 5, backend: 'webgpu', dataResidency: 'streamed', maxChunkPoints: 5000 });
      expect(created).toBeGreaterThan(before);
      expect(live.size).toBe(0);
      // Fails: a covariance that is not positive definite under noForcePositive (duplicated points).
      const flat = Array.from({ length: 3000 }, (_, i) => [i % 3, (i % 3) * 2]);
      before = created;
      await expect(train(flat, { gaussians: 3, seed: 1, backend: 'webgpu', noForcePositive: true, covarianceConstraint: 'mlpack' })).rejects.toThrow(/not positive definite/);
      expect(created).toBeGreaterThan(before);
      expect(live.size).toBe(0);
      // Aborted mid-training.
      const ac = new AbortController();
      before = created;
      const p = train(data, { gaussians: 3, seed: 1, maxIterations: 1000, tolerance: 0, backend: 'webgpu', signal: ac.signal, onIteration: ({ iteration }) => void (iteration === 2 && ac.abort()) });
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
      expect(created).toBeGreaterThan(before);
      expect(live.size).toBe(0);
    } finally {
      setGpuProvider(nodeGpuProvider);
    }
  }, 120_000);
});

describe.skipIf(!GPU_AVAILABLE)('the shared device in a long-lived process', () => {
  const data = dataset(3000, 31);

  it("holds the GPU object its provider returned for as long as the device lives (Dawn's instance dies with it)", async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const dawn = (await nodeGpuProvider())!;
    let given: WeakRef<object> | undefined;
    // A fresh object per request, as `async () => create([])` returns: nothing but the device's
    // handle can keep it.
    setGpuProvider(async () => {
      const gpu = { requestAdapter: (o?: GPURequestAdapterOptions) => dawn.requestAdapter(o) };
      given = new WeakRef(gpu);
      return gpu;
    });
    try {
      const first = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu' });
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 0));
      }
      expect(given!.deref()).toBeDefined();
      // …and the cached device still trains.
      const again = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu' });
      expect(again.logLikelihood).toBe(first.logLikelihood);
    } finally {
      setGpuProvider(nodeGpuProvider);
    }
  });

  it('leaves no device-loss listener behind: not per training, per streamed chunk or per timed pass', async () => {
    const handle = (await acquireGpu())!;
    const original = handle.onLost;
    let live = 0;
    let added = 0;
    handle.onLost = (listener) => {
      live++;
      added++;
      const off = original.call(handle, listener);
      return () => {
        live--;
        off();
      };
    };
    try {
      await train(data, { gaussians: 3, seed: 2, maxIterations: 5, backend: 'webgpu' });
      await train(data, { gaussians: 3, seed: 2, maxIterations: 5, backend: 'webgpu', dataResidency: 'streamed', maxChunkPoints: 700 });
      const ds = toDataset(data);
      const backend = await WebGpuBackend.create(handle, ds, null, { k: 3, covarianceType: 'full' });
      try {
        const model = (await train(data, { gaussians: 3, seed: 2, maxIterations: 1, backend: 'cpu' })).model;
        await backend.timePass(mixtureParams(model));
        await backend.pass(mixtureParams(model));
      } finally {
        backend.dispose();
      }
    } finally {
      handle.onLost = original;
    }
    expect(added).toBeGreaterThan(10); // the mappings did listen while they waited
    expect(live).toBe(0);
  }, 60_000);

  it('an abort while the WebGPU backend builds rejects at once, not after the build', async () => {
    const handle = (await acquireGpu())!;
    const device = handle.device;
    const ac = new AbortController();
    let abortedAt = 0;
    const queue = device.queue;
    const workDone = queue.onSubmittedWorkDone;
    // The build's upload of the points: the abort arrives as it starts, and it takes 1.5 s.
    queue.onSubmittedWorkDone = () => {
      if (!ac.signal.aborted) {
        abortedAt = performance.now();
        ac.abort();
      }
      return new Promise((r) => setTimeout(r, 1500)).then(() => workDone.call(queue));
    };
    let rejectedAfter: number;
    try {
      const err = await train(data, { gaussians: 2, seed: 1, backend: 'webgpu', signal: ac.signal }).catch((e: unknown) => e);
      rejectedAfter = performance.now() - abortedAt;
      expect((err as Error).name).toBe('AbortError');
    } finally {
      // The abandoned build finishes (and disposes its backend) before the device is used again: a
      // GPU operation still pending when the process ends, or when a later test destroys the
      // device, aborts the process inside Dawn (what gpuIdle is for).
      const waited = performance.now();
      await gpuIdle();
      queue.onSubmittedWorkDone = workDone;
      expect(performance.now() - waited).toBeGreaterThan(500);
    }
    expect(rejectedAfter).toBeLessThan(500);
    const after = await train(data, { gaussians: 2, seed: 1, maxIterations: 3, backend: 'webgpu' });
    expect(after.backend).toBe('webgpu');
  }, 30_000);

  it('a build whose compilation fails fails once its other compilations have ended (none left pending)', async () => {
    // A device of its own: its pipeline cache is empty, so the build compiles two pipelines.
    setGpuProvider(async () => nodeGpuProvider());
    const device = (await acquireGpu())!.device;
    const compile = device.createComputePipelineAsync;
    let pending = 0;
    let calls = 0;
    device.createComputePipelineAsync = (descriptor) => {
      calls++;
      if (calls === 1) return Promise.reject(new Error('injected compile failure'));
      pending++;
      return new Promise((r) => setTimeout(r, 300)).then(() => compile.call(device, descriptor)).finally(() => pending--);
    };
    try {
      const err = await train(dataset(900, 33), { gaussians: 7, seed: 1, maxIterations: 2, backend: 'webgpu', diagonalCovariance: true }).catch((e: unknown) => e);
      expect(String(err)).toMatch(/injected compile failure/);
      expect(calls).toBeGreaterThan(1);
      expect(pending).toBe(0);
    } finally {
      device.createComputePipelineAsync = compile;
      setGpuProvider(nodeGpuProvider);
    }
  });

  it('installing the provider already installed keeps its device; another provider gets a new one', async () => {
    const before = (await acquireGpu())!;
    setGpuProvider(nodeGpuProvider); // the one gpu.ts installed
    expect(await acquireGpu()).toBe(before);
    const other = async () => nodeGpuProvider();
    setGpuProvider(other);
    try {
      expect(await acquireGpu()).not.toBe(before);
    } finally {
      setGpuProvider(nodeGpuProvider);
    }
  });

  it('a training of a shape trained before compiles no pipeline again, and gives the same bits', async () => {
    const device = (await acquireGpu())!.device;
    const compile = device.createComputePipelineAsync;
    let compiled = 0;
    device.createComputePipelineAsync = (descriptor) => {
      compiled++;
      return compile.call(device, descriptor);
    };
    try {
      const options: TrainOptions = { gaussians: 3, seed: 4, maxIterations: 4, backend: 'webgpu', diagonalCovariance: true };
      const first = await train(data, options);
      const again = await train(data, options);
      expect(again.logLikelihood).toBe(first.logLikelihood);
      expect(Array.from(again.model.covariances)).toEqual(Array.from(first.model.covariances));
      compiled = 0;
      await train(data, options);
      expect(compiled).toBe(0);
      // Another shape compiles its own.
      await train(data, { ...options, gaussians: 5 });
      expect(compiled).toBeGreaterThan(0);
    } finally {
      device.createComputePipelineAsync = compile;
    }
  }, 60_000);

  it('the pipeline cache keeps the most recently used, up to its size, and not a failed compilation', async () => {
    const device = {} as GPUDevice; // a key only
    const made: string[] = [];
    const get = (key: string, fail = false) =>
      cachedPipeline(device, key, () => {
        made.push(key);
        return fail ? Promise.reject(new Error('invalid shader')) : Promise.resolve({ key } as unknown as GPUComputePipeline);
      });
    await expect(get('bad', true)).rejects.toThrow('invalid shader');
    await expect(get('bad', true)).rejects.toThrow('invalid shader');
    expect(made).toEqual(['bad', 'bad']); // tried again, not the failure kept
    for (let i = 0; i < PIPELINE_CACHE_SIZE; i++) await get(`k${i}`);
    await get('k0'); // used again: now the most recent
    await get('new'); // evicts the least recently used, k1
    made.length = 0;
    await get('k0');
    await get('k2');
    expect(made).toEqual([]);
    await get('k1');
    expect(made).toEqual(['k1']);
  });

  it("'auto' trains on the CPU when the cached device was lost just before (its loss not yet reported), and the next training gets a new device", async () => {
    const big = dataset(20000, 32);
    const options: TrainOptions = { gaussians: 4, seed: 1, maxIterations: 5, backend: 'auto' };
    const before = await train(big, options);
    expect(before.backend).toBe('webgpu'); // a problem 'auto' asks a device for and keeps WebGPU on
    (await acquireGpu())!.device.destroy();
    const r = await train(big, options);
    expect(r.backend).toBe('cpu');
    expect(r.warnings.join('\n')).toMatch(/using the CPU backend: WebGPU \(.*\) could not .*lost/);
    expect(r.warnings.join('\n')).not.toMatch(/retry/); // it has used the CPU already
    expect((await train(big, options)).backend).toBe('webgpu');
  }, 60_000);
});

describe.skipIf(!GPU_AVAILABLE)('setGpuProvider during a training', () => {
  it('affects the next training only: the running one (its wider search included) keeps its device', async () => {
    // Data on which the default policy's wider search runs (its validation refits build backends of their own).
    const data = rainy(new Rng(21), 900);
    const options: TrainOptions = { gaussians: 3, seed: 5, trials: 2, backend: 'webgpu' };
    const alone = await train(data, options);
    const searched: string[] = [];
    try {
      for (const replacement of [async () => undefined, () => new Promise<undefined>(() => undefined)]) {
        const r = await train(data, {
          ...options,
          onIteration: ({ trial, iteration }) => void (trial === 0 && iteration === 3 && setGpuProvider(replacement)),
          onSearch: ({ step }) => void searched.push(step),
        });
        expect(r.backend).toBe('webgpu');
        expect(r.logLikelihood).toBe(alone.logLikelihood);
        expect(Array.from(r.model.covariances)).toEqual(Array.from(alone.model.covariances));
        setGpuProvider(nodeGpuProvider);
      }
      expect(searched).toContain('validation');
    } finally {
      setGpuProvider(nodeGpuProvider);
    }
  }, 120_000);
});

describe.skipIf(!GPU_AVAILABLE)("a provider of Dawn's own GPU object (no WebGPU globals installed)", () => {
  it('trains on WebGPU in a fresh process: the backend needs no GPUBufferUsage / GPUMapMode globals', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath, pathToFileURL } = await import('node:url');
    const root = fileURLToPath(new URL('..', import.meta.url));
    const entry = pathToFileURL(`${root}dist/node.js`).href;
    const script = `
      import { create } from 'webgpu';
      import { train, setGpuProvider } from ${JSON.stringify(entry)};
      const gpu = create([]);
      globalThis.keepGpu = gpu; // Dawn's instance must outlive its devices
      setGpuProvider(async () => gpu);
      const data = Array.from({ length: 3000 }, (_, i) => [(i % 3) * 5 + Math.sin(i), Math.cos(7 * i)]);
      const r = await train(data, { gaussians: 3, seed: 1, maxIterations: 5, backend: 'webgpu' });
      console.log(JSON.stringify({ globals: typeof globalThis.GPUBufferUsage, backend: r.backend, ll: r.logLikelihood }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(out.globals).toBe('undefined');
    expect(out.backend).toBe('webgpu');
    const cpu = await train(Array.from({ length: 3000 }, (_, i) => [(i % 3) * 5 + Math.sin(i), Math.cos(7 * i)]), { gaussians: 3, seed: 1, maxIterations: 5, backend: 'cpu' });
    expect(relErr(out.ll, cpu.logLikelihood)).toBeLessThan(1e-5);
  }, 120_000);
});
