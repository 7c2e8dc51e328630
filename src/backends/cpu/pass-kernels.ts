/**
 * The CPU backend's pass over a range of points: component log-densities via the precision
 * factor, max-shifted log-sum-exp, responsibilities, and the statistics around the means.
 *
 * The kernels (CPU_PASS_KERNELS) are self-contained (no imports, no module state, nothing from a
 * closure): the helper threads of worker/kmeans-threads.ts load them from their own source text,
 * so that a pass can be split over threads (see cpu-backend.ts). Running sums go into one
 * Float64Array at an offset:
 * [Σ w log p, zero-likelihood points, N_k (K), s_k (K·D), S_k (K·packed(D), or K·D diagonal)].
 */
import type { Values } from '../../data.js';
import type { PassResult } from '../backend.js';

/** Floats of one pass's running sums (see the module's doc). */
export function cpuPassSums(k: number, d: number, full: boolean): number {
  return 2 + k + k * d + k * (full ? (d * (d + 1)) / 2 : d);
}

/** A pass's result from its running sums (copied out of `acc`). Not a kernel: the threads never call it. */
export function cpuPassResult(acc: Float64Array, k: number, d: number, full: boolean): PassResult {
  const sumsAt = 2 + k;
  const scatterAt = sumsAt + k * d;
  return {
    logLikelihood: acc[0]!,
    zeroLikelihoodPoints: acc[1]!,
    stats: { nk: acc.slice(2, sumsAt), sums: acc.slice(sumsAt, scatterAt), scatter: acc.slice(scatterAt, cpuPassSums(k, d, full)) },
  };
}

/**
 * Adds the pass over points [lo, hi) to the sums at acc[at…]. `lp` (K) and `diff` (K·D) are
 * scratch. Without `withStats` only the log-likelihood and the zero count.
 */
export function cpuPassRange(
  data: Values, weights: Float64Array | null, full: boolean, k: number, d: number,
  logWeights: Float64Array, means: Float64Array, precisions: Float64Array, logDets: Float64Array,
  lo: number, hi: number, withStats: boolean, acc: Float64Array, at: number, lp: Float64Array, diff: Float64Array,
): void {
  const nkAt = at + 2;
  const sumsAt = nkAt + k;
  const scatterAt = sumsAt + k * d;
  let logLikelihood = acc[at]!;
  let zero = acc[at + 1]!;
  for (let n = lo; n < hi; n++) {
    const max = full
      ? cpuLogDensitiesFull(data, n * d, k, d, logWeights, means, precisions, logDets, lp, diff)
      : cpuLogDensitiesDiagonal(data, n * d, k, d, logWeights, means, precisions, logDets, lp, diff);
    if (max === -Infinity) {
      zero++;
      continue;
    }
    const s = cpuExpShifted(lp, k, max);
    const wn = weights === null ? 1 : weights[n]!;
    if (wn === 0) continue;
    logLikelihood += wn * (max + Math.log(s));
    if (!withStats) continue;
    // r_nk = w_n exp(log p_nk − max) / s.
    if (full) cpuAccumulateFull(wn / s, lp, diff, k, d, acc, nkAt, sumsAt, scatterAt);
    else cpuAccumulateDiagonal(wn / s, lp, diff, k, d, acc, nkAt, sumsAt, scatterAt);
  }
  acc[at] = logLikelihood;
  acc[at + 1] = zero;
}

/**
 * log w_k + log N(x | μ_k, Σ_k) of the point at data[xo…] into lp, and x − μ_k into diff (row k);
 * returns the largest. The Mahalanobis term is ‖P_k (x − μ_k)‖² with P_k lower-triangular.
 */
export function cpuLogDensitiesFull(
  data: Values, xo: number, k: number, d: number,
  logWeights: Float64Array, means: Float64Array, precisions: Float64Array, logDets: Float64Array, lp: Float64Array, diff: Float64Array,
): number {
  const constTerm = d * Math.log(2 * Math.PI);
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

/** As cpuLogDensitiesFull, with `precisions` holding 1/σ² per dimension. */
export function cpuLogDensitiesDiagonal(
  data: Values, xo: number, k: number, d: number,
  logWeights: Float64Array, means: Float64Array, precisions: Float64Array, logDets: Float64Array, lp: Float64Array, diff: Float64Array,
): number {
  const constTerm = d * Math.log(2 * Math.PI);
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
export function cpuExpShifted(lp: Float64Array, k: number, max: number): number {
  let s = 0;
  for (let c = 0; c < k; c++) s += lp[c] = Math.exp(lp[c]! - max);
  return s;
}

/** N_k += r, s_k += r·diff, S_k += r·diff·diffᵀ (packed upper triangle), with r = scale·lp[c]. */
export function cpuAccumulateFull(
  scale: number, lp: Float64Array, diff: Float64Array, k: number, d: number,
  acc: Float64Array, nkAt: number, sumsAt: number, scatterAt: number,
): void {
  const tri = (d * (d + 1)) / 2;
  for (let c = 0; c < k; c++) {
    const r = scale * lp[c]!;
    if (r === 0) continue;
    acc[nkAt + c] = acc[nkAt + c]! + r;
    const mo = c * d;
    let so = scatterAt + c * tri;
    for (let i = 0; i < d; i++) {
      const ri = r * diff[mo + i]!;
      acc[sumsAt + mo + i] = acc[sumsAt + mo + i]! + ri;
      for (let j = i; j < d; j++) {
        acc[so] = acc[so]! + ri * diff[mo + j]!;
        so++;
      }
    }
  }
}

/** As cpuAccumulateFull, for the diagonal of S_k only. */
export function cpuAccumulateDiagonal(
  scale: number, lp: Float64Array, diff: Float64Array, k: number, d: number,
  acc: Float64Array, nkAt: number, sumsAt: number, scatterAt: number,
): void {
  for (let c = 0; c < k; c++) {
    const r = scale * lp[c]!;
    if (r === 0) continue;
    acc[nkAt + c] = acc[nkAt + c]! + r;
    const mo = c * d;
    for (let j = 0; j < d; j++) {
      const t = r * diff[mo + j]!;
      acc[sumsAt + mo + j] = acc[sumsAt + mo + j]! + t;
      acc[scatterAt + mo + j] = acc[scatterAt + mo + j]! + t * diff[mo + j]!;
    }
  }
}

/**
 * Task t of a threaded pass (kmRunTask's kind 6): points [(first + t)·chunk, …) below `limit`,
 * summed from zero into out[t·stride…]. `a`: data, weights, full, k, d, logWeights, means,
 * precisions, logDets, withStats, first, stride, out.
 */
export function cpuPassTask(a: unknown[], t: number, chunk: number, limit: number): void {
  const k = a[3] as number;
  const d = a[4] as number;
  const lo = ((a[10] as number) + t) * chunk;
  const hi = lo + chunk < limit ? lo + chunk : limit;
  const stride = a[11] as number;
  const out = a[12] as Float64Array;
  out.fill(0, t * stride, (t + 1) * stride);
  cpuPassRange(
    a[0] as Values, a[1] as Float64Array | null, a[2] as boolean, k, d,
    a[5] as Float64Array, a[6] as Float64Array, a[7] as Float64Array, a[8] as Float64Array,
    lo, hi, a[9] as boolean, out, t * stride, new Float64Array(k), new Float64Array(k * d),
  );
}

/** The kernels as the helper threads load them. */
export const CPU_PASS_KERNELS = [cpuPassRange, cpuLogDensitiesFull, cpuLogDensitiesDiagonal, cpuExpShifted, cpuAccumulateFull, cpuAccumulateDiagonal, cpuPassTask] as const;
