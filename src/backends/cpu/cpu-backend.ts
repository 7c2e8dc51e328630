/**
 * The float64 reference backend: the oracle the GPU path is tested against, the fallback without a
 * GPU adapter, and the CPU side of benchmarks. One fused loop per point: component log-densities
 * via the precision factor, max-shifted log-sum-exp, responsibilities, and the shifted statistics.
 */
import type { Float64Backend, MixtureParams, PassResult } from '../backend.js';
import { packedSize } from '../backend.js';
import type { Dataset, Values } from '../../data.js';
import { createYielder } from '../../util/yield.js';
import { throwIfAborted } from '../../errors.js';

const LOG_2PI = Math.log(2 * Math.PI);
/** Points per block between cooperative yields. */
const BLOCK = 4096;

export class CpuBackend implements Float64Backend {
  readonly kind = 'cpu' as const;
  readonly n: number;
  readonly d: number;
  private data: Values | null;
  private readonly weights: Float64Array | null;

  /** `weights`: optional per-point observation weights (validated by the caller). */
  constructor(dataset: Dataset, weights: Float64Array | null = null) {
    this.n = dataset.n;
    this.d = dataset.d;
    this.data = dataset.data;
    this.weights = weights;
  }

  async pass(params: MixtureParams, signal?: AbortSignal): Promise<PassResult> {
    return this.run(params, true, signal);
  }

  /** log L(θ) alone (no statistics): about half the work of a pass. */
  async logLikelihood(params: MixtureParams, signal?: AbortSignal): Promise<number> {
    return (await this.run(params, false, signal)).logLikelihood;
  }

  private async run(params: MixtureParams, withStats: boolean, signal?: AbortSignal): Promise<PassResult> {
    const data = this.data;
    if (!data) throw new Error('CpuBackend.pass() called after dispose()');
    throwIfAborted(signal);
    const { k, d } = params;
    if (d !== this.d) throw new Error(`parameters have dimensionality ${d}, data ${this.d}`);
    const full = params.covarianceType === 'full';
    const nk = new Float64Array(k);
    const sums = new Float64Array(k * d);
    const scatter = new Float64Array(full ? k * packedSize(d) : k * d);
    const lp = new Float64Array(k);
    const diff = new Float64Array(k * d);
    const w = this.weights;
    const yieldNow = createYielder(signal);
    let logLikelihood = 0;
    let zero = 0;
    for (let start = 0; start < this.n; start += BLOCK) {
      const end = Math.min(this.n, start + BLOCK);
      for (let n = start; n < end; n++) {
        const max = full ? logDensitiesFull(data, n * d, params, lp, diff) : logDensitiesDiagonal(data, n * d, params, lp, diff);
        if (max === -Infinity) {
          zero++;
          continue;
        }
        const s = expShifted(lp, k, max);
        const wn = w === null ? 1 : w[n]!;
        if (wn === 0) continue;
        logLikelihood += wn * (max + Math.log(s));
        if (!withStats) continue;
        // r_nk = w_n exp(log p_nk − max) / s.
        if (full) accumulateFull(wn / s, lp, diff, k, d, nk, sums, scatter);
        else accumulateDiagonal(wn / s, lp, diff, k, d, nk, sums, scatter);
      }
      const y = yieldNow();
      if (y) await y;
    }
    return { logLikelihood, zeroLikelihoodPoints: zero, stats: { nk, sums, scatter } };
  }

  dispose(): void {
    this.data = null;
  }
}

/**
 * log w_k + log N(x | μ_k, Σ_k) of the point at data[xo…] into lp, and x − μ_k into diff (row k);
 * returns the largest. The Mahalanobis term is ‖P_k (x − μ_k)‖² with P_k lower-triangular.
 */
function logDensitiesFull(data: Values, xo: number, params: MixtureParams, lp: Float64Array, diff: Float64Array): number {
  const { k, d, logWeights, means, precisions, logDets } = params;
  const constTerm = d * LOG_2PI;
  let max = -Infinity;
  for (let c = 0; c < k; c++) {
    const mo = c * d;
    for (let j = 0; j < d; j++) diff[mo + j] = data[xo + j]! - means[mo + j]!;
    const po = c * d * d;
    let m = 0;
    for (let r = 0; r < d; r++) {
      const ro = po + r * d;
      let y = 0;
      for (let j = 0; j <= r; j++) y += precisions[ro + j]! * diff[mo + j]!;
      m += y * y;
    }
    const v = logWeights[c]! - 0.5 * (constTerm + logDets[c]! + m);
    lp[c] = v;
    if (v > max) max = v;
  }
  return max;
}

/** As logDensitiesFull, with `precisions` holding 1/σ² per dimension. */
function logDensitiesDiagonal(data: Values, xo: number, params: MixtureParams, lp: Float64Array, diff: Float64Array): number {
  const { k, d, logWeights, means, precisions, logDets } = params;
  const constTerm = d * LOG_2PI;
  let max = -Infinity;
  for (let c = 0; c < k; c++) {
    const mo = c * d;
    let m = 0;
    for (let j = 0; j < d; j++) {
      const t = data[xo + j]! - means[mo + j]!;
      diff[mo + j] = t;
      m += t * t * precisions[mo + j]!;
    }
    const v = logWeights[c]! - 0.5 * (constTerm + logDets[c]! + m);
    lp[c] = v;
    if (v > max) max = v;
  }
  return max;
}

/** Replaces lp[c] by exp(lp[c] − max) — one exp per component serves the sum and r_nk — and returns their sum. */
function expShifted(lp: Float64Array, k: number, max: number): number {
  let s = 0;
  for (let c = 0; c < k; c++) s += lp[c] = Math.exp(lp[c]! - max);
  return s;
}

/** N_k += r, s_k += r·diff, S_k += r·diff·diffᵀ (packed upper triangle), with r = scale·lp[c]. */
function accumulateFull(
  scale: number, lp: Float64Array, diff: Float64Array, k: number, d: number,
  nk: Float64Array, sums: Float64Array, scatter: Float64Array,
): void {
  const tri = packedSize(d);
  for (let c = 0; c < k; c++) {
    const r = scale * lp[c]!;
    if (r === 0) continue;
    nk[c] = nk[c]! + r;
    const mo = c * d;
    let so = c * tri;
    for (let i = 0; i < d; i++) {
      const ri = r * diff[mo + i]!;
      sums[mo + i] = sums[mo + i]! + ri;
      for (let j = i; j < d; j++) {
        scatter[so] = scatter[so]! + ri * diff[mo + j]!;
        so++;
      }
    }
  }
}

/** As accumulateFull, for the diagonal of S_k only. */
function accumulateDiagonal(
  scale: number, lp: Float64Array, diff: Float64Array, k: number, d: number,
  nk: Float64Array, sums: Float64Array, scatter: Float64Array,
): void {
  for (let c = 0; c < k; c++) {
    const r = scale * lp[c]!;
    if (r === 0) continue;
    nk[c] = nk[c]! + r;
    const mo = c * d;
    for (let j = 0; j < d; j++) {
      const t = r * diff[mo + j]!;
      sums[mo + j] = sums[mo + j]! + t;
      scatter[mo + j] = scatter[mo + j]! + t * diff[mo + j]!;
    }
  }
}
