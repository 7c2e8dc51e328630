/**
 * Per-kernel profile of one WebGPU EM pass: each dispatch submitted alone and timed to completion,
 * plus the whole pass as training runs it. For finding the bottleneck before optimizing.
 *
 *   node --import tsx bench/profile.ts --n 1000000 --d 8 --k 8 --cov full [--passes 5] [--split]
 *
 * --split: the E-step and statistics as two kernels even where the fused kernel applies.
 * --no-subgroups: no subgroup operations, as on a device without them (implies the two kernels,
 *   and the split statistics kernels without subgroups).
 * --weights: per-point weights (0.25–4.25, every 7th point 0) instead of none.
 * --shader name=file.wgsl (repeatable): a variant of shaders/name.wgsl, for A/B runs.
 * --help: the usage. Prints per-kernel medians and writes JSON under bench/results/. Its "GFLOP/s
 * useful" counts the E-step's and the statistics' multiply-adds alone (2·N·K·D(D+1) full,
 * 4·N·K·D diagonal), not em.ts's per-iteration flop model: the two figures do not compare.
 */
import { acquireGpu, setGpuProvider } from '../src/backends/webgpu/device.js';
import { nodeGpuProvider } from '../src/backends/webgpu/node-gpu.js';
import { WebGpuBackend } from '../src/backends/webgpu/webgpu-backend.js';
import { mixtureParams } from '../src/train/em.js';
import { median, syntheticProblem } from './synthetic.js';
import { SHADERS } from '../src/backends/webgpu/shaders.generated.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { EnvironmentError, parseOptions, reportFailures, resultsPath, UsageError } from './options.js';

const USAGE =
  'usage: node --import tsx bench/profile.ts [--n 1000000] [--d 8] [--k 8] [--cov full|diagonal] [--passes 5] [--split] [--no-subgroups] [--weights] [--shader name=file.wgsl]...';
reportFailures(USAGE);
const options = parseOptions(
  process.argv.slice(2),
  { n: 'value', d: 'value', k: 'value', cov: 'value', passes: 'value', split: 'flag', 'no-subgroups': 'flag', weights: 'flag', shader: 'values' },
  USAGE,
);
const n = options.int('n', 1_000_000), d = options.int('d', 8), k = options.int('k', 8);
const cov = options.choice('cov', 'full', ['full', 'diagonal'] as const);
const passes = options.int('passes', 5);
if (k > n) throw new UsageError(`--k ${k} exceeds --n ${n}`);
// --shader name=file.wgsl: try a variant of a kernel without rebuilding (A/B comparisons).
const variants: Record<string, string> = {};
for (const spec of options.strings('shader')) {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  if (eq < 0 || !(name in SHADERS)) throw new UsageError(`--shader ${JSON.stringify(spec)}: expected name=file.wgsl with name one of ${Object.keys(SHADERS).join(', ')}`);
  variants[name] = spec.slice(eq + 1);
  try {
    (SHADERS as Record<string, string>)[name] = readFileSync(spec.slice(eq + 1), 'utf8');
  } catch (e) {
    throw new UsageError(`--shader ${JSON.stringify(spec)}: cannot read ${spec.slice(eq + 1)} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

const { data, model } = syntheticProblem(n, d, k, cov);
const params = mixtureParams(model);

setGpuProvider(nodeGpuProvider);
const gpu = await acquireGpu();
if (!gpu) throw new EnvironmentError('no WebGPU adapter (on Linux without a GPU: Mesa\'s lavapipe, see the README)');
const t0 = performance.now();
const weights = options.flag('weights') ? Float64Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : 0.25 + (i % 5))) : null;
const backend = await WebGpuBackend.create(gpu, { data, n, d }, weights, { k, covarianceType: cov, fused: !options.flag('split'), subgroups: !options.flag('no-subgroups') });
console.log(`${n}×${d} K=${k} ${cov}${weights ? ' weighted' : ''} on ${gpu.adapter}: setup ${(performance.now() - t0).toFixed(0)} ms, ${backend.chunkCount} chunk(s)`);
// Warm-up: passes for at least WARM_UP_MS. A hardware GPU idles at a fraction of its clock and
// takes a while to raise it: on an H200 (10M × 16 full, K = 16) the median of five passes right
// after one warm-up pass was 49.3 ms, of forty 10.8 ms (its kernels, each timed alone: 10.4).
const WARM_UP_MS = 500;
for (const start = performance.now(); performance.now() - start < WARM_UP_MS; ) await backend.pass(params);
const whole: number[] = [];
for (let i = 0; i < passes; i++) {
  const t = performance.now();
  await backend.pass(params);
  whole.push(performance.now() - t);
}
backend.profile = {};
for (let i = 0; i < passes; i++) await backend.pass(params);
const flops = 2 * n * k * (cov === 'full' ? d * (d + 1) : 2 * d); // E-step + statistics, FMA = 2
console.log(`whole pass: ${median(whole).toFixed(1)} ms (${(flops / median(whole) / 1e6).toFixed(2)} GFLOP/s useful)`);
const kernels: Record<string, { medianMs: number; minMs: number }> = {};
for (const [name, times] of Object.entries(backend.profile)) {
  const per = times.length / passes;
  kernels[name] = { medianMs: median(times) * per, minMs: Math.min(...times) * per };
  console.log(`  ${name.padEnd(10)} ${kernels[name]!.medianMs.toFixed(1)} ms (min ${kernels[name]!.minMs.toFixed(1)})`);
}
const out = resultsPath('profile');
writeFileSync(
  out,
  JSON.stringify(
    {
      n, d, k, cov, passes, adapter: gpu.adapter, chunks: backend.chunkCount,
      split: options.flag('split'), subgroups: !options.flag('no-subgroups'), weighted: weights !== null, shaderVariants: variants,
      wholePassMs: { median: median(whole), runs: whole }, usefulGflops: flops / median(whole) / 1e6, kernels,
    },
    null,
    2,
  ),
);
console.log(`wrote ${out}`);
backend.dispose();
process.exit(0);
