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

/** Scratch floats cpuPassRange needs: `lp` and `diff` (a kernel: the threads' tasks allocate theirs with it). */
export function cpuPassScratch(k: number, d: number): { lp: Float64Array; diff: Float64Array } {
  return { lp: new Float64Array(4 * k + 8), diff: new Float64Array(4 * k * d + 4 * d) };
}

/**
 * Adds the pass over points [lo, hi) to the sums at acc[at…]. `lp` and `diff` are scratch, as
 * cpuPassScratch allocates them. Without `withStats` only the log-likelihood and the zero count.
 * Four points at a time (the *4 kernels: each parameter's load, and each sum's load and store,
 * shared by the four), the rest one by one — the same arithmetic per point and the same order of
 * additions per sum either way, so the same sums bit for bit.
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
  let n = lo;
  // Four points at a time: lp[4K + q] holds point q's largest log-density, lp[4K + 4 + q] the
  // scale of its responsibilities (0: it adds nothing).
  for (; n + 4 <= hi; n += 4) {
    if (full) cpuLogDensitiesFull4(data, n * d, k, d, logWeights, means, precisions, logDets, lp, diff);
    else cpuLogDensitiesDiagonal4(data, n * d, k, d, logWeights, means, precisions, logDets, lp, diff);
    for (let q = 0; q < 4; q++) {
      const max = lp[4 * k + q]!;
      lp[4 * k + 4 + q] = 0;
      const wn = weights === null ? 1 : weights[n + q]!;
      if (max === -Infinity) {
        // A point of weight 0 is no outlier of the fit: it takes no part in it.
        if (wn !== 0) zero++;
        continue;
      }
      const s = cpuExpShifted(lp, q * k, k, max);
      if (wn === 0) continue;
      logLikelihood += wn * (max + Math.log(s));
      lp[4 * k + 4 + q] = wn / s;
    }
    if (!withStats) continue;
    cpuFourResponsibilities(lp, k);
    if (full) cpuAccumulateFull4(lp, diff, k, d, acc, nkAt, sumsAt, scatterAt);
    else cpuAccumulateDiagonal4(lp, diff, k, d, acc, nkAt, sumsAt, scatterAt);
  }
  for (; n < hi; n++) {
    const max = full
      ? cpuLogDensitiesFull(data, n * d, k, d, logWeights, means, precisions, logDets, lp, diff)
      : cpuLogDensitiesDiagonal(data, n * d, k, d, logWeights, means, precisions, logDets, lp, diff);
    const wn = weights === null ? 1 : weights[n]!;
    if (max === -Infinity) {
      if (wn !== 0) zero++;
      continue;
    }
    const s = cpuExpShifted(lp, 0, k, max);
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
 * cpuLogDensitiesFull for the four points at data[xo…] (rows xo/d … xo/d + 3): point q's
 * log-densities into lp[q·K…], its x − μ_k into diff[q·K·D + k·D…], its largest into lp[4K + q].
 * Each point's arithmetic is cpuLogDensitiesFull's, in the same order; the four share each
 * precision entry's load (x − μ for the four interleaved at diff[4·K·D…]): at D = 64, K = 8
 * 2.1× faster than four calls of cpuLogDensitiesFull.
 */
export function cpuLogDensitiesFull4(
  data: Values, xo: number, k: number, d: number,
  logWeights: Float64Array, means: Float64Array, precisions: Float64Array, logDets: Float64Array, lp: Float64Array, diff: Float64Array,
): void {
  const constTerm = d * Math.log(2 * Math.PI);
  const x4 = 4 * k * d;
  for (let c = 0; c < k; c++) {
    const mo = c * d;
    for (let j = 0; j < d; j++) {
      const mu = means[mo + j]!;
      const t0 = data[xo + j]! - mu, t1 = data[xo + d + j]! - mu, t2 = data[xo + 2 * d + j]! - mu, t3 = data[xo + 3 * d + j]! - mu;
      diff[mo + j] = t0;
      diff[k * d + mo + j] = t1;
      diff[2 * k * d + mo + j] = t2;
      diff[3 * k * d + mo + j] = t3;
      const o = x4 + 4 * j;
      diff[o] = t0;
      diff[o + 1] = t1;
      diff[o + 2] = t2;
      diff[o + 3] = t3;
    }
    const po = c * d * d;
    let m0 = 0, m1 = 0, m2 = 0, m3 = 0;
    for (let r = 0; r < d; r++) {
      const ro = po + r * d;
      let y0 = 0, y1 = 0, y2 = 0, y3 = 0;
      for (let j = 0; j <= r; j++) {
        const a = precisions[ro + j]!;
        const o = x4 + 4 * j;
        y0 += a * diff[o]!;
        y1 += a * diff[o + 1]!;
        y2 += a * diff[o + 2]!;
        y3 += a * diff[o + 3]!;
      }
      m0 += y0 * y0;
      m1 += y1 * y1;
      m2 += y2 * y2;
      m3 += y3 * y3;
    }
    cpuStoreFour(lp, k, c, logWeights[c]!, constTerm + logDets[c]!, m0, m1, m2, m3);
  }
  cpuFourMaxima(lp, k);
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
      // t · (t · 1/σ²): t² would overflow for |t| > 1.3e154 where the term does not (as the model's logPdf).
      m += t * (t * precisions[mo + j]!);
    }
    const v = logWeights[c]! - 0.5 * (constTerm + logDets[c]! + m);
    lp[c] = v;
    if (v > max) max = v;
  }
  return max;
}

/**
 * Point q's log-density of component c into lp[q·K + c] from its Mahalanobis term m_q, as the
 * one-point kernels compute it: log w_c − ½(cTerm + m_q), cTerm = D log 2π + log det Σ_c.
 */
export function cpuStoreFour(lp: Float64Array, k: number, c: number, logWeight: number, cTerm: number, m0: number, m1: number, m2: number, m3: number): void {
  lp[c] = logWeight - 0.5 * (cTerm + m0);
  lp[k + c] = logWeight - 0.5 * (cTerm + m1);
  lp[2 * k + c] = logWeight - 0.5 * (cTerm + m2);
  lp[3 * k + c] = logWeight - 0.5 * (cTerm + m3);
}

/** Each of the four points' largest log-density (components in order, as the one-point kernels) into lp[4K + q]. */
export function cpuFourMaxima(lp: Float64Array, k: number): void {
  for (let q = 0; q < 4; q++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      const v = lp[q * k + c]!;
      if (v > max) max = v;
    }
    lp[4 * k + q] = max;
  }
}

/** cpuLogDensitiesDiagonal for four points, laid out as cpuLogDensitiesFull4 lays them out. */
export function cpuLogDensitiesDiagonal4(
  data: Values, xo: number, k: number, d: number,
  logWeights: Float64Array, means: Float64Array, precisions: Float64Array, logDets: Float64Array, lp: Float64Array, diff: Float64Array,
): void {
  const constTerm = d * Math.log(2 * Math.PI);
  const kd = k * d;
  for (let c = 0; c < k; c++) {
    const mo = c * d;
    let m0 = 0, m1 = 0, m2 = 0, m3 = 0;
    for (let j = 0; j < d; j++) {
      const mu = means[mo + j]!;
      const iv = precisions[mo + j]!;
      const t0 = data[xo + j]! - mu, t1 = data[xo + d + j]! - mu, t2 = data[xo + 2 * d + j]! - mu, t3 = data[xo + 3 * d + j]! - mu;
      diff[mo + j] = t0;
      diff[kd + mo + j] = t1;
      diff[2 * kd + mo + j] = t2;
      diff[3 * kd + mo + j] = t3;
      m0 += t0 * (t0 * iv);
      m1 += t1 * (t1 * iv);
      m2 += t2 * (t2 * iv);
      m3 += t3 * (t3 * iv);
    }
    cpuStoreFour(lp, k, c, logWeights[c]!, constTerm + logDets[c]!, m0, m1, m2, m3);
  }
  cpuFourMaxima(lp, k);
}

/** Replaces lp[o + c] by exp(lp[o + c] − max) — one exp per component serves the sum and r_nk — and returns their sum. */
export function cpuExpShifted(lp: Float64Array, o: number, k: number, max: number): number {
  let s = 0;
  for (let c = 0; c < k; c++) s += lp[o + c] = Math.exp(lp[o + c]! - max);
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

/**
 * Point q's responsibilities r_qk = scale_q · exp(log p_qk − max_q) into lp[q·K…], scale_q at
 * lp[4K + 4 + q] as cpuPassRange leaves it; a point that adds nothing (scale 0) still holds its raw
 * log-densities (possibly −∞): its r are 0 outright.
 */
export function cpuFourResponsibilities(lp: Float64Array, k: number): void {
  for (let q = 0; q < 4; q++) {
    const scale = lp[4 * k + 4 + q]!;
    for (let c = q * k; c < (q + 1) * k; c++) lp[c] = scale === 0 ? 0 : scale * lp[c]!;
  }
}

/**
 * cpuAccumulateFull for four points, point q's responsibilities at lp[q·K…] (cpuFourResponsibilities):
 * every sum gets the four points' terms in point order, as four calls would add them — the same
 * bits. Where a call skips a term (r = 0, or a point that adds nothing), this adds a zero
 * product, which leaves the sum as it is: the sums start at +0 and can never become −0, and every
 * x − μ is finite (the data are checked finite and within float64's squares).
 */
export function cpuAccumulateFull4(
  lp: Float64Array, diff: Float64Array, k: number, d: number,
  acc: Float64Array, nkAt: number, sumsAt: number, scatterAt: number,
): void {
  const tri = (d * (d + 1)) / 2;
  const kd = k * d;
  for (let c = 0; c < k; c++) {
    const r0 = lp[c]!, r1 = lp[k + c]!, r2 = lp[2 * k + c]!, r3 = lp[3 * k + c]!;
    if (r0 === 0 && r1 === 0 && r2 === 0 && r3 === 0) continue;
    acc[nkAt + c] = acc[nkAt + c]! + r0 + r1 + r2 + r3;
    const o0 = c * d, o1 = kd + o0, o2 = 2 * kd + o0, o3 = 3 * kd + o0;
    let so = scatterAt + c * tri;
    for (let i = 0; i < d; i++) {
      const a0 = r0 * diff[o0 + i]!, a1 = r1 * diff[o1 + i]!, a2 = r2 * diff[o2 + i]!, a3 = r3 * diff[o3 + i]!;
      acc[sumsAt + o0 + i] = acc[sumsAt + o0 + i]! + a0 + a1 + a2 + a3;
      for (let j = i; j < d; j++) {
        acc[so] = acc[so]! + a0 * diff[o0 + j]! + a1 * diff[o1 + j]! + a2 * diff[o2 + j]! + a3 * diff[o3 + j]!;
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

/** cpuAccumulateDiagonal for four points, as cpuAccumulateFull4. */
export function cpuAccumulateDiagonal4(
  lp: Float64Array, diff: Float64Array, k: number, d: number,
  acc: Float64Array, nkAt: number, sumsAt: number, scatterAt: number,
): void {
  const kd = k * d;
  for (let c = 0; c < k; c++) {
    const r0 = lp[c]!, r1 = lp[k + c]!, r2 = lp[2 * k + c]!, r3 = lp[3 * k + c]!;
    if (r0 === 0 && r1 === 0 && r2 === 0 && r3 === 0) continue;
    acc[nkAt + c] = acc[nkAt + c]! + r0 + r1 + r2 + r3;
    const mo = c * d;
    for (let j = 0; j < d; j++) {
      const x0 = diff[mo + j]!, x1 = diff[kd + mo + j]!, x2 = diff[2 * kd + mo + j]!, x3 = diff[3 * kd + mo + j]!;
      const t0 = r0 * x0, t1 = r1 * x1, t2 = r2 * x2, t3 = r3 * x3;
      acc[sumsAt + mo + j] = acc[sumsAt + mo + j]! + t0 + t1 + t2 + t3;
      acc[scatterAt + mo + j] = acc[scatterAt + mo + j]! + t0 * x0 + t1 * x1 + t2 * x2 + t3 * x3;
    }
  }
}

/**
 * Task t of a threaded pass (the thread pool's kind 6, beside kmRunTask's: worker/kmeans-threads.ts): points [(first + t)·chunk, …) below `limit`,
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
  const scratch = cpuPassScratch(k, d);
  cpuPassRange(
    a[0] as Values, a[1] as Float64Array | null, a[2] as boolean, k, d,
    a[5] as Float64Array, a[6] as Float64Array, a[7] as Float64Array, a[8] as Float64Array,
    lo, hi, a[9] as boolean, out, t * stride, scratch.lp, scratch.diff,
  );
}

/** The kernels as the helper threads load them. */
export const CPU_PASS_KERNELS = [cpuPassRange, cpuPassScratch, cpuLogDensitiesFull4, cpuAccumulateFull4, cpuLogDensitiesDiagonal4, cpuAccumulateDiagonal4, cpuStoreFour, cpuFourMaxima, cpuFourResponsibilities, cpuLogDensitiesFull, cpuLogDensitiesDiagonal, cpuExpShifted, cpuAccumulateFull, cpuAccumulateDiagonal, cpuPassTask] as const;
