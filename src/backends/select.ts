/**
 * Picks and builds the E-step backend for one `train()` call. `'webgpu'` and `'cpu'` are taken as
 * asked. `'auto'` keeps the CPU for a small problem (autoKeepsCpu) or one whose M-step, or the
 * device's round trip, outweighs its pass (CHEAP_FINISH_COST), and otherwise measures instead of
 * assuming: when an adapter exists and the problem fits the kernels, it times one E-step pass
 * on WebGPU (after building it, which training needs anyway) and one on the CPU over a subsample,
 * scaled to the whole data, and keeps the faster — problems of modest size often run faster on the
 * CPU than through a GPU's dispatch and readback latency.
 */
import { CHEAP_FINISH_COST, float64IterationCost, passMultiplyAdds, type EStepBackend, type MixtureParams } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import type { Dataset } from '../data.js';
import type { CovarianceType } from '../model/gaussian-mixture.js';
import { WebGmmError, throwIfAborted, unlessAborted } from '../errors.js';
import { acquireGpu, gpuUnavailableReason, type GpuHandle } from './webgpu/device.js';
import { WebGpuBackend, type DeviceCosts } from './webgpu/webgpu-backend.js';
import type { Residency } from './residency.js';

/**
 * Which backend runs the E-step. `'auto'`: the CPU for a problem under 10⁶ multiply-adds per pass,
 * or with so few points (per dimension) that the M-step and the device's round trip outweigh the
 * pass, else the faster of WebGPU (when an adapter exists) and the CPU, measured.
 */
export type BackendChoice = 'auto' | 'webgpu' | 'cpu';
/** Every {@link BackendChoice}, for option parsing and menus. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'cpu'];

const HOW_TO_GET_WEBGPU =
  'WebGPU needs a GPU adapter: in a browser, a WebGPU-enabled one (Chrome or Edge ≥ 113, Firefox ≥ 141, Safari ≥ 26); in Node, ' +
  'the package\'s Node entry (import from "webgmm" in Node, or "webgmm/node") with a GPU driver, or on Linux ' +
  'without a GPU Mesa\'s lavapipe CPU driver (Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers)';

export interface SelectedBackend {
  backend: EStepBackend;
  /** Adapter description when WebGPU runs. */
  adapter?: string;
  /** Why `'auto'` fell back to the CPU, or what `'webgpu'` cannot hold. */
  note?: string;
}

export async function selectBackend(
  choice: BackendChoice,
  ds: Dataset,
  weights: Float64Array | null,
  options: { k: number; covarianceType: CovarianceType; maxChunkPoints?: number | undefined; residency?: Residency | undefined; signal?: AbortSignal | undefined },
): Promise<SelectedBackend> {
  if (choice === 'cpu') return { backend: new CpuBackend(ds, weights) };
  const why = WebGpuBackend.unsupported(ds.d, options.k, options.covarianceType);
  if (why && choice === 'webgpu') throw new WebGmmError('UNSUPPORTED', `backend 'webgpu': ${why}; use backend 'cpu'`);
  const keep = choice === 'auto' ? autoKeepsCpu(ds.n, ds.d, options.k, options.covarianceType, weights) : undefined;
  if (keep) return { backend: new CpuBackend(ds, weights), note: `using the CPU backend: ${keep}` };
  // An adapter request may never answer (a browser's, a provider's): an abort does not wait for it.
  const handle = await unlessAborted(acquireGpu(), options.signal);
  if (!handle) {
    if (choice === 'webgpu') {
      throw new WebGmmError('NO_WEBGPU', `backend 'webgpu' is unavailable: ${gpuUnavailableReason()}. ${HOW_TO_GET_WEBGPU}`);
    }
    return { backend: new CpuBackend(ds, weights), note: `using the CPU backend: ${gpuUnavailableReason()}` };
  }
  if (choice === 'auto') {
    // As in autoKeepsCpu, with this adapter's own costs (which may keep the CPU where another kind's
    // would not: a software adapter's slower passes, a hardware GPU's longer round trip).
    const why = mStepOutweighs(ds.n, ds.d, options.k, options.covarianceType, [WebGpuBackend.costsOn(handle)], `WebGPU (${handle.adapter})`);
    if (why) return { backend: new CpuBackend(ds, weights), note: `using the CPU backend: ${why}` };
  }
  // 'auto' asks for the best backend that works: a device that cannot set this problem up, or run
  // its first pass (out of memory, a limit the kernels did not foresee, lost — the cached device
  // may have been lost just before, before its loss was reported), leaves the CPU, which can.
  const cpuInstead = (e: unknown, what: string): SelectedBackend => {
    if (choice === 'auto' && e instanceof WebGmmError && (e.code === 'GPU_ERROR' || e.code === 'GPU_OUT_OF_MEMORY' || e.code === 'GPU_DEVICE_LOST')) {
      const why = e.message.split('\n')[0]!.replace(/; retry, or use backend 'cpu'$/, '');
      return { backend: new CpuBackend(ds, weights), note: `using the CPU backend: WebGPU (${handle.adapter}) could not ${what}: ${why}` };
    }
    throw e;
  };
  let backend: WebGpuBackend;
  try {
    backend = await builtUnlessAborted(handle, WebGpuBackend.create(handle, ds, weights, options), options.signal);
  } catch (e) {
    return cpuInstead(e, 'set this problem up');
  }
  if (choice === 'webgpu') {
    const lost = weightsLost(weights);
    return { backend, adapter: handle.adapter, ...(lost ? { note: `${lost}: on WebGPU those points count as weight 0 (backend 'cpu' keeps them)` } : {}) };
  }
  let speed: { gpuSeconds: number; cpuSeconds: number; sample: number };
  const measuring = measurePasses(backend, ds, weights, options);
  try {
    speed = await unlessAborted(measuring, options.signal);
  } catch (e) {
    // After an abort the pass being timed may still be in flight: the backend goes when it ends.
    if (options.signal?.aborted) handle.abandon(measuring.then(() => backend.dispose(), () => backend.dispose()));
    else backend.dispose();
    return cpuInstead(e, 'run this problem');
  }
  if (fasterBackend(speed.gpuSeconds, speed.cpuSeconds) === 'webgpu') return { backend, adapter: handle.adapter };
  backend.dispose();
  const ms = (s: number): string => (s * 1000 < 10 ? (s * 1000).toFixed(2) : (s * 1000).toFixed(0));
  return {
    backend: new CpuBackend(ds, weights),
    note: `using the CPU backend: one E-step pass measured ${ms(speed.cpuSeconds)} ms on the CPU (estimated from ${speed.sample} points) against ${ms(speed.gpuSeconds)} ms on WebGPU (${handle.adapter})`,
  };
}

/**
 * A backend of the same kind as `backend`, on the same device, for other data of the same training
 * (the wider search's split): not a new selection — the choice was made for this training, and
 * the GPU provider may have been replaced since (`setGpuProvider` affects the next training only;
 * asking it again had failed, hung or moved part of a running training to another device).
 */
export async function sameBackendFor(
  backend: EStepBackend,
  ds: Dataset,
  weights: Float64Array | null,
  options: { k: number; covarianceType: CovarianceType; maxChunkPoints?: number | undefined; residency?: Residency | undefined; signal?: AbortSignal | undefined },
): Promise<EStepBackend> {
  if (backend instanceof WebGpuBackend) return builtUnlessAborted(backend.handle, WebGpuBackend.create(backend.handle, ds, weights, options), options.signal);
  return new CpuBackend(ds, weights);
}

/**
 * The backend `building` resolves to, or the abort's rejection as soon as `signal` aborts: an abort
 * does not wait for the upload and the shaders' compilation (hundreds of milliseconds on lavapipe,
 * more where the build queues behind another training's on the shared device). A backend built
 * after the abort is disposed.
 */
function builtUnlessAborted<T extends EStepBackend>(handle: GpuHandle, building: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return unlessAborted(building, signal).catch((e: unknown) => {
    if (signal?.aborted) handle.abandon(building.then((b) => b.dispose(), () => undefined));
    throw e;
  });
}

/**
 * The backend to keep under `'auto'`, from measured seconds per E-step pass: WebGPU when its pass
 * takes at most half the CPU's. A float32 pass must win by that much because a run in float32
 * cannot see EM converge at a tolerance below its rounding (1e-10 on log L ≈ 1e5), which the
 * float64 backend stops at: on lavapipe, 1797 × 64 digits with K = 10 passed in 51 ms against the
 * CPU's 78 but ran 250 iterations (13.8 s) where the CPU converged after 36 (3.6 s). On a hardware
 * GPU, or on large data, the pass is many times faster and the choice is the same as before. The
 * factor cannot see iteration counts: with both passes faster since (17 against 55 ms), the same
 * digits kept WebGPU, 9.7 s against the CPU's 5.8 s — they are now kept on the CPU before any
 * timing, by their shape (the M-step outweighs the pass: mStepOutweighs).
 */
export function fasterBackend(gpuSeconds: number, cpuSeconds: number): 'webgpu' | 'cpu' {
  return gpuSeconds <= 0.5 * cpuSeconds ? 'webgpu' : 'cpu';
}

/**
 * Below this many multiply-adds per E-step pass (about a millisecond on one core) `'auto'` keeps
 * the CPU without timing anything: a whole fit takes a fraction of a second either way, float64
 * is the reference, and timings that small are noise — in a fresh process the CPU's first passes
 * run before the JIT has compiled them, several times slower than later ones — that would pick a
 * different backend (and model) from run to run. Decided from the problem's size, the choice is
 * the same in every run, and such problems never start a GPU device.
 */
const TINY_PASS_MULTIPLY_ADDS = 1e6;

/**
 * Why `'auto'` trains a problem on the CPU without asking for a GPU device — the WebGPU kernels
 * cannot hold it, it is small, its M-step outweighs its pass on any adapter, or float32 cannot
 * hold its weights — or undefined when WebGPU is to be tried.
 */
export function autoKeepsCpu(n: number, d: number, k: number, covarianceType: CovarianceType, weights: Float64Array | null): string | undefined {
  const why = WebGpuBackend.unsupported(d, k, covarianceType);
  if (why) return why;
  const work = passMultiplyAdds(n, d, k, covarianceType);
  if (work < TINY_PASS_MULTIPLY_ADDS) {
    return `the problem is small (${work.toPrecision(2)} multiply-adds per E-step pass, under ${TINY_PASS_MULTIPLY_ADDS.toExponential(0)}; a GPU's dispatch and read-back alone take longer)`;
  }
  // Decided before a device is asked for where it holds on every kind of adapter; where it holds
  // only on some, selectBackend decides it with the adapter's own costs.
  return mStepOutweighs(n, d, k, covarianceType, WebGpuBackend.everyDeviceCosts, 'WebGPU') ?? weightsLost(weights);
}

/**
 * Why a WebGPU run would gain little here on every one of `devices` (a non-empty list), or
 * undefined: few points per dimension, where the M-step, the same on both backends, outweighs the
 * pass — or a pass too small to pay for the device's round trip — and a float32 run would finish in
 * float64 on the CPU (CHEAP_FINISH_COST) after a start at most that much faster.
 */
function mStepOutweighs(n: number, d: number, k: number, covarianceType: CovarianceType, devices: readonly DeviceCosts[], gpu: string): string | undefined {
  const cost = (c: DeviceCosts) => float64IterationCost(n, k, d, covarianceType, c.referencePassCost, c.passOverhead);
  // The kind of device on which WebGPU would gain the most.
  const best = devices.reduce((a, b) => (cost(b) > cost(a) ? b : a));
  if (cost(best) > CHEAP_FINISH_COST) return undefined;
  const why =
    float64IterationCost(n, k, d, covarianceType, best.referencePassCost) <= CHEAP_FINISH_COST
      ? 'the M-step outweighs the E-step'
      : "the E-step's work (with the M-step) pays little more than the device's round trip";
  return `with ${n} points in ${d} dimensions ${why}, so an iteration on ${gpu} would be at most ${cost(best).toFixed(1)}× faster, and its float32 run would finish in float64 on the CPU`;
}

/**
 * Whether `choice` asks for a GPU device for this problem: the same exits as selectBackend, for
 * callers (the worker) that want the device early to report its adapter.
 */
export function asksForGpu(choice: BackendChoice, n: number, d: number, k: number, covarianceType: CovarianceType, weights: Float64Array | null): boolean {
  if (choice === 'webgpu') return !WebGpuBackend.unsupported(d, k, covarianceType);
  return choice === 'auto' && autoKeepsCpu(n, d, k, covarianceType, weights) === undefined;
}

/** What float32 would lose of the observation weights, or undefined when nothing. */
function weightsLost(weights: Float64Array | null): string | undefined {
  const lost = weights ? WebGpuBackend.weightsBeyondFloat32(weights) : 0;
  if (lost === 0) return undefined;
  return `${lost} observation weight${lost === 1 ? ' is' : 's are'} positive but below 2^-126 of the largest, beyond float32's range`;
}

/** A first (warm-up) WebGPU pass this much faster than the CPU's settles 'auto' without more timing. */
const CLEAR_GPU_WIN = 0.25;

/** CPU probe size: about this many multiply-adds per pass, so the probe costs milliseconds. */
const CPU_PROBE_FLOPS = 4e6;

/**
 * Seconds per E-step pass: the CPU on the first points (best of the second and third pass, the
 * first warming the JIT up; scaled by N / sample), then
 * WebGPU on all the data — one pass when, warm-up and all, it takes under a quarter of the CPU's
 * estimate (large problems: the probe then costs one pass), else the best of three more. The parameters are a
 * stand-in with the problem's shape — K components at data points with unit covariance — since
 * the cost of a pass does not depend on their values.
 */
export async function measurePasses(
  gpu: EStepBackend,
  ds: Dataset,
  weights: Float64Array | null,
  options: { k: number; covarianceType: CovarianceType; signal?: AbortSignal | undefined },
): Promise<{ gpuSeconds: number; cpuSeconds: number; sample: number }> {
  const { n, d } = ds;
  const { k, covarianceType, signal } = options;
  const params = probeParams(ds, k, covarianceType);
  const timePass = async (backend: EStepBackend): Promise<number> => {
    // After an abort no further pass starts (the caller has moved on; see selectBackend).
    throwIfAborted(signal);
    const t0 = performance.now();
    if (backend.timePass) await backend.timePass(params, signal);
    else await backend.pass(params, signal);
    return (performance.now() - t0) / 1000;
  };
  const sample = Math.min(n, Math.max(256, Math.floor(CPU_PROBE_FLOPS / passMultiplyAdds(1, d, k, covarianceType))));
  const cpu = new CpuBackend({ data: ds.data.subarray(0, sample * d), n: sample, d }, weights ? weights.subarray(0, sample) : null);
  let cpuSeconds: number;
  try {
    await timePass(cpu);
    cpuSeconds = (Math.min(await timePass(cpu), await timePass(cpu)) * n) / sample;
  } finally {
    cpu.dispose();
  }
  // The first pass also warms the device up (2–11× slower than later ones on lavapipe): it settles
  // the choice only when WebGPU wins even so, by a wide margin. Otherwise the best of three more
  // decides, as the CPU's best of two does: timing the first pass alone chose the CPU where WebGPU
  // was 3–4× faster, and flipped between runs of the same command (14 of 20 cases repeated).
  let gpuSeconds = await timePass(gpu);
  if (gpuSeconds > CLEAR_GPU_WIN * cpuSeconds) {
    gpuSeconds = Math.min(await timePass(gpu), await timePass(gpu), await timePass(gpu));
  }
  return { gpuSeconds, cpuSeconds, sample };
}

function probeParams(ds: Dataset, k: number, covarianceType: CovarianceType): MixtureParams {
  const { n, d } = ds;
  const means = new Float64Array(k * d);
  for (let c = 0; c < k; c++) means.set(ds.data.subarray(Math.floor((c * n) / k) * d, Math.floor((c * n) / k) * d + d), c * d);
  const precisions = new Float64Array(covarianceType === 'full' ? k * d * d : k * d);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) precisions[covarianceType === 'full' ? c * d * d + j * d + j : c * d + j] = 1;
  }
  return { covarianceType, k, d, logWeights: new Float64Array(k).fill(-Math.log(k)), means, precisions, logDets: new Float64Array(k) };
}
