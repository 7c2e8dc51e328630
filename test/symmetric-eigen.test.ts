// The flat-array eigensolver against ml-matrix's, which runs the same EISPACK/JAMA algorithm on
// its own storage: every eigenvalue and eigenvector entry must come out bit for bit the same, so
// that swapping the solver changed no fit (the 'mlpack' policy's parity included).
import { describe, it, expect } from 'vitest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { jacobiEigen, symmetricEigen } from '../src/util/linalg.js';
import { Rng } from '../src/util/rng.js';

/** Symmetric test matrices of many kinds: full rank, low rank, wide spectra, sparse, repeated eigenvalues, subnormal entries. */
function matrices(d: number, rng: Rng): Float64Array[] {
  const out: Float64Array[] = [];
  const gram = (rank: number, decades: number): Float64Array => {
    const b = Float64Array.from({ length: d * rank }, () => rng.nextNormal());
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < rank; k++) s += b[i * rank + k]! * b[j * rank + k]! * 10 ** ((decades * k) / rank);
        a[i * d + j] = a[j * d + i] = s;
      }
    }
    return a;
  };
  out.push(gram(d, 0), gram(d, 8), gram(Math.max(1, d >> 2), 2), gram(1, 0));
  const sparse = gram(d, 3);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) if (i !== j && (i * 7 + j * 7) % 3 === 0) sparse[i * d + j] = 0;
  out.push(sparse);
  out.push(Float64Array.from({ length: d * d }, (_, i) => (Math.floor(i / d) === i % d ? 1 + (i % 3) : 0))); // diagonal, repeated values
  out.push(Float64Array.from({ length: d * d }, (_, i) => (Math.floor(i / d) === i % d ? 2 : 1))); // 1·1ᵀ + I: one eigenvalue apart, the rest equal
  // Subnormal entries: among normal ones they are cleaned to zeros before the solver; a matrix
  // whose largest entry is subnormal too goes to the solver as it is.
  const tiny = gram(d, 1);
  for (let i = 0; i < d * d; i++) if (i % 5 === 1) tiny[i] = 1e-319;
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) tiny[i * d + j] = tiny[j * d + i]!;
  out.push(tiny);
  out.push(Float64Array.from(gram(d, 0), (v) => v * 1e-312));
  const indefinite = gram(d, 2);
  for (let i = 0; i < d; i++) indefinite[i * d + i] = indefinite[i * d + i]! - 3;
  out.push(indefinite);
  out.push(new Float64Array(d * d)); // zero
  return out;
}

describe('symmetricEigen', () => {
  it('gives ml-matrix\'s eigenvalues and eigenvectors bit for bit (d 1–70, eleven kinds of matrix)', () => {
    const rng = new Rng(31);
    let compared = 0;
    for (const d of [1, 2, 3, 4, 5, 7, 8, 9, 16, 23, 32, 33, 64, 70]) {
      for (const a of matrices(d, rng)) {
        const ours = symmetricEigen(a, d);
        // ml-matrix's own input, as symmetricEigen cleans it: entries below 2^-200 of the largest are zeros.
        const maxAbs = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const m = new Matrix(d, d);
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.set(i, j, Math.abs(a[i * d + j]!) < maxAbs * 2 ** -200 ? 0 : a[i * d + j]!);
        const ref = new EigenvalueDecomposition(m, { assumeSymmetric: true });
        const values = ref.realEigenvalues;
        for (let c = 0; c < d; c++) {
          expect(Object.is(ours.values[c], values[c]), `d ${d}: eigenvalue ${c}: ${ours.values[c]} vs ${values[c]}`).toBe(true);
          for (let r = 0; r < d; r++) {
            const want = ref.eigenvectorMatrix.get(r, c);
            if (!Object.is(ours.vectors[r * d + c], want)) expect.fail(`d ${d}: eigenvector ${c}, entry ${r}: ${ours.vectors[r * d + c]} vs ${want}`);
          }
        }
        compared++;
      }
    }
    expect(compared).toBe(14 * 11);
  });

  it('where the QL iteration fails (overflow: ±MAX_VALUE entries), the Jacobi fallback answers, as it did for ml-matrix\'s TypeError', () => {
    const M = Number.MAX_VALUE;
    const a = Float64Array.from([M, -M, M, -M, M, -M, M, -M, M]);
    const m = new Matrix(3, 3);
    for (let i = 0; i < 9; i++) m.set(Math.floor(i / 3), i % 3, a[i]!);
    expect(() => new EigenvalueDecomposition(m, { assumeSymmetric: true })).toThrow(TypeError);
    const ours = symmetricEigen(a, 3);
    const jacobi = jacobiEigen(a, 3);
    const order = [0, 1, 2].sort((x, y) => jacobi.values[x]! - jacobi.values[y]!);
    expect(Array.from(ours.values)).toEqual(order.map((i) => jacobi.values[i]!));
    for (let c = 0; c < 3; c++) for (let r = 0; r < 3; r++) expect(ours.vectors[r * 3 + c]).toBe(jacobi.vectors[r * 3 + order[c]!]);
  });

  it('A·v = λ·v and VᵀV = I to rounding, eigenvalues ascending', () => {
    const rng = new Rng(5);
    for (const d of [3, 17, 64]) {
      for (const a of matrices(d, rng).slice(0, 3)) {
        const { values, vectors } = symmetricEigen(a, d);
        const scale = Math.max(...Array.from(values, Math.abs));
        for (let c = 0; c < d; c++) {
          if (c > 0) expect(values[c]!).toBeGreaterThanOrEqual(values[c - 1]!);
          for (let r = 0; r < d; r++) {
            let av = 0;
            for (let k = 0; k < d; k++) av += a[r * d + k]! * vectors[k * d + c]!;
            expect(Math.abs(av - values[c]! * vectors[r * d + c]!)).toBeLessThan(1e-12 * d * scale);
          }
          for (let c2 = 0; c2 <= c; c2++) {
            let dot = 0;
            for (let k = 0; k < d; k++) dot += vectors[k * d + c]! * vectors[k * d + c2]!;
            expect(Math.abs(dot - (c === c2 ? 1 : 0))).toBeLessThan(1e-12 * d);
          }
        }
      }
    }
  });
});
