/**
 * The Node helper threads of k-means (see train/kmeans-parallel.ts) — and, as kind 6 of their jobs,
 * of the CPU backend's EM pass (backends/cpu/pass-threads.ts): `worker_threads` workers that
 * run the kernels of train/kmeans-kernels.ts and backends/cpu/pass-kernels.ts on shared memory while the calling thread takes its
 * own share and then blocks on `Atomics.wait` — so the k-means API stays synchronous where it is.
 * Node only: install with `setKMeansThreadProvider(nodeKMeansThreads)` (the Node entry's `useKMeansThreads()` does).
 *
 * The workers are started from source text (`eval`): the kernels' own `toString()` plus a small
 * driver. That needs no script file next to this one, so it works the same from the compiled
 * package (dist/), from TypeScript sources under vitest or tsx, and from a bundle. They start on
 * first use, are unref'd (they never keep the process alive) and stay for later calls;
 * {@link terminateKMeansThreads} stops them.
 *
 * A job is a list of tasks that every thread claims from one counter; the caller waits for the
 * tasks to be completed, not for the helpers to answer, so a helper that is late (starting up) or
 * gone only means the caller runs more of the tasks itself. When the helpers keep the caller
 * waiting (the machine's cores are busy with other work), the pool runs the next jobs on the
 * calling thread alone for a while.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { KMEANS_KERNELS, kmClaimTasks, kmRunTask } from '../train/kmeans-kernels.js';
import { CPU_PASS_KERNELS, cpuPassTask } from '../backends/cpu/pass-kernels.js';
import type { KMeansThreadPool } from '../train/kmeans-parallel.js';

/** No task completed for this long, with tasks claimed and not done, means a helper is gone. */
const STALL_MS = 120_000;

/**
 * How long the calling thread waits without a task completing before it takes a helper for gone:
 * {@link STALL_MS}, or ten times as long as its own tasks took, whichever is longer — one EM task
 * (8192 points) at D = 1000, K = 50 takes minutes, and is no stall.
 */
export function stallLimit(ownTasksMs: number, ownTasks: number): number {
  return ownTasks > 0 ? Math.max(STALL_MS, (10 * ownTasksMs) / ownTasks) : STALL_MS;
}
/** At most this many helpers (besides the calling thread). */
const MAX_HELPERS = 7;
/**
 * A job after which the calling thread waited longer than this share of the job's time for the
 * helpers (they are starved: other processes hold the cores) makes the next {@link SOLO_JOBS} jobs
 * run on the calling thread alone; it tries the helpers again after that. The results are the same
 * either way.
 */
const MAX_WAIT_SHARE = 0.3;
const SOLO_JOBS = 24;
/**
 * Every PROBE_MS, before k-means' jobs, the pool checks that its threads really run at the same
 * time: a fixed piece of arithmetic (PROBE_STEPS steps, about 4 ms here) on the calling thread
 * alone, then one piece per thread at once. When the second takes more than PROBE_SLOWDOWN times
 * the first (a helper's wake-up counts: k-means' jobs are as short as the probe), the cores are
 * busy with other work (the threads would only take turns) and k-means' jobs until the next
 * probe run on the calling thread alone. EM's jobs (long tasks) skip it.
 */
const PROBE_MS = 250;
const PROBE_STEPS = 500_000;
const PROBE_SLOWDOWN = 1.3;

/**
 * The kernels a job of `kind` runs: k-means' (kmRunTask) and, as kind 6, a range of the CPU
 * backend's EM pass (backends/cpu/pass-kernels.ts). The workers get the same dispatcher as
 * source text in DRIVER — not this function's own text, in which a transform such as vitest's
 * rewrites the imported names — naming the kernels by their functions' own names (a minifying
 * bundler renames them in their source text too).
 */
function runTask(kind: number, a: unknown[], t: number, tasks: number, chunk: number, limit: number): number {
  if (kind !== 6) return kmRunTask(kind, a, t, tasks, chunk, limit);
  cpuPassTask(a, t, chunk, limit);
  return 0;
}

const DRIVER = `
function runTask(kind, a, t, tasks, chunk, limit) {
  if (kind !== 6) return ${kmRunTask.name}(kind, a, t, tasks, chunk, limit);
  ${cpuPassTask.name}(a, t, chunk, limit);
  return 0;
}
const wt = typeof require === 'function' ? require('node:worker_threads') : process.getBuiltinModule('node:worker_threads');
const port = wt.workerData.port;
port.on('message', (job) => {
  ${kmClaimTasks.name}(job.kind, job.args, new Int32Array(job.control), job.results, job.tasks, job.chunk, job.limit,
    (e) => port.postMessage(String((e && e.stack) || e)), runTask);
});
`;

interface Helper {
  worker: Worker;
  port: MessagePort;
}

class NodeKMeansThreads implements KMeansThreadPool {
  readonly helpers: number;
  private readonly pool: Helper[] = [];
  /** Set when a helper failed or exited: the provider stops handing this pool out. */
  failed = false;
  /** Tasks the helpers ran, over the pool's life (tests check that they did run). */
  tasksByHelpers = 0;
  /** Jobs still to run on the calling thread alone (see MAX_WAIT_SHARE). */
  private solo = 0;
  /** EM jobs (kind 6) in a row that kept the calling thread waiting (see run()). */
  private slowEmJobs = 0;
  /** When the last probe ran (performance.now()), and whether it found the threads concurrent. */
  private probedAt = -Infinity;
  private concurrent = false;

  /** Whether to fall back on the calling thread when the helpers do not help (see PROBE_MS). */
  private readonly adaptive: boolean;

  constructor(helpers: number, adaptive: boolean) {
    this.helpers = helpers;
    this.adaptive = adaptive;
    const source = [...KMEANS_KERNELS, ...CPU_PASS_KERNELS].map((f) => f.toString()).join('\n') + DRIVER;
    for (let h = 0; h < helpers; h++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(source, {
        eval: true,
        // The source is a classic script: none of the parent's flags (--input-type, loaders) apply.
        execArgv: [],
        workerData: { port: port2 },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      // Seen between jobs only (the calling thread is blocked during one).
      worker.on('error', () => void (this.failed = true));
      worker.on('exit', () => void (this.failed = true));
      this.pool.push({ worker, port: port1 });
    }
  }

  run(kind: number, args: unknown[], tasks: number, chunk: number, limit: number): number {
    const control = new Int32Array(new SharedArrayBuffer(12));
    const results = new Float64Array(new SharedArrayBuffer(tasks * 8));
    let failure: unknown = null;
    const onError = (e: unknown): void => void (failure ??= e);
    // The CPU backend's EM tasks (kind 6, 8192 points each) are long against a helper's wake-up,
    // which the probe counts; for them the wait-share rule below is the only check.
    const longTasks = kind === 6;
    if (this.adaptive && !longTasks && performance.now() - this.probedAt > PROBE_MS) this.probe();
    if (this.adaptive && (this.solo > 0 || (!longTasks && !this.concurrent))) {
      this.solo--;
      kmClaimTasks(kind, args, control, results, tasks, chunk, limit, onError, runTask);
    } else {
      const job = { kind, args, control: control.buffer, results, tasks, chunk, limit };
      const t0 = performance.now();
      for (const h of this.pool) h.port.postMessage(job);
      const mine = kmClaimTasks(kind, args, control, results, tasks, chunk, limit, onError, runTask);
      const t1 = performance.now();
      const stallAfter = stallLimit(t1 - t0, mine);
      let last = Date.now();
      let seen = -1;
      for (;;) {
        const done = Atomics.load(control, 1);
        if (done >= tasks) break;
        if (done !== seen) {
          seen = done;
          last = Date.now();
        } else if (Date.now() - last > stallAfter) {
          this.failed = true;
          this.terminate();
          throw new Error('a webgmm helper thread (k-means or EM) stopped answering');
        }
        Atomics.wait(control, 1, done, 1000);
      }
      const t2 = performance.now();
      this.tasksByHelpers += tasks - mine;
      const slow = t2 - t1 > MAX_WAIT_SHARE * (t2 - t0) && t2 - t0 > 1;
      // An EM job's one task per thread waits out a helper's first, unoptimized run (every new
      // pool's first EM job did, and 24 tasks went to the calling thread alone): EM jobs sit out
      // after two slow ones in a row.
      if (longTasks) this.slowEmJobs = slow ? this.slowEmJobs + 1 : 0;
      if (slow && (!longTasks || this.slowEmJobs >= 2)) this.solo = SOLO_JOBS;
      if (Atomics.load(control, 2) !== 0 && failure === null) {
        let message = 'unknown error';
        for (const h of this.pool) {
          const m = receiveMessageOnPort(h.port);
          if (m) message = String(m.message);
        }
        failure = new Error(`a webgmm helper thread (k-means or EM) failed: ${message}`);
      }
    }
    if (failure !== null) throw failure;
    let total = 0;
    for (let t = 0; t < tasks; t++) total += results[t]!;
    return total;
  }

  available(): boolean {
    if (!this.adaptive) return true;
    if (performance.now() - this.probedAt > PROBE_MS) this.probe();
    return this.concurrent;
  }

  sittingOut(): boolean {
    return this.adaptive && this.solo > 0;
  }

  /** Times the probe alone and on every thread at once (see PROBE_MS). */
  private probe(): void {
    const args = [PROBE_STEPS];
    const alone = new Int32Array(3);
    const t0 = performance.now();
    kmClaimTasks(5, args, alone, new Float64Array(1), 1, 1, 1, () => {});
    const t1 = performance.now();
    const tasks = this.helpers + 1;
    const control = new Int32Array(new SharedArrayBuffer(12));
    const job = { kind: 5, args, control: control.buffer, results: new Float64Array(new SharedArrayBuffer(tasks * 8)), tasks, chunk: 1, limit: tasks };
    for (const h of this.pool) h.port.postMessage(job);
    kmClaimTasks(5, args, control, job.results, tasks, 1, tasks, () => {});
    // A helper that holds its piece for long is as good as absent: stop waiting after a second.
    for (let v = Atomics.load(control, 1); v < tasks && performance.now() - t1 < 1000; v = Atomics.load(control, 1)) Atomics.wait(control, 1, v, 100);
    const t2 = performance.now();
    this.concurrent = Atomics.load(control, 1) >= tasks && t2 - t1 <= PROBE_SLOWDOWN * (t1 - t0);
    this.probedAt = performance.now();
  }

  terminate(): void {
    for (const h of this.pool) {
      h.port.close();
      void h.worker.terminate();
    }
    this.pool.length = 0;
  }
}

let shared: NodeKMeansThreads | null = null;
let disabled = false;

/**
 * The provider of Node's helper threads: one pool (created on first use, with one helper per
 * further core, at most 7), or null on a single core or once a helper has failed.
 */
export function nodeKMeansThreads(): KMeansThreadPool | null {
  if (shared !== null && shared.failed) {
    shared.terminate();
    shared = null;
    disabled = true;
  }
  if (disabled) return null;
  if (shared !== null) return shared;
  const helpers = Math.min(MAX_HELPERS, availableParallelism() - 1);
  if (helpers < 1) return null;
  shared = new NodeKMeansThreads(helpers, true);
  return shared;
}

/**
 * A separate pool of `helpers` threads, for callers that manage its lifetime (call `terminate()`);
 * results are the same whatever the count. `adaptive: false` keeps the helpers in every job even
 * when the machine's cores are busy (the provider's pool falls back on the calling thread then).
 */
export function createKMeansThreadPool(helpers: number, options: { adaptive?: boolean } = {}): KMeansThreadPool & { terminate(): void; readonly tasksByHelpers: number } {
  if (!Number.isInteger(helpers) || helpers < 1) throw new RangeError(`helpers must be an integer ≥ 1, got ${helpers}`);
  return new NodeKMeansThreads(helpers, options.adaptive ?? true);
}

/** Stops the helper threads (they are started again on the next use). */
export function terminateKMeansThreads(): void {
  if (shared !== null) {
    const s = shared;
    shared = null;
    s.failed = false;
    s.terminate();
  }
}
