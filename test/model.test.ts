import { describe, it, expect } from 'vitest';
import { Matrix, inverse, determinant } from 'ml-matrix';
import { GaussianMixture, InvalidModelError, InvalidArgumentError, InvalidDataError, NotPositiveDefiniteError, WebGmmError, train } from '../src/index.js';
import type { WebGmmErrorCode } from '../src/errors.js';
import { Rng } from '../src/util/rng.js';
import { thrown, relErr } from './helpers.js';

const full = new GaussianMixture({
  weights: [0.3, 0.7],
  means: [[0, 1, -1], [4, 4, 2]],
  covariances: [
    [[2, 0.5, 0.2], [0.5, 1, -0.3], [0.2, -0.3, 1.5]],
    [[1, 0, 0.4], [0, 3, 0], [0.4, 0, 0.8]],
  ],
});

/** Independent density: (2π)^(-D/2) |Σ|^(-1/2) exp(-½ (x−μ)ᵀ Σ⁻¹ (x−μ)) with ml-matrix's inverse/determinant. */
function referencePdf(model: GaussianMixture, x: number[]): number {
  const json = model.toJSON();
  let p = 0;
  json.weights.forEach((w, c) => {
    const cov = json.covarianceType === 'full'
      ? new Matrix(json.covariances[c] as number[][])
      : Matrix.diag(json.covariances[c] as number[]);
    const diff = Matrix.columnVector(x.map((v, j) => v - json.means[c]![j]!));
    const m = diff.transpose().mmul(inverse(cov)).mmul(diff).get(0, 0);
    p += w * Math.exp(-0.5 * m) / Math.sqrt((2 * Math.PI) ** x.length * determinant(cov));
  });
  return p;
}

describe('GaussianMixture densities', () => {
  it('logPdf and pdf match an independent evaluation', () => {
    for (const x of [[0, 0, 0], [4, 4, 2], [1, -2, 3], [10, -5, 0]]) {
      const ref = referencePdf(full, x);
      expect(full.pdf(x) / ref).toBeCloseTo(1, 12);
      expect(full.logPdf(x)).toBeCloseTo(Math.log(ref), 10);
    }
  });

  it('a 1-D single Gaussian matches the closed form', () => {
    const g = new GaussianMixture({ weights: [1], means: [[2]], covariances: [[[9]]] });
    expect(g.logPdf([5])).toBeCloseTo(-0.5 * Math.log(2 * Math.PI * 9) - 0.5, 14);
  });

  it('diagonal model equals the full model with the same diagonal', () => {
    const diag = new GaussianMixture({ weights: [0.4, 0.6], means: [[0, 0], [3, 1]], covariances: [[1, 2], [0.5, 4]] });
    expect(diag.covarianceType).toBe('diagonal');
    const asFull = new GaussianMixture({
      weights: [0.4, 0.6], means: [[0, 0], [3, 1]],
      covariances: [[[1, 0], [0, 2]], [[0.5, 0], [0, 4]]],
    });
    for (const x of [[0, 0], [1, 2], [-3, 5]]) expect(diag.logPdf(x)).toBeCloseTo(asFull.logPdf(x), 12);
    expect(diag.parameterCount).toBe(1 + 4 + 4);
    expect(asFull.parameterCount).toBe(1 + 4 + 6);
  });

  it('scoreSamples, logLikelihood, predict and predictProba agree', () => {
    const pts = [[0, 1, -1], [4, 4, 2], [2, 2, 0.5], [-3, 0, 1]];
    const scores = full.scoreSamples(pts);
    pts.forEach((p, i) => expect(scores[i]).toBeCloseTo(full.logPdf(p), 12));
    expect(full.logLikelihood(pts)).toBeCloseTo(scores.reduce((a, b) => a + b, 0), 10);
    expect(full.logLikelihood(pts, [2, 0, 1, 1])).toBeCloseTo(2 * scores[0]! + scores[2]! + scores[3]!, 10);
    const proba = full.predictProba(pts);
    const labels = full.predict(pts);
    expect(proba.rows).toBe(4);
    expect(proba.cols).toBe(2);
    for (let i = 0; i < 4; i++) {
      const row = Array.from(proba.data.subarray(i * 2, i * 2 + 2));
      expect(row[0]! + row[1]!).toBeCloseTo(1, 14);
      expect(labels[i]).toBe(row[0]! >= row[1]! ? 0 : 1);
    }
    expect(Array.from(labels.subarray(0, 2))).toEqual([0, 1]);
    expect(Array.from(full.probabilities(pts))).toEqual(Array.from(scores).map(Math.exp));
  });

  it('clone() is an equal, independent copy', () => {
    const c = full.clone();
    expect(c).not.toBe(full);
    expect(c.toJSON()).toEqual(full.toJSON());
    expect(c.logPdf([1, 2, 0])).toBe(full.logPdf([1, 2, 0]));
    c.means[0] = c.means[0]! + 5;
    expect(c.means[0]).not.toBe(full.means[0]);
  });

  it('a point with no density under any component gets the prior: rows still sum to 1', () => {
    // At 1e300 every Mahalanobis term overflows: log p = −∞ under both components.
    const far = [[1e300, -1e300, 1e300], [0, 1, -1]];
    expect(full.scoreSamples(far)[0]).toBe(-Infinity);
    const proba = full.predictProba(far);
    expect(Array.from(proba.data.subarray(0, 2))).toEqual([0.3, 0.7]);
    expect(full.predict(far)[0]).toBe(1); // the heavier component (weight 0.7)
    expect(Array.from(proba.data.subarray(2, 4))).toEqual(Array.from(full.predictProba([[0, 1, -1]]).data));
  });

  it('far out, a row of predictProba still sums to 1, and a tie stays a tie (log p was ~−5e15: its rounding scaled every entry)', () => {
    const twins = new GaussianMixture({ weights: [0.5, 0.5], means: [[-1, 0], [1, 0]], covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] });
    // [0, y] is equidistant from both means: the posterior is [½, ½] exactly, however far.
    const far = [[0, 1e5], [0, 3e7], [0, 1e8], [0, 2e8]];
    const proba = twins.predictProba(far);
    for (let i = 0; i < far.length; i++) expect(Array.from(proba.data.subarray(2 * i, 2 * i + 2)), `y = ${far[i]![1]}`).toEqual([0.5, 0.5]);
    // One component far ahead of the other: the row still sums to 1 (to rounding).
    const ahead = twins.predictProba([[3e7, 1e8]]).data;
    expect(ahead[0]! + ahead[1]!).toBeCloseTo(1, 15);
  });

  it("a diagonal component's distance is finite wherever a full one's is (x − μ beyond 1.3e154: its square overflowed)", () => {
    const spec = { weights: [0.5, 0.5], means: [[0], [1e160]] };
    const diagonal = new GaussianMixture({ ...spec, covariances: [[1e200], [1e200]] });
    const asFull = new GaussianMixture({ ...spec, covariances: [[[1e200]], [[1e200]]] });
    const points = [[2e155], [9.9e159]];
    const d = diagonal.scoreSamples(points), f = asFull.scoreSamples(points);
    for (let i = 0; i < 2; i++) {
      expect(Number.isFinite(d[i]!)).toBe(true);
      expect(relErr(d[i]!, f[i]!)).toBeLessThan(1e-14);
    }
    expect(Array.from(diagonal.predict(points))).toEqual([0, 1]);
  });

  it('bic and aic follow their definitions', () => {
    const pts = [[0, 1, -1], [4, 4, 2], [2, 2, 0.5]];
    const ll = full.logLikelihood(pts);
    const p = 1 + 6 + 12;
    expect(full.parameterCount).toBe(p);
    expect(full.bic(pts)).toBeCloseTo(-2 * ll + p * Math.log(3), 10);
    expect(full.aic(pts)).toBeCloseTo(-2 * ll + 2 * p, 10);
  });

  it('a component whose distance to the point overflows has density 0, not NaN (full as diagonal)', () => {
    // Means ±1e308: x − μ = −2e308 = −∞ for the far one, and its precision factor's 0 times ∞ was NaN.
    const spec = { weights: [0.5, 0.5], means: [[1e308, 0], [-1e308, 0]] };
    const fullFar = new GaussianMixture({ ...spec, covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] });
    const diagonalFar = new GaussianMixture({ ...spec, covariances: [[1, 1], [1, 1]] });
    // On the first mean: log(0.5) + log N(0 | 0, I) = log 0.5 − log 2π.
    const expected = Math.log(0.5) - Math.log(2 * Math.PI);
    expect(fullFar.logPdf([1e308, 0])).toBeCloseTo(expected, 12);
    expect(diagonalFar.logPdf([1e308, 0])).toBeCloseTo(expected, 12);
    expect(Array.from(fullFar.predictProba([[1e308, 0]]).data)).toEqual([1, 0]);
    expect(fullFar.logLikelihood([[1e308, 0], [-1e308, 0]])).toBeCloseTo(2 * expected, 12);
  });

  it('accepts covariance entries beyond half of float64\'s range (symmetrizing them overflowed to ∞: "not positive definite")', () => {
    const m = new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1e308, 0.9e308], [0.9e308, 1e308]]] });
    expect(Array.from(m.covariances)).toEqual([1e308, 0.9e308, 0.9e308, 1e308]);
    expect(Number.isFinite(m.logPdf([0, 0]))).toBe(true);
  });
});

describe('GaussianMixture.sample', () => {
  it('draws from the mixture: weights, means and covariances within sampling error', () => {
    const n = 100_000;
    const s = full.sample(n, 12345);
    expect(s.rows).toBe(n);
    const labels = full.predict(s);
    // Components are well separated, so the most likely component is almost always the source.
    let count0 = 0;
    for (const l of labels) if (l === 0) count0++;
    expect(Math.abs(count0 / n - 0.3)).toBeLessThan(0.01);
    const d = 3;
    const json = full.toJSON();
    for (let c = 0; c < 2; c++) {
      const mean = new Float64Array(d);
      let m = 0;
      for (let i = 0; i < n; i++) if (labels[i] === c) { m++; for (let j = 0; j < d; j++) mean[j]! += s.data[i * d + j]!; }
      for (let j = 0; j < d; j++) expect(Math.abs(mean[j]! / m - json.means[c]![j]!)).toBeLessThan(0.05);
      const cov = new Float64Array(d * d);
      for (let i = 0; i < n; i++) if (labels[i] === c) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b]! += (s.data[i * d + a]! - mean[a]! / m) * (s.data[i * d + b]! - mean[b]! / m);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) expect(Math.abs(cov[a * d + b]! / m - (json.covariances[c] as number[][])[a]![b]!)).toBeLessThan(0.08);
    }
  });

  it('same seed, same points; different seed, different points', () => {
    expect(Array.from(full.sample(10, 7).data)).toEqual(Array.from(full.sample(10, 7).data));
    expect(Array.from(full.sample(10, 7).data)).not.toEqual(Array.from(full.sample(10, 8).data));
  });
});

describe('GaussianMixture validation and plain-object form', () => {
  it('round-trips through JSON', () => {
    const again = new GaussianMixture(JSON.parse(JSON.stringify(full)));
    expect(Array.from(again.means)).toEqual(Array.from(full.means));
    expect(Array.from(again.covariances)).toEqual(Array.from(full.covariances));
    expect(Array.from(again.weights)).toEqual(Array.from(full.weights));
  });

  it('symmetrizes covariances that are symmetric only to rounding', () => {
    const g = new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[2, 0.5 + 1e-15], [0.5, 1]]] });
    expect(g.covariances[1]).toBe(g.covariances[2]);
  });

  it.each([
    ['weights not summing to 1', { weights: [0.5, 0.4], means: [[0], [1]], covariances: [[[1]], [[1]]] }, /sum to 0.9/],
    ['negative weight', { weights: [1.5, -0.5], means: [[0], [1]], covariances: [[[1]], [[1]]] }, /weights\[1\] = -0.5/],
    ['mean count', { weights: [1], means: [[0], [1]], covariances: [[[1]]] }, /1 weights but 2 means/],
    ['mean dimension', { weights: [0.5, 0.5], means: [[0, 0], [1]], covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] }, /means\[1\] must have 2 values/],
    ['covariance shape', { weights: [1], means: [[0, 0]], covariances: [[[1, 0]]] }, /covariances\[0\] must be a 2×2 matrix/],
    ['asymmetric covariance', { weights: [1], means: [[0, 0]], covariances: [[[1, 0.5], [0.4, 1]]] }, /not symmetric/],
    ['not positive definite', { weights: [1], means: [[0, 0]], covariances: [[[1, 2], [2, 1]]] }, /component 0 is not positive definite/],
    ['non-positive variance', { weights: [1], means: [[0, 0]], covariances: [[1, 0]] }, /variances must be finite and > 0/],
    ['NaN mean', { weights: [1], means: [[0, NaN]], covariances: [[1, 1]] }, /means\[0\]\[1\] = NaN/],
    // Its precision 1/v overflows; the point at the mean scored −Infinity (0 × ∞ = NaN).
    ['diagonal variance without a finite reciprocal', { weights: [1], means: [[0, 0]], covariances: [[1, 1e-309]] }, /covariances\[0\]\[1\] = 1e-309: a variance this small \(about 5\.6e-309 or less\) has no finite reciprocal/],
  ])('rejects %s', (_name, json, message) => {
    expect(() => new GaussianMixture(json as never)).toThrow(InvalidModelError);
    expect(() => new GaussianMixture(json as never)).toThrow(message);
  });

  it('rejects data of the wrong dimension', () => {
    expect(() => full.predict([[1, 2]])).toThrow(/2 columns but the model has dimensionality 3/);
  });
});


describe('GaussianMixture point validation', () => {
  const pts = [[0, 1, -1], [4, 4, 2], [2, 2, 0.5]];

  it('logPdf and pdf reject a missing point, strings, non-arrays and NaN as the matrix methods do', () => {
    for (const f of [(x: unknown) => full.logPdf(x as never), (x: unknown) => full.pdf(x as never)]) {
      thrown(() => f(null), InvalidDataError, /^x: is missing$/);
      thrown(() => f(undefined), InvalidDataError, /^x: is missing$/);
      thrown(() => f('123'), InvalidDataError, /^x: must be one point, an array of 3 numbers, got "123"$/);
      thrown(() => f(7), InvalidDataError, /^x: must be one point, an array of 3 numbers, got 7$/);
      thrown(() => f(['1', '2', '3']), InvalidDataError, /^x: value 1 \(index 0\) is not a number \(string\)$/);
      const e = thrown(() => f([0, NaN, 1]), InvalidDataError, /^x: value 2 \(index 1\) is NaN \(every value must be finite\)$/);
      expect(e.column).toBe(1);
      thrown(() => f(new Float64Array([0, 1, Infinity])), InvalidDataError, /^x: value 3 \(index 2\) is Infinity/);
      thrown(() => f([1, 2]), InvalidArgumentError, /^point has 2 values but the model has dimensionality 3$/);
    }
    const one = new GaussianMixture({ weights: [1], means: [[0]], covariances: [[1]] });
    thrown(() => one.logPdf([[1]] as never), InvalidDataError, /^x: is an array holding one point; logPdf and pdf take one point \(an array of 1 numbers\); use scoreSamples/);
    // Several points where one belongs are named as such whatever their count (not "has 1 values").
    thrown(() => full.logPdf([[1, 2, 3]] as never), InvalidDataError, /^x: is an array holding one point; logPdf and pdf take one point \(an array of 3 numbers\); use scoreSamples or probabilities for several$/);
    thrown(() => full.pdf([[1, 2, 3], [4, 5, 6]] as never), InvalidDataError, /^x: is 2 points; logPdf and pdf take one point/);
    // The matrix methods reject the same NaN with the same wording.
    for (const f of [
      (d: number[][]) => full.probabilities(d), (d: number[][]) => full.scoreSamples(d), (d: number[][]) => full.predict(d),
      (d: number[][]) => full.predictProba(d), (d: number[][]) => full.logLikelihood(d), (d: number[][]) => full.bic(d), (d: number[][]) => full.aic(d),
    ]) {
      thrown(() => f([[0, NaN, 1]]), InvalidDataError, /^data: row 1 \(index 0\), column 2 \(index 1\) is NaN \(every value must be finite\)$/);
      thrown(() => f(null as never), InvalidDataError, /^data: is missing$/);
      thrown(() => f([['1', '2', '3']] as never), InvalidDataError, /^data: row 1 \(index 0\), column 1 \(index 0\) is not a number \(string\)$/);
    }
  });

  it('valid points give the same values as before: typed arrays, Float32Array, plain arrays', () => {
    const x = [1, -2, 3];
    expect(full.logPdf(new Float64Array(x))).toBe(full.logPdf(x));
    expect(full.logPdf(new Float32Array(x))).toBe(full.logPdf(x));
    expect(full.pdf(x)).toBe(Math.exp(full.logPdf(x)));
    expect(full.logPdf(x)).toBe(full.scoreSamples([x])[0]);
  });

  it('logLikelihood checks observation weights as train() does', () => {
    const cases: [unknown, RegExp][] = [
      [[1, NaN, 1], /^observationWeights\[1\] = NaN: weights must be finite and ≥ 0$/],
      [[1, 1, -2], /^observationWeights\[2\] = -2: weights must be finite and ≥ 0$/],
      [[1, '1', 1], /^observationWeights\[1\] = "1": weights must be finite and ≥ 0$/],
      [[1, 1], /^observationWeights has 2 entries but the data has 3 points$/],
      [[1, 1, 1, 1], /^observationWeights has 4 entries but the data has 3 points$/],
      [[0, 0, 0], /^observationWeights are all zero$/],
      [null, /^observationWeights must be an array of numbers, one per point, got null$/],
      [5, /^observationWeights must be an array of numbers, one per point, got 5$/],
    ];
    for (const [w, message] of cases) {
      const e = thrown(() => full.logLikelihood(pts, w as never), InvalidArgumentError, message);
      expect(e.parameter).toBe('observationWeights');
    }
    // Valid weights, typed or plain, weigh as before.
    const scores = full.scoreSamples(pts);
    expect(full.logLikelihood(pts, new Float64Array([2, 0, 1]))).toBe(2 * scores[0]! + 0 * scores[1]! + scores[2]!);
    expect(full.logLikelihood(pts, undefined)).toBe(full.logLikelihood(pts));
    // A point of weight 0 is absent even where its density underflows to 0 (no 0 · −∞ = NaN).
    const far = [...pts, [1e200, 0, 0]];
    expect(full.scoreSamples(far)[3]).toBe(-Infinity);
    expect(full.logLikelihood(far, [2, 0, 1, 0])).toBe(full.logLikelihood(pts, [2, 0, 1]));
  });
});

describe('GaussianMixture.sample argument checks', () => {
  it.each([
    [1.5, /^seed must be an integer of magnitude ≤ 2\^53 − 1 \(0 = from the clock\), got 1.5$/],
    [NaN, /^seed must be an integer of magnitude ≤ 2\^53 − 1 \(0 = from the clock\), got NaN$/],
    [Infinity, /^seed must be an integer of magnitude ≤ 2\^53 − 1 \(0 = from the clock\), got Infinity$/],
    [2 ** 60, /^seed must be an integer of magnitude ≤ 2\^53 − 1 \(0 = from the clock\), got 1152921504606847000$/],
    ['7', /^seed must be an integer of magnitude ≤ 2\^53 − 1 \(0 = from the clock\), got "7"$/],
  ])('rejects seed %s as train() does', (seed, message) => {
    const e = thrown(() => full.sample(2, seed as never), InvalidArgumentError, message);
    expect(e.parameter).toBe('seed');
  });

  it('rejects a bad n, and keeps integer seeds (negative ones too, as train() does) working', () => {
    thrown(() => full.sample(2.5, 1), InvalidArgumentError, /^number of samples must be a non-negative integer, got 2.5$/);
    thrown(() => full.sample('2' as never, 1), InvalidArgumentError, /^number of samples must be a non-negative integer, got "2"$/);
    expect(Array.from(full.sample(3, -5).data)).toEqual(Array.from(full.sample(3, -5).data));
    expect(Array.from(full.sample(3, -5).data)).not.toEqual(Array.from(full.sample(3, 5).data));
  });
});

describe('GaussianMixture.fromArrays validation', () => {
  const w = () => Float64Array.from([0.4, 0.6]);
  const mu = () => Float64Array.from([0, 0, 3, 1]);
  const diag = () => Float64Array.from([1, 2, 0.5, 4]);
  const fullCov = () => Float64Array.from([1, 0.2, 0.2, 2, 0.5, 0, 0, 4]);

  it('builds the same model as the constructor from valid arrays, without copying', () => {
    const weights = w(), means = mu(), cov = fullCov();
    const m = GaussianMixture.fromArrays('full', weights, means, cov);
    expect(m.weights).toBe(weights);
    expect(m.covariances).toBe(cov);
    const ref = new GaussianMixture(m.toJSON());
    expect(m.logPdf([1, 2])).toBe(ref.logPdf([1, 2]));
    expect(GaussianMixture.fromArrays('diagonal', w(), mu(), diag()).logPdf([1, 2])).toBe(
      new GaussianMixture({ weights: [0.4, 0.6], means: [[0, 0], [3, 1]], covariances: [[1, 2], [0.5, 4]] }).logPdf([1, 2]),
    );
  });

  it.each([
    ['an unknown covariance type', () => GaussianMixture.fromArrays('spherical' as never, w(), mu(), diag()), /^covarianceType must be 'full' or 'diagonal', got "spherical"$/],
    ['NaN weights', () => GaussianMixture.fromArrays('diagonal', Float64Array.from([NaN, 1]), mu(), diag()), /^weights\[0\] = NaN: weights must be finite and ≥ 0$/],
    ['negative weights', () => GaussianMixture.fromArrays('diagonal', Float64Array.from([1.5, -0.5]), mu(), diag()), /^weights\[1\] = -0.5: weights must be finite and ≥ 0$/],
    ['weights not summing to 1', () => GaussianMixture.fromArrays('diagonal', Float64Array.from([0.5, 0.4]), mu(), diag()), /^weights sum to 0.9, not 1/],
    ['no weights', () => GaussianMixture.fromArrays('diagonal', new Float64Array(0), mu(), diag()), /^weights is empty/],
    ['plain-array weights', () => GaussianMixture.fromArrays('diagonal', [0.4, 0.6] as never, mu(), diag()), /^weights must be a Float64Array, got an array$/],
    ['means not K×D', () => GaussianMixture.fromArrays('diagonal', w(), Float64Array.from([0, 0, 3]), diag()), /^means has 3 values, which is not K×D for the K = 2 weights/],
    ['NaN means', () => GaussianMixture.fromArrays('diagonal', w(), Float64Array.from([0, 0, 3, NaN]), diag()), /^means\[1\]\[1\] = NaN is not a finite number$/],
    ['covariances of the wrong length', () => GaussianMixture.fromArrays('full', w(), mu(), diag()), /^covariances has 4 values but full covariances of 2 components in 2 dimensions need 8 \(K×D×D\)$/],
    ['NaN covariances', () => GaussianMixture.fromArrays('full', w(), mu(), Float64Array.from([1, 0, 0, 1, 1, 0, 0, NaN])), /^covariances\[1\]\[1\]\[1\] = NaN is not a finite number$/],
    ['NaN variances', () => GaussianMixture.fromArrays('diagonal', w(), mu(), Float64Array.from([1, NaN, 1, 1])), /^covariances\[0\]\[1\] = NaN: variances must be finite and > 0$/],
    ['a variance without a finite reciprocal', () => GaussianMixture.fromArrays('diagonal', w(), mu(), Float64Array.from([1, 1, 4e-309, 1])), /^covariances\[1\]\[0\] = 4e-309: a variance this small/],
    ['asymmetric covariances', () => GaussianMixture.fromArrays('full', w(), mu(), Float64Array.from([1, 0.5, 0.4, 1, 1, 0, 0, 1])), /^covariances\[0\] is not symmetric/],
  ])('rejects %s with InvalidModelError', (_name, f, message) => {
    thrown(f, InvalidModelError, message);
  });

  it('still reports non-positive-definite covariances (variances ≤ 0 included) as NotPositiveDefiniteError', () => {
    const e = thrown(() => GaussianMixture.fromArrays('diagonal', w(), mu(), Float64Array.from([1, 1, 0, 1])), NotPositiveDefiniteError, /^covariance of component 1 is not positive definite$/);
    expect(e.component).toBe(1);
    thrown(() => GaussianMixture.fromArrays('full', w(), mu(), Float64Array.from([1, 2, 2, 1, 1, 0, 0, 1])), NotPositiveDefiniteError, /component 0 is not positive definite/);
  });
});

describe('GaussianMixture plain-object shapes', () => {
  it('accepts typed-array rows and vectors, with the same result as nested arrays', () => {
    const nested = {
      weights: [0.3, 0.7], means: [[0, 1], [4, 4]],
      covariances: [[[2, 0.5], [0.5, 1]], [[1, 0], [0, 3]]],
    };
    const typed = new GaussianMixture({
      weights: Float64Array.from(nested.weights),
      means: nested.means.map((m) => Float64Array.from(m)),
      covariances: nested.covariances.map((c) => c.map((r) => Float64Array.from(r))),
    });
    expect(typed.covarianceType).toBe('full');
    const ref = new GaussianMixture(nested);
    expect(Array.from(typed.covariances)).toEqual(Array.from(ref.covariances));
    expect(typed.logPdf([1, 2])).toBe(ref.logPdf([1, 2]));
    const diag = new GaussianMixture({ weights: [1], means: [Float32Array.from([0, 1])], covariances: [Float64Array.from([2, 3])] });
    expect(diag.covarianceType).toBe('diagonal');
    expect(Array.from(diag.covariances)).toEqual([2, 3]);
  });

  it.each([
    ['full matrices under covarianceType diagonal',
      { covarianceType: 'diagonal', weights: [0.5, 0.5], means: [[0, 0], [1, 1]], covariances: [[[1.09, -0.16], [-0.16, 1]], [[1, 0], [0, 1]]] },
      /^diagonal covariances are K arrays of D variances; got a 2×2 matrix at model\.covariances\[0\]/],
    ['variance vectors under covarianceType full',
      { covarianceType: 'full', weights: [1], means: [[0, 0]], covariances: [[1, 2]] },
      /^full covariances are K matrices of D×D values; got an array of 2 numbers at model\.covariances\[0\] \(for variances, set covarianceType: 'diagonal'\)$/],
    ['an unknown covariance type', { covarianceType: 'spherical', weights: [1], means: [[0]], covariances: [[1]] },
      /^model\.covarianceType must be 'full' or 'diagonal', got "spherical"$/],
    ['a short means[0] when the others agree',
      { weights: [0.2, 0.3, 0.5], means: [[0], [1, 1], [2, 2]], covariances: [[1, 1], [1, 1], [1, 1]] },
      /^model\.means\[0\] must have 2 values \(the length of 2 of the 3 means and 3 of the 3 covariances\), got 1$/],
    ['a short means[0] of two, the covariances deciding',
      { weights: [0.5, 0.5], means: [[0], [1, 1]], covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] },
      /^model\.means\[0\] must have 2 values .*got 1$/],
    ['a mean that is not an array', { weights: [0.5, 0.5], means: [[0], 'x'], covariances: [[1], [1]] },
      /^model\.means\[1\] must be a non-empty array of numbers, got "x"$/],
    ['a string weight', { weights: ['1'], means: [[0]], covariances: [[1]] }, /^model\.weights\[0\] = "1": weights must be finite and ≥ 0$/],
    ['a string covariance entry', { weights: [1], means: [[0, 0]], covariances: [[[1, '0'], [0, 1]]] }, /^model\.covariances\[0\]\[0\]\[1\] = "0" is not a number$/],
  ])('rejects %s', (_name, json, message) => {
    thrown(() => new GaussianMixture(json as never), InvalidModelError, message);
  });
});

describe('seeds: every integer its own stream', () => {
  /** The first four 32-bit outputs of a seed's stream. */
  const head = (seed: number): number[] => {
    const r = new Rng(seed);
    return [r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()];
  };

  it('positive seeds keep their streams exactly (recorded before negative seeds were separated)', () => {
    const recorded: [number, number[]][] = [
      [1, [2442144158, 3238099751, 3819917871, 2104621829]],
      [2, [2098143281, 4211684960, 3213800981, 2517947280]],
      [42, [2837322924, 544945897, 479756282, 3500138142]],
      [12345, [518667457, 440444462, 4232892992, 3757857622]],
      [1540483476, [3537317582, 919114807, 3657648937, 3217131457]],
      [2 ** 32 + 7, [225562631, 1658643468, 1496529989, 4030958223]],
      [Number.MAX_SAFE_INTEGER, [3350792287, 1135377193, 4262086634, 660163075]],
    ];
    for (const [seed, values] of recorded) expect(head(seed), `seed ${seed}`).toEqual(values);
  });

  it('a negative seed no longer gives the stream of a positive one (−s was s ^ 0x5bd1e995)', () => {
    expect(Array.from(full.sample(5, -1).data)).not.toEqual(Array.from(full.sample(5, 1540483476).data));
    for (let s = 1; s <= 2000; s++) {
      const neg = head(-s);
      expect(neg).not.toEqual(head((s ^ 0x5bd1e995) >>> 0));
      // …nor of +s, from the very first output (the sign is not a fixed one-bit difference).
      expect(neg[0]).not.toBe(head(s)[0]);
    }
    for (const s of [2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) expect(head(-s)).not.toEqual(head(s));
    // Negative seeds are still reproducible, and distinct from each other.
    expect(head(-7)).toEqual(head(-7));
    expect(new Set(Array.from({ length: 1000 }, (_, i) => head(-(i + 1)).join())).size).toBe(1000);
  });
});

describe('GaussianMixture methods on no points', () => {
  const k = full.gaussians;

  it('return empty results of the right type and shape', () => {
    for (const empty of [[], full.sample(0, 1), { data: new Float32Array(0), rows: 0, cols: 3 }, new Matrix(0, 3), new Matrix(0, 0)]) {
      const labels = full.predict(empty);
      expect(labels).toBeInstanceOf(Int32Array);
      expect(labels.length).toBe(0);
      const proba = full.predictProba(empty);
      expect(proba.data).toBeInstanceOf(Float64Array);
      expect([proba.data.length, proba.rows, proba.cols]).toEqual([0, 0, k]);
      const scores = full.scoreSamples(empty);
      expect(scores).toBeInstanceOf(Float64Array);
      expect(scores.length).toBe(0);
      expect(full.probabilities(empty).length).toBe(0);
      expect(full.logLikelihood(empty)).toBe(0);
      expect(full.logLikelihood(empty, [])).toBe(0);
      expect(full.logLikelihood(empty, new Float64Array(0))).toBe(0);
      expect(full.aic(empty)).toBe(2 * full.parameterCount);
    }
  });

  it('still check what they are given', () => {
    thrown(() => full.predict({ data: new Float64Array(0), rows: 0, cols: 2 }), InvalidArgumentError, /^data has 2 columns but the model has dimensionality 3$/);
    thrown(() => full.predict(new Matrix(0, 2)), InvalidArgumentError, /^data has 2 columns but the model has dimensionality 3$/);
    thrown(() => full.predict({ data: new Float64Array(0), rows: -1, cols: 3 }), InvalidDataError, /^data: rows must be a non-negative integer, got -1$/);
    thrown(() => full.predict({ data: new Float64Array(0), rows: 0, cols: 0 }), InvalidDataError, /^data: cols must be a positive integer, got 0$/);
    // A string that reads as a valid count is shown as the string it is.
    thrown(() => full.predict({ data: new Float64Array(6), rows: '2', cols: 3 } as never), InvalidDataError, /^data: rows must be a non-negative integer, got "2"$/);
    thrown(() => full.predict({ data: new Float64Array(6), rows: 2, cols: '3' } as never), InvalidDataError, /^data: cols must be a positive integer, got "3"$/);
    thrown(() => full.logLikelihood([], [1]), InvalidArgumentError, /^observationWeights has 1 entries but the data has 0 points$/);
    thrown(() => full.logLikelihood([], 5 as never), InvalidArgumentError, /^observationWeights must be an array of numbers/);
    // log N of no points: no BIC.
    thrown(() => full.bic([]), InvalidDataError, /^data: has no rows \(BIC needs at least one point/);
  });

  it('train() still needs at least one point', async () => {
    await expect(train([], { gaussians: 1, seed: 1, backend: 'cpu' })).rejects.toThrow(/^data: has no rows$/);
    await expect(train(full.sample(0, 1), { gaussians: 1, seed: 1, backend: 'cpu' })).rejects.toThrow(/^data: rows must be a positive integer, got 0$/);
    await expect(train(new Matrix(0, 3), { gaussians: 1, seed: 1, backend: 'cpu' })).rejects.toThrow(InvalidDataError);
  });
});

describe('GaussianMixture from a model, or a structuredClone of one', () => {
  const diag = new GaussianMixture({ weights: [0.4, 0.6], means: [[0, 0], [3, 1]], covariances: [[1, 2], [0.5, 4]] });

  it('accepts the packed form a model holds, as new GaussianMixture(model.toJSON()) would', () => {
    for (const m of [full, diag]) {
      for (const input of [m, structuredClone(m), { ...structuredClone(m), gaussians: undefined, dimensionality: undefined }]) {
        const again = new GaussianMixture(input);
        expect(again).not.toBe(m);
        expect(again.means).not.toBe(m.means); // copied
        expect(again.covarianceType).toBe(m.covarianceType);
        expect(again.toJSON()).toEqual(m.toJSON());
        expect(again.logPdf([1, 2, 0].slice(0, m.dimensionality))).toBe(m.logPdf([1, 2, 0].slice(0, m.dimensionality)));
      }
      expect(GaussianMixture.from(structuredClone(m)).toJSON()).toEqual(m.toJSON());
      expect(GaussianMixture.from(m)).toBe(m);
    }
  });

  it('rejects an inconsistent packed form, saying what it got and what to use instead', () => {
    const packed = () => structuredClone(full) as unknown as Record<string, unknown>;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...packed(), covarianceType: undefined }, /^model\.means is a Float64Array of 6 values \(the packed K×D form a GaussianMixture holds\): the packed form needs its covarianceType .* or pass the model itself \(GaussianMixture\.from\(model\), or model\.clone\(\) for a copy\), GaussianMixture\.fromArrays/],
      [{ ...packed(), dimensionality: 2 }, /^model\.means is a Float64Array of 6 values .*, but 2 weights and dimensionality 2 need 4 \(K×D\)$/],
      [{ ...packed(), dimensionality: '3' }, /^model\.dimensionality must be a positive integer, got "3"$/],
      [{ ...packed(), gaussians: 3 }, /^model\.gaussians is 3 but model\.weights has 2 weights$/],
      [{ ...packed(), means: new Float64Array(5), dimensionality: undefined }, /^model\.means is a Float64Array of 5 values .*, which is not K×D for the K = 2 weights/],
      [{ ...packed(), covariances: full.toJSON().covariances }, /^model\.means is a Float64Array of 6 values .*, but model\.covariances is an array: packed means go with packed covariances \(a typed array of 18 values, K×D×D\); or pass the model itself/],
      [{ ...packed(), covariances: new Float64Array(6) }, /^model\.covariances has 6 values but full covariances of 2 components in 3 dimensions need 18 \(K×D×D\)$/],
      [{ ...packed(), means: Float64Array.from([0, 1, NaN, 4, 4, 2]) }, /^model\.means\[0\]\[2\] = NaN is not a finite number$/],
      [{ ...packed(), means: new BigInt64Array(6) }, /^model\.means\[0\]\[0\] = 0n is not a number$/],
      [{ ...packed(), weights: Float64Array.from([0.5, 0.4]) }, /^model\.weights sum to 0\.9/],
    ];
    for (const [input, message] of cases) thrown(() => new GaussianMixture(input as never), InvalidModelError, message);
    const asym = packed();
    (asym.covariances as Float64Array)[1] = 0.6;
    thrown(() => new GaussianMixture(asym as never), InvalidModelError, /^model\.covariances\[0\] is not symmetric/);
    const npd = packed();
    (npd.covariances as Float64Array).set([1, 2, 0, 2, 1, 0, 0, 0, 1], 9);
    expect(thrown(() => new GaussianMixture(npd as never), NotPositiveDefiniteError, /^covariance of component 1 is not positive definite$/).component).toBe(1);
  });

  it('says what it got for other shapes of means and covariances', () => {
    thrown(() => new GaussianMixture({ weights: [0.5, 0.5] } as never), InvalidModelError, /^model\.means must hold one mean per component: 2 weights but no means$/);
    thrown(() => new GaussianMixture({ weights: [0.5, 0.5], means: 'x' } as never), InvalidModelError, /^model\.means must hold one mean per component: 2 weights but means is "x"$/);
    thrown(() => new GaussianMixture({ weights: [1], means: [[0]] } as never), InvalidModelError, /^model\.covariances must hold one covariance per component: 1 weights but no covariances$/);
    thrown(() => new GaussianMixture({ weights: [1], means: [[0]], covariances: new Float64Array(1) } as never), InvalidModelError, /^model\.covariances must hold one covariance per component: 1 weights but covariances is a Float64Array$/);
  });
});

describe('non-positive-definite covariances', () => {
  it('are a NotPositiveDefiniteError naming the component from the constructor, as from fromArrays', () => {
    const e = thrown(
      () => new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [1, 1]], covariances: [[[1, 0], [0, 1]], [[1, 2], [2, 1]]] }),
      NotPositiveDefiniteError,
      /^covariance of component 1 is not positive definite$/,
    );
    expect(e.component).toBe(1);
    expect(e.code).toBe('NOT_POSITIVE_DEFINITE');
    expect(e.name).toBe('NotPositiveDefiniteError');
    const v = thrown(() => new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [1, 1]], covariances: [[1, 1], [1, 0]] }), NotPositiveDefiniteError, /^model\.covariances\[1\]\[1\] = 0: variances must be finite and > 0$/);
    expect(v.component).toBe(1);
    // A NaN variance is not a question of definiteness.
    const nan = thrown(() => new GaussianMixture({ weights: [1], means: [[0]], covariances: [[NaN]] }), InvalidModelError, /variances must be finite/);
    expect(nan).not.toBeInstanceOf(NotPositiveDefiniteError);
  });

  it('are InvalidModelErrors too, whichever way the model was built, with their own code', () => {
    const fromArrays = thrown(() => GaussianMixture.fromArrays('full', Float64Array.from([1]), Float64Array.from([0, 0]), Float64Array.from([1, 2, 2, 1])), NotPositiveDefiniteError, /component 0/);
    expect(fromArrays).toBeInstanceOf(InvalidModelError);
    expect(fromArrays).toBeInstanceOf(WebGmmError);
    expect(fromArrays.code).toBe('NOT_POSITIVE_DEFINITE');
    expect(() => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1, 2], [2, 1]]] })).toThrow(InvalidModelError);
    // train() still reports a bad inputModel as an InvalidArgumentError naming it.
    return expect(train([[0, 0], [1, 1], [2, 0]], { gaussians: 1, seed: 1, backend: 'cpu', inputModel: { weights: [1], means: [[0, 0]], covariances: [[[1, 2], [2, 1]]] } }))
      .rejects.toThrow(/^inputModel is invalid: covariance of component 0 is not positive definite$/);
  });

  it('error codes are the documented union', () => {
    const codes: WebGmmErrorCode[] = [
      new InvalidArgumentError('x', 'm').code, new InvalidDataError('m').code, new InvalidModelError('m').code,
      new NotPositiveDefiniteError(0, 'm').code, new WebGmmError('NO_WEBGPU', 'm').code,
    ];
    expect(codes).toEqual(['INVALID_ARGUMENT', 'INVALID_DATA', 'INVALID_MODEL', 'NOT_POSITIVE_DEFINITE', 'NO_WEBGPU']);
  });
});

// Behaviour a mutation audit found unpinned: each expectation from the documented rule or an
// analytic result.
describe('GaussianMixture: rules pinned by a mutation audit', () => {
  it('predict gives a tie to the lower component index (mlpack: index_max)', () => {
    const m = new GaussianMixture({ weights: [0.5, 0.5], means: [[-1], [1]], covariances: [[1], [1]] });
    expect(Array.from(m.predict([[0]]))).toEqual([0]);
  });

  it('sample() of a diagonal model draws with the standard deviations (variances 4 and 0.25)', () => {
    const m = new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[4, 0.25]] });
    const s = m.sample(100_000, 3);
    let v0 = 0;
    let v1 = 0;
    for (let i = 0; i < s.rows; i++) {
      v0 += s.data[2 * i]! ** 2;
      v1 += s.data[2 * i + 1]! ** 2;
    }
    // Standard errors of these means of squares: 4·√(2/N) ≈ 0.018, 0.25·√(2/N) ≈ 0.0011.
    expect(Math.abs(v0 / s.rows - 4)).toBeLessThan(0.1);
    expect(Math.abs(v1 / s.rows - 0.25)).toBeLessThan(0.006);
  });

  it('renormalizes weights off by more than rounding but within 1e-6, and refuses a covariance asymmetric beyond 1e-8', () => {
    const m = new GaussianMixture({ weights: [0.3, 0.7000004], means: [[0], [1]], covariances: [[1], [1]] });
    expect(m.weights[0]).toBe(0.3 / 1.0000004);
    expect(() => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1, 0.5 + 1e-6], [0.5, 1]]] })).toThrow(/not symmetric/);
  });
});
