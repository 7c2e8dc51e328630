/**
 * The CPU backend's EM with and without helper threads (`useEmThreads()`): seconds per EM
 * iteration of `train({ backend: 'cpu' })` from the same initial model, medians of R runs, and
 * the ratio measured in the same run (the two alternate, so the machine's load drifts alike).
 *
 *   node --import tsx bench/cpu-threads.ts [--runs 3] [--quick]
 *
 * Prints a table; writes bench/results/cpu-threads-<ISO timestamp>.json.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { train, useEmThreads, type GaussianMixture } from '../src/node.js';
import { median, syntheticProblem } from './synthetic.js';
import { parseOptions, reportFailures, resultsPath } from './options.js';

const USAGE = 'usage: node --import tsx bench/cpu-threads.ts [--runs 3] [--quick]';
reportFailures(USAGE);
const options = parseOptions(process.argv.slice(2), { runs: 'value', quick: 'flag' }, USAGE);
const runs = options.int('runs', 3);
const cases = [
  { n: 200_000, d: 8, k: 8, cov: 'full' as const },
  { n: 200_000, d: 8, k: 8, cov: 'diagonal' as const },
  { n: 50_000, d: 32, k: 16, cov: 'full' as const },
];
if (options.flag('quick')) cases.splice(1);
const ITERATIONS = 6;

/** Seconds per iteration: the median gap between onIteration calls after the first. */
async function perIteration(data: Float64Array, c: (typeof cases)[number], model: GaussianMixture, threads: boolean): Promise<{ s: number; ll: number }> {
  useEmThreads(threads);
  const stamps: number[] = [];
  const r = await train({ data, rows: c.n, cols: c.d }, {
    gaussians: c.k, inputModel: model, maxIterations: ITERATIONS, tolerance: 0, backend: 'cpu', diagonalCovariance: c.cov === 'diagonal',
    onIteration: () => void stamps.push(performance.now()),
  });
  useEmThreads(false);
  return { s: median(stamps.slice(2).map((t, i) => t - stamps[i + 1]!)) / 1000, ll: r.logLikelihood };
}

console.log(`${availableParallelism()} cores; EM with useEmThreads() (${Math.min(7, availableParallelism() - 1)} helpers) against one thread, ${runs} runs each, ${ITERATIONS} iterations`);
console.log('\n| case | one thread s/it | threads s/it | speed-up | log L one thread | log L threads |\n|---|---:|---:|---:|---:|---:|');
const rows = [];
for (const c of cases) {
  const { data, model } = syntheticProblem(c.n, c.d, c.k, c.cov);
  const one: number[] = [];
  const many: number[] = [];
  let ll1 = NaN;
  let llT = NaN;
  for (let r = 0; r < runs; r++) {
    const a = await perIteration(data, c, model, false);
    const b = await perIteration(data, c, model, true);
    one.push(a.s);
    many.push(b.s);
    ll1 = a.ll;
    llT = b.ll;
  }
  const row = { ...c, oneThread: median(one), threads: median(many), speedup: median(one) / median(many), runsOneThread: one, runsThreads: many, ll1, llT };
  rows.push(row);
  console.log(`| ${c.n}×${c.d} K=${c.k} ${c.cov} | ${row.oneThread.toFixed(4)} | ${row.threads.toFixed(4)} | ${row.speedup.toFixed(2)}× | ${ll1.toFixed(6)} | ${llT.toFixed(6)} |`);
}
const out = resultsPath('cpu-threads');
writeFileSync(out, JSON.stringify({ cores: availableParallelism(), runs, iterations: ITERATIONS, cases: rows }, null, 1));
console.log(`\nwrote ${out}`);
process.exit(0);
