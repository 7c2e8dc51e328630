// The EM loop's handling of a float32 backend (what WebGPU is to it), with a stand-in backend whose
// passes are the CPU backend's own: runs where every change is below the reported rounding bound
// (as on large data in float32), so that only a fixed point or a float64 probe can end them early.
import { describe, it, expect } from 'vitest';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import type { EStepBackend, MixtureParams, PassResult } from '../src/backends/backend.js';
import { GaussianMixture } from '../src/model/gaussian-mixture.js';
import { MLPACK_CONSTRAINT } from '../src/train/constraints.js';
import { runEM, type EmOptions, type EmResult, type IterationInfo } from '../src/train/em.js';
import { float64IterationCost } from '../src/backends/backend.js';
import { Rng } from '../src/util/rng.js';

/** Three well-separated blobs: |log L| ≈ 2.4e5, so the default tolerance is below float64's resolution. */
function blobs(n: number): { data: Float64Array; n: number; d: number } {
  const rng = new Rng(4);
  const data = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    data[2 * i] = 100 * c + rng.nextNormal();
    data[2 * i + 1] = -100 * c + rng.nextNormal();
  }
  return { data, n, d: 2 };
}

/**
 * A float32 backend as the EM loop sees one: the CPU's passes around the means rounded to float32
 * (WebGPU's shift points), with the statistics rounded to float32, a rounding bound far above every change, a float64 reference costing
 * `referencePassCost` of its passes. Jitter moves the first component's weight N_0 on pass p by
 * p parts in 1e7 ('drift': rounding that never settles into a fixed point or a cycle), by
 * p mod 2 parts ('alternate': a 2-cycle, as float32 covariance entries flipping by one ulp), or by
 * 100 + (p mod 7) parts ('offset': float32 settles off float64's fixed point, without repeating).
 */
class Float32Standin implements EStepBackend {
  readonly kind = 'webgpu' as const;
  readonly n: number;
  readonly d: number;
  readonly reference: CpuBackend;
  /** Float32 passes run so far. */
  passes = 0;
  constructor(
    ds: { data: Float64Array; n: number; d: number },
    readonly referencePassCost: number,
    private readonly jitter: 'none' | 'drift' | 'alternate' | 'offset',
    private readonly uncertainty = 1e3,
  ) {
    this.n = ds.n;
    this.d = ds.d;
    this.reference = new CpuBackend(ds);
  }
  async pass(params: MixtureParams): Promise<PassResult> {
    const shift = params.means.map(Math.fround);
    const r = await this.reference.pass({ ...params, means: shift });
    const p = ++this.passes;
    const f = this.jitter === 'drift' ? 1 + 1e-7 * p : this.jitter === 'alternate' ? 1 + 1e-7 * (p % 2) : this.jitter === 'offset' ? 1 + 1e-7 * (100 + (p % 7)) : 1;
    const round = (a: Float64Array): Float64Array => a.map((v) => Math.fround(v));
    const stats = { nk: round(r.stats.nk.map((v, j) => (j === 0 ? v * f : v))), sums: round(r.stats.sums), scatter: round(r.stats.scatter), shift };
    return { ...r, stats, logLikelihoodUncertainty: this.uncertainty };
  }
  dispose(): void {
    this.reference.dispose();
  }
}

const ds = blobs(30_000);
const start = new GaussianMixture({
  weights: [0.3, 0.3, 0.4],
  means: [[1, -1], [98, -103], [201, -198]],
  covariances: [[[2, 0], [0, 2]], [[3, 0], [0, 3]], [[2, 0.5], [0.5, 2]]],
});
const options = (maxIterations: number): EmOptions => ({ maxIterations, tolerance: 1e-10, constraint: MLPACK_CONSTRAINT, forcePositive: true, trial: 0 });

/**
 * The stand-in's run ends in float64 where the CPU backend's from the same model stops: at the
 * same fixed point bit for bit (`exact`), or within 1e-9 relative (a path through float32's
 * rounding that reaches the optimum elsewhere).
 */
async function expectFloat64End(
  backend: Float32Standin,
  maxIterations: number,
  exact = true,
  data: { data: Float64Array; n: number; d: number } = ds,
  from: GaussianMixture = start,
): Promise<EmResult> {
  const r = await runEM(backend, from, options(maxIterations));
  const cpu = await runEM(new CpuBackend(data), from, options(maxIterations));
  expect(cpu.converged).toBe(true);
  expect(r.converged).toBe(true);
  expect(r.float64Passes).toBeGreaterThan(0);
  if (exact) expect(r.logLikelihood).toBe(cpu.logLikelihood);
  else expect(Math.abs(r.logLikelihood - cpu.logLikelihood)).toBeLessThan(1e-9 * Math.abs(cpu.logLikelihood));
  return r;
}

/** The stand-in's run from `start` spends no float64 pass and runs all its iterations. */
async function expectFloat32Throughout(backend: Float32Standin, maxIterations: number): Promise<void> {
  const r = await runEM(backend, start, options(maxIterations));
  expect(r.float64Passes).toBe(0);
  expect(r.iterations).toBe(maxIterations);
  expect(r.converged).toBe(false);
}

/** The float64 stretches of a run (its probes), from what onIteration reports. */
interface Probe {
  /** The first iteration reported from float64 (the probe started one iteration before). */
  first: number;
  /** Changes reported from float64: the first compares θ from float32 statistics, so it is not judged. */
  deltas: number[];
  logLikelihoods: number[];
}
function probeRecorder(): { probes: Probe[]; lastBackend: () => string; onIteration: (i: IterationInfo) => void } {
  const probes: Probe[] = [];
  let last = '';
  return {
    probes,
    lastBackend: () => last,
    onIteration: (i) => {
      if (i.backend === 'cpu') {
        if (last !== 'cpu') probes.push({ first: i.iteration, deltas: [], logLikelihoods: [] });
        probes[probes.length - 1]!.deltas.push(i.delta);
        probes[probes.length - 1]!.logLikelihoods.push(i.logLikelihood);
      }
      last = i.backend;
    },
  };
}
const end = (p: Probe): number => p.first + p.deltas.length - 1;

/**
 * The stand-in's run from `from` ends by a float64 change within reach (its last iteration on the
 * CPU), at the optimum the CPU backend converges to from there, to 1e-9 relative; its probes.
 */
async function expectProbedEnd(standin: Float32Standin, data: { data: Float64Array; n: number; d: number }, from: GaussianMixture, maxIterations: number): Promise<{ r: EmResult; probes: Probe[] }> {
  const recorder = probeRecorder();
  const r = await runEM(standin, from, { ...options(maxIterations), onIteration: recorder.onIteration });
  const cpu = await runEM(new CpuBackend(data), from, options(maxIterations));
  expect(cpu.converged).toBe(true);
  expect(r.converged).toBe(true);
  expect(recorder.lastBackend()).toBe('cpu');
  expect(Math.abs(r.logLikelihood - cpu.logLikelihood)).toBeLessThan(1e-9 * Math.abs(cpu.logLikelihood));
  return { r, probes: recorder.probes };
}

/** Two clusters 2.2σ apart, 30 000 points: EM converges linearly, its change falling by 0.78 to 0.88 per iteration. */
function overlapping(): { overlap: { data: Float64Array; n: number; d: number }; from: GaussianMixture } {
  const rng = new Rng(9);
  const n = 30_000;
  const data = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    data[2 * i] = 2.2 * (i % 2) + rng.nextNormal();
    data[2 * i + 1] = rng.nextNormal() * (1 + (i % 2));
  }
  const from = new GaussianMixture({ weights: [0.5, 0.5], means: [[-1, 0], [3, 0]], covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] });
  return { overlap: { data, n, d: 2 }, from };
}

describe('EM loop with a float32 backend', () => {
  it('stops where the parameters repeat bit for bit (a fixed point), not at maxIterations', async () => {
    const r = await runEM(new Float32Standin(ds, 1e9, 'none'), start, options(100));
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThan(20);
    expect(r.float64Passes).toBe(0);
    // Independently: one more iteration of the same backend leaves the returned model as it is, so
    // every further one would too (the iterations saved would have returned this very model).
    const next = await runEM(new Float32Standin(ds, 1e9, 'none'), r.model, { ...options(1), tolerance: -1 });
    expect(next.iterations).toBe(1);
    expect(Array.from(next.model.means)).toEqual(Array.from(r.model.means));
    expect(Array.from(next.model.covariances)).toEqual(Array.from(r.model.covariances));
    expect(Array.from(next.model.weights)).toEqual(Array.from(r.model.weights));
  });

  it('stops in a 2-cycle (float32 rounding flipping between two models), not at maxIterations', async () => {
    const seen: GaussianMixture[] = [];
    const r = await runEM(new Float32Standin(ds, 1e9, 'alternate'), start, { ...options(100), onIteration: (i) => void seen.push(i.model) });
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThan(20);
    // The models of the last three iterations: the last equals the one two before, not the one
    // just before (a fixed point would have stopped a step earlier).
    const [a, b, c] = seen.slice(-3).map((m) => Array.from(m.weights).concat(Array.from(m.means), Array.from(m.covariances)));
    expect(c).toEqual(a);
    expect(c).not.toEqual(b);
  });

  it('does not stop in a 2-cycle whose swing float32 resolves (above the tolerance)', async () => {
    // The same alternation (its log L swings by ~3e-10, above the 1e-10 tolerance), with a rounding
    // bound that resolves it (1000 × 1e-14).
    const r = await runEM(new Float32Standin(ds, 1e9, 'alternate', 1e-14), start, options(30));
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(30);
  });

  it('starts a probe after 8 changes within the rounding bound itself, when 9 float64 passes fit in the iterations left', async () => {
    // The first change (4.6e4) exceeds the bound (2 × 1e3), though not 1000 times it; every later
    // one is within it: the probe comes at iteration 9 (the first float64 pass is that
    // iteration's) and costs at most 9 passes of referencePassCost 10.
    const firstFloat64 = async (maxIterations: number): Promise<number> => {
      let at = -1;
      await runEM(new Float32Standin(ds, 10, 'drift'), start, {
        ...options(maxIterations),
        onIteration: (i) => void (at < 0 && i.backend === 'cpu' ? (at = i.iteration) : 0),
      });
      return at;
    };
    // 9 × 10 passes = exactly the 90 left after iteration 9: spent; one iteration fewer: not.
    expect(await firstFloat64(99)).toBe(10);
    expect(await firstFloat64(98)).toBe(-1);
  });

  it('spends the float64 probe only where its longest run costs no more than the float32 iterations left', async () => {
    // Cheap enough (16 × 9 float64-pass equivalents ≤ the iterations left): the probe finds
    // float64's exact fixed point, as the CPU backend stops there.
    await expectFloat64End(new Float32Standin(ds, 16, 'drift'), 250);
    // The same backend with 20 iterations allowed: 144 pass equivalents would exceed the 16 left;
    // float32 runs them all.
    await expectFloat32Throughout(new Float32Standin(ds, 16, 'drift'), 20);
  });


  it('a probe that finds EM still converging comes back halfway to where its changes, extrapolated at their rate, reach float64’s resolution', async () => {
    // Two clusters 2.2σ apart: EM converges linearly (its change falls by 0.78 to 0.88 per
    // iteration), and float32 stops resolving the change after 9 of the CPU's 146 iterations.
    // Ended by a float64 change within reach (float32 alone repeats itself only at iteration 175).
    const { overlap, from } = overlapping();
    const { probes } = await expectProbedEnd(new Float32Standin(overlap, 6, 'none'), overlap, from, 500);
    // Each probe after the first starts halfway to where the previous one's last two changes,
    // extrapolated geometrically, fall within 8ε|log L|, and no sooner than eight float32 changes
    // within rounding after it.
    expect(probes.length).toBeGreaterThanOrEqual(3);
    for (let p = 1; p < probes.length; p++) {
      const previous = probes[p - 1]!;
      const [before, last] = previous.deltas.slice(-2) as [number, number];
      expect(0 < last && last < before).toBe(true);
      const reach = 8 * Number.EPSILON * Math.abs(previous.logLikelihoods[previous.logLikelihoods.length - 1]!);
      const foreseen = Math.ceil(Math.log(reach / last) / Math.log(last / before));
      expect(probes[p]!.first - 1).toBe(end(previous) + Math.max(Math.ceil(foreseen / 2), 8));
    }
  });

  it('a probe that finds float32 lost the last one’s ground (settled off float64’s fixed point) is the trial’s float64 finish', async () => {
    // The same two clusters, with float32's fixed point offset from float64's: each probe starts
    // again from float32's point. A float64 iteration costs ≈ 8 float32 ones.
    // Ended by a float64 change within reach, at the CPU's optimum (probes of at most nine float64
    // iterations alone ran out of budget: 250 iterations, not converged).
    const { overlap, from } = overlapping();
    const cost = float64IterationCost(overlap.n, 2, overlap.d, 'full', 8);
    const standin = new Float32Standin(overlap, 8, 'offset');
    const { r, probes } = await expectProbedEnd(standin, overlap, from, 250);
    // The last float64 stretch is longer than any probe, and it began where the probe's first
    // judged change was at least the previous probe's last one times its rate.
    const finish = probes[probes.length - 1]!;
    const previous = probes[probes.length - 2]!;
    expect(finish.deltas.length).toBeGreaterThan(8);
    expect(probes.slice(0, -1).every((p) => p.deltas.length <= 8)).toBe(true);
    const [before, last] = previous.deltas.slice(-2) as [number, number];
    expect(Math.abs(finish.deltas[1]!)).toBeGreaterThanOrEqual(Math.abs(last) * (last / before));
    // Within the probes' bound: float32 passes and float64 work at most twice maxIterations (and
    // iteration 0's pass).
    expect(standin.passes + r.float64Passes * cost).toBeLessThanOrEqual(2 * 250 + 1);
  });

  it('at float64’s own noise (changes that do not shrink) each probe waits twice as long as the one before, and all of them cost at most the run', async () => {
    // The float64 reference's log-likelihood alternates by ±1e-8 (25 times 8ε|log L|), so that its
    // changes never fall within reach; float32 drifts and never repeats itself.
    const backend = new Float32Standin(ds, 6, 'drift');
    const exact = backend.reference.pass.bind(backend.reference);
    let passes = 0;
    backend.reference.pass = async (params, signal) => {
      const r = await exact(params, signal);
      return { ...r, logLikelihood: r.logLikelihood + (++passes % 2 ? 1e-8 : -1e-8) };
    };
    const recorder = probeRecorder();
    const r = await runEM(backend, start, { ...options(250), onIteration: recorder.onIteration });
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(250);
    // The first probe: nine float64 passes (its changes stay within 10⁴ × the tolerance). Each
    // later one judges a first change as large as the one before it (the noise), so it is a
    // finish — which stalls at the noise after nine judged changes (eleven passes) and hands back
    // like a probe. 8, 16 and 32 iterations apart; a fifth (at iteration 168) would bring the
    // float64 work beyond the run's 250 (a probe's own 54 fits in the 82 iterations left: sunk
    // cost does not count there).
    const { probes } = recorder;
    expect(probes.map((p) => p.deltas.length)).toEqual([8, 10, 10, 10]);
    expect(probes.slice(1).map((p, i) => p.first - 1 - end(probes[i]!))).toEqual([8, 16, 32]);
    const cost = float64IterationCost(ds.n, 3, ds.d, 'full', 6);
    expect(r.float64Passes).toBe(9 + 3 * 11);
    // Float32 passes and float64 work: at most twice the run (and iteration 0's pass).
    expect(backend.passes + r.float64Passes * cost).toBeLessThanOrEqual(2 * 250 + 1);
    expect((r.float64Passes + 9) * cost).toBeGreaterThan(250);
  });
});

describe('EM loop: where float64 itself cannot resolve the tolerance', () => {
  /**
   * The CPU backend with rounding that never settles: the first component's weight moves by
   * (p mod 3) parts in 1e15 on pass p (the parameters never repeat), and the log-likelihood by
   * ±1.5e-10 — a few float64 ulps at |log L| ≈ 2.4e5, within its 8ε·|log L| ≈ 4.3e-10 resolution
   * but above the 1e-10 tolerance.
   */
  class UlpJitter implements EStepBackend {
    readonly kind = 'cpu' as const;
    readonly n: number;
    readonly d: number;
    private readonly cpu: CpuBackend;
    private passes = 0;
    constructor(data: { data: Float64Array; n: number; d: number }) {
      this.n = data.n;
      this.d = data.d;
      this.cpu = new CpuBackend(data);
    }
    async pass(params: MixtureParams): Promise<PassResult> {
      const r = await this.cpu.pass(params);
      const p = ++this.passes;
      const nk = r.stats.nk.map((v, j) => (j === 0 ? v * (1 + 1e-15 * (p % 3)) : v));
      return { ...r, logLikelihood: r.logLikelihood + (p % 2 ? 1.5e-10 : -1.5e-10), stats: { ...r.stats, nk } };
    }
    dispose(): void {
      this.cpu.dispose();
    }
  }

  it('a change below float64’s resolution of log L counts as convergence, not only with maxIterations 0', async () => {
    const r = await runEM(new UlpJitter(ds), start, options(250));
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThan(50);
    // The model it stops at is the one the exact backend converges to (to rounding).
    const exact = await runEM(new CpuBackend(ds), start, options(250));
    expect(Math.abs(r.logLikelihood - exact.logLikelihood)).toBeLessThan(1e-9 * Math.abs(exact.logLikelihood));
  });

  it('the float64 probe judges its second change, not its first (θ from float32 statistics against θ from float64 ones)', async () => {
    // K = 1: float64's fixed point is one M-step away, but the probe's first change compares θ
    // built from the stand-in's float32 statistics with θ built from float64 ones (well above
    // PROBE_REACH × tolerance). The float32 passes alone drift and never converge.
    const one = new GaussianMixture({ weights: [1], means: [[100, -100]], covariances: [[[7000, -6000], [-6000, 7000]]] });
    const r = await runEM(new Float32Standin(ds, 10, 'drift'), one, options(250));
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThan(20);
    expect(r.float64Passes).toBeGreaterThanOrEqual(2);
  });
});

describe('EM loop: a float64 finish that costs little', () => {
  /** Two clusters 20σ apart along the first of 32 dimensions, σ = 1e6 (|log L| ≈ 490 per point). */
  const d = 32;
  function twoClusters(n: number): { data: Float64Array; n: number; d: number } {
    const rng = new Rng(11);
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = 1e6 * ((i % 2) * 20 * (j === 0 ? 1 : 0) + rng.nextNormal());
    return { data, n, d };
  }
  const eye = (v: number): number[][] => Array.from({ length: d }, (_, r) => Array.from({ length: d }, (_, c) => (r === c ? v : 0)));
  const init = new GaussianMixture({
    weights: [0.5, 0.5],
    means: [Array.from({ length: d }, (_, j) => (j === 0 ? 2e6 : 0)), Array.from({ length: d }, (_, j) => (j === 0 ? 18e6 : 0))],
    covariances: [eye(4e12), eye(2e12)],
  });

  it('finishes in float64 where a float64 iteration costs at most four float32 ones, though float64 cannot resolve the tolerance', async () => {
    // |log L| ≈ 2.4e5: the 1e-10 tolerance is below float64's resolution, so only the cost allows
    // the finish. 20 iterations leave no room for the probe (9 × 4 > 12); with the finish, the run
    // stops where the CPU backend does, at float64's exact fixed point.
    await expectFloat64End(new Float32Standin(ds, 4, 'drift'), 20);
    // A float64 iteration of five float32 ones: float32 runs its 20 iterations.
    await expectFloat32Throughout(new Float32Standin(ds, 5, 'drift'), 20);
  });

  it('counts the M-step both precisions pay: few points in many dimensions finish in float64 on a fast GPU too', async () => {
    // 300 points in 32 dimensions (two clusters, σ = 1e6: |log L| ≈ 1.5e5, beyond float64's
    // resolution of the tolerance), a float64 pass 256 times a float32 one: the passes alone would
    // never allow a float64 iteration, but the M-step's
    // eigendecompositions (K · 8 · D³) weigh as much as the pass (N · K · D(D + 3)).
    const wide = twoClusters(300);
    // A rounding bound of 100 over 300 points: below a nat per point, so no pass is redone as blind.
    const backend = new Float32Standin(wide, 256, 'drift', 100);
    expect(float64IterationCost(wide.n, 2, d, 'full', 256)).toBeLessThanOrEqual(4);
    // 20 iterations: too few for the probe (9 float64 iterations of ≈ 2.3 exceed the 12 left).
    const r = await expectFloat64End(backend, 20, false, wide, init);
    expect(r.iterations).toBeLessThan(20);
  });

  it('the probe weighs the M-step too: its nine float64 iterations fit in 250 where nine float64 passes of 256 would not', async () => {
    // 2000 points: a float64 iteration ≈ 9.2 float32 ones — too dear to finish in float64, cheap
    // enough for the probe, which catches float64's fixed point as the CPU backend stops there.
    const wide = twoClusters(2000);
    const backend = new Float32Standin(wide, 256, 'drift');
    const cost = float64IterationCost(wide.n, 2, d, 'full', 256);
    expect(cost).toBeGreaterThan(4);
    expect(9 * cost).toBeLessThan(242);
    const r = await expectFloat64End(backend, 250, false, wide, init);
    expect(r.float64Passes).toBeLessThanOrEqual(9);
  });

  /**
   * Rounding bounds of 0.9 nat per point on pass `unresolvedAt` and 1.1 on the next (blind: redone
   * in float64), a float64 iteration of two float32 ones (the finish is cheap). `leap`: the passes
   * before `unresolvedAt` report log-likelihoods 1e8 apart, so that the change at `unresolvedAt` is
   * resolved in spite of its bound and the blind pass's is the first unresolved one.
   */
  class Blind implements EStepBackend {
    readonly kind = 'webgpu' as const;
    /** The size the cost rules see (`claimedN`: a stand-in for large data). */
    readonly n: number;
    readonly d = ds.d;
    readonly referencePassCost = 2;
    readonly reference = new CpuBackend(ds);
    referencePasses = 0;
    private passes = 0;
    constructor(private readonly unresolvedAt: number, private readonly leap: boolean, claimedN = ds.n) {
      this.n = claimedN;
      const reference = this.reference;
      const pass = reference.pass.bind(reference);
      reference.pass = (params, signal) => {
        this.referencePasses++;
        return pass(params, signal);
      };
    }
    async pass(params: MixtureParams): Promise<PassResult> {
      const r = await CpuBackend.prototype.pass.call(this.reference, params);
      const p = ++this.passes;
      const bound = p < this.unresolvedAt ? 0 : p === this.unresolvedAt ? 0.9 : 1.1;
      const logLikelihood = this.leap ? r.logLikelihood - 1e8 * Math.max(0, this.unresolvedAt - p) : r.logLikelihood;
      return { ...r, logLikelihood, logLikelihoodUncertainty: bound * ds.n };
    }
    dispose(): void {
      this.reference.dispose();
    }
  }

  it('a blind pass redone in float64 that also starts the finish is not computed twice, and is reported as the CPU\'s', async () => {
    // Past FLOAT64_RESTART_WITHIN M-steps, where the finish continues from θ_t: it reuses the redone pass.
    const backend = new Blind(11, true);
    const ranOn: string[] = [];
    // Far from the blobs' optimum, so that EM is still moving at the twelfth pass.
    const far = new GaussianMixture({
      weights: [0.3, 0.3, 0.4],
      means: [[90, -90], [100, -100], [110, -110]],
      covariances: [[[900, 0], [0, 900]], [[900, 0], [0, 900]], [[900, 0], [0, 900]]],
    });
    const r = await runEM(backend, far, { ...options(11), onIteration: (i) => void ranOn.push(i.backend) });
    expect(ranOn).toEqual([...Array(11).fill('webgpu'), 'cpu']);
    expect(r.float64Passes).toBe(1);
    expect(backend.referencePasses).toBe(1);
  });

  it('after a blind pass\'s float64 redo, a θ that float32 statistics do not resolve moves the trial to float64 (no float32 pass more)', async () => {
    // Pass 11 blind; from there on `resolves` says no (nearly collinear features). The M-step from
    // the redo's float64 statistics is kept (not computed again) and the trial continues in float64.
    class BlindThenUnresolved extends Blind {
      float32Passes = 0;
      override async pass(params: MixtureParams): Promise<PassResult> {
        this.float32Passes++;
        const r = await CpuBackend.prototype.pass.call(this.reference, params);
        return { ...r, logLikelihoodUncertainty: (this.float32Passes === 11 ? 1.1 : 0) * ds.n };
      }
      resolves(): boolean {
        return this.float32Passes < 11;
      }
    }
    const backend = new BlindThenUnresolved(11, false);
    const far = new GaussianMixture({
      weights: [0.3, 0.3, 0.4],
      means: [[90, -90], [100, -100], [110, -110]],
      covariances: [[[900, 0], [0, 900]], [[900, 0], [0, 900]], [[900, 0], [0, 900]]],
    });
    const ranOn: string[] = [];
    await runEM(backend, far, { ...options(16), tolerance: 0, onIteration: (i) => void ranOn.push(i.backend) });
    expect(backend.float32Passes).toBe(11);
    expect(ranOn.slice(0, 10)).toEqual(Array(10).fill('webgpu'));
    expect(ranOn.slice(10).every((b) => b === 'cpu')).toBe(true);
  });

  it('a handover within FLOAT64_RESTART_WITHIN M-steps starts the trial again in float64, reported once, every float64 pass counted', async () => {
    const backend = new Blind(1, false);
    const ranOn: string[] = [];
    const cpu = await runEM(new CpuBackend(ds), start, options(1));
    const r = await runEM(backend, start, { ...options(1), onIteration: (i) => void ranOn.push(`${i.iteration} ${i.backend}`) });
    // Iteration 0 was reported from float32; the float64 restart repeats it silently.
    expect(ranOn).toEqual(['0 webgpu', '1 cpu']);
    // The blind pass's redo, then iterations 0 and 1 from the start.
    expect(backend.referencePasses).toBe(3);
    expect(r.float64Passes).toBe(3);
    expect(r.logLikelihood).toBe(cpu.logLikelihood);
    expect(Array.from(r.model.covariances)).toEqual(Array.from(cpu.model.covariances));
  });

  it('the restart window ends after 8 M-steps: a handover at iteration 8 starts again, one at 9 continues from θ_9', async () => {
    const far = new GaussianMixture({
      weights: [0.3, 0.3, 0.4],
      means: [[90, -90], [100, -100], [110, -110]],
      covariances: [[[900, 0], [0, 900]], [[900, 0], [0, 900]], [[900, 0], [0, 900]]],
    });
    const run = async (unresolvedAt: number) => {
      const ranOn: string[] = [];
      const r = await runEM(new Blind(unresolvedAt, false), far, { ...options(12), onIteration: (i) => void ranOn.push(`${i.iteration} ${i.backend}`) });
      return { r, ranOn };
    };
    const at8 = await run(9);
    expect(at8.r.iterations).toBeGreaterThan(9);
    expect(at8.ranOn).toEqual(Array.from({ length: at8.r.iterations + 1 }, (_, i) => `${i} ${i < 8 ? 'webgpu' : 'cpu'}`));
    expect(at8.r.float64Passes).toBe(at8.r.iterations + 1);
    const at9 = await run(10);
    expect(at9.r.iterations).toBeGreaterThan(9);
    expect(at9.ranOn).toEqual(Array.from({ length: at9.r.iterations + 1 }, (_, i) => `${i} ${i < 9 ? 'webgpu' : 'cpu'}`));
    expect(at9.r.float64Passes).toBe(at9.r.iterations - 8);
  });

  it('but not where repeating those M-steps in float64 would cost more than FLOAT64_RESTART_WORK: the finish continues from θ_t', async () => {
    // Sized (for the cost rules) as 4e6 points: one float64 iteration 1.2e8 multiply-adds.
    const backend = new Blind(1, false, 4e6);
    const ranOn: string[] = [];
    const r = await runEM(backend, start, { ...options(1), onIteration: (i) => void ranOn.push(`${i.iteration} ${i.backend}`) });
    expect(ranOn).toEqual(['0 webgpu', '1 cpu']);
    expect(backend.referencePasses).toBe(1);
    expect(r.float64Passes).toBe(1);
  });

  it('float64IterationCost: the passes\' ratio where the pass dominates, nearer 1 where the M-step does', () => {
    // The digits, 1797 × 64, K = 8: pass 1797·8·64·67 multiply-adds, M-step 8·8·64³.
    const pass = 1797 * 8 * 64 * 67;
    const host = 8 * 8 * 64 ** 3;
    expect(float64IterationCost(1797, 8, 64, 'full', 16)).toBeCloseTo((pass + host) / (pass / 16 + host), 12);
    expect(float64IterationCost(1797, 8, 64, 'full', 16)).toBeLessThan(4);
    expect(float64IterationCost(1797, 8, 64, 'full', 256)).toBeGreaterThan(4);
    // 100 000 points: the passes' ratio nearly whole; diagonal components: exactly.
    expect(float64IterationCost(100_000, 8, 64, 'full', 256)).toBeGreaterThan(100);
    expect(float64IterationCost(1797, 8, 64, 'diagonal', 256)).toBe(256);
    // A device's round trip per float32 pass (1e5 multiply-adds): few points bring the cost near 1
    // (4000 × 3, K = 3: 216 000 multiply-adds a pass, 16 times faster on the device, plus its round
    // trip: 1.9), many leave it as it was.
    expect(float64IterationCost(4000, 3, 3, 'full', 16)).toBeGreaterThan(15);
    expect(float64IterationCost(4000, 3, 3, 'full', 16, 1e5)).toBeCloseTo((216_000 + 8 * 3 * 27) / (1e5 + 216_000 / 16 + 8 * 3 * 27), 12);
    expect(float64IterationCost(100_000, 8, 64, 'full', 256, 1e5) / float64IterationCost(100_000, 8, 64, 'full', 256)).toBeGreaterThan(0.99);
  });
});

describe('EM loop: an exact cycle of float64 EM', () => {
  /**
   * A float64 backend whose M-step leads from the model with mean m to the one with mean
   * (m + 1) mod 3 (K = 1, D = 1, unit variance): a period-3 cycle whose log-likelihood changes
   * (by 10 per step) never meet the tolerance, as a sharp clamp's rounding can make real EM cycle.
   */
  class ThreeCycle implements EStepBackend {
    readonly kind = 'cpu' as const;
    readonly n = 100;
    readonly d = 1;
    passes = 0;
    async pass(params: MixtureParams): Promise<PassResult> {
      // A run that does not see the cycle fails here rather than running forever.
      if (++this.passes > 1000) throw new Error('still iterating after 1000 passes');
      const m = params.means[0]!;
      const next = (m + 1) % 3;
      const delta = next - m;
      const stats = { nk: Float64Array.of(this.n), sums: Float64Array.of(this.n * delta), scatter: Float64Array.of(this.n * (1 + delta * delta)), shift: Float64Array.of(m) };
      return { logLikelihood: -1000 - 10 * m, zeroLikelihoodPoints: 0, stats };
    }
    dispose(): void {}
  }
  const first = new GaussianMixture({ weights: [1], means: [[0]], covariances: [[[1]]] });

  it('ends with the model maxIterations would leave, bit for bit, after a few passes', async () => {
    for (const maxIterations of [100, 101, 102, 250]) {
      const backend = new ThreeCycle();
      const r = await runEM(backend, first, options(maxIterations));
      expect(r.converged).toBe(false);
      expect(r.iterations).toBe(maxIterations);
      // Mean after t M-steps: t mod 3; its log-likelihood as the pass reports it.
      expect(Array.from(r.model.means)).toEqual([maxIterations % 3]);
      expect(Array.from(r.model.covariances)).toEqual([1]);
      expect(r.logLikelihood).toBe(-1000 - 10 * (maxIterations % 3));
      expect(backend.passes).toBeLessThan(12);
    }
  });

  it('on a float32 backend too (a stand-in whose changes float32 resolves): the same ends', async () => {
    // With a float64 reference, as WebGPU has: its cycles (zipcodes, K = 3: period 10) ran on.
    class ThreeCycle32 extends ThreeCycle {
      override readonly kind = 'cpu' as const;
      readonly reference = new ThreeCycle() as unknown as CpuBackend;
      readonly referencePassCost = 1e9;
    }
    for (const maxIterations of [0, 100, 101]) {
      const backend = new ThreeCycle32();
      const r = await runEM(backend, first, options(maxIterations));
      expect(r.converged).toBe(false);
      expect(backend.passes).toBeLessThan(12);
      expect(r.float64Passes).toBe(0);
      if (maxIterations > 0) {
        expect(r.iterations).toBe(maxIterations);
        expect(Array.from(r.model.means)).toEqual([maxIterations % 3]);
      }
    }
  });

  it('maxIterations 0 ("until convergence") ends at the cycle, not converged', async () => {
    const backend = new ThreeCycle();
    const r = await runEM(backend, first, options(0));
    expect(r.converged).toBe(false);
    expect(r.iterations).toBeLessThan(12);
    expect(Array.from(r.model.means)).toEqual([r.iterations % 3]);
  });
});

describe('EM loop: exact cycles where probes repeat', () => {
  // A float32 backend and its float64 reference over a finite set of states: K = 1, D = 1, the
  // mean is the state, and each pass's statistics move it to the state its table names next (the
  // M-step of the EM loop does the moving). Log-likelihoods come from the tables too, so that any
  // mix of fixed points, cycles, unresolved and resolved changes can be built.
  interface Table {
    next: (state: number) => number;
    ll: (state: number) => number;
  }
  const N = 10_000;
  const statsFor = (m: number, to: number): PassResult['stats'] => ({
    nk: Float64Array.of(N),
    sums: Float64Array.of(N * (to - m)),
    scatter: Float64Array.of(N * (1 + (to - m) ** 2)),
    shift: Float64Array.of(m),
  });
  class TableReference implements EStepBackend {
    readonly kind = 'cpu' as const;
    readonly n = N;
    readonly d = 1;
    passes = 0;
    constructor(private readonly table: Table) {}
    async pass(p: MixtureParams): Promise<PassResult> {
      this.passes++;
      const m = p.means[0]!;
      return { logLikelihood: this.table.ll(m), zeroLikelihoodPoints: 0, stats: statsFor(m, this.table.next(m)) };
    }
    async logLikelihood(p: MixtureParams): Promise<number> {
      return this.table.ll(p.means[0]!);
    }
    dispose(): void {}
  }
  class TableFloat32 implements EStepBackend {
    readonly kind = 'webgpu' as const;
    readonly n = N;
    readonly d = 1;
    readonly reference: TableReference;
    passes = 0;
    constructor(private readonly table: Table, reference: Table, readonly referencePassCost: number) {
      this.reference = new TableReference(reference);
    }
    async pass(p: MixtureParams): Promise<PassResult> {
      this.passes++;
      const m = p.means[0]!;
      // A rounding bound of 1: changes of 2 or less are within it.
      return { logLikelihood: this.table.ll(m), zeroLikelihoodPoints: 0, stats: statsFor(m, this.table.next(m)), logLikelihoodUncertainty: 1 };
    }
    dispose(): void {}
  }
  const at = (m: number): GaussianMixture => new GaussianMixture({ weights: [1], means: [[m]], covariances: [[[1]]] });
  const BASE = -1e7;

  it('a cycle stop leaves the model, count and log-likelihood of running every iteration, on random state machines', async () => {
    // Cycles entered where a probe is due, probes that come back into a cycle, runs the iteration
    // count holds back: 6000 runs in ~5 s. (A first form of the held-back rule, which accepted any
    // cycle seen past nextProbeAt, failed here — seed 259 returned another model at 250
    // iterations; the two cases below pin the defects a review found in the form before it.)
    let probedTwice = 0;
    let stoppedEarly = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const rng = new Rng(seed);
      const S = 4 + Math.floor(rng.nextFloat() * 30);
      const mode = seed % 3;
      const order = Array.from({ length: S }, (_, i) => i);
      for (let i = S - 1; i > 0; i--) {
        const j = Math.floor(rng.nextFloat() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const tail = Math.floor(S / 3);
      // Random maps, one long cycle, or a tail into a cycle; changes mostly within float32's rounding.
      const next32 = Array.from({ length: S }, (_, i) =>
        mode === 0 ? Math.floor(rng.nextFloat() * S) : mode === 1 ? order[(order.indexOf(i) + 1) % S]! : i < tail ? i + 1 : tail + ((i - tail + 1) % (S - tail)),
      );
      const within = [0.6, 0.85, 0.97][Math.floor(rng.nextFloat() * 3)]!;
      const next64 = Array.from({ length: S }, () => Math.floor(rng.nextFloat() * S));
      const ll32 = Array.from({ length: S }, () => BASE + (rng.nextFloat() < within ? rng.nextFloat() * 1.5 : 10 + rng.nextFloat() * 3000));
      const ll64 = Array.from({ length: S }, () => BASE + rng.nextFloat() * 1e-3);
      const table32: Table = { next: (m) => next32[m]!, ll: (m) => ll32[m]! };
      const table64: Table = { next: (m) => next64[m]!, ll: (m) => ll64[m]! };
      const cost = 5 + Math.floor(rng.nextFloat() * 10);
      for (const maxIterations of [40, 97, 250, 1000]) {
        const from = at(Math.floor(rng.nextFloat() * S));
        const stopping = new TableFloat32(table32, table64, cost);
        const r = await runEM(stopping, from, options(maxIterations));
        const every = new TableFloat32(table32, table64, cost);
        const oracle = await runEM(every, from, { ...options(maxIterations), cycleStops: false });
        expect([r.model.means[0], r.iterations, r.converged, r.logLikelihood]).toEqual([oracle.model.means[0], oracle.iterations, oracle.converged, oracle.logLikelihood]);
        if (oracle.float64Passes > 9) probedTwice++;
        if (stopping.passes + stopping.reference.passes < every.passes + every.reference.passes) stoppedEarly++;
      }
    }
    // The cases the rules are about occur: runs with more than one probe, runs a cycle cut short.
    expect(probedTwice).toBeGreaterThan(50);
    expect(stoppedEarly).toBeGreaterThan(100);
  });

  it('a cycle closed by the change that completes the run a probe needs: the probe starts, as running every iteration shows', async () => {
    // float32: states 0…22, then round 15…22 (period 8); the changes from 7 to 14 and from 15 on
    // are within rounding, the two into 7 and 15 are not, so the run of eight ends at state 22
    // just as the cycle closes. float64 goes round 15…22 three states at a time.
    const L = Array.from({ length: 23 }, (_, i) => BASE + 0.1 * i + (i >= 7 ? 1e4 : 0) + (i >= 15 ? 1e4 : 0));
    const t32: Table = { next: (m) => (m < 22 ? m + 1 : 15), ll: (m) => L[m]! };
    const t64: Table = { next: (m) => (m >= 15 ? 15 + ((m - 15 + 3) % 8) : m + 1), ll: (m) => BASE + 1e-3 * ((m * 7) % 11) };
    for (const maxIterations of [100, 250]) {
      const r = await runEM(new TableFloat32(t32, t64, 5), at(0), options(maxIterations));
      const oracle = await runEM(new TableFloat32(t32, t64, 5), at(0), { ...options(maxIterations), cycleStops: false });
      expect(oracle.float64Passes).toBeGreaterThan(4);
      expect([r.model.means[0], r.iterations, r.converged, r.float64Passes]).toEqual([oracle.model.means[0], oracle.iterations, oracle.converged, oracle.float64Passes]);
    }
  });

  it('a cycle whose probe-calling state was held back exactly one period ago: the probe starts now, as running every iteration shows', async () => {
    // float32: round 0…8 (period 9), changes +1 within the bound and −8 beyond it, so the run a
    // probe needs is complete only at state 8 (iterations 8, 17, 26, …). The first probe (8 → 100
    // → 101 → 102, float64's changes shrinking by 0.77) schedules the next inside (27, 36]: the
    // run at iteration 27 is held back, and at 36 — one period on, the same state — the probe
    // starts. A cycle stop accepted at 36 (252 ≡ 36 mod 9) returned before it (a second review).
    const t32: Table = { next: (m) => (m + 1) % 9, ll: (m) => BASE + m };
    const last = 1e-3;
    const L64: Record<number, number> = { 100: BASE + 9, 101: BASE + 9 + last / 0.77, 102: BASE + 9 + last / 0.77 + last };
    const t64: Table = { next: (m) => (m === 8 ? 100 : m === 100 ? 101 : m === 101 ? 102 : m === 102 ? 2 : (m + 1) % 9), ll: (m) => L64[m] ?? BASE + m };
    for (const maxIterations of [252, 253]) {
      const r = await runEM(new TableFloat32(t32, t64, 5), at(0), options(maxIterations));
      const oracle = await runEM(new TableFloat32(t32, t64, 5), at(0), { ...options(maxIterations), cycleStops: false });
      expect(oracle.float64Passes).toBeGreaterThan(8);
      expect([r.model.means[0], r.iterations, r.converged, r.logLikelihood, r.float64Passes]).toEqual([
        oracle.model.means[0], oracle.iterations, oracle.converged, oracle.logLikelihood, oracle.float64Passes,
      ]);
    }
  });

  it('float64 changes that lower log L and shrink (a clamp that is not an exact M-step) are extrapolated too, not taken for noise', async () => {
    // float32 climbs by 0.1 a state (within rounding: a probe at iteration 8); float64 from there
    // lowers log L by 1e-3 · 0.8^j. The next probe comes halfway to where that reaches 8ε|log L|,
    // not after the 8 iterations of the wait for noise.
    const t32: Table = { next: (m) => m + 1, ll: (m) => BASE + 0.1 * (m % 1000) };
    const t64: Table = { next: (m) => (m < 1000 ? 1000 : m + 1), ll: (m) => (m < 1000 ? BASE + 0.1 * m : BASE + 1 - 5e-3 * (1 - 0.8 ** (m - 1000))) };
    const recorder = probeRecorder();
    await runEM(new TableFloat32(t32, t64, 5), at(0), { ...options(250), onIteration: recorder.onIteration });
    const [first, second] = recorder.probes as [Probe, Probe];
    const [before, last] = first.deltas.slice(-2) as [number, number];
    expect(before < 0 && last < 0 && Math.abs(last) < Math.abs(before)).toBe(true);
    const reach = 8 * Number.EPSILON * Math.abs(first.logLikelihoods[first.logLikelihoods.length - 1]!);
    const foreseen = Math.ceil(Math.log(reach / Math.abs(last)) / Math.log(last / before));
    expect(Math.ceil(foreseen / 2)).toBeGreaterThan(8);
    expect(second.first - 1).toBe(end(first) + Math.ceil(foreseen / 2));
  });

  it('a cycle float32 enters after a probe that foresees a distant next one still ends the run early', async () => {
    // float32: states 10…99 climb by 0.1 (within rounding: a probe at once), then a 3-cycle whose
    // changes (50) float32 resolves, so no probe can start again. The probe's float64 changes
    // shrink by 0.99 an iteration: the next probe would come hundreds of iterations later.
    const t32: Table = { next: (m) => (m >= 100 ? 0 : m < 3 ? (m + 1) % 3 : m + 1), ll: (m) => (m < 3 ? BASE + 50 * m : m < 100 ? BASE + 200 + 0.1 * m : BASE + 300) };
    const t64: Table = { next: (m) => (m < 100 ? 100 : m + 1), ll: (m) => (m >= 100 ? BASE + 300 + 0.1 * (1 - 0.99 ** (m - 99)) : BASE + 200 + 0.1 * m) };
    for (const maxIterations of [250, 1200]) {
      const stopping = new TableFloat32(t32, t64, 5);
      const r = await runEM(stopping, at(10), options(maxIterations));
      const every = new TableFloat32(t32, t64, 5);
      const oracle = await runEM(every, at(10), { ...options(maxIterations), cycleStops: false });
      expect([r.model.means[0], r.iterations, r.converged]).toEqual([oracle.model.means[0], oracle.iterations, oracle.converged]);
      expect(oracle.float64Passes).toBe(4);
      // Seen within a few periods of entering it (was: held until the foreseen probe, ~1100 passes).
      expect(stopping.passes).toBeLessThan(30);
    }
  });
});

describe('the stopping rule at the tolerance (pinned by a mutation audit)', () => {
  /** The CPU's passes, reporting a scripted log-likelihood sequence instead of their own. */
  class Scripted implements EStepBackend {
    readonly kind = 'cpu' as const;
    readonly n: number;
    readonly d: number;
    private i = 0;
    private readonly cpu: CpuBackend;
    constructor(ds: { data: Float64Array; n: number; d: number }, private readonly lls: number[]) {
      this.n = ds.n;
      this.d = ds.d;
      this.cpu = new CpuBackend(ds);
    }
    async pass(p: MixtureParams): Promise<PassResult> {
      const r = await this.cpu.pass(p);
      return { ...r, logLikelihood: this.lls[Math.min(this.i++, this.lls.length - 1)]! };
    }
    async logLikelihood(): Promise<number> {
      return this.lls[this.i]!;
    }
    dispose(): void {}
  }

  it('a change exactly equal to the tolerance ends EM (mlpack: while |Δ| > tolerance)', async () => {
    const data = Float64Array.from({ length: 200 }, (_, i) => (i % 2 ? 5 : 0) + Math.sin(i));
    const ds = { data, n: 100, d: 2 };
    const start = new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [5, 5]], covariances: [[1, 1], [1, 1]] });
    const options = { maxIterations: 10, constraint: MLPACK_CONSTRAINT, forcePositive: true, trial: 0 };
    const r = await runEM(new Scripted(ds, [-100, -50, -25, -24, -23.5]), start, { ...options, tolerance: 25 });
    expect([r.iterations, r.converged]).toEqual([2, true]);
    const z = await runEM(new Scripted(ds, [-100, -50, -50, -24, -23.5]), start, { ...options, tolerance: 0 });
    expect([z.iterations, z.converged]).toEqual([2, true]);
  });
});
