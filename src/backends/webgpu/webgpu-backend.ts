/**
 * The WebGPU backend: the E-step and the sufficient statistics as WGSL compute shaders.
 *
 * Upload (once per `train()` call): the data is centred on its float64 mean, converted to float32,
 * padded to vec4 blocks and split into chunks that each fit one storage binding. A pass (one per EM
 * iteration) writes θ_t once, then per chunk runs estep.wgsl (responsibilities and per-workgroup
 * log-likelihood), stats-full/diagonal.wgsl (per-block partial statistics around the current means)
 * and reduce.wgsl (fixed-order sum of the partials), copies the chunk's totals into one staging
 * buffer, and submits once. The host adds the chunks' totals in float64.
 */
import type { EStepBackend, MixtureParams, PassResult } from '../backend.js';
import { packedSize } from '../backend.js';
import type { Dataset } from '../../data.js';
import type { CovarianceType } from '../../model/gaussian-mixture.js';
import { WebGmmError, throwIfAborted, abortError } from '../../errors.js';
import type { GpuHandle } from './device.js';
import { SHADERS } from './shaders.generated.js';
import { CpuBackend } from '../cpu/cpu-backend.js';

/** Largest dimensionality the kernels support (their private arrays are sized for it). */
export const WEBGPU_MAX_DIMENSIONS = 64;

const WG = 64;
const LOG_2PI = Math.log(2 * Math.PI);
/** The shaders' stand-in for −∞ (WGSL does not promise IEEE infinities). */
const NEG_BIG = -3.0e38;
/** Caps on the grid-stride dispatches: enough workgroups to fill a GPU, fixed for determinism. */
const MAX_ESTEP_GROUPS = 4096;
const MAX_STATS_GROUPS = 256;
/**
 * Bound on the float32 rounding error of log L relative to Σ w|log p|: a few dozen units of
 * float32 roundoff per point (Mahalanobis sums, exp/log, the reductions). Measured errors against
 * float64 stay below a tenth of it.
 */
const FLOAT32_LL_ERROR = 32 * 2 ** -23;

export interface WebGpuBackendOptions {
  k: number;
  covarianceType: CovarianceType;
  /** Upper bound on points per chunk (tests force small chunks to exercise chunking). */
  maxChunkPoints?: number | undefined;
}

interface Chunk {
  n: number;
  estepGroups: number;
  statsGroups: number;
  points: GPUBuffer;
  weights: GPUBuffer;
  llPartials: GPUBuffer;
  reduced: GPUBuffer;
  estepBind: GPUBindGroup;
  statsBind: GPUBindGroup;
  reduceBind: GPUBindGroup;
  stagingLl: number;
  stagingStats: number;
}

interface Layout {
  d: number;
  k: number;
  dp4: number;
  da4: number;
  nb: number;
  z: number;
  stride: number;
  tile: number;
  /** vec4s of reduced statistics per chunk. */
  m: number;
  diagonal: boolean;
}

function layoutFor(d: number, k: number, type: CovarianceType, maxWorkgroupStorage: number): Layout {
  const diagonal = type === 'diagonal';
  const dp4 = Math.ceil(d / 4);
  const da4 = Math.ceil((d + 1) / 4);
  const nb = (da4 * (da4 + 1)) / 2;
  const stride = diagonal ? 2 * dp4 + 1 : dp4 + d * dp4 + 1;
  const perPoint = (diagonal ? dp4 : da4) * 16 + 4;
  const fixed = diagonal ? 3 * WG * 16 : WG * 64;
  let tile = 64;
  while (tile > 4 && tile * perPoint + fixed > maxWorkgroupStorage) tile /= 2;
  const m = diagonal ? k * dp4 * 3 : k * nb * 4;
  return { d, k, dp4, da4, nb, z: Math.ceil(nb / WG), stride, tile, m, diagonal };
}

export class WebGpuBackend implements EStepBackend {
  readonly kind = 'webgpu' as const;
  readonly n: number;
  readonly d: number;
  /** Adapter description, for reports. */
  readonly adapter: string;
  /** Points per chunk and number of chunks. */
  readonly chunkPoints: number;
  readonly chunkCount: number;

  private readonly device: GPUDevice;
  private readonly lost: Promise<GPUDeviceLostInfo>;
  private readonly layout: Layout;
  private readonly centre: Float64Array;
  private readonly buffers: GPUBuffer[] = [];
  private readonly chunks: Chunk[] = [];
  private params!: GPUBuffer;
  private staging!: GPUBuffer;
  private estepPipeline!: GPUComputePipeline;
  private statsPipeline!: GPUComputePipeline;
  private reducePipeline!: GPUComputePipeline;
  private disposed = false;
  /** The float64 reference on the same data, for log-likelihoods float32 cannot resolve. */
  private readonly reference: CpuBackend;

  private constructor(handle: GpuHandle, ds: Dataset, options: WebGpuBackendOptions, weights: Float64Array | null) {
    this.device = handle.device;
    this.lost = handle.lost;
    this.adapter = handle.adapter;
    this.n = ds.n;
    this.d = ds.d;
    const limits = this.device.limits;
    this.layout = layoutFor(ds.d, options.k, options.covarianceType, limits.maxComputeWorkgroupStorageSize);
    const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    let chunk = Math.min(
      ds.n,
      Math.floor(maxBinding / (this.layout.dp4 * 16)),
      Math.floor(maxBinding / (options.k * 4)),
    );
    if (options.maxChunkPoints !== undefined) chunk = Math.min(chunk, Math.max(1, Math.floor(options.maxChunkPoints)));
    this.chunkPoints = chunk;
    this.chunkCount = Math.ceil(ds.n / chunk);
    this.centre = new Float64Array(ds.d);
    this.reference = new CpuBackend(ds, weights);
  }

  /**
   * Uploads the data and builds the pipelines. Throws a `WebGmmError` when the device cannot hold
   * the data or rejects a shader.
   */
  static async create(
    handle: GpuHandle,
    ds: Dataset,
    weights: Float64Array | null,
    options: WebGpuBackendOptions,
  ): Promise<WebGpuBackend> {
    if (ds.d > WEBGPU_MAX_DIMENSIONS) {
      throw new WebGmmError('UNSUPPORTED', `the WebGPU backend supports up to ${WEBGPU_MAX_DIMENSIONS} dimensions, the data has ${ds.d}; use backend 'cpu'`);
    }
    const backend = new WebGpuBackend(handle, ds, options, weights);
    try {
      await backend.build(ds, weights);
    } catch (e) {
      backend.dispose();
      throw e;
    }
    return backend;
  }

  private createBuffer(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage, label });
    this.buffers.push(buffer);
    return buffer;
  }

  private async build(ds: Dataset, weights: Float64Array | null): Promise<void> {
    const device = this.device;
    const L = this.layout;
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');

    // The centre is the float64 mean, so float32 keeps the points' relative precision.
    const { data, n, d } = ds;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) this.centre[j] = this.centre[j]! + data[i * d + j]!;
    for (let j = 0; j < d; j++) this.centre[j] = this.centre[j]! / n;

    await this.createPipelines(weights !== null);

    const STORAGE = GPUBufferUsage.STORAGE;
    const paramsSize = L.k * L.stride * 16;
    this.params = this.createBuffer(paramsSize, STORAGE | GPUBufferUsage.COPY_DST, 'params');
    const resp = this.createBuffer(this.chunkPoints * L.k * 4, STORAGE, 'responsibilities');
    const tilesMax = Math.ceil(this.chunkPoints / L.tile);
    const partialsSize = Math.min(tilesMax, MAX_STATS_GROUPS) * L.m * 16;
    const partials = this.createBuffer(partialsSize, STORAGE, 'partial statistics');
    const dummyWeights = weights === null ? this.createBuffer(16, STORAGE, 'no weights') : null;

    let staging = 0;
    for (let c = 0; c < this.chunkCount; c++) {
      const start = c * this.chunkPoints;
      const cn = Math.min(this.chunkPoints, n - start);
      const f32 = new Float32Array(cn * L.dp4 * 4);
      for (let i = 0; i < cn; i++) {
        const src = (start + i) * d;
        const dst = i * L.dp4 * 4;
        for (let j = 0; j < d; j++) f32[dst + j] = data[src + j]! - this.centre[j]!;
      }
      const points = this.createBuffer(f32.byteLength, STORAGE | GPUBufferUsage.COPY_DST, `points ${c}`);
      device.queue.writeBuffer(points, 0, f32);
      let wbuf: GPUBuffer;
      if (weights) {
        wbuf = this.createBuffer(cn * 4, STORAGE | GPUBufferUsage.COPY_DST, `weights ${c}`);
        device.queue.writeBuffer(wbuf, 0, Float32Array.from(weights.subarray(start, start + cn)));
      } else {
        wbuf = dummyWeights!;
      }
      const estepGroups = Math.min(Math.ceil(cn / WG), MAX_ESTEP_GROUPS);
      const tiles = Math.ceil(cn / L.tile);
      const statsGroups = Math.min(tiles, MAX_STATS_GROUPS);
      const estepUniform = this.uniform([cn, estepGroups, tiles, 0], `estep uniform ${c}`);
      const statsUniform = this.uniform([cn, statsGroups, tiles, 0], `stats uniform ${c}`);
      const reduceUniform = this.uniform([L.m, statsGroups, 0, 0], `reduce uniform ${c}`);
      const llPartials = this.createBuffer(estepGroups * 16, STORAGE | GPUBufferUsage.COPY_SRC, `log-likelihood ${c}`);
      const reduced = this.createBuffer(L.m * 16, STORAGE | GPUBufferUsage.COPY_SRC, `statistics ${c}`);
      const entries = (buffers: GPUBuffer[]): GPUBindGroupEntry[] => buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      this.chunks.push({
        n: cn,
        estepGroups,
        statsGroups,
        points,
        weights: wbuf,
        llPartials,
        reduced,
        estepBind: device.createBindGroup({
          layout: this.estepPipeline.getBindGroupLayout(0),
          entries: entries([points, wbuf, this.params, resp, llPartials, estepUniform]),
        }),
        statsBind: device.createBindGroup({
          layout: this.statsPipeline.getBindGroupLayout(0),
          entries: entries([points, this.params, resp, partials, statsUniform]),
        }),
        reduceBind: device.createBindGroup({
          layout: this.reducePipeline.getBindGroupLayout(0),
          entries: entries([partials, reduced, reduceUniform]),
        }),
        stagingLl: staging,
        stagingStats: staging + estepGroups * 16,
      });
      staging += estepGroups * 16 + L.m * 16;
    }
    this.staging = this.createBuffer(staging, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'staging');

    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    if (oom) {
      throw new WebGmmError('GPU_OUT_OF_MEMORY', `the GPU has not enough memory for ${n} points × ${d} dimensions (${oom.message}); use backend 'cpu'`);
    }
    if (invalid) throw new WebGmmError('GPU_ERROR', `WebGPU rejected the backend's setup: ${invalid.message}`);
  }

  private uniform(values: number[], label: string): GPUBuffer {
    const buffer = this.createBuffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label);
    this.device.queue.writeBuffer(buffer, 0, Uint32Array.from(values));
    return buffer;
  }

  private async createPipelines(hasWeights: boolean): Promise<void> {
    const L = this.layout;
    const device = this.device;
    const pipeline = (code: string, constants: Record<string, number>, label: string) =>
      device.createComputePipelineAsync({
        label,
        layout: 'auto',
        compute: { module: device.createShaderModule({ code, label }), entryPoint: 'main', constants },
      });
    const statsConstants: Record<string, number> = L.diagonal
      ? { DP4: L.dp4, K: L.k, STRIDE: L.stride, TILE: L.tile }
      : { D: L.d, DP4: L.dp4, DA4: L.da4, NB: L.nb, K: L.k, STRIDE: L.stride, TILE: L.tile };
    [this.estepPipeline, this.statsPipeline, this.reducePipeline] = await Promise.all([
      pipeline(SHADERS.estep, { D: L.d, DP4: L.dp4, K: L.k, DIAGONAL: L.diagonal ? 1 : 0, HAS_WEIGHTS: hasWeights ? 1 : 0 }, 'estep'),
      pipeline(L.diagonal ? SHADERS['stats-diagonal'] : SHADERS['stats-full'], statsConstants, 'stats'),
      pipeline(SHADERS.reduce, {}, 'reduce'),
    ]);
  }

  /** θ_t in the shaders' float32 layout, with the means in the centred frame. */
  private writeParams(params: MixtureParams): Float64Array {
    const L = this.layout;
    const { k, d } = params;
    const out = new Float32Array(k * L.stride * 4);
    const shift = new Float64Array(k * d);
    for (let c = 0; c < k; c++) {
      const base = c * L.stride * 4;
      for (let j = 0; j < d; j++) {
        out[base + j] = params.means[c * d + j]! - this.centre[j]!;
        // The statistics are shifted by the float32 mean the shader used, in the original frame.
        shift[c * d + j] = out[base + j]! + this.centre[j]!;
      }
      if (L.diagonal) {
        for (let j = 0; j < d; j++) out[base + L.dp4 * 4 + j] = params.precisions[c * d + j]!;
      } else {
        for (let r = 0; r < d; r++) {
          const row = base + (L.dp4 + r * L.dp4) * 4;
          for (let j = 0; j <= r; j++) out[row + j] = params.precisions[c * d * d + r * d + j]!;
        }
      }
      const lw = params.logWeights[c]!;
      out[base + (L.stride - 1) * 4] = lw === -Infinity ? NEG_BIG : lw - 0.5 * (d * LOG_2PI + params.logDets[c]!);
    }
    this.device.queue.writeBuffer(this.params, 0, out);
    return shift;
  }

  async pass(params: MixtureParams, signal?: AbortSignal): Promise<PassResult> {
    if (this.disposed) throw new Error('WebGpuBackend.pass() called after dispose()');
    throwIfAborted(signal);
    const L = this.layout;
    if (params.k !== L.k || params.d !== L.d || (params.covarianceType === 'diagonal') !== L.diagonal) {
      throw new Error('parameters do not match the backend the data was uploaded for');
    }
    const device = this.device;
    device.pushErrorScope('validation');
    const shift = this.writeParams(params);
    const encoder = device.createCommandEncoder({ label: 'EM pass' });
    for (const ch of this.chunks) {
      const compute = encoder.beginComputePass({ label: 'E-step and statistics' });
      compute.setPipeline(this.estepPipeline);
      compute.setBindGroup(0, ch.estepBind);
      compute.dispatchWorkgroups(ch.estepGroups);
      compute.setPipeline(this.statsPipeline);
      compute.setBindGroup(0, ch.statsBind);
      compute.dispatchWorkgroups(ch.statsGroups, L.k, L.diagonal ? 1 : L.z);
      compute.setPipeline(this.reducePipeline);
      compute.setBindGroup(0, ch.reduceBind);
      compute.dispatchWorkgroups(Math.ceil(L.m / WG));
      compute.end();
      encoder.copyBufferToBuffer(ch.llPartials, 0, this.staging, ch.stagingLl, ch.estepGroups * 16);
      encoder.copyBufferToBuffer(ch.reduced, 0, this.staging, ch.stagingStats, L.m * 16);
    }
    device.queue.submit([encoder.finish()]);
    const invalid = device.popErrorScope();

    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        signal?.removeEventListener('abort', onAbort);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (fn: () => void) => () => {
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      void this.lost.then((info) =>
        settle(() => reject(new WebGmmError('GPU_DEVICE_LOST', `the GPU device was lost during training (${info.reason}: ${info.message || 'no message'}); retry, or use backend 'cpu'`)))(),
      );
      // On abort or loss the mapping is left pending; dispose() destroys the buffer.
      this.staging.mapAsync(GPUMapMode.READ).then(settle(resolve), (e: unknown) => settle(() => reject(e))());
    });
    const err = await invalid;
    if (err) {
      this.staging.unmap();
      throw new WebGmmError('GPU_ERROR', `WebGPU rejected an EM pass: ${err.message}`);
    }
    const view = new Float32Array(this.staging.getMappedRange().slice(0));
    this.staging.unmap();
    return this.collect(view, shift);
  }

  /** Adds the chunks' float32 totals in float64 and unpacks them into `SufficientStats`. */
  private collect(view: Float32Array, shift: Float64Array): PassResult {
    const L = this.layout;
    const { k, d } = L;
    let logLikelihood = 0;
    let zero = 0;
    let absSum = 0;
    const totals = new Float64Array(L.m * 4);
    for (const ch of this.chunks) {
      const llBase = ch.stagingLl / 4;
      for (let g = 0; g < ch.estepGroups; g++) {
        logLikelihood += view[llBase + 4 * g]!;
        zero += view[llBase + 4 * g + 1]!;
        absSum += view[llBase + 4 * g + 2]!;
      }
      const sBase = ch.stagingStats / 4;
      for (let i = 0; i < L.m * 4; i++) totals[i] = totals[i]! + view[sBase + i]!;
    }
    const nk = new Float64Array(k);
    const sums = new Float64Array(k * d);
    let scatter: Float64Array;
    if (L.diagonal) {
      scatter = new Float64Array(k * d);
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < d; j++) {
          const unitBase = ((c * L.dp4 + (j >> 2)) * 3) * 4;
          sums[c * d + j] = totals[unitBase + (j & 3)]!;
          scatter[c * d + j] = totals[unitBase + 4 + (j & 3)]!;
        }
        nk[c] = totals[c * L.dp4 * 3 * 4 + 8]!;
      }
    } else {
      const tri = packedSize(d);
      scatter = new Float64Array(k * tri);
      // unitOf[bi][bj]: upper blocks enumerated row by row, as the shader does.
      const unitOf: number[][] = [];
      let u = 0;
      for (let bi = 0; bi < L.da4; bi++) {
        unitOf.push([]);
        for (let bj = bi; bj < L.da4; bj++) unitOf[bi]![bj] = u++;
      }
      const entry = (c: number, i: number, j: number): number => {
        const unit = unitOf[i >> 2]![j >> 2]!;
        return totals[((c * L.nb + unit) * 16) + (j & 3) * 4 + (i & 3)]!;
      };
      for (let c = 0; c < k; c++) {
        let p = c * tri;
        for (let i = 0; i < d; i++) {
          for (let j = i; j < d; j++) scatter[p++] = entry(c, i, j);
          sums[c * d + i] = entry(c, i, d);
        }
        nk[c] = entry(c, d, d);
      }
    }
    return {
      logLikelihood,
      logLikelihoodUncertainty: FLOAT32_LL_ERROR * absSum,
      zeroLikelihoodPoints: Math.round(zero),
      stats: { nk, sums, scatter, shift },
    };
  }

  /** log L(θ) in float64 on the host (the CPU reference), for convergence decisions. */
  preciseLogLikelihood(params: MixtureParams, signal?: AbortSignal): Promise<number> {
    return this.reference.logLikelihood(params, signal);
  }

  dispose(): void {
    if (this.disposed) return;
    this.reference.dispose();
    this.disposed = true;
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
    this.chunks.length = 0;
  }
}
