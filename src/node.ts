/**
 * webgmm's Node entry (what `import 'webgmm'` resolves to in Node): everything the browser-safe
 * entry exports, with WebGPU provided by Dawn (the `webgpu` package) instead of `navigator.gpu`,
 * optional worker threads for k-means and for the CPU backend's EM passes, plus data and model files.
 */
import { setGpuProvider } from './backends/webgpu/device.js';
import { nodeGpuProvider } from './backends/webgpu/node-gpu.js';
import { setKMeansThreadProvider } from './train/kmeans-parallel.js';
import { setCpuPassThreadProvider } from './backends/cpu/pass-threads.js';
import { nodeKMeansThreads } from './worker/kmeans-threads.js';

setGpuProvider(nodeGpuProvider);

/**
 * Runs k-means' distance passes on worker threads as well as the calling thread (or, with
 * `false`, on the calling thread alone, the default). The results are bitwise the same either way.
 * Off by default because it did not pay reliably where it was measured (a 2-core machine): seeding
 * 1M × 8 points took 0.28 s with threads against 0.31 s without in one run and 0.50 against 0.46 s
 * in another, and long Lloyd runs gain little (they synchronise every iteration); try it on
 * machines with more cores. Node's `trainInWorker` passes it on to its worker thread.
 */
export function useKMeansThreads(enabled = true): void {
  setKMeansThreadProvider(enabled ? nodeKMeansThreads : null);
}

/**
 * Runs the CPU backend's EM passes (`backend: 'cpu'`, and WebGPU's float64 finish) on worker
 * threads as well as the calling thread, one helper per further core (at most 7), shared with
 * {@link useKMeansThreads}; `false` turns it off again (the default). A pass over 32 768 points
 * or more is then summed per block of 8192 points, the blocks' sums added in order: the model is
 * the same for any number of threads — also when the cores are busy and the blocks run on the
 * calling thread alone — but it differs in the last bits from a run without threads (one running
 * sum), which is why it is opt-in: `covarianceConstraint: 'mlpack'` stays bit-for-bit what it
 * was. Each CPU backend copies the points into shared memory on its first threaded pass (a second
 * copy of the data). `trainInWorker` passes it on to its worker thread. Measured on 2 cores
 * (bench/cpu-threads.ts, 2026-11-27): 1.90× faster iterations on 200k × 8, K = 8 full, 1.92×
 * diagonal, 1.96× on 50k × 32, K = 16 full.
 */
export function useEmThreads(enabled = true): void {
  setCpuPassThreadProvider(enabled ? nodeKMeansThreads : null);
}

export * from './index.js';
export { readDataFile, readWeightsFile, writeCsv, writeColumn, writeDataFile } from './io/data-files.js';
export type { ReadDataFileOptions } from './io/data-files.js';
export { parseNpy, encodeNpy } from './io/npy.js';
export { readModelFile, writeModelFile, parseModelFile, MODEL_FORMATS } from './io/model-files.js';
export type { ModelFormat, ModelFileKind, ModelFileContents } from './io/model-files.js';
export { trainInWorker } from './worker/node-train-in-worker.js';
export type { NodeTrainInWorkerOptions } from './worker/node-train-in-worker.js';
