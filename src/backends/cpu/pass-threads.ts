/**
 * Optional helper threads for the CPU backend's passes, behind an injectable provider as k-means'
 * are (train/kmeans-parallel.ts): browser-safe, importing nothing from Node; the Node entry's
 * `useEmThreads()` installs the `worker_threads` pool (worker/kmeans-threads.ts, shared with
 * k-means). Without a provider (the default) a pass runs on the calling thread, as one running sum.
 *
 * With a provider, a pass over at least CPU_PASS_THREADED_MIN_POINTS points is summed per task of
 * CPU_PASS_TASK_POINTS points, and the tasks' sums are added in task order: the result does not
 * depend on how many threads ran the tasks (or whether any helper was free), but it is rounded
 * differently from the single running sum — the last bits of a model differ from a run without
 * the provider.
 */
import type { KMeansThreadPool, KMeansThreadProvider } from '../../train/kmeans-parallel.js';

/** Points per task of a threaded pass. Fixed: the sums' rounding follows it. */
export const CPU_PASS_TASK_POINTS = 8192;
/** Passes over fewer points stay one running sum on the calling thread. */
const CPU_PASS_THREADED_MIN_POINTS = 4 * CPU_PASS_TASK_POINTS;

let provider: KMeansThreadProvider | null = null;
let minPoints = CPU_PASS_THREADED_MIN_POINTS;

/**
 * Installs (or, with null, removes) the helper-thread provider of the CPU backend's passes.
 * `thresholds.minPoints` overrides the size below which a pass stays one running sum (tests).
 */
export function setCpuPassThreadProvider(p: KMeansThreadProvider | null, thresholds: { minPoints?: number } = {}): void {
  provider = p;
  minPoints = thresholds.minPoints ?? CPU_PASS_THREADED_MIN_POINTS;
}

/** Whether a provider is installed (a Node training worker installs one too when this says so). */
export function cpuPassThreadsInstalled(): boolean {
  return provider !== null;
}

/**
 * How a pass over n points runs: null for one running sum on the calling thread; otherwise per
 * task, on `pool` (null where none can be had: the same tasks on the calling thread). Whether
 * the pool's helpers join is its own decision, job by job (KMeansThreadPool.sittingOut).
 */
export function cpuPassThreading(n: number): { pool: KMeansThreadPool | null } | null {
  if (provider === null || n < minPoints) return null;
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return { pool: null };
  const pool = provider();
  return { pool: pool !== null && pool.helpers > 0 ? pool : null };
}
