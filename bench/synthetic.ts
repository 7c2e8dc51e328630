/**
 * The synthetic problem the kernel benchmarks share (profile.ts, latency.ts, cpu-threads.ts): K
 * unit-variance blobs at 3·sin(7c + j), points assigned round robin (Rng seed 1), and a stand-in
 * model with a component at each of the first K points (covariance 1.5 on the diagonal, 0.3 off
 * it for full). The same numbers in every script, so their timings compare.
 */
import { GaussianMixture } from '../src/model/gaussian-mixture.js';
import { Rng } from '../src/util/rng.js';

export function syntheticProblem(n: number, d: number, k: number, cov: 'full' | 'diagonal'): { data: Float64Array; model: GaussianMixture } {
  const rng = new Rng(1);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    for (let j = 0; j < d; j++) data[i * d + j] = 3 * Math.sin(c * 7 + j) + rng.nextNormal();
  }
  const means = Array.from({ length: k }, (_, c) => Array.from(data.subarray(c * d, (c + 1) * d)));
  const covariances = Array.from({ length: k }, () =>
    cov === 'full' ? Array.from({ length: d }, (_, r) => Array.from({ length: d }, (_, s) => (r === s ? 1.5 : 0.3))) : Array<number>(d).fill(1.5),
  );
  return { data, model: new GaussianMixture({ weights: Array(k).fill(1 / k), means, covariances: covariances as number[][][] }) };
}

export { median } from './options.js';
