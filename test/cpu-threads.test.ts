// The CPU backend's passes on helper threads (useEmThreads): the sums per task of 8192 points,
// added in task order, are the same for any number of threads and for the calling thread alone,
// agree with the single running sum to rounding, and a whole training gives the same model on
// 1 and 3 helpers. Without a provider the pass is the single running sum (the mlpack parity
// tests hold it to the fixtures).
import { describe, it, expect, afterAll } from 'vitest';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { cpuPassTask } from '../src/backends/cpu/pass-kernels.js';
import { setCpuPassThreadProvider, CPU_PASS_TASK_POINTS } from '../src/backends/cpu/pass-threads.js';
import { createKMeansThreadPool } from '../src/worker/kmeans-threads.js';
import { GaussianMixture } from '../src/model/gaussian-mixture.js';
import { mixtureParams } from '../src/train/em.js';
import type { PassResult } from '../src/backends/backend.js';
import { train } from '../src/index.js';
import { useEmThreads } from '../src/node.js';
import { Rng } from '../src/util/rng.js';
import { maxRelErr, relErr } from './helpers.js';

function problem(n: number, d: number, k: number, covarianceType: 'full' | 'diagonal', seed: number) {
  const rng = new Rng(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = 4 * Math.sin((i % k) * 5 + j) + (1 + (j % 3)) * rng.nextNormal();
  const means: number[][] = [];
  const covariances: (number[] | number[][])[] = [];
  for (let c = 0; c < k; c++) {
    means.push(Array.from(data.subarray(c * d, (c + 1) * d)));
    covariances.push(covarianceType === 'full' ? Array.from({ length: d }, (_, r) => Array.from({ length: d }, (_, s) => (r === s ? 2 : 0.4))) : Array(d).fill(2));
  }
  const model = new GaussianMixture({ weights: Array(k).fill(1 / k), means, covariances: covariances as number[][][] });
  const weights = Float64Array.from({ length: n }, (_, i) => (i % 11 === 4 ? 0 : 0.5 + (i % 3)));
  return { data, model, params: mixtureParams(model), weights };
}

const same = (a: PassResult, b: PassResult): boolean =>
  Object.is(a.logLikelihood, b.logLikelihood) &&
  a.zeroLikelihoodPoints === b.zeroLikelihoodPoints &&
  (['nk', 'sums', 'scatter'] as const).every((key) => a.stats[key].length === b.stats[key].length && a.stats[key].every((v, i) => Object.is(v, b.stats[key][i])));

describe('CPU backend passes on helper threads', () => {
  const pools = [createKMeansThreadPool(1, { adaptive: false }), createKMeansThreadPool(3, { adaptive: false })];
  afterAll(() => {
    setCpuPassThreadProvider(null);
    useEmThreads(false);
    for (const p of pools) p.terminate();
  });

  it.each([
    ['full, weights, a partial last task', 3 * CPU_PASS_TASK_POINTS + 1234, 5, 4, 'full', true],
    ['diagonal, fewer points than a job', 2 * CPU_PASS_TASK_POINTS - 7, 7, 3, 'diagonal', false],
  ] as const)('%s: the same sums on 0, 1 and 3 helpers, within rounding of the running sum', async (_name, n, d, k, cov, weighted) => {
    const { data, params, weights } = problem(n, d, k, cov, n);
    const w = weighted ? weights : null;
    setCpuPassThreadProvider(null);
    const running = await new CpuBackend({ data, n, d }, w).pass(params);
    const results: PassResult[] = [];
    for (const pool of [null, ...pools]) {
      setCpuPassThreadProvider(() => pool, { minPoints: 0 });
      const backend = new CpuBackend({ data, n, d }, w);
      results.push(await backend.pass(params));
      // The log-likelihood alone, as the float64 finish of a WebGPU run asks for it.
      expect(await backend.logLikelihood(params)).toBe(results[0]!.logLikelihood);
    }
    for (const r of results.slice(1)) expect(same(r, results[0]!)).toBe(true);
    const t = results[0]!;
    expect(relErr(t.logLikelihood, running.logLikelihood)).toBeLessThan(1e-13);
    expect(maxRelErr(t.stats.nk, running.stats.nk)).toBeLessThan(1e-12);
    expect(maxRelErr(t.stats.sums, running.stats.sums)).toBeLessThan(1e-10);
    expect(maxRelErr(t.stats.scatter, running.stats.scatter)).toBeLessThan(1e-10);
    // Task sums are not the running sum: the provider does change the rounding (what the opt-in is for).
    expect(same(t, running)).toBe(false);
  });

  it('jobs of one task per thread, one task while the pool sits out: the same sums', async () => {
    const n = 6 * CPU_PASS_TASK_POINTS + 5;
    const { data, params } = problem(n, 3, 4, 'full', 5);
    setCpuPassThreadProvider(() => null, { minPoints: 0 });
    const alone = await new CpuBackend({ data, n, d: 3 }).pass(params);
    // A pool of 7 helpers that runs every job on the calling thread, as an adaptive pool does
    // while its helpers sit out; it says it sits out for the first three jobs.
    const jobs: number[] = [];
    const stub = {
      helpers: 7,
      sittingOut: () => jobs.length < 3,
      run(_kind: number, args: unknown[], tasks: number, chunk: number, limit: number): number {
        jobs.push(tasks);
        for (let t = 0; t < tasks; t++) cpuPassTask(args, t, chunk, limit);
        return 0;
      },
    };
    setCpuPassThreadProvider(() => stub, { minPoints: 0 });
    expect(same(await new CpuBackend({ data, n, d: 3 }).pass(params), alone)).toBe(true);
    expect(jobs).toEqual([1, 1, 1, 4]);
  });

  it('below the size threshold a pass stays the running sum, provider or not', async () => {
    const n = 5000;
    const { data, params } = problem(n, 3, 2, 'full', 3);
    setCpuPassThreadProvider(null);
    const running = await new CpuBackend({ data, n, d: 3 }).pass(params);
    setCpuPassThreadProvider(() => pools[1]!);
    expect(same(await new CpuBackend({ data, n, d: 3 }).pass(params), running)).toBe(true);
  });

  it('useEmThreads: train() gives the same model with the Node pool and with a 1-helper pool', async () => {
    const n = 5 * CPU_PASS_TASK_POINTS;
    const { data } = problem(n, 4, 3, 'full', 9);
    const options = { gaussians: 3, seed: 2, maxIterations: 15, backend: 'cpu' as const, trials: 2 };
    useEmThreads();
    const a = await train({ data, rows: n, cols: 4 }, options);
    setCpuPassThreadProvider(() => pools[0]!);
    const b = await train({ data, rows: n, cols: 4 }, options);
    useEmThreads(false);
    const c = await train({ data, rows: n, cols: 4 }, options);
    expect(a.logLikelihood).toBe(b.logLikelihood);
    // The helpers did take tasks, here and in the cases above (a dead helper would leave every
    // task to the calling thread, and every comparison would hold all the same).
    for (const pool of pools) expect(pool.tasksByHelpers).toBeGreaterThan(0);
    expect(Array.from(a.model.means)).toEqual(Array.from(b.model.means));
    expect(Array.from(a.model.covariances)).toEqual(Array.from(b.model.covariances));
    // Without threads, the same fit to rounding.
    expect(relErr(c.logLikelihood, a.logLikelihood)).toBeLessThan(1e-10);
  });
});

describe('helper threads: when a silent helper counts as gone', () => {
  // The rule only: a run long enough to reach it in the pool would take minutes.
  it('stallLimit: 120 s, or ten times the calling thread\'s own task time when its tasks are that long', async () => {
    const { stallLimit } = await import('../src/worker/kmeans-threads.js');
    expect(stallLimit(50, 5)).toBe(120_000);
    expect(stallLimit(0, 0)).toBe(120_000);
    // One EM task of four minutes (D = 1000, K = 50): a helper's is no stall at 120 s.
    expect(stallLimit(240_000, 1)).toBe(2_400_000);
    expect(stallLimit(600_000, 3)).toBe(2_000_000);
  });
});
