/**
 * Where a WebGPU EM iteration's time goes: the device's fixed costs (a submission's round trip,
 * error scopes, dispatches, read-back size, an idle gap before the submission) against one pass
 * of the backend, the host's M-step, and a whole iteration of train(), per case. For finding a
 * per-iteration floor before touching kernels: on a fast GPU a pass's kernels take microseconds,
 * so whatever else an iteration does is its time.
 *
 *   node --import tsx bench/latency.ts [--reps 100] [--quick]
 *
 * --reps R: repetitions per micro-measurement (passes: R/5, at least 5); medians are reported.
 * --quick: only the small case (2000 × 8) besides the micro-measurements.
 * --sweep: also a pass's time per case under a range of dispatch geometries (points per
 *   statistics workgroup × workgroups at most; E-step steps per invocation), for choosing an
 *   adapter class's defaults.
 * Prints a table; writes bench/results/latency-<ISO timestamp>.json.
 */
import { writeFileSync } from 'node:fs';
import { acquireGpu, setGpuProvider } from '../src/backends/webgpu/device.js';
import { nodeGpuProvider } from '../src/backends/webgpu/node-gpu.js';
import { WebGpuBackend, type DispatchGeometry } from '../src/backends/webgpu/webgpu-backend.js';
import { GaussianMixture } from '../src/model/gaussian-mixture.js';
import { mixtureParams } from '../src/train/em.js';
import { mStep } from '../src/train/m-step.js';
import { MLPACK_CONSTRAINT } from '../src/train/constraints.js';
import { train } from '../src/index.js';
import { median, syntheticProblem } from './synthetic.js';
import { EnvironmentError, parseOptions, reportFailures, resultsPath } from './options.js';

const USAGE = 'usage: node --import tsx bench/latency.ts [--reps 100] [--quick] [--sweep]';
reportFailures(USAGE);
const options = parseOptions(process.argv.slice(2), { reps: 'value', quick: 'flag', sweep: 'flag' }, USAGE);
const reps = options.int('reps', 100, 5);
const quick = options.flag('quick');
const sweep = options.flag('sweep');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

setGpuProvider(nodeGpuProvider);
const gpu = await acquireGpu();
if (!gpu) throw new EnvironmentError('no WebGPU adapter (on Linux without a GPU: Mesa\'s lavapipe, see the README)');
const device = gpu.device;
console.log(`adapter: ${gpu.adapter}`);

// ---- The device's fixed costs -------------------------------------------------------------
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const big = 1 << 20;
const src = device.createBuffer({ size: big, usage: STORAGE });
const staging = device.createBuffer({ size: big, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const module = device.createShaderModule({
  code: '@group(0) @binding(0) var<storage, read_write> b: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { b[g.x] = b[g.x] + 1.0; }',
});
const trivial = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const bind = device.createBindGroup({ layout: trivial.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }] });
const word = new Float32Array(4);

interface RoundTrip {
  bytes?: number;
  dispatches?: number;
  separatePasses?: boolean;
  scopes?: boolean;
  idleMs?: number;
  workDone?: boolean;
}
/** writeBuffer, `dispatches` trivial dispatches, a copy of `bytes` to the staging buffer, submit, wait. */
async function roundTrip(o: RoundTrip): Promise<number> {
  if (o.idleMs) await sleep(o.idleMs);
  const t0 = performance.now();
  const scopes: Promise<GPUError | null>[] = [];
  if (o.scopes) device.pushErrorScope('validation');
  device.queue.writeBuffer(src, 0, word);
  if (o.scopes) scopes.push(device.popErrorScope());
  const encoder = device.createCommandEncoder();
  const n = o.dispatches ?? 0;
  if (n > 0) {
    let pass = encoder.beginComputePass();
    for (let i = 0; i < n; i++) {
      if (i > 0 && o.separatePasses) {
        pass.end();
        pass = encoder.beginComputePass();
      }
      pass.setPipeline(trivial);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
  }
  if (!o.workDone) encoder.copyBufferToBuffer(src, 0, staging, 0, o.bytes ?? 16);
  if (o.scopes) device.pushErrorScope('validation');
  device.queue.submit([encoder.finish()]);
  if (o.scopes) scopes.push(device.popErrorScope());
  if (o.workDone) {
    await device.queue.onSubmittedWorkDone();
  } else {
    await staging.mapAsync(GPUMapMode.READ, 0, o.bytes ?? 16);
    new Float32Array(staging.getMappedRange(0, o.bytes ?? 16).slice(0));
    staging.unmap();
  }
  if (o.scopes) await Promise.all(scopes);
  return performance.now() - t0;
}

const micro: Record<string, RoundTrip> = {
  'submit + onSubmittedWorkDone': { workDone: true },
  'copy 16 B + mapAsync': {},
  'copy 16 B + mapAsync, error scopes': { scopes: true },
  'copy 1 MiB + mapAsync': { bytes: big },
  '1 dispatch + map': { dispatches: 1 },
  '16 dispatches, one pass + map': { dispatches: 16 },
  '16 dispatches, 16 passes + map': { dispatches: 16, separatePasses: true },
  'copy 16 B + mapAsync after 2 ms idle': { idleMs: 2 },
  'copy 16 B + mapAsync after 20 ms idle': { idleMs: 20 },
};
const rows: { what: string; ms: number; min: number }[] = [];
for (const [what, o] of Object.entries(micro)) {
  for (let i = 0; i < 5; i++) await roundTrip(o);
  const n = o.idleMs && o.idleMs >= 20 ? Math.max(5, reps >> 2) : reps;
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await roundTrip(o));
  rows.push({ what, ms: median(times), min: Math.min(...times) });
}
// A macrotask alone: what Dawn's polling (one ProcessEvents per setImmediate) adds at best.
{
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await new Promise((r) => setImmediate(r));
    times.push(performance.now() - t0);
  }
  rows.push({ what: 'setImmediate alone', ms: median(times), min: Math.min(...times) });
}
console.log('\n| fixed cost | median ms | min ms |\n|---|---:|---:|');
for (const r of rows) console.log(`| ${r.what} | ${r.ms.toFixed(3)} | ${r.min.toFixed(3)} |`);

// ---- Per case: a pass, the host's M-step, a whole iteration --------------------------------
interface Case {
  n: number;
  d: number;
  k: number;
  cov: 'full' | 'diagonal';
}
const cases: Case[] = [{ n: 2000, d: 8, k: 8, cov: 'full' }];
if (!quick) {
  cases.push(
    { n: 1_000_000, d: 8, k: 8, cov: 'full' },
    { n: 1_000_000, d: 8, k: 8, cov: 'diagonal' },
    { n: 100_000, d: 32, k: 16, cov: 'diagonal' },
    { n: 100_000, d: 32, k: 16, cov: 'full' },
  );
}
const caseRows: Record<string, unknown>[] = [];
const sweeps: Record<string, unknown>[] = [];
const SWEEP: Partial<DispatchGeometry>[] = [];
for (const statsPointsPerGroup of [32, 64, 128, 256]) {
  for (const maxStatsGroups of [1024, 4096, 16384]) SWEEP.push({ statsPointsPerGroup, maxStatsGroups, estepIterations: 1, maxEstepGroups: 4096, wideReduce: true, stageParams: true });
}
SWEEP.push({ statsPointsPerGroup: 64, maxStatsGroups: 4096, estepIterations: 2, maxEstepGroups: 4096, wideReduce: true, stageParams: true });
SWEEP.push({ statsPointsPerGroup: 64, maxStatsGroups: 4096, estepIterations: 1, maxEstepGroups: 16384, wideReduce: true, stageParams: true });
SWEEP.push({ statsPointsPerGroup: 64, maxStatsGroups: 1024, estepIterations: 1, maxEstepGroups: 4096, wideReduce: false, stageParams: true });
SWEEP.push({ statsPointsPerGroup: 2048, maxStatsGroups: 256, estepIterations: 8, maxEstepGroups: 4096, wideReduce: false, stageParams: false });
const label = (g: Partial<DispatchGeometry>) => `${g.statsPointsPerGroup}/${g.maxStatsGroups}/${g.estepIterations}/${g.maxEstepGroups}/${g.wideReduce ? 'wide' : 'serial'}/${g.stageParams ? 'staged' : 'unstaged'}`;

/** Median pass time (ms) under each geometry of SWEEP. */
async function sweepGeometries(data: Float64Array, c: Case, params: ReturnType<typeof mixtureParams>): Promise<Record<string, number>> {
  const backends = [];
  for (const geometry of SWEEP) backends.push(await WebGpuBackend.create(gpu!, { data, n: c.n, d: c.d }, null, { k: c.k, covarianceType: c.cov, geometry }));
  // Round robin after a warm-up, so that the GPU's clocks and the machine's load drift alike for all.
  const warm = performance.now();
  while (performance.now() - warm < 300) for (const b of backends) await b.pass(params);
  const times: number[][] = backends.map(() => []);
  for (let round = 0; round < 15; round++) {
    for (const [i, b] of backends.entries()) {
      const t0 = performance.now();
      await b.pass(params);
      times[i]!.push(performance.now() - t0);
    }
  }
  for (const b of backends) b.dispose();
  return Object.fromEntries(SWEEP.map((g, i) => [label(g), median(times[i]!)]));
}
console.log('\n| case | pass ms | profiled dispatches (ms, each to completion) | M-step ms | iteration ms | iteration − pass − M-step |\n|---|---:|---|---:|---:|---:|');
for (const c of cases) {
  const { n, d, k, cov } = c;
  const { data, model } = syntheticProblem(n, d, k, cov);
  const params = mixtureParams(model);
  const backend = await WebGpuBackend.create(gpu, { data, n, d }, null, { k, covarianceType: cov });
  const passReps = Math.max(5, Math.floor(reps / 5));
  let stats = (await backend.pass(params)).stats;
  const passes: number[] = [];
  for (let i = 0; i < passReps; i++) {
    const t0 = performance.now();
    stats = (await backend.pass(params)).stats;
    passes.push(performance.now() - t0);
  }
  const backendGeometry = backend.geometry;
  backend.profile = {};
  for (let i = 0; i < 5; i++) await backend.pass(params);
  const profiled = Object.entries(backend.profile).map(([name, t]) => `${name} ${(median(t) * (t.length / 5)).toFixed(2)}`).join(', ');
  backend.dispose();
  const msteps: number[] = [];
  for (let i = 0; i < passReps; i++) {
    const t0 = performance.now();
    const next = mStep(model, stats, { constraint: MLPACK_CONSTRAINT, forcePositive: true });
    mixtureParams(GaussianMixture.fromArrays(model.covarianceType, next.weights, next.means, next.covariances));
    msteps.push(performance.now() - t0);
  }
  const stamps: number[] = [];
  await train({ data, rows: n, cols: d }, {
    gaussians: k, inputModel: model, maxIterations: 12, tolerance: 0, seed: 1, backend: 'webgpu',
    diagonalCovariance: cov === 'diagonal',
    onIteration: () => void stamps.push(performance.now()),
  });
  const gaps = stamps.slice(2).map((t, i) => t - stamps[i + 1]!);
  if (sweep) sweeps.push({ ...c, passMs: await sweepGeometries(data, c, params) });
  const row = { geometry: backendGeometry, ...c, passMs: median(passes), passMinMs: Math.min(...passes), profiled, mStepMs: median(msteps), iterationMs: median(gaps), iterations: gaps.length };
  caseRows.push(row);
  console.log(`| ${n}×${d} K=${k} ${cov} | ${row.passMs.toFixed(3)} | ${profiled} | ${row.mStepMs.toFixed(3)} | ${row.iterationMs.toFixed(3)} | ${(row.iterationMs - row.passMs - row.mStepMs).toFixed(3)} |`);
}

if (sweep) {
  console.log(`\n| geometry (points per stats group / stats groups / E-step steps / E-step groups / reduction / large parameters) | ${sweeps.map((r) => `${r.n}×${r.d} K=${r.k} ${r.cov}`).join(' | ')} |`);
  console.log(`|---|${sweeps.map(() => '---:').join('|')}|`);
  for (const g of SWEEP) console.log(`| ${label(g)} | ${sweeps.map((r) => (r.passMs as Record<string, number>)[label(g)]!.toFixed(3)).join(' | ')} |`);
}
const out = resultsPath('latency');
writeFileSync(out, JSON.stringify({ adapter: gpu.adapter, reps, fixedCosts: rows, cases: caseRows, ...(sweep ? { sweeps } : {}) }, null, 1));
console.log(`\nwrote ${out}`);
process.exit(0);
