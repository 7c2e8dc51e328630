/**
 * The float64 reference backend: the oracle the GPU path is tested against, the fallback without a
 * GPU adapter, and the CPU side of benchmarks. One fused loop per point: component log-densities
 * via the precision factor, max-shifted log-sum-exp, responsibilities, and the shifted statistics.
 */
import type { Float64Backend, MixtureParams, PassResult } from '../backend.js';
import { packedSize } from '../backend.js';
import type { Dataset } from '../../data.js';
import { createYielder } from '../../util/yield.js';
import { throwIfAborted } from '../../errors.js';

const LOG_2PI = Math.log(2 * Math.PI);
/** Points per block between cooperative yields. */
const BLOCK = 4096;

export class CpuBackend implements Float64Backend {
  readonly kind = 'cpu' as const;
  readonly n: number;
  readonly d: number;
  private data: Float64Array | null;
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
    const acc = { logLikelihood: 0, zero: 0 };
    const scratch = { lp: new Float64Array(k), diff: new Float64Array(k * d) };
    const yieldNow = createYielder(signal);
    for (let start = 0; start < this.n; start += BLOCK) {
      const end = Math.min(this.n, start + BLOCK);
      if (full) this.blockFull(data, start, end, params, withStats, nk, sums, scatter, scratch, acc);
      else this.blockDiagonal(data, start, end, params, withStats, nk, sums, scatter, scratch, acc);
      const y = yieldNow();
      if (y) await y;
    }
    return { logLikelihood: acc.logLikelihood, zeroLikelihoodPoints: acc.zero, stats: { nk, sums, scatter } };
  }

  private blockFull(
    data: Float64Array, start: number, end: number, params: MixtureParams, withStats: boolean,
    nk: Float64Array, sums: Float64Array, scatter: Float64Array,
    scratch: { lp: Float64Array; diff: Float64Array }, acc: { logLikelihood: number; zero: number },
  ): void {
    const { k, d, logWeights, means, precisions, logDets } = params;
    const { lp, diff } = scratch;
    const w = this.weights;
    const tri = packedSize(d);
    const constTerm = d * LOG_2PI;
    for (let n = start; n < end; n++) {
      const xo = n * d;
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        const mo = c * d;
        for (let j = 0; j < d; j++) diff[mo + j] = data[xo + j]! - means[mo + j]!;
        // ‖P_k (x − c_k)‖² with P_k lower-triangular.
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
      if (max === -Infinity || Number.isNaN(max)) {
        acc.zero++;
        continue;
      }
      // lp now holds exp(log p_k − max): one exp per component serves the sum and r_nk.
      let s = 0;
      for (let c = 0; c < k; c++) s += lp[c] = Math.exp(lp[c]! - max);
      const wn = w === null ? 1 : w[n]!;
      if (wn === 0) continue;
      acc.logLikelihood += wn * (max + Math.log(s));
      if (!withStats) continue;
      const scale = wn / s;
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
  }

  private blockDiagonal(
    data: Float64Array, start: number, end: number, params: MixtureParams, withStats: boolean,
    nk: Float64Array, sums: Float64Array, scatter: Float64Array,
    scratch: { lp: Float64Array; diff: Float64Array }, acc: { logLikelihood: number; zero: number },
  ): void {
    const { k, d, logWeights, means, precisions, logDets } = params;
    const { lp, diff } = scratch;
    const w = this.weights;
    const constTerm = d * LOG_2PI;
    for (let n = start; n < end; n++) {
      const xo = n * d;
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
      if (max === -Infinity || Number.isNaN(max)) {
        acc.zero++;
        continue;
      }
      // lp now holds exp(log p_k − max): one exp per component serves the sum and r_nk.
      let s = 0;
      for (let c = 0; c < k; c++) s += lp[c] = Math.exp(lp[c]! - max);
      const wn = w === null ? 1 : w[n]!;
      if (wn === 0) continue;
      acc.logLikelihood += wn * (max + Math.log(s));
      if (!withStats) continue;
      const scale = wn / s;
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
  }

  dispose(): void {
    this.data = null;
  }
}
