/**
 * The module worker script `trainInWorker` starts in browsers
 * (`new Worker(new URL('./worker-entry.js', import.meta.url), { type: 'module' })`).
 * WebGPU comes from the worker's own `navigator.gpu`.
 */
import { createTrainingServer } from './serve.js';
import type { ToWorker } from './protocol.js';

interface WorkerGlobal {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
}

const scope = globalThis as unknown as WorkerGlobal;
// A page's window has addEventListener and postMessage too (with another meaning): ask for the
// worker's own global scope.
const workerScope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
// A SharedWorker's scope is one too, but answers through ports: it has no postMessage of its own.
if (typeof workerScope !== 'function' || !(globalThis instanceof workerScope) || typeof scope.postMessage !== 'function') {
  throw new Error(
    "webgmm/worker is the script of a browser Web Worker (new Worker(url, { type: 'module' })); it cannot run here. In Node, trainInWorker from 'webgmm' starts its own worker_threads worker",
  );
}
const handle = createTrainingServer((message, transfer) => scope.postMessage(message, transfer ?? []));
scope.addEventListener('message', (e) => handle(e.data));
