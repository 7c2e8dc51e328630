/**
 * `webgmm train | probability | generate` — mlpack's `gmm_train`, `gmm_probability` and
 * `gmm_generate` with the same flag names. Results go to files (or stdout); progress, notices and
 * the summary go to stderr; every failure a user can cause is one line on stderr and exit code 1.
 */
import { Command, Option, InvalidArgumentError as FlagError, CommanderError } from 'commander';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { useEmThreads, useKMeansThreads } from '../node.js';
import { train, MAX_FULL_COVARIANCE_VALUES, TRAIN_DEFAULTS, type TrainOptions } from '../train/train.js';
import { startTrainingWorker } from '../worker/node-train-in-worker.js';
import { BACKEND_CHOICES, type BackendChoice } from '../backends/select.js';
import { passMultiplyAdds } from '../backends/backend.js';
import { RESIDENCIES, type Residency } from '../backends/residency.js';
import { gpuIdle } from '../backends/webgpu/device.js';
import { COVARIANCE_CONSTRAINTS, DEFAULT_COVARIANCE_CONSTRAINT, DEFAULT_MAX_CONDITION, DEFAULT_VARIANCE_FLOOR, formatKnob, type CovarianceConstraint } from '../train/constraints.js';
import { InvalidArgumentError, InvalidDataError, WebGmmError } from '../errors.js';
import { sampleArray, sampleRows, type GaussianMixture } from '../model/gaussian-mixture.js';
import type { DenseMatrix } from '../data.js';
import { readDataFile, readWeightsFile } from '../io/data-files.js';
import { DECIMAL } from '../io/delimited.js';
import { delimitedBlocks, matrixFileFormat, writeMatrixFile } from '../io/matrix-output.js';
import { readModelFile, writeModelFile, modelOutputKind, MODEL_FORMATS, type ModelFormat } from '../io/model-files.js';
import { modelFileTooLarge } from '../io/model-size.js';
import { ReaderClosedError, errnoReason, outputPathProblem, removeTemporaryFiles, sameFile } from '../io/atomic.js';
import { Progress } from './progress.js';
import { Rng, seedFromClock } from '../util/rng.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The CLI flag for each `train()` option, so library errors name what the user typed. */
const FLAG_OF: Record<string, string> = {
  gaussians: '--gaussians',
  trials: '--trials',
  tolerance: '--tolerance',
  maxIterations: '--max_iterations',
  noise: '--noise',
  kmeansMaxIterations: '--kmeans_max_iterations',
  samplings: '--samplings',
  percentage: '--percentage',
  seed: '--seed',
  inputModel: '--input_model_file',
  observationWeights: '--weights_file',
  covarianceConstraint: '--covariance_constraint',
  maxCondition: '--max_condition',
  varianceFloor: '--variance_floor',
  backend: '--backend',
  maxChunkPoints: '--max_chunk_points',
  dataResidency: '--data_residency',
  noForcePositive: '--no_force_positive',
  diagonalCovariance: '--diagonal_covariance',
  refinedStart: '--refined_start',
  samples: '--samples',
};

/**
 * A library message in the CLI's words: option names (`noise`, diagonalCovariance) as flags,
 * "backend 'cpu'" as --backend cpu.
 */
function inFlags(message: string): string {
  return message
    .replace(/`(\w+)`(?: \(mlpack: --\w+\))?/g, (whole, name: string) => FLAG_OF[name] ?? whole)
    .replace(/\buse (\w+Covariance|noForcePositive)\b/g, (whole, name: string) => (FLAG_OF[name] ? `use ${FLAG_OF[name]}` : whole))
    .replace(/\bbackend '(\w+)'/g, '--backend $1');
}

function integer(name: string, min: number, what = `an integer ≥ ${min}`) {
  return (value: string): number => {
    const v = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || v < min) throw new FlagError(`${name} must be ${what}`);
    // An integer past 2^53 - 1 is one, but not exactly a JavaScript number: say what the limit is.
    if (!Number.isSafeInteger(v)) throw new FlagError(`${name} must be ${what} and at most 2^53 - 1 (9007199254740991)`);
    return v;
  };
}

function real(name: string, ok: (v: number) => boolean, what: string) {
  return (value: string): number => {
    const v = Number(value);
    // Decimal only, as in data files: Number() would also take 0x10, 0b1 and 0o7.
    if (!DECIMAL.test(value.trim()) || !Number.isFinite(v) || !ok(v)) throw new FlagError(`${name} must be ${what}`);
    return v;
  };
}

/** A file path flag: an explicit `""` is a mistake (an unset variable, say), not "not given". */
function filePath(name: string) {
  return (value: string): string => {
    if (value === '') throw new FlagError(`${name}: empty path`);
    // `-o -v`: the next flag, not a file name (CLI11, mlpack's parser, reads it so too).
    if (/^--?[A-Za-z]/.test(value)) throw new FlagError(`${name} needs a file name, got the flag ${value} (a file whose name starts with "-" can be given as ./${value})`);
    // Node decodes the command line as UTF-8, replacing bytes that are not (a Latin-1 "é") with
    // U+FFFD: such a name would be another file's — an input "not found", an output written
    // under a name nobody asked for.
    if (value.includes('\uFFFD')) {
      throw new FlagError(`${name} ${value}: the file name is not valid UTF-8 (or holds U+FFFD), which Node cannot pass on unchanged; rename the file or link to it under a UTF-8 name`);
    }
    return value;
  };
}

/**
 * The most values `generate` draws at once: the samples are held in one Float64Array (16 GiB at
 * this bound) before they are written.
 */
const MAX_SAMPLE_VALUES = 2 ** 31 - 1;

/** Refuses an output that would replace one of the inputs (`[path, flag]`; unset ones are skipped). */
async function checkNotAnInput(output: string, outputFlag: string, inputs: [string | undefined, string][]): Promise<void> {
  for (const [input, inputFlag] of inputs) {
    if (input !== undefined && (await sameFile(output, input))) {
      throw new InvalidArgumentError(outputFlag, `${outputFlag} ${output} is the same file as ${inputFlag} ${input}; refusing to overwrite an input`);
    }
  }
}

/** Fails before any long work when `path` cannot be written (the rules of writeFileAtomic). */
async function checkWritable(path: string, flag: string): Promise<void> {
  const problem = await outputPathProblem(path);
  if (problem !== null) throw new InvalidArgumentError(flag, `${flag} ${path}: cannot write there: ${problem}`);
}

/** The notice for a data or weights file whose first row was skipped as a header. */
function headerNotice(path: string): void {
  process.stderr.write(`webgmm: ${path}: the first row reads as column names; skipped it as a header\n`);
}

/** mlpack's warnings for a `.csv` that is not comma-separated and a `.tsv` that is: read as found. */
function separatorNotice(path: string, loaded: { cols: number; format: string; blanksFromLine?: number }): void {
  if (loaded.blanksFromLine !== undefined) {
    process.stderr.write(`webgmm: ${path}: tab-separated, but line ${loaded.blanksFromLine} separates with spaces: read as blank-separated from there, as mlpack reads it\n`);
    return;
  }
  const ext = extname(path).toLowerCase();
  const found = loaded.format === 'csv' ? 'comma' : loaded.format === 'tsv' ? 'tab' : 'whitespace';
  const text = loaded.format === 'csv' || loaded.format === 'tsv' || loaded.format === 'whitespace';
  if (text && ((ext === '.csv' && loaded.format !== 'csv' && loaded.cols > 1) || (ext === '.tsv' && loaded.format === 'csv'))) {
    process.stderr.write(`webgmm: ${path}: the columns are ${found}-separated, not ${ext === '.csv' ? 'comma' : 'tab'}-separated; read them as found\n`);
  }
}

/**
 * `-o` of probability and generate, before any work: not one of the inputs, an extension that
 * names a format, a place that can be written.
 */
async function checkOutputFile(path: string, inputs: [string | undefined, string][]): Promise<void> {
  await checkNotAnInput(path, '--output_file', inputs);
  await matrixFileFormat(path);
  await checkWritable(path, '--output_file');
}

/** An input model, its file's notes (stale mlpack factors) said on stderr. */
function modelWithNotes(read: { model: GaussianMixture; notes: string[] }): GaussianMixture {
  for (const n of read.notes) process.stderr.write(`webgmm: note: ${n}\n`);
  return read.model;
}

function describeModel(model: GaussianMixture): string {
  return `${model.gaussians} gaussians, dimensionality ${model.dimensionality}, ${model.covarianceType} covariances`;
}

async function loadData(path: string, progress: Progress, signal: AbortSignal, label = 'loading') {
  const t = performance.now();
  let loaded;
  try {
    loaded = await readDataFile(path, { signal, onProgress: (bytes, total) => progress.loading(label, bytes, total) });
  } finally {
    progress.stop();
  }
  signal.throwIfAborted();
  if (loaded.headerSkipped) {
    headerNotice(path);
  }
  separatorNotice(path, loaded);
  return { loaded, seconds: (performance.now() - t) / 1000 };
}

/**
 * A failed write also emits 'error' on process.stdout (a tick after the write's callback), which
 * would crash the process with a stack unless someone listens; the callback reports it instead.
 * On process.stderr nobody reports it: notes and progress that cannot be shown (a reader of
 * `2>&1 | grep -m1` gone, `2>/dev/full`) are lost, and the run goes on to write its results —
 * the unhandled event ended it, exit 1 with no model saved.
 */
function ignoreOutputErrorEvents(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.listeners('error').includes(noop)) stream.on('error', noop);
  }
}
function noop(): void {}

function writeStdout(text: string): Promise<void> {
  return new Promise((resolvePromise, reject) =>
    process.stdout.write(text, (e) => {
      if (!e) resolvePromise();
      // The reader of stdout has gone (`| head`): not a failure, just no reason to go on.
      else if ((e as NodeJS.ErrnoException).code === 'EPIPE') reject(new ReaderClosedError('standard output'));
      else reject(new WebGmmError('OUTPUT', `writing standard output: ${errnoReason(e)}`));
    }),
  );
}

/** A matrix to stdout as CSV, in the same form as writeCsv writes files. */
async function printCsv(m: { data: ArrayLike<number>; rows: number; cols: number }, signal: AbortSignal): Promise<void> {
  for (const block of delimitedBlocks(m.data, m.rows, m.cols)) {
    signal.throwIfAborted();
    await writeStdout(block);
  }
}

function checkDimensions(model: GaussianMixture, modelPath: string, cols: number, dataPath: string): void {
  if (model.dimensionality !== cols) {
    throw new InvalidArgumentError(
      'input_model_file',
      `${modelPath}: the model has dimensionality ${model.dimensionality} but ${dataPath} has ${cols} column${cols === 1 ? '' : 's'}`,
    );
  }
}

/** From this many columns, a file with more columns than rows gets a note before training (see trainAndSave). */
const WIDE_NOTE_COLUMNS = 100;

/** From this many columns, training with full covariances runs on a worker thread (see trainAndSave). */
const WORKER_COLUMNS = 100;

/** Wide data (or a transposed file) would make K×D×D full covariances too large to hold: said before the weights and models load, naming the file. */
function checkFullCovarianceSize(gaussians: number, d: number, dataPath: string): void {
  const values = gaussians * d * d;
  if (values <= MAX_FULL_COVARIANCE_VALUES) return;
  throw new InvalidArgumentError(
    'input_file',
    `${dataPath}: ${d} columns: full covariances for ${gaussians} gaussian${gaussians > 1 ? 's' : ''} need ${gaussians}×${d}×${d} = ${values.toExponential(2)} values (${(values * 8 / 2 ** 30).toFixed(0)} GiB per copy); use --diagonal_covariance (-d), or check that the file has one point per row`,
  );
}

interface TrainFlags {
  input_file: string;
  gaussians: number;
  trials: number;
  tolerance: number;
  max_iterations: number;
  no_force_positive?: boolean;
  diagonal_covariance?: boolean;
  noise: number;
  kmeans_max_iterations: number;
  refined_start?: boolean;
  samplings: number;
  percentage: number;
  seed: number;
  input_model_file?: string;
  output_model_file?: string;
  verbose?: boolean;
  weights_file?: string;
  covariance_constraint: CovarianceConstraint;
  max_condition?: number;
  variance_floor?: number;
  backend: BackendChoice;
  model_format?: ModelFormat;
  max_chunk_points?: number;
  data_residency: Residency;
  threads?: boolean;
}

async function runTrain(flags: TrainFlags, signal: AbortSignal, given: (name: string) => boolean): Promise<void> {
  const progress = new Progress(flags.verbose === true);
  try {
    await trainAndSave(flags, signal, given, progress);
  } finally {
    // Also on errors and Ctrl-C: the progress bar hides the cursor and turns line wrap off.
    progress.stop();
  }
}

async function trainAndSave(flags: TrainFlags, signal: AbortSignal, given: (name: string) => boolean, progress: Progress): Promise<void> {
  // The format is chosen by the extension (writeModelFile's rule), so a bad name fails before
  // training, not after it.
  const outputKind = flags.output_model_file === undefined ? null : modelOutputKind(flags.output_model_file, flags.model_format, '--model_format mlpack');
  if (flags.output_model_file !== undefined) {
    await checkNotAnInput(flags.output_model_file, '--output_model_file', [
      [flags.input_file, '--input_file'],
      [flags.input_model_file, '--input_model_file'],
      [flags.weights_file, '--weights_file'],
    ]);
    await checkWritable(flags.output_model_file, '--output_model_file');
  } else {
    process.stderr.write('webgmm: warning: --output_model_file (-M) is not given, so no model will be saved\n');
  }
  if (given('model_format') && outputKind !== 'webgmm-json' && outputKind !== 'mlpack-json') {
    // Only a .json name has two formats; an .xml or .bin name is mlpack's archive whatever the flag.
    const why = flags.output_model_file === undefined
      ? 'no model is saved'
      : `it chooses the format of a .json model, and ${flags.output_model_file} is mlpack's ${extname(flags.output_model_file).toLowerCase()} archive either way`;
    process.stderr.write(`webgmm: note: --model_format is ignored: ${why}\n`);
  }
  if (flags.input_model_file !== undefined) {
    // mlpack's gmm_train would still run k-means with them; here EM starts from the model itself.
    const ignored = ['refined_start', 'samplings', 'percentage', 'kmeans_max_iterations'].filter(given).map((n) => `--${n}`);
    if (ignored.length > 0) {
      process.stderr.write(`webgmm: note: ${ignored.join(', ')} ${ignored.length > 1 ? 'are' : 'is'} ignored with --input_model_file: EM starts from the model, without k-means\n`);
    }
  }

  if (flags.threads === true) {
    useKMeansThreads();
    useEmThreads();
  }
  const { loaded, seconds: loadSeconds } = await loadData(flags.input_file, progress, signal);
  // The library checks this first too; here it must precede the size check below, which would
  // otherwise blame the columns (and suggest -d) for what is too many gaussians.
  if (flags.gaussians > loaded.rows) {
    throw new InvalidArgumentError('gaussians', `--gaussians ${flags.gaussians}: ${flags.input_file} has only ${loaded.rows} point${loaded.rows === 1 ? '' : 's'} (need at least one point per gaussian)`);
  }
  if (flags.diagonal_covariance !== true) checkFullCovarianceSize(flags.gaussians, loaded.cols, flags.input_file);
  // Before training, which may take minutes: a model its file cannot hold (mlpack's stores three
  // D×D matrices per component, also for diagonal covariances).
  const tooLarge = outputKind && modelFileTooLarge(outputKind, flags.gaussians, loaded.cols, flags.diagonal_covariance === true ? 'diagonal' : 'full');
  if (tooLarge) throw new InvalidArgumentError('output_model_file', `--output_model_file ${flags.output_model_file}: ${tooLarge}`);
  if (flags.diagonal_covariance !== true) {
    // Said before training, which may then take minutes: every covariance is singular, and each
    // M-step eigendecomposes them.
    if (loaded.cols > loaded.rows && loaded.cols >= WIDE_NOTE_COLUMNS) {
      process.stderr.write(
        `webgmm: note: ${flags.input_file} has more columns (${loaded.cols}) than rows (${loaded.rows}): full covariances in ${loaded.cols} dimensions ` +
          'are singular, held up only by the covariance constraint, and each iteration eigendecomposes them (slow at this size); ' +
          'one point per row is expected (a transposed file?), and --diagonal_covariance (-d) fits per-feature variances\n',
      );
    }
  }
  const weightsFile = flags.weights_file;
  const weights = weightsFile ? await readWeightsFile(weightsFile, loaded.rows, () => headerNotice(weightsFile), signal) : undefined;
  let inputModel: GaussianMixture | undefined;
  if (flags.input_model_file) {
    inputModel = modelWithNotes(await readModelFile(flags.input_model_file));
    checkDimensions(inputModel, flags.input_model_file, loaded.cols, flags.input_file);
    if (inputModel.gaussians !== flags.gaussians) {
      throw new InvalidArgumentError('input_model_file', `${flags.input_model_file}: the model has ${inputModel.gaussians} gaussians but --gaussians is ${flags.gaussians}`);
    }
  }

  progress.phase(flags.input_model_file ? 'starting from the input model' : `initializing (${flags.refined_start ? 'refined start, ' : ''}k-means)`);
  const options: TrainOptions = {
    gaussians: flags.gaussians,
    trials: flags.trials,
    tolerance: flags.tolerance,
    maxIterations: flags.max_iterations,
    noForcePositive: flags.no_force_positive === true,
    diagonalCovariance: flags.diagonal_covariance === true,
    noise: flags.noise,
    // Only where they apply: the library notes options given where they do nothing (the note
    // for an input model is printed above, before training).
    ...(inputModel ? {} : { kmeansMaxIterations: flags.kmeans_max_iterations }),
    ...(!inputModel && flags.refined_start === true ? { refinedStart: true } : {}),
    ...(!inputModel && (flags.refined_start === true || given('samplings')) ? { samplings: flags.samplings } : {}),
    ...(!inputModel && (flags.refined_start === true || given('percentage')) ? { percentage: flags.percentage } : {}),
    seed: flags.seed,
    covarianceConstraint: flags.covariance_constraint,
    ...(flags.max_condition !== undefined ? { maxCondition: flags.max_condition } : {}),
    ...(flags.variance_floor !== undefined ? { varianceFloor: flags.variance_floor } : {}),
    backend: flags.backend,
    ...(flags.max_chunk_points !== undefined ? { maxChunkPoints: flags.max_chunk_points } : {}),
    dataResidency: flags.data_residency,
    ...(inputModel ? { inputModel } : {}),
    ...(weights ? { observationWeights: weights } : {}),
    onKmeansIteration: ({ trial, iteration, shift }) => progress.kmeans(trial, flags.trials, iteration, shift, flags.kmeans_max_iterations),
    onIteration: (info) => progress.iteration(info, flags.trials, flags.max_iterations),
    onSearch: (info) => progress.search(info, flags.trials),
    signal,
  };
  // Full covariances in many dimensions train on a worker thread, so that this one stays free for
  // signals: the host's O(D³) steps are synchronous, and eigendecomposing singular covariances in
  // thousands of dimensions takes minutes that Ctrl-C would otherwise wait out. Not below that:
  // the worker costs 0.1 s or so to start and stop, and every other step yields to signals often.
  // The loaded points move to the worker with their buffer, without a copy.
  const onWorker = flags.diagonal_covariance !== true && loaded.cols >= WORKER_COLUMNS;
  if (onWorker && flags.verbose === true) process.stderr.write(`webgmm: training on a worker thread (full covariances in ${loaded.cols} dimensions)\n`);
  const training = onWorker
    ? startTrainingWorker(loaded, { ...options, transferData: true }, true)
    : { result: train(loaded, options), exited: Promise.resolve() };
  const result = await training.result.catch(async (e: unknown) => {
    if (e instanceof DOMException && e.name === 'AbortError') {
      // The worker is still stopping (its GPU work must drain before the process may exit), or,
      // here, the driver may still run work the training left (a shader's first compilation,
      // seconds on lavapipe), which bin/webgmm.js's process.exit() must not cut short; anything
      // stuck beyond the signal's grace period in main() is ended there.
      await training.exited;
      await gpuIdle();
      throw e;
    }
    // The library calls the points "data" and the weights "observationWeights"; here they are the
    // input file and the weights file.
    if (e instanceof InvalidDataError && e.message.startsWith('data: ')) {
      throw new InvalidDataError(`${flags.input_file}: ${e.message.slice('data: '.length)}`, e.row, e.column);
    }
    if (e instanceof InvalidArgumentError && e.parameter === 'observationWeights' && weightsFile !== undefined) {
      throw new InvalidDataError(`${weightsFile}: ${e.message.replace(/^observationWeights\b/, 'the weights')}`);
    }
    // Too few points of positive weight for the Gaussians: the weights file is half the story.
    if (e instanceof InvalidArgumentError && e.parameter === 'gaussians' && weightsFile !== undefined && /positive weight/.test(e.message)) {
      throw new InvalidArgumentError('gaussians', e.message.replace(/^gaussians = /, '--gaussians ').replace(/ a positive weight\b/, ` a positive weight in ${weightsFile}`));
    }
    throw e;
  });
  progress.stop();
  signal.throwIfAborted();

  let saveSeconds = 0;
  if (flags.output_model_file !== undefined) {
    const t = performance.now();
    await writeModelFile(flags.output_model_file, result.model, flags.model_format, {
      webgmm: VERSION,
      date: new Date().toISOString(),
      input: flags.input_file,
      logLikelihood: result.logLikelihood,
      iterations: result.iterations,
      converged: result.converged,
      trials: result.trials.length,
      covarianceConstraint: flags.covariance_constraint,
      ...(result.maxCondition !== undefined ? { maxCondition: result.maxCondition, varianceFloor: result.varianceFloor } : {}),
      seed: result.seed,
      backend: result.backend,
      ...(result.adapter ? { adapter: result.adapter } : {}),
      // Threads change the CPU's sums in their last bits, which can move where EM converges.
      ...(flags.threads === true ? { threads: true } : {}),
    });
    saveSeconds = (performance.now() - t) / 1000;
  }

  for (const w of result.warnings) process.stderr.write(`webgmm: note: ${inFlags(w)}\n`);
  const ms = (x: number) => (x / 1000).toFixed(2);
  process.stderr.write(
    [
      // A float32 pass's log-likelihood (relative error ~1e-7) to 8 digits: no false digits; one
      // from float64 (also where a WebGPU trial finished there) to 15: none hidden.
      `log-likelihood ${significant(result.logLikelihood, result.logLikelihoodBackend === 'webgpu' ? 8 : 15)}`,
      `iterations ${result.iterations} (best of ${result.trials.length} trial${result.trials.length > 1 ? 's' : ''}: #${result.bestTrial + 1}` +
        `${result.overruled ? ', chosen on held-out points over the fit of highest training log-likelihood' : ''}), converged ${result.converged ? 'yes' : 'no'}`,
      `covariance constraint ${flags.covariance_constraint}` +
        (result.maxCondition !== undefined
          ? `: --max_condition ${formatKnob(result.maxCondition)} --variance_floor ${formatKnob(result.varianceFloor!)}`
          : flags.covariance_constraint === 'unit-invariant' ? ': no clamp on full covariances with --no_force_positive' : ''),
      `backend ${result.backend}${result.adapter ? ` (${result.adapter})` : ''}${flags.threads === true ? ', --threads' : ''}, seed ${result.seed}`,
      `time: load ${loadSeconds.toFixed(2)} s, setup ${ms(result.timings.setup)} s, initialization ${ms(result.timings.initialization)} s, EM ${ms(result.timings.em)} s, save ${saveSeconds.toFixed(2)} s, total ${progress.elapsed.toFixed(2)} s`,
    ].join('\n') + '\n',
  );
}

async function runProbability(
  flags: { input_file: string; input_model_file: string; output_file?: string; log?: boolean; verbose?: boolean },
  signal: AbortSignal,
): Promise<void> {
  if (flags.output_file !== undefined) {
    await checkOutputFile(flags.output_file, [
      [flags.input_file, '--input_file'],
      [flags.input_model_file, '--input_model_file'],
    ]);
  }
  const progress = new Progress(false);
  const t = performance.now();
  const model = modelWithNotes(await readModelFile(flags.input_model_file));
  const { loaded, seconds } = await loadData(flags.input_file, progress, signal);
  checkDimensions(model, flags.input_model_file, loaded.cols, flags.input_file);
  if (flags.verbose) {
    process.stderr.write(`webgmm: ${flags.input_model_file}: ${describeModel(model)}\n`);
    process.stderr.write(`webgmm: ${flags.input_file}: ${loaded.rows} points loaded in ${seconds.toFixed(2)} s\n`);
  }
  const p = await densitiesInterruptibly(model, loaded, signal, flags.log === true);
  // A density is never 0: a 0 here is one below float64's range, which a reader should not take
  // for "impossible" (its log, which the library's scoreSamples gives, is finite).
  // Likewise a density above float64's range (a very narrow component) is written as Infinity.
  let underflows = 0, overflows = 0;
  for (const v of p) {
    if (flags.log === true ? v === -Infinity : v === 0) underflows++;
    else if (v === Infinity) overflows++;
  }
  const outOfRange = (count: number, where: string, writtenAs: string): void => {
    if (count > 0) process.stderr.write(`webgmm: note: ${count} of ${p.length} points ${count === 1 ? 'has' : 'have'} a ${where}: written as ${writtenAs}\n`);
  };
  if (flags.log === true) {
    // Only a point so far out that its squared distance overflows float64 (|x − μ| beyond ~1e154 standard deviations).
    outOfRange(underflows, "log-density below float64's range (a squared distance that overflows it)", '-Infinity');
  } else {
    outOfRange(underflows, "density below float64's smallest (log-density under −745)", '0 (--log writes log-densities)');
    outOfRange(overflows, "density beyond float64's largest (log-density over 709.78)", 'Infinity (--log writes log-densities)');
  }
  if (flags.output_file !== undefined) await writeMatrixFile(flags.output_file, { data: p, rows: p.length, cols: 1 }, { signal });
  else await printCsv({ data: p, rows: p.length, cols: 1 }, signal);
  if (flags.verbose) process.stderr.write(`webgmm: ${p.length} ${flags.log === true ? 'log-densities' : 'densities'} written in ${((performance.now() - t) / 1000).toFixed(2)} s in all\n`);
}

async function runGenerate(
  flags: { input_model_file: string; samples: number; seed: number; output_file?: string; verbose?: boolean },
  signal: AbortSignal,
): Promise<void> {
  if (flags.output_file !== undefined) {
    await checkOutputFile(flags.output_file, [[flags.input_model_file, '--input_model_file']]);
  }
  const t = performance.now();
  const model = modelWithNotes(await readModelFile(flags.input_model_file));
  const values = flags.samples * model.dimensionality;
  if (values > MAX_SAMPLE_VALUES) {
    throw new InvalidArgumentError(
      'samples',
      `--samples ${flags.samples}: ${flags.samples} points of dimensionality ${model.dimensionality} are ${values.toExponential(2)} values, more than the ${MAX_SAMPLE_VALUES} that can be drawn at once; draw fewer, in several runs with different --seed values`,
    );
  }
  // A clock seed is drawn here and reported, so that the same points can be drawn again.
  const seed = flags.seed === 0 ? seedFromClock() : flags.seed;
  if (flags.seed === 0) process.stderr.write(`webgmm: note: seed ${seed} (from the clock; -s ${seed} draws the same points)\n`);
  if (flags.verbose) {
    process.stderr.write(`webgmm: ${flags.input_model_file}: ${describeModel(model)}\n`);
  }
  const samples = await sampleInterruptibly(model, flags.samples, seed, signal);
  if (flags.output_file !== undefined) await writeMatrixFile(flags.output_file, samples, { signal });
  else await printCsv(samples, signal);
  if (flags.verbose) process.stderr.write(`webgmm: ${flags.samples} points drawn and written in ${((performance.now() - t) / 1000).toFixed(2)} s\n`);
}

/**
 * `x` to `digits` significant digits in positional notation where JavaScript writes numbers so
 * (1e-6 ≤ |x| < 1e21), as the summary prints it on either backend (-180061830, not toPrecision's
 * -1.8006183e+8 beyond 10^digits).
 */
export function significant(x: number, digits: number): string {
  const text = x.toPrecision(digits);
  return text.includes('e') ? String(Number(text)) : text;
}

/** Multiply-adds per slice of {@link densitiesInterruptibly}: about ten milliseconds of scoring. */
const DENSITY_SLICE_WORK = 1e7;

/**
 * model.probabilities(data) — the same values, point by point — a slice at a time, with the event
 * loop let in between, so that Ctrl-C stops a long scoring at once (100k × 16 with K = 500 took
 * 14 s to notice it, and the 3 s grace period could not fire either).
 */
async function densitiesInterruptibly(model: GaussianMixture, m: DenseMatrix<Float64Array | Float32Array>, signal: AbortSignal, log: boolean): Promise<Float64Array> {
  const { rows, cols } = m;
  const out = new Float64Array(rows);
  const perPoint = passMultiplyAdds(1, cols, model.gaussians, model.covarianceType) + 1;
  const slice = Math.max(1, Math.floor(DENSITY_SLICE_WORK / perPoint));
  await inSlices(rows, slice, signal, (from, to) => {
    const part = { data: m.data.subarray(from * cols, to * cols), rows: to - from, cols };
    out.set(log ? model.scoreSamples(part) : model.probabilities(part), from);
  });
  return out;
}

/** `work(from, to)` over [0, total) in slices, letting the event loop in (and a signal stop it) between them. */
async function inSlices(total: number, slice: number, signal: AbortSignal, work: (from: number, to: number) => void): Promise<void> {
  for (let from = 0; from < total; from += slice) {
    work(from, Math.min(total, from + slice));
    await new Promise<void>((resolve) => setImmediate(resolve));
    signal.throwIfAborted();
  }
}

/** Rows per slice of {@link sampleInterruptibly}: tens of milliseconds of drawing. */
const SAMPLE_SLICE = 1 << 18;

/**
 * model.sample(n, seed) — the same points — drawn a slice at a time, with the event loop let in
 * between, so that Ctrl-C stops a long draw at once (150M points took 18 s to notice it).
 */
async function sampleInterruptibly(model: GaussianMixture, n: number, seed: number, signal: AbortSignal): Promise<DenseMatrix<Float64Array>> {
  const d = model.dimensionality;
  const out = sampleArray(n, d, 'samples');
  const rng = new Rng(seed);
  await inSlices(n, SAMPLE_SLICE, signal, (from, to) => sampleRows(model, rng, out, from, to));
  return { data: out, rows: n, cols: d };
}

function buildProgram(signal: AbortSignal): Command {
  const program = new Command('webgmm')
    .description('Gaussian mixture models with EM on WebGPU or the CPU, with mlpack\'s gmm_train flags')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true);

  program
    .command('train')
    .description('Train a Gaussian mixture model with EM (mlpack gmm_train)')
    .requiredOption('-i, --input_file <file>', 'data: CSV, TSV or whitespace-separated text (a header row is skipped), .npy, Armadillo text / .bin, or a .pgm image (a point per image row); one point per row', filePath('--input_file'))
    .requiredOption('-g, --gaussians <n>', 'number of Gaussian components', integer('--gaussians', 1, 'an integer > 0'))
    .option('-t, --trials <n>', 'independent initializations + EM runs; the best log-likelihood wins', integer('--trials', 1, 'an integer > 0'), TRAIN_DEFAULTS.trials)
    .option('-T, --tolerance <x>', 'stop when |Δ log-likelihood| ≤ tolerance', real('--tolerance', (v) => v >= 0, 'a number ≥ 0'), TRAIN_DEFAULTS.tolerance)
    .option('-n, --max_iterations <n>', 'maximum EM iterations per trial (the default policy\'s wider search: per EM run; a refit at a sharper clamp may add as many); 0 = until convergence', integer('--max_iterations', 0), TRAIN_DEFAULTS.maxIterations)
    .option('-P, --no_force_positive', 'full covariance: do not force covariances to be positive definite')
    .option('-d, --diagonal_covariance', 'diagonal covariances')
    .option('-N, --noise <variance>', 'variance of Gaussian noise added to the data before training', real('--noise', (v) => v >= 0, 'a variance ≥ 0'), TRAIN_DEFAULTS.noise)
    .option('-k, --kmeans_max_iterations <n>', 'k-means iteration cap; 0 = until convergence', integer('--kmeans_max_iterations', 0), TRAIN_DEFAULTS.kmeansMaxIterations)
    .option('-r, --refined_start', 'seed k-means with the Bradley–Fayyad refined start')
    .option('-S, --samplings <n>', 'refined start: number of subsamples', integer('--samplings', 1, 'an integer > 0'), TRAIN_DEFAULTS.samplings)
    .option('-p, --percentage <x>', 'refined start: fraction of the points per subsample, in (0, 1]', real('--percentage', (v) => v > 0 && v <= 1, 'in (0, 1]'), TRAIN_DEFAULTS.percentage)
    .option('-s, --seed <n>', 'random seed; 0 = from the clock (reported)', integer('--seed', 0), TRAIN_DEFAULTS.seed)
    .option('-m, --input_model_file <file>', 'start EM from this model (webgmm or mlpack: .json, .xml, .bin)', filePath('--input_model_file'))
    .option('-M, --output_model_file <file>', 'write the trained model here (.json, or mlpack .xml / .bin)', filePath('--output_model_file'))
    .option('-v, --verbose', 'print one line per k-means and EM iteration to stderr')
    .option('--weights_file <file>', 'observation weights, one non-negative number per data row', filePath('--weights_file'))
    .addOption(
      new Option(
        '--covariance_constraint <policy>',
        "covariance policy: 'unit-invariant' (k-means++-seeded k-means and the eigenvalue clamp in per-feature scaled units: a feature's units do not change the fit) or 'mlpack' (mlpack gmm_train's exact behaviour: clamp in the data's units)",
      )
        .choices(COVARIANCE_CONSTRAINTS)
        .default(DEFAULT_COVARIANCE_CONSTRAINT),
    )
    .option('--max_condition <x>', `unit-invariant: largest condition number of a covariance in scaled units (default: ${DEFAULT_MAX_CONDITION.toExponential().replace("+", "")})`, real('--max_condition', (v) => v >= 1, 'a number ≥ 1'))
    .option('--variance_floor <x>', `unit-invariant: smallest eigenvalue of a covariance in scaled units, i.e. relative to each feature's squared range (default: ${DEFAULT_VARIANCE_FLOOR})`, real('--variance_floor', (v) => v > 0 && v <= 1, 'a number > 0 and ≤ 1'))
    .addOption(new Option('--backend <backend>', 'E-step backend; auto: the CPU for a small problem, else the faster of WebGPU and the CPU, measured on this problem').choices(BACKEND_CHOICES).default(TRAIN_DEFAULTS.backend))
    .addOption(new Option('--model_format <format>', 'format of a .json output model: webgmm, or mlpack\'s cereal JSON (default: webgmm; an .xml or .bin name is mlpack\'s archive: with mlpack or no format)').choices(MODEL_FORMATS))
    .option('--max_chunk_points <n>', 'WebGPU: at most this many points per chunk (default: what one storage binding of the adapter holds; fewer when the points are streamed)', integer('--max_chunk_points', 1, 'an integer > 0'))
    .addOption(
      new Option('--data_residency <where>', 'WebGPU: keep the points on the device, or stream them every iteration; auto: streamed on software adapters above 256 MiB and when the device is out of memory')
        .choices(RESIDENCIES)
        .default(TRAIN_DEFAULTS.dataResidency),
    )
    .option('--threads', 'the CPU backend\'s EM (32768 points or more) and k-means on worker threads too, one per further core (at most 7): about 1.9x faster EM on 2 cores without a GPU; the model is the same for any number of threads, but may differ from a run without threads (~1e-6 relative: rounding can move the iteration where EM converges); the model file records it')
    .addHelpText(
      'after',
      '\nExamples:\n  webgmm train -i data.csv -g 6 -t 3 -s 42 -M gmm.json\n  webgmm train -i data.npy -g 8 --backend webgpu -M gmm.json --model_format mlpack -v\n' +
        '  webgmm train -i data.csv -g 6 -t 3 -s 42 --covariance_constraint mlpack -M gmm.xml   # exactly mlpack_gmm_train\n',
    )
    .action((flags: TrainFlags, cmd: Command) => runTrain(flags, signal, (name) => cmd.getOptionValueSource(name) === 'cli'));

  program
    .command('probability')
    .description('Density p(x) of every point under a model (mlpack gmm_probability)')
    .requiredOption('-i, --input_file <file>', 'points: CSV, TSV, whitespace text, .npy, Armadillo text / .bin, or a .pgm image', filePath('--input_file'))
    .requiredOption('-m, --input_model_file <file>', 'model (webgmm or mlpack: .json, .xml, .bin)', filePath('--input_model_file'))
    .option('-o, --output_file <file>', 'write the densities here, one per line: .csv, .txt, .tsv, .npy or .bin (Armadillo) (default: stdout)', filePath('--output_file'))
    .option('--log', 'write natural log-densities log p(x) instead (finite where p(x) under- or overflows float64, unless a point is so far out that its squared distance does; not in mlpack)')
    .option('-v, --verbose', 'print what was loaded and the time taken to stderr')
    .addHelpText('after', '\nExamples:\n  webgmm probability -i points.csv -m gmm.json -o p.csv\n  webgmm probability -i points.csv -m gmm.json --log -o logp.npy\n')
    .action((flags) => runProbability(flags, signal));

  program
    .command('generate')
    .description('Sample points from a model (mlpack gmm_generate)')
    .requiredOption('-m, --input_model_file <file>', 'model (webgmm or mlpack: .json, .xml, .bin)', filePath('--input_model_file'))
    .requiredOption('-n, --samples <n>', 'number of points to draw', integer('--samples', 1, 'an integer > 0'))
    .option('-s, --seed <n>', 'random seed; 0 = from the clock (reported)', integer('--seed', 0), 0)
    .option('-o, --output_file <file>', 'write the points here: .csv, .txt (spaces), .tsv, .npy or .bin (Armadillo) (default: stdout, CSV)', filePath('--output_file'))
    .option('-v, --verbose', 'print the model\'s shape and the time taken to stderr')
    .addHelpText('after', '\nExample:\n  webgmm generate -m gmm.json -n 1000 -s 7 -o samples.csv\n')
    .action((flags) => runGenerate(flags, signal));

  for (const cmd of program.commands) {
    // Answered by optionInfo() before parsing (the command's required options may be absent).
    cmd.option('--info <option>', 'print the help of one option and exit, as mlpack\'s --info does');
  }
  for (const cmd of [program, ...program.commands]) {
    cmd.exitOverride();
    // An option given twice is an error, as in mlpack's parser (CLI11), not "the last one wins".
    const seen = new Set<string>();
    for (const option of cmd.options) {
      const name = option.name();
      cmd.on(`option:${name}`, () => {
        if (seen.has(name)) cmd.error(`${option.long ?? option.short} is given more than once`, { exitCode: 1, code: 'webgmm.duplicateOption' });
        seen.add(name);
      });
    }
    // One line per error: commander puts its "Did you mean …?" on a line of its own.
    const prefix = `webgmm${cmd === program ? '' : ` ${cmd.name()}`}: error: `;
    cmd.configureOutput({ outputError: (text, write) => write(`${prefix}${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`) });
  }
  return program;
}

/**
 * mlpack's `--info <option>`: `webgmm train --info gaussians` (or `-g`, `--gaussians`) prints that
 * option's help, whatever else is on the line. Undefined when the line has no --info.
 */
function optionInfo(program: Command, argv: string[]): { text: string; code: number } | undefined {
  const options = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length); // after "--", operands
  const asked = options.flatMap((a, i) => (i >= 3 && (a === '--info' || a.startsWith('--info=')) ? [i] : []));
  const cmd = program.commands.find((c) => c.name() === argv[2]);
  if (asked.length === 0 || !cmd) return undefined;
  const at = asked[0]!;
  const name = (argv[at]!.startsWith('--info=') ? argv[at]!.slice('--info='.length) : argv[at + 1] ?? '').replace(/^-+/, '');
  const prefix = `webgmm ${cmd.name()}`;
  if (asked.length > 1) return { text: `${prefix}: error: --info is given more than once\n`, code: 1 };
  if (name === '') return { text: `${prefix}: error: --info needs the name of an option, e.g. --info ${cmd.options[0]!.name()}\n`, code: 1 };
  const option = cmd.options.find((o) => o.long === `--${name}` || o.short === `-${name}`);
  if (!option) {
    const names = cmd.options.map((o) => o.long!.slice(2)).join(', ');
    return { text: `${prefix}: error: --info: no option named "${name}" (the options: ${names})\n`, code: 1 };
  }
  const facts = [
    option.mandatory ? 'required' : undefined,
    option.defaultValue !== undefined ? `default: ${String(option.defaultValue)}` : undefined,
    option.argChoices ? `one of: ${option.argChoices.join(', ')}` : undefined,
  ].filter((f) => f !== undefined);
  return { text: `${option.flags}\n  ${option.description}${facts.length > 0 ? ` (${facts.join('; ')})` : ''}\n`, code: 0 };
}

/** The signals that stop a run cleanly, and what the run says of each. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];
const STOP_REASON: Record<StopSignal, string> = { SIGINT: 'interrupted', SIGTERM: 'terminated', SIGHUP: 'hung up' };

/** The exit status of a run stopped with `reason`: 128 + the signal's number, as a shell reports it. */
function stopStatus(reason: string): number {
  const signal = STOP_SIGNALS.find((s) => STOP_REASON[s] === reason) ?? 'SIGINT';
  return 128 + osConstants.signals[signal];
}

/** How long a signalled run may take to stop cleanly before the process exits regardless. */
const SIGNAL_GRACE_MS = 3000;

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  // Each stops the work where it is and removes any temporary output (the default would exit at
  // once, leaving a temporary file: SIGHUP is a closed terminal or a dropped ssh session). Work
  // that cannot see the signal (opening a FIFO no one writes or reads yet, a blocked read) would
  // keep the process alive: after a grace period — or at once on a second signal, an impatient
  // second Ctrl-C — the temporary files are removed and the signal is raised again with its
  // default action, which ends the process as if webgmm had not caught it (exit status 128 + n in
  // a shell). process.exit() would not do: it waits for a thread blocked in open().
  let stopping = false;
  let grace: ReturnType<typeof setTimeout> | undefined;
  const die = (signal: StopSignal): void => {
    removeTemporaryFiles();
    for (const s of STOP_SIGNALS) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  };
  const onSignal = (signal: StopSignal): void => {
    if (stopping) return die(signal);
    stopping = true;
    controller.abort(new DOMException(STOP_REASON[signal], 'AbortError'));
    grace = setTimeout(() => {
      process.stderr.write(`\nwebgmm: ${STOP_REASON[signal]}\n`);
      die(signal);
    }, SIGNAL_GRACE_MS).unref();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  ignoreOutputErrorEvents();
  const program = buildProgram(controller.signal);
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return 1;
    }
    const info = optionInfo(program, argv);
    if (info) {
      (info.code === 0 ? process.stdout : process.stderr).write(info.text);
      return info.code;
    }
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 1;
    }
    if (e instanceof ReaderClosedError) {
      // Exit 0, not 141 (death by SIGPIPE): the reader stopping early is what `| head` asks for,
      // and a non-zero status would fail such pipelines under `set -o pipefail`.
      return 0;
    }
    if (e instanceof DOMException && e.name === 'AbortError') {
      process.stderr.write(`\nwebgmm: ${e.message}; nothing was written\n`);
      return stopStatus(e.message);
    }
    if (e instanceof InvalidArgumentError) {
      const flag = FLAG_OF[e.parameter];
      const message = flag && !e.message.startsWith('--') ? `${flag}: ${e.message}` : e.message;
      process.stderr.write(`webgmm: error: ${inFlags(message)}\n`);
      return 1;
    }
    if (e instanceof WebGmmError) {
      process.stderr.write(`webgmm: error: ${inFlags(e.message)}\n`);
      return 1;
    }
    // A defect, not a user error: keep the stack for the report.
    process.stderr.write(`webgmm: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  } finally {
    // The run has stopped: the grace period is over (in-process callers of main() live on).
    clearTimeout(grace);
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
