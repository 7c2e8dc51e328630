/**
 * The per-point loops of k-means and k-means++ (see kmeans.ts), each over a range of points or of
 * fixed-size blocks, so that the same code runs on the calling thread and, split into ranges, on
 * worker threads (kmeans-parallel.ts) with identical results.
 *
 * Every function here is self-contained: it refers to nothing outside its own body but its
 * arguments, JavaScript built-ins (`Math`, `Infinity`, `Atomics`) and the other kernels of
 * KMEANS_KERNELS, because the worker threads receive them as source text
 * (`Function.prototype.toString`). Keep it that way: no imports, no module constants, no helpers
 * outside that list, no nested functions.
 *
 * Squared distances are always summed over the dimensions in order t = 0 … d−1, one
 * `s += diff * diff` per dimension, exactly as the plain loop does, so a distance is bit-identical
 * whether it is computed alone or four at a time.
 */

/** Data as the kernels read it: row-major points. */
export type KernelValues = Float64Array | Float32Array;

/**
 * Nearest and second-nearest centroid of points [start, end): sets the assignment (ties → lowest
 * index), the upper bound √best·distUp and the lower bound √second·distDown. Four centroids per
 * pass over a point's coordinates. When `sums` is given, then adds the points to the new
 * centroids' sums (kmAccumulate).
 */
export function kmFullScan(
  data: KernelValues,
  d: number,
  k: number,
  c: Float64Array,
  start: number,
  end: number,
  assignments: Int32Array,
  upper: Float64Array,
  lower: Float64Array,
  distUp: number,
  distDown: number,
  weights: Float64Array | null,
  sums: Float64Array | null,
  counts: Int32Array,
  weightSums: Float64Array,
): void {
  for (let i = start, off = start * d; i < end; i++, off += d) {
    let best = Infinity;
    let second = Infinity;
    let bestJ = 0;
    let j = 0;
    for (; j + 4 <= k; j += 4) {
      const o0 = j * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let t = 0; t < d; t++) {
        const x = data[off + t]!;
        const a0 = x - c[o0 + t]!;
        const a1 = x - c[o1 + t]!;
        const a2 = x - c[o2 + t]!;
        const a3 = x - c[o3 + t]!;
        s0 += a0 * a0;
        s1 += a1 * a1;
        s2 += a2 * a2;
        s3 += a3 * a3;
      }
      if (s0 < best) { second = best; best = s0; bestJ = j; } else if (s0 < second) second = s0;
      if (s1 < best) { second = best; best = s1; bestJ = j + 1; } else if (s1 < second) second = s1;
      if (s2 < best) { second = best; best = s2; bestJ = j + 2; } else if (s2 < second) second = s2;
      if (s3 < best) { second = best; best = s3; bestJ = j + 3; } else if (s3 < second) second = s3;
    }
    for (; j < k; j++) {
      const o = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const a = data[off + t]! - c[o + t]!;
        s += a * a;
      }
      if (s < best) { second = best; best = s; bestJ = j; } else if (s < second) second = s;
    }
    assignments[i] = bestJ;
    upper[i] = Math.sqrt(best) * distUp;
    lower[i] = Math.sqrt(second) * distDown;
  }
  if (sums !== null) kmAccumulate(data, d, start, end, assignments, weights, sums, counts, weightSums, k, 0, 1);
}

/**
 * One Hamerly pass over points [start, end) with valid bounds: applies the pending centroid
 * movements when `pending` (u += movement[a]·roundUp, l −= (a = maxJ ? secondMove : maxMove)
 * rounded down), skips the points whose upper bound is below max(half[a], l), tightens the upper
 * bound of the others, and rescans those still in doubt (as {@link kmFullScan}, but only over the
 * centres that can be nearer: centHalf[a·k + j] = ½‖c_a − c_j‖ rounded down). When `seeded`,
 * the assignments are every point's nearest centre and `upper` holds the squared distance to it
 * (as k-means++ leaves them): the bounds are derived from those instead. When `sums` is given,
 * each slice of 4096 points, once final, is added to the new centroids' sums (kmAccumulate) while
 * it is in cache. Returns the number of point–centroid distances computed.
 */
export function kmHamerly(
  data: KernelValues,
  d: number,
  k: number,
  c: Float64Array,
  start: number,
  end: number,
  assignments: Int32Array,
  upper: Float64Array,
  lower: Float64Array,
  half: Float64Array,
  centHalf: Float64Array,
  movement: Float64Array,
  pending: boolean,
  seeded: boolean,
  maxJ: number,
  maxMove: number,
  secondMove: number,
  distUp: number,
  distDown: number,
  roundUp: number,
  roundDown: number,
  weights: Float64Array | null,
  sums: Float64Array | null,
  counts: Int32Array,
  weightSums: Float64Array,
): number {
  let computations = 0;
  // Points in doubt, a slice at a time: first the bound tests alone (a tight loop over the bounds),
  // then the exact distances for those that failed, four points at a time.
  const SLICE = 4096;
  const work = new Int32Array(SLICE);
  const near = new Int32Array(k);
  for (let lo = start; lo < end; lo += SLICE) {
    const hi = lo + SLICE < end ? lo + SLICE : end;
    let nw = 0;
    if (seeded) {
      // upper[i] holds the exact squared distance to the assigned (nearest) centre; any other
      // centre j is at least ‖c_j − c_a‖ − u ≥ 2·half[a] − u away.
      for (let i = lo; i < hi; i++) {
        const a = assignments[i]!;
        const u = Math.sqrt(upper[i]!) * distUp;
        const h = half[a]!;
        let l = (2 * h - u) * roundDown;
        if (!(l > 0)) l = 0;
        upper[i] = u;
        lower[i] = l;
        if (!(u < (l > h ? l : h))) work[nw++] = i;
      }
    } else {
      if (pending) {
        for (let i = lo; i < hi; i++) {
          const a = assignments[i]!;
          const u = (upper[i]! + movement[a]!) * roundUp;
          // Negative lower bounds carry no information (s(j) ≥ 0 dominates), so rounding them
          // toward zero is harmless.
          const l = (lower[i]! - (a === maxJ ? secondMove : maxMove)) * roundDown;
          upper[i] = u;
          lower[i] = l;
          const h = half[a]!;
          if (!(u < (l > h ? l : h))) work[nw++] = i;
        }
      } else {
        for (let i = lo; i < hi; i++) {
          const l = lower[i]!;
          const h = half[assignments[i]!]!;
          if (!(upper[i]! < (l > h ? l : h))) work[nw++] = i;
        }
      }
      // Tighten the upper bounds with the exact distance to the assigned centre; keep in `work`
      // the points still in doubt.
      computations += nw;
      let kept = 0;
      let r = 0;
      for (; r + 4 <= nw; r += 4) {
        const i0 = work[r]!, i1 = work[r + 1]!, i2 = work[r + 2]!, i3 = work[r + 3]!;
        const x0 = i0 * d, x1 = i1 * d, x2 = i2 * d, x3 = i3 * d;
        const c0 = assignments[i0]! * d, c1 = assignments[i1]! * d, c2 = assignments[i2]! * d, c3 = assignments[i3]! * d;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let t = 0; t < d; t++) {
          const a0 = data[x0 + t]! - c[c0 + t]!;
          const a1 = data[x1 + t]! - c[c1 + t]!;
          const a2 = data[x2 + t]! - c[c2 + t]!;
          const a3 = data[x3 + t]! - c[c3 + t]!;
          s0 += a0 * a0;
          s1 += a1 * a1;
          s2 += a2 * a2;
          s3 += a3 * a3;
        }
        const u0 = Math.sqrt(s0) * distUp, u1 = Math.sqrt(s1) * distUp, u2 = Math.sqrt(s2) * distUp, u3 = Math.sqrt(s3) * distUp;
        upper[i0] = u0;
        upper[i1] = u1;
        upper[i2] = u2;
        upper[i3] = u3;
        let l = lower[i0]!, h = half[assignments[i0]!]!;
        if (!(u0 < (l > h ? l : h))) work[kept++] = i0;
        l = lower[i1]!;
        h = half[assignments[i1]!]!;
        if (!(u1 < (l > h ? l : h))) work[kept++] = i1;
        l = lower[i2]!;
        h = half[assignments[i2]!]!;
        if (!(u2 < (l > h ? l : h))) work[kept++] = i2;
        l = lower[i3]!;
        h = half[assignments[i3]!]!;
        if (!(u3 < (l > h ? l : h))) work[kept++] = i3;
      }
      for (; r < nw; r++) {
        const i = work[r]!;
        const x = i * d;
        const a = assignments[i]!;
        const o = a * d;
        let s = 0;
        for (let t = 0; t < d; t++) {
          const diff = data[x + t]! - c[o + t]!;
          s += diff * diff;
        }
        const u = Math.sqrt(s) * distUp;
        upper[i] = u;
        const l = lower[i]!, h = half[a]!;
        if (!(u < (l > h ? l : h))) work[kept++] = i;
      }
      nw = kept;
    }
    // Rescan the points still in doubt: nearest and second nearest (as kmFullScan), among the
    // centres j that can be nearer than the assigned a — those with ½‖c_a − c_j‖ ≤ u (centHalf);
    // any other is at least 2·centHalf[a][j] − u > u away, which bounds the second distance.
    for (let r = 0; r < nw; r++) {
      const i = work[r]!;
      const off = i * d;
      const u = upper[i]!;
      const ca = assignments[i]! * k;
      let nc = 0;
      let farLow = Infinity;
      for (let j = 0; j < k; j++) {
        const h = centHalf[ca + j]!;
        if (h > u) {
          const lb = 2 * h - u;
          if (lb < farLow) farLow = lb;
        } else {
          near[nc++] = j;
        }
      }
      computations += nc;
      let best = Infinity;
      let second = Infinity;
      let bestJ = 0;
      let q = 0;
      for (; q + 4 <= nc; q += 4) {
        const j0 = near[q]!, j1 = near[q + 1]!, j2 = near[q + 2]!, j3 = near[q + 3]!;
        const o0 = j0 * d, o1 = j1 * d, o2 = j2 * d, o3 = j3 * d;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let t = 0; t < d; t++) {
          const x = data[off + t]!;
          const a0 = x - c[o0 + t]!;
          const a1 = x - c[o1 + t]!;
          const a2 = x - c[o2 + t]!;
          const a3 = x - c[o3 + t]!;
          s0 += a0 * a0;
          s1 += a1 * a1;
          s2 += a2 * a2;
          s3 += a3 * a3;
        }
        if (s0 < best) { second = best; best = s0; bestJ = j0; } else if (s0 < second) second = s0;
        if (s1 < best) { second = best; best = s1; bestJ = j1; } else if (s1 < second) second = s1;
        if (s2 < best) { second = best; best = s2; bestJ = j2; } else if (s2 < second) second = s2;
        if (s3 < best) { second = best; best = s3; bestJ = j3; } else if (s3 < second) second = s3;
      }
      for (; q < nc; q++) {
        const j = near[q]!;
        const o = j * d;
        let s1 = 0;
        for (let t = 0; t < d; t++) {
          const e = data[off + t]! - c[o + t]!;
          s1 += e * e;
        }
        if (s1 < best) { second = best; best = s1; bestJ = j; } else if (s1 < second) second = s1;
      }
      assignments[i] = bestJ;
      upper[i] = Math.sqrt(best) * distUp;
      const low = Math.sqrt(second) * distDown;
      const far = farLow * roundDown;
      lower[i] = far < low ? far : low;
    }
    // The slice's points are final: add them to the sums while they are in cache.
    if (sums !== null) kmAccumulate(data, d, lo, hi, assignments, weights, sums, counts, weightSums, k, 0, 1);
  }
  return computations;
}

/**
 * Adds points [start, end), in point order, to the new centroids' (weighted) sums, counts and
 * weight sums — only those of the clusters j < k with j mod `stride` = `phase`. Over all points, a
 * cluster's sum is then the same whichever thread computes it.
 */
export function kmAccumulate(
  data: KernelValues,
  d: number,
  start: number,
  end: number,
  assignments: Int32Array,
  weights: Float64Array | null,
  sums: Float64Array,
  counts: Int32Array,
  weightSums: Float64Array,
  k: number,
  phase: number,
  stride: number,
): void {
  const all = stride === 1;
  const mine = new Uint8Array(k);
  for (let j = phase; j < k; j += stride) mine[j] = 1;
  // Four coordinates per step, all loads before the stores (each sum still adds its terms in
  // point order).
  const d4 = d & ~3;
  if (weights === null) {
    for (let i = start, off = start * d; i < end; i++, off += d) {
      const j = assignments[i]!;
      if (!all && mine[j] === 0) continue;
      counts[j]!++;
      const o = j * d;
      let t = 0;
      for (; t < d4; t += 4) {
        const s0 = sums[o + t]! + data[off + t]!;
        const s1 = sums[o + t + 1]! + data[off + t + 1]!;
        const s2 = sums[o + t + 2]! + data[off + t + 2]!;
        const s3 = sums[o + t + 3]! + data[off + t + 3]!;
        sums[o + t] = s0;
        sums[o + t + 1] = s1;
        sums[o + t + 2] = s2;
        sums[o + t + 3] = s3;
      }
      for (; t < d; t++) sums[o + t]! += data[off + t]!;
    }
  } else {
    for (let i = start, off = start * d; i < end; i++, off += d) {
      const j = assignments[i]!;
      if (!all && mine[j] === 0) continue;
      const w = weights[i]!;
      counts[j]!++;
      weightSums[j]! += w;
      const o = j * d;
      let t = 0;
      for (; t < d4; t += 4) {
        const s0 = sums[o + t]! + w * data[off + t]!;
        const s1 = sums[o + t + 1]! + w * data[off + t + 1]!;
        const s2 = sums[o + t + 2]! + w * data[off + t + 2]!;
        const s3 = sums[o + t + 3]! + w * data[off + t + 3]!;
        sums[o + t] = s0;
        sums[o + t + 1] = s1;
        sums[o + t + 2] = s2;
        sums[o + t + 3] = s3;
      }
      for (; t < d; t++) sums[o + t]! += w * data[off + t]!;
    }
  }
}

/**
 * The first k-means++ pass, over the blocks [b0, b1) of `block` points each (the last may be
 * shorter; n points in all): closest[i] = ‖x_i − first‖² (assignment 0 is the caller's), and
 * mass[b] = Σ_{i in b} w_i·closest[i] in point order (w_i = 1 without weights). Four points at a
 * time.
 */
export function kmPlusPlusFirst(
  data: KernelValues,
  d: number,
  n: number,
  weights: Float64Array | null,
  closest: Float64Array,
  block: number,
  b0: number,
  b1: number,
  first: Float64Array,
  mass: Float64Array,
): void {
  for (let b = b0; b < b1; b++) {
    const start = b * block;
    const end = start + block < n ? start + block : n;
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const x0 = i * d, x1 = x0 + d, x2 = x1 + d, x3 = x2 + d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let t = 0; t < d; t++) {
        const f = first[t]!;
        const a0 = data[x0 + t]! - f;
        const a1 = data[x1 + t]! - f;
        const a2 = data[x2 + t]! - f;
        const a3 = data[x3 + t]! - f;
        s0 += a0 * a0;
        s1 += a1 * a1;
        s2 += a2 * a2;
        s3 += a3 * a3;
      }
      closest[i] = s0;
      closest[i + 1] = s1;
      closest[i + 2] = s2;
      closest[i + 3] = s3;
    }
    for (; i < end; i++) {
      const x = i * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const a = data[x + t]! - first[t]!;
        s += a * a;
      }
      closest[i] = s;
    }
    let p = 0;
    if (weights === null) for (let j = start; j < end; j++) p += closest[j]!;
    else for (let j = start; j < end; j++) p += weights[j]! * closest[j]!;
    mass[b] = p;
  }
}

/**
 * Scores the `m` k-means++ candidates (rows of `cand`, m×d) over the blocks [b0, b1): for each
 * candidate q, pot[b·m + q] = Σ_{i in b} w_i·min(‖x_i − cand_q‖², D²_i) in point order, with D²_i =
 * closest[i] the squared distance to the nearest centroid so far, assign[i], and w_i = 1 without
 * weights. The points a candidate would bring closer (‖x_i − cand_q‖² < D²_i) are listed, in point
 * order, at listIdx / listS[(b·m + q)·block …] (index and new D²), listCnt[b·m + q] of them: the
 * chosen candidate's lists update `closest` without computing a distance again.
 *
 * Pruning (exact): `candThr[q·k + j]` is a threshold such that D²_i ≤ it, for the point's centroid
 * j = assign[i], proves ‖x_i − cand_q‖² ≥ D²_i as computed (the caller derives it from the
 * centroid–candidate distance by the triangle inequality, with a rounding margin), so the
 * distance is not computed. Candidates are scored four (then two, then one) at a time over a
 * block, which stays in cache between the groups.
 */
export function kmPlusPlusBlocks(
  data: KernelValues,
  d: number,
  n: number,
  weights: Float64Array | null,
  closest: Float64Array,
  assign: Int32Array,
  k: number,
  block: number,
  b0: number,
  b1: number,
  cand: Float64Array,
  m: number,
  candThr: Float64Array,
  pot: Float64Array,
  listIdx: Int32Array,
  listS: Float64Array,
  listCnt: Int32Array,
): void {
  // Per group of candidates (4, 4, …, then 2, then 1) and centroid j: the least threshold.
  const groupThr = new Float64Array(m * k);
  for (let q = 0, g = 0; q < m; g++) {
    const size = m - q >= 4 ? 4 : m - q >= 2 ? 2 : 1;
    for (let j = 0; j < k; j++) {
      let t = candThr[q * k + j]!;
      for (let r = 1; r < size; r++) {
        const v = candThr[(q + r) * k + j]!;
        if (v < t) t = v;
      }
      groupThr[g * k + j] = t;
    }
    q += size;
  }
  for (let b = b0; b < b1; b++) {
    const start = b * block;
    const end = start + block < n ? start + block : n;
    let q = 0;
    let g = 0;
    for (; q + 4 <= m; q += 4, g++) {
      const o0 = q * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
      const gt = g * k;
      const l0 = (b * m + q) * block, l1 = l0 + block, l2 = l1 + block, l3 = l2 + block;
      let n0 = 0, n1 = 0, n2 = 0, n3 = 0;
      let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
      for (let i = start, off = start * d; i < end; i++, off += d) {
        const cl = closest[i]!;
        const w = weights === null ? 1 : weights[i]!;
        if (cl <= groupThr[gt + assign[i]!]!) {
          const c = weights === null ? cl : w * cl;
          p0 += c;
          p1 += c;
          p2 += c;
          p3 += c;
          continue;
        }
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let t = 0; t < d; t++) {
          const x = data[off + t]!;
          const a0 = x - cand[o0 + t]!;
          const a1 = x - cand[o1 + t]!;
          const a2 = x - cand[o2 + t]!;
          const a3 = x - cand[o3 + t]!;
          s0 += a0 * a0;
          s1 += a1 * a1;
          s2 += a2 * a2;
          s3 += a3 * a3;
        }
        if (s0 < cl) { listIdx[l0 + n0] = i; listS[l0 + n0] = s0; n0++; } else s0 = cl;
        if (s1 < cl) { listIdx[l1 + n1] = i; listS[l1 + n1] = s1; n1++; } else s1 = cl;
        if (s2 < cl) { listIdx[l2 + n2] = i; listS[l2 + n2] = s2; n2++; } else s2 = cl;
        if (s3 < cl) { listIdx[l3 + n3] = i; listS[l3 + n3] = s3; n3++; } else s3 = cl;
        if (weights === null) {
          p0 += s0;
          p1 += s1;
          p2 += s2;
          p3 += s3;
        } else {
          p0 += w * s0;
          p1 += w * s1;
          p2 += w * s2;
          p3 += w * s3;
        }
      }
      const o = b * m + q;
      pot[o] = p0;
      pot[o + 1] = p1;
      pot[o + 2] = p2;
      pot[o + 3] = p3;
      listCnt[o] = n0;
      listCnt[o + 1] = n1;
      listCnt[o + 2] = n2;
      listCnt[o + 3] = n3;
    }
    for (; q + 2 <= m; q += 2, g++) {
      const o0 = q * d, o1 = o0 + d;
      const gt = g * k;
      const l0 = (b * m + q) * block, l1 = l0 + block;
      let n0 = 0, n1 = 0;
      let p0 = 0, p1 = 0;
      for (let i = start, off = start * d; i < end; i++, off += d) {
        const cl = closest[i]!;
        const w = weights === null ? 1 : weights[i]!;
        if (cl <= groupThr[gt + assign[i]!]!) {
          const c = weights === null ? cl : w * cl;
          p0 += c;
          p1 += c;
          continue;
        }
        let s0 = 0, s1 = 0;
        for (let t = 0; t < d; t++) {
          const x = data[off + t]!;
          const a0 = x - cand[o0 + t]!;
          const a1 = x - cand[o1 + t]!;
          s0 += a0 * a0;
          s1 += a1 * a1;
        }
        if (s0 < cl) { listIdx[l0 + n0] = i; listS[l0 + n0] = s0; n0++; } else s0 = cl;
        if (s1 < cl) { listIdx[l1 + n1] = i; listS[l1 + n1] = s1; n1++; } else s1 = cl;
        if (weights === null) {
          p0 += s0;
          p1 += s1;
        } else {
          p0 += w * s0;
          p1 += w * s1;
        }
      }
      const o = b * m + q;
      pot[o] = p0;
      pot[o + 1] = p1;
      listCnt[o] = n0;
      listCnt[o + 1] = n1;
    }
    for (; q < m; q++, g++) {
      const o0 = q * d;
      const gt = g * k;
      const l0 = (b * m + q) * block;
      let n0 = 0;
      let p0 = 0;
      for (let i = start, off = start * d; i < end; i++, off += d) {
        const cl = closest[i]!;
        let v = cl;
        if (!(cl <= groupThr[gt + assign[i]!]!)) {
          let s0 = 0;
          for (let t = 0; t < d; t++) {
            const a0 = data[off + t]! - cand[o0 + t]!;
            s0 += a0 * a0;
          }
          if (s0 < cl) {
            v = s0;
            listIdx[l0 + n0] = i;
            listS[l0 + n0] = s0;
            n0++;
          }
        }
        p0 += weights === null ? v : weights[i]! * v;
      }
      pot[b * m + q] = p0;
      listCnt[b * m + q] = n0;
    }
  }
}

/**
 * Task t of a parallel job of `tasks` tasks. It covers items [t·chunk, min((t+1)·chunk, limit)) —
 * points for kinds 1 (kmFullScan) and 2 (kmHamerly), blocks for kinds 0 (kmPlusPlusBlocks) and
 * 4 (kmPlusPlusFirst) — and is phase t of `tasks` for kind 3 (kmAccumulate); kind 5 is a timing
 * probe. (The thread pool runs kind 6, the CPU backend's EM pass, itself: see kmeans-threads.ts.)
 * `a` holds the kernel's other arguments in order. Returns the kernel's result (kmHamerly's
 * distance count; 0 otherwise).
 */
export function kmRunTask(kind: number, a: unknown[], t: number, tasks: number, chunk: number, limit: number): number {
  const lo = t * chunk;
  const hi = lo + chunk < limit ? lo + chunk : limit;
  const x = a as never[];
  if (kind === 0) {
    kmPlusPlusBlocks(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], lo, hi, x[8], x[9], x[10], x[11], x[12], x[13], x[14]);
    return 0;
  }
  if (kind === 4) {
    kmPlusPlusFirst(x[0], x[1], x[2], x[3], x[4], x[5], lo, hi, x[6], x[7]);
    return 0;
  }
  if (kind === 1) {
    kmFullScan(x[0], x[1], x[2], x[3], lo, hi, x[4], x[5], x[6], x[7], x[8], null, null, x[9], x[10]);
    return 0;
  }
  if (kind === 2) {
    return kmHamerly(x[0], x[1], x[2], x[3], lo, hi, x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], x[13], x[14], x[15], x[16], x[17], x[18], null, null, x[19], x[20]);
  }
  if (kind === 5) {
    // A fixed amount of arithmetic (x[0] steps): helper-thread pools time it to see whether their
    // threads run at the same time.
    let acc = 0;
    for (let i = 0; i < (x[0] as number); i++) acc += Math.sqrt(i + acc * 1e-300);
    return acc > 0 ? 0 : 1;
  }
  if (kind === 3) {
    kmAccumulate(x[0], x[1], 0, x[2], x[3], x[4], x[5], x[6], x[7], x[8], t, tasks);
    return 0;
  }
  throw new Error(`kmRunTask: no kernel of kind ${kind}`);
}

/**
 * Claims tasks of a job from the shared `control` (control[0]: next task; control[1]: tasks
 * completed; control[2]: set when a task threw) until none is left, runs them (with `run`:
 * kmRunTask, or the thread pool's dispatcher that adds other kinds), stores each
 * result in `results[t]` and counts it completed — also when it throws, after calling `onError`.
 * Returns how many tasks it ran.
 */
export function kmClaimTasks(
  kind: number,
  a: unknown[],
  control: Int32Array,
  results: Float64Array,
  tasks: number,
  chunk: number,
  limit: number,
  onError: (e: unknown) => void,
  run: (kind: number, a: unknown[], t: number, tasks: number, chunk: number, limit: number) => number = kmRunTask,
): number {
  let ran = 0;
  for (;; ran++) {
    const t = Atomics.add(control, 0, 1);
    if (t >= tasks) return ran;
    try {
      results[t] = run(kind, a, t, tasks, chunk, limit);
    } catch (e) {
      Atomics.store(control, 2, 1);
      onError(e);
    }
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
  }
}

/** The kernels as the worker threads load them. */
export const KMEANS_KERNELS = [kmFullScan, kmHamerly, kmAccumulate, kmPlusPlusFirst, kmPlusPlusBlocks, kmRunTask, kmClaimTasks] as const;
