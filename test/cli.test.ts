// The command line, spawned as a user runs it (`node bin/webgmm.js …`, the package's bin).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, readdirSync, statSync, lstatSync, chmodSync, linkSync, symlinkSync, copyFileSync, openSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GaussianMixture, InvalidArgumentError, train } from '../src/index.js';
import { Rng } from '../src/util/rng.js';
import { FIXTURES, readCsv, readTrace, relErr, maxRelErr, rainy } from './helpers.js';
import { GPU_AVAILABLE } from './gpu.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'webgmm.js');
const MODELS = join(FIXTURES, 'mlpack-models');
const BLOBS = join(MODELS, 'mlpack_test_blobs3_N3000_D2_K3.csv');
let dir: string;

function webgmm(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function modelOf(path: string): GaussianMixture {
  return new GaussianMixture(JSON.parse(readFileSync(path, 'utf8')));
}

/** A user error: exit 1, one line on stderr matching `message`, no stack trace, nothing on stdout. */
function expectUserError(r: ReturnType<typeof webgmm>, message: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('Warning: maxDynamic'));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgmm-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webgmm train', () => {
  it('trains, writes a webgmm model, prints the summary on stderr and nothing on stdout', () => {
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '42', '-t', '2', '-M', 'out.json', '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/log-likelihood -10911\.\d+/);
    expect(r.stderr).toMatch(/backend cpu, seed 42/);
    expect(r.stderr).toMatch(/time: load .* EM .* total/);
    const saved = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    expect(saved.format).toBe('webgmm.GaussianMixture');
    expect(saved.version).toBe(1);
    expect(saved.training.seed).toBe(42);
    const model = modelOf(join(dir, 'out.json'));
    const data = readCsv(BLOBS);
    // The summary's log-likelihood is the saved model's, and close to mlpack's own fit of these data.
    expect(relErr(model.logLikelihood(data), saved.training.logLikelihood)).toBeLessThan(1e-12);
    expect(relErr(saved.training.logLikelihood, -10911.399478194)).toBeLessThan(1e-3);
  });

  it('the same seed gives the same model; -t keeps the best trial', () => {
    webgmm('train', '-i', BLOBS, '-g', '3', '-s', '7', '-t', '3', '-M', 'a.json', '--backend', 'cpu');
    webgmm('train', '-i', BLOBS, '-g', '3', '-s', '7', '-t', '3', '-M', 'b.json', '--backend', 'cpu');
    expect(modelOf(join(dir, 'a.json')).toJSON()).toEqual(modelOf(join(dir, 'b.json')).toJSON());
  });

  it('-n caps the iterations, -T sets the tolerance, -v prints one line per iteration', () => {
    // Overlapping clusters: EM needs many iterations (well-separated blobs converge exactly in 2).
    const overlap = join(FIXTURES, 'mlpack-em', 'overlap_N6000_D4_K4.csv');
    const r = webgmm('train', '-i', overlap, '-g', '4', '-s', '1', '-n', '4', '-T', '0', '-v', '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => /^trial 1\/1 iteration \d+ log-likelihood/.test(l));
    expect(lines.map((l) => Number(/iteration (\d+)/.exec(l)![1]))).toEqual([0, 1, 2, 3, 4]);
    expect(r.stderr).toMatch(/^trial 1\/1 k-means iteration 1 shift \d/m);
    expect(r.stderr).toMatch(/iterations 4 .* converged no/);
    expect(r.stderr).toMatch(/no model will be saved/);
    const tight = webgmm('train', '-i', overlap, '-g', '4', '-s', '1', '-T', '1e-6', '--backend', 'cpu');
    const loose = webgmm('train', '-i', overlap, '-g', '4', '-s', '1', '-T', '1', '--backend', 'cpu');
    expect(loose.stderr).toMatch(/converged yes/);
    expect(Number(/iterations (\d+)/.exec(loose.stderr)![1])).toBeLessThan(Number(/iterations (\d+)/.exec(tight.stderr)![1]));
  });

  it('-k caps k-means: the library\'s model for kmeansMaxIterations 1, one k-means line per trial', async () => {
    const overlap = join(FIXTURES, 'mlpack-em', 'overlap_N6000_D4_K4.csv');
    const r = webgmm('train', '-i', overlap, '-g', '4', '-s', '5', '-n', '1', '-k', '1', '-v', '--backend', 'cpu', '-M', 'k1.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /^trial 1\/1 k-means iteration/.test(l))).toHaveLength(1);
    const data = readCsv(overlap);
    const expected = await train(data, { gaussians: 4, seed: 5, maxIterations: 1, kmeansMaxIterations: 1, backend: 'cpu' });
    expect(Array.from(modelOf(join(dir, 'k1.json')).means)).toEqual(Array.from(expected.model.means));
    // …which k-means run to convergence does not give (the cap is what is tested).
    const unbounded = await train(data, { gaussians: 4, seed: 5, maxIterations: 1, backend: 'cpu' });
    expect(Array.from(unbounded.model.means)).not.toEqual(Array.from(expected.model.means));
  });

  it('takes the boundary values its ranges include: --max_condition 1, --percentage 1', () => {
    for (const extra of [['--max_condition', '1'], ['-r', '-p', '1']]) {
      const r = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '1', '-n', '2', '--backend', 'cpu', ...extra);
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it('-v also names the default policy\'s wider-search steps, which report no iterations', () => {
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '42', '-t', '2', '-v', '--backend', 'cpu', '-M', 'searched.json');
    expect(r.code, r.stderr).toBe(0);
    const steps = r.stderr.split('\n').filter((l) => l.startsWith('wider search: '));
    expect(steps.slice(0, 2)).toEqual(['wider search: trial 1/2, second start (standardized)', 'wider search: trial 2/2, second start (standardized)']);
    expect(steps.some((l) => /^wider search: candidate 1\/\d on held-out points$/.test(l))).toBe(true);
    expect(steps.at(-1)).toBe('wider search: sharper clamp 2/2 on held-out points');
    // With the bar's ellipsis, within an 80-column terminal.
    for (const l of steps) expect(l.length + 1).toBeLessThan(80);
    const plain = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '42', '-t', '2', '-v', '--backend', 'cpu', '--covariance_constraint', 'mlpack', '-M', 'plain.json');
    expect(plain.stderr).not.toMatch(/wider search/);
  });

  it('-d writes diagonal covariances; -P is ignored with a note under -d', () => {
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '2', '-d', '-P', '-M', 'diag.json', '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    // The library's note in the CLI's words.
    expect(r.stderr).toMatch(/note: --no_force_positive is ignored with --diagonal_covariance/);
    expect(modelOf(join(dir, 'diag.json')).covarianceType).toBe('diagonal');
  });

  it('-P with a degenerate column fails naming the component', () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${Math.sin(i)},${Math.cos(3 * i)},1`).join('\n');
    const r = webgmm('train', '-i', file('const.csv', rows), '-g', '2', '-s', '1', '-P', '--backend', 'cpu', '-M', 'never.json');
    expectUserError(r, /component \d+ .*not positive definite/);
    expect(existsSync(join(dir, 'never.json'))).toBe(false);
  });

  it('-N adds noise; -k, -r, -S, -p run the refined k-means start', () => {
    const a = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '3', '-N', '0.5', '-M', 'noisy.json', '--backend', 'cpu');
    expect(a.code, a.stderr).toBe(0);
    const plain = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '3', '-M', 'plain.json', '--backend', 'cpu');
    expect(plain.code).toBe(0);
    // Noise of variance 0.5 widens every component's variances.
    const trace = (m: GaussianMixture) => Array.from({ length: 3 }, (_, c) => m.covariances[c * 4]! + m.covariances[c * 4 + 3]!).reduce((x, y) => x + y);
    expect(trace(modelOf(join(dir, 'noisy.json')))).toBeGreaterThan(trace(modelOf(join(dir, 'plain.json'))) + 1.5);
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '3', '-r', '-S', '10', '-p', '0.1', '-k', '50', '-M', 'refined.json', '--backend', 'cpu', '-v');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/refined start/);
  });

  it('a tab-separated .csv and a comma-separated .tsv train as found, with mlpack\'s note', () => {
    const rows = readFileSync(BLOBS, 'utf8').trim().split('\n');
    file('tabs.csv', rows.map((r) => r.replace(/,/g, '\t')).join('\n') + '\n');
    file('commas.tsv', rows.join('\n') + '\n');
    const base = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '2', '--backend', 'cpu', '-M', 'base.json');
    expect(base.code, base.stderr).toBe(0);
    for (const [name, note] of [['tabs.csv', 'tab-separated, not comma-separated'], ['commas.tsv', 'comma-separated, not tab-separated']]) {
      const r = webgmm('train', '-i', name!, '-g', '3', '-s', '2', '--backend', 'cpu', '-M', `${name}.json`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`webgmm: ${name}: the columns are ${note}; read them as found`);
      expect(Array.from(modelOf(join(dir, `${name}.json`)).means)).toEqual(Array.from(modelOf(join(dir, 'base.json')).means));
    }
    expect(base.stderr).not.toMatch(/separated, not/);
  });

  it('-m warm-starts from a model (webgmm or mlpack) and --weights_file weights the points', () => {
    const warm = webgmm('train', '-i', BLOBS, '-g', '3', '-m', join(MODELS, 'blobs3_k3_full.xml'), '-M', 'warm.json', '--backend', 'cpu');
    expect(warm.code, warm.stderr).toBe(0);
    // mlpack's model is already converged on these data: EM stops almost at once.
    expect(Number(/iterations (\d+)/.exec(warm.stderr)![1])).toBeLessThan(5);
    const n = readCsv(BLOBS).rows;
    const weights = file('w.csv', Array.from({ length: n }, (_, i) => (i % 3 === 0 ? '2' : '1')).join('\n'));
    const weighted = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '5', '--weights_file', weights, '-M', 'weighted.json', '--backend', 'cpu');
    expect(weighted.code, weighted.stderr).toBe(0);
  });

  it.each(['json', 'xml', 'bin'])('writes mlpack models (%s) that load back with the same parameters', (ext) => {
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '9', '-M', `m.${ext}`, '--model_format', 'mlpack', '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    if (ext === 'json') expect(readFileSync(join(dir, 'm.json'), 'utf8')).toMatch(/^\{\s*"model"/);
    const p = webgmm('probability', '-i', BLOBS, '-m', `m.${ext}`);
    expect(p.code, p.stderr).toBe(0);
    const logSum = p.stdout.trim().split('\n').map(Number).reduce((s, v) => s + Math.log(v), 0);
    expect(relErr(logSum, Number(/log-likelihood (\S+)/.exec(r.stderr)![1]))).toBeLessThan(1e-9);
  });

  it('--covariance_constraint and --backend accept their values and reject others', () => {
    expect(webgmm('train', '-i', BLOBS, '-g', '2', '-s', '1', '-n', '2', '--covariance_constraint', 'mlpack', '--backend', 'cpu').code).toBe(0);
    expect(webgmm('train', '-i', BLOBS, '-g', '2', '-s', '1', '-n', '2', '--covariance_constraint', 'unit-invariant', '--max_condition', '1e6', '--variance_floor', '1e-9', '--backend', 'cpu').code).toBe(0);
    expectUserError(webgmm('train', '-i', BLOBS, '-g', '2', '--covariance_constraint', 'sklearn'), /--covariance_constraint.*sklearn.*invalid|Allowed choices/);
    expectUserError(webgmm('train', '-i', BLOBS, '-g', '2', '--max_condition', '0.5'), /--max_condition must be a number ≥ 1/);
    expectUserError(webgmm('train', '-i', BLOBS, '-g', '2', '--variance_floor', '0'), /--variance_floor must be a number > 0 and ≤ 1/);
    expectUserError(webgmm('train', '-i', BLOBS, '-g', '2', '--variance_floor', '1e308'), /--variance_floor must be a number > 0 and ≤ 1/);
    // Real-valued flags are decimal, as data files are (-T 0x10 was tolerance 16).
    for (const [flag, long, value] of [['-T', '--tolerance', '0x10'], ['-N', '--noise', '0b11'], ['--max_condition', '--max_condition', '0o777'], ['-p', '--percentage', '0x1']]) {
      expectUserError(webgmm('train', '-i', BLOBS, '-g', '2', flag!, value!), new RegExp(`argument '${value}' is invalid\\. ${long} must be`));
    }
    expectUserError(webgmm('train', '-i', BLOBS, '-g', '2', '--backend', 'cuda'), /--backend.*cuda.*invalid|Allowed choices/);
    expectUserError(webgmm('train', '-i', BLOBS, '-g', '2', '--data_residency', 'host'), /--data_residency.*host.*invalid|Allowed choices/);
  });

  it.skipIf(!GPU_AVAILABLE)('--backend webgpu trains on the GPU, also in small chunks', () => {
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '42', '--backend', 'webgpu', '--max_chunk_points', '1000', '-M', 'gpu.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/backend webgpu \(/);
    // Same seed, same k-means start (on the CPU): the float32 EM ends where the float64 one does.
    const cpu = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '42', '--backend', 'cpu');
    const ll = (out: string) => Number(/log-likelihood (\S+)/.exec(out)![1]);
    expect(relErr(ll(r.stderr), ll(cpu.stderr))).toBeLessThan(1e-5);
    // It starts again in float64 (an early handover on small data): the CPU's log-likelihood, all
    // 15 digits of it; a run that stays in float32 (tolerance 0, 5 iterations) prints 8.
    const printed = (out: string) => /log-likelihood (\S+)/.exec(out)![1]!;
    expect(printed(r.stderr)).toBe(printed(cpu.stderr));
    expect(printed(cpu.stderr).replace(/[-.]/g, '')).toHaveLength(15);
    const float32 = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '42', '--backend', 'webgpu', '-T', '0', '-n', '5');
    expect(printed(float32.stderr).replace(/[-.]/g, '')).toHaveLength(8);
  });

  it('--threads: the model the library trains with useEmThreads and useKMeansThreads; without, the same fit to rounding', async () => {
    const rng = new Rng(8);
    const n = 40000;
    const rows: string[] = [];
    const values = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) values[i * 3 + j] = Number(((i % 3) * 4 + rng.nextNormal() * (1 + j * 0.3)).toFixed(6));
      rows.push(Array.from(values.subarray(i * 3, i * 3 + 3)).join(','));
    }
    const csv = file('threads.csv', rows.join('\n') + '\n');
    const args = ['train', '-i', csv, '-g', '3', '-s', '4', '-n', '15', '--backend', 'cpu'];
    const threaded = webgmm(...args, '--threads', '-M', 'threads.json');
    const plain = webgmm(...args, '-M', 'plain.json');
    expect(threaded.code, threaded.stderr).toBe(0);
    expect(plain.code, plain.stderr).toBe(0);
    // The run says so, and so does the model file (files of the same seed may differ by it).
    expect(threaded.stderr).toMatch(/backend cpu, --threads, seed 4/);
    expect(plain.stderr).toMatch(/backend cpu, seed 4/);
    const trainingOf = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, name), 'utf8')).training;
    expect(trainingOf('threads.json').threads).toBe(true);
    expect(trainingOf('plain.json')).not.toHaveProperty('threads');
    const { useEmThreads, useKMeansThreads, train: trainNode } = await import('../src/node.js');
    useKMeansThreads();
    useEmThreads();
    try {
      const expected = await trainNode({ data: values, rows: n, cols: 3 }, { gaussians: 3, seed: 4, maxIterations: 15, backend: 'cpu' });
      expect(modelOf(join(dir, 'threads.json')).toJSON()).toEqual(expected.model.toJSON());
    } finally {
      useEmThreads(false);
      useKMeansThreads(false);
    }
    const a = modelOf(join(dir, 'threads.json')).toJSON();
    const b = modelOf(join(dir, 'plain.json')).toJSON();
    expect(a).not.toEqual(b);
    // Both stop once the change is below float64's resolution of log L, at iterations that
    // rounding decides (9 and 11 here): the same fit, a step or two apart.
    expect(maxRelErr(a.means.flat(), b.means.flat())).toBeLessThan(1e-8);
  });

  it('reproduces mlpack\'s EM from its initial model through the CLI', () => {
    const trace = readTrace('overlap_N6000_D4_K4');
    const start = file('start.json', JSON.stringify({ format: 'webgmm.GaussianMixture', version: 1, ...trace.initialModel }));
    const r = webgmm('train', '-i', join(FIXTURES, 'mlpack-em', trace.data), '-g', '4', '-m', start, '-n', '50', '--covariance_constraint', 'mlpack', '--backend', 'cpu', '-M', 'parity.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`iterations ${trace.emUpdates} `));
    const m = modelOf(join(dir, 'parity.json')).toJSON();
    expect(maxRelErr(m.weights, trace.finalModel.weights)).toBeLessThan(1e-6);
  });
});

describe('webgmm probability and generate', () => {
  it('probability: log-sum of the densities is the log-likelihood in the fixtures README', () => {
    for (const [model, ll] of [['blobs3_k3_full.json', -10911.399478194], ['blobs3_k3_diag_as_gmm.bin', -15344.459076611327]] as const) {
      const r = webgmm('probability', '-i', BLOBS, '-m', join(MODELS, model), '-o', 'p.csv');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      const p = readFileSync(join(dir, 'p.csv'), 'utf8').trim().split('\n').map(Number);
      expect(p).toHaveLength(3000);
      expect(relErr(p.reduce((s, v) => s + Math.log(v), 0), ll)).toBeLessThan(1e-9);
    }
  });

  it('generate draws exactly the points of the library\'s model.sample(n, seed), also past one slice of its interruptible draw', () => {
    const model = join(MODELS, 'blobs3_k3_full.json');
    const n = 2 * 262_144 + 5;
    const r = webgmm('generate', '-m', model, '-n', String(n), '-s', '7', '-o', 'slices.csv');
    expect(r.code, r.stderr).toBe(0);
    const want = new GaussianMixture(JSON.parse(JSON.stringify(readMlpackJsonAsPlain(model)))).sample(n, 7);
    const got = readFileSync(join(dir, 'slices.csv'), 'utf8').trim().split('\n');
    expect(got).toHaveLength(n);
    for (const i of [0, 262_143, 262_144, 262_145, n - 1]) expect(got[i]!.split(',').map(Number)).toEqual(Array.from(want.data.subarray(2 * i, 2 * i + 2)));
  });

  it('generate: reproducible with a seed; samples match the model\'s mean and covariance', () => {
    const model = join(MODELS, 'blobs3_k3_full.json');
    const a = webgmm('generate', '-m', model, '-n', '20000', '-s', '11', '-o', 'g1.csv');
    const b = webgmm('generate', '-m', model, '-n', '20000', '-s', '11', '-o', 'g2.csv');
    expect(a.code, a.stderr).toBe(0);
    expect(b.code).toBe(0);
    expect(readFileSync(join(dir, 'g1.csv'), 'utf8')).toBe(readFileSync(join(dir, 'g2.csv'), 'utf8'));
    const toStdout = webgmm('generate', '-m', model, '-n', '5', '-s', '11');
    expect(toStdout.stdout.trim().split('\n')).toHaveLength(5);
    // Without -s the clock seed is reported, and passing it back draws the same points.
    const clock = webgmm('generate', '-m', model, '-n', '5');
    const seed = /seed (\d+) \(from the clock; -s \1 draws the same points\)/.exec(clock.stderr)?.[1];
    expect(seed, clock.stderr).toBeDefined();
    expect(webgmm('generate', '-m', model, '-n', '5', '-s', seed!).stdout).toBe(clock.stdout);
    const s = readCsv(join(dir, 'g1.csv'));
    const gmm = webgmm('probability', '-i', join(dir, 'g1.csv'), '-m', model);
    expect(gmm.code).toBe(0);
    // Mixture mean and covariance: Σ w μ and Σ w (Σ_k + μ_k μ_kᵀ) − μμᵀ, from the model itself.
    const m = new GaussianMixture(JSON.parse(JSON.stringify(readMlpackJsonAsPlain(model))));
    const mean = [0, 1].map((j) => [0, 1, 2].reduce((t, c) => t + m.weights[c]! * m.means[c * 2 + j]!, 0));
    const cov = [0, 1].map((i) => [0, 1].map((j) => [0, 1, 2].reduce((t, c) => t + m.weights[c]! * (m.covariances[c * 4 + i * 2 + j]! + m.means[c * 2 + i]! * m.means[c * 2 + j]!), 0) - mean[i]! * mean[j]!));
    const sm = [0, 1].map((j) => Array.from({ length: s.rows }, (_, r) => s.data[r * 2 + j]!).reduce((x, y) => x + y) / s.rows);
    const sc = [0, 1].map((i) => [0, 1].map((j) => Array.from({ length: s.rows }, (_, r) => (s.data[r * 2 + i]! - sm[i]!) * (s.data[r * 2 + j]! - sm[j]!)).reduce((x, y) => x + y) / s.rows));
    const scale = Math.sqrt(Math.max(cov[0]![0]!, cov[1]![1]!));
    [0, 1].forEach((j) => expect(Math.abs(sm[j]! - mean[j]!)).toBeLessThan(0.05 * scale));
    [0, 1].forEach((i) => [0, 1].forEach((j) => expect(Math.abs(sc[i]![j]! - cov[i]![j]!)).toBeLessThan(0.05 * scale * scale)));
  });
});

describe('output files: format by extension, links, devices, permissions, interruption', () => {
  const model = join(MODELS, 'blobs3_k3_full.json');

  it('.csv, .txt (spaces), .tsv and .npy hold the same numbers, and .npy reads back; other names are refused up front', async () => {
    const { readDataFile } = await import('../src/node.js');
    const texts: Record<string, string> = {};
    for (const ext of ['csv', 'txt', 'tsv', 'npy']) {
      const r = webgmm('generate', '-m', model, '-n', '7', '-s', '3', '-o', `fmt.${ext}`);
      expect(r.code, r.stderr).toBe(0);
      if (ext !== 'npy') texts[ext] = readFileSync(join(dir, `fmt.${ext}`), 'utf8');
    }
    expect(texts.txt).toBe(texts.csv!.replaceAll(',', ' '));
    expect(texts.tsv).toBe(texts.csv!.replaceAll(',', '\t'));
    const npy = await readDataFile(join(dir, 'fmt.npy'));
    const csv = await readDataFile(join(dir, 'fmt.csv'));
    expect([npy.rows, npy.cols]).toEqual([7, 2]);
    expect(Array.from(npy.data)).toEqual(Array.from(csv.data));
    // probability reads the .npy it wrote and writes its column in the format asked for.
    const p = webgmm('probability', '-i', 'fmt.npy', '-m', model, '-o', 'p.npy');
    expect(p.code, p.stderr).toBe(0);
    const col = await readDataFile(join(dir, 'p.npy'));
    expect([col.rows, col.cols]).toEqual([7, 1]);
    expect(Array.from(col.data).map(String)).toEqual(webgmm('probability', '-i', 'fmt.csv', '-m', model).stdout.trim().split('\n'));
    // .bin is Armadillo's binary matrix, as mlpack writes it: the same points again.
    expect(webgmm('generate', '-m', model, '-n', '7', '-s', '3', '-o', 'fmt.bin').code).toBe(0);
    const bin = await readDataFile(join(dir, 'fmt.bin'));
    expect([bin.format, bin.rows, bin.cols]).toEqual(['arma_binary', 7, 2]);
    expect(Array.from(bin.data)).toEqual(Array.from(csv.data));
    for (const name of ['out.h5', 'out.json', 'noextension']) {
      const before = snapshot();
      expectUserError(webgmm('generate', '-m', model, '-n', '3', '-o', name), /(unknown output file extension|no file extension).*use \.csv, \.txt, \.tsv, \.npy or \.bin/);
      expect(snapshot()).toEqual(before);
    }
  });

  it('writes through a symbolic link, keeps an existing file\'s permissions, and writes devices and FIFOs in place', async () => {
    writeFileSync(join(dir, 'target.csv'), 'old\n');
    symlinkSync('target.csv', join(dir, 'via-link.csv'));
    expect(webgmm('generate', '-m', model, '-n', '4', '-s', '1', '-o', 'via-link.csv').code).toBe(0);
    expect(lstatSync(join(dir, 'via-link.csv')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'target.csv'), 'utf8').trim().split('\n')).toHaveLength(4);
    writeFileSync(join(dir, 'private.csv'), 'old\n');
    chmodSync(join(dir, 'private.csv'), 0o600);
    expect(webgmm('generate', '-m', model, '-n', '4', '-s', '1', '-o', 'private.csv').code).toBe(0);
    expect(statSync(join(dir, 'private.csv')).mode & 0o777).toBe(0o600);
    // The special bits too (a chown after the chmod cleared them).
    chmodSync(join(dir, 'private.csv'), 0o6750);
    expect(webgmm('generate', '-m', model, '-n', '4', '-s', '1', '-o', 'private.csv').code).toBe(0);
    expect(statSync(join(dir, 'private.csv')).mode & 0o7777).toBe(0o6750);
    // /dev/null stays the device (a rename would have replaced it with a file).
    const r = webgmm('generate', '-m', model, '-n', '4', '-s', '1', '-o', '/dev/null');
    expect(r.code, r.stderr).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    // A named pipe: the reader gets the points, the pipe stays a pipe.
    const fifo = join(dir, 'points.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = '';
    reader.stdout.setEncoding('utf8').on('data', (s: string) => (got += s));
    const done = new Promise((res) => reader.on('close', res));
    const w = webgmm('generate', '-m', model, '-n', '4', '-s', '1', '-o', fifo);
    await done;
    expect(w.code, w.stderr).toBe(0);
    expect(got).toBe(webgmm('generate', '-m', model, '-n', '4', '-s', '1').stdout);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('dangling links: a chain is followed to its end, a relative link from where it really sits', () => {
    // a → b → c, none of them a file yet: c is created, a and b stay links.
    symlinkSync('chain-b.csv', join(dir, 'chain-a.csv'));
    symlinkSync('chain-c.csv', join(dir, 'chain-b.csv'));
    expect(webgmm('generate', '-m', model, '-n', '2', '-s', '1', '-o', 'chain-a.csv').code).toBe(0);
    expect(lstatSync(join(dir, 'chain-a.csv')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dir, 'chain-b.csv')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'chain-c.csv'), 'utf8').trim().split('\n')).toHaveLength(2);
    // via/out.csv → ../x.csv, where via is a link to real/sub: x.csv belongs in real/, not next to via.
    mkdirSync(join(dir, 'real', 'sub'), { recursive: true });
    symlinkSync(join('real', 'sub'), join(dir, 'via'));
    symlinkSync(join('..', 'x.csv'), join(dir, 'real', 'sub', 'out.csv'));
    expect(webgmm('generate', '-m', model, '-n', '2', '-s', '1', '-o', join('via', 'out.csv')).code).toBe(0);
    expect(existsSync(join(dir, 'real', 'x.csv'))).toBe(true);
    expect(existsSync(join(dir, 'x.csv'))).toBe(false);
  });

  it('-o /dev/stdout redirected to a file writes CSV into it (no extension needed, nothing renamed over it)', () => {
    const out = join(dir, 'redirected.csv');
    writeFileSync(out, 'kept\n');
    const fd = openSync(out, 'a');
    try {
      const r = spawnSync(process.execPath, [BIN, 'generate', '-m', model, '-n', '3', '-s', '1', '-o', '/dev/stdout'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
      expect(r.status, r.stderr).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(out, 'utf8')).toBe('kept\n' + webgmm('generate', '-m', model, '-n', '3', '-s', '1').stdout);
  });

  it('-o /dev/stdout writes through the shell\'s own descriptor: what the shell writes after it follows the output', () => {
    // `(echo before; webgmm … -o /dev/stdout; echo after) > out`: the descriptor is not in append
    // mode, so a file opened anew would keep an offset of its own and "after" would overwrite it.
    const out = join(dir, 'shared-offset.csv');
    const fd = openSync(out, 'w');
    try {
      writeSync(fd, 'before\n');
      const r = spawnSync(process.execPath, [BIN, 'generate', '-m', model, '-n', '3', '-s', '1', '-o', '/dev/stdout'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
      expect(r.status, r.stderr).toBe(0);
      writeSync(fd, 'after\n');
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(out, 'utf8')).toBe('before\n' + webgmm('generate', '-m', model, '-n', '3', '-s', '1').stdout + 'after\n');
    // A descriptor open for reading only (`3< file`) is not written through (EBADF after all the
    // work): the file is opened anew, as before.
    const ro = join(dir, 'read-only-fd.csv');
    writeFileSync(ro, 'kept\n');
    const rfd = openSync(ro, 'r');
    try {
      const r = spawnSync(process.execPath, [BIN, 'generate', '-m', model, '-n', '3', '-s', '1', '-o', '/dev/fd/3'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', rfd] });
      expect(r.status, r.stderr).toBe(0);
    } finally {
      closeSync(rfd);
    }
    expect(readFileSync(ro, 'utf8')).toBe('kept\n' + webgmm('generate', '-m', model, '-n', '3', '-s', '1').stdout);
  });

  it.skipIf(!existsSync('/dev/shm'))('a regular file under /dev (/dev/shm) is replaced whole like any other, and an unknown extension is refused there', () => {
    const shm = mkdtempSync('/dev/shm/webgmm-test-');
    try {
      const out = join(shm, 'out.csv');
      expect(webgmm('generate', '-m', model, '-n', '3', '-s', '1', '-o', out).code).toBe(0);
      expect(webgmm('generate', '-m', model, '-n', '3', '-s', '2', '-o', out).code).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(webgmm('generate', '-m', model, '-n', '3', '-s', '2').stdout);
      const modelOut = join(shm, 'm.json');
      writeFileSync(modelOut, '{"previous": "model"}\n');
      const t = webgmm('train', '-i', BLOBS, '-g', '3', '-s', '1', '-n', '3', '--backend', 'cpu', '-M', modelOut);
      expect(t.code, t.stderr).toBe(0);
      expect(modelOf(modelOut).gaussians).toBe(3);
      const typo = webgmm('generate', '-m', model, '-n', '2', '-s', '1', '-o', join(shm, 'out.nyp'));
      expect(typo.code).toBe(1);
      expect(typo.stderr).toMatch(/unknown output file extension "\.nyp"/);
      expect(existsSync(join(shm, 'out.nyp'))).toBe(false);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('a signal while waiting for a FIFO\'s reader ends the run (exit 143), it does not hang', async () => {
    const fifo = join(dir, 'nobody-reads.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const child = spawn(process.execPath, [BIN, 'generate', '-m', model, '-n', '3', '-s', '1', '-o', fifo], { cwd: dir, stdio: 'ignore' });
    const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
    if (code === 'still running after 10 s') child.kill('SIGKILL');
    expect(code).toBe(143);
  }, 30_000);

  it('a signal while an input FIFO has no writer ends the run as the signal would (exit 130 / 143 in a shell)', async () => {
    // The open() of the FIFO blocks a thread that nothing can interrupt, and process.exit() waited
    // for that thread: the process hung until SIGKILL.
    const fifo = join(dir, 'nobody-writes.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const child = spawn(process.execPath, [BIN, 'train', '-i', fifo, '-g', '1', '--backend', 'cpu', '-M', 'never.json'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      const closed = new Promise<string>((res) => child.on('close', (code, signal) => res(`${code}/${signal}`)));
      await new Promise((r) => setTimeout(r, 1000));
      child.kill(sig);
      const ended = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
      if (ended === 'still running after 10 s') child.kill('SIGKILL');
      expect(ended).toBe(`null/${sig}`);
      expect(stderr).toMatch(sig === 'SIGINT' ? /webgmm: interrupted/ : /webgmm: terminated/);
      expect(existsSync(join(dir, 'never.json'))).toBe(false);
    }
  }, 40_000);

  /**
   * Spawns webgmm, sends `sig` `delayMs` after `ready` matches its stderr (null: after it starts),
   * and reports how it ended (`code/signal`).
   */
  async function interrupt(args: string[], ready: RegExp | null, sig: NodeJS.Signals, delayMs: number): Promise<{ ended: string; stderr: string }> {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    let stderr = '';
    let sent = false;
    const send = (): void => {
      sent = true;
      setTimeout(() => child.kill(sig), delayMs);
    };
    if (ready === null) send();
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
      if (!sent && ready !== null && ready.test(stderr)) send();
    });
    const closed = new Promise<string>((res) => child.on('close', (code, signal) => res(`${code}/${signal}`)));
    const ended = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
    if (ended === 'still running after 20 s') child.kill('SIGKILL');
    return { ended, stderr };
  }

  it('Ctrl-C while probability computes densities stops it at once (exit 130, nothing written)', async () => {
    // 120 000 × 16 points under K = 800 full components: about half a minute of scoring on one
    // core, which was one synchronous call that neither the signal nor the grace period could cut.
    const { writeDataFile, writeModelFile } = await import('../src/node.js');
    const rng = new Rng(12);
    const k = 800, d = 16, n = 120_000;
    const identity = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
    const model = new GaussianMixture({ weights: new Array(k).fill(1 / k), means: Array.from({ length: k }, () => Array.from({ length: d }, () => rng.nextNormal())), covariances: new Array(k).fill(identity) });
    await writeModelFile(join(dir, 'many.json'), model);
    await writeDataFile(join(dir, 'many.npy'), { data: Float64Array.from({ length: n * d }, () => rng.nextNormal()), rows: n, cols: d });
    const r = await interrupt(['probability', '-i', 'many.npy', '-m', 'many.json', '-o', 'many-p.csv', '-v'], /points loaded/, 'SIGINT', 300);
    // Exit 130 is the run's own clean stop: a run that went on scoring is ended 3 s later by the
    // re-raised signal instead (null/SIGINT).
    expect(r.ended, r.stderr).toBe('130/null');
    expect(existsSync(join(dir, 'many-p.csv'))).toBe(false);
  }, 60_000);

  it('Ctrl-C while a data file is still being read ends the run cleanly (exit 130), not by the signal', async () => {
    // A FIFO whose writer trickles lines: the reader is never done, and used to ignore the abort,
    // so only the 3 s grace period's re-raised signal ended the process.
    const fifo = join(dir, 'trickle.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn('bash', ['-c', `exec > '${fifo}'; while :; do echo 1,2; echo 3,5; sleep 0.02; done`], { stdio: 'ignore' });
    try {
      const r = await interrupt(['train', '-i', fifo, '-g', '1', '--backend', 'cpu', '-M', 'trickled.json'], null, 'SIGINT', 1500);
      expect(r.ended, r.stderr).toBe('130/null');
      expect(existsSync(join(dir, 'trickled.json'))).toBe(false);
    } finally {
      writer.kill('SIGKILL');
    }
  }, 60_000);

  it('full covariances in 100+ dimensions train on a worker thread: the same model as train() here', async () => {
    const rng = new Rng(11);
    const rows: string[] = [];
    const values = new Float64Array(300 * 120);
    for (let i = 0; i < 300; i++) {
      for (let j = 0; j < 120; j++) values[i * 120 + j] = (i % 2 === 0 ? 0 : 3) + rng.nextNormal() * (1 + (j % 5));
      rows.push(Array.from(values.subarray(i * 120, (i + 1) * 120), String).join(','));
    }
    writeFileSync(join(dir, 'wide120.csv'), rows.join('\n') + '\n');
    const r = webgmm('train', '-i', 'wide120.csv', '-g', '2', '-s', '3', '-t', '2', '-n', '20', '--backend', 'cpu', '-M', 'wide120.json', '-v');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('webgmm: training on a worker thread (full covariances in 120 dimensions)');
    const here = await train({ data: values, rows: 300, cols: 120 }, { gaussians: 2, seed: 3, trials: 2, maxIterations: 20, backend: 'cpu' });
    const saved = modelOf(join(dir, 'wide120.json'));
    expect(Array.from(saved.weights)).toEqual(Array.from(here.model.weights));
    expect(Array.from(saved.means)).toEqual(Array.from(here.model.means));
    expect(Array.from(saved.covariances)).toEqual(Array.from(here.model.covariances));
  }, 60_000);

  it('Ctrl-C during a long synchronous step (eigendecomposing singular covariances in 1500 dimensions) ends the run within seconds', async () => {
    // 30 points in 1500 dimensions: every covariance is singular and each is eigendecomposed
    // (about 20 s apiece here). On the main thread the signal waited for all of them.
    const rng = new Rng(5);
    const lines = Array.from({ length: 30 }, () => Array.from({ length: 1500 }, () => rng.nextNormal().toFixed(3)).join(','));
    writeFileSync(join(dir, 'transposed.csv'), lines.join('\n') + '\n');
    const child = spawn(process.execPath, [BIN, 'train', '-i', 'transposed.csv', '-g', '2', '--backend', 'cpu', '-M', 'transposed.json'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const closed = new Promise<string>((res) => child.on('close', (code, signal) => res(`${code}/${signal}`)));
    const t0 = Date.now();
    while (!/more columns \(1500\) than rows \(30\)/.test(stderr) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const ended = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
    if (ended === 'still running after 10 s') child.kill('SIGKILL');
    // Either the worker stopped at a check (130) or, stuck inside the step, the grace period ended it.
    expect(['130/null', 'null/SIGINT'], stderr).toContain(ended);
    expect(stderr).toMatch(/webgmm: interrupted/);
    expect(existsSync(join(dir, 'transposed.json'))).toBe(false);
  }, 60_000);

  it('a read-only output file is refused before any work, not replaced', () => {
    // Root may write anything: as root (CI), the command runs as the unprivileged user 65534, in a
    // directory it may write (so only the file's own mode can stop it).
    const asRoot = process.getuid?.() === 0;
    const sub = join(dir, 'readonly');
    mkdirSync(sub);
    if (asRoot) {
      chmodSync(dir, 0o755);
      chmodSync(sub, 0o777);
    }
    writeFileSync(join(sub, 'ro.csv'), 'keep\n');
    chmodSync(join(sub, 'ro.csv'), 0o444);
    const r = spawnSync(process.execPath, [BIN, 'generate', '-m', model, '-n', '3', '-o', 'ro.csv'], {
      cwd: sub, encoding: 'utf8', timeout: 60_000, env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expectUserError({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }, /--output_file ro\.csv: cannot write there: the file is read-only/);
    expect(readFileSync(join(sub, 'ro.csv'), 'utf8')).toBe('keep\n');
  });

  it('an output in a directory that takes no new files (procfs) is refused before any work, also as root', () => {
    // As root, access(W_OK) says yes on /proc; the file system refuses the file only when made.
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '--backend', 'cpu', '-M', '/proc/webgmm-model.json');
    expectUserError(r, /^webgmm: error: --output_model_file \/proc\/webgmm-model\.json: cannot write there: (cannot create a file in \/proc: its file system takes no new files|the directory \/proc is not writable)$/m);
    expect(r.stdout).not.toMatch(/log-likelihood/);
  });

  it('SIGTERM, Ctrl-C or SIGHUP while writing: exit 143 / 130 / 129, no output and no temporary file left', async () => {
    // SIGHUP (a closed terminal, a dropped ssh session) had its default action: a 417 MB temporary left.
    for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]] as const) {
      const child = spawn(process.execPath, [BIN, 'generate', '-m', model, '-n', '3000000', '-s', '1', '-o', 'big.csv'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      // Wait until the temporary file exists: the signal then arrives in the middle of the write.
      const t0 = Date.now();
      while (!readdirSync(dir).some((f) => f.startsWith('.big.csv.tmp-')) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
      child.kill(sig);
      expect(await closed, stderr).toBe(code);
      expect(stderr).toMatch(/nothing was written/);
      expect(readdirSync(dir).filter((f) => f.includes('big.csv'))).toEqual([]);
    }
  }, 120_000);


  it('a socket as an output or an input: refused in one plain line (open() cannot take one), outputs before any work', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((res) => server.listen(join(dir, 'sock.csv'), res));
    try {
      expectUserError(webgmm('probability', '-i', BLOBS, '-m', model, '-o', 'sock.csv'), /^webgmm: error: --output_file sock\.csv: cannot write there: is a socket, which cannot be opened as a file$/m);
      expectUserError(webgmm('probability', '-i', 'sock.csv', '-m', model), /^webgmm: error: sock\.csv: cannot read: no such device or address \(a socket cannot be opened as a file\)$/m);
    } finally {
      await new Promise((res) => server.close(res));
    }
  });

  it('main() called in-process: a run stopped by a signal leaves no grace timer to end the host later', async () => {
    // The timer used to fire 3 s after main() had returned 130, printing "interrupted" and
    // killing the calling process.
    const main = join(ROOT, 'dist', 'cli', 'main.js').replace(/\\/g, '/');
    const script = `
      const { main } = await import(${JSON.stringify(pathToFileURL(main).href)});
      setTimeout(() => process.emit('SIGINT', 'SIGINT'), 300);
      const code = await main(['node', 'webgmm', 'generate', '-m', ${JSON.stringify(model)}, '-n', '3000000', '-s', '1', '-o', 'inproc.csv']);
      await new Promise((r) => setTimeout(r, 3500));
      console.log('returned', code, 'and lived on');
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim(), r.stderr).toBe('returned 130 and lived on');
    expect(r.status).toBe(0);
  }, 60_000);

  it('an option given twice, or a flag where a file name belongs, is an error (as in mlpack\'s parser)', () => {
    expectUserError(webgmm('train', '-i', BLOBS, '-g', '3', '-g', '2', '-M', 'twice.json'), /^webgmm train: error: --gaussians is given more than once$/m);
    expectUserError(webgmm('generate', '-m', model, '-n', '3', '-s', '1', '--seed', '2'), /--seed is given more than once/);
    expect(existsSync(join(dir, 'twice.json'))).toBe(false);
    expectUserError(webgmm('probability', '-i', BLOBS, '-m', model, '-o', '-v'), /--output_file needs a file name, got the flag -v .*\.\/-v/);
    expect(existsSync(join(dir, '-v'))).toBe(false);
  });

  it('an mlpack model edited by hand (stale stored factors) is used with a note saying how mlpack would differ', () => {
    const xml = readFileSync(join(MODELS, 'blobs3_k3_full.xml'), 'utf8').replace('<elem>0.9960038887955931</elem>', '<elem>1.9920077775911862</elem>');
    file('edited.xml', xml);
    const g = webgmm('generate', '-m', 'edited.xml', '-n', '2', '-s', '1');
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toContain('webgmm: note: edited.xml: the stored covLower / invCov / logDetCov of component 1 do not match its covariance');
    expect(webgmm('generate', '-m', join(MODELS, 'blobs3_k3_full.xml'), '-n', '2', '-s', '1').stderr).not.toMatch(/do not match/);
  });

  it('--info <option> prints that option\'s help, as mlpack\'s --info does, whatever else is given', () => {
    const g = webgmm('train', '--info', 'gaussians');
    expect([g.code, g.stdout, g.stderr]).toEqual([0, '-g, --gaussians <n>\n  number of Gaussian components (required)\n', '']);
    for (const name of ['max_iterations', '-n', '--max_iterations']) {
      expect(webgmm('train', '-i', 'missing.csv', '--info', name).stdout).toMatch(/^-n, --max_iterations <n>\n .* \(default: 250\)\n$/);
    }
    expect(webgmm('train', '--info=backend').stdout).toMatch(/\(default: auto; one of: auto, webgpu, cpu\)\n$/);
    expect(webgmm('generate', '--info', 'samples').stdout).toMatch(/^-n, --samples <n>\n  number of points to draw \(required\)\n$/);
    expectUserError(webgmm('probability', '--info', 'gaussians'), /webgmm probability: error: --info: no option named "gaussians" \(the options: input_file, input_model_file, output_file/);
    expectUserError(webgmm('generate', '--info'), /--info needs the name of an option/);
    expectUserError(webgmm('train', '--info', 'g', '--info', 's'), /--info is given more than once/);
    // After "--" it is an operand, not the option (and train takes none).
    expect(webgmm('train', '-i', BLOBS, '-g', '1', '--', '--info', 'g').stdout).not.toMatch(/--gaussians/);
  });

  it('-v on probability and generate reports on stderr; stdout carries only the data', () => {
    const p = webgmm('probability', '-i', BLOBS, '-m', model, '-v');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/3 gaussians, dimensionality 2/);
    expect(p.stderr).toMatch(/3000 points loaded/);
    expect(p.stdout.trim().split('\n')).toHaveLength(3000);
    const g = webgmm('generate', '-m', model, '-n', '5', '-s', '2', '-v');
    expect(g.stdout).toBe(webgmm('generate', '-m', model, '-n', '5', '-s', '2').stdout);
    expect(g.stderr).toMatch(/5 points drawn/);
  });

  it('says when a tab-separated file is read as blank-separated from a line on', () => {
    const r = webgmm('train', '-i', file('mixed.tsv', '1\t2\n3 4\n5\t6.5\n2\t3\n'), '-g', '1', '--backend', 'cpu', '-M', 'mixed.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^webgmm: \S*mixed\.tsv: tab-separated, but line 2 separates with spaces: read as blank-separated from there, as mlpack reads it$/m);
  });

  it('probability says how many densities underflow float64 (written as 0), and only then', () => {
    const far = webgmm('probability', '-i', file('far.csv', '0,0\n1e3,1e3\n1e4,-1e4\n'), '-m', model);
    expect(far.code, far.stderr).toBe(0);
    const p = far.stdout.trim().split('\n').map(Number);
    expect(p[0]).toBeGreaterThan(0);
    expect(p.slice(1)).toEqual([0, 0]);
    expect(far.stderr).toMatch(/^webgmm: note: 2 of 3 points have a density below float64's smallest \(log-density under −745\): written as 0 \(--log writes log-densities\)$/m);
    expect(webgmm('probability', '-i', BLOBS, '-m', model).stderr).not.toMatch(/below float64/);
  });

  it('probability --log writes log p(x): the log of what it writes without, and finite where p(x) leaves float64', async () => {
    const points = file('far-log.csv', '0,0\n1e3,1e3\n1e4,-1e4\n');
    const lp = webgmm('probability', '-i', points, '-m', model, '--log');
    expect(lp.code, lp.stderr).toBe(0);
    expect(lp.stderr).not.toMatch(/note/);
    const logs = lp.stdout.trim().split('\n').map(Number);
    const p = webgmm('probability', '-i', points, '-m', model).stdout.trim().split('\n').map(Number);
    expect(relErr(logs[0]!, Math.log(p[0]!))).toBeLessThan(1e-14);
    // The two points whose density underflows: their log-densities, as the library scores them.
    const want = new GaussianMixture(JSON.parse(JSON.stringify(readMlpackJsonAsPlain(model)))).scoreSamples([[1e3, 1e3], [1e4, -1e4]]);
    expect(logs.slice(1)).toEqual(Array.from(want));
    for (const v of logs.slice(1)) expect(v).toBeLessThan(-745);
    // On the fixture, the sum is the log-likelihood, as the densities' log-sum is.
    const blobs = webgmm('probability', '-i', BLOBS, '-m', join(MODELS, 'blobs3_k3_full.json'), '--log', '-o', 'lp.npy');
    expect(blobs.code, blobs.stderr).toBe(0);
    const { readDataFile } = await import('../src/node.js');
    const col = await readDataFile(join(dir, 'lp.npy'));
    expect(relErr(Array.from(col.data).reduce((t, v) => t + v, 0), -10911.399478194)).toBeLessThan(1e-9);
    // Only a squared distance beyond float64 gives −Infinity, and a note says so.
    const out = webgmm('probability', '-i', file('out.csv', '0,0\n1e200,0\n'), '-m', model, '--log');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim().split('\n')[1]).toBe('-Infinity');
    expect(out.stderr).toMatch(/^webgmm: note: 1 of 2 points has a log-density below float64's range \(a squared distance that overflows it\): written as -Infinity$/m);
  });

  it('probability says how many densities overflow float64 (written as Infinity)', async () => {
    const { writeModelFile } = await import('../src/node.js');
    // Four dimensions of variance 1e-200: log p at the mean = −2 log(2π) + 460 · 2 ≈ 917 > 709.
    const narrow = new GaussianMixture({ weights: [1], means: [[0, 0, 0, 0]], covariances: [[1e-200, 1e-200, 1e-200, 1e-200]], covarianceType: 'diagonal' });
    await writeModelFile(join(dir, 'narrow.json'), narrow);
    const r = webgmm('probability', '-i', file('at-mean.csv', '0,0,0,0\n1,1,1,1\n'), '-m', 'narrow.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['Infinity', '0']);
    expect(r.stderr).toMatch(/^webgmm: note: 1 of 2 points has a density beyond float64's largest \(log-density over 709\.78\): written as Infinity \(--log writes log-densities\)$/m);
    expect(r.stderr).toMatch(/^webgmm: note: 1 of 2 points has a density below float64's smallest/m);
  });

  it('-m with k-means flags says they are ignored, before training', () => {
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-m', model, '-r', '-k', '5', '-n', '2', '--backend', 'cpu', '-M', 'warm.json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const note = lines.findIndex((l) => /note: --refined_start, --kmeans_max_iterations are ignored with --input_model_file/.test(l));
    expect(note).toBeGreaterThanOrEqual(0);
    expect(note).toBeLessThan(lines.findIndex((l) => l.startsWith('log-likelihood')));
    const plain = webgmm('train', '-i', BLOBS, '-g', '3', '-m', model, '-n', '2', '--backend', 'cpu', '-M', 'warm.json');
    expect(plain.stderr).not.toMatch(/are ignored|is ignored/);
    // Said once: the library's own note for the same options is not repeated.
    expect(r.stderr.match(/ignored/g)).toHaveLength(1);
  });

  it('notes refined-start flags without -r and WebGPU flags on the CPU backend (once each, in flags)', () => {
    const r = webgmm('train', '-i', BLOBS, '-g', '3', '-S', '5', '-n', '2', '--backend', 'cpu', '--max_chunk_points', '64', '-s', '1', '-M', 'plain.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^webgmm: note: --samplings applies to --refined_start only, which is off: ignored$/m);
    expect(r.stderr).toMatch(/^webgmm: note: --max_chunk_points applies to the WebGPU backend only; --backend cpu ignores it$/m);
    const quiet = webgmm('train', '-i', BLOBS, '-g', '3', '-r', '-S', '5', '-n', '2', '--backend', 'cpu', '-s', '1', '-M', 'plain.json');
    expect(quiet.stderr).not.toMatch(/ignore/);
  });

  it('notes --model_format where it chooses nothing (an .xml or .bin name, no -M), not for a .json name', () => {
    const xml = webgmm('train', '-i', BLOBS, '-g', '3', '-n', '2', '--backend', 'cpu', '-s', '1', '--model_format', 'mlpack', '-M', 'fmt.xml');
    expect(xml.code, xml.stderr).toBe(0);
    expect(xml.stderr).toMatch(/^webgmm: note: --model_format is ignored: it chooses the format of a \.json model, and fmt\.xml is mlpack's \.xml archive either way$/m);
    const none = webgmm('train', '-i', BLOBS, '-g', '3', '-n', '2', '--backend', 'cpu', '-s', '1', '--model_format', 'mlpack');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stderr).toMatch(/^webgmm: note: --model_format is ignored: no model is saved$/m);
    for (const format of ['mlpack', 'webgmm']) {
      const json = webgmm('train', '-i', BLOBS, '-g', '3', '-n', '2', '--backend', 'cpu', '-s', '1', '--model_format', format, '-M', 'fmt.json');
      expect(json.code, json.stderr).toBe(0);
      expect(json.stderr).not.toMatch(/ignore/);
    }
    const help = webgmm('train', '--help').stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--model_format <format> [^-]*\(default: webgmm;/);
    expect(help).toMatch(/--max_chunk_points <n> [^-]*\(default: /);
  });
});

/** The parameters of an mlpack JSON model via the CLI's own reader would be circular; parse elem values here. */
function readMlpackJsonAsPlain(path: string) {
  const text = readFileSync(path, 'utf8');
  const matrices = [...text.matchAll(/"n_rows": "(\d+)",\s*"n_cols": "(\d+)",\s*"vec_state": "\d+",((?:\s*"elem": [^,}\s]+,?)+)/g)].map((m) => ({
    rows: Number(m[1]),
    cols: Number(m[2]),
    values: [...m[3]!.matchAll(/"elem": ([^,}\s]+)/g)].map((e) => Number(e[1])),
  }));
  // Per dist: mean, covariance, covLower, invCov; then the weights.
  const weights = matrices[matrices.length - 1]!.values;
  const means: number[][] = [], covariances: number[][][] = [];
  for (let c = 0; c < weights.length; c++) {
    means.push(matrices[c * 4]!.values);
    const v = matrices[c * 4 + 1]!.values, d = matrices[c * 4 + 1]!.rows;
    covariances.push(Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => v[j * d + i]!)));
  }
  return { weights, means, covariances };
}

describe('help and version', () => {
  it('--help of each command lists every flag with its default and an example', () => {
    const r = webgmm('train', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--input_file', '--gaussians', '--trials', '--tolerance', '--max_iterations', '--no_force_positive', '--diagonal_covariance', '--noise', '--kmeans_max_iterations', '--refined_start', '--samplings', '--percentage', '--seed', '--input_model_file', '--output_model_file', '--verbose', '--weights_file', '--covariance_constraint', '--max_condition', '--variance_floor', '--backend', '--model_format']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/default: 250/);
    expect(r.stdout).toMatch(/default: 1e-10/);
    expect(r.stdout).toMatch(/Example/);
    for (const cmd of ['probability', 'generate']) {
      const h = webgmm(cmd, '--help');
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/--input_model_file/);
      expect(h.stdout).toMatch(/Example/);
    }
    const v = webgmm('--version');
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});

describe('bad input: one line on stderr, exit 1, no output file, inputs untouched', () => {
  const out = () => join(dir, 'should-not-exist.json');
  const cases: [string, () => string[], RegExp][] = [
    ['missing file', () => ['train', '-i', 'nope.csv', '-g', '2'], /nope\.csv: no such file/],
    ['empty file', () => ['train', '-i', file('empty.csv', ''), '-g', '2'], /empty\.csv: the file is empty/],
    ['ragged row', () => ['train', '-i', file('ragged.csv', '1,2,3\n4,5,6\n7,8\n'), '-g', '1'], /ragged\.csv: line 3 has 2 values but line 1 has 3/],
    ['non-numeric cell', () => ['train', '-i', file('text.csv', '1,2\n3,abc\n'), '-g', '1'], /text\.csv: line 2, column 2: "abc" is not a number/],
    ['NaN', () => ['train', '-i', file('nan.csv', '1,2\n3,NaN\n5,6\n'), '-g', '1'], /nan\.csv: line 2, column 2/],
    ['Inf', () => ['train', '-i', file('inf.csv', '1,2\n3,4\ninf,6\n'), '-g', '1'], /inf\.csv: line 3, column 1/],
    ['a header only', () => ['train', '-i', file('header.csv', 'x,y\n'), '-g', '1'], /header\.csv: no data rows after the header/],
    ['unknown flag', () => ['train', '-i', BLOBS, '-g', '2', '--gausians', '3'], /unknown option '--gausians'/],
    ['missing required flag', () => ['train', '-i', BLOBS], /required option '-g, --gaussians <n>' not specified/],
    ['value out of range', () => ['train', '-i', BLOBS, '-g', '0'], /--gaussians must be an integer > 0/],
    ['percentage out of range', () => ['train', '-i', BLOBS, '-g', '2', '-p', '1.5'], /--percentage must be in \(0, 1\]/],
    ['more gaussians than points', () => ['train', '-i', file('three.csv', '1\n2\n3\n'), '-g', '5'], /^webgmm: error: --gaussians 5: \S*three\.csv has only 3 points \(need at least one point per gaussian\)$/],
    // Not blamed on the columns (with -d suggested) by the full-covariance size check.
    ['far more gaussians than points', () => ['train', '-i', file('three2.csv', '1,2\n3,4\n5,7\n'), '-g', '100000000'], /^webgmm: error: --gaussians 100000000: \S*three2\.csv has only 3 points/],
    ['model of another dimension', () => ['train', '-i', file('d3.csv', '1,2,3\n4,5,6\n7,8,9\n1,1,2\n'), '-g', '3', '-m', join(MODELS, 'blobs3_k3_full.json')], /blobs3_k3_full\.json: the model has dimensionality 2 but .*d3\.csv has 3 columns/],
    ['model with another number of gaussians', () => ['train', '-i', BLOBS, '-g', '2', '-m', join(MODELS, 'blobs3_k3_full.json')], /the model has 3 gaussians but --gaussians is 2/],
    ['unwritable output path', () => ['train', '-i', BLOBS, '-g', '2', '-M', join(dir, 'no', 'such', 'dir', 'm.json')], /--output_model_file .*m\.json: cannot write there/],
    // A Latin-1 byte in a name arrives as U+FFFD: the input was "no such file", an output written under another name.
    ['a file name that is not UTF-8', () => ['train', '-i', BLOBS, '-g', '2', '-M', 'm\uFFFD.json'], /--output_model_file m\uFFFD\.json: the file name is not valid UTF-8/],
    // Was approved (its directory exists) and failed only at the rename, after the work.
    ['output path ending in a slash', () => ['train', '-i', BLOBS, '-g', '2', '-M', 'slash.json/'], /^webgmm: error: --output_model_file slash\.json\/: cannot write there: the name ends with "\/", so it names a directory, not a file$/m],
    ['probability: output path ending in a slash', () => ['probability', '-i', BLOBS, '-m', join(MODELS, 'blobs3_k3_full.json'), '-o', 'p.csv/'], /--output_file p\.csv\/: cannot write there: the name ends with "\/"/],
    ['weights file of the wrong length', () => ['train', '-i', BLOBS, '-g', '2', '--weights_file', file('short-w.csv', '1\n2\n3\n')], /short-w\.csv: has 3 weights but the data has 3000 points/],
    ['negative weight', () => ['train', '-i', file('tiny.csv', '1\n2\n3\n'), '-g', '1', '--weights_file', file('neg-w.csv', '1\n-2\n3\n')], /neg-w\.csv: line 2/],
    // Was "--gaussians: gaussians = 3 but only 2 … have a positive weight", the weights file unnamed.
    ['fewer points of positive weight than gaussians', () => ['train', '-i', file('four.csv', '1\n2\n3\n4\n'), '-g', '3', '--weights_file', file('two-w.csv', '1\n0\n0\n2\n')], /^webgmm: error: --gaussians 3 but only 2 of the 4 points have a positive weight in \S*two-w\.csv \(need at least one per gaussian\)$/m],
    ['probability: model of another dimension', () => ['probability', '-i', file('d1.csv', '1\n2\n'), '-m', join(MODELS, 'blobs3_k3_full.xml')], /has dimensionality 2 but .*d1\.csv has 1 column$/],
    ['generate: negative samples', () => ['generate', '-m', join(MODELS, 'blobs3_k3_full.json'), '-n', '-5'], /--samples must be an integer > 0/],
    // mlpack's gmm_generate: "number of samples must be greater than 0".
    ['generate: zero samples', () => ['generate', '-m', join(MODELS, 'blobs3_k3_full.json'), '-n', '0'], /--samples must be an integer > 0/],
    ['generate: missing model', () => ['generate', '-m', 'nope.json', '-n', '5'], /nope\.json: no such file/],
    ['seed past 2^53', () => ['generate', '-m', join(MODELS, 'blobs3_k3_full.json'), '-n', '5', '-s', '9007199254740992'], /--seed must be an integer ≥ 0 and at most 2\^53 - 1 \(9007199254740991\)/],
    // The extension is checked before the data are read (nope.csv would fail first otherwise), not after training.
    ['output model of an unknown extension', () => ['train', '-i', 'nope.csv', '-g', '3', '-M', 'model.txt'], /model\.txt: unknown model file extension "\.txt" \(use \.json, \.xml or \.bin\)/],
    ['webgmm format in an mlpack extension', () => ['train', '-i', 'nope.csv', '-g', '3', '-M', 'model.xml', '--model_format', 'webgmm'], /model\.xml: webgmm models are JSON files/],
    ['empty --output_model_file', () => ['train', '-i', BLOBS, '-g', '2', '-M', ''], /--output_model_file: empty path/],
    ['empty --input_file', () => ['train', '-i', '', '-g', '2'], /--input_file: empty path/],
    ['empty --weights_file', () => ['train', '-i', BLOBS, '-g', '2', '--weights_file', ''], /--weights_file: empty path/],
    ['probability: empty --output_file', () => ['probability', '-i', BLOBS, '-m', join(MODELS, 'blobs3_k3_full.json'), '-o', ''], /--output_file: empty path/],
    ['generate: empty --output_file', () => ['generate', '-m', join(MODELS, 'blobs3_k3_full.json'), '-n', '3', '-o', ''], /--output_file: empty path/],
    ['generate: empty --input_model_file', () => ['generate', '-m', '', '-n', '3'], /--input_model_file: empty path/],
    ['generate: more samples than can be held', () => ['generate', '-m', join(MODELS, 'blobs3_k3_full.json'), '-n', '1000000000000000'], /--samples 1000000000000000: .*draw fewer/],
    // Library messages in the CLI's words: flags, not option names; trials counted from 1.
    ['a degenerate cluster under --no_force_positive', () => ['train', '-i', file('dup.csv', '1,2\n1,2\n1,2\n1,2\n'), '-g', '2', '-P', '--backend', 'cpu'], /component 0 \(from k-means, trial 1\) is not positive definite: .*drop --no_force_positive or add --noise$/],
    ['values too large for float64', () => ['train', '-i', file('huge.csv', '1e160,1\n-1e160,2\n3,3\n'), '-g', '1'], /huge\.csv: column 1 \(index 0\) holds values from -1\.00e\+160 to 1\.00e\+160: too large/],
    // Weight problems name the weights file, in the CLI's words (they named the data file, or
    // the library's `observationWeights`).
    ['weights summing beyond float64', () => ['train', '-i', file('pts.csv', '1,2\n3,4\n5,7\n'), '-g', '1', '--weights_file', file('wbig.csv', '1e308\n1e308\n1e308\n')], /^webgmm: error: \S*\/wbig\.csv: the weights sum to Infinity: too large for float64 arithmetic with the values of data column 1 /],
    ['weights all zero', () => ['train', '-i', file('pts.csv', '1,2\n3,4\n5,7\n'), '-g', '1', '--weights_file', file('wzero.csv', '0\n0\n0\n')], /^webgmm: error: \S*\/wzero\.csv: the weights are all zero$/],
    // Refused before training (it crashed on saving: "Invalid string length", or V8 out of memory).
    ['an mlpack model too large for its text format', () => ['train', '-i', file('wide3k.csv', [0, 1, 2].map((r) => Array.from({ length: 3000 }, (_, j) => (r * 7 + j) % 5).join(',')).join('\n')), '-g', '1', '-d', '-M', join(dir, 'wide.xml')], /^webgmm: error: --output_model_file \S*wide\.xml: mlpack's format stores three 3000×3000 matrices per component .*, about \d+ MiB of text, more than a model file can hold .*webgmm's own JSON format holds a diagonal model in K×D values$/],
    ['a webgmm model too large for its JSON', () => ['train', '-i', file('wide3k.csv', [0, 1, 2].map((r) => Array.from({ length: 3000 }, (_, j) => (r * 7 + j) % 5).join(',')).join('\n')), '-g', '3', '-M', join(dir, 'wide.json')], /^webgmm: error: --output_model_file \S*wide\.json: 2\.70e\+7 values, about \d+ MiB of text, more than a model file can hold .*; diagonal covariances take K×D values$/],
    ['full covariances of wide data', () => ['train', '-i', file('wide.csv', [0, 1].map((r) => Array.from({ length: 100_000 }, (_, j) => (r + j) % 7).join(',')).join('\n')), '-g', '1'], /wide\.csv: 100000 columns: full covariances .* use --diagonal_covariance/],
  ];

  it.each(cases)('%s', (_name, makeArgs, message) => {
    const args = makeArgs();
    const before = snapshot();
    const r = webgmm(...args, ...(args[0] === 'train' && !args.includes('-M') ? ['-M', out()] : []));
    expectUserError(r, message);
    expect(existsSync(out())).toBe(false);
    expect(snapshot()).toEqual(before);
  });

  it.each(['json', 'xml', 'bin'])('a corrupt or truncated mlpack %s model', (ext) => {
    const src = readFileSync(join(MODELS, `blobs3_k3_full.${ext}`));
    const truncated = file(`trunc.${ext}`, '');
    writeFileSync(truncated, src.subarray(0, Math.floor(src.length * 0.6)));
    expectUserError(webgmm('probability', '-i', BLOBS, '-m', truncated), new RegExp(`trunc\\.${ext}: `));
    const garbage = file(`garbage.${ext}`, '');
    const g = Buffer.from(src);
    for (let i = Math.floor(g.length / 3); i < Math.floor(g.length / 3) + 24; i++) g[i] = 0x7a;
    writeFileSync(garbage, g);
    expectUserError(webgmm('generate', '-m', garbage, '-n', '3'), new RegExp(`garbage\\.${ext}: `));
  });

  it('a corrupt webgmm model', () => {
    expectUserError(webgmm('generate', '-m', file('bad.json', '{"format": "webgmm.GaussianMixture", "version": 1, "weights": [0.5, 0.6], "means": [[0],[1]], "covariances": [[[1]],[[1]]]}'), '-n', '3'), /bad\.json: .*sum to 1\.1/);
    expectUserError(webgmm('generate', '-m', file('trunc.json', '{"format": "webgmm.Gaus'), '-n', '3'), /^webgmm: error: \S*trunc\.json: line 1, column 24: not valid JSON: unterminated string$/m);
  });

  it('refuses an output that is one of the inputs (same path, symbolic link, hard link), writing nothing', () => {
    const model = join(MODELS, 'blobs3_k3_full.json');
    const points = file('points.csv', '1,2\n3,4\n');
    copyFileSync(model, join(dir, 'mm.json'));
    linkSync(points, join(dir, 'points-hardlink.csv'));
    symlinkSync(points, join(dir, 'points-symlink.csv'));
    const runs: [string[], RegExp][] = [
      [['probability', '-i', 'points.csv', '-m', model, '-o', 'points.csv'], /--output_file points\.csv is the same file as --input_file points\.csv/],
      [['probability', '-i', 'points.csv', '-m', model, '-o', 'points-hardlink.csv'], /--output_file points-hardlink\.csv is the same file as --input_file/],
      [['probability', '-i', 'points.csv', '-m', model, '-o', 'points-symlink.csv'], /--output_file points-symlink\.csv is the same file as --input_file points\.csv/],
      [['probability', '-i', 'points.csv', '-m', 'mm.json', '-o', join(dir, 'mm.json')], /--output_file .*mm\.json is the same file as --input_model_file mm\.json/],
      [['generate', '-m', 'mm.json', '-n', '3', '-o', 'mm.json'], /--output_file mm\.json is the same file as --input_model_file mm\.json/],
      [['train', '-i', 'points.csv', '-g', '1', '-M', 'mm.json', '-m', 'mm.json'], /--output_model_file mm\.json is the same file as --input_model_file mm\.json/],
      [['train', '-i', BLOBS, '-g', '1', '--weights_file', 'w-as-model.json', '-M', 'w-as-model.json'], /--output_model_file w-as-model\.json is the same file as --weights_file/],
    ];
    file('w-as-model.json', '');
    for (const [args, message] of runs) {
      const before = snapshot();
      expectUserError(webgmm(...args), message);
      expect(snapshot()).toEqual(before);
    }
  });

  it('does not overwrite an existing output when training fails', () => {
    const target = join(dir, 'keep.json');
    writeFileSync(target, 'previous');
    const r = webgmm('train', '-i', file('bad2.csv', '1,2\n3\n'), '-g', '1', '-M', target);
    expect(r.code).toBe(1);
    expect(readFileSync(target, 'utf8')).toBe('previous');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('a file with more columns than rows', () => {
  it('full covariances: a note before training says why it may be slow and asks about a transposed file; -d: none', () => {
    const wide = file('wide120.csv', Array.from({ length: 12 }, (_, i) => Array.from({ length: 120 }, (_, j) => Math.sin(i * 131 + j * 17)).join(',')).join('\n'));
    const full = webgmm('train', '-i', wide, '-g', '1', '-s', '1', '-n', '1', '--backend', 'cpu', '-M', 'wide.json');
    expect(full.code, full.stderr).toBe(0);
    expect(full.stderr.split('\n')[0]).toMatch(/^webgmm: note: \S*wide120\.csv has more columns \(120\) than rows \(12\): full covariances in 120 dimensions are singular.*a transposed file\?.*--diagonal_covariance \(-d\)/);
    const diagonal = webgmm('train', '-i', wide, '-g', '1', '-s', '1', '-n', '1', '-d', '--backend', 'cpu', '-M', 'wide.json');
    expect(diagonal.code, diagonal.stderr).toBe(0);
    expect(diagonal.stderr).not.toMatch(/more columns/);
  });
});

describe('standard error that cannot be written', () => {
  it('a reader of stderr that stops early, or a full device: training goes on and saves its model, exit 0', async () => {
    // `train -v … 2>&1 | grep -m1 'iteration 3'`: the unhandled 'error' event on stderr ended the
    // run with exit 1 and no model.
    const args = [BIN, 'train', '-i', BLOBS, '-g', '3', '-s', '1', '-v', '--backend', 'cpu'];
    const child = spawn(process.execPath, [...args, '-M', 'stderr-gone.json'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.once('data', () => child.stderr.destroy());
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'stderr-gone.json'), 'utf8')).gaussians).toBe(3);
    if (existsSync('/dev/full')) {
      const full = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [...args, '-M', 'stderr-full.json'], { cwd: dir, stdio: ['ignore', 'ignore', full] });
        expect(r.status).toBe(0);
        expect(JSON.parse(readFileSync(join(dir, 'stderr-full.json'), 'utf8')).gaussians).toBe(3);
      } finally {
        closeSync(full);
      }
    }
  });
});

describe('standard output that cannot be written', () => {
  it('a reader that stops early (| head): exit 0, quietly', async () => {
    const child = spawn(process.execPath, [BIN, 'generate', '-m', join(MODELS, 'blobs3_k3_full.json'), '-n', '200000', '-s', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    // Close our end after the first chunk, as `head -1` does: the rest of the 200000 lines hit EPIPE.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('-o /dev/stdout or a named FIFO whose reader stops early (| head): exit 0, quietly, as without -o', () => {
    // A shell pipe: Node's own 'pipe' stdio is a socket, which /dev/stdout cannot open.
    expect(spawnSync('mkfifo', [join(dir, 'early.fifo')]).status).toBe(0);
    const run = `"${process.execPath}" "${BIN}" generate -m "${join(MODELS, 'blobs3_k3_full.json')}" -n 200000 -s 1`;
    for (const script of [
      `${run} -o /dev/stdout | head -1 > /dev/null; echo "status \${PIPESTATUS[0]}"`,
      `(${run} -o early.fifo; echo "status $?") & head -c 10 early.fifo > /dev/null; wait`,
    ]) {
      const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.stdout.trim(), r.stderr).toBe('status 0');
      expect(r.stderr).toBe('');
    }
  });

  it.skipIf(!existsSync('/dev/full'))('a full device: one line naming standard output, exit 1', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [BIN, 'probability', '-i', BLOBS, '-m', join(MODELS, 'blobs3_k3_full.json')], { cwd: dir, encoding: 'utf8', stdio: ['ignore', full, 'pipe'] });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toBe('webgmm: error: writing standard output: no space left on device\n');
    } finally {
      closeSync(full);
    }
  });
});

describe('GaussianMixture.sample', () => {
  it('more samples than can be held: InvalidArgumentError naming n, not a RangeError', () => {
    const m = new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1, 0], [0, 1]]] });
    expect(() => m.sample(1e15, 1)).toThrow(InvalidArgumentError);
    expect(() => m.sample(1e15, 1)).toThrow(/1000000000000000 samples of dimensionality 2/);
  });
});

/** Names, sizes and modification times of every file in the test directory. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    const s = statSync(join(dir, f));
    if (s.isFile()) out[f] = `${s.size}:${s.mtimeMs}`;
  }
  return out;
}

describe('the summary\'s log-likelihood', () => {
  it('is positional wherever JavaScript writes numbers so (1e-6 to 1e21), to 8 significant digits on WebGPU and 15 on the CPU', async () => {
    const { significant } = await import('../src/cli/main.js');
    expect(significant(-180061831.298859, 8)).toBe('-180061830');
    expect(significant(-67154775.4, 8)).toBe('-67154775');
    expect(significant(-10911.3994781940, 15)).toBe('-10911.3994781940');
    expect(significant(-180061831.298859, 15)).toBe('-180061831.298859');
    expect(significant(-1.5e17, 15)).toBe('-150000000000000000');
    expect(significant(0.000123456789, 8)).toBe('0.00012345679');
  });
});

describe('the clamp the model was fitted under (the default policy)', () => {
  it('is printed and recorded in the model file; -m continues at it', () => {
    const { data, rows, cols } = rainy(new Rng(21), 900);
    const lines = Array.from({ length: rows }, (_, i) => Array.from(data.subarray(i * cols, (i + 1) * cols)).join(','));
    const csv = file('rainy.csv', lines.join('\n') + '\n');
    const first = webgmm('train', '-i', csv, '-g', '3', '-s', '5', '-t', '2', '--backend', 'cpu', '-M', 'rainy.json');
    expect(first.code, first.stderr).toBe(0);
    // The wider search took a sharper clamp on these data (quality-wide-search.test.ts).
    const printed = /^covariance constraint unit-invariant: --max_condition (\S+) --variance_floor (\S+)$/m.exec(first.stderr);
    expect(printed, first.stderr).not.toBeNull();
    expect(Number(printed![1])).toBeGreaterThan(1e7);
    const training = JSON.parse(readFileSync(join(dir, 'rainy.json'), 'utf8')).training;
    expect(training.covarianceConstraint).toBe('unit-invariant');
    expect(training.maxCondition).toBeCloseTo(Number(printed![1]), 0);
    expect(training.varianceFloor).toBeCloseTo(Number(printed![2]), 20);

    const warm = webgmm('train', '-i', csv, '-g', '3', '-s', '5', '--backend', 'cpu', '-m', 'rainy.json', '-M', 'rainy2.json');
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stderr).toMatch(/^webgmm: note: --input_model_file needs a sharper covariance clamp than the default: training continues at the level it needs, --max_condition \S+ and --variance_floor \S+ \(pass both to set the clamp yourself: one alone leaves the other at its default\)$/m);
    expect(warm.stderr).toContain(printed![0]);
    const ll = (r: { stderr: string }) => Number(/^log-likelihood (\S+)$/m.exec(r.stderr)![1]);
    expect(relErr(ll(warm), ll(first))).toBeLessThan(1e-9);

    const mlpack = webgmm('train', '-i', csv, '-g', '3', '-s', '5', '--backend', 'cpu', '--covariance_constraint', 'mlpack', '-M', 'rainy3.json');
    expect(mlpack.stderr).toMatch(/^covariance constraint mlpack$/m);
    // No clamp acts on full covariances with --no_force_positive (round clusters: none needs one).
    const round = new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [9, 0]], covariances: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]] }).sample(400, 2);
    const roundCsv = file('round.csv', Array.from({ length: 400 }, (_, i) => `${round.data[2 * i]},${round.data[2 * i + 1]}`).join('\n') + '\n');
    const none = webgmm('train', '-i', roundCsv, '-g', '2', '-s', '5', '--backend', 'cpu', '-P');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stderr).toMatch(/^covariance constraint unit-invariant: no clamp on full covariances with --no_force_positive$/m);
    expect(JSON.parse(readFileSync(join(dir, 'rainy3.json'), 'utf8')).training).not.toHaveProperty('maxCondition');
  });
});
