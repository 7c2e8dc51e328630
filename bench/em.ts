/**
 * EM benchmark: seconds per EM iteration on the WebGPU backend, the CPU backend (float64, one
 * thread) and scikit-learn (when a Python with sklearn is found), on the same data from the same
 * initial model, with the implied GFLOP/s and the speed ratios measured in the same run.
 *
 *   npm run bench                                   # 36 cases: N ∈ {1e4,1e5,1e6} × D ∈ {2,8,32} × K ∈ {4,16} × full/diagonal
 *   npm run bench -- --quick                        # N ∈ {1e4, 1e5} only
 *   npm run bench -- --n 1000000 --d 8 --k 8 --cov full --runs 3
 *
 * Flags: --n N, --d D, --k K, --cov full|diagonal each replace that dimension of the grid by one
 * value (which need not be in the grid); --runs R (default 3) timed runs per backend and case;
 * --budget S (default 20) seconds per backend per case, probe included: a probe run (2 timed
 * iterations) estimates the time per iteration, from which the number of timed iterations per run
 * M (2 ≤ M ≤ 10) is chosen so that the R runs fit in what the probe left of the budget (M = 2 may
 * overrun it). When one iteration alone exceeds the budget, the probe's 2 iterations are the only
 * run, and the result is marked (†). --timeout S (default 300): each backend measures a case in its
 * own worker process (this file with --worker), killed after S seconds; the cell then records the
 * timeout and where it was (on lavapipe, compiling the D = 32 full-covariance WebGPU pipelines takes
 * about 10 minutes when Mesa's shader cache does not have them yet), and when it was still in setup,
 * later cases with the same D, K and covariance skip that backend. A worker that crashes (e.g. inside Dawn) likewise fails one cell only.
 * scikit-learn gets 3 × S: each call of bench/sklearn_em.py (the probe, then the timed runs) is
 * killed after 3·S seconds, so one case's sklearn cell may take up to 6·S in all.
 * --chart FILE also writes the chart there (its directory must exist and be writable; checked at
 * start). A bad command line prints `error: …` and the usage and exits with status 2.
 *
 * scikit-learn: the first Python of bench/options.ts's PYTHON_CANDIDATES that imports sklearn
 * (WEBGMM_PYTHON alone if set, else /usr/bin/python3, then PATH's python3), as for the other
 * benchmarks; without one the column is skipped with a notice.
 *
 * Timing: `onIteration` is called after every E-step pass (iteration 0 = the initial model); the
 * time per EM iteration of a run is the median gap between successive calls, excluding the gap
 * after iteration 0 (warm-up); a backend's figure is the median over its runs. scikit-learn is
 * timed by bench/sklearn_em.py: (fit with max_iter = M+1 − fit with max_iter = 1) / M, medians
 * over RUNS fits each (its probe is one run with M = 2 and counts as a run when M = 2 is chosen).
 * The initial model (k-means seeding, ≤ 10 Lloyd iterations, then one EM iteration on the CPU) is
 * built once per case and shared by all three; its k-means time is reported too.
 * EM can reach an exact fixed point and stop before its M + 1 iterations (tolerance 0 stops only
 * there): a run then times fewer gaps. The M column and the JSON `m` give the number of iterations
 * actually timed (the fewest over a backend's runs; `mRequested` is the M chosen,
 * `timedIterationsPerRun` the per-run counts), and such cells are marked ‡. A WebGPU trial whose
 * components get narrower than float32 resolves continues in float64 on the CPU (the README's
 * *Mixed precision*): where timed iterations ran there, the WebGPU cell is marked ¶ and left out
 * of the GFLOP/s, the % of peak and the ratios.
 *
 * Output: a markdown table on stdout (progress goes to stderr) and JSON with every number and
 * per-run value in bench/results/em-<ISO timestamp>.json (rewritten after every case).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { train, GaussianMixture } from '../src/node.js';
import { acquireGpu } from '../src/backends/webgpu/device.js';
import { calibrateAdapter, blasPeak } from './calibrate.js';
import { chartSvg } from './chart.js';
import { findSklearnPython, lastLine, median, parseOptions, PYTHON_CANDIDATES, reportFailures, resultsPath, UsageError } from './options.js';
import { Rng } from '../src/util/rng.js';

type Backend = 'webgpu' | 'cpu';
type Covariance = 'full' | 'diagonal';

// ---------------------------------------------------------------------------------------------
// Command line

interface Args {
  runs: number;
  budget: number;
  /** Per backend per case: a worker still running after this many seconds is killed. */
  timeout: number;
  quick: boolean;
  /** The cases to run: the grid's product, or the targets' list. */
  cases: { n: number; d: number; k: number; covs: Covariance[] }[];
  /** Also write the chart here (e.g. docs/bench.svg for the README). */
  chart?: string;
}

/** The cases of the speed targets (issue 6): the headline comparisons with scikit-learn. */
const TARGET_CASES: Args['cases'] = [
  { n: 1_000_000, d: 8, k: 8, covs: ['full', 'diagonal'] },
  { n: 100_000, d: 32, k: 16, covs: ['diagonal', 'full'] },
];

const USAGE = `usage: npm run bench -- [--quick | --targets] [--n N] [--d D] [--k K] [--cov full|diagonal] [--runs R] [--budget S] [--timeout S] [--chart FILE.svg]`;

/** --help: the usage and what each option does. */
const HELP = `${USAGE}

  --quick            the grid with N ∈ {1e4, 1e5} only
  --targets          the headline cases (1M×8 K=8, 100k×32 K=16; full and diagonal); no --quick/--n/--d/--k/--cov
  --n N, --d D, --k K, --cov full|diagonal
                     replace that dimension of the grid by one value
  --runs R           timed runs per backend and case (default 3)
  --budget S         seconds per backend per case, probe included (default 20)
  --timeout S        a webgmm backend's worker is killed after S seconds per case (default 300);
                     each scikit-learn call (probe, timed runs) is killed after 3 × S seconds
  --chart FILE.svg   also write the chart to FILE.svg (its directory must exist and be writable)`;

/** Fails unless `file` can be written: its directory exists and is writable, and it is not a directory or read-only. */
function checkWritableFile(option: string, file: string): void {
  const path = resolve(file);
  const dir = dirname(path);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UsageError(`${option} ${JSON.stringify(file)}: the directory ${dir} does not exist`);
  }
  if (!isDir) throw new UsageError(`${option} ${JSON.stringify(file)}: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${option} ${JSON.stringify(file)}: the directory ${dir} is not writable`);
  }
  let existing: ReturnType<typeof statSync> | undefined;
  try { existing = statSync(path); } catch { existing = undefined; }
  if (existing?.isDirectory()) throw new UsageError(`${option} ${JSON.stringify(file)} is a directory`);
  if (existing) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new UsageError(`${option} ${JSON.stringify(file)} is not writable`);
    }
  }
}

function parseArgs(argv: string[]): Args {
  const o = parseOptions(
    argv,
    { quick: 'flag', targets: 'flag', n: 'value', d: 'value', k: 'value', cov: 'value', runs: 'value', budget: 'value', timeout: 'value', chart: 'value' },
    HELP,
  );
  const quick = o.flag('quick'), targets = o.flag('targets');
  // --n, --d, --k and --cov replace one dimension of the grid: absent, they leave it whole.
  const given = (name: string): boolean => o.string(name) !== undefined;
  const optionalInt = (name: string): number | undefined => (given(name) ? o.int(name, 1) : undefined);
  const n = optionalInt('n'), d = optionalInt('d'), k = optionalInt('k');
  const runs = o.int('runs', 3);
  const budget = o.positive('budget', 20), timeout = o.positive('timeout', 300);
  const cov = given('cov') ? o.choice<Covariance>('cov', 'full', ['full', 'diagonal']) : undefined;
  if (n !== undefined && k !== undefined && k > n) throw new UsageError(`--k ${k} exceeds --n ${n}`);
  if (targets && (quick || n !== undefined || d !== undefined || k !== undefined || cov !== undefined)) {
    throw new UsageError('--targets runs its own list of cases; it does not combine with --quick, --n, --d, --k or --cov');
  }
  // --quick only limits N: with --n it would change nothing and the JSON would still say quick.
  if (quick && n !== undefined) throw new UsageError('--quick limits the grid\'s N to 1e4 and 1e5; with --n it has no effect: give one or the other');
  const ns = n !== undefined ? [n] : quick ? [1e4, 1e5] : [1e4, 1e5, 1e6];
  const ds = d !== undefined ? [d] : [2, 8, 32];
  const ks = k !== undefined ? [k] : [4, 16];
  const covs: Covariance[] = cov !== undefined ? [cov] : ['full', 'diagonal'];
  const cases = targets ? TARGET_CASES : ns.flatMap((nn) => ds.flatMap((dd) => ks.map((kk) => ({ n: nn, d: dd, k: kk, covs }))));
  const chart = o.string('chart');
  if (chart !== undefined) checkWritableFile('--chart', chart);
  return { runs, budget, timeout, quick, cases, ...(chart !== undefined ? { chart } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

const now = (): number => performance.now() / 1000;

/**
 * N points from K random well-separated Gaussians with random correlations. Centres are drawn
 * N(0, 10²) per coordinate and rejected when closer than 8 to an earlier one (the components'
 * standard deviations are about 0.5–2), so every component is a distinct blob; covariances are
 * L·Lᵀ with L lower triangular, diagonal U(0.5, 1.5), below it N(0, 0.3²). Deterministic in seed.
 */
function makeData(n: number, d: number, k: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const minSeparation = 8;
  let scale = 10;
  const centres: Float64Array[] = [];
  let misses = 0;
  while (centres.length < k) {
    const c = Float64Array.from({ length: d }, () => scale * rng.nextNormal());
    const ok = centres.every((o) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (o[j]! - c[j]!) ** 2;
      return s >= minSeparation * minSeparation;
    });
    if (ok) centres.push(c);
    else if (++misses % 100 === 0) scale *= 1.1; // crowded (small D, large K): spread out
  }
  const chol = Array.from({ length: k }, () => {
    const l = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) l[i * d + j] = j < i ? 0.3 * rng.nextNormal() : 0.5 + rng.nextFloat();
    return l;
  });
  const data = new Float64Array(n * d);
  const z = new Float64Array(d);
  for (let p = 0; p < n; p++) {
    const c = rng.nextInt(k);
    const mu = centres[c]!, l = chol[c]!;
    for (let j = 0; j < d; j++) z[j] = rng.nextNormal();
    for (let r = 0; r < d; r++) {
      let s = mu[r]!;
      for (let j = 0; j <= r; j++) s += l[r * d + j]! * z[j]!;
      data[p * d + r] = s;
    }
  }
  return data;
}

/** Seed of a case's data: deterministic in (N, D, K). */
const dataSeed = (n: number, d: number, k: number): number => 2024 + 1_000_003 * d + 7919 * k + (n % 1_000_000_007);

/**
 * FLOP model of one EM iteration (multiply-add = 2 flops), per point and component:
 *   full:     D (x − μ) + D(D+1) (triangular P·(x − μ)) + 2D + 10 (Mahalanobis sum, log-density, exp)
 *             + 2·(D+1)(D+2)/2 (augmented scatter [1, x−μ][1, x−μ]ᵀ, upper triangle)
 *   diagonal: 3D + 10 (log-density, exp) + 4D + 2 (weighted first and second moments)
 */
const FLOP_MODEL = {
  unit: 'flops per EM iteration; multiply-add = 2 flops',
  full: 'N·K·(D + D(D+1) + 2D + 10 + 2·(D+1)(D+2)/2)',
  diagonal: 'N·K·(3D + 10 + 4D + 2)',
};
function flopsPerIteration(n: number, d: number, k: number, cov: Covariance): number {
  const perPointComponent = cov === 'full' ? d + d * (d + 1) + 2 * d + 10 + (d + 1) * (d + 2) : 3 * d + 10 + 4 * d + 2;
  return n * k * perPointComponent;
}

/** Writes an N×D float64 array as a NumPy .npy file (format 1.0, C order, little-endian). */
function writeNpy(path: string, data: Float64Array, rows: number, cols: number): void {
  const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = magic.length + 2 + header.length + 1; // + HEADER_LEN (uint16) + '\n'
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length, 0);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, Buffer.concat([magic, len, Buffer.from(header, 'latin1')]));
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, Math.min(1 << 26, bytes.length - off));
  } finally {
    closeSync(fd);
  }
}

/** Reads an N×D float64 .npy written by {@link writeNpy}. */
function readNpy(path: string, rows: number, cols: number): Float64Array {
  const bytes = readFileSync(path);
  if (bytes.readUInt8(0) !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path} is not a .npy file`);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString('latin1', 10, 10 + headerLength);
  if (!header.includes("'<f8'") || !header.includes(`(${rows}, ${cols})`)) throw new Error(`${path}: unexpected header ${header.trim()}`);
  const out = new Float64Array(rows * cols);
  new Uint8Array(out.buffer).set(bytes.subarray(10 + headerLength, 10 + headerLength + out.byteLength));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timing (runs in a worker process per backend and case)

interface RunTiming {
  /** Median of `gaps`: this run's seconds per iteration. */
  secondsPerIteration: number;
  /** Gaps between successive onIteration calls, the one after iteration 0 excluded. */
  gaps: number[];
  /** Iterations actually timed (`gaps.length`): fewer than the M asked for when EM reached a fixed point and stopped. */
  timedIterations: number;
  /** From the train() call to the first onIteration (upload, setup, the pass on the initial model). */
  firstCallSeconds: number;
  /** Gap after iteration 0 (excluded warm-up). */
  warmupSeconds: number;
  wallSeconds: number;
  /** M-steps performed. */
  iterations: number;
  float64Passes: number;
  /** Timed iterations whose E-step ran on the CPU's float64 reference (a WebGPU trial that moved there). */
  float64Timed: number;
}

interface Measurement {
  /** Median over runs of the runs' seconds per iteration. */
  secondsPerIteration?: number;
  gflops?: number;
  /** Timed iterations actually used: the fewest over the runs (equals `mRequested` unless EM stopped early). */
  m?: number;
  /** Timed iterations per run asked for (the M chosen from the budget). */
  mRequested?: number;
  /** Iterations actually timed, per run. */
  timedIterationsPerRun?: number[];
  /** True when some run timed fewer iterations than `mRequested` (EM reached a fixed point): marked ‡. */
  fewerTimed?: boolean;
  runs?: number[];
  /** True when one iteration exceeded the budget: the probe's 2 iterations are the only run. */
  overBudget?: boolean;
  /** scikit-learn: the median long fit was no slower than the median short one (iterations below the clock's noise): marked §. */
  unresolved?: boolean;
  /**
   * WebGPU: some timed iterations ran in float64 on the CPU (the trial moved to its reference, see
   * the README's *Mixed precision*): the figure is not WebGPU's; marked ¶, and left out of the
   * GFLOP/s, % of peak and ratios.
   */
  float64?: boolean;
  wallSeconds?: number;
  error?: string;
  [extra: string]: unknown;
}

async function timeRun(
  backend: Backend, data: Float64Array, n: number, d: number, k: number, cov: Covariance, model: GaussianMixture, m: number,
  onAdapter: (a: string) => void, what: string,
): Promise<RunTiming> {
  const stamps: number[] = [];
  const onCpu: boolean[] = [];
  const t0 = now();
  progress('setup', `${what}: train() with ${m} timed iteration(s) started`);
  const result = await train({ data, rows: n, cols: d }, {
    gaussians: k, inputModel: model, maxIterations: m + 1, tolerance: 0, seed: 1,
    backend, diagonalCovariance: cov === 'diagonal',
    onIteration: ({ iteration, backend: ran }) => {
      stamps.push(now());
      onCpu.push(backend === 'webgpu' && ran === 'cpu');
      if (iteration === 0) progress('iterating', `${what}: iteration 0 after ${(stamps[0]! - t0).toFixed(2)} s (setup and first E-step)`);
    },
  });
  const t1 = now();
  if (result.adapter) onAdapter(result.adapter);
  if (stamps.length < 3) throw new Error(`EM stopped after ${result.iterations} iteration(s) (converged exactly), nothing to time`);
  const allGaps = stamps.slice(1).map((t, i) => t - stamps[i]!);
  const gaps = allGaps.slice(1);
  return {
    secondsPerIteration: median(gaps),
    gaps,
    timedIterations: gaps.length,
    firstCallSeconds: stamps[0]! - t0,
    warmupSeconds: allGaps[0]!,
    wallSeconds: t1 - t0,
    iterations: result.iterations,
    float64Passes: result.trials[0]?.float64Passes ?? 0,
    // The gap before stamp i + 1 is iteration i + 1's pass (gaps[j]: stamps j + 2).
    float64Timed: onCpu.slice(2).filter(Boolean).length,
  };
}

/** What a backend's runs timed against the `requested` M: the fields `m`, `mRequested`, `timedIterationsPerRun`, `fewerTimed`. */
function timedCounts(requested: number, perRun: number[]): Pick<Measurement, 'm' | 'mRequested' | 'timedIterationsPerRun' | 'fewerTimed'> {
  const m = perRun.length > 0 ? Math.min(...perRun) : requested;
  return { m, mRequested: requested, timedIterationsPerRun: perRun, fewerTimed: m < requested };
}

/** Timed iterations per run so that `runs` runs of `perRunOverhead + (m + 2)·secondsPerIteration` fit in `seconds`. */
function chooseM(seconds: number, runs: number, perRunOverhead: number, secondsPerIteration: number): number {
  const m = Math.floor((seconds / runs - perRunOverhead) / secondsPerIteration) - 2;
  return Math.max(2, Math.min(10, Number.isFinite(m) ? m : 2));
}

async function measureBackend(
  backend: Backend, data: Float64Array, n: number, d: number, k: number, cov: Covariance, model: GaussianMixture,
  opts: { runs: number; budget: number }, onAdapter: (a: string) => void,
): Promise<Measurement> {
  const t0 = now();
  try {
    const probe = await timeRun(backend, data, n, d, k, cov, model, 2, onAdapter, 'probe');
    const perIteration = probe.secondsPerIteration;
    if (perIteration > opts.budget) {
      return {
        secondsPerIteration: perIteration, ...timedCounts(2, [probe.timedIterations]), runs: [perIteration], overBudget: true,
        ...(probe.float64Timed > 0 ? { float64: true } : {}),
        runDetails: [probe], wallSeconds: now() - t0,
      };
    }
    // Per-run overhead beyond the M+2 passes: upload and setup (the first pass is one iteration).
    const overhead = Math.max(0, probe.firstCallSeconds - perIteration);
    const m = chooseM(opts.budget - (now() - t0), opts.runs, overhead, perIteration);
    const details: RunTiming[] = [];
    for (let r = 0; r < opts.runs; r++) details.push(await timeRun(backend, data, n, d, k, cov, model, m, onAdapter, `run ${r + 1}/${opts.runs}`));
    const runs = details.map((x) => x.secondsPerIteration);
    return {
      secondsPerIteration: median(runs), ...timedCounts(m, details.map((x) => x.timedIterations)), runs, overBudget: false,
      ...(details.some((x) => x.float64Timed > 0) ? { float64: true } : {}),
      probe, runDetails: details, wallSeconds: now() - t0,
    };
  } catch (e) {
    return { error: message(e), wallSeconds: now() - t0 };
  }
}

/** Progress of a worker, on stderr, for the parent (which reports the last one if the worker times out). */
function progress(stage: 'setup' | 'iterating', text: string): void {
  process.stderr.write(`@@progress ${JSON.stringify({ stage, text })}\n`);
}

interface WorkerSpec {
  backend: Backend;
  npy: string;
  model: string;
  n: number;
  d: number;
  k: number;
  cov: Covariance;
  runs: number;
  budget: number;
}

/** Worker process: measures one backend on one case and prints `@@result {json}` on stdout. */
async function workerMain(specPath: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as WorkerSpec;
  const data = readNpy(spec.npy, spec.n, spec.d);
  const model = new GaussianMixture(JSON.parse(readFileSync(spec.model, 'utf8')));
  let adapter: string | undefined;
  const m = await measureBackend(spec.backend, data, spec.n, spec.d, spec.k, spec.cov, model, spec, (a) => { adapter ??= a; });
  if (adapter !== undefined) m.adapter = adapter;
  process.stdout.write(`@@result ${JSON.stringify(m)}\n`);
}

/** The child process now measuring, killed with the parent. */
let activeChild: ChildProcess | null = null;

/** Dawn's notices on stderr that carry no information for the bench. */
const NOISE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced/;

/**
 * Runs {@link workerMain} in a child process (same Node flags, so tsx is loaded), so that a backend
 * that hangs (e.g. a shader compilation that takes many minutes) is killed after `timeoutS` and a
 * crash inside Dawn fails one cell, not the bench.
 */
function runWorker(spec: WorkerSpec, specPath: string, timeoutS: number): Promise<Measurement & { timedOutInSetup?: boolean }> {
  writeFileSync(specPath, JSON.stringify(spec));
  const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
  const t0 = now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...execArgv, fileURLToPath(import.meta.url), '--worker', specPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    activeChild = child;
    let stdout = '';
    let pending = '';
    const stderrTail: string[] = [];
    let last: { stage: string; text: string } | null = null;
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('@@progress ')) {
          try { last = JSON.parse(line.slice(11)) as { stage: string; text: string }; } catch { /* partial line */ }
        } else if (line.trim() !== '' && !NOISE.test(line)) {
          stderrTail.push(line);
          if (stderrTail.length > 20) stderrTail.shift();
          process.stderr.write(`    ${spec.backend} worker: ${line}\n`);
        }
      }
    });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      activeChild = null;
      resolve({ error: `could not start the worker: ${message(e)}`, wallSeconds: now() - t0 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      activeChild = null;
      const wallSeconds = now() - t0;
      const lastProgress = last as { stage: string; text: string } | null;
      if (timedOut) {
        resolve({
          error: `timed out after ${timeoutS} s (${lastProgress ? `last: ${lastProgress.text}` : 'before the first train() call'})`,
          timedOutInSetup: lastProgress === null || lastProgress.stage === 'setup',
          wallSeconds,
        });
        return;
      }
      const line = stdout.split('\n').find((l) => l.startsWith('@@result '));
      if (code === 0 && line) {
        const m = JSON.parse(line.slice(9)) as Measurement;
        m.processSeconds = wallSeconds;
        resolve(m);
        return;
      }
      const tail = stderrTail.slice(-3).join(' | ');
      resolve({ error: `worker ${signal ? `killed by ${signal}` : `exited with ${code}`}${tail ? `: ${tail}` : ''}`, wallSeconds });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// scikit-learn

interface Sklearn {
  python: string;
  script: string;
}

/** The Python of the other benchmarks (bench/options.ts: /usr/bin/python3 before PATH's python3), or null. */
function findSklearn(): Sklearn | null {
  const python = findSklearnPython();
  return python === null ? null : { python, script: join(dirname(fileURLToPath(import.meta.url)), 'sklearn_em.py') };
}

/** sklearn_em.py failed: the message is its exception line (the last non-empty stderr line); `output` keeps the rest. */
class SklearnError extends Error {
  override name = 'SklearnError';
  constructor(message: string, readonly output: string) {
    super(message);
  }
}

interface SklearnOutput {
  secondsPerIteration: number;
  sklearn: string;
  threads: number | null;
  blas: unknown[];
  perRun: number[];
  [extra: string]: unknown;
}

function runSklearn(sk: Sklearn, npy: string, modelJson: string, m: number, runs: number, timeoutS: number): SklearnOutput {
  const r = spawnSync(sk.python, [sk.script, npy, modelJson, String(m), String(runs)], {
    encoding: 'utf8', maxBuffer: 64 << 20, timeout: Math.ceil(timeoutS * 1000),
  });
  if (r.error) throw new Error(`${sk.python} ${sk.script}: ${r.error.message}`);
  if (r.status !== 0) {
    const output = (r.stderr || r.stdout || '').trim();
    throw new SklearnError(`${lastLine(output) || 'no output'} (sklearn_em.py exited with ${r.status ?? r.signal})`, output);
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const out = JSON.parse(line) as SklearnOutput;
  if (typeof out.secondsPerIteration !== 'number') throw new Error(`sklearn_em.py printed no secondsPerIteration: ${line.slice(0, 200)}`);
  return out;
}

function measureSklearn(sk: Sklearn, npy: string, modelJson: string, opts: { runs: number; budget: number; timeout: number }): Measurement {
  const t0 = now();
  const timeoutS = opts.timeout;
  try {
    const probe = runSklearn(sk, npy, modelJson, 2, 1, timeoutS);
    const probeWall = now() - t0;
    const perIteration = probe.secondsPerIteration;
    if (perIteration > opts.budget) {
      return {
        secondsPerIteration: perIteration, ...sklearnCounts(2, [probe]), runs: probe.perRun, overBudget: true,
        sklearn: probe.sklearn, threads: probe.threads, blas: probe.blas, details: probe, wallSeconds: now() - t0,
      };
    }
    // The probe ran 3 fits (warm-up, max_iter 1, max_iter 3) plus Python start-up and data loading.
    const short = median(probe.fitSecondsShort as number[]);
    const startup = Math.max(0, probeWall - 2 * short - (short + 2 * perIteration));
    // A run of RUNS pairs costs startup + (2·RUNS + 1)·short + RUNS·M·perIteration.
    const left = opts.budget - probeWall - startup - (2 * opts.runs + 1) * short;
    // A probe of no measurable time per iteration (one pair is the clock's noise): M = 2, all RUNS.
    const m = perIteration > 0 ? Math.max(2, Math.min(10, Math.floor(left / (opts.runs * perIteration)))) : 2;
    if (m === 2) {
      // The probe already is one run with M = 2: run the other RUNS − 1 and take the medians over all.
      const out = opts.runs > 1 ? runSklearn(sk, npy, modelJson, 2, opts.runs - 1, timeoutS) : null;
      const short = [...(probe.fitSecondsShort as number[]), ...((out?.fitSecondsShort as number[] | undefined) ?? [])];
      const long = [...(probe.fitSecondsLong as number[]), ...((out?.fitSecondsLong as number[] | undefined) ?? [])];
      const secondsPerIteration = (median(long) - median(short)) / 2;
      return {
        secondsPerIteration, ...(secondsPerIteration > 0 ? {} : { unresolved: true }), ...sklearnCounts(m, out ? [probe, out] : [probe]),
        runs: [...probe.perRun, ...(out?.perRun ?? [])], overBudget: false,
        fitSecondsShort: short, fitSecondsLong: long, probeCountsAsRun: true,
        sklearn: probe.sklearn, threads: probe.threads, blas: probe.blas, probe, details: out, wallSeconds: now() - t0,
      };
    }
    const out = runSklearn(sk, npy, modelJson, m, opts.runs, timeoutS);
    return {
      secondsPerIteration: out.secondsPerIteration, ...(out.secondsPerIteration > 0 ? {} : { unresolved: true }), ...sklearnCounts(m, [out]), runs: out.perRun, overBudget: false,
      fitSecondsShort: out.fitSecondsShort, fitSecondsLong: out.fitSecondsLong,
      sklearn: out.sklearn, threads: out.threads, blas: out.blas, probe, details: out, wallSeconds: now() - t0,
    };
  } catch (e) {
    if (e instanceof SklearnError) return { error: e.message, output: e.output, wallSeconds: now() - t0 };
    return { error: message(e), wallSeconds: now() - t0 };
  }
}

/**
 * {@link timedCounts} for scikit-learn: per sklearn_em.py call, its last long fit's iterations − 1
 * (with tol=0 always M; fewer would mean that sklearn stopped early and the figure is off).
 */
function sklearnCounts(requested: number, calls: SklearnOutput[]): ReturnType<typeof timedCounts> {
  return timedCounts(requested, calls.map((c) => (typeof c.iterationsOfLongFit === 'number' ? c.iterationsOfLongFit - 1 : requested)));
}

// ---------------------------------------------------------------------------------------------
// Main

interface CaseResult {
  case: string;
  n: number;
  d: number;
  k: number;
  covariance: Covariance;
  dataSeed: number;
  flopsPerIteration: number;
  dataSeconds?: number;
  /** The initial model: train(cpu, seed 7, kmeansMaxIterations 10, maxIterations 1). */
  initialModel?: { seconds: number; kmeansSeconds: number; kmeansIterations: number; logLikelihood: number } | { error: string };
  webgpu?: Measurement;
  cpu?: Measurement;
  sklearn?: Measurement;
  ratios?: { sklearnOverWebgpu?: number; cpuOverWebgpu?: number; sklearnOverBest?: number };
  error?: string;
}

function label(n: number, d: number, k: number, cov: Covariance): string {
  const nText = n >= 1e4 && Number.isInteger(Math.log10(n)) ? `1e${Math.log10(n)}` : String(n);
  return `N=${nText} D=${d} K=${k} ${cov}`;
}

function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return x >= 1e-3 ? x.toPrecision(digits) : x.toExponential(digits - 1);
}

function cell(m: Measurement | undefined, value: (m: Measurement) => number | undefined, suffix = '', fullError = true): string {
  if (!m) return '–';
  if (m.error !== undefined) return fullError ? `error: ${m.error.replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 100)}` : 'error';
  if (m.unresolved) return '– §';
  const v = value(m);
  return v === undefined || !Number.isFinite(v) ? '–' : `${fmt(v)}${suffix}${m.overBudget ? ' †' : ''}${m.fewerTimed ? ' ‡' : ''}${m.float64 ? ' ¶' : ''}`;
}

/** A backend's M for the progress line: the iterations timed, and the M asked for when fewer were timed. */
function mText(m: Measurement): string {
  return `M=${m.m}${m.fewerTimed ? ` of ${m.mRequested} requested, EM stopped early` : ''}${m.overBudget ? ', over budget' : ''}`;
}

async function main(): Promise<void> {
  const tStart = now();
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const outPath = resultsPath('em', startedAt);

  const sk = findSklearn();
  if (!sk) console.log(`notice: no Python with scikit-learn found (tried ${PYTHON_CANDIDATES.join(', ')}): the sklearn column is skipped`);
  else console.error(`scikit-learn: ${sk.python}`);
  // Every case's data (.npy, read by the workers and by scikit-learn) and initial model (JSON) live here.
  const tmp = mkdtempSync(join(tmpdir(), 'webgmm-bench-'));
  const cleanup = (): void => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      activeChild?.kill('SIGKILL');
      cleanup();
      process.exit(130);
    });
  }

  // Yardsticks, measured before any case so that nothing else runs meanwhile.
  const gpu = await acquireGpu();
  const calibration = gpu ? await calibrateAdapter(gpu.device) : undefined;
  const adapterPeak = calibration?.gflops;
  if (calibration !== undefined) {
    const tried = Object.entries(calibration.byChains).map(([c, g]) => `${c}: ${g.toFixed(1)}`).join(', ');
    console.error(`adapter peak (calibration kernel): ${calibration.gflops.toFixed(1)} GFLOP/s with ${calibration.chains} chains (GFLOP/s by chains per invocation: ${tried})`);
  }
  const blas = sk ? blasPeak(sk.python) ?? undefined : undefined;
  if (blas !== undefined) console.error(`float32 BLAS peak (numpy 4096² matmul, OPENBLAS_CORETYPE=SkylakeX): ${blas.toFixed(1)} GFLOP/s`);

  const cpuModel = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  let adapter: string | undefined;
  let sklearnInfo: { python: string; version?: string; threads?: unknown; blas?: unknown } | null = sk ? { python: sk.python } : null;
  const results: CaseResult[] = [];
  const total = args.cases.reduce((sum, c) => sum + c.covs.length, 0);
  /** `${backend} D K cov` whose setup timed out: later cases (other N) with the same D, K and covariance skip that backend. */
  const setupTimeouts = new Map<string, string>();

  const writeJson = (): void => {
    writeFileSync(outPath, JSON.stringify({
      date: startedAt.toISOString(),
      node: process.version,
      cpu: cpuModel,
      cpuCount: cpus().length,
      platform: `${process.platform} ${process.arch}`,
      adapter: adapter ?? null,
      sklearn: sklearnInfo,
      args: { runs: args.runs, budgetSeconds: args.budget, timeoutSeconds: args.timeout, quick: args.quick, cases: args.cases },
      flopModel: FLOP_MODEL,
      yardsticks: {
        adapterPeakGflops: adapterPeak ?? null,
        adapterPeakByChains: calibration?.byChains ?? null,
        adapterPeak: 'shaders/calibrate.wgsl: independent vec4 FMA chains, no memory traffic; per chain count (1, 2, 3, 4, 6, 8 per invocation) the median of 5 dispatches, the best of those',
        blasPeakGflops: blas ?? null,
        blasPeak: 'numpy float32 4096×4096 matmul with OPENBLAS_CORETYPE=SkylakeX (median of 3)',
      },
      timing: 'seconds per EM iteration: per run, median gap between successive onIteration calls excluding the gap after iteration 0; per backend, median over runs. '
        + 'sklearn: (median fit time with max_iter=M+1 − median fit time with max_iter=1) / M. Ratios: sklearn s/it ÷ webgpu s/it and cpu s/it ÷ webgpu s/it.',
      cases: results,
      totalWallSeconds: now() - tStart,
    }, null, 2));
  };

  let index = 0;
  for (const { n, d, k, covs } of args.cases) {
    const seed = dataSeed(n, d, k);
    let data: Float64Array | null = null;
    let dataError: string | undefined;
    let dataSeconds = 0;
    const npy = join(tmp, `data-${n}x${d}-k${k}.npy`);
    try {
      if (k > n) throw new Error(`K = ${k} exceeds N = ${n}`);
      const t = now();
      data = makeData(n, d, k, seed);
      dataSeconds = now() - t;
      writeNpy(npy, data, n, d);
    } catch (e) {
      dataError = `data: ${message(e)}`;
      data = null;
    }
    for (const cov of covs) {
      index++;
      const name = label(n, d, k, cov);
      const flops = flopsPerIteration(n, d, k, cov);
      const res: CaseResult = { case: name, n, d, k, covariance: cov, dataSeed: seed, flopsPerIteration: flops, dataSeconds };
      results.push(res);
      console.error(`[${index}/${total}] ${name}`);
      if (!data) {
        res.error = dataError ?? 'no data';
        writeJson();
        continue;
      }
      let model: GaussianMixture;
      try {
        const t = now();
        // mlpack's seeding (a uniform draw, ≤ 10 Lloyd iterations) leaves EM work to time; the
        // default k-means++ start can reach an exact fixed point of these synthetic blobs at once.
        const init = await train({ data, rows: n, cols: d }, {
          gaussians: k, seed: 7, maxIterations: 1, kmeansMaxIterations: 10, backend: 'cpu', diagonalCovariance: cov === 'diagonal',
          covarianceConstraint: 'mlpack',
        });
        model = init.model;
        res.initialModel = {
          seconds: now() - t,
          kmeansSeconds: init.timings.initialization / 1000,
          kmeansIterations: init.trials[0]?.kmeansIterations ?? 0,
          logLikelihood: init.logLikelihood,
        };
      } catch (e) {
        res.initialModel = { error: message(e) };
        res.error = `initial model: ${message(e)}`;
        writeJson();
        continue;
      }
      const modelPath = join(tmp, 'model.json');
      writeFileSync(modelPath, JSON.stringify(model.toJSON()));
      const opts = { runs: args.runs, budget: args.budget };
      for (const backend of ['webgpu', 'cpu'] as const) {
        const key = `${backend} D=${d} K=${k} ${cov}`;
        let m: Measurement;
        const earlier = setupTimeouts.get(key);
        if (earlier !== undefined) {
          m = { error: `skipped: setup timed out (${args.timeout} s) at ${earlier}`, skipped: true };
        } else {
          const r = await runWorker({ backend, npy, model: modelPath, n, d, k, cov, ...opts }, join(tmp, 'worker.json'), args.timeout);
          if (r.timedOutInSetup) setupTimeouts.set(key, name);
          m = r;
        }
        if (m.secondsPerIteration !== undefined && !m.float64) m.gflops = flops / m.secondsPerIteration / 1e9;
        if (typeof m.adapter === 'string') adapter ??= m.adapter;
        res[backend] = m;
        console.error(`  ${backend}: ${m.error ?? `${fmt(m.secondsPerIteration)} s/it (${mText(m)}), ${fmt(m.wallSeconds)} s`}`);
      }
      if (sk) {
        const m = measureSklearn(sk, npy, modelPath, { ...opts, timeout: 3 * args.timeout });
        if (m.secondsPerIteration !== undefined && m.secondsPerIteration > 0) m.gflops = flops / m.secondsPerIteration / 1e9;
        if (m.error === undefined && sklearnInfo && sklearnInfo.version === undefined) {
          sklearnInfo = { python: sk.python, version: m.sklearn as string, threads: m.threads, blas: m.blas };
        }
        res.sklearn = m;
        console.error(`  sklearn: ${m.error ?? `${fmt(m.secondsPerIteration)} s/it (${mText(m)}), ${fmt(m.wallSeconds)} s`}`);
      }
      rmSync(modelPath, { force: true });
      // A WebGPU figure from float64 iterations on the CPU (¶) is no WebGPU figure to compare.
      const g = res.webgpu?.float64 ? undefined : res.webgpu?.secondsPerIteration;
      if (g !== undefined && g > 0) {
        res.ratios = {};
        const sks = res.sklearn?.secondsPerIteration, cps = res.cpu?.secondsPerIteration;
        if (sks !== undefined && sks > 0) res.ratios.sklearnOverWebgpu = sks / g;
        if (cps !== undefined && cps > 0) res.ratios.cpuOverWebgpu = cps / g;
      }
      const best = Math.min(g ?? Infinity, res.cpu?.secondsPerIteration ?? Infinity);
      const sks = res.sklearn?.secondsPerIteration;
      if (Number.isFinite(best) && sks !== undefined && sks > 0) (res.ratios ??= {}).sklearnOverBest = sks / best;
      if (adapterPeak !== undefined && res.webgpu?.gflops !== undefined) res.webgpu.fractionOfAdapterPeak = res.webgpu.gflops / adapterPeak;
      if (blas !== undefined && res.webgpu?.gflops !== undefined) res.webgpu.fractionOfBlasPeak = res.webgpu.gflops / blas;
      writeJson();
    }
    rmSync(npy, { force: true });
    data = null;
  }
  cleanup();

  // Table
  const wall = now() - tStart;
  console.log('');
  console.log(`webgmm EM benchmark — adapter: ${adapter ?? 'none (WebGPU did not run)'}; CPU: ${cpuModel} × ${cpus().length}; Node ${process.version}; ${startedAt.toISOString()}`);
  if (sklearnInfo?.version) {
    const blas = (sklearnInfo.blas as { internal_api?: string; version?: string; num_threads?: number; user_api?: string }[] | undefined)?.filter((b) => b.user_api === 'blas')
      .map((b) => `${b.internal_api} ${b.version ?? ''} (${b.num_threads} threads)`).join(', ');
    console.log(`scikit-learn ${sklearnInfo.version} (${sklearnInfo.python}; BLAS: ${blas || 'unknown'}; threads ${String(sklearnInfo.threads)})`);
  }
  console.log(`seconds per EM iteration: median over ${args.runs} run(s), budget ${args.budget} s per backend per case; cpu = webgmm float64 CPU backend (one thread)`);
  console.log(`yardsticks: adapter peak ${adapterPeak === undefined ? '–' : adapterPeak.toFixed(1)} GFLOP/s (calibration kernel); float32 BLAS peak ${blas === undefined ? '–' : blas.toFixed(1)} GFLOP/s (numpy, OPENBLAS_CORETYPE=SkylakeX)`);
  console.log('');
  const withSk = sk !== null;
  const header = ['case', 'webgpu s/it', 'cpu s/it', ...(withSk ? ['sklearn s/it'] : []), 'webgpu GFLOP/s', 'cpu GFLOP/s',
    ...(withSk ? ['sklearn/webgpu', 'sklearn/best'] : []), 'cpu/webgpu', 'webgpu % adapter peak', 'webgpu % BLAS peak',
    ...(withSk ? ['sklearn GFLOP/s'] : []), `M (webgpu/cpu${withSk ? '/sklearn' : ''})`, 'k-means init s (iters)'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const r of results) {
    if (r.error !== undefined) {
      console.log(`| ${r.case} | error: ${r.error.replace(/\|/g, '/').slice(0, 120)} |${' |'.repeat(header.length - 2)}`);
      continue;
    }
    // A ratio carries the marks of the figures it divides.
    const ratio = (x: number | undefined, ...of: (Measurement | undefined)[]): string =>
      x === undefined ? '–' : `${x.toFixed(2)}×${of.some((m) => m?.overBudget) ? ' †' : ''}${of.some((m) => m?.fewerTimed) ? ' ‡' : ''}`;
    const faster = r.webgpu && !r.webgpu.float64 && (r.webgpu.secondsPerIteration ?? Infinity) < (r.cpu?.secondsPerIteration ?? Infinity) ? r.webgpu : r.cpu;
    const percent = (x: unknown): string => (typeof x === 'number' ? `${(100 * x).toFixed(0)}%` : '–');
    const ms = [r.webgpu, r.cpu, ...(withSk ? [r.sklearn] : [])].map((m) => (m?.m === undefined ? '–' : `${m.m}${m.fewerTimed ? '‡' : ''}`)).join('/');
    const init = r.initialModel && 'kmeansSeconds' in r.initialModel ? `${fmt(r.initialModel.kmeansSeconds)} (${r.initialModel.kmeansIterations})` : '–';
    const row = [
      r.case,
      cell(r.webgpu, (m) => m.secondsPerIteration),
      cell(r.cpu, (m) => m.secondsPerIteration),
      ...(withSk ? [cell(r.sklearn, (m) => m.secondsPerIteration)] : []),
      cell(r.webgpu, (m) => m.gflops, '', false),
      cell(r.cpu, (m) => m.gflops, '', false),
      ...(withSk ? [ratio(r.ratios?.sklearnOverWebgpu, r.sklearn, r.webgpu), ratio(r.ratios?.sklearnOverBest, r.sklearn, faster)] : []),
      ratio(r.ratios?.cpuOverWebgpu, r.cpu, r.webgpu),
      percent(r.webgpu?.fractionOfAdapterPeak),
      percent(r.webgpu?.fractionOfBlasPeak),
      ...(withSk ? [cell(r.sklearn, (m) => m.gflops, '', false)] : []),
      ms,
      init,
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
  console.log('');
  console.log(`flop model per EM iteration (multiply-add = 2): full ${FLOP_MODEL.full}; diagonal ${FLOP_MODEL.diagonal}`);
  if (results.some((r) => [r.webgpu, r.cpu, r.sklearn].some((m) => m?.overBudget))) {
    console.log('† one iteration exceeded the budget: a single run of 2 timed iterations');
  }
  if (results.some((r) => [r.webgpu, r.cpu, r.sklearn].some((m) => m?.fewerTimed))) {
    console.log('‡ EM reached a fixed point (or a cycle of two) and stopped before the requested M iterations: the figure comes from fewer timed '
      + 'iterations, the number in the M column (the fewest over the runs; the M requested is the JSON\'s mRequested)');
  }
  if (results.some((r) => r.webgpu?.float64)) {
    console.log('¶ some of WebGPU\'s timed iterations ran in float64 on the CPU (the trial moved to its float64 reference: components narrower '
      + 'than float32 resolves, see the README\'s Mixed precision): the figure is not WebGPU\'s, and its GFLOP/s, % of peak and ratios are left out');
  }
  if (results.some((r) => r.sklearn?.unresolved)) {
    console.log('§ scikit-learn\'s iterations were below the clock\'s noise: the median M-iteration fit took no longer than the median 1-iteration fit (the JSON keeps the runs)');
  }
  console.log('k-means init: the k-means seeding of the shared initial model (mlpack\'s uniform draw, ≤ 10 Lloyd iterations, seed 7)');
  if (withSk) console.log('sklearn/best: scikit-learn s/it ÷ the faster webgmm backend\'s s/it');
  writeJson();
  const svg = chartSvg(results, { adapter, cpu: cpuModel, date: startedAt.toISOString().slice(0, 10) });
  const svgPath = outPath.replace(/\.json$/, '.svg');
  writeFileSync(svgPath, svg);
  console.log(`wrote ${svgPath}`);
  if (args.chart) {
    writeFileSync(args.chart, svg);
    console.log(`wrote ${args.chart}`);
  }
  console.log(`\nwrote ${outPath}`);
  console.log(`total bench wall time: ${wall.toFixed(1)} s`);
}

// A bad command line: `error: …` and the usage, exit 2; anything unexpected with its stack, exit 1.
reportFailures(USAGE);
void (process.argv[2] === '--worker' ? workerMain(process.argv[3]!) : main()).then(() => process.exit(0));
