/**
 * The demo page: load or generate data, train in a worker with live redraws, download the model.
 * State lives in a few variables; every change ends in `scheduleDraw()`, which draws once per frame.
 */
import {
  trainInWorker,
  parseDelimited,
  serializeWebgmmModel,
  serializeMlpackModel,
  type GaussianMixture,
  type TrainResult,
  type BackendChoice,
} from 'webgmm';
import { generateClusters } from './generate.js';
import { makeProjection, projectPoint, type Projection } from './projection.js';
import { drawCurve, drawScatter } from './plot.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = $('status');
const out = (id: string, text: string): void => void ($(`st-${id}`).textContent = text);

interface Data {
  name: string;
  data: Float64Array;
  rows: number;
  cols: number;
  header?: string[];
}

let data: Data | null = null;
let projection: Projection | null = null;
/** The points drawn: a fixed subsample, projected once per dataset. */
let drawn = { indices: new Int32Array(0), sub: new Float64Array(0), uv: new Float64Array(0), bounds: [0, 1, 0, 1] as [number, number, number, number] };
let model: GaussianMixture | null = null;
let curves: number[][] = [];
let result: TrainResult | null = null;
let controller: AbortController | null = null;
let frame = 0;
let redraws = 0;
const iterationTimes: number[] = [];

function setState(state: 'idle' | 'training' | 'done' | 'cancelled' | 'error'): void {
  status.dataset.state = state;
  out('state', state);
  const training = state === 'training';
  $<HTMLButtonElement>('train').disabled = training || !data;
  $<HTMLButtonElement>('cancel').disabled = !training;
  $<HTMLButtonElement>('dl-webgmm').disabled = !result || training;
  $<HTMLButtonElement>('dl-mlpack').disabled = !result || training;
}

function message(text: string, kind: 'info' | 'error' = 'error'): void {
  $('message').textContent = text;
  $('message').className = kind;
}

function useData(d: Data): void {
  data = d;
  model = null;
  result = null;
  curves = [];
  projection = makeProjection(d.data, d.rows, d.cols, d.header);
  // Set with the projection, not at the next frame's draw: the label describes the plot's axes.
  $('scatter').setAttribute('aria-label', `scatter plot of ${projection.labels[0]} against ${projection.labels[1]}`);
  prepareDrawn();
  $('data-info').textContent = `${d.name}: ${d.rows.toLocaleString()} points × ${d.cols} dimensions`;
  message('');
  setState('idle');
  scheduleDraw();
}

/** Picks the subsample to draw: at most 20 000 points, fewer when colouring them would be costly. */
function prepareDrawn(): void {
  const d = data!, p = projection!;
  const k = Number($<HTMLInputElement>('k').value) || 1;
  const budget = Math.max(500, Math.min(20000, Math.floor(4e7 / (k * d.cols * d.cols))));
  const m = Math.min(d.rows, budget);
  const indices = new Int32Array(m);
  for (let i = 0; i < m; i++) indices[i] = Math.floor((i * d.rows) / m);
  const sub = new Float64Array(m * d.cols);
  const uv = new Float64Array(2 * m);
  let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
  for (let i = 0; i < m; i++) {
    sub.set(d.data.subarray(indices[i]! * d.cols, (indices[i]! + 1) * d.cols), i * d.cols);
    const [u, v] = projectPoint(p, d.data, indices[i]! * d.cols);
    uv[2 * i] = u;
    uv[2 * i + 1] = v;
    u0 = Math.min(u0, u); u1 = Math.max(u1, u); v0 = Math.min(v0, v); v1 = Math.max(v1, v);
  }
  const pu = (u1 - u0) * 0.05 || 1, pv = (v1 - v0) * 0.05 || 1;
  drawn = { indices, sub, uv, bounds: [u0 - pu, u1 + pu, v0 - pv, v1 + pv] };
}

function scheduleDraw(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    draw();
  });
}

function draw(): void {
  if (!data || !projection) return;
  const colourOn = $<HTMLInputElement>('colour').checked;
  const assignment = model && colourOn ? model.predict({ data: drawn.sub, rows: drawn.indices.length, cols: data.cols }) : null;
  const twoSigma = $<HTMLInputElement>('two-sigma').checked;
  drawScatter($('scatter'), { uv: drawn.uv, assignment, projection, model, showTwoSigma: twoSigma, bounds: drawn.bounds });
  drawCurve($('curve'), curves);
  redraws++;
  status.dataset.redraws = String(redraws);
  status.dataset.twoSigma = String(twoSigma);
}

async function train(): Promise<void> {
  if (!data) return;
  const int = (id: string): number => Number($<HTMLInputElement>(id).value);
  const tolerance = Number($<HTMLInputElement>('tol').value);
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    message(`tolerance must be a number ≥ 0, got "${$<HTMLInputElement>('tol').value}"`);
    return;
  }
  controller = new AbortController();
  model = null;
  result = null;
  curves = [];
  iterationTimes.length = 0;
  prepareDrawn();
  message('');
  setState('training');
  for (const id of ['backend', 'adapter', 'trial', 'iteration', 'll', 'time']) out(id, '–');
  const requested = $<HTMLSelectElement>('backend').value as BackendChoice;
  const rows = data.rows;
  const started = performance.now();
  try {
    const r = await trainInWorker({ data: data.data, rows, cols: data.cols }, {
      gaussians: int('k'),
      trials: int('trials'),
      seed: int('seed'),
      maxIterations: int('max-it'),
      tolerance,
      diagonalCovariance: $<HTMLSelectElement>('cov').value === 'diagonal',
      refinedStart: $<HTMLInputElement>('refined').checked,
      backend: requested,
      signal: controller.signal,
      onStart: ({ adapter }) => {
        // 'auto' asks for no device on a problem it keeps on the CPU by its size.
        out('adapter', adapter ?? (requested === 'cpu' ? '(not used)' : '(none asked for)'));
        status.dataset.adapter = adapter ?? '';
      },
      onIteration: (info) => {
        if (info.iteration === 0) curves.push([]);
        else iterationTimes.push(info.elapsedMs);
        curves[curves.length - 1]!.push(info.logLikelihood / rows);
        model = info.model;
        out('backend', info.backend);
        out('trial', String(info.trial + 1));
        out('iteration', String(info.iteration));
        out('ll', `${(info.logLikelihood / rows).toFixed(6)} / point`);
        // Median of the last few: one slow frame should not make the readout jump.
        const recent = iterationTimes.slice(-15).sort((a, b) => a - b);
        if (recent.length) out('time', `${recent[recent.length >> 1]!.toFixed(1)} ms (worker)`);
        status.dataset.iteration = String(info.iteration);
        status.dataset.backend = info.backend;
        scheduleDraw();
      },
    });
    result = r;
    model = r.model;
    status.dataset.ll = String(r.logLikelihood);
    status.dataset.iterations = String(r.iterations);
    status.dataset.backend = r.backend;
    out('backend', r.backend);
    out('ll', `${(r.logLikelihood / rows).toFixed(6)} / point (best of ${r.trials.length})`);
    message(`${r.converged ? 'converged' : 'stopped at max iterations'} after ${r.iterations} iterations, ${((performance.now() - started) / 1000).toFixed(2)} s${r.warnings.length ? ' — ' + r.warnings.join('; ') : ''}`, 'info');
    setState('done');
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') {
      message('training cancelled', 'info');
      setState('cancelled');
    } else {
      message(e instanceof Error ? e.message : String(e));
      setState('error');
    }
  } finally {
    controller = null;
    scheduleDraw();
  }
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function loadFile(file: File): Promise<void> {
  try {
    const parsed = parseDelimited(await file.arrayBuffer(), { name: file.name });
    useData({ name: file.name, data: Float64Array.from(parsed.data), rows: parsed.rows, cols: parsed.cols, ...(parsed.header ? { header: parsed.header } : {}) });
  } catch (e) {
    message(e instanceof Error ? e.message : String(e));
  }
}

function generate(): void {
  const int = (id: string): number => Number($<HTMLInputElement>(id).value);
  const n = int('gen-n'), d = int('gen-d'), c = int('gen-c');
  if (!(n >= 1 && d >= 1 && c >= 1)) {
    message('points, dims and clusters must be positive integers');
    return;
  }
  const g = generateClusters(n, d, c, int('gen-seed'));
  useData({ name: `generated (${c} clusters, seed ${int('gen-seed')})`, data: g.data, rows: g.rows, cols: g.cols });
}

$('generate').addEventListener('click', generate);
$('train').addEventListener('click', () => void train());
$('cancel').addEventListener('click', () => controller?.abort());
$('two-sigma').addEventListener('change', scheduleDraw);
$('colour').addEventListener('change', scheduleDraw);
$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void loadFile(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void loadFile(f);
});
$('dl-webgmm').addEventListener('click', () => result && download('model.webgmm.json', serializeWebgmmModel(result.model, {
  seed: result.seed,
  logLikelihood: result.logLikelihood,
  ...(result.maxCondition !== undefined ? { covarianceConstraint: 'unit-invariant', maxCondition: result.maxCondition, varianceFloor: result.varianceFloor } : {}),
})));
$('dl-mlpack').addEventListener('click', () => result && download('model.mlpack.json', serializeMlpackModel(result.model, 'json')));
window.addEventListener('resize', scheduleDraw);

generate();
