/**
 * The float64 reference backend: the oracle the GPU path is tested against, the fallback without a
 * GPU adapter, and the CPU side of benchmarks. One fused loop per point (pass-kernels.ts):
 * component log-densities via the precision factor, max-shifted log-sum-exp, responsibilities,
 * and the shifted statistics — on the calling thread, or split over helper threads where a
 * provider is installed (pass-threads.ts).
 */
import type { Float64Backend, MixtureParams, PassResult } from '../backend.js';
import type { Dataset, Values } from '../../data.js';
import { createYielder } from '../../util/yield.js';
import { throwIfAborted } from '../../errors.js';
import { cpuPassRange, cpuPassResult, cpuPassScratch, cpuPassSums, cpuPassTask } from './pass-kernels.js';
import { CPU_PASS_TASK_POINTS, cpuPassThreading } from './pass-threads.js';
import type { KMeansThreadPool } from '../../train/kmeans-parallel.js';

/** Points per block between cooperative yields. */
const BLOCK = 4096;

export class CpuBackend implements Float64Backend {
  readonly kind = 'cpu' as const;
  readonly n: number;
  readonly d: number;
  private data: Values | null;
  private readonly weights: Float64Array | null;
  /** The points and weights in shared memory, for helper threads (made on the first threaded pass). */
  private shared: [Values, Float64Array | null] | null = null;

  /** `weights`: optional per-point observation weights (validated by the caller). */
  constructor(dataset: Dataset, weights: Float64Array | null = null) {
    this.n = dataset.n;
    this.d = dataset.d;
    this.data = dataset.data;
    this.weights = weights;
  }

  async pass(params: MixtureParams, signal?: AbortSignal): Promise<PassResult> {
    return this.run(params, true, signal);
  }

  /** log L(θ) alone (no statistics): about half the work of a pass. */
  async logLikelihood(params: MixtureParams, signal?: AbortSignal): Promise<number> {
    return (await this.run(params, false, signal)).logLikelihood;
  }

  private async run(params: MixtureParams, withStats: boolean, signal?: AbortSignal): Promise<PassResult> {
    const data = this.data;
    if (!data) throw new Error('CpuBackend.pass() called after dispose()');
    throwIfAborted(signal);
    const { k, d } = params;
    if (d !== this.d) throw new Error(`parameters have dimensionality ${d}, data ${this.d}`);
    const full = params.covarianceType === 'full';
    const threading = cpuPassThreading(this.n);
    const acc = threading
      ? await this.tasks(data, params, withStats, threading.pool, signal)
      : await this.runningSum(data, params, withStats, signal);
    return cpuPassResult(acc, k, d, full);
  }

  /** The pass as one running sum over the points, on the calling thread. */
  private async runningSum(data: Values, params: MixtureParams, withStats: boolean, signal?: AbortSignal): Promise<Float64Array> {
    const { k, d, logWeights, means, precisions, logDets } = params;
    const full = params.covarianceType === 'full';
    const acc = new Float64Array(cpuPassSums(k, d, full));
    const { lp, diff } = cpuPassScratch(k, d);
    const yieldNow = createYielder(signal);
    for (let start = 0; start < this.n; start += BLOCK) {
      const end = Math.min(this.n, start + BLOCK);
      cpuPassRange(data, this.weights, full, k, d, logWeights, means, precisions, logDets, start, end, withStats, acc, 0, lp, diff);
      const y = yieldNow();
      if (y) await y;
    }
    return acc;
  }

  /**
   * The pass as sums per task of CPU_PASS_TASK_POINTS points, added in task order: on `pool`'s
   * threads and the calling thread, or on the calling thread alone — the same sums either way.
   * Jobs of one task per thread — one task while the pool sits out (it runs such jobs on the
   * calling thread alone) — with the event loop let in between: the calling thread blocks for
   * about one task's time at a time.
   */
  private async tasks(data: Values, params: MixtureParams, withStats: boolean, pool: KMeansThreadPool | null, signal?: AbortSignal): Promise<Float64Array> {
    const { k, d } = params;
    const full = params.covarianceType === 'full';
    const stride = cpuPassSums(k, d, full);
    const tasks = Math.ceil(this.n / CPU_PASS_TASK_POINTS);
    const threads = pool ? pool.helpers + 1 : 1;
    const shared = pool !== null;
    const [points, weights] = shared ? this.sharedInputs(data) : [data, this.weights];
    const copy = (a: Float64Array): Float64Array => {
      if (!shared) return a;
      const s = new Float64Array(new SharedArrayBuffer(a.byteLength));
      s.set(a);
      return s;
    };
    const out = shared ? new Float64Array(new SharedArrayBuffer(threads * stride * 8)) : new Float64Array(stride);
    const args: unknown[] = [
      points, weights, full, k, d, copy(params.logWeights), copy(params.means), copy(params.precisions), copy(params.logDets),
      withStats, 0, stride, out,
    ];
    const acc = new Float64Array(stride);
    const yieldNow = createYielder(signal);
    for (let first = 0, count = 0; first < tasks; first += count) {
      count = Math.min(pool && !(pool.sittingOut?.() ?? false) ? threads : 1, tasks - first);
      args[10] = first;
      if (pool) pool.run(6, args, count, CPU_PASS_TASK_POINTS, this.n);
      else cpuPassTask(args, 0, CPU_PASS_TASK_POINTS, this.n);
      for (let t = 0; t < count; t++) {
        for (let i = 0, o = t * stride; i < stride; i++, o++) acc[i] = acc[i]! + out[o]!;
      }
      const y = yieldNow();
      if (y) await y;
    }
    return acc;
  }

  /** The points and weights in shared memory (copied once, on the first threaded pass). */
  private sharedInputs(data: Values): [Values, Float64Array | null] {
    if (this.shared === null) {
      const share = <T extends Values>(a: T): T => {
        if (typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer) return a;
        const s = new (a.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
        s.set(a);
        return s;
      };
      this.shared = [share(data), this.weights === null ? null : share(this.weights)];
    }
    return this.shared;
  }

  dispose(): void {
    this.data = null;
    this.shared = null;
  }
}
