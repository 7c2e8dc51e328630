/**
 * The one interface the EM loop talks to. A backend holds the data (uploaded once per `train()`
 * call and shared by all trials) and answers one question per iteration: given θ_t, what is
 * log L(θ_t), and what are the sufficient statistics the M-step turns into θ_{t+1}?
 */
import type { CovarianceType } from '../model/gaussian-mixture.js';

/** Which backend ran the E-step. */
export type BackendKind = 'cpu' | 'webgpu';

/**
 * θ_t as the E-step needs it, packed for the hot loop (and for upload to a GPU).
 * `means` are also the shift points c_k of the statistics.
 */
export interface MixtureParams {
  covarianceType: CovarianceType;
  k: number;
  d: number;
  /** K values log w_k (−Infinity for a weight of 0). */
  logWeights: Float64Array;
  /** K×D means μ_k(θ_t) = shift points c_k. */
  means: Float64Array;
  /** Full: K×D×D lower-triangular P_k = L_k⁻¹ (Σ_k = L_k L_kᵀ); diagonal: K×D values 1/σ². */
  precisions: Float64Array;
  /** K values log det Σ_k. */
  logDets: Float64Array;
}

/**
 * Responsibility-weighted sums around the shift points, r_nk including the observation weight:
 * N_k = Σ r_nk, s_k = Σ r_nk (x_n − c_k), S_k = Σ r_nk (x_n − c_k)(x_n − c_k)ᵀ.
 */
export interface SufficientStats {
  /** K values N_k. */
  nk: Float64Array;
  /** K×D values s_k. */
  sums: Float64Array;
  /** Full: K × D(D+1)/2, the upper triangle of S_k packed row by row; diagonal: K×D diagonals. */
  scatter: Float64Array;
  /**
   * K×D shift points c_k the sums are taken around, when they differ from `params.means` (the GPU
   * shifts by the float32-rounded means); absent means c_k = μ_k(θ_t).
   */
  shift?: Float64Array;
}

export interface PassResult {
  /** Σ_n w_n log p(x_n | θ_t), over the points whose likelihood is non-zero. */
  logLikelihood: number;
  /**
   * Bound on the rounding error of `logLikelihood` when the backend computes in float32;
   * absent for float64 backends.
   */
  logLikelihoodUncertainty?: number;
  /** Points of positive weight whose density underflowed to 0 under every component: they add nothing. (Points of weight 0 take no part and are not counted.) */
  zeroLikelihoodPoints: number;
  stats: SufficientStats;
}

export interface EStepBackend {
  readonly kind: BackendKind;
  /** Number of points and their dimensionality. */
  readonly n: number;
  readonly d: number;
  /** One pass over the data with parameters θ_t. */
  pass(params: MixtureParams, signal?: AbortSignal): Promise<PassResult>;
  /**
   * A pass's work without its results, for timing it (backend selection). Absent: time `pass`.
   * WebGPU's skips the readback, whose unmap would slow the JavaScript thread's typed arrays
   * (streamed points still map their uploads).
   */
  timePass?(params: MixtureParams, signal?: AbortSignal): Promise<void>;
  /**
   * A float64 backend over the same data, offered by float32 backends. The EM loop switches to it
   * when a change in log-likelihood falls below the float32 rounding bound while the tolerance is
   * still resolvable in float64 (mixed precision: the bulk of the iterations in float32, the
   * finish in float64).
   */
  readonly reference?: Float64Backend;
  /**
   * Roughly how many of this backend's passes one pass of `reference` costs: with the M-step that
   * both pay (float64IterationCost, below; the EM loop, em.ts), what the EM loop weighs before it spends float64
   * iterations on a question float32 cannot answer. A fixed figure per kind of device, not a
   * timing, so that training stays deterministic. Absent: 1.
   */
  readonly referencePassCost?: number;
  /**
   * What one of this backend's passes costs beside its work, in multiply-adds of a `reference`
   * pass (float64IterationCost): a device's round trip, which small data do not amortize. Absent: 0.
   */
  readonly passOverhead?: number;
  /**
   * Whether this float32 backend can evaluate θ faithfully: false when a component is narrower
   * than float32 resolves the points (its precision factor beyond float32's reach), and the EM loop
   * then continues on `reference`. Absent: always.
   */
  evaluable?(params: MixtureParams): boolean;
  /**
   * Whether this float32 backend's statistics resolve θ built from them (`covariances`: θ's, K
   * blocks of D×D or D): false when a full covariance is so ill-conditioned that the statistics'
   * rounding is a sizeable part of its narrowest direction, and the EM loop then builds θ from the
   * `reference`'s statistics and continues there. Absent: always.
   */
  resolves?(params: MixtureParams, covariances: Float64Array): boolean;
  /** Frees the data (and device buffers). The backend is unusable afterwards. */
  dispose(): void;
}

/** A float64 backend that can also evaluate log L(θ) alone. */
export interface Float64Backend extends EStepBackend {
  logLikelihood(params: MixtureParams, signal?: AbortSignal): Promise<number>;
}

/** Multiply-adds of one E-step pass, as the CPU backend does them: the measure of a problem's size. */
export function passMultiplyAdds(n: number, d: number, k: number, covarianceType: CovarianceType): number {
  return n * k * (covarianceType === 'full' ? d * (d + 3) : 4 * d);
}

/**
 * Host work of one M-step per full component, in units of D³ multiply-adds of a float64 E-step:
 * the clamp's eigendecomposition and the factorizations that build θ. Measured on the digits
 * (1797 × 64, K = 8 and 10): the M-step took 15.7 and 19.5 ms against the CPU pass's 53.6 and 77.8
 * ms, 8.6 and 7.4 D³ per component at the pass's rate. Diagonal components: O(D), nothing beside
 * the pass.
 */
const M_STEP_WORK_PER_D3 = 8;

/**
 * Roughly how many iterations of a float32 backend one iteration on its float64 reference costs:
 * the passes' ratio (`referencePassCost`) diluted by the host's M-step, which both pay alike, and
 * by the float32 pass's fixed overhead (`passOverhead`). With few points per dimension the M-step
 * dominates (the digits, 1797 × 64: 3.8 for a software adapter, 4.5 for a hardware GPU); with few
 * points, the overhead (4000 × 3, K = 3: 1.9 on lavapipe, where it measured 1.6); with many, the
 * passes' ratio (100 000 × 64: 112 of a hardware GPU's 256). A figure from the problem's shape,
 * not a timing, so that training stays deterministic.
 */
export function float64IterationCost(n: number, k: number, d: number, covarianceType: CovarianceType, passRatio: number, passOverhead = 0): number {
  const pass = passMultiplyAdds(n, d, k, covarianceType);
  const host = mStepMultiplyAdds(k, d, covarianceType);
  return (pass + host) / (passOverhead + pass / passRatio + host);
}

/** The host's M-step in the pass's multiply-adds (see M_STEP_WORK_PER_D3; diagonal models: negligible). */
export function mStepMultiplyAdds(k: number, d: number, covarianceType: CovarianceType): number {
  return covarianceType === 'full' ? M_STEP_WORK_PER_D3 * k * d ** 3 : 0;
}

/**
 * Where one float64 iteration costs at most this many float32 ones (float64IterationCost), a
 * float32 run that can no longer resolve its changes finishes in float64 even where float64 cannot
 * resolve the tolerance either (the EM loop): the finish pays for itself if it takes less than a
 * quarter of the iterations left, and float64 stops at its own resolution of log L, where float32
 * would run to maxIterations (the digits, K = 8, on lavapipe: 250 float32 iterations, not
 * converged, against 56 on the CPU backend). For the same reason `'auto'` keeps such problems on
 * the CPU: WebGPU could speed up only the float32 start, by less than this factor.
 */
export const CHEAP_FINISH_COST = 4;

/** Length of a packed upper triangle of a d×d matrix. */
export function packedSize(d: number): number {
  return (d * (d + 1)) / 2;
}
