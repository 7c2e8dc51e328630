/**
 * `webgmm train` end to end, as a user runs it: writes an N×D data file (CSV or float32 .npy) of
 * K clusters, runs the CLI on it, and reports the CLI's own per-phase times, the wall time
 * including loading, and the peak RSS (through GNU time, when /usr/bin/time exists).
 *
 *   node --import tsx bench/cli-end-to-end.ts --n 3000000 --d 3 --k 8 --iterations 20 --format csv
 *   node --import tsx bench/cli-end-to-end.ts --n 10000000 --d 16 --k 16 --iterations 20 --format npy
 *
 * `--spread S` scales the cluster centres (default 10, well separated; 1 overlaps the clusters, so
 * that EM runs all its iterations). `--backend cpu|webgpu` is passed to the CLI (default: its own 'auto'). With `cpu` no device
 * buffers exist, so the peak RSS is what the host holds when the GPU's memory is its own (on
 * lavapipe the device buffers are host memory too). `--residency auto|device|streamed` is passed
 * as `--data_residency` (default: the CLI's 'auto', which streams on lavapipe above 256 MiB).
 * The CLI runs the compiled dist/: the script refuses to time a build older than src/ or shaders/.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../src/io/npy.js';
import { Rng } from '../src/util/rng.js';
import { EnvironmentError, parseOptions, reportFailures, resultsPath, UsageError } from './options.js';

const USAGE =
  'usage: node --import tsx bench/cli-end-to-end.ts [--n 3000000] [--d 3] [--k 8] [--iterations 20] [--spread 10] [--format csv|npy] [--backend auto|cpu|webgpu] [--residency auto|device|streamed]';
reportFailures(USAGE);
const options = parseOptions(
  process.argv.slice(2),
  { n: 'value', d: 'value', k: 'value', iterations: 'value', spread: 'value', format: 'value', backend: 'value', residency: 'value' },
  USAGE,
);
const N = options.int('n', 3_000_000), D = options.int('d', 3), K = options.int('k', 8);
const ITERATIONS = options.int('iterations', 20);
// Cluster centres ~ SPREAD · N(0, 1) per coordinate around unit-variance clusters: 10 (default)
// separates them, and float32 EM may reach a fixed point before -n; 1 overlaps them.
const SPREAD = options.positive('spread', 10);
const FORMAT = options.choice('format', 'csv', ['csv', 'npy'] as const);
const BACKEND = options.choice('backend', 'auto', ['auto', 'cpu', 'webgpu'] as const);
const RESIDENCY = options.choice('residency', 'auto', ['auto', 'device', 'streamed'] as const);
if (K > N) throw new UsageError(`--k ${K} exceeds --n ${N}`);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// The CLI runs the compiled dist/, not src/: a build older than the sources would time old code.
const stale = newestBelow(join(ROOT, 'src')) > mtimeOf(join(ROOT, 'dist', 'cli', 'main.js'));
if (stale || newestBelow(join(ROOT, 'shaders')) > mtimeOf(join(ROOT, 'dist', 'cli', 'main.js'))) {
  throw new EnvironmentError('dist/ is missing or older than src/ or shaders/: run `npm run build` first (the CLI runs the compiled code)');
}

function mtimeOf(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : -Infinity;
}

function newestBelow(dir: string): number {
  let newest = -Infinity;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.name.endsWith('.generated.ts')) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

const tmp = mkdtempSync(join(tmpdir(), 'webgmm-e2e-'));
const file = join(tmp, `data.${FORMAT}`);
try {
  const t0 = performance.now();
  const rng = new Rng(21);
  const centres = Array.from({ length: K }, () => Array.from({ length: D }, () => SPREAD * rng.nextNormal()));
  const row = new Float32Array(D);
  if (FORMAT === 'npy') {
    const data = new Float32Array(N * D);
    for (let i = 0; i < N; i++) {
      const c = centres[rng.nextInt(K)]!;
      for (let j = 0; j < D; j++) data[i * D + j] = c[j]! + rng.nextNormal();
    }
    writeFileSync(file, encodeNpy({ data, rows: N, cols: D }));
  } else {
    const out = createWriteStream(file);
    let buf = '';
    for (let i = 0; i < N; i++) {
      const c = centres[rng.nextInt(K)]!;
      for (let j = 0; j < D; j++) row[j] = c[j]! + rng.nextNormal();
      buf += Array.from(row, (v) => v.toPrecision(7)).join(',') + '\n';
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
        buf = '';
      }
    }
    out.end(buf);
    await new Promise<void>((r) => out.on('finish', () => r()));
  }
  const bytes = statSync(file).size;
  console.log(`data: ${N} × ${D} ${FORMAT}, ${(bytes / 2 ** 20).toFixed(0)} MiB (float32 would be ${((N * D * 4) / 2 ** 20).toFixed(0)} MiB), written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const cli = [join(ROOT, 'bin', 'webgmm.js'), 'train', '-i', file, '-g', String(K), '-n', String(ITERATIONS), '-s', '1', '-M', join(tmp, 'model.json'), '--backend', BACKEND, '--data_residency', RESIDENCY];
  const gnuTime = existsSync('/usr/bin/time');
  const t1 = performance.now();
  const r = gnuTime ? spawnSync('/usr/bin/time', ['-v', process.execPath, ...cli], { encoding: 'utf8' }) : spawnSync(process.execPath, cli, { encoding: 'utf8' });
  const wall = (performance.now() - t1) / 1000;
  if (r.status !== 0) {
    // The CLI's own error line, without Dawn's warnings or /usr/bin/time's report (the JSON is not written).
    const lines = r.stderr.split('\n');
    const said = lines.find((l) => l.startsWith('webgmm: error')) ?? lines.filter((l) => l.startsWith('webgmm: ')).at(-1) ?? r.stderr.trim();
    throw new EnvironmentError(`webgmm train failed (exit ${r.status}): ${said}`);
  }
  const phases = /time: (.*)/.exec(r.stderr)?.[1] ?? '(no phase line)';
  const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  // The summary's line ("backend cpu, seed 1" or "backend webgpu (adapter), seed 1"), not a note naming a backend.
  const backend = /^backend ([a-z0-9]+)/m.exec(r.stderr)?.[1] ?? '?';
  // EM may stop before -n: at convergence, or where float32 repeats itself (a fixed point).
  const emIterations = Number(/^iterations (\d+)/m.exec(r.stderr)?.[1] ?? NaN);
  const converged = /converged (yes|no)/.exec(r.stderr)?.[1] === 'yes';
  console.log(`webgmm train -g ${K} -n ${ITERATIONS}: wall ${wall.toFixed(1)} s including loading; backend ${backend}; ${emIterations} EM iterations${converged ? ', converged' : ''}`);
  console.log(`phases (the CLI's own): ${phases}`);
  if (Number.isFinite(rssKiB)) console.log(`peak RSS ${(rssKiB / 1024).toFixed(0)} MiB = ${((rssKiB * 1024) / (N * D * 4)).toFixed(2)}× the float32 data`);
  const out = resultsPath(`cli-${FORMAT}-${N}x${D}`);
  writeFileSync(out, JSON.stringify({ n: N, d: D, k: K, spread: SPREAD, iterations: ITERATIONS, emIterations, converged, format: FORMAT, fileBytes: bytes, wallSeconds: wall, phases, backend, peakRssMiB: rssKiB / 1024, stderr: r.stderr }, null, 2));
  console.log(`wrote ${out}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
