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
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../src/io/npy.js';
import { Rng } from '../src/util/rng.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const N = Number(arg('n', '3000000')), D = Number(arg('d', '3')), K = Number(arg('k', '8'));
const ITERATIONS = Number(arg('iterations', '20'));
// Cluster centres ~ SPREAD · N(0, 1) per coordinate around unit-variance clusters: 10 (default)
// separates them, and float32 EM may reach a fixed point before -n; 1 overlaps them.
const SPREAD = Number(arg('spread', '10'));
const FORMAT = arg('format', 'csv') as 'csv' | 'npy';
const BACKEND = arg('backend', '');
const RESIDENCY = arg('residency', '');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

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

  const cli = [join(ROOT, 'bin', 'webgmm.js'), 'train', '-i', file, '-g', String(K), '-n', String(ITERATIONS), '-s', '1', '-M', join(tmp, 'model.json'), ...(BACKEND ? ['--backend', BACKEND] : []), ...(RESIDENCY ? ['--data_residency', RESIDENCY] : [])];
  const gnuTime = existsSync('/usr/bin/time');
  const t1 = performance.now();
  const r = gnuTime ? spawnSync('/usr/bin/time', ['-v', process.execPath, ...cli], { encoding: 'utf8' }) : spawnSync(process.execPath, cli, { encoding: 'utf8' });
  const wall = (performance.now() - t1) / 1000;
  if (r.status !== 0) throw new Error(`webgmm train failed (${r.status}): ${r.stderr}`);
  const phases = /time: (.*)/.exec(r.stderr)?.[1] ?? '(no phase line)';
  const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  const backend = /backend (\S+)/.exec(r.stderr)?.[1] ?? '?';
  // EM may stop before -n: at convergence, or where float32 repeats itself (a fixed point).
  const emIterations = Number(/^iterations (\d+)/m.exec(r.stderr)?.[1] ?? NaN);
  const converged = /converged (yes|no)/.exec(r.stderr)?.[1] === 'yes';
  console.log(`webgmm train -g ${K} -n ${ITERATIONS}: wall ${wall.toFixed(1)} s including loading; backend ${backend}; ${emIterations} EM iterations${converged ? ', converged' : ''}`);
  console.log(`phases (the CLI's own): ${phases}`);
  if (Number.isFinite(rssKiB)) console.log(`peak RSS ${(rssKiB / 1024).toFixed(0)} MiB = ${((rssKiB * 1024) / (N * D * 4)).toFixed(2)}× the float32 data`);
  const out = join(ROOT, 'bench', 'results', `cli-${FORMAT}-${N}x${D}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ n: N, d: D, k: K, spread: SPREAD, iterations: ITERATIONS, emIterations, converged, format: FORMAT, fileBytes: bytes, wallSeconds: wall, phases, backend, peakRssMiB: rssKiB / 1024, stderr: r.stderr }, null, 2));
  console.log(`wrote ${out}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
