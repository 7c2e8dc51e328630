// The covariance constraints in isolation: 'unit-invariant' is S·clamp(S⁻¹ Σ S⁻¹)·S, commutes with
// rescaling, leaves a covariance that satisfies it alone, and the feature scales move with the units.
import { describe, it, expect } from 'vitest';
import { applyConstraint, applyMlpackFull, clampLevelOf, MLPACK_CONSTRAINT, type ConstraintSpec } from '../src/train/constraints.js';
import { featureScales, snap, OUTLIER_SPREAD, RARE_DEVIATIONS } from '../src/train/feature-scale.js';
import { jacobiEigen, symmetricEigen } from '../src/util/linalg.js';
import { Rng } from '../src/util/rng.js';
import { maxRelErr } from './helpers.js';

function randomSpd(rng: Rng, d: number, spread: number): Float64Array {
  // V diag(λ) Vᵀ with eigenvalues spread over `spread` decades.
  const a = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) a[i] = rng.nextNormal();
  const { vectors } = symmetricEigen(Float64Array.from(a, (_, i) => a[i]! + a[(i % d) * d + Math.floor(i / d)]!), d);
  const lambda = Array.from({ length: d }, (_, i) => 10 ** (-spread * (i / (d - 1))));
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let m = 0; m < d; m++) s += vectors[i * d + m]! * lambda[m]! * vectors[j * d + m]!;
    out[i * d + j] = s;
  }
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) out[j * d + i] = out[i * d + j]!;
  return out;
}

const spec = (scale: Float64Array, maxCondition = 1e5, varianceFloor = 1e-6, featureFloor: Float64Array | null = null): ConstraintSpec =>
  ({ policy: 'unit-invariant', scale, maxCondition, varianceFloor, featureFloor });

describe("the 'unit-invariant' constraint", () => {
  it('equals S · mlpack-style clamp(S⁻¹ Σ S⁻¹) · S', () => {
    const rng = new Rng(1);
    const d = 5;
    const s = Float64Array.from({ length: d }, () => 10 ** (4 * rng.nextFloat() - 2));
    const scaledCov = randomSpd(rng, d, 8); // condition 1e8 in scaled units: the clamp acts
    const cov = Float64Array.from(scaledCov, (v, i) => v * s[Math.floor(i / d)]! * s[i % d]!);
    applyConstraint(spec(s, 1e5, 1e-50), false, cov, 1, d);
    const want = Float64Array.from(scaledCov);
    applyMlpackFull(want, d); // mlpack's rule with its 1e5 and 1e-50 on the scaled covariance
    const got = Float64Array.from(cov, (v, i) => v / (s[Math.floor(i / d)]! * s[i % d]!));
    expect(maxRelErr(got, want)).toBeLessThan(1e-12);
    const { values } = symmetricEigen(got, d);
    expect(values[d - 1]! / values[0]!).toBeLessThan(1e5 * (1 + 1e-9));
  });

  it('commutes with rescaling the features', () => {
    const rng = new Rng(2);
    const d = 4;
    const s = Float64Array.from({ length: d }, () => 0.5 + rng.nextFloat());
    const cov = randomSpd(rng, d, 9);
    const c = [1e-3, 1, 30, 1e3];
    const moved = Float64Array.from(cov, (v, i) => v * c[Math.floor(i / d)]! * c[i % d]!);
    const floor = Float64Array.from({ length: d }, (_, j) => (j === 2 ? 1e-3 : 0));
    applyConstraint(spec(s, 1e6, 1e-8, floor), false, cov, 1, d);
    applyConstraint(spec(Float64Array.from(s, (v, j) => v * c[j]!), 1e6, 1e-8, Float64Array.from(floor, (v, j) => v * c[j]! * c[j]!)), false, moved, 1, d);
    const back = Float64Array.from(moved, (v, i) => v / (c[Math.floor(i / d)]! * c[i % d]!));
    expect(maxRelErr(back, cov)).toBeLessThan(1e-12);
  });

  it('leaves a covariance that satisfies the rule unchanged, and fixes a negative one', () => {
    const d = 3;
    const s = Float64Array.of(1, 100, 0.01);
    const ok = Float64Array.of(1, 20, 0.001, 20, 1e4, 0.1, 0.001, 0.1, 1e-4);
    const copy = Float64Array.from(ok);
    applyConstraint(spec(s), false, ok, 1, d);
    expect(Array.from(ok)).toEqual(Array.from(copy));
    const bad = Float64Array.of(1, 0, 0, 0, -5, 0, 0, 0, 1e-4);
    applyConstraint(spec(s), false, bad, 1, d);
    const { values } = symmetricEigen(Float64Array.from(bad, (v, i) => v / (s[Math.floor(i / d)]! * s[i % d]!)), d);
    expect(values[0]!).toBeGreaterThan(0);
  });

  it('diagonal: the same rule per variance', () => {
    const s = Float64Array.of(1, 1e3, 1e-3);
    const v = Float64Array.of(0.5, 0, 1e-20); // scaled: 0.5, 0, 1e-14
    applyConstraint(spec(s, 1e4, 1e-6, Float64Array.of(0, 0, 2e-7)), true, v, 1, 3);
    expect(v[0]).toBe(0.5);
    expect(v[1]).toBeCloseTo((0.5 / 1e4) * 1e6, 6);
    expect(v[2]).toBeCloseTo(2e-7, 18);
  });
});

describe('clampLevelOf: the sharpest clamp a model needs, in ladder steps of × 10', () => {
  it('recovers the level a model was clamped at, caps it, and does not depend on the units', () => {
    const rng = new Rng(3);
    const d = 4;
    const s = Float64Array.of(2, 1e-3, 50, 1);
    const c = Float64Array.of(1e3, 1e-3, 7, 1);
    for (const diagonal of [false, true]) {
      const levels: number[] = [];
      const moved: number[] = [];
      for (const level of [0, 1, 2, 3]) {
        // Two components: one far inside the limits, one clamped at maxCondition·10^level.
        const k = 2;
        const cov = new Float64Array(k * (diagonal ? d : d * d));
        const inside = randomSpd(rng, d, 2);
        const sharp = randomSpd(rng, d, 12);
        for (const [comp, m] of [[0, inside], [1, sharp]] as const) {
          // Diagonal: variances spread over 2 and 12 decades in scaled units.
          if (diagonal) for (let j = 0; j < d; j++) cov[comp * d + j] = 10 ** (-(comp === 0 ? 2 : 12) * (j / (d - 1))) * s[j]! * s[j]!;
          else for (let i = 0; i < d * d; i++) cov[comp * d * d + i] = m[i]! * s[Math.floor(i / d)]! * s[i % d]!;
        }
        applyConstraint(spec(s, 1e6 * 10 ** level, 1e-8 / 10 ** level), diagonal, cov, k, d);
        levels.push(clampLevelOf(spec(s, 1e6, 1e-8), diagonal, [0.5, 0.5], cov, k, d));
        // The same model in other units, measured with the scales in those units.
        const sc = Float64Array.from(s, (v, j) => v * c[j]!);
        const cc = Float64Array.from(cov, (v, i) => (diagonal ? v * c[i % d]! ** 2 : v * c[Math.floor((i % (d * d)) / d)]! * c[i % d]!));
        moved.push(clampLevelOf(spec(sc, 1e6, 1e-8), diagonal, [0.5, 0.5], cc, k, d));
        // A component of weight 0 (no M-step touches it) does not count.
        expect(clampLevelOf(spec(s, 1e6, 1e-8), diagonal, [1, 0], cov, k, d)).toBe(0);
      }
      expect(levels, diagonal ? 'diagonal' : 'full').toEqual([0, 1, 2, 3]);
      expect(moved).toEqual(levels);
    }
  });

  it('a covariance no level accepts (not positive definite) needs Infinity; the D ≥ 8 pre-check changes nothing', () => {
    const d = 9;
    const s = Float64Array.from({ length: d }, (_, j) => 1 + j);
    const rng = new Rng(4);
    const inside = randomSpd(rng, d, 3);
    const sharp = randomSpd(rng, d, 10);
    const cov = new Float64Array(2 * d * d);
    for (let i = 0; i < d * d; i++) {
      cov[i] = inside[i]! * s[Math.floor(i / d)]! * s[i % d]!;
      cov[d * d + i] = sharp[i]! * s[Math.floor(i / d)]! * s[i % d]!;
    }
    // Condition 1e10 against maxCondition 1e6: level 4 (the well-conditioned component passes the pre-check).
    expect(clampLevelOf(spec(s, 1e6, 1e-12), false, [0.5, 0.5], cov, 2, d)).toBe(4);
    expect(clampLevelOf(spec(s, 1e6, 1e-12), false, [0.5, 0], cov, 2, d)).toBe(0);
    cov[d * d] = -cov[d * d]!;
    expect(clampLevelOf(spec(s, 1e6, 1e-12), false, [0.5, 0.5], cov, 2, d)).toBe(Infinity);
  });
});

describe('the Cholesky pre-check (D ≥ 8): the same result as the eigendecomposition, bit for bit', () => {
  /** V diag(λ) Vᵀ for a random orthogonal V, with λmax = 1, λmin as given, the rest in [0.1, 1]. */
  function withSmallest(rng: Rng, d: number, lmin: number): Float64Array {
    const a = new Float64Array(d * d);
    for (let i = 0; i < d * d; i++) a[i] = rng.nextNormal();
    const { vectors } = symmetricEigen(Float64Array.from(a, (_, i) => a[i]! + a[(i % d) * d + Math.floor(i / d)]!), d);
    const lambda = Array.from({ length: d }, (_, i) => (i === 0 ? lmin : i === d - 1 ? 1 : 0.1 + 0.9 * rng.nextFloat()));
    const out = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) {
      let t = 0;
      for (let m = 0; m < d; m++) t += vectors[i * d + m]! * lambda[m]! * vectors[j * d + m]!;
      out[i * d + j] = out[j * d + i] = t;
    }
    return out;
  }

  // The threshold each policy raises eigenvalues to: λmax / maxCondition (λmax = 1 here).
  const policies: [string, (c: Float64Array, d: number) => void, number][] = [
    ["'mlpack'", (c, d) => applyMlpackFull(c, d, 0), 1e-5],
    ["'unit-invariant'", (c, d) => applyConstraint(spec(new Float64Array(d).fill(1), 1e7, 1e-9), false, c, 1, d), 1e-7],
  ];
  it.each(policies)('%s: left alone when no eigenvalue is near the threshold or just above it; raised to it just below', (_name, apply, threshold) => {
    const rng = new Rng(77);
    for (const d of [8, 24, 60]) {
      // Far above (the Cholesky check decides), just above (it cannot: the eigendecomposition
      // decides), just below (raised).
      for (const factor of [1e3, 1.5, 0.5]) {
        const a = withSmallest(rng, d, factor * threshold);
        const c = Float64Array.from(a);
        apply(c, d);
        if (factor > 1) {
          expect(c.every((v, i) => Object.is(v, a[i])), `d ${d}, λmin ${factor} × threshold`).toBe(true);
        } else {
          const { values } = symmetricEigen(Float64Array.from(c), d);
          expect(Math.abs(values[0]! / threshold - 1), `d ${d}`).toBeLessThan(1e-6);
        }
      }
    }
  });
});

describe('symmetricEigen', () => {
  it('refuses a non-finite matrix with a numerical error, not a TypeError from ml-matrix', () => {
    for (const bad of [NaN, Infinity]) {
      expect(() => symmetricEigen(Float64Array.of(1, 0, 0, bad), 2)).toThrow(/a covariance matrix holds (NaN|Infinity) \(entry 1, 1\)/);
    }
  });

  it('the Jacobi fallback: A·v = λ·v and the same eigenvalues as the QL solver on random symmetric matrices', () => {
    const rng = new Rng(12);
    for (const d of [1, 2, 5, 17]) {
      const a = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) a[i * d + j] = a[j * d + i] = rng.nextNormal() * (i === j ? 3 : 1);
      const jac = jacobiEigen(a, d);
      const ql = symmetricEigen(a, d);
      const sorted = Array.from(jac.values).sort((x, y) => x - y);
      sorted.forEach((v, i) => expect(v).toBeCloseTo(ql.values[i]!, 11));
      for (let c = 0; c < d; c++) {
        for (let r = 0; r < d; r++) {
          let av = 0;
          for (let k = 0; k < d; k++) av += a[r * d + k]! * jac.vectors[k * d + c]!;
          expect(av).toBeCloseTo(jac.values[c]! * jac.vectors[r * d + c]!, 11);
        }
      }
    }
  });

  it('subnormal entries (a covariance of binary data, seen in training) are zeros, not a TypeError from ml-matrix', () => {
    // Captured from an M-step on 20000×6 binary data, K = 10: ml-matrix's QL iteration ran out of bounds.
    const s = 1.9634e-319, t = 3.673e-320;
    const a = new Float64Array(36);
    a[0] = 0.24316142064664273;
    a[4] = a[24] = -0.08498368842797409;
    a[28] = 0.16217620654884293;
    a[1] = a[6] = s;
    a[10] = a[25] = t;
    const { values, vectors } = symmetricEigen(a, 6);
    // The 2×2 block of features 0 and 4, and four zeros.
    const tr = a[0]! + a[28]!, det = a[0]! * a[28]! - a[4]! * a[4]!;
    const disc = Math.sqrt(tr * tr / 4 - det);
    expect(Array.from(values.slice(0, 4))).toEqual([0, 0, 0, 0]);
    expect(values[4]).toBeCloseTo(tr / 2 - disc, 15);
    expect(values[5]).toBeCloseTo(tr / 2 + disc, 15);
    for (let c = 0; c < 6; c++) {
      let norm = 0;
      for (let r = 0; r < 6; r++) norm += vectors[r * 6 + c]! ** 2;
      expect(norm).toBeCloseTo(1, 12);
    }
  });
});

describe('snap: scaled coordinates rounded to the 2^-40 grid', () => {
  it('is Math.round(v·2^40)/2^40 exactly — ties upward, the sign of zero — on the fast path and beyond it', () => {
    const S = 2 ** 40;
    const G = 1 / S;
    const reference = (v: number) => Math.round(v * S) / S;
    const values: number[] = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE];
    // Around grid points and midpoints (ties) near 0, 1, the fast path's limit 2048 and beyond it.
    for (const base of [0, 1e-12, 0.5, 1, 3.7, 2047, 2047.75, 2048, 1e6]) {
      for (let k = -12; k <= 12; k++) values.push(base + (k * G) / 2, -(base + (k * G) / 2), base + (k * G) / 4);
    }
    const rng = new Rng(8);
    for (let i = 0; i < 200_000; i++) {
      const v = (rng.nextFloat() - 0.5) * 10 ** (rng.nextInt(9) - 4);
      values.push(v, Math.round(v * 2 * S) / (2 * S));
    }
    for (const v of values) expect(Object.is(snap(v), reference(v)), `${v}`).toBe(true);
  });
});

describe('feature scales', () => {
  it('range, mean, near-constant floor; they move with the units', () => {
    const rows = [[0, 1, 5], [0, 3, 5], [0, 2, 5], [2, 7, 5], [0, 2, 5], [0, 5, 5]];
    const n = rows.length, d = 3;
    const data = Float64Array.from(rows.flat());
    const f = featureScales(data, n, d, null);
    expect(Array.from(f.scale)).toEqual([2, 6, 4]); // the constant feature borrows the median range (2, 6 → 4)
    expect(f.constantFeatures).toEqual([2]);
    expect(f.mean[0]).toBeCloseTo(2 / 6, 15);
    expect(Array.from(f.origin)).toEqual([0, 1, 5]); // the least values
    // Feature 0: one point off the majority value 0, by 2: M₂ = 4/6, floor M₂·e^(−1/κ).
    expect(f.floor[0]).toBeCloseTo((4 / 6) * Math.exp(-1 / RARE_DEVIATIONS), 15);
    expect(f.floor[1]).toBe(0); // no majority value
    expect(f.floor[2]).toBe(0);
    const c = [1e3, 1e-2, 7], b = [-5, 3, 1];
    const moved = Float64Array.from(data, (v, i) => c[i % d]! * v + b[i % d]!);
    const g = featureScales(moved, n, d, null);
    for (let j = 0; j < 2; j++) {
      expect(g.scale[j]! / f.scale[j]!).toBeCloseTo(c[j]!, 9);
      expect(g.floor[j]!).toBeCloseTo(f.floor[j]! * c[j]! * c[j]!, 9);
    }
  });

  it('the constraint\'s unit: the range, or OUTLIER_SPREAD × the IQR when a few values stretch the range', () => {
    const rng = new Rng(8);
    const n = 5000;
    const data = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      data[i * 2] = rng.nextNormal();
      data[i * 2 + 1] = rng.nextNormal();
    }
    data[2 * 17 + 1] = 1e6; // one sentinel in feature 1
    const f = featureScales(data, n, 2, null);
    expect(f.constraintScale[0]).toBe(f.scale[0]); // Gaussian: range ≈ 7 IQRs, far below the cap
    expect(f.scale[1]).toBeGreaterThan(1e6);
    // IQR of a standard normal ≈ 1.349.
    expect(f.constraintScale[1]! / OUTLIER_SPREAD).toBeGreaterThan(1.25);
    expect(f.constraintScale[1]! / OUTLIER_SPREAD).toBeLessThan(1.45);
    // Moves with the units (c·x + b → c·unit), so the fit stays unit-invariant.
    const g = featureScales(data.map((v, k) => (k % 2 ? 1e-4 * v + 3 : v)), n, 2, null);
    expect(g.constraintScale[1]! / f.constraintScale[1]!).toBeCloseTo(1e-4, 12);
    // Weighted quartiles: weight 0 on the sentinel removes it, and the unit is the range again.
    const w = new Float64Array(n).fill(2);
    w[17] = 0;
    const h = featureScales(data, n, 2, w);
    expect(h.constraintScale[1]).toBe(h.scale[1]);
  });

  it('weights count as copies, in units of their mean; weight-0 points are ignored', () => {
    const data = Float64Array.of(0, 0, 0, 4, 100, 0);
    // Mean positive weight 1: the weight-2 point is exactly a duplicated one.
    const w = Float64Array.of(1, 2, 0.5, 1, 0, 0.5);
    const f = featureScales(data, 6, 1, w);
    const dup = featureScales(Float64Array.of(0, 0, 0, 0, 4), 5, 1, null);
    expect(f.scale[0]).toBe(4);
    expect(f.floor[0]).toBe(dup.floor[0]);
    expect(f.mean[0]).toBe(dup.mean[0]);
    expect(f.origin[0]).toBe(dup.origin[0]);
    expect(f.minDeviating).toBe(dup.minDeviating);
    // Only the weights' ratios count: probabilities (summing to 1) or any multiple give the same.
    for (const c of [1 / 5, 1e-3, 7]) {
      const g = featureScales(data, 6, 1, w.map((x) => x * c));
      expect(g.floor[0]).toBeCloseTo(f.floor[0]!, 14);
      expect(g.minDeviating).toBeCloseTo(f.minDeviating, 12);
    }
  });

  it('many points (several scan blocks): weights as copies, and a majority value found across blocks', () => {
    // d = 3 and 9000 points span several of the scan's blocks. Feature 0 is 0 except every 97th
    // point (nearly constant), feature 1 continuous, feature 2 constant; weights 0–3 (0 = absent).
    const n = 9000, d = 3;
    const rng = new Rng(4);
    const data = new Float64Array(n * d);
    const w = new Float64Array(n);
    const copies: number[] = [];
    for (let i = 0; i < n; i++) {
      data[i * d] = i % 97 === 5 ? 1 + (i % 3) : 0;
      data[i * d + 1] = rng.nextNormal() * 3 + 10;
      data[i * d + 2] = -2;
      w[i] = i % 4;
      for (let r = 0; r < w[i]!; r++) copies.push(data[i * d]!, data[i * d + 1]!, data[i * d + 2]!);
    }
    let positive = 0, weightSum = 0;
    for (let i = 0; i < n; i++) if (w[i]! > 0) (positive++, (weightSum += w[i]!));
    const meanWeight = weightSum / positive; // 2: deviating points are counted in units of it
    const f = featureScales(data, n, d, w);
    const g = featureScales(Float64Array.from(copies), copies.length / d, d, null);
    // Reference values by a direct computation over the weighted points.
    let total = 0, sum1 = 0, lo1 = Infinity, hi1 = -Infinity, off0 = 0, m2 = 0;
    for (let i = 0; i < n; i++) {
      if (w[i] === 0) continue;
      total += w[i]!;
      const x0 = data[i * d]!, x1 = data[i * d + 1]!;
      sum1 += w[i]! * x1;
      lo1 = Math.min(lo1, x1);
      hi1 = Math.max(hi1, x1);
      if (x0 !== 0) {
        off0 += w[i]!;
        m2 += w[i]! * x0 * x0;
      }
    }
    expect(f.mean[1]).toBeCloseTo(sum1 / total, 12);
    expect(f.origin[1]).toBe(lo1);
    expect(f.scale[1]).toBe(hi1 - lo1);
    expect(f.constantFeatures).toEqual([2]);
    expect(f.minDeviating).toBe(0); // the constant feature deviates nowhere
    expect(f.floor[0]).toBeCloseTo((m2 / total) * Math.exp(-off0 / meanWeight / RARE_DEVIATIONS), 15);
    for (let j = 0; j < d; j++) expect(f.scale[j]).toBeCloseTo(g.scale[j]!, 12);
    // Only the ratios of the weights count.
    const h = featureScales(data, n, d, w.map((x) => x / meanWeight));
    expect(h.floor[0]).toBeCloseTo(f.floor[0]!, 14);
    for (let j = 0; j < d; j++) expect(f.mean[j]).toBeCloseTo(g.mean[j]!, 12);
    for (let j = 0; j < d; j++) expect(f.origin[j]).toBe(g.origin[j]);
  });
});

describe('rules pinned by a mutation audit', () => {
  it("'mlpack', diagonal: variances below the largest / 1e5 rise to it (mlpack's PositiveDefiniteConstraint)", () => {
    const v = Float64Array.of(4, 1e-7, 2);
    applyConstraint(MLPACK_CONSTRAINT, true, v, 1, 3);
    expect(Array.from(v)).toEqual([4, 4e-5, 2]);
  });

  it("a constant feature's constraint unit is the median of the others' (outlier-stretched ones included)", () => {
    const rng = new Rng(8);
    const n = 5000;
    const d = 3;
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      data[i * d] = rng.nextNormal();
      data[i * d + 1] = rng.nextNormal();
      data[i * d + 2] = 5;
    }
    data[17 * d + 1] = 1e6; // feature 1's unit becomes 1000 IQRs, not its range
    const f = featureScales(data, n, d, null);
    expect(f.constraintScale[1]).toBeLessThan(f.scale[1]!);
    expect(f.constraintScale[2]).toBe(0.5 * (f.constraintScale[0]! + f.constraintScale[1]!));
  });

  it('a feature without a value holding more than half of the weight gets no near-constant floor', () => {
    expect(featureScales(Float64Array.of(0, 0, 1, 1), 4, 1, null).floor[0]).toBe(0);
  });
});
