/**
 * `train()`: mlpack's `gmm_train` as a library call. Validates the options, prepares the data once
 * (noise, backend upload), then runs the trials — each initialized by k-means (optionally from a
 * Bradley–Fayyad refined start) or from `inputModel` — and keeps the model with the highest
 * training log-likelihood. Under the default policy, on data whose every feature varies, the search
 * is wider: each trial also starts from k-means on standardized data, and an internal validation
 * split may overrule the training log-likelihood and sharpen the clamp (`chooseByValidation`).
 */
import { checkMagnitudes, checkObservationWeights, columnList, describeValue as describe, gatherRows, toDataset, type DataInput, type Dataset } from '../data.js';
import { GaussianMixture, type GaussianMixtureLike, type CovarianceType } from '../model/gaussian-mixture.js';
import { InvalidArgumentError, InvalidModelError, throwIfAborted, unlessAborted } from '../errors.js';
import { Rng, seedFromClock } from '../util/rng.js';
import {
  COVARIANCE_CONSTRAINTS,
  DEFAULT_COVARIANCE_CONSTRAINT,
  DEFAULT_MAX_CONDITION,
  DEFAULT_VARIANCE_FLOOR,
  MLPACK_CONSTRAINT,
  clampLevelOf,
  formatKnob,
  type ConstraintSpec,
  type CovarianceConstraint,
} from './constraints.js';
import { featureScales, scaledData, nearestScaled, standardizedData, OUTLIER_SPREAD, RARE_DEVIATIONS, type FeatureScaling } from './feature-scale.js';
import { runEM, type IterationInfo, type EmResult } from './em.js';
import { kmeans, kmeansFromCentroids, positiveSample, sampledStartCentroids } from './kmeans.js';
import { meansOfNearest, refinedSampleSize, refinedStartCentroids } from './refined-start.js';
import { modelFromAssignments } from './initialize.js';
import { sameBackendFor, selectBackend, BACKEND_CHOICES, type BackendChoice } from '../backends/select.js';
import { passMultiplyAdds, type BackendKind, type EStepBackend } from '../backends/backend.js';
import { RESIDENCIES, type Residency } from '../backends/residency.js';

/**
 * A silent step of the `'unit-invariant'` policy's wider search, as it begins (`onSearch`):
 * `'second start'` — trial `trial`'s k-means++ on standardized data and its EM run (index = trial
 * + 1 of count = trials); `'validation'` — a distinct candidate fit refitted on 80 % of the points
 * and scored on the other 20 % (index of count); `'clamp'` — a sharper clamp tried the same way
 * (index of count levels).
 */
export interface SearchInfo {
  /** Which kind of step is about to run (see above). */
  step: 'second start' | 'validation' | 'clamp';
  /** 0-based trial the step belongs to. */
  trial: number;
  /** 1-based position of the step among `count` of its kind. */
  index: number;
  /** How many steps of this kind the search runs (trials, candidates or clamp levels). */
  count: number;
}

/** Options of {@link train}: mlpack `gmm_train`'s parameters in camelCase, with mlpack's defaults. */
export interface TrainOptions {
  /** Number of components K (required, > 0). mlpack: `--gaussians/-g`. */
  gaussians: number;
  /** Independent initializations + EM runs; the best log-likelihood wins. Default 1. */
  trials?: number;
  /**
   * EM stops when |Δ log-likelihood| ≤ tolerance, or when the change is below float64's
   * resolution of log L (8ε·|log L|; with tolerance 0 only an exact repeat counts, unless
   * `maxIterations` is 0), or — one component — when its second M-step from float64 statistics
   * moved the model by rounding only (the first is EM's fixed point). Default 1e-10. With `observationWeights` the
   * log-likelihood is Σ w·log p and the tolerance is multiplied by the mean positive weight, so
   * that rescaling all weights (e.g. to sum to 1) changes nothing but the reported log-likelihood.
   */
  tolerance?: number;
  /**
   * Maximum M-steps per trial (per EM run of the `'unit-invariant'` wider search, see
   * `covarianceConstraint`); 0 = until convergence. Default 250 (mlpack performs one fewer).
   * EM that settles into an exact cycle of its arithmetic (float64 or float32) stops at the
   * iteration whose model is the one the cap would leave, bit for bit (`iterations` = the cap;
   * `onIteration` is not called for the iterations skipped); with 0, as soon as the cycle is seen,
   * not converged.
   */
  maxIterations?: number;
  /** Full covariance only: skip the positive-definite constraint (a non-PD covariance is then an error). */
  noForcePositive?: boolean;
  /** Diagonal covariances (variances only). */
  diagonalCovariance?: boolean;
  /** Variance of zero-mean Gaussian noise added to every value before training. Default 0. */
  noise?: number;
  /**
   * Lloyd iterations cap for k-means; 0 = until convergence. Default 1000. (Where the default
   * policy runs Lloyd on a subsample first, the cap applies to each of the two runs.) Lloyd that
   * cycles exactly (more clusters than distinct points) stops at the iteration whose state is the
   * cap's; with 0, as soon as the cycle is seen.
   */
  kmeansMaxIterations?: number;
  /** Seed k-means with the Bradley–Fayyad refined start. */
  refinedStart?: boolean;
  /** Refined start: number of subsamples. Default 100. */
  samplings?: number;
  /** Refined start: fraction of the data in each subsample, in (0, 1]. Default 0.02. */
  percentage?: number;
  /** PRNG seed; 0 (default) seeds from the clock, and the seed used is in the result. */
  seed?: number;
  /**
   * Warm start: every trial starts EM from this model instead of k-means. Under `'unit-invariant'`
   * with neither `maxCondition` nor `varianceFloor` given, EM continues at the clamp level the
   * model needs, up to the wider search's × 100 and only where the search itself could run (see
   * `covarianceConstraint`; without the `inputModel` condition): a model the search fitted at a
   * sharper clamp is continued there, not inflated by the default's. A notice in `warnings` says
   * so, or that the model needs more than × 100 (then pass both knobs); the result's
   * `maxCondition` and `varianceFloor` say the level.
   */
  inputModel?: GaussianMixtureLike;
  /**
   * Covariance policy. `'unit-invariant'` (default): k-means (seeded by k-means++) runs on per-feature scaled data
   * (above `KMEANS_MAX_POINTS` points, on a uniform subsample, with every point then assigned) and the
   * covariance constraint acts in scaled coordinates (scale of feature d = its range in the training
   * data, or 1000 interquartile ranges where a few extreme values stretch the range beyond that), so changing a feature's units changes nothing but the model's units. `'mlpack'`:
   * mlpack's eigenvalue rule in the data's own units and k-means on the raw data, exactly as mlpack.
   *
   * `'unit-invariant'` widens its search when every feature deviates from its most common value in
   * at least 35 points of weight (no constant or nearly constant feature), there are at most
   * 100 000 points, an EM iteration is at most 5e8 multiply-adds (`WIDE_SEARCH_MAX_WORK`), 80 % of
   * the points number at least K·(D + 1) (2K for diagonal covariances) and no
   * `inputModel` is given: each trial also runs from k-means++ on standardized data (both fits count as the trial's;
   * the better training log-likelihood is its entry), and 20 % of the points (a seeded draw) are
   * held out to check the candidates: each distinct candidate is refitted on the other 80 % from
   * where it converged and scored on the held-out points; a candidate replaces the one with the best
   * training log-likelihood only when the held-out points prefer it significantly (paired z > 2),
   * and a sharper clamp (maxCondition × 10, × 100 with varianceFloor ÷ 10, ÷ 100; only when neither
   * knob is given) is taken when they prefer it significantly and none of them loses more than
   * ½ ln 10 nat. The final model is always fitted on all the points. This costs several times the
   * EM work of the narrow search: a second start per trial, then the refits (measured 3–10× the
   * passes of `'mlpack'`). `onIteration` and `onKmeansIteration` follow the
   * first start of each trial and, when a sharper clamp is taken, its refit on all the points
   * (an EM run of its own, up to `maxIterations` M-steps, numbered on from the chosen fit's); the
   * second start and the refits on the 80 % run without them, each announced to `onSearch` as it
   * begins. Each of these EM runs has its own
   * `maxIterations`, so the returned model may have had up to twice as many M-steps (its trial's
   * `iterations` counts them all); `'mlpack'` keeps the cap per trial exactly.
   */
  covarianceConstraint?: CovarianceConstraint;
  /**
   * `'unit-invariant'`: the largest condition number of a covariance in scaled coordinates; smaller
   * eigenvalues are raised to λmax / maxCondition. Default 1e7 (≥ 1), which the wider search (see
   * `covarianceConstraint`) may raise to 1e8 or 1e9 on held-out evidence, and a warm start to the
   * level its `inputModel` needs (up to 1e9); given explicitly, it is used as is.
   */
  maxCondition?: number;
  /**
   * `'unit-invariant'`: the smallest eigenvalue of a covariance in scaled coordinates, i.e. a
   * variance floor of varianceFloor × (range of feature d)². Default 1e-9 (> 0), lowered with
   * maxCondition by the wider search (1e-10, 1e-11); given explicitly, it is used as is — unless,
   * below 1e-11, it puts some feature's floor below 1e-300 in that feature's units
   * (InvalidArgumentError naming the least this data allows).
   */
  varianceFloor?: number;
  /** One non-negative weight per point (mlpack's weighted `Train`): weight 2 ≡ the point twice. */
  observationWeights?: ArrayLike<number>;
  /**
   * Which backend runs the E-step: `'auto'` (default: the CPU for a problem under 10⁶ multiply-adds
   * per pass, else the faster of WebGPU and the CPU, measured on this problem), `'webgpu'` or `'cpu'`.
   */
  backend?: BackendChoice;
  /** WebGPU: at most this many points per chunk (default: as many as one storage binding holds). */
  maxChunkPoints?: number;
  /**
   * WebGPU: where the points live between EM iterations. `'device'` uploads them once; `'streamed'`
   * uploads them again, chunk by chunk, every iteration, so device memory stays a few chunks however
   * large the data. `'auto'` (default) streams on software adapters (lavapipe, SwiftShader, whose
   * device memory is the process's memory) above 256 MiB of points, and where the device runs out
   * of memory; otherwise it keeps them on the device.
   */
  dataResidency?: Residency;
  /**
   * Called after every E-step with (a copy of) the current model and its log-likelihood; training
   * awaits a returned promise. Under the `'unit-invariant'` policy's wider search only each trial's
   * first start is reported (the second start and the validation refits go to `onSearch`). A
   * WebGPU trial that hands over to float64 within its first 8 M-steps starts again in float64
   * (README, *Mixed precision*): the iterations it already reported are not reported again, and in
   * the rare case that float64 stops earlier, some were reported past the trial's final count.
   */
  onIteration?: (info: IterationInfo) => void | Promise<void>;
  /**
   * Called after every Lloyd iteration of a trial's (final) k-means, for progress displays;
   * training awaits a returned promise (an `async` function), and a throw or a rejection fails it,
   * as with `onIteration`.
   */
  onKmeansIteration?: (info: { trial: number; iteration: number; shift: number }) => void;
  /**
   * Called as each silent step of the `'unit-invariant'` policy's wider search begins (see
   * `covarianceConstraint`), for progress displays: they report no iterations, and take several
   * times the EM of the trials' first starts. Training awaits a returned promise (an `async`
   * function), and a throw or a rejection fails it, as with `onIteration`.
   */
  onSearch?: (info: SearchInfo) => void;
  /** Cancels training: the promise rejects with the signal's reason (an `AbortError` by default). */
  signal?: AbortSignal;
}

/** One trial of {@link train}: its own k-means start and EM run. */
export interface TrialResult {
  /** Training log-likelihood of this trial's final model. */
  logLikelihood: number;
  /**
   * M-steps performed — or, where EM settled into an exact cycle of its arithmetic, the
   * M-steps it would have performed to its cap: the run stopped at the iteration whose model is
   * the one the cap would leave (onIteration was not called for the iterations skipped).
   */
  iterations: number;
  /** Whether EM stopped on `tolerance` or its other convergence rules (false: at `maxIterations`, or in a cycle of its arithmetic). */
  converged: boolean;
  /** Lloyd iterations of the final k-means on all the points it clusters (0 with `inputModel`). */
  kmeansIterations: number;
  /**
   * WebGPU: passes run in float64 on the CPU — the finish where the change in log-likelihood fell
   * below float32's resolution while `tolerance` was still resolvable in float64 (all of them
   * when the trial started again in float64), the probes (float64 asked whether EM would stop), a
   * blind pass's redo, or the rest of a trial whose model float32 cannot evaluate faithfully (0 on
   * the CPU backend). Passes actually run: those skipped at an exact cycle (see `iterations`) are
   * not counted; nor are the float32 passes before a restart in float64.
   */
  float64Passes: number;
}

/** What {@link train} resolves to: the chosen model and how every trial went. */
export interface TrainResult {
  /** The model of the best trial. */
  model: GaussianMixture;
  /**
   * Its training log-likelihood Σ w_n log p(x_n) (on the data after `noise` was added), as the last
   * E-step computed it: on WebGPU, unless the trial finished in float64, a float32 pass's value,
   * within its rounding (~1e-8 relative, see the README's *Mixed precision*) of the model's exact
   * `model.logLikelihood(data)`. The same rounding decides between trials that reached the same
   * optimum there (an equivalent model, its components possibly numbered differently).
   */
  logLikelihood: number;
  /** M-steps of the best trial (as its `iterations` counts them: a cycle cut short counts to the cap). */
  iterations: number;
  /** Whether the best trial stopped on the tolerance or its other convergence rules (rather than on `maxIterations` or in a cycle). */
  converged: boolean;
  /**
   * One entry per trial, in order. With the wider search of `'unit-invariant'`, a trial's entry is
   * its better start's fit, and the trial of the chosen model has the chosen fit's (after a sharper
   * clamp: that fit's M-steps plus those of its refit at the sharper clamp, up to `maxIterations`
   * more).
   */
  trials: TrialResult[];
  /**
   * Index of the best trial: the highest training log-likelihood (ties within 1e-9 nat per point
   * keep the earliest under `'unit-invariant'`), unless {@link TrainResult.overruled}.
   */
  bestTrial: number;
  /**
   * True when the wider search of `'unit-invariant'` (see `covarianceConstraint`) chose another
   * candidate than the one with the highest training log-likelihood (both fitted at the search's
   * starting clamp), because its held-out points preferred it significantly: `logLikelihood` is
   * then below that candidate's — another trial's entry in `trials`, or the same trial's other
   * start, whose entry the chosen fit replaces — unless a sharper clamp then refitted the chosen
   * one (see `maxCondition`), which can raise it above. Always false under `'mlpack'`, where the
   * result is the best trial exactly as mlpack's.
   */
  overruled: boolean;
  /** The seed used (drawn from the clock when `seed` was 0). */
  seed: number;
  /** The backend that ran the E-step. */
  backend: BackendKind;
  /**
   * The backend whose pass computed `logLikelihood`: `'cpu'` — float64, exact to its last digits —
   * also on WebGPU where the chosen trial finished (or started again) in float64.
   */
  logLikelihoodBackend: BackendKind;
  /** The WebGPU adapter, when the WebGPU backend ran. */
  adapter?: string;
  /** Points of positive weight with zero likelihood under the final model (they add nothing to the log-likelihood; points of weight 0 are not counted). */
  zeroLikelihoodPoints: number;
  /**
   * `'unit-invariant'` only: the clamp the model was fitted under — `maxCondition` as given or its
   * default, or the sharper level that the wider search chose (× 10, × 100) or that a warm start
   * continued at (see `inputModel`). To continue training this model elsewhere under the same
   * clamp, pass both back as options. Absent where no clamp acts (`noForcePositive` with full
   * covariances).
   */
  maxCondition?: number;
  /** `'unit-invariant'` only: the variance floor the model was fitted under (see `maxCondition`). */
  varianceFloor?: number;
  /** Non-fatal notices, e.g. an option that was ignored. */
  warnings: string[];
  /** Wall time per phase, in milliseconds. */
  timings: { setup: number; initialization: number; em: number; total: number };
}

/**
 * train()'s defaults for the options that have one (mlpack gmm_train's, where it has the option;
 * the covariance policy's are in constraints.ts). The CLI shows and passes the same values.
 */
export const TRAIN_DEFAULTS = Object.freeze({
  trials: 1,
  tolerance: 1e-10,
  maxIterations: 250,
  noise: 0,
  kmeansMaxIterations: 1000,
  samplings: 100,
  percentage: 0.02,
  seed: 0,
  backend: 'auto',
  dataResidency: 'auto',
} as const);

const KNOWN_OPTIONS = new Set<string>([
  'gaussians', 'trials', 'tolerance', 'maxIterations', 'noForcePositive', 'diagonalCovariance', 'noise',
  'kmeansMaxIterations', 'refinedStart', 'samplings', 'percentage', 'seed', 'inputModel',
  'covarianceConstraint', 'maxCondition', 'varianceFloor', 'observationWeights', 'backend', 'maxChunkPoints', 'dataResidency', 'onIteration', 'onKmeansIteration', 'onSearch', 'signal',
]);

interface ResolvedOptions {
  gaussians: number;
  trials: number;
  tolerance: number;
  maxIterations: number;
  noForcePositive: boolean;
  covarianceType: CovarianceType;
  noise: number;
  kmeansMaxIterations: number;
  refinedStart: boolean;
  samplings: number;
  percentage: number;
  seed: number;
  constraint: CovarianceConstraint;
  maxCondition: number;
  varianceFloor: number;
  backend: BackendChoice;
  maxChunkPoints: number | undefined;
  dataResidency: Residency;
}

/**
 * Above this many values (2 GiB of float64) one K×D×D array of full covariances is refused before
 * training: the trainer holds several such arrays at once (covariances, Cholesky and precision
 * factors, the M-step's), so it would run out of memory or take far too long.
 */
export const MAX_FULL_COVARIANCE_VALUES = 2 ** 28;

/**
 * Trains a Gaussian mixture with EM, following mlpack's `gmm_train` (see the README for where and
 * why webgmm differs).
 *
 * @example
 * const { model, logLikelihood } = await train(points, { gaussians: 3, seed: 42 });
 */
export async function train(data: DataInput, options: TrainOptions): Promise<TrainResult> {
  const t0 = now();
  // The options first: a `signal` that is not an AbortSignal is refused there, not used.
  const opts = resolveOptions(options);
  throwIfAborted(options.signal);
  const warnings: string[] = [];
  const signal = options.signal;

  let ds = toDataset(data);
  if (ds.n < opts.gaussians) {
    throw new InvalidArgumentError('gaussians', `gaussians = ${opts.gaussians} but the data has only ${ds.n} point${ds.n === 1 ? '' : 's'} (need at least one point per gaussian)`);
  }
  const covarianceValues = opts.gaussians * ds.d * ds.d;
  if (opts.covarianceType === 'full' && covarianceValues > MAX_FULL_COVARIANCE_VALUES) {
    throw new InvalidArgumentError(
      'diagonalCovariance',
      `full covariances for ${opts.gaussians} gaussian${opts.gaussians > 1 ? 's' : ''} of ${ds.d} dimensions need ${covarianceValues.toExponential(2)} values ` +
        `(${((covarianceValues * 8) / 2 ** 30).toFixed(0)} GiB per copy); use diagonalCovariance, or check that the data has one point per row`,
    );
  }
  const weights = checkObservationWeights(options.observationWeights, ds.n);
  // Points of positive weight (all of them without weights).
  const counted = weights ? weights.reduce((count, w) => (w > 0 ? count + 1 : count), 0) : ds.n;
  // Σ w·log p grows with the weights' scale while the model depends on their ratios only: the
  // tolerance is per unit of mean positive weight, so weights normalized to sum to 1 (mlpack's
  // "probabilities") stop where unweighted data would. Unit weights: unchanged.
  if (weights) {
    if (counted < opts.gaussians) {
      throw new InvalidArgumentError(
        'gaussians',
        `gaussians = ${opts.gaussians} but only ${counted} of the ${ds.n} points ${counted === 1 ? 'has' : 'have'} a positive weight (need at least one per gaussian)`,
      );
    }
    opts.tolerance *= meanPositiveWeight(weights);
  }
  const inputModel = resolveInputModel(options.inputModel, ds.d, opts, warnings);
  // Before any work (a GPU device takes seconds to start): subsamples too small for K clusters.
  if (opts.refinedStart && !inputModel) refinedSampleSize(ds.n, opts.gaussians, opts.percentage);
  if (opts.noForcePositive && opts.covarianceType === 'diagonal') {
    warnings.push('`noForcePositive` is ignored with `diagonalCovariance` (mlpack does the same)');
  }
  if (inputModel && opts.trials > 1) {
    warnings.push(`\`trials\` = ${opts.trials} with \`inputModel\`: every trial starts from the same model and gives the same result`);
  }
  warnings.push(...ignoredOptions(options, inputModel !== null));

  const rng = new Rng(opts.seed);
  if (opts.noise > 0) ds = withNoise(ds, opts.noise, rng);
  checkMagnitudes(ds, weights, 'data', opts.noise > 0 ? `after adding noise of variance ${opts.noise}, ` : '');

  // The covariance policy: 'unit-invariant' measures each feature's scale once, on the training
  // data; k-means then runs on the scaled data and the constraint in scaled coordinates.
  let constraint: ConstraintSpec = MLPACK_CONSTRAINT;
  let kmeansData = ds.data;
  let widen = false;
  let scaling: FeatureScaling | null = null;
  // Above KMEANS_MAX_POINTS the default policy runs k-means on a uniform subsample (see below).
  let seeding: { rows: Int32Array; weights: Float64Array | null; scaling: FeatureScaling } | null = null;
  if (opts.constraint === 'unit-invariant') {
    scaling = featureScales(ds.data, ds.n, ds.d, weights);
    // Where the wider search may run (and sharpen the clamp): without an input model it does; a
    // warm start may continue at a sharper level there (below).
    const searchable =
      ds.n <= WIDE_SEARCH_MAX_POINTS &&
      wideSearchWork(ds.n, opts.gaussians, ds.d, opts.covarianceType) <= WIDE_SEARCH_MAX_WORK &&
      scaling.minDeviating >= WIDE_SEARCH_MIN_DEVIATING &&
      (1 - VALIDATION_FRACTION) * counted >= wideSearchMinPoints(opts.gaussians, ds.d, opts.covarianceType);
    widen = searchable && !inputModel;
    constraint = {
      policy: 'unit-invariant',
      scale: scaling.constraintScale,
      maxCondition: opts.maxCondition,
      varianceFloor: opts.varianceFloor,
      featureFloor: scaling.floor,
    };
    // (Not where no clamp acts: full covariances under noForcePositive ignore the knobs.)
    if (options.varianceFloor !== undefined && clampActs(opts)) checkFloorInDataUnits(opts.varianceFloor, scaling.constraintScale);
    // A warm start from a model fitted under a sharper clamp (the wider search's choice) continues
    // at that clamp, up to the search's × 100 and where the search itself could have chosen it: the
    // default's would raise every covariance the sharper one allowed (seattle's dry days lost 4210
    // nats in one M-step). Where the search cannot run, the default's clamp applies — said, with
    // how to keep the model's own (it lost 675 nats in one M-step without a word).
    if (inputModel && clampKnobsFree(options, opts)) {
      const needed = clampLevelOf(constraint, inputModel.covarianceType === 'diagonal', inputModel.weights, inputModel.covariances, inputModel.gaussians, ds.d);
      const level = searchable ? Math.min(needed, CLAMP_LADDER) : 0;
      if (level > 0) constraint = { ...constraint, ...clampAt(opts, level) };
      const knobs = `\`maxCondition\` ${formatKnob(constraint.maxCondition)} and \`varianceFloor\` ${formatKnob(constraint.varianceFloor)}`;
      const keepOwn = "pass `maxCondition` and `varianceFloor` (for a model webgmm trained: its file's `training` records them) to continue at its own";
      if (needed > 0 && !searchable) {
        warnings.push(
          `\`inputModel\` needs a sharper covariance clamp than the default, which this data keeps (the wider search, which may sharpen it, does not run here): ` +
            `training continues at ${knobs}, which raises its narrowest covariances; ${keepOwn}`,
        );
      } else if (needed > CLAMP_LADDER) {
        warnings.push(`\`inputModel\` needs a sharper covariance clamp than the default even at × ${10 ** CLAMP_LADDER}: training continues at ${knobs}, which raises its narrowest covariances; ${keepOwn}`);
      } else if (level > 0) {
        warnings.push(`\`inputModel\` needs a sharper covariance clamp than the default: training continues at the level it needs, ${knobs} (pass both to set the clamp yourself: one alone leaves the other at its default)`);
      }
    }
    if (!inputModel && !opts.refinedStart && ds.n > KMEANS_MAX_POINTS) {
      const rows = positiveSample(ds.n, weights, KMEANS_MAX_POINTS, rng);
      seeding = { rows, weights: weights ? Float64Array.from(rows, (i) => weights[i]!) : null, scaling };
      kmeansData = scaledData(ds.data, ds.n, ds.d, scaling, rows);
    } else if (!inputModel) {
      kmeansData = scaledData(ds.data, ds.n, ds.d, scaling);
    }
    const constant = scaling.constantFeatures;
    if (constant.length > 0) {
      const list = columnList(constant.slice(0, 10)) + (constant.length > 10 ? ', …' : '');
      warnings.push(
        constant.length === ds.d
          ? `every feature is constant in the training data: their scale is taken as 1 in the data's own units (with nothing to measure units by, the fit is not unit-invariant)`
          : `feature${constant.length > 1 ? 's' : ''} ${list} ${constant.length > 1 ? 'are' : 'is'} constant in the training data: ` +
              `${constant.length > 1 ? 'their' : 'its'} scale is taken as the median range of the other features`,
      );
    }
    // A range far beyond the bulk of the values is usually a data problem (999999 for "missing", a
    // zero timestamp): the fit copes (see constraintScale), the user should still hear of it.
    const stretched = Array.from(scaling.constraintScale, (u, j) => (u < scaling!.scale[j]! && !constant.includes(j) ? j : -1)).filter((j) => j >= 0);
    if (stretched.length > 0) {
      const list = columnList(stretched.slice(0, 10), (j) => `: range ${(scaling!.scale[j]! / (scaling!.constraintScale[j]! / OUTLIER_SPREAD)).toPrecision(2)} × its interquartile range`);
      warnings.push(
        `feature${stretched.length > 1 ? 's' : ''} ${list}${stretched.length > 10 ? ', …' : ''}: a few values lie far from all the others ` +
          '(a sentinel such as 999999 for "missing", or outliers?); the covariance constraint measures such a feature by 1000 interquartile ranges instead of its range',
      );
    }
  } else if (options.maxCondition !== undefined || options.varianceFloor !== undefined) {
    warnings.push(`\`maxCondition\` and \`varianceFloor\` apply to \`covarianceConstraint\` 'unit-invariant' only; '${opts.constraint}' ignores them`);
  }
  if (opts.constraint === 'unit-invariant' && opts.noForcePositive && opts.covarianceType === 'full' && (options.maxCondition !== undefined || options.varianceFloor !== undefined)) {
    warnings.push('`maxCondition` and `varianceFloor` are ignored with `noForcePositive`: full covariances are then not constrained at all');
  }

  const selected = await selectBackend(opts.backend, ds, weights, {
    k: opts.gaussians,
    covarianceType: opts.covarianceType,
    maxChunkPoints: opts.maxChunkPoints,
    residency: opts.dataResidency,
    signal: options.signal,
  });
  const backend = selected.backend;
  if (selected.note) warnings.push(selected.note);
  const timings = { setup: 0, initialization: 0, em: 0, total: 0 };
  timings.setup = now() - t0;
  try {
    const trials: TrialResult[] = [];
    // 'mlpack': a later trial wins when its log-likelihood is strictly higher (mlpack's rule).
    // 'unit-invariant': only when higher by more than 1e-9 nat per point, so that trials that reach
    // the same optimum (often, from k-means++ starts) tie and the earliest wins whatever the units:
    // their log-likelihoods differ by rounding only, and rounding differs between unit systems.
    let tieMargin = 0;
    if (opts.constraint === 'unit-invariant') {
      let totalWeight = ds.n;
      if (weights) {
        totalWeight = 0;
        for (let i = 0; i < ds.n; i++) totalWeight += weights[i]!;
      }
      tieMargin = 1e-9 * totalWeight;
    }
    let best: EmResult | null = null;
    let overruled = false;
    let bestTrial = 0;
    // 'unit-invariant' on data whose every feature varies (widen): each trial also starts from
    // k-means on standardized data, and an internal validation split may overrule the training
    // log-likelihood and sharpen the clamp (see chooseByValidation).
    const validation = widen ? validationSplit(ds, weights, opts, validationRng(opts.seed)) : null;
    const startKinds: readonly StartKind[] = widen ? ['range', 'standardized'] : ['range'];
    const stdData = widen ? standardizedData(ds.data, ds.n, ds.d, weights, scaling!) : null;
    const candidates: Candidate[] = [];
    for (let trial = 0; trial < opts.trials; trial++) {
      let trialBest: Candidate | null = null;
      for (const startKind of startKinds) {
        if (startKind === 'standardized') await announce(options, { step: 'second start', trial, index: trial + 1, count: opts.trials });
        const tInit = now();
        let initial: GaussianMixture;
        let kmeansIterations = 0;
        if (inputModel) {
          initial = inputModel;
        } else {
          // (The standardized start has no subsample of its own: the wider search runs only up to
          // WIDE_SEARCH_MAX_POINTS, below KMEANS_MAX_POINTS, where the range start has none either.)
          const data = startKind === 'standardized' ? stdData! : kmeansData;
          // k-means runs on the subsample when there is one; every point is then assigned.
          const kn = seeding ? seeding.rows.length : ds.n;
          const kWeights = seeding ? seeding.weights : weights;
          const centroids = opts.refinedStart && startKind === 'range'
            ? await refinedStartCentroids(data, ds.n, ds.d, opts.gaussians, rng, {
                samplings: opts.samplings, percentage: opts.percentage, weights, signal,
              })
            : null;
          // The second start runs silently: progress callbacks follow one fit per trial.
          const onKmeans = startKind === 'range' ? options.onKmeansIteration : undefined;
          const kmOpts = {
            maxIterations: opts.kmeansMaxIterations,
            weights: kWeights,
            signal,
            onIteration: onKmeans ? (iteration: number, shift: number) => onKmeans({ trial, iteration, shift }) : undefined,
            // k-means only seeds EM: 'unit-invariant' stops it as scikit-learn does (see
            // KMEANS_TOLERANCE); 'mlpack' keeps mlpack's rule, bit for bit.
            tolerance: opts.constraint === 'unit-invariant' ? KMEANS_TOLERANCE : undefined,
          };
          // 'unit-invariant' seeds k-means with k-means++ in the scaled space (on a subsample first
          // for large data: sampledStartCentroids); 'mlpack' (and the refined start) keeps mlpack's
          // uniform draw, bit for bit.
          // After a refined start mlpack's gmm_train runs KMeans<SquaredEuclideanDistance,
          // RefinedStart>, which starts Lloyd from the means of the points nearest each refined
          // centroid (meansOfNearest) and stops on √(Σ‖Δc‖⁴) (KMeansOptions.distance); 'mlpack' does too.
          const km = centroids
            ? opts.constraint === 'mlpack'
              ? await kmeansFromCentroids(data, kn, ds.d, meansOfNearest(data, kn, ds.d, centroids, opts.gaussians, kWeights), opts.gaussians, { ...kmOpts, distance: 'squared-euclidean' })
              : await kmeansFromCentroids(data, kn, ds.d, centroids, opts.gaussians, kmOpts)
            : opts.constraint === 'unit-invariant'
              ? await kmeansFromCentroids(data, kn, ds.d, await sampledStartCentroids(data, kn, ds.d, opts.gaussians, rng, kmOpts), opts.gaussians, kmOpts)
              : await kmeans(data, kn, ds.d, opts.gaussians, rng, kmOpts);
          kmeansIterations = km.iterations;
          const assignments = seeding ? await nearestScaled(ds.data, ds.n, ds.d, seeding.scaling, km.centroids, opts.gaussians, signal) : km.assignments;
          initial = await modelFromAssignments(ds, weights, assignments, opts.gaussians, {
            covarianceType: opts.covarianceType,
            constraint,
            forcePositive: !opts.noForcePositive,
            trial,
          }, signal);
        }
        const tEm = now();
        timings.initialization += tEm - tInit;
        const em = await runEM(backend, initial, {
          maxIterations: opts.maxIterations,
          tolerance: opts.tolerance,
          constraint,
          forcePositive: !opts.noForcePositive,
          trial,
          signal,
          onIteration: startKind === 'range' ? options.onIteration : undefined,
        });
        timings.em += now() - tEm;
        const c: Candidate = { em, trial, kmeansIterations };
        candidates.push(c);
        if (trialBest === null || em.logLikelihood > trialBest.em.logLikelihood + tieMargin) trialBest = c;
      }
      const tb = trialBest!;
      trials.push({
        logLikelihood: tb.em.logLikelihood,
        iterations: tb.em.iterations,
        converged: tb.em.converged,
        kmeansIterations: tb.kmeansIterations,
        float64Passes: tb.em.float64Passes,
      });
      if (best === null || tb.em.logLikelihood > best.logLikelihood + tieMargin) {
        best = tb.em;
        bestTrial = trial;
      }
    }
    if (validation) {
      const tEm = now();
      const ladder = clampKnobsFree(options, opts) ? CLAMP_LADDER : 0;
      const chosen = await chooseByValidation(validation, candidates, candidates.find((c) => c.em === best)!, ladder, tieMargin, opts, backend, constraint, options, signal);
      if (chosen) {
        best = chosen.em;
        bestTrial = chosen.trial;
        overruled = chosen.overruled;
        if (chosen.level > 0) constraint = { ...constraint, ...clampAt(opts, chosen.level) };
        // The chosen fit becomes its trial's entry.
        trials[bestTrial] = {
          logLikelihood: best.logLikelihood,
          iterations: best.iterations,
          converged: best.converged,
          kmeansIterations: chosen.kmeansIterations,
          float64Passes: best.float64Passes,
        };
      }
      timings.em += now() - tEm;
    }
    const winner = best!;
    if (winner.zeroLikelihoodPoints > 0) {
      warnings.push(`${winner.zeroLikelihoodPoints} point(s) have zero likelihood under the final model (outliers); they add nothing to the log-likelihood`);
    }
    const empty = Array.from(winner.model.weights, (w, c) => (w === 0 ? c : -1)).filter((c) => c >= 0);
    const list = (cs: number[]): string => `${cs.slice(0, 10).join(', ')}${cs.length > 10 ? ', …' : ''}`;
    if (empty.length > 0 && inputModel && empty.every((c) => inputModel.weights[c] === 0)) {
      // A warm start's components of weight 0 stay so: no point is ever assigned to them.
      warnings.push(`${empty.length} of the ${opts.gaussians} components (${list(empty)}) ${empty.length === 1 ? 'has' : 'have'} weight 0 in \`inputModel\` and keep${empty.length === 1 ? 's' : ''} it: EM gives a component of weight 0 no points`);
    } else if (empty.length > 0) {
      // As scikit-learn warns: more components than the data can support (often fewer distinct points than `gaussians`).
      warnings.push(
        `${empty.length} of the ${opts.gaussians} components (${list(empty)}) ended with weight 0: ` +
          'no point belongs to them; the data may have fewer distinct points or clusters than `gaussians`',
      );
    }
    timings.total = now() - t0;
    return {
      model: winner.model,
      logLikelihood: winner.logLikelihood,
      iterations: winner.iterations,
      converged: winner.converged,
      trials,
      bestTrial,
      seed: opts.seed,
      backend: backend.kind,
      logLikelihoodBackend: winner.logLikelihoodBackend,
      ...(selected.adapter !== undefined ? { adapter: selected.adapter } : {}),
      zeroLikelihoodPoints: winner.zeroLikelihoodPoints,
      overruled,
      ...(constraint.policy === 'unit-invariant' && clampActs(opts) ? { maxCondition: constraint.maxCondition, varianceFloor: constraint.varianceFloor } : {}),
      warnings,
      timings,
    };
  } finally {
    backend.dispose();
  }
}

function now(): number {
  return performance.now();
}

function checkInteger(name: string, v: unknown, min: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new InvalidArgumentError(name, `${name} must be ${what}, got ${describe(v)}`);
  }
  return v;
}

function checkNumber(name: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new InvalidArgumentError(name, `${name} must be ${what}, got ${describe(v)}`);
  }
  return v;
}

function checkBoolean(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(name, `${name} must be true or false, got ${describe(v)}`);
  return v;
}

function resolveOptions(options: TrainOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'train(data, options) needs an options object with at least { gaussians }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new InvalidArgumentError(key, `unknown option "${key}"; valid options are: ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const o = options as unknown as Record<string, unknown>;
  const get = <T>(name: string, dflt: T): unknown => (o[name] === undefined ? dflt : o[name]);
  if (o.gaussians === undefined) throw new InvalidArgumentError('gaussians', 'gaussians is required (the number of components, > 0)');
  const gaussians = checkInteger('gaussians', o.gaussians, 1, 'an integer > 0');
  const trials = checkInteger('trials', get('trials', TRAIN_DEFAULTS.trials), 1, 'an integer > 0');
  const tolerance = checkNumber('tolerance', get('tolerance', TRAIN_DEFAULTS.tolerance), (x) => x >= 0, 'a finite number ≥ 0');
  const maxIterations = checkInteger('maxIterations', get('maxIterations', TRAIN_DEFAULTS.maxIterations), 0, 'an integer ≥ 0 (0 = until convergence)');
  const noForcePositive = checkBoolean('noForcePositive', get('noForcePositive', false));
  const diagonal = checkBoolean('diagonalCovariance', get('diagonalCovariance', false));
  const noise = checkNumber('noise', get('noise', TRAIN_DEFAULTS.noise), (x) => x >= 0, 'a finite variance ≥ 0');
  const kmeansMaxIterations = checkInteger('kmeansMaxIterations', get('kmeansMaxIterations', TRAIN_DEFAULTS.kmeansMaxIterations), 0, 'an integer ≥ 0 (0 = until convergence)');
  const refinedStart = checkBoolean('refinedStart', get('refinedStart', false));
  const samplings = checkInteger('samplings', get('samplings', TRAIN_DEFAULTS.samplings), 1, 'an integer > 0');
  const percentage = checkNumber('percentage', get('percentage', TRAIN_DEFAULTS.percentage), (x) => x > 0 && x <= 1, 'in (0, 1]');
  let seed = checkNumber('seed', get('seed', TRAIN_DEFAULTS.seed), (x) => Number.isInteger(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER, 'an integer of magnitude ≤ 2^53 − 1 (0 = from the clock)');
  if (seed === 0) seed = seedFromClock();
  const constraint = get('covarianceConstraint', DEFAULT_COVARIANCE_CONSTRAINT);
  if (!COVARIANCE_CONSTRAINTS.includes(constraint as CovarianceConstraint)) {
    throw new InvalidArgumentError('covarianceConstraint', `covarianceConstraint must be one of ${COVARIANCE_CONSTRAINTS.map((c) => `'${c}'`).join(', ')}, got ${describe(constraint)}`);
  }
  const maxCondition = checkNumber('maxCondition', get('maxCondition', DEFAULT_MAX_CONDITION), (x) => x >= 1, 'a finite number ≥ 1');
  const varianceFloor = checkNumber('varianceFloor', get('varianceFloor', DEFAULT_VARIANCE_FLOOR), (x) => x > 0 && x <= 1, 'a finite number > 0 and ≤ 1 (a variance relative to the feature\'s squared range)');
  const backend = get('backend', TRAIN_DEFAULTS.backend);
  if (!BACKEND_CHOICES.includes(backend as BackendChoice)) {
    throw new InvalidArgumentError('backend', `backend must be one of ${BACKEND_CHOICES.map((c) => `'${c}'`).join(', ')}, got ${describe(backend)}`);
  }
  const maxChunkPoints = o.maxChunkPoints === undefined ? undefined : checkInteger('maxChunkPoints', o.maxChunkPoints, 1, 'an integer > 0');
  const dataResidency = get('dataResidency', TRAIN_DEFAULTS.dataResidency);
  if (!RESIDENCIES.includes(dataResidency as Residency)) {
    throw new InvalidArgumentError('dataResidency', `dataResidency must be one of ${RESIDENCIES.map((c) => `'${c}'`).join(', ')}, got ${describe(dataResidency)}`);
  }
  if (o.onSearch !== undefined && typeof o.onSearch !== 'function') {
    throw new InvalidArgumentError('onSearch', `onSearch must be a function, got ${describe(o.onSearch)}`);
  }
  if (o.onIteration !== undefined && typeof o.onIteration !== 'function') {
    throw new InvalidArgumentError('onIteration', `onIteration must be a function, got ${describe(o.onIteration)}`);
  }
  if (o.onKmeansIteration !== undefined && typeof o.onKmeansIteration !== 'function') {
    throw new InvalidArgumentError('onKmeansIteration', `onKmeansIteration must be a function, got ${describe(o.onKmeansIteration)}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', 'signal must be an AbortSignal');
  }
  return {
    gaussians, trials, tolerance, maxIterations, noForcePositive,
    covarianceType: diagonal ? 'diagonal' : 'full',
    noise, kmeansMaxIterations, refinedStart, samplings, percentage, seed,
    constraint: constraint as CovarianceConstraint,
    maxCondition,
    varianceFloor,
    backend: backend as BackendChoice,
    maxChunkPoints,
    dataResidency: dataResidency as Residency,
  };
}

/**
 * Checks `options` as `train()` does before any work (unknown names, types, ranges, callbacks),
 * throwing the same {@link InvalidArgumentError}: for callers that hand the training elsewhere
 * (`trainInWorker`) and should fail as early and as precisely as `train()` would.
 */
export function checkTrainOptions(options: TrainOptions): void {
  resolveOptions(options);
}

/**
 * `inputModel` as a {@link GaussianMixture}, checked against the data's dimensionality and the
 * number of gaussians; any problem is an InvalidArgumentError naming `inputModel`.
 */
export function checkedInputModel(input: GaussianMixtureLike, d: number, gaussians: number): GaussianMixture {
  let model: GaussianMixture;
  try {
    model = GaussianMixture.from(input);
  } catch (e) {
    if (e instanceof InvalidModelError) throw new InvalidArgumentError('inputModel', `inputModel is invalid: ${e.message}`);
    throw e;
  }
  if (model.dimensionality !== d) {
    throw new InvalidArgumentError('inputModel', `inputModel has dimensionality ${model.dimensionality} but the data has ${d} columns`);
  }
  if (model.gaussians !== gaussians) {
    throw new InvalidArgumentError('inputModel', `inputModel has ${model.gaussians} gaussians but gaussians = ${gaussians}`);
  }
  return model;
}

function resolveInputModel(
  input: GaussianMixtureLike | undefined,
  d: number,
  opts: ResolvedOptions,
  warnings: string[],
): GaussianMixture | null {
  if (input === undefined) return null;
  const model = checkedInputModel(input, d, opts.gaussians);
  if (model.covarianceType === opts.covarianceType) return model;
  const k = model.gaussians;
  if (opts.covarianceType === 'full') {
    // A diagonal model is exactly a full one with zero off-diagonals.
    const cov = new Float64Array(k * d * d);
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) cov[c * d * d + j * d + j] = model.covariances[c * d + j]!;
    return GaussianMixture.fromArrays('full', Float64Array.from(model.weights), Float64Array.from(model.means), cov);
  }
  // mlpack stores a diagonal model as full with zero off-diagonals: nothing is dropped there.
  if (hasOffDiagonals(model.covariances, k, d)) warnings.push('`inputModel` has full covariances but `diagonalCovariance` is set: training starts from their diagonals');
  const vars = new Float64Array(k * d);
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) vars[c * d + j] = model.covariances[c * d * d + j * d + j]!;
  return GaussianMixture.fromArrays('diagonal', Float64Array.from(model.weights), Float64Array.from(model.means), vars);
}

/** Whether any of the k full d×d covariances has a nonzero entry off its diagonal. */
function hasOffDiagonals(covariances: Float64Array, k: number, d: number): boolean {
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) if (i !== j && covariances[c * d * d + i * d + j] !== 0) return true;
    }
  }
  return false;
}

/**
 * The random stream of the internal validation split: apart from the trials' stream, and the one
 * `new Rng(-seed)` gave before negative seeds got streams of their own (that of seed
 * s XOR 0x5bd1e995 in the low 32 bits), so that the splits — and the models the wider search
 * picks, and the published quality benchmark — stay as they were.
 */
function validationRng(seed: number): Rng {
  return new Rng(Math.floor(seed / 2 ** 32) * 2 ** 32 + (((seed % 2 ** 32) ^ 0x5bd1e995) >>> 0));
}

/** The mean of the positive weights (those of the points that count). */
function meanPositiveWeight(weights: Float64Array): number {
  let total = 0;
  let count = 0;
  for (const w of weights) {
    if (w > 0) {
      total += w;
      count++;
    }
  }
  return total / count;
}

/** A copy of the data with N(0, noise) added to every value (mlpack's `--noise`, read as a variance). */
function withNoise(ds: Dataset, noise: number, rng: Rng): Dataset {
  const sd = Math.sqrt(noise);
  const data = new Float64Array(ds.data.length);
  for (let i = 0; i < data.length; i++) data[i] = ds.data[i]! + sd * rng.nextNormal();
  return { data, n: ds.n, d: ds.d };
}

/**
 * The `'unit-invariant'` policy's k-means stops once the squared centroid shift is at most this
 * times the mean per-feature variance of the (scaled) data: scikit-learn's `KMeans` default `tol`.
 * mlpack's absolute 1e-5 shift ran overlapping clusters (1M × 8, K = 8, centres 1.5σ apart) for
 * 13–148 Lloyd iterations where this stops after 7–34; EM refines the start anyway. (The variance
 * is weighted by the observation weights, as the centroids are; scikit-learn's is unweighted.)
 */
export const KMEANS_TOLERANCE = 1e-4;

/**
 * Above this many points, the default policy seeds on a uniform random subsample of this many
 * (k-means++ and Lloyd in scaled units), then assigns every point to its nearest centroid and
 * builds the initial model from all the points. k-means only seeds EM; on more points it costs
 * time (one pass per Lloyd iteration) and a scaled float64 copy of the whole data set for little
 * change in the start. The refined start and 'mlpack' keep k-means on all the points.
 */
export const KMEANS_MAX_POINTS = 1_000_000;

// ---------------------------------------------------------------------------------------------
// The wider search of 'unit-invariant' (a second start per trial, an internal validation split)

type StartKind = 'range' | 'standardized';

/**
 * The wider search runs only when every feature deviates from its most common value in at least
 * this much weight of training points (7 × RARE_DEVIATIONS: the near-constant floor factor
 * e^(−c/5) is then below e^(−7) ≈ 1e-3 for every feature). A feature that deviates more rarely
 * makes both extras unsafe, in ways the split cannot see: standardizing amplifies its rare
 * deviations (a start that wins the training likelihood with a worse fit), and a sharper clamp
 * multiplies, tenfold per decade, what a held-out point pays for deviating where the training
 * points never did, while such points are too rare to show up in the validation part.
 */
const WIDE_SEARCH_MIN_DEVIATING = 7 * RARE_DEVIATIONS;
/**
 * The wider search costs several times the EM work of the narrow one: above this many points it is
 * skipped, so that large problems (where a pass over the data dominates) keep one fit per trial.
 */
const WIDE_SEARCH_MAX_POINTS = 100_000; // ≤ KMEANS_MAX_POINTS: the standardized start has no subsample path
/**
 * The wider search needs, in the part of the points its refits are fitted on, enough points for
 * every component's covariance to be nonsingular on average: K·(D + 1) for full covariances (a
 * full covariance of fewer than D + 1 points is singular), 2K for diagonal ones. With fewer (wide
 * data: fewer points than features) every covariance is the clamp's, a sharper clamp only bets on
 * the training points' own subspace, and the refits crawl along it to maxIterations with an
 * eigendecomposition per component each step (50 × 100, K = 2: 22 s against 0.2 s for 'mlpack').
 */
export function wideSearchMinPoints(k: number, d: number, covarianceType: CovarianceType): number {
  return k * (covarianceType === 'full' ? d + 1 : 2);
}
/**
 * Nor where one EM iteration is this much work (wideSearchWork): the search's 3–10× the EM runs
 * would cost minutes — 100 000 × 16 with K = 100 spent 36 s in it after 4.7 s of EM, 3000 × 500
 * with K = 4 took 51 s against 5 s — on problems whose many points per parameter leave the
 * choices it makes least in doubt. Every quality-bench dataset is far below it (the largest, the
 * digits' training split, 5.7e7).
 */
export const WIDE_SEARCH_MAX_WORK = 5e8;
/**
 * The wider search's measure of one EM iteration: the pass (N·K·D(D+3) full, 4·N·K·D diagonal)
 * and, with full covariances, K·D³ for the M-step's eigendecompositions. The EM loop's cost model
 * counts the M-step as 8·K·D³ (mStepMultiplyAdds, as measured); this gate was set, and its
 * examples measured, with K·D³, and is kept so: counting 8·K·D³ would move it for wide data.
 */
export function wideSearchWork(n: number, k: number, d: number, covarianceType: CovarianceType): number {
  return passMultiplyAdds(n, d, k, covarianceType) + (covarianceType === 'full' ? k * d ** 3 : 0);
}
/** Fraction of the training points held out (internally) to check candidate fits. */
const VALIDATION_FRACTION = 0.2;
/** A candidate overrules the incumbent when the held-out points prefer it with a paired z above this. */
const VALIDATION_Z = 2;
/**
 * The least variance floor in a feature's own units that an explicit `varianceFloor` below the
 * library's own may set (checkFloorInDataUnits): much below it a variance has no finite reciprocal
 * (below ~5.6e-309) or underflows to 0 in the covariance's products.
 */
const MIN_FLOOR_IN_DATA_UNITS = 1e-300;
/**
 * An explicit `varianceFloor` that this data's units would turn into a variance float64 cannot use:
 * refused by name. Never one the library itself uses (the default's, lowered by the wider search),
 * whatever the data: a constraint scale of 1000 interquartile ranges can put that near 1e-301 in
 * the data's units, where it trains.
 */
function checkFloorInDataUnits(varianceFloor: number, scale: Float64Array): void {
  const leastOwn = DEFAULT_VARIANCE_FLOOR / 10 ** CLAMP_LADDER;
  // (1e-11 as written is an ulp below 1e-9 / 100.)
  if (varianceFloor >= leastOwn * (1 - 1e-12)) return;
  let j = 0;
  for (let i = 1; i < scale.length; i++) if (scale[i]! < scale[j]!) j = i;
  const s2 = scale[j]! * scale[j]!;
  const floor = varianceFloor * s2;
  if (floor >= MIN_FLOOR_IN_DATA_UNITS) return;
  // The least usable value, rounded up to two digits as printed (and as the caller will pass it).
  const e = Math.floor(Math.log10(MIN_FLOOR_IN_DATA_UNITS / s2)) - 1;
  let least = Number((Math.ceil(MIN_FLOOR_IN_DATA_UNITS / s2 / 10 ** e) * 10 ** e).toPrecision(2));
  while (least * s2 < MIN_FLOOR_IN_DATA_UNITS) least = Number(((Math.round(least / 10 ** e) + 1) * 10 ** e).toPrecision(2));
  throw new InvalidArgumentError(
    'varianceFloor',
    `varianceFloor = ${formatKnob(varianceFloor)} is too small for this data's units: feature ${j + 1}'s variance floor would be ` +
      `${floor.toPrecision(3)} in its own units, below the ${MIN_FLOOR_IN_DATA_UNITS} that float64 arithmetic on covariances needs; ` +
      `use at least ${least < leastOwn ? least.toPrecision(2) : formatKnob(leastOwn)}`,
  );
}

/** Sharper clamps tried: maxCondition × 10^j and varianceFloor / 10^j for j = 1 … CLAMP_LADDER. */
const CLAMP_LADDER = 2;
/** A sharper clamp is refused if it makes any held-out point less likely by more than this (nats). */
const CLAMP_MAX_LOSS = 0.5 * Math.LN10;

/** The clamp's knobs at ladder level j: maxCondition × 10^j, varianceFloor / 10^j. */
function clampAt(opts: ResolvedOptions, level: number): { maxCondition: number; varianceFloor: number } {
  return { maxCondition: opts.maxCondition * 10 ** level, varianceFloor: opts.varianceFloor / 10 ** level };
}

/**
 * Whether training may choose the clamp's level itself: neither knob given, and a clamp that acts
 * (not on full covariances under noForcePositive).
 */
function clampKnobsFree(options: TrainOptions, opts: ResolvedOptions): boolean {
  return clampActs(opts) && options.maxCondition === undefined && options.varianceFloor === undefined;
}

/** Whether the covariance clamp acts at all: not on full covariances under noForcePositive. */
function clampActs(opts: ResolvedOptions): boolean {
  return !(opts.noForcePositive && opts.covarianceType === 'full');
}

interface ValidationSplit {
  fit: Dataset;
  fitWeights: Float64Array | null;
  check: Dataset;
  checkWeights: Float64Array | null;
  checkWeight: number;
}

/**
 * A seeded random VALIDATION_FRACTION of the points (at least one) held out, the rest to fit; null
 * when the fitting part would have fewer than K points of positive weight or the held-out part no
 * weight. `rng` is a stream of its own, so the trials draw exactly what they draw without it.
 */
function validationSplit(ds: Dataset, weights: Float64Array | null, opts: ResolvedOptions, rng: Rng): ValidationSplit | null {
  const n = ds.n;
  const nCheck = Math.floor(VALIDATION_FRACTION * n);
  if (nCheck < 1) return null;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const checkIdx = order.slice(0, nCheck).sort();
  const fitIdx = order.slice(nCheck).sort();
  let positive = 0;
  let checkWeight = 0;
  for (const i of fitIdx) if (!weights || weights[i]! > 0) positive++;
  for (const i of checkIdx) checkWeight += weights ? weights[i]! : 1;
  if (positive < opts.gaussians || !(checkWeight > 0)) return null;
  return {
    fit: gatherRows(ds, fitIdx),
    fitWeights: weights ? Float64Array.from(fitIdx, (i) => weights[i]!) : null,
    check: gatherRows(ds, checkIdx),
    checkWeights: weights ? Float64Array.from(checkIdx, (i) => weights[i]!) : null,
    checkWeight,
  };
}

interface Candidate {
  em: EmResult;
  trial: number;
  kmeansIterations: number;
}

/**
 * Every distinct candidate fit (trial × start, on all the training points) is refitted by EM on the
 * fitting part of the split, starting from where it converged, and scored point by point on the
 * held-out part. The incumbent is the candidate with the best training log-likelihood (the usual
 * rule); another replaces it only when the held-out points prefer it significantly (paired z of the
 * per-point log-density differences > VALIDATION_Z). Then sharper clamps (`ladder` decades) are
 * refitted the same way from the winner, each accepted when the held-out points prefer it over the
 * level so far with z > VALIDATION_Z and none of them loses more than CLAMP_MAX_LOSS; the accepted
 * level is then refitted on all the training points. Returns null when the incumbent stands as it is.
 */
async function chooseByValidation(
  v: ValidationSplit,
  candidates: Candidate[],
  incumbent: Candidate,
  ladder: number,
  tieMargin: number,
  opts: ResolvedOptions,
  backend: EStepBackend,
  base: ConstraintSpec,
  options: TrainOptions,
  signal: AbortSignal | undefined,
): Promise<{ em: EmResult; trial: number; kmeansIterations: number; level: number; overruled: boolean } | null> {
  const { fit, fitWeights } = v;
  const scaling = featureScales(fit.data, fit.n, fit.d, fitWeights);
  const fitConstraint: ConstraintSpec = { ...base, scale: scaling.constraintScale, featureFloor: scaling.floor };
  // The same kind of backend on the same device as the training's (not a new selection).
  const fitBackend = await sameBackendFor(backend, fit, fitWeights, {
    k: opts.gaussians,
    covarianceType: opts.covarianceType,
    maxChunkPoints: opts.maxChunkPoints,
    residency: opts.dataResidency,
    signal,
  });
  const checkInput = { data: v.check.data, rows: v.check.n, cols: v.check.d };
  const margin = 1e-9 * v.checkWeight;
  const refit = async (start: GaussianMixture, constraint: ConstraintSpec, trial: number): Promise<Float64Array> => {
    const em = await runEM(fitBackend, start, { maxIterations: opts.maxIterations, tolerance: opts.tolerance, constraint, forcePositive: !opts.noForcePositive, trial, signal });
    return em.model.scoreSamples(checkInput);
  };
  try {
    // Candidates that reached the same optimum as an earlier one (training log-likelihoods within
    // the trials' tie margin, 1e-9 nat per point) add nothing.
    const distinct: Candidate[] = [];
    for (const c of candidates) {
      if (c !== incumbent && distinct.some((s) => Math.abs(s.em.logLikelihood - c.em.logLikelihood) <= tieMargin)) continue;
      distinct.push(c);
    }
    const scored: { c: Candidate; lp: Float64Array }[] = [];
    for (const c of distinct) {
      await announce(options, { step: 'validation', trial: c.trial, index: scored.length + 1, count: distinct.length });
      scored.push({ c, lp: await refit(c.em.model, fitConstraint, c.trial) });
    }
    const inc = scored.find((s) => s.c === incumbent)!;
    let winner = inc;
    let bestZ = VALIDATION_Z;
    for (const s of scored) {
      const z = pairedZ(s.lp, inc.lp, v.checkWeights, margin);
      if (z > bestZ) {
        bestZ = z;
        winner = s;
      }
    }
    let level = 0;
    let levelLp = winner.lp;
    for (let j = 1; j <= ladder; j++) {
      await announce(options, { step: 'clamp', trial: winner.c.trial, index: j, count: ladder });
      const c = { ...fitConstraint, ...clampAt(opts, j) };
      const lp = await refit(winner.c.em.model, c, winner.c.trial);
      if (sharperClampAccepted(lp, levelLp, v.checkWeights, margin)) {
        level = j;
        levelLp = lp;
      }
    }
    if (winner === inc && level === 0) return null;
    let em = winner.c.em;
    if (level > 0) {
      // A fit of its own (another constraint), continuing the chosen one: up to maxIterations
      // M-steps of its own, counted and reported on from the chosen fit's.
      const before = em.iterations;
      const report = options.onIteration;
      const refit = await runEM(backend, em.model, {
        maxIterations: opts.maxIterations,
        tolerance: opts.tolerance,
        constraint: { ...base, ...clampAt(opts, level) },
        forcePositive: !opts.noForcePositive,
        trial: winner.c.trial,
        signal,
        // Its iteration 0 is the chosen fit's last model again (reported with that fit, unless
        // it was the trial's silent second start).
        onIteration: report && ((info) => (info.iteration === 0 ? undefined : report({ ...info, iteration: before + info.iteration }))),
      });
      em = { ...refit, iterations: before + refit.iterations, float64Passes: em.float64Passes + refit.float64Passes };
    }
    return { em, trial: winner.c.trial, kmeansIterations: winner.c.kmeansIterations, level, overruled: winner !== inc };
  } finally {
    fitBackend.dispose();
  }
}

/**
 * Notices for options given where they do nothing (a typo'd combination should not pass silently;
 * callbacks are exempt: a progress display may pass both whatever the start).
 */
function ignoredOptions(options: TrainOptions, warmStart: boolean): string[] {
  const notes: string[] = [];
  const list = (names: string[]) => names.map((n) => `\`${n}\``).join(', ');
  const kmeans = (['refinedStart', 'kmeansMaxIterations', 'samplings', 'percentage'] as const).filter((n) =>
    n === 'refinedStart' ? options.refinedStart === true : options[n] !== undefined,
  );
  if (warmStart && kmeans.length > 0) {
    notes.push(`${list(kmeans)} ${kmeans.length > 1 ? 'are' : 'is'} ignored with \`inputModel\`: EM starts from the model, without k-means`);
  } else if (!warmStart && options.refinedStart !== true) {
    const refined = kmeans.filter((n) => n === 'samplings' || n === 'percentage');
    if (refined.length > 0) notes.push(`${list(refined)} ${refined.length > 1 ? 'apply' : 'applies'} to \`refinedStart\` only, which is off: ignored`);
  }
  if (options.backend === 'cpu') {
    const gpu = [...(options.maxChunkPoints !== undefined ? ['maxChunkPoints'] : []), ...(options.dataResidency !== undefined && options.dataResidency !== 'auto' ? ['dataResidency'] : [])];
    if (gpu.length > 0) notes.push(`${list(gpu)} ${gpu.length > 1 ? 'apply' : 'applies'} to the WebGPU backend only; backend 'cpu' ignores ${gpu.length > 1 ? 'them' : 'it'}`);
  }
  return notes;
}

/**
 * Whether the held-out log-densities `sharper` of a sharper clamp's refit beat those of the level
 * so far, `level`: a paired z above VALIDATION_Z, and no point (of positive weight) losing more
 * than CLAMP_MAX_LOSS.
 * @internal Exported for tests.
 */
export function sharperClampAccepted(sharper: Float64Array, level: Float64Array, weights: Float64Array | null, margin: number): boolean {
  return pairedZ(sharper, level, weights, margin) > VALIDATION_Z && largestLoss(sharper, level, weights) <= CLAMP_MAX_LOSS;
}

/** The largest log p_a(x) − log p_b(x) over the points of positive weight. */
function largestLoss(b: Float64Array, a: Float64Array, w: Float64Array | null): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (w && !(w[i]! > 0)) continue;
    const loss = a[i]! - b[i]!;
    if (!(loss <= worst)) worst = Number.isNaN(loss) ? Infinity : loss;
  }
  return worst;
}

/** Tells `onSearch` that a silent step of the wider search begins, and awaits what it returns (an abort does not wait). */
async function announce(options: TrainOptions, info: SearchInfo): Promise<void> {
  if (options.onSearch) await unlessAborted(Promise.resolve(options.onSearch(info)), options.signal);
}

/**
 * How strongly the held-out points prefer model B to model A: the weighted mean of the per-point
 * differences log p_B(x) − log p_A(x) over its standard error (a paired z statistic). 0 when the
 * total difference is within `margin` (the same model up to rounding, which differs between unit
 * systems) or undefined.
 */
function pairedZ(b: Float64Array, a: Float64Array, w: Float64Array | null, margin: number): number {
  let sw = 0, sw2 = 0, total = 0;
  for (let i = 0; i < a.length; i++) {
    const wi = w ? w[i]! : 1;
    if (!(wi > 0)) continue;
    sw += wi;
    sw2 += wi * wi;
    total += wi * (b[i]! - a[i]!);
  }
  if (Number.isNaN(total) || !(Math.abs(total) > margin)) return 0;
  if (!Number.isFinite(total)) return total;
  const mean = total / sw;
  let v = 0;
  for (let i = 0; i < a.length; i++) {
    const wi = w ? w[i]! : 1;
    if (!(wi > 0)) continue;
    const t = b[i]! - a[i]! - mean;
    v += wi * t * t;
  }
  const se = Math.sqrt((v / sw) * (sw2 / (sw * sw)));
  if (!(se > 0)) return mean > 0 ? Infinity : -Infinity;
  return mean / se;
}
