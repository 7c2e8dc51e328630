/**
 * Covariance constraints applied after every M-step and to the initial clusters.
 *
 * `'mlpack'` is mlpack's PositiveDefiniteConstraint, bit for bit in intent: symmetrize from the
 * upper triangle, eigendecompose, and if the smallest eigenvalue is negative, the condition number
 * exceeds 1e5, or the largest eigenvalue is below 1e-50, raise every eigenvalue to at least
 * max(λmax / 1e5, 1e-50) and rebuild V Λ Vᵀ. The diagonal form applies the same rule per variance.
 * Its thresholds are in the data's own units, so a feature measured in millimetres instead of
 * metres changes what it does.
 *
 * `'unit-invariant'` (the default) applies a rule of the same shape in per-feature scaled
 * coordinates: with S = diag(s_1 … s_D), s_d the range of feature d in the training data, or
 * 1000 interquartile ranges where outliers stretch the range beyond that (`constraintScale` of
 * `featureScales` in feature-scale.ts), it constrains Σ_s = S⁻¹ Σ S⁻¹ — the diagonal entry of a
 * nearly constant feature raised to its floor, then every eigenvalue raised to at least
 * max(λmax(Σ_s) / maxCondition, varianceFloor) — and maps back Σ = S Σ_s S. Rescaling a feature by
 * c multiplies its s_d by c (and its floor by c²), so Σ_s, the rule's decision and the fitted
 * model's shape do not depend on the units.
 */
import { choleskyInPlace, symmetricEigen } from '../util/linalg.js';

/** Which covariance constraint policy to apply. */
export type CovarianceConstraint = 'unit-invariant' | 'mlpack';
/** Every {@link CovarianceConstraint}, for option parsing and menus. */
export const COVARIANCE_CONSTRAINTS: readonly CovarianceConstraint[] = ['unit-invariant', 'mlpack'];
/** The policy `train()` and the CLI use when none is named. */
export const DEFAULT_COVARIANCE_CONSTRAINT: CovarianceConstraint = 'unit-invariant';

/**
 * `'unit-invariant'`: the largest allowed condition number of a covariance in scaled coordinates
 * (λmax(Σ_s) / λmin(Σ_s)). Chosen on bench/quality.ts (see bench/QUALITY.md): 1e5 (mlpack's number)
 * blurs exact linear relations and point masses that held-out data keep; 1e8 lets components
 * collapse onto pixels that are constant in a training split of the digits.
 */
export const DEFAULT_MAX_CONDITION = 1e7;
/**
 * `'unit-invariant'`: the smallest allowed eigenvalue of a covariance in scaled coordinates, i.e. a
 * variance floor relative to each feature's squared range (1e-9 × range² ≈ 1e-6 for a feature
 * spanning ±15: scikit-learn's reg_covar, made relative to the units).
 */
export const DEFAULT_VARIANCE_FLOOR = 1e-9;

const MAX_CONDITION = 1e5;
const MIN_EIGENVALUE = 1e-50;

/** Everything a constraint needs besides the covariances: the policy and, for `'unit-invariant'`, its scale and knobs. */
export interface ConstraintSpec {
  policy: CovarianceConstraint;
  /** `'unit-invariant'`: the D per-feature scales s_d > 0 (ignored by `'mlpack'`). */
  scale: Float64Array | null;
  maxCondition: number;
  varianceFloor: number;
  /** `'unit-invariant'`: D per-feature variance floors in the data's units (nearly constant features), or null. */
  featureFloor: Float64Array | null;
}

/** mlpack's constraint (needs no scale). */
export const MLPACK_CONSTRAINT: ConstraintSpec = { policy: 'mlpack', scale: null, maxCondition: MAX_CONDITION, varianceFloor: MIN_EIGENVALUE, featureFloor: null };

/**
 * True when every eigenvalue of the symmetric d×d matrix at `a[off…]` clearly exceeds both
 * ‖A‖_F / maxCondition and `floor` — then no rule here would change it — shown by a Cholesky
 * factorization of A − 2c·I (c the larger of the two; ‖A‖_F ≥ λmax), a third of an
 * eigendecomposition's work at most and far less in JavaScript (at D = 600 the eigendecomposition
 * takes 1.1 s, this 60 ms). The factor 2 leaves a margin far above rounding, so that where this
 * says yes, the eigendecomposition would not have raised anything either: the result is the same
 * bit for bit.
 * `work` is d×d scratch.
 */
function clearlyWithinLimits(a: Float64Array, d: number, off: number, maxCondition: number, floor: number, work: Float64Array): boolean {
  let squares = 0;
  for (let i = 0; i < d * d; i++) squares += a[off + i]! * a[off + i]!;
  const c = Math.max(Math.sqrt(squares) / maxCondition, floor);
  if (!(c > 0) || !Number.isFinite(c)) return false;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) work[i * d + j] = a[off + j * d + i]!;
    work[i * d + i] = work[i * d + i]! - 2 * c;
  }
  return choleskyInPlace(work, d, 0);
}

/** Matrices from this size up are checked by {@link clearlyWithinLimits} before any eigendecomposition. */
const PRECHECK_MIN_D = 8;

/** mlpack's PositiveDefiniteConstraint on the full d×d covariance at `cov[off…]`, in place. */
export function applyMlpackFull(cov: Float64Array, d: number, off = 0): void {
  // symmatu: the upper triangle is authoritative.
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) cov[off + j * d + i] = cov[off + i * d + j]!;
  // Every λ > 2·max(‖A‖_F / 1e5, 1e-50) ≥ 2·max(λmax / 1e5, 1e-50): nothing to raise.
  if (d >= PRECHECK_MIN_D && clearlyWithinLimits(cov, d, off, MAX_CONDITION, MIN_EIGENVALUE, new Float64Array(d * d))) return;
  const { values, vectors } = symmetricEigen(cov, d, off);
  const lmin = values[0]!;
  const lmax = values[d - 1]!;
  if (!(lmin < 0 || lmax / lmin > MAX_CONDITION || lmax < MIN_EIGENVALUE)) return;
  const floor = Math.max(lmax / MAX_CONDITION, MIN_EIGENVALUE);
  for (let i = 0; i < d; i++) if (values[i]! < floor) values[i] = floor;
  rebuild(cov, d, off, values, vectors);
}

/** mlpack's PositiveDefiniteConstraint for a diagonal covariance (d variances at `v[off…]`), in place. */
function applyMlpackDiagonal(v: Float64Array, d: number, off = 0): void {
  let vmax = -Number.MAX_VALUE;
  for (let j = 0; j < d; j++) if (v[off + j]! > vmax) vmax = v[off + j]!;
  const floor = Math.max(vmax / MAX_CONDITION, MIN_EIGENVALUE);
  for (let j = 0; j < d; j++) {
    const x = v[off + j]!;
    if (x < 0 || vmax / x > MAX_CONDITION || vmax < MIN_EIGENVALUE) v[off + j] = floor;
  }
}

/** cov[off…] = V diag(values) Vᵀ (symmetric by construction). */
function rebuild(cov: Float64Array, d: number, off: number, values: Float64Array, vectors: Float64Array): void {
  // Row i of V·diag(values), formed once: (v_im·λ_m)·v_jm is the product the sum always took.
  const scaled = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    for (let m = 0; m < d; m++) scaled[m] = vectors[i * d + m]! * values[m]!;
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let m = 0; m < d; m++) s += scaled[m]! * vectors[j * d + m]!;
      cov[off + i * d + j] = s;
      cov[off + j * d + i] = s;
    }
  }
}

/**
 * The unit-invariant constraint on the full d×d covariance at `cov[off…]`, in place: in scaled
 * coordinates Σ_s = S⁻¹ Σ S⁻¹, each diagonal entry is first raised to its feature's floor
 * (featureFloor_j / s_j², which keeps Σ_s positive semi-definite), then every eigenvalue below
 * max(λmax / maxCondition, varianceFloor) is raised to it, and Σ = S Σ_s S. A covariance that
 * already satisfies the rule is only symmetrized. `work` is d×d scratch.
 */
function applyUnitInvariantFull(
  cov: Float64Array,
  d: number,
  off: number,
  scale: Float64Array,
  maxCondition: number,
  varianceFloor: number,
  work: Float64Array = new Float64Array(d * d),
  featureFloor: Float64Array | null = null,
): void {
  scaledInto(work, cov, d, off, scale);
  let raised = false;
  if (featureFloor) {
    for (let j = 0; j < d; j++) {
      const f = featureFloor[j]! / (scale[j]! * scale[j]!);
      if (!(work[j * d + j]! >= f)) {
        work[j * d + j] = f;
        raised = true;
      }
    }
  }
  if (!raised && d >= PRECHECK_MIN_D && clearlyWithinLimits(work, d, 0, maxCondition, varianceFloor, new Float64Array(d * d))) {
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) cov[off + j * d + i] = cov[off + i * d + j]!;
    return;
  }
  const { values, vectors } = symmetricEigen(work, d, 0);
  let lmax = values[d - 1]!;
  if (!(lmax > 0) || !Number.isFinite(lmax)) lmax = 0;
  const floor = Math.max(lmax / maxCondition, varianceFloor);
  let raise = raised;
  for (let i = 0; i < d; i++) if (!(values[i]! >= floor)) raise = true;
  if (!raise) {
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) cov[off + j * d + i] = cov[off + i * d + j]!;
    return;
  }
  for (let i = 0; i < d; i++) if (!(values[i]! >= floor)) values[i] = floor;
  rebuild(work, d, 0, values, vectors);
  for (let i = 0; i < d; i++) {
    const si = scale[i]!;
    for (let j = i; j < d; j++) {
      const v = work[i * d + j]! * si * scale[j]!;
      cov[off + i * d + j] = v;
      cov[off + j * d + i] = v;
    }
  }
}

/** The unit-invariant constraint for a diagonal covariance (d variances at `v[off…]`), in place: the same rule per variance. */
function applyUnitInvariantDiagonal(
  v: Float64Array,
  d: number,
  off: number,
  scale: Float64Array,
  maxCondition: number,
  varianceFloor: number,
  featureFloor: Float64Array | null = null,
): void {
  if (featureFloor) {
    for (let j = 0; j < d; j++) if (!(v[off + j]! >= featureFloor[j]!)) v[off + j] = featureFloor[j]!;
  }
  let vmax = 0;
  for (let j = 0; j < d; j++) {
    const x = v[off + j]! / (scale[j]! * scale[j]!);
    if (x > vmax && Number.isFinite(x)) vmax = x;
  }
  const floor = Math.max(vmax / maxCondition, varianceFloor);
  for (let j = 0; j < d; j++) {
    const s2 = scale[j]! * scale[j]!;
    if (!(v[off + j]! / s2 >= floor)) v[off + j] = floor * s2;
  }
}

/** Applies `spec` to every component of a packed K×D×D (full) or K×D (diagonal) covariance array. */
export function applyConstraint(
  spec: ConstraintSpec,
  diagonal: boolean,
  covariances: Float64Array,
  k: number,
  d: number,
): void {
  switch (spec.policy) {
    case 'mlpack':
      for (let c = 0; c < k; c++) {
        if (diagonal) applyMlpackDiagonal(covariances, d, c * d);
        else applyMlpackFull(covariances, d, c * d * d);
      }
      return;
    case 'unit-invariant': {
      const scale = spec.scale;
      if (scale === null || scale.length !== d) throw new Error(`internal: the unit-invariant constraint needs ${d} feature scales`);
      const work = diagonal ? null : new Float64Array(d * d);
      for (let c = 0; c < k; c++) {
        if (diagonal) applyUnitInvariantDiagonal(covariances, d, c * d, scale, spec.maxCondition, spec.varianceFloor, spec.featureFloor);
        else applyUnitInvariantFull(covariances, d, c * d * d, scale, spec.maxCondition, spec.varianceFloor, work!, spec.featureFloor);
      }
      return;
    }
  }
}

/**
 * `'unit-invariant'`: the smallest j ≥ 0 at which the clamp with maxCondition × 10^j and
 * varianceFloor / 10^j would leave every covariance of a model unchanged (Infinity for a
 * covariance no level accepts: not positive definite). A model that a sharper clamp produced (the
 * wider search's choice, see `chooseByValidation` in train.ts) sits exactly on that clamp's
 * bounds, so this recovers its level; a warm start continues there instead of inflating what that
 * clamp allowed. Components of weight 0 are skipped: no M-step touches them. Measured in scaled
 * coordinates, so unit-invariant. Eigenvalues on a bound are computed back within rounding
 * (~ε·λmax), hence the slack, far below the factor 10 between levels. The nearly-constant feature
 * floor does not depend on the level and is not looked at.
 */
export function clampLevelOf(spec: ConstraintSpec, diagonal: boolean, weights: ArrayLike<number>, covariances: Float64Array, k: number, d: number): number {
  const scale = spec.scale;
  if (spec.policy !== 'unit-invariant' || scale === null || scale.length !== d) throw new Error('internal: clampLevelOf needs the unit-invariant constraint');
  // How far (as a factor) the clamp must be relaxed for each component's smallest eigenvalue to
  // pass: max(λmax / (maxCondition·λmin), varianceFloor / λmin).
  let need = 1;
  const work = new Float64Array(diagonal ? 0 : d * d);
  const check = new Float64Array(diagonal ? 0 : d * d);
  for (let c = 0; c < k; c++) {
    if (!(weights[c]! > 0)) continue;
    let lmin: number;
    let lmax: number;
    if (diagonal) {
      lmin = Infinity;
      lmax = 0;
      for (let j = 0; j < d; j++) {
        const x = covariances[c * d + j]! / (scale[j]! * scale[j]!);
        lmin = Math.min(lmin, x);
        lmax = Math.max(lmax, x);
      }
    } else {
      scaledInto(work, covariances, d, c * d * d, scale);
      // Most components are well inside the default's limits: a Cholesky factorization shows it.
      if (d >= PRECHECK_MIN_D && clearlyWithinLimits(work, d, 0, spec.maxCondition, spec.varianceFloor, check)) continue;
      const { values } = symmetricEigen(work, d, 0);
      lmin = values[0]!;
      lmax = values[d - 1]!;
    }
    const factor = lmin > 0 ? Math.max(lmax / (spec.maxCondition * lmin), spec.varianceFloor / lmin) : Infinity;
    need = Math.max(need, Number.isNaN(factor) ? Infinity : factor);
  }
  if (need === Infinity) return Infinity;
  const slack = 1e-3;
  let level = 0;
  while (need * (1 - slack) > 10 ** level) level++;
  return level;
}

/** work = S⁻¹ Σ S⁻¹ for the d×d covariance at `cov[off…]` (symmetric from its upper triangle). */
function scaledInto(work: Float64Array, cov: Float64Array, d: number, off: number, scale: Float64Array): void {
  for (let i = 0; i < d; i++) {
    const si = scale[i]!;
    for (let j = i; j < d; j++) {
      const v = cov[off + i * d + j]! / (si * scale[j]!);
      work[i * d + j] = v;
      work[j * d + i] = v;
    }
  }
}

/** A clamp knob for messages: 1e-9 / 100 is 1.0000000000000001e-11 in float64, shown as 1e-11. */
export function formatKnob(x: number): string {
  return Number(x.toPrecision(12)).toExponential();
}
