/**
 * CPU backend benchmark: seconds per EM iteration (full and diagonal) and k-means seeding time.
 *
 *   npm run bench                       # 100k × 8, K = 8 (defaults)
 *   npm run bench -- --n 20000 --d 16 --k 6 --runs 5
 *
 * Prints a table and writes JSON under bench/results/. Medians over `runs` repetitions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { train, GaussianMixture } from '../src/index.js';
import { kmeans } from '../src/train/kmeans.js';
import { Rng } from '../src/util/rng.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const N = arg('n', 100_000), D = arg('d', 8), K = arg('k', 8), RUNS = arg('runs', 5), ITERS = arg('iters', 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** N points from K random well-spread Gaussians with random correlations. */
function makeData(seed: number): Float64Array {
  const rng = new Rng(seed);
  const centres = Array.from({ length: K }, () => Array.from({ length: D }, () => 10 * rng.nextNormal()));
  const chol = Array.from({ length: K }, () => Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => (j < i ? 0.3 * rng.nextNormal() : j === i ? 0.5 + rng.nextFloat() : 0))));
  const data = new Float64Array(N * D);
  const z = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const c = rng.nextInt(K);
    for (let j = 0; j < D; j++) z[j] = rng.nextNormal();
    for (let r = 0; r < D; r++) {
      let s = centres[c]![r]!;
      for (let j = 0; j <= r; j++) s += chol[c]![r]![j]! * z[j]!;
      data[n * D + r] = s;
    }
  }
  return data;
}

/** Floating-point operations of one E-step + statistics pass (multiply-add = 2). */
function flopsPerPass(full: boolean): number {
  const tri = (D * (D + 1)) / 2;
  const perComponent = full ? D + 2 * tri + 2 * D + 2 * tri : 3 * D + 2 * D + 2 * D;
  return N * K * (perComponent + 10);
}

async function emSecondsPerIteration(data: Float64Array, diagonal: boolean, start: GaussianMixture): Promise<number[]> {
  const perRun: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const stamps: number[] = [];
    await train({ data, rows: N, cols: D }, {
      gaussians: K, inputModel: start, diagonalCovariance: diagonal, maxIterations: ITERS, tolerance: 0, seed: 1,
      backend: 'cpu', onIteration: () => void stamps.push(performance.now()),
    });
    const gaps = stamps.slice(1).map((t, i) => (t - stamps[i]!) / 1000);
    perRun.push(median(gaps));
  }
  return perRun;
}

const data = makeData(2024);
const rows: { case: string; medianSeconds: number; runs: number[]; gflops?: number; iterations?: number[] }[] = [];

const kmTimes: number[] = [], kmIters: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t = performance.now();
  const km = await kmeans(data, N, D, K, new Rng(100 + r), { maxIterations: 1000 });
  kmTimes.push((performance.now() - t) / 1000);
  kmIters.push(km.iterations);
}
rows.push({ case: `k-means seeding (Hamerly), ${N}×${D}, K=${K}`, medianSeconds: median(kmTimes), runs: kmTimes, iterations: kmIters });

for (const diagonal of [false, true]) {
  const start = (await train({ data, rows: N, cols: D }, { gaussians: K, seed: 7, maxIterations: 1, diagonalCovariance: diagonal })).model;
  const runs = await emSecondsPerIteration(data, diagonal, start);
  const med = median(runs);
  rows.push({
    case: `EM iteration, ${diagonal ? 'diagonal' : 'full'}, ${N}×${D}, K=${K}`,
    medianSeconds: med,
    runs,
    gflops: flopsPerPass(!diagonal) / med / 1e9,
  });
}

console.log(`\nwebgmm CPU backend (float64, one thread) — ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
console.log(`median of ${RUNS} runs; EM: median over ${ITERS} iterations within a run\n`);
console.log('| case | median s | GFLOP/s | runs (s) |');
console.log('|---|---:|---:|---|');
for (const r of rows) {
  console.log(`| ${r.case} | ${r.medianSeconds.toFixed(4)} | ${r.gflops ? r.gflops.toFixed(2) : '–'} | ${r.runs.map((x) => x.toFixed(4)).join(', ')} |`);
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', `cpu-em-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ n: N, d: D, k: K, runs: RUNS, iterations: ITERS, node: process.version, cpu: cpus()[0]?.model, date: new Date().toISOString(), rows }, null, 2));
console.log(`\nwrote ${out}`);
