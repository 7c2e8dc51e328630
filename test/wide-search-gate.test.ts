// When the default policy's wider search runs, counted by its EM runs (a spy on runEM): not on
// wide data, whose full covariances are all singular (22 s of refits crawling to maxIterations at
// 50 × 100, against 0.2 s for the narrow search, which gives the same model there).
import { describe, it, expect, vi, beforeEach } from 'vitest';
import { train, type TrainOptions } from '../src/index.js';
import { wideSearchMinPoints } from '../src/train/train.js';
import { runEM } from '../src/train/em.js';
import { Rng } from '../src/util/rng.js';

vi.mock('../src/train/em.js', async (original) => {
  const m = await original<typeof import('../src/train/em.js')>();
  return { ...m, runEM: vi.fn((...args: Parameters<typeof m.runEM>) => m.runEM(...args)) };
});
const runs = runEM as unknown as ReturnType<typeof vi.fn>;

function uniform(seed: number, n: number, d: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.nextFloat()));
}

const options: TrainOptions = { gaussians: 2, seed: 1, trials: 1, backend: 'cpu' };

describe('the wider search needs K·(D + 1) points to fit on (2K for diagonal covariances)', () => {
  beforeEach(() => {
    runs.mockClear();
  });

  it('the threshold', () => {
    expect([wideSearchMinPoints(2, 100, 'full'), wideSearchMinPoints(2, 20, 'full'), wideSearchMinPoints(2, 100, 'diagonal')]).toEqual([202, 42, 4]);
  });

  it('does not run on wide data with full covariances; does with diagonal ones', async () => {
    const wide = uniform(5, 50, 100);
    await train(wide, options);
    expect(runs.mock.calls.length).toBe(1);
    runs.mockClear();
    await train(wide, { ...options, diagonalCovariance: true });
    expect(runs.mock.calls.length).toBeGreaterThan(2);
  });

  it('runs from the threshold on: 80 % of N ≥ K·(D + 1), N counted by positive weight', async () => {
    // K = 2, D = 20: 42 points to fit on, so N = 53 (42.4) runs and N = 52 (41.6) does not.
    const data = uniform(6, 53, 20);
    await train(data, options);
    expect(runs.mock.calls.length).toBeGreaterThan(2);
    runs.mockClear();
    await train(data.slice(0, 52), options);
    expect(runs.mock.calls.length).toBe(1);
    runs.mockClear();
    await train(data, { ...options, observationWeights: data.map((_, i) => (i === 3 ? 0 : 1)) });
    expect(runs.mock.calls.length).toBe(1);
  });
});

describe('nor where one EM iteration is more work than WIDE_SEARCH_MAX_WORK', () => {
  beforeEach(() => {
    runs.mockClear();
  });

  it('24 300 × 100 full, K = 2 (5.03e8 multiply-adds an iteration): one fit; 24 000 (4.96e8): the search', async () => {
    const { wideSearchWork, WIDE_SEARCH_MAX_WORK } = await import('../src/train/train.js');
    expect(wideSearchWork(24_300, 2, 100, 'full')).toBeGreaterThan(WIDE_SEARCH_MAX_WORK);
    expect(wideSearchWork(24_000, 2, 100, 'full')).toBeLessThanOrEqual(WIDE_SEARCH_MAX_WORK);
    expect(wideSearchWork(1000, 3, 10, 'diagonal')).toBe(4 * 1000 * 3 * 10);
    const rng = new Rng(10);
    const n = 24_300, d = 100;
    const data = Float64Array.from({ length: n * d }, () => rng.nextFloat());
    const quick: TrainOptions = { ...options, maxIterations: 1, kmeansMaxIterations: 2 };
    await train({ data, rows: n, cols: d }, quick);
    expect(runs.mock.calls.length).toBe(1);
    runs.mockClear();
    await train({ data: data.subarray(0, 24_000 * d), rows: 24_000, cols: d }, quick);
    expect(runs.mock.calls.length).toBeGreaterThan(2);
  }, 120_000);
});

describe('with noForcePositive and full covariances (no clamp acts)', () => {
  beforeEach(() => {
    runs.mockClear();
  });

  it('no sharper clamps are tried, and maxCondition / varianceFloor get a notice that they do nothing', async () => {
    const data = uniform(7, 300, 3);
    const plain = await train(data, { ...options, noForcePositive: true });
    const searched = runs.mock.calls.length;
    runs.mockClear();
    // The knobs given explicitly turn the ladder off: the same EM runs, the same model.
    const explicit = await train(data, { ...options, noForcePositive: true, maxCondition: 1e7 });
    expect(runs.mock.calls.length).toBe(searched);
    expect(Array.from(explicit.model.covariances)).toEqual(Array.from(plain.model.covariances));
    expect(explicit.warnings).toContainEqual(expect.stringMatching(/`maxCondition` and `varianceFloor` are ignored with `noForcePositive`/));
    expect(plain.warnings.some((w) => /noForcePositive/.test(w))).toBe(false);
    // With the clamp acting, the ladder's refits are there.
    runs.mockClear();
    await train(data, options);
    expect(runs.mock.calls.length).toBe(searched + 2);
  });
});

describe('onSearch reports the wider search\'s silent steps', () => {
  it('each trial\'s second start, each distinct candidate\'s validation, each clamp level; nothing under \'mlpack\' or outside the gate', async () => {
    const rng = new Rng(9);
    const data = Array.from({ length: 400 }, (_, i) => [(i % 3) * 4 + rng.nextNormal(), (i % 3 === 1 ? 3 : 0) + rng.nextNormal(), rng.nextNormal()]);
    const seen: string[] = [];
    runs.mockClear();
    await train(data, { gaussians: 3, seed: 2, trials: 2, backend: 'cpu', onSearch: (s) => seen.push(`${s.step} ${s.trial} ${s.index}/${s.count}`) });
    const starts = seen.filter((s) => s.startsWith('second start'));
    const validations = seen.filter((s) => s.startsWith('validation'));
    const clamps = seen.filter((s) => s.startsWith('clamp'));
    expect(starts).toEqual(['second start 0 1/2', 'second start 1 2/2']);
    expect(validations.length).toBeGreaterThanOrEqual(1);
    validations.forEach((s, i) => expect(s).toMatch(new RegExp(` ${i + 1}/${validations.length}$`)));
    expect(clamps.map((s) => s.replace(/^clamp \d+ /, ''))).toEqual(['1/2', '2/2']);
    expect(seen).toEqual([...starts, ...validations, ...clamps]);
    // One EM run per step and per first start, plus the refit at a sharper clamp when one is taken.
    expect(runs.mock.calls.length - 2 - seen.length).toBeGreaterThanOrEqual(0);
    expect(runs.mock.calls.length - 2 - seen.length).toBeLessThanOrEqual(1);
    seen.length = 0;
    await train(data, { gaussians: 3, seed: 2, trials: 2, backend: 'cpu', covarianceConstraint: 'mlpack', onSearch: (s) => seen.push(s.step) });
    await train(data.slice(0, 12), { gaussians: 3, seed: 2, backend: 'cpu', onSearch: (s) => seen.push(s.step) });
    expect(seen).toEqual([]);
    await expect(train(data, { gaussians: 3, onSearch: 5 as never })).rejects.toThrow(/onSearch must be a function, got 5/);
  });
});
