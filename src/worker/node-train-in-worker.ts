/**
 * `trainInWorker()` for Node: the same protocol over a `worker_threads` worker, so a server or a
 * CLI's event loop stays free while EM runs. WebGPU in the worker comes from Dawn.
 */
import { Worker } from 'node:worker_threads';
import type { DataInput } from '../data.js';
import { InvalidArgumentError } from '../errors.js';
import type { TrainResult } from '../train/train.js';
import type { FromWorker } from './protocol.js';
import { runInWorker, type TrainInWorkerOptions, type WorkerChannel } from './train-in-worker.js';
import { cpuPassThreadsInstalled } from '../backends/cpu/pass-threads.js';
import { kmeansThreadsInstalled } from '../train/kmeans-parallel.js';

/** Node options: as in browsers, but the worker is a `worker_threads` one. */
export type NodeTrainInWorkerOptions = Omit<TrainInWorkerOptions, 'createWorker'>;

/**
 * Trains in a `worker_threads` worker and resolves with the same {@link TrainResult} as `train()`.
 * The worker uses helper threads for k-means and for the CPU backend's EM where this thread does
 * (`useKMeansThreads()`, `useEmThreads()`), so the result is the one `train()` gives here.
 *
 * @example
 * import { trainInWorker } from 'webgmm/node';
 * const result = await trainInWorker(points, { gaussians: 3, onIteration: (i) => console.log(i.logLikelihood) });
 */
export function trainInWorker(data: DataInput, options: NodeTrainInWorkerOptions): Promise<TrainResult> {
  return startTrainingWorker(data, options).result;
}

/**
 * {@link trainInWorker}, and `exited`, which resolves once the worker thread is gone (at once when
 * the options were rejected before one started). After an abort the result rejects at once while
 * the worker still stops its training; a process that exits before then aborts inside Dawn if the
 * worker's device has work in flight, so the CLI waits for `exited` first. `ownsBuffer`: see
 * runInWorker (the CLI's parsed data go with their buffer's slack instead of being copied).
 */
export function startTrainingWorker(
  data: DataInput,
  options: NodeTrainInWorkerOptions,
  ownsBuffer = false,
): { result: Promise<TrainResult>; exited: Promise<void> } {
  if (typeof options === 'object' && options !== null && 'createWorker' in options) {
    // The browser's option, which this function would otherwise ignore without a word.
    const error = new InvalidArgumentError('createWorker', "createWorker is for browsers (it makes the Web Worker); in Node, trainInWorker starts its own worker_threads worker: leave it out");
    return { result: Promise.reject(error), exited: Promise.resolve() };
  }
  let onExit!: () => void;
  const exited = new Promise<void>((resolve) => (onExit = resolve));
  let started = false;
  // runInWorker opens the channel synchronously, or not at all when it rejects the options.
  const result = runInWorker(
    () => {
      started = true;
      const worker = new Worker(new URL('./node-worker-entry.js', import.meta.url), {
        workerData: { kmeansThreads: kmeansThreadsInstalled(), emThreads: cpuPassThreadsInstalled() },
      });
      worker.once('exit', onExit);
      return nodeChannel(worker);
    },
    data,
    options,
    ownsBuffer,
  );
  if (!started) onExit();
  return { result, exited };
}

function nodeChannel(worker: Worker): WorkerChannel {
  let done = false;
  return {
    send: (message, transfer) => worker.postMessage(message, transfer as never),
    listen(onMessage, onFailure) {
      worker.on('message', (m: FromWorker) => onMessage(m));
      worker.on('error', (e: Error) => onFailure(new Error(`the training worker failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!done) onFailure(new Error(`the training worker exited unexpectedly (code ${code})`));
      });
    },
    terminate: () => {
      done = true;
      void worker.terminate();
    },
  };
}
