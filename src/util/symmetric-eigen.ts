/**
 * Householder tridiagonalization (tred2) and the implicit QL iteration (tql2) of EISPACK, in the
 * form JAMA gave them and ml-matrix 6.15 runs them, on one flat Float64Array instead of ml-matrix's
 * array of row arrays read through get/set: the same operations in the same order, so the same
 * eigenvalues and eigenvectors bit for bit (test/symmetric-eigen.test.ts checks it against
 * ml-matrix), in half the time at D = 64. The default covariance policy eigendecomposes every
 * component after every M-step, which made the eigensolver the largest host cost per iteration at
 * D = 64 (on an H200 it took more of an iteration than the GPU's whole pass).
 *
 * `v` holds the matrix transposed (v[j·n + i] = A[i][j]) on entry and the eigenvectors as its rows
 * on return (v[j·n + i] = component i of eigenvector j): tred2 and tql2 walk the eigenvectors
 * down columns, which that layout makes sequential (ml-matrix stores V the same way).
 */

/** √(a² + b²) without overflow, as ml-matrix computes it (the same bits). */
function hypotenuse(a: number, b: number): number {
  if (Math.abs(a) > Math.abs(b)) {
    const r = b / a;
    return Math.abs(a) * Math.sqrt(1 + r * r);
  }
  if (b !== 0) {
    const r = a / b;
    return Math.abs(b) * Math.sqrt(1 + r * r);
  }
  return 0;
}

/** Reduce to tridiagonal form: diagonal into `d`, subdiagonal into `e[1…]`, the transformation into `v`. */
function tred2(n: number, e: Float64Array, d: Float64Array, v: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = v[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale = scale + Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = v[j * n + i - 1]!;
        v[j * n + i] = 0;
        v[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h = h - f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const row = j * n;
        f = d[j]!;
        v[i * n + j] = f;
        g = e[j]! + v[row + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vjk = v[row + k]!;
          g += vjk * d[k]!;
          e[k] = e[k]! + vjk * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        const row = j * n;
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) v[row + k] = v[row + k]! - (f * e[k]! + g * d[k]!);
        d[j] = v[row + i - 1]!;
        v[row + i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    v[i * n + n - 1] = v[i * n + i]!;
    v[i * n + i] = 1;
    const h = d[i + 1]!;
    const next = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[next + k]! / h;
      for (let j = 0; j <= i; j++) {
        const row = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[next + k]! * v[row + k]!;
        for (let k = 0; k <= i; k++) v[row + k] = v[row + k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) v[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[j * n + n - 1]!;
    v[j * n + n - 1] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Diagonalize the tridiagonal matrix (d, e) by implicit QL, rotating `v`; eigenvalues ascending. */
function tql2(n: number, e: Float64Array, d: Float64Array, v: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      do {
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = hypotenuse(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f = f + h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = hypotenuse(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const upper = (i + 1) * n;
          const lower = i * n;
          for (let k = 0; k < n; k++) {
            const vu = v[upper + k]!;
            const vl = v[lower + k]!;
            v[upper + k] = s * vl + c * vu;
            v[lower + k] = c * vl - s * vu;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  // Selection sort, ascending.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i]!;
    for (let j = i + 1; j < n; j++) {
      if (d[j]! < p) {
        k = j;
        p = d[j]!;
      }
    }
    if (k !== i) {
      d[k] = d[i]!;
      d[i] = p;
      for (let j = 0; j < n; j++) {
        p = v[i * n + j]!;
        v[i * n + j] = v[k * n + j]!;
        v[k * n + j] = p;
      }
    }
  }
}

/**
 * Eigenvalues (ascending, into `values`) and eigenvectors of the symmetric n×n matrix whose
 * transpose `v` holds; on return row j of `v` is the eigenvector of values[j]. `scratch` is n
 * numbers. Non-finite results (the iteration can fail on matrices no cheap check predicts) are
 * the caller's to detect.
 */
export function tridiagonalQL(n: number, v: Float64Array, values: Float64Array, scratch: Float64Array): void {
  tred2(n, scratch, values, v);
  tql2(n, scratch, values, v);
}
