/**
 * The EM loop, backend-agnostic. One backend pass per iteration: pass t gives log L(θ_t) and the
 * statistics for θ_{t+1}. Convergence is checked on |log L(θ_t) − log L(θ_{t−1})| before the M-step
 * is applied, so the M-steps performed and the model returned are exactly those of mlpack's loop
 * (which evaluates the log-likelihood in a second pass over the data).
 *
 * A float32 backend (WebGPU) reports a bound on its log-likelihood's rounding error. When a change
 * falls below that bound while the tolerance is resolvable in float64 (or EM is to run until it
 * converges), the remaining iterations run on the backend's float64 reference (the CPU backend on
 * the same data): float32 does the bulk of the work, float64 the finish, and convergence means what
 * it means in mlpack. A handover within the first few M-steps of a small problem starts the trial
 * again in float64 instead (FLOAT64_RESTART_WITHIN): the float64 backend's result exactly. A
 * change float32 cannot resolve does not count as convergence — unless the parameters themselves
 * repeat bit for bit (θ_t = θ_{t−1}, or θ_{t−2}: a fixed point or 2-cycle of
 * the float32 arithmetic, which further iterations would only repeat). When float64 cannot resolve
 * the tolerance either (large |log L|), the finish is in float64 all the same where a float64
 * iteration costs at most a few float32 ones (few points, whose pass the device's round trip
 * outweighs, or few per dimension, whose M-step does: float64IterationCost); otherwise (large
 * data) EM goes on in float32 until then or to `maxIterations`, with float64 probes (three passes
 * or more) that catch what the float64 backend would stop at — the exact fixed point of
 * well-separated clusters, or, probe by probe, where EM's linear convergence brings the change
 * within float64's resolution; where float32 has stopped approaching float64's fixed point, a
 * probe becomes a float64 finish — while their longest runs cost no more than the float32
 * iterations still allowed (a 20-iteration run stays in float32; Float64Probes). With `maxIterations` 0 ("until
 * convergence") a change below float64's resolution of log L counts as convergence, on either
 * backend, so that such a run ends. A model the float32 backend cannot evaluate faithfully
 * (a component narrower than float32 resolves the points, e.g. mlpack's 1e-50 variance floor on
 * duplicated points), or one whose covariance float32 statistics cannot resolve (nearly collinear
 * features) or leave not positive definite, is built from float64 statistics instead, and the trial
 * continues in float64.
 * A float32 pass whose rounding bound exceeds a nat per point (a model far from the data) is run
 * again in float64, for that pass only.
 */
import { CHEAP_FINISH_COST, float64IterationCost, mStepMultiplyAdds, passMultiplyAdds, type BackendKind, type EStepBackend, type MixtureParams, type PassResult } from '../backends/backend.js';
import { GaussianMixture } from '../model/gaussian-mixture.js';
import { mStep } from './m-step.js';
import type { ConstraintSpec } from './constraints.js';
import { NotPositiveDefiniteError, WebGmmError, throwIfAborted, unlessAborted } from '../errors.js';
import { createYielder } from '../util/yield.js';
import { CycleDetector, cycleStop, sameValues } from '../util/cycle.js';
import { Float64Probes } from './float64-probes.js';

/** What `onIteration` receives after every E-step. */
export interface IterationInfo {
  /** 0-based trial index. */
  trial: number;
  /** Number of M-steps applied so far: the model is θ_iteration (0 = the initial model). */
  iteration: number;
  /** log L(θ_iteration) on the training data (weighted by the observation weights, if any). */
  logLikelihood: number;
  /** log L(θ_iteration) − log L(θ_iteration−1); NaN at iteration 0. */
  delta: number;
  /** θ_iteration: a copy of its own, which training never reads (changing it changes nothing). */
  model: GaussianMixture;
  /** The backend that ran this E-step (`'cpu'` once a WebGPU run finishes in float64). */
  backend: BackendKind;
  /** Wall time since the previous iteration's callback (for iteration 0: since EM started), in ms. */
  elapsedMs: number;
}

export interface EmOptions {
  /** M-steps at most; 0 = until convergence. */
  maxIterations: number;
  tolerance: number;
  constraint: ConstraintSpec;
  forcePositive: boolean;
  trial: number;
  signal?: AbortSignal | undefined;
  onIteration?: ((info: IterationInfo) => void | Promise<void>) | undefined;
  /**
   * Internal: this run is a float32 trial started again on its float64 reference (see
   * FLOAT64_RESTART_WITHIN): iterations up to `reportedThrough` were reported by the float32 phase
   * and are not reported again, and every pass counts as a float64 one.
   */
  float64Restart?: { reportedThrough: number };
  /**
   * Internal: false runs every iteration even in an exact cycle of EM's arithmetic (see runEM) —
   * the oracle the tests hold the cycle stop to.
   */
  cycleStops?: boolean;
}

export interface EmResult {
  model: GaussianMixture;
  logLikelihood: number;
  /**
   * M-steps performed — or, where EM settled into an exact cycle of its arithmetic, the
   * M-steps it would have performed to its cap: the run stopped at the iteration whose model is
   * the one the cap would leave (onIteration was not called for the iterations skipped).
   */
  iterations: number;
  converged: boolean;
  /** Points with zero likelihood under the returned model. */
  zeroLikelihoodPoints: number;
  /** Passes that ran on the float64 reference after a float32 backend ran out of precision. */
  float64Passes: number;
  /** The backend whose pass computed `logLikelihood` (`'cpu'`, float64, where a float32 run finished there). */
  logLikelihoodBackend: BackendKind;
}

/** The E-step's view of a model. */
export function mixtureParams(model: GaussianMixture): MixtureParams {
  const logWeights = new Float64Array(model.gaussians);
  for (let c = 0; c < model.gaussians; c++) logWeights[c] = Math.log(model.weights[c]!);
  return {
    covarianceType: model.covarianceType,
    k: model.gaussians,
    d: model.dimensionality,
    logWeights,
    means: model.means,
    precisions: model.precisionFactors,
    logDets: model.logDets,
  };
}

/**
 * A float64 sum of N log-densities carries rounding of a few ε₆₄·|log L|: a tolerance below this
 * is not resolvable even in float64, and asking the host to decide it would only cost time.
 */
const FLOAT64_LL_RESOLUTION = 8 * Number.EPSILON;

/**
 * A float32 backend hands over to float64 when the change in log L is within this factor of its
 * rounding bound: early enough that the float32 phase's rounding in θ has decayed (EM contracts it
 * every iteration) by the time |Δ log L| is compared with the tolerance. Measured on mlpack's
 * converging fixture: a factor of 1 stopped at 21–24 updates depending on chunking, 1000 at 22
 * (mlpack's count) for every chunking tried.
 */
const FLOAT64_FINISH_MARGIN = 1000;

/**
 * A float32 run that hands over to float64 within this many M-steps, where repeating them costs
 * at most FLOAT64_RESTART_WORK multiply-adds (~0.1 s on one core), starts the trial again from its
 * initial model in float64 instead of continuing from θ_t: the result is then the float64
 * backend's bit for bit — the same model and update count on every device and chunking. Without
 * it, float32's rounding in θ_t (~1e-6 relative) moved the converging mlpack fixture's stop, where
 * |Δ log L| meets the tolerance at float64's own rounding, between 22 and 24 updates by chunking.
 * Bounded in absolute work because the float64 reference may cost hundreds of float32 passes each
 * (a hardware GPU on large data), where a restart would dominate the run.
 */
const FLOAT64_RESTART_WITHIN = 8;
const FLOAT64_RESTART_WORK = 1e8;

export async function runEM(backend: EStepBackend, initial: GaussianMixture, options: EmOptions): Promise<EmResult> {
  const { maxIterations, tolerance, signal, onIteration } = options;
  let model = initial;
  let params = mixtureParams(model);
  // mlpack starts from lOld = −DBL_MAX, so the first comparison never converges.
  let previous = -Number.MAX_VALUE;
  let previousUncertainty = 0;
  let previousParams: MixtureParams | null = null;
  // The last two passes (θ, log L, backend), newest last: a pass that repeats one of them exactly
  // has reached a fixed point or a 2-cycle of the arithmetic (see below).
  const recent: { params: MixtureParams; logLikelihood: number; backend: EStepBackend }[] = [];
  let active = backend;
  let iterations = 0;
  let float64Passes = 0;
  let lastCallback = performance.now();
  // Whether a float64 probe (see below) is running.
  let probing = false;
  // Exact cycles of EM's arithmetic (see below): the detector, the backend it watches, and where the run ends.
  let cycle = modelCycleDetector();
  let cycleBackend: EStepBackend | null = null;
  let cycleEnd = -1;
  // Iterations already reported by the float32 phase that this float64 restart repeats silently.
  const reportedThrough = options.float64Restart?.reportedThrough ?? -1;
  // Passes over small data are shorter than the backends' own yield interval: without this,
  // an abort (or Ctrl-C) would wait for the whole run.
  const yieldNow = createYielder(signal);
  // What a float64 iteration costs in float32 ones, and whether that is cheap enough to finish in
  // float64 wherever float32 stops resolving the changes (CHEAP_FINISH_COST).
  const float64Cost = backend.reference ? float64IterationCost(backend.n, params.k, params.d, params.covarianceType, backend.referencePassCost ?? 1, backend.passOverhead) : 1;
  const cheapFinish = tolerance > 0 && float64Cost <= CHEAP_FINISH_COST;
  // Multiply-adds of one float64 iteration (pass and M-step), for FLOAT64_RESTART_WORK.
  const float64Work = passMultiplyAdds(backend.n, params.d, params.k, params.covarianceType) + mStepMultiplyAdds(params.k, params.d, params.covarianceType);
  // When a float32 run asks float64 whether EM would stop (see below).
  const probes = new Float64Probes(float64Cost, maxIterations);
  // Consecutive M-steps built from float64 statistics of every point, and θ_{t−1} (K = 1's rule, see below).
  let exactSteps = 0;
  let previousModel: GaussianMixture | null = null;
  for (;;) {
    throwIfAborted(signal);
    if (active.reference && active.evaluable && !active.evaluable(params)) {
      // Beyond float32's resolution: this trial continues in float64.
      const reference = active.reference;
      active = reference;
      if (previousParams !== null) previous = await reference.logLikelihood(previousParams, signal);
    }
    let pass = await active.pass(params, signal);
    // The backend whose pass this is: `active`, or its float64 reference where the pass was redone.
    let ranOn: EStepBackend = active;
    if (active.reference && float32Blind(pass)) {
      // Log-densities so large that float32's rounding of them exceeds a nat per point (a model
      // far from the data: a warm start in other units, a mean 1e6 away from points 1e-3 wide)
      // leave its responsibilities noise — the M-step built from them started a long detour, or a
      // singular covariance where the CPU's was fine. This pass runs in float64; the next, from a
      // model the M-step brought to the data, tries float32 again.
      pass = await active.reference.pass(params, signal);
      ranOn = active.reference;
    }
    const uncertainty = pass.logLikelihoodUncertainty ?? 0;
    // float32 cannot tell this change from rounding: it says nothing about convergence.
    // `withinRounding`: not even the size of the change is known (it is within the bound itself).
    const roundingBound = active.reference !== undefined && previousParams !== null ? uncertainty + previousUncertainty : -1;
    let unresolved = Math.abs(pass.logLikelihood - previous) <= FLOAT64_FINISH_MARGIN * roundingBound;
    let withinRounding = Math.abs(pass.logLikelihood - previous) <= roundingBound;
    if (unresolved && (tolerance >= FLOAT64_LL_RESOLUTION * Math.abs(pass.logLikelihood) || maxIterations === 0 || cheapFinish)) {
      // float64 can resolve the tolerance (or the caller asked for convergence, however long it
      // takes, or float64 iterations cost little more than float32 ones): finish in float64, so
      // that convergence means what it means in mlpack.
      const reference = active.reference!;
      active = reference;
      if (iterations <= FLOAT64_RESTART_WITHIN && iterations * float64Work <= FLOAT64_RESTART_WORK) {
        // From the start, in float64 (FLOAT64_RESTART_WITHIN): a run of its own on the reference,
        // every piece of this run's state fresh; the iterations 0 … t − 1 reported so far are not
        // reported again. (A blind pass's redo, which ran, is counted.)
        const again = await runEM(reference, initial, { ...options, float64Restart: { reportedThrough: iterations - 1 } });
        return { ...again, float64Passes: again.float64Passes + (ranOn !== backend ? 1 : 0) };
      }
      previous = await reference.logLikelihood(previousParams!, signal);
      // A blind pass's redo has run θ_t in float64 already.
      if (ranOn !== reference) pass = await reference.pass(params, signal);
      ranOn = reference;
      unresolved = withinRounding = false;
    }
    if (ranOn !== backend || options.float64Restart) float64Passes++;
    const { logLikelihood, zeroLikelihoodPoints, stats } = pass;
    if (Number.isNaN(logLikelihood)) {
      throw new WebGmmError('NUMERICAL', `log-likelihood became NaN at iteration ${iterations} of trial ${options.trial + 1}`);
    }
    if (onIteration && iterations > reportedThrough) {
      const callbackAt = performance.now();
      // An abort does not wait for the caller's promise (it may never settle).
      await unlessAborted(Promise.resolve(onIteration({
        trial: options.trial,
        iteration: iterations,
        logLikelihood,
        delta: iterations === 0 ? NaN : logLikelihood - previous,
        // A copy: the M-step reads this model's means, so a caller changing it would change training.
        model: model.clone(),
        backend: ranOn.kind,
        elapsedMs: callbackAt - lastCallback,
      })), signal);
      lastCallback = callbackAt;
      throwIfAborted(signal);
    }
    // A change below float64's own resolution of log L counts as none: a finer tolerance could only
    // be met by rounding luck (an exact repeat), so EM ran to maxIterations on a fit that had
    // stopped changing (K = 1 on 5105 × 7 with epoch-second dates: 250 iterations, Δ a few ulps).
    // Tolerance 0 asks for no such stop (only an exact repeat ends the run), unless "until
    // convergence" (maxIterations 0), which must end.
    const reach = tolerance > 0 || maxIterations === 0 ? Math.max(tolerance, FLOAT64_LL_RESOLUTION * Math.abs(logLikelihood)) : tolerance;
    // θ_t equal to θ_{t−1} bit for bit, with the same log-likelihood on the same backend: EM has
    // reached a fixed point of its own arithmetic (the passes are deterministic), and every further
    // iteration would repeat this one, however little a float32 change says otherwise. On a
    // float32 backend θ_t = θ_{t−2} too, while float32 cannot resolve the change: a 2-cycle
    // (covariance entries flipping by one float32 ulp), which further iterations would only
    // alternate. (A swing it can resolve is left to the other rules; the float64 backend stops at a
    // 2-cycle only when its change is within the tolerance, as mlpack does.) The history starts
    // afresh whenever the backend changes, so no cycle is inferred across a float64 step.
    if (recent.length > 0 && recent[recent.length - 1]!.backend !== ranOn) recent.length = 0;
    const same = (r: (typeof recent)[number]): boolean => r.logLikelihood === logLikelihood && sameParams(r.params, params);
    const last = recent[recent.length - 1];
    const before = recent.length === 2 ? recent[0] : undefined;
    const repeats = (last !== undefined && same(last)) || (unresolved && before !== undefined && same(before));
    recent.push({ params, logLikelihood, backend: ranOn });
    if (recent.length > 2) recent.shift();
    // A single component: each responsibility is its point's weight whatever θ, so an M-step from
    // float64 statistics of every point is EM's fixed point, and the next changes only rounding —
    // which a sharply clamped covariance magnifies past `reach` (log L's rounding grows with the
    // condition number: K = 1 on 5105 S&P 500 days, whose close and adjusted close are one column,
    // ran to maxIterations with Δ ±4e-7 under a 1e9 clamp). From the second such step EM has
    // converged; mlpack's count is kept wherever its own test would have stopped there. (That the
    // step moved θ by rounding only is checked, not assumed: a backend whose statistics do not
    // come from responsibilities — a scripted stand-in — is left to the other rules.)
    const singleSettled = params.k === 1 && exactSteps >= 2 && ranOn.reference === undefined && (tolerance > 0 || maxIterations === 0) &&
      previousModel !== null && movedByRoundingOnly(previousModel, model, backend.n);
    const converged = repeats || singleSettled || (!unresolved && Math.abs(logLikelihood - previous) <= reach);
    if (converged || (maxIterations > 0 && iterations >= maxIterations)) {
      return { model, logLikelihood, iterations, converged, zeroLikelihoodPoints, float64Passes, logLikelihoodBackend: ranOn.kind };
    }
    // EM can settle into an exact cycle of its arithmetic whose changes exceed the tolerance —
    // float64 under a sharp clamp on a nearly singular covariance (Boston house prices, K = 2:
    // period 6, Δ up to 2.6e-8; before the single-component rule, K = 1 on 120 × 23 employment
    // series, period 6, Δ up to 4e-6), float32 at its rounding (zipcodes, 42 049 × 3, K = 3: period
    // 10 from iteration 80) — which no further iteration leaves. Once a cycle is seen, the run stops
    // at the iteration whose θ is the one maxIterations would end with — the same model, bit for
    // bit — or at once when EM is to run until it converges, which it never would. The state
    // compared is what the next iterations depend on: θ_t, and in float32 the run of changes
    // within rounding up to this one, which starts a float64 probe; the cycle counts where no probe
    // is to come (Float64Probes.cycleFinal). Not during a probe, whose length is its own, and
    // afresh after each.
    probes.observe(withinRounding, iterations);
    if (cycleEnd < 0 && !probing && options.cycleStops !== false) {
      if (cycleBackend !== active) {
        cycle = modelCycleDetector();
        cycleBackend = active;
      }
      const period = cycle.observe({ model, run: active.reference === undefined ? 0 : probes.cycleRun });
      if (period > 0 && probes.cycleFinal(iterations, period)) cycleEnd = cycleStop(iterations, period, maxIterations);
    }
    if (iterations === cycleEnd) {
      return { model, logLikelihood, iterations: maxIterations > 0 ? maxIterations : iterations, converged: false, zeroLikelihoodPoints, float64Passes, logLikelihoodBackend: ranOn.kind };
    }
    if (probing) {
      // The probe goes on while float64's changes say EM is about to stop; otherwise float32 takes
      // over again, from here.
      probing = probes.next(logLikelihood - previous, iterations, tolerance, reach);
      if (!probing) {
        active = backend;
        cycleBackend = null;
      }
    }
    // From float32 statistics an ill-conditioned covariance may come out not positive definite
    // (without the constraint, `forcePositive` false) where float64's is: built again below.
    // θ_t's statistics are float64's already where its pass ran there (a blind pass's redo).
    const float64Stats = active.reference !== undefined && ranOn === active.reference;
    let nextModel = active.reference === undefined || float64Stats ? mStepModel(model, stats, iterations, options) : mStepModelOrNull(model, stats, iterations, options);
    let exactStep = (active.reference === undefined || float64Stats) && zeroLikelihoodPoints === 0;
    let nextParams = nextModel && mixtureParams(nextModel);
    previous = logLikelihood;
    previousUncertainty = pass.logLikelihoodUncertainty ?? 0;
    // θ_{t+1} is narrower than float32 resolves the points, so θ_t's float32 statistics were not
    // precise enough to build it either (a collapsing component's mean off by float32 rounding,
    // beyond the component's own width: it would lose its points and die), or so ill-conditioned
    // that their rounding is a sizeable part of its narrowest direction (nearly collinear
    // features: each float32 M-step would move it off EM's fixed point again): θ_{t+1} is built
    // from θ_t's float64 statistics instead, and the trial continues in float64.
    const narrow =
      active.reference !== undefined &&
      (nextModel === null || nextParams === null ||
        (active.evaluable !== undefined && !active.evaluable(nextParams)) ||
        (active.resolves !== undefined && !active.resolves(nextParams, nextModel.covariances)));
    // Or float32 has stopped resolving the change while the tolerance is finer than even float64
    // resolves (large data): a float64 probe asks whether EM would stop (Float64Probes).
    const probe: boolean = !narrow && tolerance > 0 && active.reference !== undefined && probes.due(iterations);
    if (active.reference && (narrow || probe)) {
      const reference = active.reference;
      active = reference;
      probing = probe;
      if (probe) {
        cycleEnd = -1;
        cycleBackend = null;
        probes.start();
      }
      if (!float64Stats) {
        const exact = await reference.pass(params, signal);
        float64Passes++;
        previous = exact.logLikelihood;
        previousUncertainty = 0;
        nextModel = mStepModel(model, exact.stats, iterations, options);
        nextParams = mixtureParams(nextModel);
        exactStep = exact.zeroLikelihoodPoints === 0;
      }
    }
    exactSteps = exactStep ? exactSteps + 1 : 0;
    previousModel = model;
    model = nextModel!;
    previousParams = params;
    params = nextParams!;
    iterations++;
    const pause = yieldNow();
    if (pause) await pause;
  }
}

/**
 * Rounding bound of a float32 pass's log-likelihood per unit of weight above which its
 * responsibilities are noise (see runEM): on data a model fits, the bound is ~1e-6 to 1e-3 nat.
 */
const FLOAT32_BLIND_PER_POINT = 1;

function float32Blind(pass: PassResult): boolean {
  let weight = 0;
  for (const nk of pass.stats.nk) weight += nk;
  return (pass.logLikelihoodUncertainty ?? 0) > FLOAT32_BLIND_PER_POINT * weight;
}

/** Whether two parameter sets are the same bit for bit. */
function sameParams(a: MixtureParams, b: MixtureParams): boolean {
  return sameValues(a.logWeights, b.logWeights) && sameValues(a.means, b.means) && sameValues(a.precisions, b.precisions) && sameValues(a.logDets, b.logDets);
}

/** What the next EM iterations depend on: the model (weights, means, covariances) and the capped run of unresolved changes. */
interface EmState {
  weights: Float64Array;
  means: Float64Array;
  covariances: Float64Array;
  run: number;
}

function modelCycleDetector(): CycleDetector<{ model: GaussianMixture; run: number }, EmState> {
  return new CycleDetector<{ model: GaussianMixture; run: number }, EmState>(
    ({ model: m, run }, into) => {
      if (into === null) return { weights: m.weights.slice(), means: m.means.slice(), covariances: m.covariances.slice(), run };
      into.weights.set(m.weights);
      into.means.set(m.means);
      into.covariances.set(m.covariances);
      into.run = run;
      return into;
    },
    ({ model: m, run }, b) => run === b.run && sameValues(m.weights, b.weights) && sameValues(m.means, b.means) && sameValues(m.covariances, b.covariances),
  );
}

/**
 * Whether one component's mean and covariance moved from `a` to `b` by no more than the rounding
 * of float64 sums over `n` points could (bounded generously: 8nε, at least 1e-9), in units of
 * the component's own spread (√Σ_dd for a mean, √(Σ_ii Σ_jj) for a covariance entry).
 */
function movedByRoundingOnly(a: GaussianMixture, b: GaussianMixture, n: number): boolean {
  const d = a.dimensionality, full = a.covarianceType === 'full';
  const bound = Math.max(1e-9, 8 * n * Number.EPSILON);
  const variance = (m: GaussianMixture, i: number) => m.covariances[full ? i * d + i : i]!;
  for (let i = 0; i < d; i++) {
    const si = Math.sqrt(Math.max(variance(a, i), variance(b, i)));
    if (!(Math.abs(a.means[i]! - b.means[i]!) <= bound * si)) return false;
    for (let j = full ? 0 : i; j < (full ? d : i + 1); j++) {
      const at = full ? i * d + j : i;
      const sj = Math.sqrt(Math.max(variance(a, j), variance(b, j)));
      if (!(Math.abs(a.covariances[at]! - b.covariances[at]!) <= bound * si * sj)) return false;
    }
  }
  return true;
}

/** θ_{t+1} from θ_t's statistics: the M-step, its constraint, and the model's own checks. */
function mStepModel(model: GaussianMixture, stats: Parameters<typeof mStep>[1], iterations: number, options: EmOptions): GaussianMixture {
  const next = mStep(model, stats, { constraint: options.constraint, forcePositive: options.forcePositive });
  try {
    return GaussianMixture.fromArrays(model.covarianceType, next.weights, next.means, next.covariances);
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) throw notPositiveDefinite(e.component, iterations + 1, options);
    throw e;
  }
}

/** mStepModel, or null where θ_{t+1} is not positive definite (for a float32 backend's statistics, which the caller replaces). */
function mStepModelOrNull(model: GaussianMixture, stats: Parameters<typeof mStep>[1], iterations: number, options: EmOptions): GaussianMixture | null {
  try {
    return mStepModel(model, stats, iterations, options);
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) return null;
    throw e;
  }
}

function notPositiveDefinite(component: number, iteration: number, options: { forcePositive: boolean; trial: number }): NotPositiveDefiniteError {
  const hint = options.forcePositive
    ? 'the data may be degenerate (duplicated points or a constant column); try `noise`'
    : 'drop `noForcePositive` (mlpack: --no_force_positive) so the positive-definite constraint applies, or add `noise`';
  return new NotPositiveDefiniteError(
    component,
    `covariance of component ${component} is not positive definite after M-step ${iteration} of trial ${options.trial + 1}: ${hint}`,
  );
}
