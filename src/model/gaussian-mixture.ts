/**
 * A Gaussian mixture model: weights, means and covariances (full, or diagonal stored as variances),
 * with density evaluation, prediction and sampling on the CPU in float64.
 */
import { InvalidModelError, InvalidArgumentError, NotPositiveDefiniteError } from '../errors.js';
import { toDataset, type DataInput, type DenseMatrix, type Dataset, type Values } from '../data.js';
import { choleskyInPlace, invertLower, logDetFromCholesky, asymmetry, symmetrizeInPlace } from '../util/linalg.js';
import { Rng, seedFromClock } from '../util/rng.js';

export type CovarianceType = 'full' | 'diagonal';

/**
 * The plain-object form of a model (JSON-friendly, row-major nested arrays).
 * `covariances` is K×D×D for `'full'` and K×D variances for `'diagonal'`; when `covarianceType` is
 * omitted it is inferred from the nesting depth.
 */
export interface GaussianMixtureJSON {
  covarianceType?: CovarianceType;
  weights: number[];
  means: number[][];
  covariances: number[][][] | number[][];
}

/** Relative tolerance for symmetry of covariances from files or other programs (rounding ~1e-16). */
export const SYMMETRY_TOLERANCE = 1e-8;
/** Weights must sum to 1 within this. */
export const WEIGHT_SUM_TOLERANCE = 1e-6;

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * A Gaussian mixture with K components in D dimensions.
 *
 * Construct it from the plain-object form (`new GaussianMixture({ weights, means, covariances })`),
 * which is validated: weights ≥ 0 summing to 1 (within 1e-6; renormalized when off by more than
 * rounding), finite means of
 * dimension D, covariances symmetric (relative tolerance 1e-8, then symmetrized) and positive definite.
 *
 * @example
 * const gmm = new GaussianMixture({
 *   weights: [0.5, 0.5],
 *   means: [[0, 0], [5, 5]],
 *   covariances: [[[1, 0], [0, 1]], [[2, 0.5], [0.5, 1]]],
 * });
 * gmm.predict([[4.5, 5.2]]); // Int32Array [1]
 */
export class GaussianMixture {
  /** Number of components K. */
  readonly gaussians: number;
  /** Dimensionality D. */
  readonly dimensionality: number;
  readonly covarianceType: CovarianceType;
  /** K weights. */
  readonly weights: Float64Array;
  /** K×D means, row-major. */
  readonly means: Float64Array;
  /** Full: K×D×D covariances, row-major; diagonal: K×D variances. */
  readonly covariances: Float64Array;
  /** Full: K lower Cholesky factors L_k (Σ_k = L_k L_kᵀ), K×D×D; diagonal: K×D standard deviations. */
  readonly choleskyFactors: Float64Array;
  /** Full: K precision factors P_k = L_k⁻¹, K×D×D lower-triangular; diagonal: K×D inverse variances. */
  readonly precisionFactors: Float64Array;
  /** K values of log det Σ_k. */
  readonly logDets: Float64Array;

  constructor(json: GaussianMixtureJSON) {
    const parsed = parseJSON(json);
    this.gaussians = parsed.k;
    this.dimensionality = parsed.d;
    this.covarianceType = parsed.type;
    this.weights = parsed.weights;
    this.means = parsed.means;
    this.covariances = parsed.covariances;
    const f = factorize(parsed.type, parsed.k, parsed.d, parsed.covariances);
    if (typeof f === 'number') {
      throw new InvalidModelError(`covariance of component ${f} is not positive definite`);
    }
    this.choleskyFactors = f.chol;
    this.precisionFactors = f.prec;
    this.logDets = f.logDets;
  }

  /**
   * Builds a model from packed arrays without copying or validating. Covariances must already be
   * symmetric; they are factorized, and a non-positive-definite one throws
   * `NotPositiveDefiniteError` naming the component. Used by the trainer.
   */
  static fromArrays(
    type: CovarianceType,
    weights: Float64Array,
    means: Float64Array,
    covariances: Float64Array,
  ): GaussianMixture {
    const k = weights.length;
    const d = means.length / k;
    const f = factorize(type, k, d, covariances);
    if (typeof f === 'number') throw new NotPositiveDefiniteError(f, `covariance of component ${f} is not positive definite`);
    const m: GaussianMixture = Object.create(GaussianMixture.prototype);
    Object.assign(m, {
      gaussians: k,
      dimensionality: d,
      covarianceType: type,
      weights,
      means,
      covariances,
      choleskyFactors: f.chol,
      precisionFactors: f.prec,
      logDets: f.logDets,
    });
    return m;
  }

  /** Accepts a model or its plain-object form. */
  static from(model: GaussianMixture | GaussianMixtureJSON): GaussianMixture {
    return model instanceof GaussianMixture ? model : new GaussianMixture(model);
  }

  /** The plain-object form (row-major nested arrays), suitable for `JSON.stringify`. */
  toJSON(): Required<GaussianMixtureJSON> {
    const k = this.gaussians, d = this.dimensionality;
    const means: number[][] = [];
    for (let c = 0; c < k; c++) means.push(Array.from(this.means.subarray(c * d, (c + 1) * d)));
    let covariances: number[][][] | number[][];
    if (this.covarianceType === 'full') {
      const full: number[][][] = [];
      for (let c = 0; c < k; c++) {
        const m: number[][] = [];
        for (let i = 0; i < d; i++) m.push(Array.from(this.covariances.subarray(c * d * d + i * d, c * d * d + (i + 1) * d)));
        full.push(m);
      }
      covariances = full;
    } else {
      const diag: number[][] = [];
      for (let c = 0; c < k; c++) diag.push(Array.from(this.covariances.subarray(c * d, (c + 1) * d)));
      covariances = diag;
    }
    return { covarianceType: this.covarianceType, weights: Array.from(this.weights), means, covariances };
  }

  /** Number of free parameters (K−1 weights, K·D means, and the covariances). */
  get parameterCount(): number {
    const k = this.gaussians, d = this.dimensionality;
    const covParams = this.covarianceType === 'full' ? (d * (d + 1)) / 2 : d;
    return k - 1 + k * d + k * covParams;
  }

  /** log p(x) of one point. */
  logPdf(x: ArrayLike<number>): number {
    if (x.length !== this.dimensionality) {
      throw new InvalidArgumentError('x', `point has ${x.length} values but the model has dimensionality ${this.dimensionality}`);
    }
    const scratch = new Float64Array(this.gaussians + this.dimensionality);
    return this.logPdfAt(Float64Array.from(x), 0, scratch, null);
  }

  /** p(x) of one point. */
  pdf(x: ArrayLike<number>): number {
    return Math.exp(this.logPdf(x));
  }

  /** log p(x_n) for every point (scikit-learn's `score_samples`). */
  scoreSamples(data: DataInput): Float64Array {
    return this.scoreDataset(this.checkData(data));
  }

  private scoreDataset(ds: Dataset): Float64Array {
    const out = new Float64Array(ds.n);
    const scratch = new Float64Array(this.gaussians + this.dimensionality);
    for (let i = 0; i < ds.n; i++) out[i] = this.logPdfAt(ds.data, i * ds.d, scratch, null);
    return out;
  }

  /** p(x_n) for every point (mlpack's `gmm_probability`). */
  probabilities(data: DataInput): Float64Array {
    const lp = this.scoreSamples(data);
    for (let i = 0; i < lp.length; i++) lp[i] = Math.exp(lp[i]!);
    return lp;
  }

  /**
   * Total log-likelihood Σ_n w_n log p(x_n) (w_n = 1 without weights). Points whose density
   * underflows to 0 give −Infinity, as in mlpack.
   */
  logLikelihood(data: DataInput, observationWeights?: ArrayLike<number>): number {
    return this.totalLogLikelihood(this.checkData(data), observationWeights);
  }

  private totalLogLikelihood(ds: Dataset, observationWeights?: ArrayLike<number>): number {
    const lp = this.scoreDataset(ds);
    if (observationWeights && observationWeights.length !== lp.length) {
      throw new InvalidArgumentError('observationWeights', `has ${observationWeights.length} entries but the data has ${lp.length} points`);
    }
    let s = 0;
    for (let i = 0; i < lp.length; i++) s += observationWeights ? observationWeights[i]! * lp[i]! : lp[i]!;
    return s;
  }

  /** Index of the most probable component of every point. */
  predict(data: DataInput): Int32Array {
    const ds = this.checkData(data);
    const k = this.gaussians;
    const out = new Int32Array(ds.n);
    const scratch = new Float64Array(k + this.dimensionality);
    for (let i = 0; i < ds.n; i++) {
      this.logPdfAt(ds.data, i * ds.d, scratch, null);
      let best = 0;
      for (let c = 1; c < k; c++) if (scratch[c]! > scratch[best]!) best = c;
      out[i] = best;
    }
    return out;
  }

  /** Posterior component probabilities, an N×K row-major matrix (rows sum to 1). */
  predictProba(data: DataInput): DenseMatrix<Float64Array> {
    const ds = this.checkData(data);
    const k = this.gaussians;
    const out = new Float64Array(ds.n * k);
    const scratch = new Float64Array(k + this.dimensionality);
    for (let i = 0; i < ds.n; i++) this.logPdfAt(ds.data, i * ds.d, scratch, out.subarray(i * k, (i + 1) * k));
    return { data: out, rows: ds.n, cols: k };
  }

  /** Bayesian information criterion −2 log L + p log N (lower is better). */
  bic(data: DataInput): number {
    const ds = this.checkData(data);
    return -2 * this.totalLogLikelihood(ds) + this.parameterCount * Math.log(ds.n);
  }

  /** Akaike information criterion −2 log L + 2p (lower is better). */
  aic(data: DataInput): number {
    return -2 * this.totalLogLikelihood(this.checkData(data)) + 2 * this.parameterCount;
  }

  /**
   * Draws `n` points, an n×D row-major matrix. The same `seed` gives the same points; `seed` 0 or
   * omitted seeds from the clock.
   * @throws InvalidArgumentError when n×D values cannot be allocated.
   */
  sample(n: number, seed = 0): DenseMatrix<Float64Array> {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('n', `number of samples must be a non-negative integer, got ${n}`);
    if (!Number.isFinite(seed)) throw new InvalidArgumentError('seed', `seed must be a finite number, got ${seed}`);
    const rng = new Rng(seed === 0 ? seedFromClock() : seed);
    const k = this.gaussians, d = this.dimensionality;
    const cdf = new Float64Array(k);
    let acc = 0;
    for (let c = 0; c < k; c++) cdf[c] = acc += this.weights[c]!;
    let out: Float64Array;
    try {
      out = new Float64Array(n * d);
    } catch (e) {
      // Beyond the largest typed array, or more memory than can be allocated.
      if (!(e instanceof RangeError)) throw e;
      throw new InvalidArgumentError('n', `${n} samples of dimensionality ${d} are ${n * d} values, more than can be held in one Float64Array`);
    }
    const z = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat() * acc;
      let c = 0;
      while (c < k - 1 && (u >= cdf[c]! || this.weights[c] === 0)) c++;
      for (let j = 0; j < d; j++) z[j] = rng.nextNormal();
      const o = i * d;
      if (this.covarianceType === 'full') {
        const lo = c * d * d;
        for (let r = 0; r < d; r++) {
          let s = this.means[c * d + r]!;
          for (let j = 0; j <= r; j++) s += this.choleskyFactors[lo + r * d + j]! * z[j]!;
          out[o + r] = s;
        }
      } else {
        for (let r = 0; r < d; r++) out[o + r] = this.means[c * d + r]! + this.choleskyFactors[c * d + r]! * z[r]!;
      }
    }
    return { data: out, rows: n, cols: d };
  }

  private checkData(data: DataInput): Dataset {
    const ds = toDataset(data);
    if (ds.d !== this.dimensionality) {
      throw new InvalidArgumentError('data', `data has ${ds.d} columns but the model has dimensionality ${this.dimensionality}`);
    }
    return ds;
  }

  /**
   * log p(x) for the point at `x[off…]`; leaves log w_k + log N(x | k) in scratch[0…K) and, when
   * `posterior` is given, writes the responsibilities there.
   */
  private logPdfAt(x: Values, off: number, scratch: Float64Array, posterior: Float64Array | null): number {
    const k = this.gaussians, d = this.dimensionality;
    const diff = scratch.subarray(k, k + d);
    const full = this.covarianceType === 'full';
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      const mo = c * d;
      for (let j = 0; j < d; j++) diff[j] = x[off + j]! - this.means[mo + j]!;
      let m = 0;
      if (full) {
        const po = c * d * d;
        for (let r = 0; r < d; r++) {
          let y = 0;
          const ro = po + r * d;
          for (let j = 0; j <= r; j++) y += this.precisionFactors[ro + j]! * diff[j]!;
          m += y * y;
        }
      } else {
        for (let j = 0; j < d; j++) m += diff[j]! * diff[j]! * this.precisionFactors[mo + j]!;
      }
      const lp = Math.log(this.weights[c]!) - 0.5 * (d * LOG_2PI + this.logDets[c]! + m);
      scratch[c] = lp;
      if (lp > max) max = lp;
    }
    if (max === -Infinity) {
      if (posterior) posterior.fill(0);
      return -Infinity;
    }
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(scratch[c]! - max);
    const logp = max + Math.log(s);
    if (posterior) for (let c = 0; c < k; c++) posterior[c] = Math.exp(scratch[c]! - logp);
    return logp;
  }
}

interface Parsed {
  type: CovarianceType;
  k: number;
  d: number;
  weights: Float64Array;
  means: Float64Array;
  covariances: Float64Array;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function parseJSON(json: GaussianMixtureJSON): Parsed {
  if (typeof json !== 'object' || json === null) throw new InvalidModelError('model must be an object { weights, means, covariances }');
  const { weights: w, means: mu, covariances: cov } = json;
  if (!isNumberArray(w) || w.length === 0) throw new InvalidModelError('model.weights must be a non-empty array of numbers');
  const k = w.length;
  if (!Array.isArray(mu) || mu.length !== k) {
    throw new InvalidModelError(`model.means must hold one mean per component: ${k} weights but ${Array.isArray(mu) ? mu.length : 'no'} means`);
  }
  if (!isNumberArray(mu[0]) || mu[0].length === 0) throw new InvalidModelError('model.means[0] must be a non-empty array of numbers');
  const d = mu[0].length;
  if (!Array.isArray(cov) || cov.length !== k) {
    throw new InvalidModelError(`model.covariances must hold one covariance per component: ${k} weights but ${Array.isArray(cov) ? cov.length : 'no'} covariances`);
  }
  let type = json.covarianceType;
  if (type === undefined) type = Array.isArray(cov[0]) && Array.isArray((cov[0] as unknown[])[0]) ? 'full' : 'diagonal';
  if (type !== 'full' && type !== 'diagonal') throw new InvalidModelError(`model.covarianceType must be 'full' or 'diagonal', got ${String(type)}`);

  const weights = new Float64Array(k);
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const v = w[c];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidModelError(`model.weights[${c}] = ${v}: weights must be finite and ≥ 0`);
    weights[c] = v;
    sum += v;
  }
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) throw new InvalidModelError(`model.weights sum to ${sum}, not 1 (tolerance ${WEIGHT_SUM_TOLERANCE})`);
  // Renormalize weights that are off by more than rounding; keep the others exactly as given, so
  // that models read from files (mlpack's sum to 1 ± a few ulps) round-trip bit for bit.
  if (Math.abs(sum - 1) > 4 * k * Number.EPSILON) for (let c = 0; c < k; c++) weights[c] = weights[c]! / sum;

  const means = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    const m = mu[c];
    if (!isNumberArray(m) || m.length !== d) throw new InvalidModelError(`model.means[${c}] must have ${d} values (the dimensionality of means[0])`);
    for (let j = 0; j < d; j++) {
      const v = m[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidModelError(`model.means[${c}][${j}] = ${v} is not a finite number`);
      means[c * d + j] = v;
    }
  }

  let covariances: Float64Array;
  if (type === 'full') {
    covariances = new Float64Array(k * d * d);
    for (let c = 0; c < k; c++) {
      const m = cov[c];
      if (!Array.isArray(m) || m.length !== d) throw new InvalidModelError(`model.covariances[${c}] must be a ${d}×${d} matrix`);
      for (let i = 0; i < d; i++) {
        const row = m[i];
        if (!isNumberArray(row) || row.length !== d) throw new InvalidModelError(`model.covariances[${c}] must be a ${d}×${d} matrix (row ${i} has the wrong length)`);
        for (let j = 0; j < d; j++) {
          const v = row[j];
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidModelError(`model.covariances[${c}][${i}][${j}] = ${v} is not a finite number`);
          covariances[c * d * d + i * d + j] = v;
        }
      }
      const asym = asymmetry(covariances, d, c * d * d);
      if (asym > SYMMETRY_TOLERANCE) throw new InvalidModelError(`model.covariances[${c}] is not symmetric (relative asymmetry ${asym.toExponential(2)})`);
      symmetrizeInPlace(covariances, d, c * d * d);
    }
  } else {
    covariances = new Float64Array(k * d);
    for (let c = 0; c < k; c++) {
      const m = cov[c];
      if (!isNumberArray(m) || m.length !== d) throw new InvalidModelError(`model.covariances[${c}] must hold ${d} variances (diagonal covariance)`);
      for (let j = 0; j < d; j++) {
        const v = m[j];
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InvalidModelError(`model.covariances[${c}][${j}] = ${v}: variances must be finite and > 0`);
        covariances[c * d + j] = v;
      }
    }
  }
  return { type, k, d, weights, means, covariances };
}

/** Cholesky / precision factors and log-determinants, or the index of the first non-PD component. */
function factorize(
  type: CovarianceType,
  k: number,
  d: number,
  covariances: Float64Array,
): { chol: Float64Array; prec: Float64Array; logDets: Float64Array } | number {
  const logDets = new Float64Array(k);
  if (type === 'diagonal') {
    const chol = new Float64Array(k * d);
    const prec = new Float64Array(k * d);
    for (let c = 0; c < k; c++) {
      let ld = 0;
      for (let j = 0; j < d; j++) {
        const v = covariances[c * d + j]!;
        if (!(v > 0) || !Number.isFinite(v)) return c;
        chol[c * d + j] = Math.sqrt(v);
        prec[c * d + j] = 1 / v;
        ld += Math.log(v);
      }
      if (!Number.isFinite(ld)) return c;
      logDets[c] = ld;
    }
    return { chol, prec, logDets };
  }
  const chol = Float64Array.from(covariances);
  const prec = new Float64Array(k * d * d);
  for (let c = 0; c < k; c++) {
    const off = c * d * d;
    if (!choleskyInPlace(chol, d, off)) return c;
    logDets[c] = logDetFromCholesky(chol, d, off);
    if (!Number.isFinite(logDets[c]!)) return c;
    invertLower(chol, d, prec, off, off);
  }
  return { chol, prec, logDets };
}
