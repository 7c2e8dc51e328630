/**
 * A Gaussian mixture model: weights, means and covariances (full, or diagonal stored as variances),
 * with density evaluation, prediction and sampling on the CPU in float64.
 */
import { InvalidModelError, InvalidArgumentError, InvalidDataError, NotPositiveDefiniteError, prefixModelError } from '../errors.js';
import { checkObservationWeights, columnLabel, describeValue as describe, isNumberArray, toDataset, type DataInput, type DenseMatrix, type Dataset, type NumberArray, type Values } from '../data.js';
import { choleskyInPlace, invertLower, logDetFromCholesky, asymmetry, symmetrizeInPlace } from '../util/linalg.js';
import { Rng, seedFromClock } from '../util/rng.js';

/** A model's covariance structure: `'full'` D×D matrices, or `'diagonal'` (D variances per component, mlpack's `--diagonal_covariance`). */
export type CovarianceType = 'full' | 'diagonal';

/**
 * The plain-object form of a model (JSON-friendly, row-major nested arrays).
 * `covariances` is K×D×D for `'full'` and K×D variances for `'diagonal'`; when `covarianceType` is
 * omitted it is inferred from the nesting depth.
 */
export interface GaussianMixtureJSON {
  /** `'full'` or `'diagonal'`; inferred from `covariances`' nesting depth when omitted. */
  covarianceType?: CovarianceType;
  /** K mixing weights, each ≥ 0, summing to 1 (within 1e-6; renormalized when off by more than rounding). */
  weights: number[];
  /** K means of D values each. */
  means: number[][];
  /** K symmetric positive-definite D×D matrices (`'full'`), or K vectors of D positive variances (`'diagonal'`). */
  covariances: number[][][] | number[][];
}

/**
 * The plain-object form as the constructor accepts it: {@link GaussianMixtureJSON}, where the
 * weights, each mean and each variance vector or covariance row may also be a typed array (as
 * visualization code often holds them).
 */
export interface GaussianMixtureInput {
  /** As {@link GaussianMixtureJSON.covarianceType}. */
  covarianceType?: CovarianceType;
  /** As {@link GaussianMixtureJSON.weights}. */
  weights: NumberArray;
  /** As {@link GaussianMixtureJSON.means}. */
  means: readonly NumberArray[];
  /** As {@link GaussianMixtureJSON.covariances}. */
  covariances: readonly (readonly NumberArray[])[] | readonly NumberArray[];
}

/**
 * The packed form a {@link GaussianMixture} holds its parameters in, as the model itself or a
 * `structuredClone` of it (e.g. one sent to or from a worker) has them: flat row-major typed
 * arrays of K weights, K×D means and K×D×D covariances or K×D variances. The constructor accepts
 * it, copying and validating as for the nested form; `gaussians` and `dimensionality`, where
 * given, must agree with the arrays (D is otherwise the means' length / K).
 */
export interface GaussianMixturePackedInput {
  /** Required here: the packed arrays do not show the structure. */
  covarianceType: CovarianceType;
  /** K, where given: must equal `weights.length`. */
  gaussians?: number;
  /** D, where given: must equal `means.length / K`. */
  dimensionality?: number;
  /** K mixing weights. */
  weights: NumberArray;
  /** K×D means, row-major (component k's mean at [k·D, (k+1)·D)). */
  means: Float64Array | Float32Array;
  /** K×D×D covariances (`'full'`) or K×D variances (`'diagonal'`), row-major per component. */
  covariances: Float64Array | Float32Array;
}

/**
 * Whatever {@link GaussianMixture.from} accepts: a model, its plain-object form or its packed form
 * (also what the model-file serializers accept, and, at run time, `train()`'s `inputModel`).
 */
export type GaussianMixtureLike = GaussianMixture | GaussianMixtureInput | GaussianMixturePackedInput;

/** Relative tolerance for symmetry of covariances from files or other programs (rounding ~1e-16). */
const SYMMETRY_TOLERANCE = 1e-8;
/** Weights must sum to 1 within this. */
const WEIGHT_SUM_TOLERANCE = 1e-6;

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * A Gaussian mixture with K components in D dimensions.
 *
 * Construct it from the plain-object form (`new GaussianMixture({ weights, means, covariances })`),
 * which is validated: weights ≥ 0 summing to 1 (within 1e-6; renormalized when off by more than
 * rounding), finite means of
 * dimension D, covariances symmetric (relative tolerance 1e-8, then symmetrized) and positive definite.
 *
 * The parameter arrays (`weights`, `means`, `covariances`, and the factors derived from them) are
 * the model's own and read-only: the model computes with factors it derived once, when it was
 * built, so writing into these arrays is unsupported (scoring would ignore an edited covariance
 * but use an edited weight or mean, unvalidated, while `toJSON()` and the file writers save every
 * edit). To change a model, build a new one from edited copies:
 * `GaussianMixture.fromArrays(m.covarianceType, m.weights.slice(), means, m.covariances.slice())`
 * (validated, not copied again) or `new GaussianMixture({ ...m.toJSON(), means })`.
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
  /** `'full'` (K×D×D `covariances`) or `'diagonal'` (K×D variances). */
  readonly covarianceType: CovarianceType;
  /**
   * K weights. The model's own array, read-only: writing into it is unsupported (it bypasses
   * validation). For other weights, build a new model from a copy:
   * `GaussianMixture.fromArrays(m.covarianceType, weights, m.means.slice(), m.covariances.slice())`.
   */
  readonly weights: Float64Array;
  /**
   * K×D means, row-major. The model's own array, read-only: writing into it is unsupported (it
   * bypasses validation). For other means, build a new model from a copy:
   * `GaussianMixture.fromArrays(m.covarianceType, m.weights.slice(), means, m.covariances.slice())`.
   */
  readonly means: Float64Array;
  /**
   * Full: K×D×D covariances, row-major; diagonal: K×D variances. The model's own array,
   * read-only: the model scores with the factors below, derived once, so an edit here would be
   * ignored by `logPdf` and the like but saved by `toJSON()` and the file writers. For other
   * covariances, build a new model from a copy:
   * `GaussianMixture.fromArrays(m.covarianceType, m.weights.slice(), m.means.slice(), covariances)`
   * (or `new GaussianMixture({ ...m.toJSON(), covariances })`).
   */
  readonly covariances: Float64Array;
  /**
   * Full: K lower Cholesky factors L_k (Σ_k = L_k L_kᵀ), K×D×D; diagonal: K×D standard
   * deviations. Derived from `covariances`; the model's own array, read-only.
   */
  readonly choleskyFactors: Float64Array;
  /**
   * Full: K precision factors P_k = L_k⁻¹, K×D×D lower-triangular; diagonal: K×D inverse
   * variances. Derived from `covariances`; the model's own array, read-only.
   */
  readonly precisionFactors: Float64Array;
  /** K values of log det Σ_k. Derived from `covariances`; the model's own array, read-only. */
  readonly logDets: Float64Array;

  /**
   * Validates and copies a model's parameters: the nested plain-object form
   * ({@link GaussianMixtureInput}, what `toJSON()` returns), or the packed form a model holds
   * ({@link GaussianMixturePackedInput}: another model, or a `structuredClone` of one), which gives
   * the model `new GaussianMixture(model.toJSON())` would. (For an exact copy of a model without
   * re-validation, use `clone()`.)
   * @throws InvalidModelError naming the field (and index) at fault.
   * @throws NotPositiveDefiniteError (an InvalidModelError) naming the component whose covariance
   *   is not positive definite (a variance ≤ 0 included).
   */
  constructor(json: GaussianMixtureInput | GaussianMixturePackedInput) {
    const parsed = parseJSON(json);
    this.gaussians = parsed.k;
    this.dimensionality = parsed.d;
    this.covarianceType = parsed.type;
    this.weights = parsed.weights;
    this.means = parsed.means;
    this.covariances = parsed.covariances;
    const f = factorize(parsed.type, parsed.k, parsed.d, parsed.covariances);
    if (typeof f === 'number') throw new NotPositiveDefiniteError(f, `covariance of component ${f} is not positive definite`);
    this.choleskyFactors = f.chol;
    this.precisionFactors = f.prec;
    this.logDets = f.logDets;
  }

  /**
   * Builds a model from packed arrays (K weights, K×D means, and K×D×D covariances or K×D
   * variances, row-major) without copying them. They are validated as the constructor validates
   * the plain-object form, but never modified: covariances must already be symmetric (within 1e-8)
   * and weights must sum to 1 (within 1e-6); they are neither symmetrized nor renormalized, so the
   * trainer's models are used bit for bit.
   * @throws InvalidModelError for a bad `type`, inconsistent lengths, or a non-finite or negative value.
   * @throws NotPositiveDefiniteError naming the component whose covariance is not positive
   *   definite (a variance ≤ 0 included), which the trainer turns into advice.
   */
  static fromArrays(
    type: CovarianceType,
    weights: Float64Array,
    means: Float64Array,
    covariances: Float64Array,
  ): GaussianMixture {
    checkCovarianceType(type, 'covarianceType');
    for (const [name, a] of [['weights', weights], ['means', means], ['covariances', covariances]] as const) {
      if (!(a instanceof Float64Array)) throw new InvalidModelError(`${name} must be a Float64Array, got ${describe(a)}`);
    }
    const k = weights.length;
    if (k === 0) throw new InvalidModelError('weights is empty: a model needs at least one component');
    const d = means.length / k;
    if (!Number.isInteger(d) || d === 0) {
      throw new InvalidModelError(`means has ${means.length} values, which is not K×D for the K = ${k} weights (D ≥ 1)`);
    }
    const need = type === 'full' ? k * d * d : k * d;
    if (covariances.length !== need) {
      throw new InvalidModelError(
        `covariances has ${covariances.length} values but ${type} covariances of ${k} components in ${d} dimensions need ${need} ` +
          (type === 'full' ? '(K×D×D)' : '(K×D variances)'),
      );
    }
    checkWeights(weights, '');
    checkMeans(means, 0, k, d, '');
    checkCovariances(type, covariances, 0, k, d, '', false);
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

  /**
   * An independent copy: the same parameters (and factors) in new arrays, nothing re-validated or
   * refactorized. Changing one never affects the other.
   */
  clone(): GaussianMixture {
    return modelFromParts({
      covarianceType: this.covarianceType,
      weights: this.weights.slice(),
      means: this.means.slice(),
      covariances: this.covariances.slice(),
      choleskyFactors: this.choleskyFactors.slice(),
      precisionFactors: this.precisionFactors.slice(),
      logDets: this.logDets.slice(),
    });
  }

  /** Accepts a model (returned as is), its plain-object form or its packed form (see the constructor). */
  static from(model: GaussianMixtureLike): GaussianMixture {
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

  /**
   * log p(x) of one point (an array or typed array of D finite numbers; for several points, see
   * {@link scoreSamples}).
   * @throws InvalidDataError when `x` is missing, not an array, or holds a non-number or NaN / ±Infinity.
   * @throws InvalidArgumentError when `x` does not have D values.
   */
  logPdf(x: ArrayLike<number>): number {
    const scratch = new Float64Array(this.gaussians + this.dimensionality);
    return this.logPdfAt(this.checkPoint(x), 0, scratch, null);
  }

  /** p(x) of one point; validated as by {@link logPdf}. */
  pdf(x: ArrayLike<number>): number {
    return Math.exp(this.logPdf(x));
  }

  /** log p(x_n) for every point (scikit-learn's `score_samples`); no points give an empty array. */
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
   * underflows to 0 give −Infinity, as in mlpack. No points give 0 (an empty sum).
   */
  logLikelihood(data: DataInput, observationWeights?: ArrayLike<number>): number {
    const ds = this.checkData(data);
    if (ds.n === 0) {
      // Nothing to weigh: weights may be omitted or empty (not "all zero", as train() says of them).
      const w = observationWeights as unknown;
      const empty = typeof w === 'object' && w !== null && (w as ArrayLike<unknown>).length === 0;
      if (w !== undefined && !empty) checkObservationWeights(w, 0);
      return 0;
    }
    // Checked as train() checks them, before any work: one finite weight ≥ 0 per point, not all zero.
    return this.totalLogLikelihood(ds, checkObservationWeights(observationWeights, ds.n));
  }

  private totalLogLikelihood(ds: Dataset, observationWeights: Float64Array | null = null): number {
    const lp = this.scoreDataset(ds);
    let s = 0;
    // A point of weight 0 counts as absent, even where its density is 0 (0 · −∞ would be NaN).
    for (let i = 0; i < lp.length; i++) {
      if (!observationWeights) s += lp[i]!;
      else if (observationWeights[i]! > 0) s += observationWeights[i]! * lp[i]!;
    }
    return s;
  }

  /** Index of the most probable component of every point (an empty array for no points). */
  predict(data: DataInput): Int32Array {
    const ds = this.checkData(data);
    const k = this.gaussians;
    const out = new Int32Array(ds.n);
    const scratch = new Float64Array(k + this.dimensionality);
    for (let i = 0; i < ds.n; i++) {
      this.logPdfAt(ds.data, i * ds.d, scratch, null);
      let best = 0;
      for (let c = 1; c < k; c++) if (scratch[c]! > scratch[best]!) best = c;
      if (scratch[best] === -Infinity) {
        // No density left (see logPdfAt): the most probable component a priori.
        for (let c = 1; c < k; c++) if (this.weights[c]! > this.weights[best]!) best = c;
      }
      out[i] = best;
    }
    return out;
  }

  /**
   * Posterior component probabilities, an N×K row-major matrix (rows sum to 1; 0×K for no
   * points). A point whose density underflows to 0 under every component gets the mixture weights
   * (and `predict` the heaviest component).
   */
  predictProba(data: DataInput): DenseMatrix<Float64Array> {
    const ds = this.checkData(data);
    const k = this.gaussians;
    const out = new Float64Array(ds.n * k);
    const scratch = new Float64Array(k + this.dimensionality);
    for (let i = 0; i < ds.n; i++) this.logPdfAt(ds.data, i * ds.d, scratch, out.subarray(i * k, (i + 1) * k));
    return { data: out, rows: ds.n, cols: k };
  }

  /**
   * Bayesian information criterion −2 log L + p log N (lower is better).
   * @throws InvalidDataError for no points (log N is not defined).
   */
  bic(data: DataInput): number {
    const ds = this.checkData(data);
    if (ds.n === 0) throw new InvalidDataError('data: has no rows (BIC needs at least one point: its penalty is p log N)');
    return -2 * this.totalLogLikelihood(ds) + this.parameterCount * Math.log(ds.n);
  }

  /** Akaike information criterion −2 log L + 2p (lower is better; 2p for no points). */
  aic(data: DataInput): number {
    return -2 * this.totalLogLikelihood(this.checkData(data)) + 2 * this.parameterCount;
  }

  /**
   * Draws `n` points, an n×D row-major matrix. The same `seed` gives the same points; `seed` 0 or
   * omitted seeds from the clock.
   * @param seed an integer, as `train()`'s `seed` (|seed| ≤ 2^53 − 1; 0 = from the clock).
   * @throws InvalidArgumentError when `n` is not a non-negative integer, `seed` is not such an
   *   integer, or n×D values cannot be allocated.
   */
  sample(n: number, seed = 0): DenseMatrix<Float64Array> {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError('n', `number of samples must be a non-negative integer, got ${describe(n)}`);
    }
    // train()'s rule and message: a fractional seed would silently select its integer part's stream.
    if (typeof seed !== 'number' || !Number.isInteger(seed) || Math.abs(seed) > Number.MAX_SAFE_INTEGER) {
      throw new InvalidArgumentError('seed', `seed must be an integer of magnitude ≤ 2^53 − 1 (0 = from the clock), got ${describe(seed)}`);
    }
    const rng = new Rng(seed === 0 ? seedFromClock() : seed);
    const d = this.dimensionality;
    const out = sampleArray(n, d, 'n');
    sampleRows(this, rng, out, 0, n);
    return { data: out, rows: n, cols: d };
  }

  /**
   * One point as float64, checked as toDataset checks a row (the same messages, `x` for `data`), so
   * that logPdf rejects what scoreSamples rejects rather than coercing strings or scoring NaN.
   */
  private checkPoint(x: unknown): Float64Array {
    const d = this.dimensionality;
    if (x === null || x === undefined) throw new InvalidDataError('x: is missing');
    // Strings have a length too, and Float64Array.from would parse their characters.
    if (typeof x !== 'object' || typeof (x as ArrayLike<unknown>).length !== 'number') {
      throw new InvalidDataError(`x: must be one point, an array of ${d} numbers, got ${describe(x)}`);
    }
    const p = x as ArrayLike<unknown>;
    // Several points ([[x₁, x₂]]) where one belongs: say which method takes them, whatever the count.
    if (p.length > 0 && isNumberArray(p[0])) {
      throw new InvalidDataError(`x: is ${p.length === 1 ? 'an array holding one point' : `${p.length} points`}; logPdf and pdf take one point (an array of ${d} numbers); use scoreSamples or probabilities for several`, undefined, 0);
    }
    if (p.length !== d) {
      throw new InvalidArgumentError('x', `point has ${p.length} values but the model has dimensionality ${d}`);
    }
    const out = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const v = p[j];
      if (typeof v !== 'number') {
        throw new InvalidDataError(`x: value ${columnLabel(j)} is not a number (${typeof v})`, undefined, j);
      }
      if (!Number.isFinite(v)) throw new InvalidDataError(`x: value ${columnLabel(j)} is ${v} (every value must be finite)`, undefined, j);
      out[j] = v;
    }
    return out;
  }

  /** The data as a Dataset of D columns; zero rows are allowed (`[]` has no columns to check). */
  private checkData(data: DataInput): Dataset {
    const ds = toDataset(data, 'data', { allowEmpty: true });
    if (ds.n === 0 && ds.d === 0) return { data: ds.data, n: 0, d: this.dimensionality };
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
        // diff · (diff · 1/σ²): (diff²) would overflow for |x − μ| > 1.3e154 where the term does not.
        for (let j = 0; j < d; j++) m += diff[j]! * (diff[j]! * this.precisionFactors[mo + j]!);
      }
      // x − μ beyond float64's range (means near ±1e308) makes 0·∞ or ∞ − ∞ in the product: the
      // distance overflowed, so this component's density is 0, not NaN for the whole mixture.
      if (Number.isNaN(m)) m = Infinity;
      const lp = Math.log(this.weights[c]!) - 0.5 * (d * LOG_2PI + this.logDets[c]! + m);
      scratch[c] = lp;
      if (lp > max) max = lp;
    }
    if (max === -Infinity) {
      // Every density underflowed (or its Mahalanobis term overflowed): the point says nothing
      // about the components, so its posterior is their prior.
      if (posterior) posterior.set(this.weights);
      return -Infinity;
    }
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(scratch[c]! - max);
    const logp = max + Math.log(s);
    // Not exp(lp − log p): log p's rounding (an ulp of |log p|, 4 at log p = −5e15) would scale
    // every posterior alike, and far out a row would stop summing to 1.
    if (posterior) for (let c = 0; c < k; c++) posterior[c] = Math.exp(scratch[c]! - max) / s;
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

function checkCovarianceType(type: unknown, name: string): asserts type is CovarianceType {
  if (type !== 'full' && type !== 'diagonal') throw new InvalidModelError(`${name} must be 'full' or 'diagonal', got ${describe(type)}`);
}

/*
 * The value checks shared by the constructor (after it has packed the nested arrays) and
 * fromArrays, so that both accept and reject the same models with the same messages. `prefix` is
 * "model." for the plain-object form. They read only; fixing up (renormalizing, symmetrizing) is the
 * constructor's.
 */

/** Weights finite, ≥ 0 and summing to 1 within WEIGHT_SUM_TOLERANCE; returns the sum. */
function checkWeights(w: ArrayLike<unknown>, prefix: string): number {
  let sum = 0;
  for (let c = 0; c < w.length; c++) {
    const v = w[c];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidModelError(`${prefix}weights[${c}] = ${describe(v)}: weights must be finite and ≥ 0`);
    sum += v;
  }
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) throw new InvalidModelError(`${prefix}weights sum to ${sum}, not 1 (tolerance ${WEIGHT_SUM_TOLERANCE})`);
  return sum;
}

/** Means `from` to `to` (exclusive) of the packed K×D means finite. */
function checkMeans(means: Float64Array, from: number, to: number, d: number, prefix: string): void {
  for (let c = from; c < to; c++) {
    for (let j = 0; j < d; j++) {
      const v = means[c * d + j]!;
      if (!Number.isFinite(v)) throw new InvalidModelError(`${prefix}means[${c}][${j}] = ${v} is not a finite number`);
    }
  }
}

/**
 * Covariances `from` to `to` (exclusive) of the packed ones finite and, when full, symmetric within
 * SYMMETRY_TOLERANCE. `positiveVariances`: reject diagonal variances ≤ 0 here (the constructor);
 * fromArrays leaves them to factorize, whose NotPositiveDefiniteError the trainer relies on.
 */
function checkCovariances(
  type: CovarianceType,
  cov: Float64Array,
  from: number,
  to: number,
  d: number,
  prefix: string,
  positiveVariances: boolean,
): void {
  for (let c = from; c < to; c++) {
    if (type === 'full') {
      const o = c * d * d;
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          const v = cov[o + i * d + j]!;
          if (!Number.isFinite(v)) throw new InvalidModelError(`${prefix}covariances[${c}][${i}][${j}] = ${v} is not a finite number`);
        }
      }
      const asym = asymmetry(cov, d, o);
      if (asym > SYMMETRY_TOLERANCE) throw new InvalidModelError(`${prefix}covariances[${c}] is not symmetric (relative asymmetry ${asym.toExponential(2)})`);
    } else {
      for (let j = 0; j < d; j++) {
        const v = cov[c * d + j]!;
        const message = `${prefix}covariances[${c}][${j}] = ${v}: variances must be finite and > 0`;
        if (!Number.isFinite(v)) throw new InvalidModelError(message);
        // The density needs 1 / v: from 2^-1024 down it overflows, and the point at the mean would score
        // 0 × ∞ = NaN. (A full covariance needs only √v, through its Cholesky factor.)
        if (v > 0 && !Number.isFinite(1 / v)) {
          throw new InvalidModelError(`${prefix}covariances[${c}][${j}] = ${v}: a variance this small (about 5.6e-309 or less) has no finite reciprocal in float64`);
        }
        // Not positive definite, as fromArrays reports it (there from factorize), with the entry named.
        if (positiveVariances && v <= 0) throw new NotPositiveDefiniteError(c, message);
      }
    }
  }
}

/** Copies `row` into `out` at `off`, rejecting non-numbers (finiteness is checked on the packed copy). */
function copyNumbers(row: ArrayLike<unknown>, out: Float64Array, off: number, label: (j: number) => string): void {
  for (let j = 0; j < row.length; j++) {
    const v = row[j];
    if (typeof v !== 'number') throw new InvalidModelError(`${label(j)} = ${describe(v)} is not a number`);
    out[off + j] = v;
  }
}

/**
 * D from the means: their common length, or where they disagree the length most of the means and
 * covariances have (ties to the earliest mean's), so that the odd one out is the one reported.
 */
function meanDimensionality(mu: readonly unknown[], cov: readonly unknown[]): { d: number; why: string } {
  const k = mu.length;
  const meanVotes = new Map<number, number>();
  for (let c = 0; c < k; c++) {
    const m = mu[c];
    if (!isNumberArray(m)) throw new InvalidModelError(`model.means[${c}] must be a non-empty array of numbers, got ${describe(m)}`);
    meanVotes.set(m.length, (meanVotes.get(m.length) ?? 0) + 1);
  }
  if (meanVotes.size === 1) return { d: (mu[0] as ArrayLike<number>).length, why: 'the dimensionality of the other means' };
  const covVotes = new Map<number, number>();
  for (const m of cov) if (isNumberArray(m)) covVotes.set(m.length, (covVotes.get(m.length) ?? 0) + 1);
  let d = 0, best = -1;
  // Map order is first appearance among the means, so a tie goes to the earliest mean's length.
  for (const [len, n] of meanVotes) {
    const votes = n + (covVotes.get(len) ?? 0);
    if (len > 0 && votes > best) [d, best] = [len, votes];
  }
  const fromMeans = meanVotes.get(d) ?? 0, fromCovs = covVotes.get(d) ?? 0;
  const why = `the length of ${fromMeans} of the ${k} means${fromCovs > 0 ? ` and ${fromCovs} of the ${k} covariances` : ''}`;
  return { d, why };
}

/** A typed array of numbers (not a DataView): the packed form's means and covariances. */
function isTypedArray(v: unknown): v is Float64Array {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** What an error message says a packed array is: "a Float64Array of 4 values". */
function describePacked(a: ArrayLike<unknown>): string {
  return `${describe(a)} of ${a.length} value${a.length === 1 ? '' : 's'}`;
}

/** Where to turn with a packed array the constructor cannot take. */
const PACKED_HINT =
  'pass the model itself (GaussianMixture.from(model), or model.clone() for a copy), ' +
  'GaussianMixture.fromArrays(covarianceType, weights, means, covariances) for packed Float64Arrays, ' +
  'or the nested form { weights: [K], means: [K][D], covariances: [K][D][D] or [K][D] }';

/**
 * The weights checked and copied, renormalized where they are off by more than rounding; the
 * others are kept exactly as given, so that models read from files (mlpack's sum to 1 ± a few
 * ulps) round-trip bit for bit.
 */
function packWeights(w: ArrayLike<number>): Float64Array {
  const k = w.length;
  const weights = new Float64Array(k);
  const sum = checkWeights(w, 'model.');
  weights.set(w);
  if (Math.abs(sum - 1) > 4 * k * Number.EPSILON) for (let c = 0; c < k; c++) weights[c] = weights[c]! / sum;
  return weights;
}

function parseJSON(json: GaussianMixtureInput | GaussianMixturePackedInput): Parsed {
  if (typeof json !== 'object' || json === null) throw new InvalidModelError('model must be an object { weights, means, covariances }');
  const { weights: w, means: mu, covariances: cov } = json;
  if (!isNumberArray(w) || w.length === 0) throw new InvalidModelError('model.weights must be a non-empty array of numbers');
  const k = w.length;
  // A model, or a structuredClone of one: its means and covariances are flat typed arrays.
  if (isTypedArray(mu)) return parsePacked(json as GaussianMixturePackedInput, w);
  if (!Array.isArray(mu) || mu.length !== k) {
    const got = mu === undefined ? 'no means' : Array.isArray(mu) ? `${mu.length} means` : `means is ${describe(mu)}`;
    throw new InvalidModelError(`model.means must hold one mean per component: ${k} weights but ${got}`);
  }
  if (!Array.isArray(cov) || cov.length !== k) {
    const got = cov === undefined ? 'no covariances' : Array.isArray(cov) ? `${cov.length} covariances` : `covariances is ${describe(cov)}`;
    throw new InvalidModelError(`model.covariances must hold one covariance per component: ${k} weights but ${got}`);
  }
  let type = json.covarianceType;
  // Matrices (full) nest one level deeper than variance vectors; rows may be typed arrays.
  if (type === undefined) type = isNumberArray(cov[0]) && isNumberArray((cov[0] as ArrayLike<unknown>)[0]) ? 'full' : 'diagonal';
  checkCovarianceType(type, 'model.covarianceType');

  const weights = packWeights(w);
  const { d, why } = meanDimensionality(mu, cov);
  if (d === 0) throw new InvalidModelError('model.means[0] must be a non-empty array of numbers');
  const means = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    const m = mu[c] as ArrayLike<unknown>;
    if (m.length !== d) throw new InvalidModelError(`model.means[${c}] must have ${d} values (${why}), got ${m.length}`);
    copyNumbers(m, means, c * d, (j) => `model.means[${c}][${j}]`);
    checkMeans(means, c, c + 1, d, 'model.');
  }

  let covariances: Float64Array;
  if (type === 'full') {
    covariances = new Float64Array(k * d * d);
    for (let c = 0; c < k; c++) {
      const m = cov[c] as unknown;
      if (isNumberArray(m) && (ArrayBuffer.isView(m) || typeof m[0] === 'number')) {
        throw new InvalidModelError(
          `full covariances are K matrices of D×D values; got an array of ${m.length} numbers at model.covariances[${c}] ` +
            "(for variances, set covarianceType: 'diagonal')",
        );
      }
      if (!Array.isArray(m) || m.length !== d) throw new InvalidModelError(`model.covariances[${c}] must be a ${d}×${d} matrix`);
      for (let i = 0; i < d; i++) {
        const row = m[i] as unknown;
        if (!isNumberArray(row) || row.length !== d) throw new InvalidModelError(`model.covariances[${c}] must be a ${d}×${d} matrix (row ${i} has the wrong length)`);
        copyNumbers(row, covariances, c * d * d + i * d, (j) => `model.covariances[${c}][${i}][${j}]`);
      }
      checkCovariances('full', covariances, c, c + 1, d, 'model.', true);
      symmetrizeInPlace(covariances, d, c * d * d);
    }
  } else {
    covariances = new Float64Array(k * d);
    for (let c = 0; c < k; c++) {
      const m = cov[c] as unknown;
      if (Array.isArray(m) && m.length > 0 && isNumberArray(m[0])) {
        throw new InvalidModelError(
          `diagonal covariances are K arrays of D variances; got a ${m.length}×${(m[0] as ArrayLike<unknown>).length} matrix at model.covariances[${c}] ` +
            "(set covarianceType: 'full', or pass each matrix's diagonal)",
        );
      }
      if (!isNumberArray(m) || m.length !== d) throw new InvalidModelError(`model.covariances[${c}] must hold ${d} variances (diagonal covariance)`);
      copyNumbers(m, covariances, c * d, (j) => `model.covariances[${c}][${j}]`);
      checkCovariances('diagonal', covariances, c, c + 1, d, 'model.', true);
    }
  }
  return { type, k, d, weights, means, covariances };
}

/**
 * The packed form ({@link GaussianMixturePackedInput}): copied, and checked, symmetrized and
 * renormalized as the nested form is, so that a model or its structuredClone gives the model its
 * toJSON() would.
 */
function parsePacked(json: GaussianMixturePackedInput, w: ArrayLike<number>): Parsed {
  const k = w.length;
  // Typed arrays (isTypedArray), of any element type: BigInt64Array's bigints are rejected below.
  const mu = json.means as Float64Array;
  const cov = json.covariances as unknown;
  const got = `model.means is ${describePacked(mu)} (the packed K×D form a GaussianMixture holds)`;
  const type = json.covarianceType as unknown;
  if (type === undefined) {
    throw new InvalidModelError(`${got}: the packed form needs its covarianceType ('full' or 'diagonal') too; or ${PACKED_HINT}`);
  }
  checkCovarianceType(type, 'model.covarianceType');
  const dim = json.dimensionality as unknown;
  let d: number;
  if (dim !== undefined) {
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) {
      throw new InvalidModelError(`model.dimensionality must be a positive integer, got ${describe(dim)}`);
    }
    d = dim;
    if (mu.length !== k * d) throw new InvalidModelError(`${got}, but ${k} weights and dimensionality ${d} need ${k * d} (K×D)`);
  } else {
    d = mu.length / k;
    if (!Number.isInteger(d) || d < 1) throw new InvalidModelError(`${got}, which is not K×D for the K = ${k} weights (D ≥ 1)`);
  }
  const gaussians = json.gaussians as unknown;
  if (gaussians !== undefined && gaussians !== k) {
    throw new InvalidModelError(`model.gaussians is ${describe(gaussians)} but model.weights has ${k} weights`);
  }
  const need = type === 'full' ? k * d * d : k * d;
  const shape = type === 'full' ? 'K×D×D' : 'K×D variances';
  if (!isTypedArray(cov)) {
    throw new InvalidModelError(
      `${got}, but model.covariances is ${describe(cov)}: packed means go with packed covariances (a typed array of ${need} values, ${shape}); or ${PACKED_HINT}`,
    );
  }
  if (cov.length !== need) {
    throw new InvalidModelError(`model.covariances has ${cov.length} values but ${type} covariances of ${k} components in ${d} dimensions need ${need} (${shape})`);
  }
  const weights = packWeights(w);
  const means = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    copyNumbers(mu.subarray(c * d, (c + 1) * d), means, c * d, (j) => `model.means[${c}][${j}]`);
  }
  checkMeans(means, 0, k, d, 'model.');
  const covariances = new Float64Array(need);
  const per = type === 'full' ? d * d : d;
  for (let c = 0; c < k; c++) {
    const label = (j: number) => (type === 'full' ? `model.covariances[${c}][${Math.floor(j / d)}][${j % d}]` : `model.covariances[${c}][${j}]`);
    copyNumbers(cov.subarray(c * per, (c + 1) * per), covariances, c * per, label);
    checkCovariances(type, covariances, c, c + 1, d, 'model.', true);
    if (type === 'full') symmetrizeInPlace(covariances, d, c * d * d);
  }
  return { type, k, d, weights, means, covariances };
}

/** A model's arrays: its parameters and the factors computed from them. */
export interface ModelParts {
  covarianceType: CovarianceType;
  weights: Float64Array;
  means: Float64Array;
  covariances: Float64Array;
  choleskyFactors: Float64Array;
  precisionFactors: Float64Array;
  logDets: Float64Array;
}

/**
 * The model whose arrays these are, taken as they are: nothing validated or refactorized. Only
 * for arrays that came from a GaussianMixture (a copy, the worker's result).
 * @internal
 */
export function modelFromParts(parts: ModelParts): GaussianMixture {
  const m: GaussianMixture = Object.create(GaussianMixture.prototype);
  Object.assign(m, { ...parts, gaussians: parts.weights.length, dimensionality: parts.means.length / parts.weights.length });
  return m;
}

/**
 * The n×d array a sample is drawn into; InvalidArgumentError naming `parameter` where it cannot
 * be had (beyond the largest typed array, or more memory than can be allocated).
 * @internal
 */
export function sampleArray(n: number, d: number, parameter: string): Float64Array {
  try {
    return new Float64Array(n * d);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new InvalidArgumentError(parameter, `${n} samples of dimensionality ${d} are ${n * d} values, more than can be held in one Float64Array; draw fewer at a time, with a different seed each time`);
  }
}

/**
 * Rows [from, to) of a sample drawn with `rng` into the row-major `out`: what
 * {@link GaussianMixture.sample} does for rows [0, n), so that drawing a sample in several calls
 * with one `rng` (the CLI's generate, which checks for a signal between them) gives the same points.
 * @internal
 */
export function sampleRows(model: GaussianMixture, rng: Rng, out: Float64Array, from: number, to: number): void {
  const k = model.gaussians, d = model.dimensionality;
  const cdf = new Float64Array(k);
  let acc = 0;
  for (let c = 0; c < k; c++) cdf[c] = acc += model.weights[c]!;
  const z = new Float64Array(d);
  for (let i = from; i < to; i++) {
    const u = rng.nextFloat() * acc;
    let c = 0;
    while (c < k - 1 && (u >= cdf[c]! || model.weights[c] === 0)) c++;
    for (let j = 0; j < d; j++) z[j] = rng.nextNormal();
    const o = i * d;
    if (model.covarianceType === 'full') {
      const lo = c * d * d;
      for (let r = 0; r < d; r++) {
        let s = model.means[c * d + r]!;
        for (let j = 0; j <= r; j++) s += model.choleskyFactors[lo + r * d + j]! * z[j]!;
        out[o + r] = s;
      }
    } else {
      for (let r = 0; r < d; r++) out[o + r] = model.means[c * d + r]! + model.choleskyFactors[c * d + r]! * z[r]!;
    }
  }
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

/**
 * {@link GaussianMixture.from}, with an InvalidModelError's message prefixed by `prefix` (a file
 * name, a function's name) — its class and component kept.
 */
export function modelFrom(input: GaussianMixtureLike, prefix: string): GaussianMixture {
  try {
    return GaussianMixture.from(input);
  } catch (e) {
    if (e instanceof InvalidModelError) throw prefixModelError(e, prefix);
    throw e;
  }
}
