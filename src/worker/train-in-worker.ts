/**
 * `trainInWorker()`: `train()` in a Web Worker, so the page never blocks. The data moves to the
 * worker as one buffer (shared memory or a structured clone, see packData); iterations stream back
 * as they happen; an `AbortSignal` rejects the promise at once, and the worker is told to stop and
 * terminated when it has (at most STOP_GRACE_MS later).
 */
import { checkObservationWeights, toDataset, type DataInput } from '../data.js';
import { abortError, InvalidArgumentError } from '../errors.js';
import { checkedInputModel, checkTrainOptions, type TrainOptions, type TrainResult } from '../train/train.js';
import type { IterationInfo } from '../train/em.js';
import type { GaussianMixture } from '../model/gaussian-mixture.js';
import {
  deserializeError,
  modelFromArrays,
  modelToArrays,
  type FromWorker,
  type IterationMessage,
  type ToWorker,
  type WorkerTrainOptions,
} from './protocol.js';

/**
 * How long a worker whose call has already settled (aborted, or a callback failed) gets to stop
 * its training before it is terminated regardless.
 */
const STOP_GRACE_MS = 30_000;

/** Options of {@link trainInWorker}: those of `train()` plus how to start and feed the worker. */
export interface TrainInWorkerOptions extends TrainOptions {
  /**
   * Creates the worker. Default: the module worker shipped next to this file, found with
   * `new URL('./worker-entry.js', import.meta.url)`, a pattern Vite and webpack 5 bundle by
   * themselves. With esbuild or plain Rollup (which leave that URL as it is), build the worker as
   * an entry point of its own — the package exports it as `webgmm/worker` — and return
   * `new Worker(itsUrl, { type: 'module' })` here: a new worker on every call (the call terminates
   * it when it ends; a worker returned again is refused).
   */
  createWorker?: () => WebWorkerLike;
  /**
   * Hand the caller's typed array to the worker instead of copying it; it is detached afterwards,
   * and with it V8's fast path for every typed array of this thread (after the first detached
   * ArrayBuffer their loops ran 15–65 % slower). Default false: one copy and nothing detached —
   * in shared memory where a worker can be sent it (Node, a cross-origin isolated page), else by
   * structured clone (a view into a larger buffer, `number[][]` and `Matrix` are packed first).
   */
  transferData?: boolean;
  /**
   * Called once the worker has its device, before seeding: the WebGPU adapter, if it has one and
   * the training asks for it (not when `'auto'` keeps the CPU without one: a small problem, or one
   * the kernels cannot hold).
   */
  onStart?: (info: { adapter?: string }) => void;
}

/**
 * What trainInWorker calls on the worker `createWorker` returns; the DOM's `Worker` fits. Declared
 * here so that webgmm's types need no DOM library in a Node project.
 */
export interface WebWorkerLike {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  // `any`: the DOM's listeners take its own event types, which this declaration cannot name.
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: any) => void): void;
  terminate(): void;
}

/** What the main side needs of a worker; browsers' `Worker` and Node's `worker_threads` both fit. */
export interface WorkerChannel {
  send(message: ToWorker, transfer: ArrayBuffer[]): void;
  /** Registers the handlers; `onFailure` is for the worker dying or failing to load. */
  listen(onMessage: (message: FromWorker) => void, onFailure: (error: Error) => void): void;
  terminate(): void;
}

/**
 * Trains in a Web Worker and resolves with the same {@link TrainResult} as `train()`.
 *
 * @example
 * const controller = new AbortController();
 * const result = await trainInWorker(points, {
 *   gaussians: 3, seed: 1, signal: controller.signal,
 *   onIteration: ({ iteration, logLikelihood, model }) => draw(model),
 * });
 */
export function trainInWorker(data: DataInput, options: TrainInWorkerOptions): Promise<TrainResult> {
  // options is read only once runInWorker has checked it (null or a number rejects, not throws).
  const create = (): WebWorkerLike => {
    if (!options.createWorker) return new Worker(new URL('./worker-entry.js', import.meta.url), { type: 'module' });
    const worker = options.createWorker();
    // A call terminates its worker when it ends, and one worker trains one call at a time: a
    // worker handed out twice would either never answer the later call or, shared with a call
    // still running, end that one too.
    if (typeof worker === 'object' && worker !== null) {
      if (usedWorkers.has(worker)) {
        throw new InvalidArgumentError('createWorker', 'createWorker returned a worker that an earlier trainInWorker call was given: return a new Worker each time (a call terminates its worker when it ends)');
      }
      usedWorkers.add(worker);
    }
    return worker;
  };
  return runInWorker(() => browserChannel(create()), data, options);
}

/** Every worker a `createWorker` has returned (see trainInWorker). */
const usedWorkers = new WeakSet<object>();

function browserChannel(worker: WebWorkerLike): WorkerChannel {
  return {
    send: (message, transfer) => worker.postMessage(message, transfer),
    listen(onMessage, onFailure) {
      worker.addEventListener('message', (e: MessageEvent<FromWorker>) => onMessage(e.data));
      worker.addEventListener('error', (e: ErrorEvent) => {
        e.preventDefault();
        onFailure(new Error(`the training worker failed: ${e.message || 'it could not be loaded'}`));
      });
      worker.addEventListener('messageerror', () => onFailure(new Error('the training worker sent a message that could not be read')));
    },
    terminate: () => worker.terminate(),
  };
}

/**
 * The environment-neutral main side: packs the data, runs the protocol, settles once.
 * `ownsBuffer`: with `transferData`, the data's whole buffer may go even when the array is a view
 * of its start (the CLI's parsed text, whose buffer has slack past the values).
 */
export function runInWorker(openChannel: () => WorkerChannel, data: DataInput, options: TrainInWorkerOptions, ownsBuffer = false): Promise<TrainResult> {
  if (typeof options !== 'object' || options === null) {
    return Promise.reject(new InvalidArgumentError('options', `options must be an object with at least \`gaussians\`, got ${options === null ? 'null' : typeof options}`));
  }
  const { createWorker, transferData, onStart, onIteration, onKmeansIteration, onSearch, signal, inputModel, observationWeights, ...plain } = options;
  // The other options travel by structured clone: a function there would fail in postMessage
  // with a DataCloneError that names nothing.
  for (const [name, value] of Object.entries(plain)) {
    if (typeof value === 'function' || typeof value === 'symbol') {
      return Promise.reject(
        new InvalidArgumentError(name, `${name} is a ${typeof value}; of trainInWorker's options only onIteration, onKmeansIteration, onSearch, onStart and createWorker may be functions`),
      );
    }
  }
  try {
    // train()'s own checks, here before a worker starts: the same errors, naming the same options.
    checkTrainOptions({ ...plain, onIteration, onKmeansIteration, onSearch, signal } as TrainOptions);
    for (const [name, f] of [['createWorker', createWorker], ['onStart', onStart]] as const) {
      if (f !== undefined && typeof f !== 'function') throw new InvalidArgumentError(name, `${name} must be a function, got ${typeof f}`);
    }
    if (transferData !== undefined && typeof transferData !== 'boolean') {
      throw new InvalidArgumentError('transferData', `transferData must be true or false, got ${typeof transferData === 'string' ? JSON.stringify(transferData) : String(transferData)}`);
    }
  } catch (e) {
    return Promise.reject(e);
  }
  // After the checks: a signal that is not an AbortSignal is refused there, not used.
  if (signal?.aborted) return Promise.reject(abortError(signal));
  let packed;
  const workerOptions: WorkerTrainOptions = { ...plain };
  const transfer: ArrayBuffer[] = [];
  try {
    packed = packData(data, transferData === true, ownsBuffer);
    // Only a buffer the caller handed over is transferred: a transfer detaches it on this thread,
    // which slows all of this thread's typed arrays (see transferData). Weights and a model are
    // small and go by structured clone.
    if (packed.transfer) transfer.push(packed.transfer);
    if (observationWeights !== undefined) {
      // Checked here as train() checks them: packing would turn '1', true or null into numbers.
      workerOptions.observationWeights = checkObservationWeights(observationWeights, packed.rows)!;
    }
    if (inputModel !== undefined) {
      workerOptions.inputModel = modelToArrays(checkedInputModel(inputModel, packed.cols, plain.gaussians)).arrays;
    }
  } catch (e) {
    return Promise.reject(e);
  }

  return new Promise<TrainResult>((resolve, reject) => {
    const channel = openChannel();
    let settled = false;
    let stopped = false;
    let safety: ReturnType<typeof setTimeout> | undefined;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      if (safety !== undefined) clearTimeout(safety);
      channel.terminate();
    };
    /**
     * Settles the caller's promise at once. The worker is terminated once it has sent its last
     * message (`workerDone`); otherwise it is asked to abort and terminated when it answers —
     * Dawn aborts the whole process when a thread is torn down with a GPU operation in flight —
     * or after STOP_GRACE_MS regardless.
     */
    const finish = (outcome: () => void, workerDone: boolean): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      outcome();
      if (workerDone) {
        stop();
        return;
      }
      try {
        channel.send({ type: 'abort' }, []);
      } catch {
        stop(); // already gone
        return;
      }
      safety = setTimeout(stop, STOP_GRACE_MS);
      (safety as { unref?: () => void }).unref?.();
    };
    const onAbort = (): void => finish(() => reject(abortError(signal!)), false);
    signal?.addEventListener('abort', onAbort, { once: true });
    /**
     * The promises onKmeansIteration and onSearch returned: the worker does not wait for them,
     * but the call settles only once they have, and the first to reject fails it.
     */
    const pending: Promise<unknown>[] = [];
    const failOnRejection = (returned: unknown): void => {
      if (typeof (returned as { then?: unknown } | null | undefined)?.then !== 'function') return;
      const p = Promise.resolve(returned);
      p.catch((e: unknown) => finish(() => reject(e), false));
      pending.push(p);
    };
    channel.listen(
      (message) => {
        if (message.type === 'result' || message.type === 'error') {
          // The worker's last message: after a settled call (abort, a failed callback) it is the
          // answer to the abort, and the worker can go.
          if (settled) {
            stop();
            return;
          }
        }
        if (settled) return;
        try {
          switch (message.type) {
            case 'started':
              onStart?.(message.adapter !== undefined ? { adapter: message.adapter } : {});
              break;
            case 'iteration': {
              // As train() does, training waits for the callback (and the promise it returns):
              // the worker goes on when acknowledged; a rejection fails the call.
              const done = onIteration?.(withLazyModel(message.info));
              Promise.resolve(done).then(
                () => {
                  if (!settled) channel.send({ type: 'ack' }, []);
                },
                (e: unknown) => finish(() => reject(e), false),
              );
              break;
            }
            // The worker does not wait for these (one message per Lloyd iteration), but a
            // rejection fails the call, as a throw does.
            case 'kmeans':
              failOnRejection(onKmeansIteration?.(message.info));
              break;
            case 'search':
              failOnRejection(onSearch?.(message.info));
              break;
            case 'result': {
              const result = { ...message.result, model: modelFromArrays(message.result.model) };
              // A rejection among them fails the call as it comes (p.catch above); the worker, done,
              // goes once they have all settled.
              if (pending.length === 0) finish(() => resolve(result), true);
              else {
                void Promise.allSettled(pending).then(() => {
                  finish(() => resolve(result), true);
                  stop();
                });
              }
              break;
            }
            case 'error':
              finish(() => reject(deserializeError(message.error)), true);
              break;
          }
        } catch (e) {
          // A throwing callback fails the call, as it would in train().
          finish(() => reject(e), false);
        }
      },
      (error) => finish(() => reject(error), true),
    );
    try {
      channel.send(
        { type: 'train', data: { values: packed.values, rows: packed.rows, cols: packed.cols }, options: workerOptions, iterations: onIteration !== undefined, kmeansIterations: onKmeansIteration !== undefined, search: onSearch !== undefined },
        transfer,
      );
    } catch (e) {
      // A value structured clone cannot copy, nested in an option (a function inside an object).
      const why = e instanceof Error ? e.message : String(e);
      finish(() => reject(new InvalidArgumentError('options', `the options could not be sent to the worker: ${why}`)), true);
    }
  });
}

/**
 * The iteration's info with `model` built on first read: rebuilding a GaussianMixture factorizes
 * every covariance (seconds at thousands of dimensions), on this thread, while the worker waits —
 * wasted on callbacks that only report progress.
 */
function withLazyModel(info: IterationMessage): IterationInfo {
  const { model: arrays, ...rest } = info;
  let model: GaussianMixture | undefined;
  // Configurable and settable, so the info behaves as train()'s plain object does.
  return Object.defineProperty(rest, 'model', {
    enumerable: true,
    configurable: true,
    get: () => (model ??= modelFromArrays(arrays)),
    set: (value: GaussianMixture) => void (model = value),
  }) as IterationInfo;
}

/** Whether a worker can be sent shared memory here: Node, or a cross-origin isolated page. */
const SHARED_MEMORY = typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;

/** A new array of `length` values in shared memory. */
function sharedArray<T extends Float64Array | Float32Array>(Ctor: new (buffer: SharedArrayBuffer) => T, bytesPerValue: number, length: number): T {
  return new Ctor(new SharedArrayBuffer(length * bytesPerValue));
}

/**
 * One contiguous row-major array for the worker, and the buffer to transfer with it (null: none).
 * Only a caller who asks (transferData) has a buffer transferred, which detaches it on this thread
 * (see runInWorker). Otherwise the data go as shared memory where a worker can be sent it (Node, a
 * cross-origin isolated page) — one copy, packed straight into it — or by structured clone, which
 * copies them on the way: a compact typed array as it is, anything else packed first.
 */
function packData(data: DataInput, transfer: boolean, ownsBuffer: boolean): { values: Float64Array | Float32Array; rows: number; cols: number; transfer: ArrayBuffer | null } {
  const dense = data as { data?: unknown; rows?: unknown; cols?: unknown };
  if (dense && (dense.data instanceof Float64Array || dense.data instanceof Float32Array)) {
    const values = dense.data;
    const rows = dense.rows, cols = dense.cols;
    if (typeof rows !== 'number' || typeof cols !== 'number' || !Number.isInteger(rows) || !Number.isInteger(cols) || rows * cols !== values.length) {
      // toDataset names the exact problem.
      toDataset(data);
    }
    const n = (rows as number) * (cols as number);
    const plain = values.buffer instanceof ArrayBuffer && values.byteOffset === 0 && values.length === n;
    if (transfer && plain && (ownsBuffer || values.buffer.byteLength === values.byteLength)) {
      return { values, rows: rows as number, cols: cols as number, transfer: values.buffer as ArrayBuffer };
    }
    let out: Float64Array | Float32Array;
    if (SHARED_MEMORY) {
      out = values instanceof Float64Array ? sharedArray(Float64Array, 8, n) : sharedArray(Float32Array, 4, n);
      out.set(values.subarray(0, n));
    } else {
      // Cloned on the way: as it is when that copies no more than the values.
      out = plain && values.buffer.byteLength === values.byteLength ? values : values.slice(0, n);
    }
    return { values: out, rows: rows as number, cols: cols as number, transfer: null };
  }
  const ds = toDataset(data, 'data', SHARED_MEMORY ? { allocate: (length) => sharedArray(Float64Array, 8, length) } : {});
  return { values: ds.data, rows: ds.n, cols: ds.d, transfer: null };
}
