/**
 * webgmm's Node entry (what `import 'webgmm'` resolves to in Node): everything the browser-safe
 * entry exports, with WebGPU provided by Dawn (the `webgpu` package) instead of `navigator.gpu`,
 * k-means on worker threads, plus data and model files.
 */
import { setGpuProvider } from './backends/webgpu/device.js';
import { nodeGpuProvider } from './backends/webgpu/node-gpu.js';
import { setKMeansThreadProvider } from './train/kmeans-parallel.js';
import { nodeKMeansThreads } from './worker/kmeans-threads.js';

setGpuProvider(nodeGpuProvider);
// k-means' distance passes on every core (results do not depend on the number of threads).
setKMeansThreadProvider(nodeKMeansThreads);

export * from './index.js';
export { readDataFile, readWeightsFile, writeCsv, writeColumn } from './io/data-files.js';
export type { ReadDataFileOptions } from './io/data-files.js';
export { parseNpy, encodeNpy } from './io/npy.js';
export { readModelFile, writeModelFile, parseModelFile, MODEL_FORMATS } from './io/model-files.js';
export type { ModelFormat, ModelFileKind } from './io/model-files.js';
export { trainInWorker } from './worker/node-train-in-worker.js';
export type { NodeTrainInWorkerOptions } from './worker/node-train-in-worker.js';
