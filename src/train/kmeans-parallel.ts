/**
 * Optional helper threads for k-means and k-means++ (kmeans.ts), behind an injectable provider,
 * as WebGPU is (backends/webgpu/gpu-provider.ts): this module is browser-safe and imports nothing from
 * Node; the Node entry's `useKMeansThreads()` installs the `worker_threads` pool
 * (worker/kmeans-threads.ts) with {@link setKMeansThreadProvider}. Without a provider (the default) everything runs on the
 * calling thread.
 *
 * Results never depend on the number of threads: every job writes per-point, per-block or
 * per-cluster results that one thread computes whole, in a fixed order (see kmeans-kernels.ts).
 */
import type { Values } from '../data.js';

/** A pool of helper threads that run kmRunTask jobs together with the calling thread. */
export interface KMeansThreadPool {
  /** Helper threads (the calling thread takes a share of every job as well). */
  readonly helpers: number;
  /**
   * Runs tasks 0 … tasks−1 of `kmRunTask(kind, args, t, tasks, chunk, limit)` on the helpers and
   * the calling thread, which claim them from one shared counter, and returns once every task is
   * done: the sum of their results, in task order. Blocks the calling thread. Every array a job
   * writes must be backed by a SharedArrayBuffer (others reach the helpers as copies).
   */
  run(kind: number, args: unknown[], tasks: number, chunk: number, limit: number): number;
  /**
   * Whether the helpers would run alongside the calling thread now (the cores are not all busy
   * with other work); k-means stays on the calling thread, without copying its data to shared
   * memory, when this says no. Optional: a pool without it is always used.
   */
  available?(): boolean;
  /**
   * Whether the pool runs its next jobs on the calling thread alone (the last jobs kept the
   * calling thread waiting for the helpers); the CPU backend's passes then give it one task per
   * job. Optional: a pool without it never sits out.
   */
  sittingOut?(): boolean;
}

/** Returns the pool (starting it on first use), or null when none can be had. */
export type KMeansThreadProvider = () => KMeansThreadPool | null;

/**
 * Below this much work (points × dimensions × max(clusters, 8)) k-means stays on the calling
 * thread: starting the helpers (once, ~25 ms) and sharing the data would cost more than they save.
 */
const KMEANS_PARALLEL_MIN_WORK = 1 << 23;
/** … and below this many points. */
const KMEANS_PARALLEL_MIN_POINTS = 16384;

let provider: KMeansThreadProvider | null = null;
let minWork = KMEANS_PARALLEL_MIN_WORK;
let minPoints = KMEANS_PARALLEL_MIN_POINTS;

/**
 * Installs (or, with null, removes) the helper-thread provider. `thresholds` overrides the sizes
 * below which k-means stays on the calling thread (tests use 0 to run small inputs in parallel).
 */
export function setKMeansThreadProvider(
  p: KMeansThreadProvider | null,
  thresholds: { minWork?: number; minPoints?: number } = {},
): void {
  provider = p;
  minWork = thresholds.minWork ?? KMEANS_PARALLEL_MIN_WORK;
  minPoints = thresholds.minPoints ?? KMEANS_PARALLEL_MIN_POINTS;
}

/** Whether a provider is installed (a Node training worker installs one too when this says so). */
export function kmeansThreadsInstalled(): boolean {
  return provider !== null;
}

/** The pool to use for a problem of this size, or null to stay on the calling thread. */
export function kmeansThreadsFor(n: number, d: number, k: number): KMeansThreadPool | null {
  if (provider === null || n < minPoints || n * d * Math.max(k, 8) < minWork) return null;
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return null;
  const pool = provider();
  return pool !== null && pool.helpers > 0 && (pool.available === undefined || pool.available()) ? pool : null;
}

/** Whether `a` lives in shared memory. */
export function isShared(a: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;
}

/** A zeroed Float64Array in shared memory when `shared`, else an ordinary one. */
export function float64(length: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
}

/** A zeroed Int32Array in shared memory when `shared`, else an ordinary one. */
export function int32(length: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(length * 4)) : new Int32Array(length);
}

/** The first `length` values of `a`, in shared memory: `a` itself when it already is. */
export function sharedCopy<T extends Values | Int32Array>(a: T, length: number): T {
  if (isShared(a)) return a;
  const Ctor = a.constructor as { new (buffer: SharedArrayBuffer): T };
  const out = new Ctor(new SharedArrayBuffer(length * a.BYTES_PER_ELEMENT));
  out.set(a.subarray(0, length) as never);
  return out;
}

/**
 * A Float64Array for data that k-means will run on (a scaled copy, say): in shared memory when a
 * helper-thread provider is installed, so that k-means need not copy it for the helpers; an
 * ordinary one otherwise.
 */
export function kmeansDataArray(length: number): Float64Array {
  return float64(length, provider !== null && typeof SharedArrayBuffer === 'function');
}
