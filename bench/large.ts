/**
 * A dataset larger than one storage binding (128 MiB on lavapipe and Chrome's default) trained
 * end to end on WebGPU: 5M × 8 float32 = 160 MB, so the backend must split it into chunks.
 *
 *   node --import tsx bench/large.ts [--n 5000000] [--d 8] [--k 8] [--iterations 10]
 *
 * Prints wall time per phase (per EM iteration: the median gap between iterations after the
 * first, which also warms up) and the peak resident memory; writes JSON under bench/results/.
 */
import { writeFileSync } from 'node:fs';
import { train } from '../src/node.js';
import { Rng } from '../src/util/rng.js';
import { median, parseOptions, reportFailures, resultsPath, UsageError } from './options.js';

const USAGE = 'usage: node --import tsx bench/large.ts [--n 5000000] [--d 8] [--k 8] [--iterations 10]';
reportFailures(USAGE);
const options = parseOptions(process.argv.slice(2), { n: 'value', d: 'value', k: 'value', iterations: 'value' }, USAGE);
const N = options.int('n', 5_000_000), D = options.int('d', 8), K = options.int('k', 8), ITERS = options.int('iterations', 10, 2);
if (K > N) throw new UsageError(`--k ${K} exceeds --n ${N}`);

const t0 = performance.now();
const rng = new Rng(11);
const centres = Array.from({ length: K }, () => Array.from({ length: D }, () => 8 * rng.nextNormal()));
const data = new Float64Array(N * D);
for (let n = 0; n < N; n++) {
  const c = centres[rng.nextInt(K)]!;
  for (let j = 0; j < D; j++) data[n * D + j] = c[j]! + rng.nextNormal();
}
const generated = performance.now() - t0;

const stamps: number[] = [];
const result = await train({ data, rows: N, cols: D }, {
  gaussians: K,
  seed: 3,
  maxIterations: ITERS,
  tolerance: 0,
  kmeansMaxIterations: 20,
  backend: 'webgpu',
  onIteration: () => void stamps.push(performance.now()),
});
// Gaps from iteration 1 on: the first one also compiles and warms the pipelines.
const perIteration = median(stamps.slice(2).map((t, i) => (t - stamps[i + 1]!) / 1000));
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const float32MiB = (N * D * 4) / 2 ** 20;
const report = {
  n: N, d: D, k: K, iterations: result.iterations, adapter: result.adapter,
  float32DataMiB: float32MiB, float64DataMiB: 2 * float32MiB,
  generateSeconds: generated / 1000,
  setupSeconds: result.timings.setup / 1000,
  initializationSeconds: result.timings.initialization / 1000,
  emSeconds: result.timings.em / 1000,
  secondsPerIteration: perIteration,
  totalTrainSeconds: result.timings.total / 1000,
  peakRssMiB,
  logLikelihood: result.logLikelihood,
};
console.log(`\n${N} × ${D}, K = ${K}, ${result.iterations} EM iterations on ${result.backend} (${result.adapter})`);
console.log(`data: float32 ${float32MiB.toFixed(0)} MiB (the input itself is float64: ${(2 * float32MiB).toFixed(0)} MiB)`);
console.log('| phase | seconds |\n|---|---:|');
console.log(`| generate data (not part of training) | ${(generated / 1000).toFixed(2)} |`);
console.log(`| setup (validation, upload) | ${(result.timings.setup / 1000).toFixed(2)} |`);
console.log(`| initialization (k-means, CPU) | ${(result.timings.initialization / 1000).toFixed(2)} |`);
console.log(`| EM (${result.iterations} iterations; median ${perIteration.toFixed(3)} s each) | ${(result.timings.em / 1000).toFixed(2)} |`);
console.log(`| train() total | ${(result.timings.total / 1000).toFixed(2)} |`);
console.log(`peak RSS ${peakRssMiB.toFixed(0)} MiB`);
const out = resultsPath('large');
writeFileSync(out, JSON.stringify(report, null, 2));
console.log(`wrote ${out}`);
process.exit(0);
