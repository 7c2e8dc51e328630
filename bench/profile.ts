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
 * --help: this text.
 */
import { acquireGpu, setGpuProvider } from '../src/backends/webgpu/device.js';
import { nodeGpuProvider } from '../src/backends/webgpu/node-gpu.js';
import { WebGpuBackend } from '../src/backends/webgpu/webgpu-backend.js';
import { mixtureParams } from '../src/train/em.js';
import { median, syntheticProblem } from './synthetic.js';
import { SHADERS } from '../src/backends/webgpu/shaders.generated.js';
import { readFileSync } from 'node:fs';

if (process.argv.includes('--help')) {
  console.log('usage: node --import tsx bench/profile.ts [--n 1000000] [--d 8] [--k 8] [--cov full|diagonal] [--passes 5] [--split] [--no-subgroups] [--weights] [--shader name=file.wgsl]...');
  process.exit(0);
}
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const n = Number(arg('n', '1000000')), d = Number(arg('d', '8')), k = Number(arg('k', '8'));
const cov = arg('cov', 'full') as 'full' | 'diagonal';
const passes = Number(arg('passes', '5'));
// --shader name=file.wgsl: try a variant of a kernel without rebuilding (A/B comparisons).
for (let i = 0; i < process.argv.length; i++) {
  if (process.argv[i] !== '--shader') continue;
  const [name, file] = process.argv[i + 1]!.split('=');
  (SHADERS as Record<string, string>)[name!] = readFileSync(file!, 'utf8');
}

const { data, model } = syntheticProblem(n, d, k, cov);
const params = mixtureParams(model);

setGpuProvider(nodeGpuProvider);
const gpu = await acquireGpu();
if (!gpu) throw new Error('no WebGPU adapter');
const t0 = performance.now();
const weights = process.argv.includes('--weights') ? Float64Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : 0.25 + (i % 5))) : null;
const backend = await WebGpuBackend.create(gpu, { data, n, d }, weights, { k, covarianceType: cov, fused: !process.argv.includes('--split'), subgroups: !process.argv.includes('--no-subgroups') });
console.log(`${n}×${d} K=${k} ${cov}${weights ? ' weighted' : ''} on ${gpu.adapter}: setup ${(performance.now() - t0).toFixed(0)} ms, ${backend.chunkCount} chunk(s)`);
await backend.pass(params);
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
for (const [name, times] of Object.entries(backend.profile)) {
  const per = times.length / passes;
  console.log(`  ${name.padEnd(10)} ${(median(times) * per).toFixed(1)} ms (min ${(Math.min(...times) * per).toFixed(1)})`);
}
backend.dispose();
process.exit(0);
