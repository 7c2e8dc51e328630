/**
 * webgmm — Gaussian mixture models trained with EM (mlpack `gmm_train` semantics).
 *
 * This is the browser-safe entry: nothing reachable from here imports `node:` modules.
 * Node programs may import `webgmm/node`, which adds what needs Node.
 */
export { train, KMEANS_MAX_POINTS, KMEANS_TOLERANCE } from './train/train.js';
export { PLUSPLUS_MAX_POINTS } from './train/kmeans.js';
export type { TrainOptions, TrainResult, TrialResult } from './train/train.js';
export { trainInWorker } from './worker/train-in-worker.js';
export type { TrainInWorkerOptions } from './worker/train-in-worker.js';
export { BACKEND_CHOICES } from './backends/select.js';
export type { BackendChoice } from './backends/select.js';
export { RESIDENCIES } from './backends/residency.js';
export type { Residency } from './backends/residency.js';
export { setGpuProvider } from './backends/webgpu/gpu-provider.js';
export { gpuIdle } from './backends/webgpu/idle.js';
export type { GpuProvider, GpuLike } from './backends/webgpu/gpu-provider.js';
export type { IterationInfo } from './train/em.js';
export type { SearchInfo } from './train/train.js';
export { GaussianMixture } from './model/gaussian-mixture.js';
export type { GaussianMixtureJSON, GaussianMixtureInput, GaussianMixturePackedInput, GaussianMixtureLike, CovarianceType } from './model/gaussian-mixture.js';
export { COVARIANCE_CONSTRAINTS } from './train/constraints.js';
export type { CovarianceConstraint } from './train/constraints.js';
export type { DataInput, DenseMatrix, NumberArray } from './data.js';
export { parseDelimited } from './io/delimited.js';
export type { ParseDelimitedOptions, LoadedData, DataFileFormat } from './io/delimited.js';
export { parseMlpackModel, serializeMlpackModel } from './io/mlpack-model.js';
export type { MlpackFormat } from './io/mlpack-model.js';
export { parseWebgmmModel, serializeWebgmmModel, WEBGMM_MODEL_FORMAT, WEBGMM_MODEL_VERSION } from './io/webgmm-model.js';
export type { WebgmmModelFile } from './io/webgmm-model.js';
export type { BackendKind } from './backends/backend.js';
export {
  WebGmmError,
  InvalidArgumentError,
  InvalidDataError,
  InvalidModelError,
  NotPositiveDefiniteError,
} from './errors.js';
export type { WebGmmErrorCode } from './errors.js';
