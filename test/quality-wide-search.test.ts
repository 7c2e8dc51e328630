// The wider search of the default policy ('unit-invariant'): when every feature of the training
// data varies, each trial also starts from k-means on standardized data, and an internal validation
// split may overrule the training log-likelihood and sharpen the clamp (maxCondition × 10^j,
// varianceFloor / 10^j, j ≤ 2). When some feature is (nearly) constant, none of that runs.
import { describe, it, expect } from 'vitest';
import { GaussianMixture, train, type TrainOptions } from '../src/index.js';
import { Rng } from '../src/util/rng.js';
import { rainy } from './helpers.js';

const base: TrainOptions = { gaussians: 3, seed: 5, trials: 2, backend: 'cpu' };
/** The settings the wider search starts from, given explicitly: no clamp ladder. */
const fixedClamp: TrainOptions = { ...base, maxCondition: 1e7, varianceFloor: 1e-9 };

describe('the wider search of the default policy', () => {
  it('sharpens the clamp on a point mass, judged on held-out points, and gains on fresh data', async () => {
    const rng = new Rng(21);
    const data = rainy(rng, 900);
    const fresh = rainy(rng, 900);
    const wide = await train(data, base);
    const fixed = await train(data, fixedClamp);
    // Each held-out dry day gains ½ ln 10 per decade of sharper floor; nothing else moves much.
    const gain = (wide.model.logLikelihood(fresh) - fixed.model.logLikelihood(fresh)) / fresh.rows;
    expect(gain).toBeGreaterThan(0.5);
    expect(Array.from(wide.model.predict(fresh))).toEqual(Array.from(fixed.model.predict(fresh)));
    // The chosen fit is its trial's entry.
    expect(wide.trials[wide.bestTrial]!.logLikelihood).toBe(wide.logLikelihood);
  });

  it('counts and reports the M-steps of the chosen fit and of its sharper-clamp refit', async () => {
    const data = rainy(new Rng(21), 900);
    const run = async (maxIterations: number) => {
      const seen: number[][] = [[], []];
      const r = await train(data, { ...base, maxIterations, onIteration: (i) => void seen[i.trial]!.push(i.iteration) });
      const fixed = await train(data, { ...fixedClamp, maxIterations });
      return { r, fixed, reported: seen[r.bestTrial]! };
    };
    // The first trial converges in 136 M-steps; the refit at the sharper clamp continues from
    // there, numbered on, and both runs count.
    const free = await run(0);
    expect(free.r.logLikelihood).toBeGreaterThan(free.fixed.logLikelihood + 100);
    const first = free.fixed.trials[free.r.bestTrial]!.iterations;
    expect(free.r.iterations).toBeGreaterThan(first);
    expect(free.reported).toEqual(Array.from({ length: free.r.iterations + 1 }, (_, i) => i));
    expect(free.r.trials[free.r.bestTrial]!.iterations).toBe(free.r.iterations);
    // The refit is an EM run of its own: up to maxIterations M-steps of its own.
    const capped = await run(first + 3);
    expect(capped.r.iterations).toBe(free.r.iterations);
    expect(capped.r.logLikelihood).toBe(free.r.logLikelihood);
    const short = await run(first - 1);
    expect(short.r.iterations).toBeGreaterThan(first - 1);
    expect(short.r.iterations).toBeLessThanOrEqual(2 * (first - 1));
    expect(short.reported).toEqual(Array.from({ length: short.r.iterations + 1 }, (_, i) => i));
  });

  it('is deterministic for a given seed', async () => {
    const data = rainy(new Rng(22), 600);
    const a = await train(data, base);
    const b = await train(data, base);
    expect(Array.from(b.model.covariances)).toEqual(Array.from(a.model.covariances));
    expect(b.logLikelihood).toBe(a.logLikelihood);
  });

  it('does not run when a feature is nearly constant (the default is then the fixed clamp exactly)', async () => {
    const data = rainy(new Rng(23), 900, true);
    const wide = await train(data, base);
    const fixed = await train(data, fixedClamp);
    expect(Array.from(wide.model.covariances)).toEqual(Array.from(fixed.model.covariances));
    expect(wide.logLikelihood).toBe(fixed.logLikelihood);
  });

  it('leaves the mlpack policy alone', async () => {
    const data = rainy(new Rng(24), 600);
    const r = await train(data, { ...base, covarianceConstraint: 'mlpack' });
    expect(r.trials).toHaveLength(2);
    expect(r.trials[r.bestTrial]!.logLikelihood).toBe(r.logLikelihood);
  });

  it('runs with observation weights (weighted fits, weighted held-out scores)', async () => {
    const rng = new Rng(25);
    const data = rainy(rng, 600);
    const fresh = rainy(rng, 600);
    const w = Array.from({ length: 600 }, (_, i) => (i % 10 === 3 ? 0 : 1 + (i % 3)));
    const r = await train(data, { ...base, observationWeights: w });
    expect(Number.isFinite(r.logLikelihood)).toBe(true);
    expect(Number.isFinite(r.model.logLikelihood(fresh))).toBe(true);
    // The log-likelihood reported is the weighted one of the returned model.
    expect(r.model.logLikelihood(data, w)).toBeCloseTo(r.logLikelihood, 6);
  });
});

describe('the clamp the model was fitted under', () => {
  it('is reported, and a warm start from the model continues at it instead of inflating its covariances', async () => {
    const data = rainy(new Rng(21), 900);
    const wide = await train(data, base);
    // The search sharpened the clamp here (the first test's gain); the result says how far.
    expect(wide.maxCondition).toBeGreaterThan(1e7);
    expect(wide.maxCondition! * wide.varianceFloor!).toBeCloseTo(1e7 * 1e-9, 20);
    const fixed = await train(data, fixedClamp);
    expect([fixed.maxCondition, fixed.varianceFloor]).toEqual([1e7, 1e-9]);
    expect((await train(data, { ...base, covarianceConstraint: 'mlpack' })).maxCondition).toBeUndefined();

    const warm = await train(data, { ...base, trials: 1, inputModel: wide.model });
    expect([warm.maxCondition, warm.varianceFloor]).toEqual([wide.maxCondition, wide.varianceFloor]);
    expect(warm.warnings.join('\n')).toMatch(/`inputModel` needs a sharper covariance clamp than the default: training continues at the level it needs, `maxCondition` 1e\+(8|9) and `varianceFloor` 1e-1[01] \(pass both to set the clamp yourself: one alone leaves the other at its default\)/);
    expect(Math.abs(warm.logLikelihood - wide.logLikelihood)).toBeLessThan(1e-6 * Math.abs(wide.logLikelihood));
    // What the default's clamp does to the same start: every dry-day variance raised.
    const inflated = await train(data, { ...fixedClamp, trials: 1, inputModel: wide.model });
    expect(inflated.logLikelihood).toBeLessThan(wide.logLikelihood - 100);

    // A model within the default clamp continues at the default, silently.
    const plain = await train(data, { ...base, trials: 1, inputModel: fixed.model });
    expect([plain.maxCondition, plain.varianceFloor]).toEqual([1e7, 1e-9]);
    expect(plain.warnings).toEqual([]);
  });

  it('a model sharper than the search\'s × 100 continues at × 100, with a notice that says so and how to keep it', async () => {
    const data = rainy(new Rng(21), 900);
    const sharp = await train(data, { ...base, maxCondition: 1e11, varianceFloor: 1e-13 });
    const warm = await train(data, { ...base, trials: 1, inputModel: sharp.model });
    expect([warm.maxCondition, warm.varianceFloor]).toEqual([1e9, 1e-9 / 100]);
    expect(warm.warnings.join('\n')).toMatch(/needs a sharper covariance clamp than the default even at × 100: training continues at `maxCondition` 1e\+9 and `varianceFloor` 1e-11, which raises its narrowest covariances; pass `maxCondition` and `varianceFloor`/);
    expect(warm.logLikelihood).toBeLessThan(sharp.logLikelihood);
    // Its own knobs, passed back, continue it where it was.
    const own = await train(data, { ...base, trials: 1, inputModel: sharp.model, maxCondition: 1e11, varianceFloor: 1e-13 });
    expect(Math.abs(own.logLikelihood - sharp.logLikelihood)).toBeLessThan(1e-6 * Math.abs(sharp.logLikelihood));
  });

  it('where the search cannot run (a rarely deviating feature), a sharper model continues at the default, with a notice saying how to keep it', async () => {
    // Before: no notice, and the first M-step raised the model's narrowest covariances silently.
    const data = rainy(new Rng(21), 900, true);
    const sharp = await train(data, { ...base, maxCondition: 1e9, varianceFloor: 1e-11 });
    const warm = await train(data, { ...base, trials: 1, inputModel: sharp.model });
    expect([warm.maxCondition, warm.varianceFloor]).toEqual([1e7, 1e-9]);
    expect(warm.warnings.join('\n')).toMatch(/`inputModel` needs a sharper covariance clamp than the default, which this data keeps \(the wider search, which may sharpen it, does not run here\): training continues at `maxCondition` 1e\+7 and `varianceFloor` 1e-9, which raises its narrowest covariances; pass `maxCondition` and `varianceFloor`/);
    expect(warm.logLikelihood).toBeLessThan(sharp.logLikelihood);
    const own = await train(data, { ...base, trials: 1, inputModel: sharp.model, maxCondition: 1e9, varianceFloor: 1e-11 });
    expect(own.warnings.join('\n')).not.toMatch(/sharper covariance clamp/);
    expect(Math.abs(own.logLikelihood - sharp.logLikelihood)).toBeLessThan(1e-6 * Math.abs(sharp.logLikelihood));
  });

  it('is not reported where no clamp acts (noForcePositive, full covariances)', async () => {
    // Three well-separated round clusters: no point mass, so nothing needs the clamp.
    const truth = new GaussianMixture({ weights: [0.3, 0.3, 0.4], means: [[0, 0, 0], [8, 0, 0], [0, 8, 0]], covariances: [[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 1, 0], [0, 0, 1]]] });
    const data = truth.sample(600, 3);
    const r = await train(data, { ...base, noForcePositive: true });
    expect(r.maxCondition).toBeUndefined();
    expect(r.varianceFloor).toBeUndefined();
    expect((await train(data, { ...base, noForcePositive: true, diagonalCovariance: true })).maxCondition).toBe(1e7);
  });

  it('a warm start does not sharpen where the search could not run (here: more than 100 000 points)', async () => {
    const rng = new Rng(21);
    const wide = await train(rainy(rng, 900), base);
    expect(wide.maxCondition).toBeGreaterThan(1e7);
    const many = rainy(rng, 100_001);
    const warm = await train(many, { ...base, trials: 1, maxIterations: 1, inputModel: wide.model });
    expect(warm.maxCondition).toBe(1e7);
    // Said, with how to keep the model's own clamp (before: silently).
    expect(warm.warnings.join('\n')).toMatch(/needs a sharper covariance clamp than the default, which this data keeps/);
    // One point fewer, and it does.
    const fewer = { ...many, data: many.data.subarray(0, 100_000 * 3), rows: 100_000 };
    expect((await train(fewer, { ...base, trials: 1, maxIterations: 1, inputModel: wide.model })).maxCondition).toBe(wide.maxCondition);
  });
});

describe('overruled, then sharpened', () => {
  it('the held-out choice is made at the starting clamp; the sharper refit of the chosen fit can then rise above the one it beat', async () => {
    const r = await train(rainy(new Rng(15), 400), { gaussians: 4, seed: 15, trials: 3, backend: 'cpu' });
    expect(r.overruled).toBe(true);
    expect(r.maxCondition).toBe(1e9);
    expect(r.trials[r.bestTrial]!.logLikelihood).toBe(r.logLikelihood);
    const others = r.trials.filter((_, t) => t !== r.bestTrial).map((t) => t.logLikelihood);
    // The beaten candidate was another trial's (−1120.9 at the starting clamp); the chosen fit at × 100: −685.6.
    expect(r.logLikelihood).toBeGreaterThan(Math.max(...others));
  });
});
