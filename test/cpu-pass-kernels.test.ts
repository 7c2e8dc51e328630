// The CPU pass's four-point kernels (cpuLogDensities*4, cpuAccumulate*4) against the
// one-point kernels they stand in for: the same values bit for bit, so a pass's sums do not depend
// on which points went four at a time (ranges of every length mod 4, starts off a multiple of 4,
// points whose every density underflows, zero and subnormal weights).
import { describe, it, expect } from 'vitest';
import {
  cpuLogDensitiesDiagonal, cpuLogDensitiesDiagonal4, cpuLogDensitiesFull, cpuLogDensitiesFull4, cpuPassRange, cpuPassScratch, cpuPassSums,
} from '../src/backends/cpu/pass-kernels.js';
import { Rng } from '../src/util/rng.js';

function problem(n: number, d: number, k: number, seed: number, full = true) {
  const rng = new Rng(seed);
  const data = new Float64Array(n * d).map(() => 3 * rng.nextNormal());
  // Points 2 and 4: every density underflows (as the third of four, and as the first).
  for (const i of [2, 4]) for (let j = 0; j < d; j++) data[i * d + j] = 1e200;
  const means = new Float64Array(k * d).map(() => rng.nextNormal());
  const precisions = new Float64Array(k * d * d);
  if (full) for (let c = 0; c < k; c++) for (let r = 0; r < d; r++) for (let j = 0; j <= r; j++) precisions[c * d * d + r * d + j] = r === j ? 0.5 + rng.nextFloat() : 0.3 * rng.nextNormal();
  else for (let i = 0; i < k * d; i++) precisions[i] = 0.2 + rng.nextFloat();
  const logWeights = new Float64Array(k).map(() => Math.log(rng.nextFloat()));
  const logDets = new Float64Array(k).map(() => rng.nextNormal());
  return { data, means, precisions, logWeights, logDets };
}

describe('CPU pass: log-densities and statistics four points at a time', () => {
  it.each([
    [1, 1, true], [3, 2, true], [8, 5, true], [13, 3, true], [64, 2, true],
    [1, 1, false], [3, 2, false], [13, 3, false], [64, 2, false],
  ])('D = %i, K = %i, full %s: log-densities equal to the one-point kernel, bit for bit', (d, k, full) => {
    const p = problem(8, d, k, d * 10 + k, full);
    const four = full ? cpuLogDensitiesFull4 : cpuLogDensitiesDiagonal4;
    const one1 = full ? cpuLogDensitiesFull : cpuLogDensitiesDiagonal;
    for (const first of [0, 4]) {
      const { lp, diff } = cpuPassScratch(k, d);
      four(p.data, first * d, k, d, p.logWeights, p.means, p.precisions, p.logDets, lp, diff);
      for (let q = 0; q < 4; q++) {
        const one = new Float64Array(k), oneDiff = new Float64Array(k * d);
        const max = one1(p.data, (first + q) * d, k, d, p.logWeights, p.means, p.precisions, p.logDets, one, oneDiff);
        expect(Array.from(lp.subarray(q * k, (q + 1) * k))).toEqual(Array.from(one));
        expect(Array.from(diff.subarray(q * k * d, (q + 1) * k * d))).toEqual(Array.from(oneDiff));
        expect(lp[4 * k + q]).toBe(max);
      }
    }
  });

  it.each([[1, 2, true], [5, 3, true], [13, 4, true], [1, 2, false], [5, 3, false], [13, 4, false]])('D = %i, K = %i, full %s: a pass sums the same bits whatever its range splits into fours', (d, k, full) => {
    const n = 23;
    const p = problem(n, d, k, 7 * d + k, full);
    // Zero weights, subnormal ones (their responsibilities underflow to 0) and ordinary ones.
    const weights = Float64Array.from({ length: n }, (_, i) => (i % 6 === 0 ? 0 : i % 7 === 0 ? 5e-324 : 1 + (i % 4)));
    const sums = (ranges: [number, number][], withStats = true) => {
      const acc = new Float64Array(cpuPassSums(k, d, full));
      const { lp, diff } = cpuPassScratch(k, d);
      for (const [lo, hi] of ranges) cpuPassRange(p.data, weights, full, k, d, p.logWeights, p.means, p.precisions, p.logDets, lo, hi, withStats, acc, 0, lp, diff);
      return Array.from(acc);
    };
    // One point per call is the one-point kernels throughout (cpuLogDensities*, cpuAccumulate*).
    const single = sums(Array.from({ length: n }, (_, i) => [i, i + 1] as [number, number]));
    expect(sums([[0, n]])).toEqual(single);
    expect(sums([[0, 1], [1, 6], [6, 13], [13, n]])).toEqual(single);
    expect(sums([[0, n]], false).slice(0, 2)).toEqual(single.slice(0, 2));
    expect(single[1]).toBe(2); // the underflowing points counted
  });
});
