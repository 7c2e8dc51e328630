/**
 * The WebGPU backend: the E-step and the sufficient statistics as WGSL compute shaders.
 *
 * Upload (once per `train()` call): the data is centred on its float64 mean, each feature divided by
 * a power of two near its largest deviation (and the observation weights by one near the largest
 * weight), converted to float32, padded to vec4 blocks and split into chunks that each fit one storage binding. Streamed instead
 * (see `residency`), each pass converts and uploads every chunk again into one reused buffer. A
 * pass (one per EM iteration) writes θ_t once, then per chunk runs either
 *  - fused.wgsl (full, D ≤ 8) or fused-diagonal.wgsl (diagonal, D ≤ 32), where K ≤ twice the
 *    subgroup size and the device has subgroups: E-step and statistics in one kernel, the
 *    responsibilities never stored; or
 *  - estep.wgsl (responsibilities and per-workgroup log-likelihood) then stats-full/diagonal.wgsl
 *    (per-block partial statistics around the current means; the -subgroup variants where the
 *    device has subgroups), whose private arrays scale to D = 64 with full covariances (diagonal:
 *    D ≤ 262 140, the statistics' dispatch rows) and K beyond a workgroup;
 * then reduce.wgsl (fixed-order sum of the partials), copies the chunk's totals into one staging
 * buffer, and submits once (once per chunk when streamed). The host adds the chunks' totals in
 * float64.
 */
import type { EStepBackend, MixtureParams, PassResult, SufficientStats } from '../backend.js';
import { packedSize } from '../backend.js';
import { columnRanges, type Dataset } from '../../data.js';
import type { CovarianceType } from '../../model/gaussian-mixture.js';
import { WebGmmError, throwIfAborted, abortError } from '../../errors.js';
import type { GpuHandle } from './device.js';
import type { Residency } from '../residency.js';
import { SHADERS } from './shaders.generated.js';
import { CpuBackend } from '../cpu/cpu-backend.js';

/** The device's loss, if it is lost within `ms` milliseconds (or already is); else null. */
function lostWithin(handle: GpuHandle, ms: number): Promise<GPUDeviceLostInfo | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stop();
      resolve(null);
    }, ms);
    const stop = handle.onLost((info) => {
      clearTimeout(timer);
      resolve(info);
    });
  });
}

function deviceLostError(info: GPUDeviceLostInfo): WebGmmError {
  return new WebGmmError('GPU_DEVICE_LOST', `the GPU device was lost during training (${info.reason}: ${info.message || 'no message'}); retry, or use backend 'cpu'`);
}

/** Largest dimensionality the kernels support with full covariances (their private arrays are sized for it). */
const WEBGPU_MAX_DIMENSIONS = 64;
/** Largest with diagonal covariances: the statistics dispatch one workgroup row per 4 dimensions, at most 65 535. */
const WEBGPU_MAX_DIAGONAL_DIMENSIONS = 4 * 65535;

const WG = 64;
const LOG_2PI = Math.log(2 * Math.PI);
/** The shaders' stand-in for −∞ (WGSL does not promise IEEE infinities). */
const NEG_BIG = -3.0e38;
/** Largest statistics workgroup (one invocation per component); WebGPU guarantees 256. */
const MAX_STATS_WORKGROUP = 256;
/** The statistics partials buffer stays below this (point ranges are reduced to fit). */
const MAX_PARTIALS_BYTES = 32 * 1024 * 1024;
/** The E-step evaluates this many points per invocation (PPI in estep.wgsl). */
const POINTS_PER_INVOCATION = 4;
/**
 * The fused kernel's private arrays hold D ≤ 8 for full covariance (FULL_MAXD in fused.wgsl) and
 * D ≤ 32 for diagonal (MAXD); its one subgroup, all K components.
 */
const FUSED_MAX_D = { full: 8, diagonal: 32 } as const;
/** Components per invocation of the fused kernel, at most (KPL_MAX in fused.wgsl). */
const FUSED_MAX_PER_LANE = 2;
/**
 * Under `residency: 'auto'` a software adapter streams the points when they exceed this many bytes:
 * below it the second copy costs little memory and the per-pass conversion would cost time.
 */
const STREAM_MIN_BYTES = 256 * 1024 * 1024;
/** Points per streamed chunk: about this many bytes, so the buffers streaming needs stay small. */
const STREAM_CHUNK_BYTES = 32 * 1024 * 1024;
/** Largest slice of points written to the device at once (device residency): a bounded float32 copy. */
const UPLOAD_SLICE_BYTES = 16 * 1024 * 1024;

/**
 * How a pass spreads a chunk's points over workgroups. Each workgroup ends with a reduction, and
 * the fused kernels' workgroups are one subgroup that walks its point range alone.
 */
export interface DispatchGeometry {
  /** Points per statistics (and fused) workgroup, at least, before the range is split further. */
  statsPointsPerGroup: number;
  /** Statistics (and fused) workgroups per chunk, at most. */
  maxStatsGroups: number;
  /** Loop steps per E-step invocation (POINTS_PER_INVOCATION points each), at least, before more workgroups are used. */
  estepIterations: number;
  /** E-step workgroups per chunk, at most. */
  maxEstepGroups: number;
  /** The statistics' per-workgroup partials summed by a workgroup per output (reduce.wgsl's `wide`), not one invocation. */
  wideReduce: boolean;
  /** Parameters beyond the uniform block staged in workgroup memory a component at a time (estep.wgsl's STAGE_PARAMS). */
  stageParams: boolean;
}

/**
 * A CPU driver (lavapipe) wants few, long workgroups: its barriers are costly (they make it keep
 * every invocation's private state in memory) and it has only the host's cores to fill. Fixed, not
 * tuned to the machine, so that results do not depend on it.
 */
export const SOFTWARE_GEOMETRY: Readonly<DispatchGeometry> = Object.freeze({ statsPointsPerGroup: 2048, maxStatsGroups: 256, estepIterations: 8, maxEstepGroups: 4096, wideReduce: false, stageParams: false });
/**
 * A GPU wants thousands of short workgroups in flight, and their partials summed by as many lanes.
 * With the software geometry a fused workgroup (8–32 lanes) walked at least 2048 points alone: on
 * an H200 a pass over 2000 × 8 points took 3.7 ms, 1M × 8 (K = 8, full) 7.4 ms. Chosen from
 * `bench/latency.ts --sweep` there (points per range 32–256 × ranges 1024–16384, round robin):
 * 0.36 and 1.9 ms, and 1.0 ms for 1M × 8 diagonal (4.3), 0.51 for 100k × 32 K = 16 diagonal
 * (4.2) and 1.8 for full (3.9) — warm, round robin: within 10% of the sweep's best on each case
 * but the smallest (0.31 ms with 32 points per range, which cost up to 25% more on two others).
 * Frozen, as SOFTWARE_GEOMETRY: overrides go through WebGpuBackendOptions.geometry.
 */
export const HARDWARE_GEOMETRY: Readonly<DispatchGeometry> = Object.freeze({ statsPointsPerGroup: 64, maxStatsGroups: 4096, estepIterations: 1, maxEstepGroups: 4096, wideReduce: true, stageParams: true });
/**
 * Point ranges of the statistics kernels are multiples of this: the diagonal kernels' BLOCK (their
 * vec4 walk needs whole blocks), which the subgroup kernels' SG divides. (The full kernels fold
 * their sums every 64 points, their BLOCK, and take ranges of any multiple of 32.)
 */
const STATS_BLOCK = 32;

/** Point ranges (workgroups along x) of the statistics kernels for a chunk of n points. */
function statsGroupsFor(n: number, L: Layout, g: DispatchGeometry): number {
  const fit = Math.floor(MAX_PARTIALS_BYTES / (L.m * 16));
  return Math.max(1, Math.min(Math.ceil(n / g.statsPointsPerGroup), g.maxStatsGroups, fit));
}
/**
 * The parameters live in one uniform binding of this size where they fit (uniform loads are
 * broadcasts); beyond it the E-step reads them from a storage binding of the same buffer (estep.wgsl's
 * LARGE_PARAMS), and the fused kernels, which read only the uniform one, are not used.
 */
const PARAMS_UNIFORM_BYTES = 65536;
/**
 * Workgroups along one dispatch dimension (`maxComputeWorkgroupsPerDimension`'s default). The
 * reduction runs one invocation (`main`) or one workgroup (`wide`, in rows of this many) per vec4
 * of statistics (L.m): `main`'s L.m / 64 workgroups bound the model (K ≤ 5140 full at D = 64,
 * 87 380 diagonal), far beyond what its passes would make worth a GPU.
 */
const MAX_WORKGROUPS_PER_DIMENSION = 65535;
/**
 * Bound on the float32 rounding error of log L relative to Σ w|log p|: a few dozen units of
 * float32 roundoff per point (Mahalanobis sums, exp/log, the reductions). To it the backend adds
 * the error that the rounding of the points and means puts in the Mahalanobis terms, which grows
 * with the precision factors rather than with |log p| (see `mahalanobisError`). Measured errors
 * against float64 stay below a tenth of the sum (up to a fifth where one point repeats thousands
 * of times, so that every rounding repeats too).
 */
const FLOAT32_LL_ERROR = 32 * 2 ** -23;
/** float32's unit roundoff. */
const FLOAT32_ROUNDOFF = 2 ** -24;
/**
 * Rounding of the float32 statistics relative to √(S_ii S_jj), as `mahalanobisError` allows for
 * it (measured: ≤ 2e-6 of the covariances).
 */
const FLOAT32_STATS_ERROR = 32 * FLOAT32_ROUNDOFF;
/**
 * WebGPU's buffer-usage and map-mode flags, whose values the specification fixes: read from here
 * rather than from the GPUBufferUsage / GPUMapMode globals, which a provider's GPU object may come
 * without (Dawn's `create()` in Node installs none; only the Node entry's own provider sets them).
 */
const BUFFER_USAGE = { MAP_READ: 0x0001, MAP_WRITE: 0x0002, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
const MAP_MODE = { READ: 0x0001, WRITE: 0x0002 } as const;

/**
 * Largest rounding of a full covariance built from float32 statistics, relative to the covariance
 * itself in the direction where it is largest (its bound, FLOAT32_STATS_ERROR · b_r², see
 * `resolves`). The M-step's error costs the fit about N r²/4 nats per component (log L is
 * stationary in Σ at EM's fixed point); measured on 200 000 × 3, K = 2, a column within 1e-3 of
 * another (bound ~8): 172 nats (4e-4 relative) short of float64's fit, never converging. At 0.1
 * the loss stays far below the 1e-6 relative of float32's log-likelihood (the loss grows with the
 * square of the error); two features need a correlation beyond 0.99996 to exceed it.
 */
const MAX_STATS_ERROR = 0.1;

/** Largest precision factor entry (1/σ in the points' units) float32 evaluates faithfully. */
const MAX_UNIT_PRECISION = 1e5;

/**
 * A kind of device's figures for weighing a float64 iteration against its float32 ones
 * (float64IterationCost): fixed per kind rather than timings, so that training stays deterministic.
 */
export interface DeviceCosts {
  /**
   * What a float64 CPU pass costs in passes of this backend (EStepBackend.referencePassCost). On a
   * software adapter (lavapipe on two cores, against the CPU backend on one) measured 7.6–27×
   * across `npm run bench`'s cases (100k × 32 full 7.6, 1M × 8 full 15, diagonal 27; 3M × 3,
   * K = 8: ~12); a hardware GPU is one to two orders of magnitude faster still (an H200: 155–1100×).
   */
  referencePassCost: number;
  /**
   * A pass's round trip (upload θ, dispatch, map the statistics back) in multiply-adds of the CPU
   * backend's float64 pass (EStepBackend.passOverhead). On lavapipe an iteration over 1000 × 3
   * points (K = 3) took 0.33 ms whatever the size below that, about what the CPU backend spends
   * on 1e5 multiply-adds (0.5–0.66 ms for 2.2e5 over 4000 points). On an H200 through Dawn's
   * Vulkan backend a float32 iteration over a few thousand points took 0.8–0.9 ms beside its
   * kernels' 0.3 ms (`bench/latency.ts`; the digits, 1797 × 64 diagonal, 250 iterations in
   * 0.2 s), what its host's CPU backend spends on 5e5 multiply-adds (0.6 G per second on the
   * digits and breast cancer): with 1e5 a float64 iteration there was costed at 8.9–32 float32
   * ones where it measured 1.5–7.
   */
  passOverhead: number;
}
const SOFTWARE_COSTS: DeviceCosts = { referencePassCost: 16, passOverhead: 1e5 };
const HARDWARE_COSTS: DeviceCosts = { referencePassCost: 256, passOverhead: 5e5 };

/** Per device, the build in progress (see oneAtATime). */
const building = new WeakMap<GPUDevice, Promise<unknown>>();

/**
 * Runs `fn` after the device's previous build has settled. A build holds two error scopes open
 * across awaits; error scopes are a per-device stack, so two trainings building at once on the
 * shared device would pop each other's scopes and report each other's errors.
 */
async function oneAtATime<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  const previous = building.get(device) ?? Promise.resolve();
  const mine = previous.then(fn, fn);
  building.set(device, mine.catch(() => undefined));
  return mine;
}

/**
 * Per device, its compiled pipelines by shader, entry point and override constants, the most
 * recently used last: a process that trains the same shape of problem again (an interactive
 * application refitting) compiled the same shaders every time — on lavapipe, 2000 × 3 points with
 * K = 3 and 3 iterations took 120 ms per training, 24 ms with the pipelines kept. Bind groups are
 * made per backend from a pipeline's layout, so a pipeline serves any number of backends. At most
 * PIPELINE_CACHE_SIZE per device; a failed compilation is not kept.
 */
const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();
/** @internal */
export const PIPELINE_CACHE_SIZE = 32;

/** @internal Exported for tests. */
export function cachedPipeline(device: GPUDevice, key: string, compile: () => Promise<GPUComputePipeline>): Promise<GPUComputePipeline> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let pipeline = cache.get(key);
  if (pipeline) {
    cache.delete(key);
  } else {
    pipeline = compile();
    pipeline.catch(() => {
      if (cache.get(key) === pipeline) cache.delete(key);
    });
  }
  cache.set(key, pipeline);
  if (cache.size > PIPELINE_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return pipeline;
}

/**
 * The pipelines, once every compilation has ended: where one fails, the build fails only then, so
 * that no compilation is still pending when its failure ends the training (and perhaps the
 * thread, which Dawn aborts the process for).
 */
async function allCompiled<T extends readonly Promise<GPUComputePipeline>[]>(compiling: T): Promise<{ -readonly [I in keyof T]: GPUComputePipeline }> {
  const settled = await Promise.allSettled(compiling);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<GPUComputePipeline>).value) as { -readonly [I in keyof T]: GPUComputePipeline };
}

/** 2^-126: the smallest normal float32. */
const FLOAT32_MIN_NORMAL = 2 ** -126;

/**
 * The power of two nearest `x` (rounded in the log), 1 for 0 or a non-finite x: dividing by it
 * brings x near 1 and rounds nothing.
 */
function powerOfTwoNear(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  // Within the normal range either way, so that 1/u is exact too.
  return 2 ** Math.max(-1000, Math.min(1000, Math.round(Math.log2(x))));
}

/** The power of two the weights are divided by on upload: the one nearest the largest weight. */
function weightUnitOf(weights: Float64Array): number {
  let most = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i]! > most) most = weights[i]!;
  return powerOfTwoNear(most);
}

export interface WebGpuBackendOptions {
  k: number;
  covarianceType: CovarianceType;
  /** Upper bound on points per chunk (tests force small chunks to exercise chunking). */
  maxChunkPoints?: number | undefined;
  /** false: E-step and statistics as two kernels even where the fused kernel applies (tests, benchmarks). */
  fused?: boolean;
  /** false: no subgroup operations even where the device has them, as on a device without (tests, benchmarks). */
  subgroups?: boolean;
  /**
   * Where the points live between passes. `'device'`: uploaded once and kept on the device (the
   * fastest). `'streamed'`: converted and uploaded again, chunk by chunk, on every pass, into one
   * reused chunk buffer — device memory no longer grows with the data, at the cost of one
   * conversion of the data per pass. `'auto'` (default): streamed on a software adapter
   * (lavapipe, SwiftShader: its device memory is host memory, a second copy of the data) when the
   * points exceed 256 MiB as float32, and wherever the device runs out of memory for them;
   * otherwise on the device.
   */
  residency?: Residency | undefined;
  /** Overrides of the adapter's dispatch geometry (tests, benchmarks). */
  geometry?: Partial<DispatchGeometry> | undefined;
}

/**
 * Whether `residency` streams `bytes` of uploaded points (float32 rows of vec4 blocks) on an
 * adapter whose device memory is (`hostMemory`) or is not the process's memory.
 */
export function streamsPoints(residency: Residency, hostMemory: boolean, bytes: number): boolean {
  return residency === 'streamed' || (residency === 'auto' && hostMemory && bytes > STREAM_MIN_BYTES);
}

/** One dispatch of a pass, named for profiling. */
interface Dispatch {
  name: string;
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  groups: [number, number, number];
}

/** What a pass needs per chunk (its buffers are owned by `buffers`, which dispose() destroys). */
interface Chunk {
  /** The chunk's first point and its number of points. */
  start: number;
  count: number;
  /** Workgroups that each leave one log-likelihood partial. */
  llGroups: number;
  llPartials: GPUBuffer;
  reduced: GPUBuffer;
  dispatches: Dispatch[];
  stagingLl: number;
  stagingStats: number;
}

interface Layout {
  d: number;
  k: number;
  dp4: number;
  /** Statistics tiles: upper 4×4 blocks of S (full) or vec4 blocks (diagonal). */
  tiles: number;
  /** vec4s per (tile, component) in the statistics: 6 full (S block, s, N), 3 diagonal (s, q, N). */
  slot: number;
  /** Components per statistics workgroup, and the workgroups along z that cover K. */
  kw: number;
  kGroups: number;
  stride: number;
  /** vec4s of a triangular-packed precision factor: row r holds r/4 + 1 blocks. */
  tri4: number;
  /** vec4s of reduced statistics per chunk. */
  m: number;
  diagonal: boolean;
  /** One fused kernel per chunk (fused.wgsl) rather than E-step + statistics. */
  fused: boolean;
  /** Fused: invocations per workgroup (one subgroup), and components per invocation. */
  lanes: number;
  perLane: number;
  /**
   * Split statistics with subgroups (stats-*-subgroup.wgsl): points per shared load (SG), a power
   * of two ≤ the smallest subgroup, 4 … 32; 0 where the device has no subgroups (stats-*.wgsl).
   */
  sg: number;
  /** The parameters exceed the uniform binding (PARAMS_UNIFORM_BYTES): the E-step reads storage. */
  largeParams: boolean;
}

/** Largest SG of the subgroup statistics kernels (a divisor of STATS_BLOCK). */
const STATS_MAX_SG = 32;

/**
 * `subgroupMinSize` 0: no subgroup operations (the device has none, or the caller turned them off).
 * `fusable` false: the E-step + statistics pair even where the fused kernel applies.
 */
function layoutFor(d: number, k: number, type: CovarianceType, subgroupMinSize = 0, fusable = true): Layout {
  const diagonal = type === 'diagonal';
  const dp4 = Math.ceil(d / 4);
  // Fused: one subgroup of `lanes` invocations, each owning `perLane` components.
  const perLane = subgroupMinSize > 0 ? Math.ceil(k / subgroupMinSize) : Infinity;
  // P's packed rows (full only: about D²/8 vec4s, past u32 from D ≈ 185 000).
  let tri4 = 0;
  if (!diagonal) for (let r = 0; r < d; r++) tri4 += (r >> 2) + 1;
  const stride = diagonal ? 2 * dp4 + 1 : dp4 + tri4 + 1;
  const largeParams = k * stride * 16 > PARAMS_UNIFORM_BYTES;
  const fused = fusable && d <= FUSED_MAX_D[type] && perLane <= FUSED_MAX_PER_LANE && !largeParams;
  const lanes = fused ? Math.ceil(k / perLane) : 0;
  // Fused: per component the packed statistics [S (full) | s | N] (diagonal [s | q | N]) in vec4s.
  const tiles = fused ? 1 : diagonal ? dp4 : (dp4 * (dp4 + 1)) / 2;
  const slot = fused ? Math.ceil(((diagonal ? 2 * d : packedSize(d) + d) + 1) / 4) : diagonal ? 3 : 6;
  // Split statistics: one invocation per component; with subgroups, whole subgroups of SG lanes
  // (the lanes that load the shared points must exist), the spare lanes idle.
  let sg = 0;
  if (!fused && subgroupMinSize >= 4) sg = Math.min(2 ** Math.floor(Math.log2(subgroupMinSize)), STATS_MAX_SG);
  const kw = sg > 0 ? Math.min(Math.ceil(Math.min(k, MAX_STATS_WORKGROUP) / sg) * sg, MAX_STATS_WORKGROUP) : Math.min(k, MAX_STATS_WORKGROUP);
  const m = tiles * k * slot;
  return { d, k, dp4, tiles, slot, kw, kGroups: Math.ceil(k / kw), stride, tri4, m, diagonal, fused, lanes, perLane, sg, largeParams };
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
  /** Stride of one component's responsibilities (chunkPoints rounded up to 4). */
  private readonly npad: number;
  /** True when the points are uploaded again on every pass (see `WebGpuBackendOptions.residency`). */
  readonly streamed: boolean;

  /** The device this backend runs on (another backend for the same training uses it too: see select.ts's sameBackendFor). */
  readonly handle: GpuHandle;
  private readonly device: GPUDevice;
  private readonly layout: Layout;
  private readonly centre: Float64Array;
  /** Per feature the largest |x_d − centre_d| over the data: the largest point value uploaded, times u_d. */
  private readonly reach: Float64Array;
  /**
   * Per feature the power of two u_d the points are divided by on upload, and the power of two the
   * weights are divided by: float32 then holds data and weights of any float64 magnitude (its range
   * is 1e±38) without overflow or underflow. Powers of two scale exactly, so on data that float32
   * holds anyway the kernels compute bit for bit what they would unscaled (see writeParams, collect).
   */
  private readonly unit: Float64Array;
  private weightUnit = 1;
  private readonly buffers: GPUBuffer[] = [];
  private readonly chunks: Chunk[] = [];
  private params!: GPUBuffer;
  private staging!: GPUBuffer;
  /** Streamed: the data, the chunk buffer the kernels read, and the mappable buffers that fill it in turn. */
  private readonly ds: Dataset;
  private points: GPUBuffer | null = null;
  private uploads: GPUBuffer[] = [];
  private estepPipeline!: GPUComputePipeline;
  private statsPipeline!: GPUComputePipeline;
  private fusedPipeline!: GPUComputePipeline;
  private reducePipeline!: GPUComputePipeline;
  private disposed = false;
  /**
   * When set (benchmarks), every pass submits each dispatch alone, waits for it, and appends its
   * wall time in ms under the kernel's name. Slower than a normal pass; for finding bottlenecks.
   */
  profile: Record<string, number[]> | null = null;
  /** The float64 reference on the same data, for changes float32 cannot resolve. */
  readonly reference: CpuBackend;
  readonly referencePassCost: number;
  readonly passOverhead: number;
  /** How passes spread the points over workgroups. */
  readonly geometry: DispatchGeometry;

  private constructor(handle: GpuHandle, ds: Dataset, options: WebGpuBackendOptions, weights: Float64Array | null) {
    this.handle = handle;
    this.device = handle.device;
    this.adapter = handle.adapter;
    this.ds = ds;
    this.n = ds.n;
    this.d = ds.d;
    const limits = this.device.limits;
    this.layout = layoutFor(ds.d, options.k, options.covarianceType, options.subgroups === false ? 0 : handle.subgroupMinSize, options.fused !== false);
    const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const pointBytes = this.layout.dp4 * 16;
    this.streamed = streamsPoints(options.residency ?? 'auto', handle.hostMemory, ds.n * pointBytes);
    // The points of a chunk fill whole vec4 lanes (npad, a multiple of 4), so a binding holds a
    // multiple of 4 of them: rounded up from a cap that is not, npad·K·4 bytes of responsibilities
    // overran lavapipe's 128 MiB by a few bytes (1M × 2, K = 48: 134 217 984) and setup failed.
    const fit = (bytesPerPoint: number): number => Math.max(4, 4 * Math.floor(maxBinding / bytesPerPoint / 4));
    let chunk = Math.min(ds.n, fit(pointBytes));
    // The split kernels also bind the chunk's N×K responsibilities.
    if (!this.layout.fused) chunk = Math.min(chunk, fit(options.k * 4));
    if (this.streamed) chunk = Math.min(chunk, Math.max(1, Math.floor(STREAM_CHUNK_BYTES / pointBytes)));
    if (options.maxChunkPoints !== undefined) chunk = Math.min(chunk, Math.max(1, Math.floor(options.maxChunkPoints)));
    this.chunkPoints = chunk;
    this.npad = Math.ceil(chunk / 4) * 4;
    this.chunkCount = Math.ceil(ds.n / chunk);
    this.centre = new Float64Array(ds.d);
    this.reach = new Float64Array(ds.d);
    this.unit = new Float64Array(ds.d).fill(1);
    this.reference = new CpuBackend(ds, weights);
    ({ referencePassCost: this.referencePassCost, passOverhead: this.passOverhead } = WebGpuBackend.costsOn(handle));
    this.geometry = { ...(handle.hostMemory ? SOFTWARE_GEOMETRY : HARDWARE_GEOMETRY) };
    for (const [key, value] of Object.entries(options.geometry ?? {})) {
      if (value === undefined) continue;
      const count = key !== 'wideReduce' && key !== 'stageParams';
      if (count ? !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535) : typeof value !== 'boolean') {
        throw new RangeError(`geometry.${key} must be ${count ? 'an integer from 1 to 65535' : 'a boolean'}, got ${String(value)}`);
      }
      (this.geometry as unknown as Record<string, unknown>)[key] = value;
    }
  }

  /** The costs of a backend on this device (before one is built). */
  static costsOn(handle: GpuHandle): DeviceCosts {
    return handle.hostMemory ? SOFTWARE_COSTS : HARDWARE_COSTS;
  }

  /** The costs of every kind of device, for deciding before asking for one. */
  static readonly everyDeviceCosts: readonly DeviceCosts[] = [SOFTWARE_COSTS, HARDWARE_COSTS];

  /** Why this backend cannot train such a model, or null when it can. */
  static unsupported(d: number, k: number, type: CovarianceType): string | null {
    if (type === 'full' && d > WEBGPU_MAX_DIMENSIONS) {
      return `the WebGPU kernels support full covariances up to ${WEBGPU_MAX_DIMENSIONS} dimensions and the data has ${d} (diagonal ones up to ${WEBGPU_MAX_DIAGONAL_DIMENSIONS})`;
    }
    if (d > WEBGPU_MAX_DIAGONAL_DIMENSIONS) {
      return `the WebGPU kernels support diagonal covariances up to ${WEBGPU_MAX_DIAGONAL_DIMENSIONS} dimensions (a statistics dispatch row per 4) and the data has ${d}`;
    }
    const L = layoutFor(d, k, type);
    if (Math.ceil(L.m / WG) > MAX_WORKGROUPS_PER_DIMENSION) {
      return `the statistics of ${k} ${type} ${d}-dimensional components (${L.m} vec4s) exceed the ${MAX_WORKGROUPS_PER_DIMENSION * WG} vec4s a WebGPU dispatch may reduce`;
    }
    return null;
  }

  /**
   * How many positive weights float32 cannot hold next to the largest: the kernels see weights
   * divided by a power of two near the largest, and one below 2^-126 of that is subnormal in
   * float32, which GPUs may flush to 0 — the point then stops counting. 0 when there are none.
   */
  static weightsBeyondFloat32(weights: Float64Array): number {
    const floor = weightUnitOf(weights) * FLOAT32_MIN_NORMAL;
    let lost = 0;
    for (let i = 0; i < weights.length; i++) if (weights[i]! > 0 && weights[i]! < floor) lost++;
    return lost;
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
    const why = WebGpuBackend.unsupported(ds.d, options.k, options.covarianceType);
    if (why) throw new WebGmmError('UNSUPPORTED', `${why}; use backend 'cpu'`);
    const backend = new WebGpuBackend(handle, ds, options, weights);
    try {
      await oneAtATime(handle.device, () => backend.build(ds, weights));
    } catch (e) {
      backend.dispose();
      // Points the device cannot hold can still pass through it a chunk at a time.
      const oom = e instanceof WebGmmError && e.code === 'GPU_OUT_OF_MEMORY';
      if (oom && !backend.streamed && (options.residency ?? 'auto') === 'auto') {
        return WebGpuBackend.create(handle, ds, weights, { ...options, residency: 'streamed' });
      }
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
    let failure: unknown = null;
    try {
      // The centre is the float64 mean, so float32 keeps the points' relative precision.
      const { data, n, d } = ds;
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) this.centre[j] = this.centre[j]! + data[i * d + j]!;
      const { lo, hi } = columnRanges(data, n, d);
      for (let j = 0; j < d; j++) {
        this.centre[j] = this.centre[j]! / n;
        this.reach[j] = Math.max(hi[j]! - this.centre[j]!, this.centre[j]! - lo[j]!);
        this.unit[j] = powerOfTwoNear(this.reach[j]!);
      }
      if (weights) this.weightUnit = weightUnitOf(weights);

      await this.createPipelines(weights !== null);

      const STORAGE = BUFFER_USAGE.STORAGE;
      this.params = this.createBuffer(Math.max(PARAMS_UNIFORM_BYTES, L.k * L.stride * 16), STORAGE | BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST, 'params');
      const resp = L.fused ? null : this.createBuffer(this.npad * L.k * 4, STORAGE, 'exp-shifted log-densities');
      const scale = L.fused ? null : this.createBuffer(this.npad * 4, STORAGE, 'responsibility scales');
      const partialsSize = statsGroupsFor(this.chunkPoints, L, this.geometry) * L.m * 16;
      const partials = this.createBuffer(partialsSize, STORAGE, 'partial statistics');
      const dummyWeights = weights === null ? this.createBuffer(16, STORAGE, 'no weights') : null;

      if (this.streamed) {
        const bytes = this.pointsBytes(this.chunkPoints);
        this.points = this.createBuffer(bytes, STORAGE | BUFFER_USAGE.COPY_DST, 'points (streamed)');
        // Two, so that one chunk is converted while the device works on the previous one.
        for (let i = 0; i < Math.min(2, this.chunkCount); i++) {
          this.uploads.push(this.createBuffer(bytes, BUFFER_USAGE.MAP_WRITE | BUFFER_USAGE.COPY_SRC, `points upload ${i}`));
        }
      }
      let staging = 0;
      for (let c = 0; c < this.chunkCount; c++) {
        const start = c * this.chunkPoints;
        const cn = Math.min(this.chunkPoints, n - start);
        let points = this.points;
        if (!points) {
          points = this.createBuffer(this.pointsBytes(cn), STORAGE | BUFFER_USAGE.COPY_DST, `points ${c}`);
          this.writePoints(points, start, cn);
          // One chunk's uploads in flight at a time.
          await device.queue.onSubmittedWorkDone();
        }
        let wbuf: GPUBuffer;
        if (weights) {
          // Padded to whole vec4s with zeros: the E-step reads four points' weights at once.
          const w32 = new Float32Array(Math.ceil(cn / 4) * 4);
          for (let i = 0; i < cn; i++) w32[i] = weights[start + i]! / this.weightUnit;
          wbuf = this.createBuffer(w32.byteLength, STORAGE | BUFFER_USAGE.COPY_DST, `weights ${c}`);
          device.queue.writeBuffer(wbuf, 0, w32);
        } else {
          wbuf = dummyWeights!;
        }
        // Bindings in order; a whole buffer unless a range is given.
        const bind = (pipeline: GPUComputePipeline, resources: (GPUBuffer | GPUBufferBinding)[]) =>
          device.createBindGroup({
            layout: pipeline.getBindGroupLayout(0),
            entries: resources.map((r, binding) => ({ binding, resource: 'buffer' in r ? r : { buffer: r } })),
          });
        // The kernels' uniform block: the params buffer's first 64 KiB (the E-step reads larger
        // parameters through its own storage binding of the whole buffer, last).
        const paramsUniform: GPUBufferBinding = { buffer: this.params, size: PARAMS_UNIFORM_BYTES };
        const statsGroups = statsGroupsFor(cn, L, this.geometry);
        const perGroup = Math.ceil(Math.ceil(cn / statsGroups) / STATS_BLOCK) * STATS_BLOCK;
        const reduced = this.createBuffer(L.m * 16, STORAGE | BUFFER_USAGE.COPY_SRC, `statistics ${c}`);
        const reduce: Dispatch = {
          name: 'reduce',
          pipeline: this.reducePipeline,
          // (m, groups, zero, pad): zero = 0, from which the shader makes an opaque factor 1 that keeps its
          // compensation from being folded away (see reduce.wgsl)
          bind: bind(this.reducePipeline, [partials, reduced, this.uniform([L.m, statsGroups, 0, 0], `reduce uniform ${c}`)]),
          // wide: one workgroup per vec4, in rows of at most a dispatch dimension (reduce.wgsl).
          groups: this.geometry.wideReduce
            ? [Math.min(L.m, MAX_WORKGROUPS_PER_DIMENSION), Math.ceil(L.m / MAX_WORKGROUPS_PER_DIMENSION), 1]
            : [Math.ceil(L.m / WG), 1, 1],
        };
        let llGroups: number;
        let llPartials: GPUBuffer;
        let dispatches: Dispatch[];
        if (L.fused) {
          llGroups = statsGroups;
          llPartials = this.createBuffer(llGroups * 16, STORAGE | BUFFER_USAGE.COPY_SRC, `log-likelihood ${c}`);
          const uniform = this.uniform([cn, statsGroups, perGroup, 0], `fused uniform ${c}`);
          dispatches = [
            {
              name: 'fused',
              pipeline: this.fusedPipeline,
              bind: bind(this.fusedPipeline, [points, wbuf, paramsUniform, partials, llPartials, uniform]),
              groups: [statsGroups, 1, 1],
            },
            reduce,
          ];
        } else {
          const G = this.geometry;
          llGroups = Math.min(Math.ceil(cn / (WG * POINTS_PER_INVOCATION * G.estepIterations)), G.maxEstepGroups);
          llPartials = this.createBuffer(llGroups * 16, STORAGE | BUFFER_USAGE.COPY_SRC, `log-likelihood ${c}`);
          const estepUniform = this.uniform([cn, llGroups, this.npad, 0], `estep uniform ${c}`);
          // (n, groups, npad, perGroup, zero): zero = 0, from which the shader makes an opaque factor 1
          // that keeps its compensation from being folded away (see stats-*.wgsl)
          const statsUniform = this.uniform([cn, statsGroups, this.npad, perGroup, 0], `stats uniform ${c}`);
          dispatches = [
            {
              name: 'estep',
              pipeline: this.estepPipeline,
              bind: bind(this.estepPipeline, [points, wbuf, paramsUniform, resp!, llPartials, estepUniform, scale!, this.params]),
              groups: [llGroups, 1, 1],
            },
            {
              name: 'stats',
              pipeline: this.statsPipeline,
              bind: bind(this.statsPipeline, [points, this.params, resp!, partials, statsUniform, scale!]),
              groups: [statsGroups, L.tiles, L.kGroups],
            },
            reduce,
          ];
        }
        this.chunks.push({ start, count: cn, llGroups, llPartials, reduced, dispatches, stagingLl: staging, stagingStats: staging + llGroups * 16 });
        staging += llGroups * 16 + L.m * 16;
      }
      // Every chunk's totals come back in one buffer: large models (K in the thousands) over many
      // chunks can outgrow the largest buffer the device allows (256 MiB by WebGPU's default).
      if (staging > device.limits.maxBufferSize) {
        const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
        throw new WebGmmError(
          'GPU_ERROR',
          `the statistics of ${L.k} ${L.diagonal ? 'diagonal' : 'full'} ${L.d}-dimensional components read back from ${this.chunkCount} chunks ` +
            `(${mib(staging)} MiB) exceed the largest buffer this device allows (${mib(device.limits.maxBufferSize)} MiB); use backend 'cpu'`,
        );
      }
      this.staging = this.createBuffer(staging, BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST, 'staging');
    } catch (e) {
      failure = e;
    }
    // Popped whatever happened: the device (and its scope stack) is shared by every training.
    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    if (failure !== null) throw failure;
    if (oom) {
      const what = this.streamed ? `chunks of ${this.chunkPoints} points` : `${this.n} points`;
      throw new WebGmmError('GPU_OUT_OF_MEMORY', `the GPU has not enough memory for ${what} × ${this.d} dimensions (${oom.message}); use backend 'cpu'`);
    }
    if (invalid) throw new WebGmmError('GPU_ERROR', `WebGPU rejected the backend's setup: ${invalid.message}`);
  }

  /** Bytes of a chunk of points: rows of vec4 blocks, rounded up to 4 points (the kernels read points four at a time). */
  private pointsBytes(count: number): number {
    return Math.ceil(count / 4) * 4 * this.layout.dp4 * 16;
  }

  /**
   * Points start … start + count − 1 into `f32`, centred and in units u_d, as float32 rows of vec4 blocks. Padding
   * stays zero: a buffer's padding columns are never written (new buffers are zeroed), and the
   * rows after `count` up to a multiple of 4 are cleared (a streamed buffer held another chunk).
   */
  private fillPoints(f32: Float32Array, start: number, count: number): void {
    const { data } = this.ds;
    const d = this.d;
    const row = this.layout.dp4 * 4;
    for (let i = 0; i < count; i++) {
      const src = (start + i) * d;
      const dst = i * row;
      for (let j = 0; j < d; j++) f32[dst + j] = (data[src + j]! - this.centre[j]!) / this.unit[j]!;
    }
    f32.fill(0, count * row, Math.ceil(count / 4) * 4 * row);
  }

  /**
   * Points start … start + count − 1 into `buffer` through queue writes of at most
   * UPLOAD_SLICE_BYTES each, not through a mapping: unmapping detaches the mapped range's
   * ArrayBuffer, and the first detached ArrayBuffer in a JavaScript thread makes V8 check every
   * typed array for detachment from then on (its ArrayBufferDetaching protector): typed-array loops
   * ran 15–65 % slower for the rest of the process — the CPU backend's too, where 'auto' measured
   * WebGPU and chose the CPU.
   */
  private writePoints(buffer: GPUBuffer, start: number, count: number): void {
    const row = this.layout.dp4 * 4;
    // A multiple of 4 points per slice, so that only the last one needs padding rows.
    const perSlice = Math.max(4, 4 * Math.floor(UPLOAD_SLICE_BYTES / (row * 4) / 4));
    const slice = new Float32Array((Math.min(count, perSlice) + 3) * row);
    for (let from = 0; from < count; from += perSlice) {
      const n = Math.min(perSlice, count - from);
      // The last slice is padded to whole vec4 lanes of points (zeros), as the kernels read them.
      const rows = from + n === count ? Math.ceil(count / 4) * 4 - from : n;
      const view = slice.subarray(0, rows * row);
      this.fillPoints(view, start + from, n);
      this.device.queue.writeBuffer(buffer, from * row * 4, view);
    }
  }

  /** Streamed: fills the next upload buffer with chunk c and encodes its copy into the chunk buffer. */
  private async stage(c: number, encoder: GPUCommandEncoder, signal: AbortSignal | undefined): Promise<void> {
    const ch = this.chunks[c]!;
    const upload = this.uploads[c % this.uploads.length]!;
    const bytes = this.pointsBytes(ch.count);
    // Resolves once the device has finished copying this buffer's previous chunk.
    await this.mapped(upload, MAP_MODE.WRITE, signal, 'uploading a chunk of points');
    this.fillPoints(new Float32Array(upload.getMappedRange(0, bytes)), ch.start, ch.count);
    upload.unmap();
    encoder.copyBufferToBuffer(upload, 0, this.points!, 0, bytes);
  }

  /** A uniform buffer holding `values` as u32s (padded with zeros to whole 16 bytes). */
  private uniform(values: number[], label: string): GPUBuffer {
    const buffer = this.createBuffer(values.length * 4, BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST, label);
    this.device.queue.writeBuffer(buffer, 0, Uint32Array.from(values));
    return buffer;
  }

  private async createPipelines(hasWeights: boolean): Promise<void> {
    const L = this.layout;
    const device = this.device;
    const pipeline = (code: string, constants: Record<string, number>, label: string, entryPoint = 'main') =>
      cachedPipeline(device, `${code}\0${entryPoint}\0${JSON.stringify(constants)}`, () =>
        device.createComputePipelineAsync({
          label,
          layout: 'auto',
          compute: { module: device.createShaderModule({ code, label }), entryPoint, constants },
        }),
      );
    const reduce = pipeline(SHADERS.reduce, {}, 'reduce', this.geometry.wideReduce ? 'wide' : 'main');
    if (L.fused) {
      const constants = {
        D: L.d, DP4: L.dp4, K: L.k, LANES: L.lanes, KPL: L.perLane,
        HAS_WEIGHTS: hasWeights ? 1 : 0, STRIDE: L.stride, SLOTS: L.slot,
      };
      // Diagonal: fused-diagonal.wgsl (four points per loop step as vec4 lanes); full: fused.wgsl.
      const code = L.diagonal ? SHADERS['fused-diagonal'] : SHADERS.fused;
      [this.fusedPipeline, this.reducePipeline] = await allCompiled([pipeline(code, constants, 'fused'), reduce]);
      return;
    }
    // With subgroups, the statistics kernels share each point's loads across a subgroup.
    const statsName = `stats-${L.diagonal ? 'diagonal' : 'full'}${L.sg > 0 ? '-subgroup' : ''}` as const;
    const statsKernel = SHADERS[statsName as keyof typeof SHADERS];
    const statsConstants: Record<string, number> = { DP4: L.dp4, K: L.k, KW: L.kw, STRIDE: L.stride };
    if (L.sg > 0) statsConstants.SG = L.sg;
    // Staging needs a component's parameters beside the E-step's 64-vec4 reduction in workgroup
    // memory (WebGPU guarantees 16 KiB: diagonal up to about 1900 dimensions).
    const stages = L.largeParams && this.geometry.stageParams && (L.stride + WG) * 16 <= this.device.limits.maxComputeWorkgroupStorageSize;
    const estepConstants = {
      D: L.d, DP4: L.dp4, K: L.k, DIAGONAL: L.diagonal ? 1 : 0, HAS_WEIGHTS: hasWeights ? 1 : 0, TRI4: L.tri4,
      LARGE_PARAMS: L.largeParams ? 1 : 0,
      ...(stages ? { STAGE_PARAMS: 1, STAGE_VEC4S: L.stride } : {}),
    };
    [this.estepPipeline, this.reducePipeline, this.statsPipeline] = await allCompiled([
      pipeline(SHADERS.estep, estepConstants, 'estep'),
      reduce,
      pipeline(statsKernel, statsConstants, 'stats'),
    ]);
  }

  /**
   * Whether float32 evaluates θ faithfully: every precision factor, in the points' units, at most
   * MAX_UNIT_PRECISION — no component narrower than 1e-5 of the largest deviation the units were
   * chosen for. The points there carry float32's 6e-8 rounding, which a narrower component turns
   * into errors of order one in its Mahalanobis terms (and 1/σ² beyond 3e38 into Infinity and NaN).
   */
  evaluable(params: MixtureParams): boolean {
    const { k, d } = params;
    const u = this.unit;
    for (let c = 0; c < k; c++) {
      if (params.logWeights[c] === -Infinity) continue; // never evaluated: its log-weight is −∞
      if (this.layout.diagonal) {
        for (let j = 0; j < d; j++) {
          if (!(params.precisions[c * d + j]! * u[j]! * u[j]! <= MAX_UNIT_PRECISION * MAX_UNIT_PRECISION)) return false;
        }
      } else {
        for (let r = 0; r < d; r++) {
          for (let j = 0; j <= r; j++) {
            if (!(Math.abs(params.precisions[c * d * d + r * d + j]!) * u[j]! <= MAX_UNIT_PRECISION)) return false;
          }
        }
      }
    }
    return true;
  }

  /**
   * Whether θ's full covariances are resolved by float32 statistics (see EStepBackend.resolves):
   * the statistics' rounding, up to FLOAT32_STATS_ERROR · √(S_ii S_jj) per entry, changes the
   * covariance whitened by θ's precision factor P (P Σ Pᵀ = I) by up to FLOAT32_STATS_ERROR · b_r²
   * in row r, b_r = Σ_j |P_rj| √Σ_jj — the same bound as `mahalanobisError`'s. Unit-free: for two
   * features of correlation ρ, b² = (1 + ρ)/(1 − ρ), the condition number of their correlation.
   */
  resolves(params: MixtureParams, covariances: Float64Array): boolean {
    if (this.layout.diagonal) return true;
    const { k, d } = params;
    for (let c = 0; c < k; c++) {
      if (params.logWeights[c] === -Infinity) continue;
      for (let r = 0; r < d; r++) {
        let b = 0;
        for (let j = 0; j <= r; j++) b += Math.abs(params.precisions[c * d * d + r * d + j]!) * Math.sqrt(covariances[c * d * d + j * d + j]!);
        if (!(FLOAT32_STATS_ERROR * b * b <= MAX_STATS_ERROR)) return false;
      }
    }
    return true;
  }

  /**
   * θ_t in the shaders' float32 layout, in the points' frame: means centred and in units u_d,
   * precision factors P·diag(u) (full; ‖P·diag(u)·(x − μ)/u‖ = ‖P(x − μ)‖) or u²/σ² (diagonal), so
   * the Mahalanobis terms — and the log-normalizers, kept in the data's units — are unchanged.
   */
  private writeParams(params: MixtureParams): Float64Array {
    const L = this.layout;
    const { k, d } = params;
    const out = new Float32Array(k * L.stride * 4);
    const shift = new Float64Array(k * d);
    for (let c = 0; c < k; c++) {
      const base = c * L.stride * 4;
      for (let j = 0; j < d; j++) {
        out[base + j] = (params.means[c * d + j]! - this.centre[j]!) / this.unit[j]!;
        // The statistics are shifted by the float32 mean the shader used, in the original frame.
        shift[c * d + j] = out[base + j]! * this.unit[j]! + this.centre[j]!;
      }
      if (L.diagonal) {
        for (let j = 0; j < d; j++) out[base + L.dp4 * 4 + j] = params.precisions[c * d + j]! * this.unit[j]! * this.unit[j]!;
      } else {
        let row = base + L.dp4 * 4;
        for (let r = 0; r < d; r++) {
          for (let j = 0; j <= r; j++) out[row + j] = params.precisions[c * d * d + r * d + j]! * this.unit[j]!;
          row += ((r >> 2) + 1) * 4;
        }
      }
      const lw = params.logWeights[c]!;
      out[base + (L.stride - 1) * 4] = lw === -Infinity ? NEG_BIG : lw - 0.5 * (d * LOG_2PI + params.logDets[c]!);
    }
    this.device.queue.writeBuffer(this.params, 0, out);
    return shift;
  }

  async pass(params: MixtureParams, signal?: AbortSignal): Promise<PassResult> {
    const { shift, scopes } = await this.submitPass(params, signal);
    await this.mapped(this.staging, MAP_MODE.READ, signal, 'reading back an EM pass');
    const rejected = await WebGpuBackend.rejection(scopes);
    if (rejected) {
      this.staging.unmap();
      throw rejected;
    }
    const view = new Float32Array(this.staging.getMappedRange().slice(0));
    this.staging.unmap();
    const result = this.collect(view, shift);
    result.logLikelihoodUncertainty = result.logLikelihoodUncertainty! + this.mahalanobisError(params, result.stats);
    return result;
  }

  /**
   * What a pass costs, for `'auto'` to time, without reading its results back: reading would
   * detach the mapped range's ArrayBuffer (see writePoints) and so slow every typed-array loop of
   * the CPU backend that 'auto' may choose instead. The device work is the pass's, to its end; the
   * host's share (copying the staging range out, collect, mahalanobisError) runs on a stand-in of
   * the same size, whose values do not change its cost. (Streamed points are still uploaded
   * through mappings: writing them by queue writes overstated a streamed pass by 15–25 %.)
   */
  async timePass(params: MixtureParams, signal?: AbortSignal): Promise<void> {
    const { shift, scopes } = await this.submitPass(params, signal);
    await this.device.queue.onSubmittedWorkDone();
    // A lost device finishes no work but resolves onSubmittedWorkDone: report it, as pass() does.
    if (this.handle.lostInfo) throw deviceLostError(this.handle.lostInfo);
    const rejected = await WebGpuBackend.rejection(scopes);
    if (rejected) throw rejected;
    const standIn = new Float32Array(this.staging.size / 4).fill(1);
    const result = this.collect(new Float32Array(standIn), shift);
    this.mahalanobisError(params, result.stats);
  }

  /** The error a pass's validation scopes report (the first), as the pass's rejection; null when none. */
  private static async rejection(scopes: Promise<GPUError | null>[]): Promise<WebGmmError | null> {
    const err = (await Promise.all(scopes)).find((e) => e !== null);
    return err ? new WebGmmError('GPU_ERROR', `WebGPU rejected an EM pass: ${err.message}`) : null;
  }

  /** Writes θ and submits a pass's dispatches and copies to the staging buffer; the validation scopes to check after. */
  private async submitPass(params: MixtureParams, signal: AbortSignal | undefined): Promise<{ shift: Float64Array; scopes: Promise<GPUError | null>[] }> {
    if (this.disposed) throw new Error('WebGpuBackend.pass() called after dispose()');
    throwIfAborted(signal);
    const L = this.layout;
    if (params.k !== L.k || params.d !== L.d || (params.covarianceType === 'diagonal') !== L.diagonal) {
      throw new Error('parameters do not match the backend the data was uploaded for');
    }
    const device = this.device;
    // Validation errors of the parameter write and of every submission, checked after readback.
    const scopes: Promise<GPUError | null>[] = [];
    const scoped = <T>(fn: () => T): T => {
      device.pushErrorScope('validation');
      const result = fn();
      scopes.push(device.popErrorScope());
      return result;
    };
    const submit = (encoder: GPUCommandEncoder) => scoped(() => device.queue.submit([encoder.finish()]));
    const shift = scoped(() => this.writeParams(params));
    if (this.profile) await this.profiledDispatches(signal);
    // Resident points: one submission for the whole pass. Streamed: one per chunk, each carrying
    // its points, so that the next chunk is converted while the device runs this one.
    let encoder = device.createCommandEncoder({ label: 'EM pass' });
    for (const [c, ch] of this.chunks.entries()) {
      if (this.streamed && !this.profile) await this.stage(c, encoder, signal);
      if (!this.profile) {
        const compute = encoder.beginComputePass({ label: 'E-step and statistics' });
        for (const d of ch.dispatches) WebGpuBackend.encode(compute, d);
        compute.end();
      }
      encoder.copyBufferToBuffer(ch.llPartials, 0, this.staging, ch.stagingLl, ch.llGroups * 16);
      encoder.copyBufferToBuffer(ch.reduced, 0, this.staging, ch.stagingStats, L.m * 16);
      if (this.streamed && c < this.chunks.length - 1) {
        submit(encoder);
        encoder = device.createCommandEncoder({ label: 'EM pass' });
      }
    }
    submit(encoder);
    return { shift, scopes };
  }

  /**
   * Bound on the error that float32 puts in log L through the Mahalanobis terms m = ‖y‖²,
   * y = P̃_k(x̃ − μ̃_k) in the centred frame of the upload, where the precision factors amplify
   * rounding (ε: float32's unit roundoff; d_j = x̃_j − μ̃_j):
   *  - the inputs: x̃_j and μ̃_j are rounded by up to ε|x̃_j| and ε|μ̃_j|, their difference by up to
   *    ε|d_j|, so row r of y moves by up to 2ε·a_r, a_r = Σ_j |P̃_rj|(max_n |x̃_nj| + |μ̃_j|);
   *  - the products: row r, a sum of r + 1 products with rounded P̃_rj, by up to (r + 2)ε Σ_j |P̃_rj||d_j|
   *    (full covariance; the diagonal kernels' y_j = d_j/σ̃_j is one product, relative to y);
   * and ½m by Σ_r |y_r||δy_r| + ½δy_r². Summed over the points with weights w_n r_nk, by
   * Cauchy–Schwarz with N_k = Σ w r, T_r = Σ w r y_r² = (P S Pᵀ)_rr and S_jj = Σ w r d_j² from this
   * pass's own statistics S_k:
   *   ε Σ_k Σ_r (2 a_r √(N_k T_r) + (r + 2) √T_r Σ_j |P̃_rj| √S_jj) + ½ε² Σ_k N_k Σ_r ((r + 4) a_r)².
   * FLOAT32_LL_ERROR's share grows with |log p|; this one with the precision factors times the
   * points' magnitudes: it is the larger for strongly correlated components (condition numbers
   * from about 1e5) and narrow ones far from the data's centre. It takes every point's rounding at
   * its worst: on data with repeated values the errors add up rather than cancel.
   */
  private mahalanobisError(params: MixtureParams, stats: SufficientStats): number {
    const { k, d } = params;
    const diagonal = this.layout.diagonal;
    const { nk, scatter } = stats;
    const shift = stats.shift ?? params.means;
    const tri = packedSize(d);
    // Full: S_k around the shift points (= μ̃_k), symmetric, from its packed upper triangle.
    const s = diagonal ? null : new Float64Array(d * d);
    let first = 0;
    let second = 0;
    for (let c = 0; c < k; c++) {
      const n = nk[c]!;
      if (!(n > 0) || params.logWeights[c] === -Infinity) continue;
      if (s) {
        for (let i = 0, p = c * tri; i < d; i++) for (let j = i; j < d; j++, p++) s[i * d + j] = s[j * d + i] = scatter[p]!;
      }
      for (let r = 0; r < d; r++) {
        // In the data's units (P̃_rj x̃_j = P_rj (x_j − centre_j), likewise μ̃_j and d_j): a_r, T_r and
        // b_r = Σ_j |P_rj| √S_jj. T_r cancels where P is ill-conditioned; the statistics' own rounding
        // moves it by up to FLOAT32_STATS_ERROR · b_r².
        let a = 0;
        let t = 0;
        let b = 0;
        if (!s) {
          const p = Math.sqrt(params.precisions[c * d + r]!);
          const srr = scatter[c * d + r]!;
          a = p * (this.reach[r]! + Math.abs(shift[c * d + r]! - this.centre[r]!));
          t = p * p * srr;
          b = p * Math.sqrt(Math.max(0, srr));
        } else {
          const row = c * d * d + r * d;
          for (let j = 0; j <= r; j++) {
            const p = params.precisions[row + j]!;
            a += Math.abs(p) * (this.reach[j]! + Math.abs(shift[c * d + j]! - this.centre[j]!));
            b += Math.abs(p) * Math.sqrt(Math.max(0, s[j * d + j]!));
            let ps = 0;
            for (let i = 0; i <= r; i++) ps += params.precisions[row + i]! * s[i * d + j]!;
            t += p * ps;
          }
        }
        const T = Math.max(0, t) + FLOAT32_STATS_ERROR * b * b;
        first += 2 * a * Math.sqrt(n * T) + (s ? (r + 2) * b * Math.sqrt(T) : 0);
        const ga = (s ? r + 4 : 2) * a;
        second += n * ga * ga;
      }
    }
    return FLOAT32_ROUNDOFF * first + 0.5 * FLOAT32_ROUNDOFF * FLOAT32_ROUNDOFF * second;
  }

  /**
   * Maps `buffer`, turning an abort into the signal's reason and a lost device or failed mapping
   * into a `WebGmmError`. On abort or loss the mapping is left pending; dispose() destroys the buffer.
   */
  private mapped(buffer: GPUBuffer, mode: GPUMapModeFlags, signal: AbortSignal | undefined, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const onAbort = () => settle(() => reject(abortError(signal!)))();
      const settle = (fn: () => void) => () => {
        signal?.removeEventListener('abort', onAbort);
        stopListening();
        fn();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const stopListening = this.handle.onLost((info) => settle(() => reject(deviceLostError(info)))());
      buffer.mapAsync(mode).then(settle(resolve), async (e: unknown) => {
        // A lost device fails the mapping first; report the loss, not the failed mapping.
        const info = await lostWithin(this.handle, 200);
        settle(() => reject(info ? deviceLostError(info) : new WebGmmError('GPU_ERROR', `${what} failed: ${e instanceof Error ? e.message : String(e)}`)))();
      });
    });
  }

  private static encode(c: GPUComputePassEncoder, d: Dispatch): void {
    c.setPipeline(d.pipeline);
    c.setBindGroup(0, d.bind);
    c.dispatchWorkgroups(...d.groups);
  }

  /**
   * Profiling (benchmarks only): each dispatch submitted alone and timed to completion; streamed
   * chunks' uploads are timed as 'upload'.
   */
  private async profiledDispatches(signal: AbortSignal | undefined): Promise<void> {
    const profile = this.profile!;
    const timed = async (name: string, encode: (encoder: GPUCommandEncoder) => Promise<void> | void) => {
      const t0 = performance.now();
      const encoder = this.device.createCommandEncoder();
      await encode(encoder);
      this.device.queue.submit([encoder.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      (profile[name] ??= []).push(performance.now() - t0);
    };
    for (const [c, ch] of this.chunks.entries()) {
      if (this.streamed) await timed('upload', (encoder) => this.stage(c, encoder, signal));
      for (const d of ch.dispatches) {
        await timed(d.name, (encoder) => {
          const compute = encoder.beginComputePass();
          WebGpuBackend.encode(compute, d);
          compute.end();
        });
      }
    }
  }

  /**
   * Adds the chunks' float32 totals in float64 and unpacks them into `SufficientStats`, back in
   * the data's units and weights.
   */
  private collect(view: Float32Array, shift: Float64Array): PassResult {
    const L = this.layout;
    const { k, d } = L;
    let logLikelihood = 0;
    let zero = 0;
    let absSum = 0;
    const totals = new Float64Array(L.m * 4);
    for (const ch of this.chunks) {
      const llBase = ch.stagingLl / 4;
      for (let g = 0; g < ch.llGroups; g++) {
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
    // Slot (tile t, component c) starts at vec4 (t·K + c)·slot; see the statistics shaders.
    const slotBase = (t: number, c: number): number => (t * k + c) * L.slot * 4;
    if (L.fused) {
      // Per component, consecutive floats: [S packed | s | N] (full), [s | q | N] (diagonal).
      const tri = L.diagonal ? d : packedSize(d);
      scatter = new Float64Array(k * tri);
      for (let c = 0; c < k; c++) {
        const base = c * L.slot * 4;
        const sOff = L.diagonal ? 0 : tri;
        const qOff = L.diagonal ? d : 0;
        for (let i = 0; i < tri; i++) scatter[c * tri + i] = totals[base + qOff + i]!;
        for (let j = 0; j < d; j++) sums[c * d + j] = totals[base + sOff + j]!;
        nk[c] = totals[base + tri + d]!;
      }
    } else if (L.diagonal) {
      scatter = new Float64Array(k * d);
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < d; j++) {
          const base = slotBase(j >> 2, c);
          sums[c * d + j] = totals[base + (j & 3)]!;
          scatter[c * d + j] = totals[base + 4 + (j & 3)]!;
        }
        nk[c] = totals[slotBase(0, c) + 8]!;
      }
    } else {
      const tri = packedSize(d);
      scatter = new Float64Array(k * tri);
      // tileOf[bi][bj]: upper blocks enumerated row by row, as the shader does.
      const tileOf: number[][] = [];
      let t = 0;
      for (let bi = 0; bi < L.dp4; bi++) {
        tileOf.push([]);
        for (let bj = bi; bj < L.dp4; bj++) tileOf[bi]![bj] = t++;
      }
      for (let c = 0; c < k; c++) {
        let p = c * tri;
        for (let i = 0; i < d; i++) {
          for (let j = i; j < d; j++) {
            // Column j & 3 of the block, row i & 3.
            scatter[p++] = totals[slotBase(tileOf[i >> 2]![j >> 2]!, c) + (j & 3) * 4 + (i & 3)]!;
          }
          sums[c * d + i] = totals[slotBase(tileOf[i >> 2]![i >> 2]!, c) + 16 + (i & 3)]!;
        }
        nk[c] = totals[slotBase(0, c) + 20]!;
      }
    }
    // Out of the upload's units: sums × u_d, scatter × u_i·u_j, all × the weights' unit (exact).
    const wu = this.weightUnit;
    const u = this.unit;
    for (let c = 0; c < k; c++) {
      nk[c] = nk[c]! * wu;
      for (let j = 0; j < d; j++) sums[c * d + j] = sums[c * d + j]! * u[j]! * wu;
    }
    if (L.diagonal) {
      for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) scatter[c * d + j] = scatter[c * d + j]! * u[j]! * u[j]! * wu;
    } else {
      for (let c = 0, p = 0; c < k; c++) {
        for (let i = 0; i < d; i++) for (let j = i; j < d; j++, p++) scatter[p] = scatter[p]! * u[i]! * u[j]! * wu;
      }
    }
    return {
      logLikelihood: logLikelihood * wu,
      logLikelihoodUncertainty: FLOAT32_LL_ERROR * absSum * wu,
      zeroLikelihoodPoints: Math.round(zero),
      stats: { nk, sums, scatter, shift },
    };
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
