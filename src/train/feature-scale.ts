/**
 * What the `'unit-invariant'` covariance policy measures on the training data, once per `train()`
 * call: per feature d an origin (its least value), a scale s_d (the range), the constraint's unit
 * (the range, or 1000 interquartile ranges where a few extreme values stretch the range beyond
 * that: constraintScale), and a variance floor for nearly constant features. k-means runs on
 * (x − origin) / scale; the covariance constraint acts on S⁻¹ Σ S⁻¹ with S = diag(constraintScale)
 * and keeps every component's variance of a nearly constant feature at least its floor.
 *
 * Everything here moves with the units: x_d → c_d·x_d + b_d (c_d > 0) gives origin → c·origin + b,
 * scale → c·scale, floor → c²·floor, so the scaled quantities — and the fit — do not change. The one
 * exception is a feature that is constant in the training data: it has no scale of its own and
 * borrows the median scale of the other features.
 *
 * Observation weights count as copies of a point (weight 2 ≡ the point twice); points of weight 0
 * are ignored.
 */

import type { Values } from '../data.js';
import { kmeansDataArray } from './kmeans-parallel.js';
import { kmFullScan } from './kmeans-kernels.js';
import { createYielder } from '../util/yield.js';

export interface FeatureScaling {
  /**
   * D origins: each feature's least value (among the points of positive weight). A data value, not
   * a rounded mean: x − origin is then exact wherever x is within a factor 2 of it (an offset far
   * beyond the spread, such as a year or a timestamp), so an exact shift of the data shifts the
   * origin exactly and leaves the scaled coordinates as they were. (The mean's rounding, an ulp of
   * an offset of 1e5 over a range of 5, exceeded the 2^-40 grid they are snapped to.)
   */
  origin: Float64Array;
  /** D weighted means. */
  mean: Float64Array;
  /** D scales s_d > 0: the range max − min, or the borrowed scale of a constant feature. */
  scale: Float64Array;
  /**
   * D units of the covariance constraint: the range, unless a few extreme values stretch it far
   * beyond the bulk of the data — then {@link OUTLIER_SPREAD} × the interquartile range (see
   * {@link constraintUnits}); constant features borrow the median of the others'.
   */
  constraintScale: Float64Array;
  /** Features whose values are all equal (among the points of positive weight). */
  constantFeatures: number[];
  /** D variance floors in the data's units (0 where a feature is not nearly constant). */
  floor: Float64Array;
  /**
   * The least, over the features, of the weight of the points that differ from the feature's
   * majority value (0 for a constant feature; a feature without a majority value counts its
   * whole weight): how rarely the rarest feature deviates. In points: weights are counted in
   * units of the mean positive weight (a weight-2 point counts as two points, and weights
   * normalized to sum to 1 count as the unit weights they are proportional to).
   */
  minDeviating: number;
}

/**
 * Rarity constant of the near-constant floor: a feature whose values differ from its majority value
 * in c points (total weight) gets the floor M₂·exp(−c / RARE_DEVIATIONS), M₂ the feature's mean
 * squared deviation from that value. Deviations seen in only a handful of points cannot be modelled
 * by any component (they are scattered across them), so held-out points that deviate would meet a
 * variance of almost zero; seen in hundreds of points they are modelled and the floor vanishes
 * (e^-40 at c = 200).
 */
export const RARE_DEVIATIONS = 5;

/**
 * The most a feature's range may exceed its interquartile range before the covariance constraint
 * measures the feature by the latter (× this) instead. Ranges are 5–8 IQRs for Gaussian data of
 * any practical size and up to a few hundred for heavy tails (log-normal, Student's t); a sentinel
 * value (999999 for "missing", a zero timestamp) or one wild outlier makes it 10⁴–10⁸, and a
 * variance floor or condition clamp relative to that range would blur every component.
 */
export const OUTLIER_SPREAD = 1000;

/** Points per feature whose interquartile range is measured (a fixed stride through the data). */
const SPREAD_SAMPLE = 4096;

/**
 * Origin, mean, scale and near-constant floor of every feature of the n×d row-major `data`.
 */
export function featureScales(data: Values, n: number, d: number, weights: Float64Array | null): FeatureScaling {
  const mean = new Float64Array(d);
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  // Weighted Boyer–Moore majority vote per feature: the value holding more than half of the weight,
  // if there is one (a second pass checks).
  const candidate = new Float64Array(d);
  const votes = new Float64Array(d);
  let total = weights ? 0 : n;
  // Counts of deviating points are measured in units of the mean positive weight (see minDeviating).
  let meanWeight = 1;
  if (weights) {
    let positive = 0;
    for (let i = 0; i < n; i++) {
      if (weights[i]! > 0) {
        total += weights[i]!;
        positive++;
      }
    }
    meanWeight = total / positive;
  }
  // Feature by feature over cache-sized blocks of points: the running values stay in registers
  // (twice as fast as point by point), and each feature still sees the points in order.
  const rows = scanRows(d);
  for (let b = 0; b < n; b += rows) {
    const e = b + rows < n ? b + rows : n;
    for (let j = 0; j < d; j++) {
      let sum = mean[j]!, min = lo[j]!, max = hi[j]!, cand = candidate[j]!, vote = votes[j]!;
      for (let i = b, o = b * d + j; i < e; i++, o += d) {
        const w = weights ? weights[i]! : 1;
        if (!(w > 0)) continue;
        const v = data[o]!;
        sum += w * v;
        if (v < min) min = v;
        if (v > max) max = v;
        if (v === cand) vote += w;
        else if (vote >= w) vote -= w;
        else {
          vote = w - vote;
          cand = v;
        }
      }
      mean[j] = sum;
      lo[j] = min;
      hi[j] = max;
      candidate[j] = cand;
      votes[j] = vote;
    }
  }
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / total;

  const scale = new Float64Array(d);
  const constantFeatures: number[] = [];
  const ranges: number[] = [];
  for (let j = 0; j < d; j++) {
    const r = hi[j]! - lo[j]!;
    if (r > 0 && Number.isFinite(r)) {
      scale[j] = r;
      ranges.push(r);
    } else {
      constantFeatures.push(j);
    }
  }
  const borrowed = ranges.length === 0 ? 1 : median(ranges);
  for (const j of constantFeatures) scale[j] = borrowed;

  // Near-constant floor: mass off the majority value c and mean squared deviation from it M₂.
  const off = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let b = 0; b < n; b += rows) {
    const e = b + rows < n ? b + rows : n;
    for (let j = 0; j < d; j++) {
      const c = candidate[j]!;
      let mass = off[j]!, dev = m2[j]!;
      for (let i = b, o = b * d + j; i < e; i++, o += d) {
        const w = weights ? weights[i]! : 1;
        if (!(w > 0)) continue;
        const t = data[o]! - c;
        if (t !== 0) {
          mass += w;
          dev += w * t * t;
        }
      }
      off[j] = mass;
      m2[j] = dev;
    }
  }
  const floor = new Float64Array(d);
  let minDeviating = total / meanWeight;
  for (let j = 0; j < d; j++) {
    const deviating = off[j]! / meanWeight;
    if (off[j]! < 0.5 * total && deviating < minDeviating) minDeviating = deviating;
    // Without a majority value (more than half of the weight) the feature is not nearly constant.
    if (!(off[j]! < 0.5 * total) || off[j] === 0) continue;
    const f = (m2[j]! / total) * Math.exp(-deviating / RARE_DEVIATIONS);
    if (f > 0 && Number.isFinite(f)) floor[j] = f;
  }
  const constraintScale = constraintUnits(data, n, d, weights, scale, constantFeatures);
  return { origin: lo, mean, scale, constraintScale, constantFeatures, floor, minDeviating };
}

/**
 * Per feature min(range, OUTLIER_SPREAD · IQR), the IQR of points at a fixed stride through the
 * data (weighted quartiles; the range where the IQR is 0, as for a feature with a majority value);
 * constant features borrow the median of the others'. Quartiles move with the units as the range
 * does, so the fit stays unit-invariant.
 */
function constraintUnits(data: Values, n: number, d: number, weights: Float64Array | null, scale: Float64Array, constantFeatures: number[]): Float64Array {
  const units = Float64Array.from(scale);
  const m = Math.min(n, SPREAD_SAMPLE);
  const rows: number[] = [];
  for (let k = 0; k < m; k++) {
    const i = Math.floor((k * n) / m);
    if (!weights || weights[i]! > 0) rows.push(i);
  }
  if (rows.length < 4) return units;
  const values = new Float64Array(rows.length);
  const order = rows.map((_, r) => r);
  const constant = new Set(constantFeatures);
  for (let j = 0; j < d; j++) {
    if (constant.has(j)) continue;
    for (let r = 0; r < rows.length; r++) values[r] = data[rows[r]! * d + j]!;
    let iqr: number;
    if (!weights) {
      const sorted = Float64Array.from(values).sort();
      iqr = sorted[Math.floor(0.75 * (sorted.length - 1))]! - sorted[Math.floor(0.25 * (sorted.length - 1))]!;
    } else {
      order.sort((a, b) => values[a]! - values[b]!);
      let total = 0;
      for (const r of rows) total += weights[r]!;
      let cum = 0, q1 = NaN, q3 = NaN;
      for (const r of order) {
        cum += weights[rows[r]!]!;
        if (Number.isNaN(q1) && cum >= 0.25 * total) q1 = values[r]!;
        if (cum >= 0.75 * total) {
          q3 = values[r]!;
          break;
        }
      }
      iqr = q3 - q1;
    }
    const capped = OUTLIER_SPREAD * iqr;
    if (capped > 0 && capped < units[j]!) units[j] = capped;
  }
  if (constantFeatures.length > 0 && constantFeatures.length < d) {
    const borrowed = median(Array.from(units).filter((_, j) => !constant.has(j)));
    for (const j of constantFeatures) units[j] = borrowed;
  }
  return units;
}

/** The median of a non-empty list (sorted in place). */
function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  const h = xs.length >> 1;
  return xs.length % 2 ? xs[h]! : 0.5 * (xs[h - 1]! + xs[h]!);
}

/** Points per block of the feature-by-feature scans: about 64 KiB of float64 rows. */
function scanRows(d: number): number {
  return Math.max(1, Math.floor(8192 / d));
}

/**
 * (x − origin) / scale for every point, or for the points `rows` (ascending indices) only: a new
 * row-major array.
 */
export function scaledData(data: Values, n: number, d: number, s: FeatureScaling, rows: Int32Array | null = null): Float64Array {
  const count = rows ? rows.length : n;
  // In shared memory where k-means has helper threads, so that they need no copy of their own.
  const out = kmeansDataArray(count * d);
  for (let r = 0; r < count; r++) scaleRow(data, (rows ? rows[r]! : r) * d, d, s, out, r * d);
  return out;
}

/** out[to…] = (x − origin) / scale, snapped, for the point at data[o…]: the one scaling arithmetic. */
function scaleRow(data: Values, o: number, d: number, s: FeatureScaling, out: Float64Array, to: number): void {
  const { origin, scale } = s;
  for (let j = 0; j < d; j++) out[to + j] = snap((data[o + j]! - origin[j]!) / scale[j]!);
}

/**
 * 1 / the spacing of the grid that scaled coordinates are rounded to (2^-40: about 1e-12 of a
 * feature's range, or standard deviation).
 */
const SNAP_SCALE = 2 ** 40;

/**
 * v rounded to the nearest multiple of 2^-40 (exactly: scaling by a power of two is exact). The
 * scaled coordinates of one point differ between unit systems by rounding (x·c + b, its origin
 * and scale are all rounded), and on lattice data (counts, ordinal answers) k-means meets exact
 * ties — a point as far from two centroids — that such rounding breaks one way in metres and the
 * other in millimetres. Rounded to a grid far coarser than that rounding, the coordinates are the
 * same numbers in every unit system (unless a value lies within rounding of a midpoint of the grid),
 * so k-means computes the same thing bit for bit. On continuous data this moves points by 1e-12
 * of their spread, far less than any assignment notices.
 */
export function snap(v: number): number {
  if (v > -SNAP_FAST_LIMIT && v < SNAP_FAST_LIMIT) {
    // The same number as the general form below, 4–5× faster (a third of the seeding's scaled
    // copy at 1M × 8): v + 1.5·2^12 lies in [2^12, 2^13), whose float64 spacing is the grid's, so
    // the addition rounds v to the grid — to even at a tie, where Math.round goes up.
    let r = v + SNAP_ADD - SNAP_ADD;
    if (v - r === SNAP_HALF) r += SNAP_STEP;
    // Math.round gives −0 for (−½, 0) and −0: v·0 has v's sign.
    return r === 0 ? v * 0 : r;
  }
  return Math.round(v * SNAP_SCALE) / SNAP_SCALE;
}

const SNAP_STEP = 1 / SNAP_SCALE;
const SNAP_HALF = SNAP_STEP / 2;
const SNAP_ADD = 1.5 * 2 ** 12;
/** |v| below which SNAP_ADD's spacing is the grid's: v + SNAP_ADD stays in [2^12, 2^13). */
const SNAP_FAST_LIMIT = 2 ** 11;

/**
 * (x − origin) / standard deviation for every point (weighted; a feature with deviation 0 becomes
 * 0): a new row-major n×d array. Unit-invariant like `scaledData`, with the other natural scale;
 * measured from the origin rather than the mean for the same reason (k-means does not care where
 * the origin is). `s`: the features as `featureScales` measured them (origins and means).
 */
export function standardizedData(data: Values, n: number, d: number, weights: Float64Array | null, s: FeatureScaling): Float64Array {
  const { mean, origin } = s;
  const m2 = new Float64Array(d);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    if (!(w > 0)) continue;
    total += w;
    for (let j = 0; j < d; j++) {
      const t = data[i * d + j]! - mean[j]!;
      m2[j] = m2[j]! + w * t * t;
    }
  }
  const out = kmeansDataArray(n * d);
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(m2[j]! / total);
    if (!(sd > 0) || !Number.isFinite(sd)) continue;
    for (let i = 0; i < n; i++) out[i * d + j] = snap((data[i * d + j]! - origin[j]!) / sd);
  }
  return out;
}

/**
 * For every point, the index of the nearest of the k centroids (given in scaled coordinates) in
 * scaled coordinates, computed on the fly with the arithmetic of `scaledData` (no copy of the
 * data); ties go to the lower index. Blocks of points are scaled into a scratch array and scanned
 * by k-means' own kernel (four centroids per pass over a point, the distances bit for bit the
 * plain loop's): 1.6× faster than a point at a time (4M × 16, K = 16: 1.2 s against 1.9 s).
 */
export async function nearestScaled(data: Values, n: number, d: number, s: FeatureScaling, centroids: Float64Array, k: number, signal?: AbortSignal): Promise<Int32Array> {
  const out = new Int32Array(n);
  const z = new Float64Array(NEAREST_BLOCK * d);
  const upper = new Float64Array(NEAREST_BLOCK);
  const lower = new Float64Array(NEAREST_BLOCK);
  const unused = { counts: new Int32Array(k), weightSums: new Float64Array(k) };
  // One call over 10M × 16 points and K = 100 took 25 s: the event loop (Ctrl-C, an abort, the
  // progress bar) gets its turns between blocks.
  const yieldNow = createYielder(signal);
  for (let start = 0; start < n; start += NEAREST_BLOCK) {
    const pause = yieldNow();
    if (pause) await pause;
    const count = Math.min(NEAREST_BLOCK, n - start);
    for (let i = 0; i < count; i++) scaleRow(data, (start + i) * d, d, s, z, i * d);
    kmFullScan(z, d, k, centroids, 0, count, out.subarray(start, start + count), upper, lower, 1, 1, null, null, unused.counts, unused.weightSums);
  }
  return out;
}

/** Points per block of nearestScaled (its scratch: 32 KiB per dimension). */
const NEAREST_BLOCK = 4096;
