/**
 * k-means seeding against scikit-learn's KMeans(n_init=1) on the same data (default 1M × 8, K = 8).
 *
 *   node --import tsx bench/kmeans.ts [--n 1000000] [--d 8] [--k 8] [--spread 4] [--runs 3] [--compare MODULE]
 *
 * webgmm: mlpack's k-means (Hamerly-accelerated Lloyd, float64) from K points sampled as mlpack
 * samples them, to convergence; scikit-learn: from the same centroids with tol=0 (same start, same
 * stopping rule), and with its defaults (k-means++, tol=1e-4) as a user would run it.
 * Also webgmm's default seeding exactly as train() runs it under the default 'unit-invariant'
 * policy: feature scaling, the scaled copy, greedy k-means++ (with more than PLUSPLUS_MAX_POINTS
 * points, k-means++ and Lloyd on a uniform subsample of that many first) and Lloyd on all points until scikit-learn's
 * stopping rule holds (KMEANS_TOLERANCE, its tol=1e-4) — the number
 * to hold against scikit-learn's defaults — with k-means' helper threads, as the Node entry's
 * `useKMeansThreads()` installs them (the scaled copy is then made in shared memory), and on one thread. `--compare MODULE` adds the
 * same default seeding with another build of kmeans.ts (a module exporting kmeansFromCentroids and
 * sampledStartCentroids or, older, sampledPlusPlusCentroids or kmeansPlusPlusCentroids), run
 * alternately with ours for A/B timing.
 * Medians over runs, after one untimed run of each; prints a table and writes JSON under bench/results/.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { kmeansFromCentroids, sampledStartCentroids, sampleInitialCentroids } from '../src/train/kmeans.js';
import { setKMeansThreadProvider } from '../src/train/kmeans-parallel.js';
import { nodeKMeansThreads } from '../src/worker/kmeans-threads.js';
import { featureScales, scaledData } from '../src/train/feature-scale.js';
import { KMEANS_TOLERANCE } from '../src/train/train.js';
import { encodeNpy } from '../src/io/npy.js';
import { Rng } from '../src/util/rng.js';
import { findSklearnPython, lastLine, median, parseOptions, PYTHON_CANDIDATES, reportFailures, resultsPath, UsageError } from './options.js';

const USAGE = 'usage: node --import tsx bench/kmeans.ts [--n 1000000] [--d 8] [--k 8] [--spread 4] [--runs 3] [--compare MODULE]';
reportFailures(USAGE);
const options = parseOptions(process.argv.slice(2), { n: 'value', d: 'value', k: 'value', spread: 'value', runs: 'value', compare: 'value' }, USAGE);
/** scikit-learn's runs are killed after this long. */
const SKLEARN_TIMEOUT_MS = 600_000;
const N = options.int('n', 1_000_000), D = options.int('d', 8), K = options.int('k', 8), RUNS = options.int('runs', 3), SPREAD = options.positive('spread', 4);
if (K > N) throw new UsageError(`--k ${K} exceeds --n ${N}`);
const compareWith = options.string('compare');
/** The default seeding's start (seeds, or sample centroids) and Lloyd, from ours or another build. */
type Seeds = (data: Float64Array, n: number, d: number, k: number, rng: Rng) => Float64Array | Promise<Float64Array>;
type KMeansModule = { seeds: Seeds; kmeansFromCentroids: typeof kmeansFromCentroids };
type ModuleExports = {
  kmeansFromCentroids: typeof kmeansFromCentroids;
  sampledStartCentroids?: typeof sampledStartCentroids;
  sampledPlusPlusCentroids?: (data: Float64Array, n: number, d: number, k: number, rng: Rng) => Float64Array;
  kmeansPlusPlusCentroids?: (data: Float64Array, n: number, d: number, k: number, rng: Rng) => Float64Array;
};
const startOf = (m: ModuleExports): Seeds => {
  const start = m.sampledStartCentroids;
  if (start) return (data, n, d, k, rng) => start(data, n, d, k, rng, { maxIterations: 0, tolerance: KMEANS_TOLERANCE });
  const seeds = m.sampledPlusPlusCentroids ?? m.kmeansPlusPlusCentroids;
  if (!seeds) throw new UsageError(`--compare ${compareWith}: the module exports no k-means++ seeding (sampledStartCentroids, sampledPlusPlusCentroids or kmeansPlusPlusCentroids)`);
  return seeds;
};
async function importCompared(path: string): Promise<ModuleExports> {
  let m: ModuleExports;
  try {
    m = (await import(pathToFileURL(resolve(path)).href)) as ModuleExports;
  } catch (e) {
    throw new UsageError(`--compare ${path}: cannot import it (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  if (typeof m.kmeansFromCentroids !== 'function') throw new UsageError(`--compare ${path}: the module exports no kmeansFromCentroids (give a build's dist/train/kmeans.js)`);
  return m;
}
const other: ModuleExports | null = compareWith !== undefined ? await importCompared(compareWith) : null;
const baseline: KMeansModule | null = other ? { seeds: startOf(other), kmeansFromCentroids: other.kmeansFromCentroids } : null;

const rng = new Rng(5);
// Cluster centres ~ SPREAD · N(0, 1) per coordinate around unit-variance clusters (4: well separated;
// 1.5: overlapping, where Lloyd takes dozens of iterations).
const centres = Array.from({ length: K }, () => Array.from({ length: D }, () => SPREAD * rng.nextNormal()));
const data = new Float64Array(N * D);
for (let i = 0; i < N; i++) {
  const c = centres[rng.nextInt(K)]!;
  for (let j = 0; j < D; j++) data[i * D + j] = c[j]! + rng.nextNormal();
}
const start = sampleInitialCentroids(data, N, D, K, new Rng(9));

const inertiaOf = (assignments: ArrayLike<number>, centroids: Float64Array): number => {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const a = assignments[i]!;
    for (let j = 0; j < D; j++) sum += (data[i * D + j]! - centroids[a * D + j]!) ** 2;
  }
  return sum;
};

// The helper threads, as useKMeansThreads() installs them (started here, outside the timings).
setKMeansThreadProvider(nodeKMeansThreads);
const helpers = nodeKMeansThreads()?.helpers ?? 0;

const times: number[] = [];
let iterations = 0;
let inertia = 0;
// One untimed run first: the first one also compiles (0.227 against 0.132 s at 50k × 8).
await kmeansFromCentroids(data, N, D, Float64Array.from(start), K, { maxIterations: 0 });
for (let r = 0; r < RUNS; r++) {
  const t = performance.now();
  const km = await kmeansFromCentroids(data, N, D, Float64Array.from(start), K, { maxIterations: 0 });
  times.push((performance.now() - t) / 1000);
  iterations = km.iterations;
  inertia = inertiaOf(km.assignments, km.centroids);
}

/** webgmm's default seeding, timed from the raw data as train() starts it. */
interface Variant {
  label: string;
  threads: boolean;
  impl: KMeansModule;
  seconds: number[];
  iterations: number[];
  /** Per run, in raw units (the runs differ in their seeds: their optima can differ). */
  inertias: number[];
}
const ours: KMeansModule = { seeds: startOf({ kmeansFromCentroids, sampledStartCentroids }), kmeansFromCentroids };
const variants: Variant[] = [
  { label: `webgmm default seeding, ${helpers + 1} threads (scaling, k-means++, Lloyd to tol 1e-4)`, threads: true, impl: ours, seconds: [], iterations: [], inertias: [] },
  { label: 'webgmm default seeding, 1 thread', threads: false, impl: ours, seconds: [], iterations: [], inertias: [] },
];
if (baseline) variants.push({ label: `--compare ${compareWith} default seeding, 1 thread`, threads: false, impl: baseline, seconds: [], iterations: [], inertias: [] });
// Round −1 warms every variant up, untimed.
for (let r = -1; r < RUNS; r++) {
  for (const v of variants) {
    setKMeansThreadProvider(v.threads ? nodeKMeansThreads : null);
    const t = performance.now();
    const scaling = featureScales(data, N, D, null);
    // With the provider installed (as useKMeansThreads() does) the scaled copy is in shared memory.
    const scaled = scaledData(data, N, D, scaling);
    const seeds = await v.impl.seeds(scaled, N, D, K, new Rng(100 + r));
    const km = await v.impl.kmeansFromCentroids(scaled, N, D, seeds, K, { maxIterations: 0, tolerance: KMEANS_TOLERANCE });
    if (r < 0) continue;
    v.seconds.push((performance.now() - t) / 1000);
    v.iterations.push(km.iterations);
    // Centroids back in raw units, to compare inertia with scikit-learn's.
    const raw = new Float64Array(K * D);
    for (let c = 0; c < K; c++) for (let j = 0; j < D; j++) raw[c * D + j] = km.centroids[c * D + j]! * scaling.scale[j]! + scaling.origin[j]!;
    v.inertias.push(inertiaOf(km.assignments, raw));
  }
}
setKMeansThreadProvider(null);

const tmp = mkdtempSync(join(tmpdir(), 'webgmm-kmeans-'));
/** What bench/sklearn_kmeans.py prints (its last line), as read here; the JSON keeps all of it. */
interface SklearnKMeans {
  sklearn: string;
  sameStartSeconds: number;
  sameStartIterations: number;
  sameStartInertia: number;
  defaultSeconds: number;
  defaultIterations: number;
  defaultInertia: number;
}
let sk: SklearnKMeans | null = null;
try {
  writeFileSync(join(tmp, 'data.npy'), encodeNpy({ data, rows: N, cols: D }));
  writeFileSync(join(tmp, 'centroids.npy'), encodeNpy({ data: start, rows: K, cols: D }));
  const script = join(dirname(fileURLToPath(import.meta.url)), 'sklearn_kmeans.py');
  const python = findSklearnPython();
  if (!python) console.log(`notice: no Python with scikit-learn (tried ${PYTHON_CANDIDATES.join(', ')}; Debian: python3-sklearn): its rows are skipped`);
  // A hung Python (a BLAS deadlock, say) should cost its rows, not the bench.
  const r = python ? spawnSync(python, [script, join(tmp, 'data.npy'), join(tmp, 'centroids.npy'), String(RUNS)], { encoding: 'utf8', timeout: SKLEARN_TIMEOUT_MS }) : null;
  if (r?.status === 0) sk = JSON.parse(r.stdout.trim().split('\n').pop()!);
  else if (r?.error) console.error(`scikit-learn did not run: ${(r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `killed after ${SKLEARN_TIMEOUT_MS / 1000} s` : r.error.message}`);
  else if (r) console.error(`scikit-learn did not run: ${lastLine(r.stderr ?? '')}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const sameStart = median(times);
console.log(`k-means, ${N} × ${D}, K = ${K}, centres ${SPREAD}σ·N(0,1), medians of ${RUNS} runs; webgmm with ${helpers} helper thread${helpers === 1 ? '' : 's'} where it says so`);
console.log('| implementation | seconds | Lloyd iterations | s / iteration |');
console.log('|---|---:|---:|---:|');
console.log(`| webgmm (Hamerly, float64, ${helpers + 1} threads), same start | ${sameStart.toFixed(3)} | ${iterations} | ${(sameStart / iterations).toFixed(4)} |`);
for (const v of variants) {
  const s = median(v.seconds);
  const its = median(v.iterations);
  console.log(`| ${v.label} | ${s.toFixed(3)} | ${its} | ${(s / Math.max(1, its)).toFixed(4)} |`);
}
if (sk) {
  console.log(`| scikit-learn ${sk.sklearn} KMeans(n_init=1), same start, tol=0 | ${sk.sameStartSeconds.toFixed(3)} | ${sk.sameStartIterations} | ${(sk.sameStartSeconds / sk.sameStartIterations).toFixed(4)} |`);
  console.log(`| scikit-learn KMeans(n_init=1) defaults (k-means++, tol=1e-4) | ${sk.defaultSeconds.toFixed(3)} | ${sk.defaultIterations} | ${(sk.defaultSeconds / sk.defaultIterations).toFixed(4)} |`);
}
console.log('s / iteration: the row\'s seconds over its Lloyd iterations — for the rows that seed (webgmm\'s default seeding, scikit-learn\'s defaults) the seeding\'s time included; the same-start rows give Lloyd\'s own');
if (sk) {
  console.log(`inertia: webgmm ${inertia.toExponential(6)}, scikit-learn (same start) ${sk.sameStartInertia.toExponential(6)}`);
  console.log(`inertia (defaults, medians of the runs, raw units): webgmm ${median(variants[0]!.inertias).toExponential(6)}, scikit-learn ${sk.defaultInertia.toExponential(6)}`
    + ' (webgmm\'s default k-means minimizes it in range-scaled units, scikit-learn\'s in raw ones: each run\'s seed picks among local optima, per run below)');
  console.log(`scikit-learn (same start) / webgmm: ${(sk.sameStartSeconds / sameStart).toFixed(2)}×`);
  for (const v of variants) console.log(`scikit-learn defaults / ${v.label}: ${(sk.defaultSeconds / median(v.seconds)).toFixed(2)}×`);
}
console.log(`per run (s): ${variants.map((v) => `${v.label.split(' (')[0]}: ${v.seconds.map((x) => x.toFixed(3)).join(' ')} [its ${v.iterations.join(' ')}; inertia ${v.inertias.map((x) => x.toPrecision(4)).join(' ')}]`).join('; ')}`);
const out = resultsPath('kmeans');
writeFileSync(
  out,
  JSON.stringify(
    {
      n: N, d: D, k: K, spread: SPREAD, runs: RUNS, helpers,
      webgmm: { seconds: times, iterations, inertia },
      webgmmDefault: Object.fromEntries(variants.map((v) => [v.label, { seconds: v.seconds, iterations: v.iterations, inertias: v.inertias, inertia: median(v.inertias) }])),
      sklearn: sk,
    },
    null,
    2,
  ),
);
console.log(`wrote ${out}`);
