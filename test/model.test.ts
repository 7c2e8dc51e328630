import { describe, it, expect } from 'vitest';
import { Matrix, inverse, determinant } from 'ml-matrix';
import { GaussianMixture, InvalidModelError } from '../src/index.js';

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

  it('bic and aic follow their definitions', () => {
    const pts = [[0, 1, -1], [4, 4, 2], [2, 2, 0.5]];
    const ll = full.logLikelihood(pts);
    const p = 1 + 6 + 12;
    expect(full.parameterCount).toBe(p);
    expect(full.bic(pts)).toBeCloseTo(-2 * ll + p * Math.log(3), 10);
    expect(full.aic(pts)).toBeCloseTo(-2 * ll + 2 * p, 10);
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
  ])('rejects %s', (_name, json, message) => {
    expect(() => new GaussianMixture(json as never)).toThrow(InvalidModelError);
    expect(() => new GaussianMixture(json as never)).toThrow(message);
  });

  it('rejects data of the wrong dimension', () => {
    expect(() => full.predict([[1, 2]])).toThrow(/2 columns but the model has dimensionality 3/);
  });
});
