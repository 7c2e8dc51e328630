/**
 * The messages between `trainInWorker` and the worker that runs `train()`, and the conversions
 * that make a `TrainResult`, an `IterationInfo` and a `WebGmmError` survive structured cloning:
 * models travel as typed arrays (transferred, not copied) and errors by class name and fields.
 */
import { GaussianMixture, modelFromParts, type CovarianceType } from '../model/gaussian-mixture.js';
import {
  WebGmmError,
  InvalidArgumentError,
  InvalidDataError,
  InvalidModelError,
  NotPositiveDefiniteError,
} from '../errors.js';
import type { SearchInfo, TrainOptions, TrainResult } from '../train/train.js';
import type { IterationInfo } from '../train/em.js';

/** A model as arrays; `means`/`covariances` are row-major as in {@link GaussianMixture}. */
export interface ModelArrays {
  covarianceType: CovarianceType;
  weights: Float64Array;
  means: Float64Array;
  covariances: Float64Array;
  /** The model's factors (the final result), so that the caller's thread need not factorize again. */
  factors?: { choleskyFactors: Float64Array; precisionFactors: Float64Array; logDets: Float64Array };
}

/** The options that cross to the worker: everything but callbacks and the signal. */
export type WorkerTrainOptions = Omit<TrainOptions, 'onIteration' | 'onKmeansIteration' | 'onSearch' | 'signal' | 'inputModel' | 'observationWeights'> & {
  inputModel?: ModelArrays;
  observationWeights?: Float64Array;
};

export interface TrainRequest {
  type: 'train';
  data: { values: Float64Array | Float32Array; rows: number; cols: number };
  options: WorkerTrainOptions;
  /**
   * Whether to send `iteration` messages (the caller gave `onIteration`). Training then waits after
   * each one for an `ack` (sent once the caller's callback, and the promise it returned, are done),
   * as train() awaits its `onIteration`.
   */
  iterations: boolean;
  /** Whether to send `kmeans` messages (the caller gave `onKmeansIteration`). */
  kmeansIterations: boolean;
  /** Whether to send `search` messages (the caller gave `onSearch`). */
  search?: boolean;
}

export interface AbortRequest {
  type: 'abort';
}

/** The caller's `onIteration` has finished with the last `iteration` message. */
export interface IterationAck {
  type: 'ack';
}

export type ToWorker = TrainRequest | AbortRequest | IterationAck;

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  parameter?: string;
  row?: number;
  column?: number;
  component?: number;
  /** Of errors that are not webgmm's (defects): where they happened, in the worker. */
  stack?: string;
  /** Of errors that are not webgmm's: Node's own code (EMFILE, ERR_WORKER_INIT_FAILED), kept as `.code`. */
  systemCode?: string;
}

export type IterationMessage = Omit<IterationInfo, 'model'> & { model: ModelArrays };
export type ResultMessage = Omit<TrainResult, 'model'> & { model: ModelArrays };

export type FromWorker =
  | { type: 'started'; backendRequested: string; adapter?: string }
  | { type: 'iteration'; info: IterationMessage }
  | { type: 'kmeans'; info: { trial: number; iteration: number; shift: number } }
  | { type: 'search'; info: SearchInfo }
  | { type: 'result'; result: ResultMessage }
  | { type: 'error'; error: SerializedError };

/**
 * Copies of a model's arrays to post (their buffers to transfer). `withFactors`: its factors too —
 * for the final model, which the caller's thread (a page's UI thread) would otherwise factorize
 * again, seconds at thousands of dimensions; not for each iteration's, built only if read.
 */
export function modelToArrays(model: GaussianMixture, withFactors = false): { arrays: ModelArrays; transfer: ArrayBuffer[] } {
  const weights = new Float64Array(model.weights);
  const means = new Float64Array(model.means);
  const covariances = new Float64Array(model.covariances);
  const arrays: ModelArrays = { covarianceType: model.covarianceType, weights, means, covariances };
  const transfer = [weights.buffer, means.buffer, covariances.buffer];
  if (withFactors) {
    const factors = { choleskyFactors: model.choleskyFactors.slice(), precisionFactors: model.precisionFactors.slice(), logDets: model.logDets.slice() };
    arrays.factors = factors;
    transfer.push(factors.choleskyFactors.buffer, factors.precisionFactors.buffer, factors.logDets.buffer);
  }
  return { arrays, transfer };
}

export function modelFromArrays(m: ModelArrays): GaussianMixture {
  if (m.factors) return modelFromParts({ covarianceType: m.covarianceType, weights: m.weights, means: m.means, covariances: m.covariances, ...m.factors });
  return GaussianMixture.fromArrays(m.covarianceType, m.weights, m.means, m.covariances);
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const out: SerializedError = { name: e.name, message: e.message };
    // webgmm's own errors only: a Node error's code (ERR_WORKER_INIT_FAILED, EMFILE) would come
    // back as a WebGmmError, a user error, where it is a defect to report with its stack.
    if (!(e instanceof WebGmmError)) {
      const code = (e as { code?: unknown }).code;
      return { ...out, ...(e.stack !== undefined ? { stack: e.stack } : {}), ...(typeof code === 'string' ? { systemCode: code } : {}) };
    }
    const fields = e as unknown as Record<string, unknown>;
    for (const key of ['code', 'parameter'] as const) if (typeof fields[key] === 'string') out[key] = fields[key] as string;
    for (const key of ['row', 'column', 'component'] as const) if (typeof fields[key] === 'number') out[key] = fields[key] as number;
    return out;
  }
  return { name: 'Error', message: String(e) };
}

/** Rebuilds the error the worker threw, as the same class where it is one of webgmm's. */
export function deserializeError(s: SerializedError): Error {
  if (s.name === 'AbortError') return new DOMException(s.message, 'AbortError');
  switch (s.code) {
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(s.parameter ?? '', s.message);
    case 'INVALID_DATA':
      return new InvalidDataError(s.message, s.row, s.column);
    case 'INVALID_MODEL':
      return new InvalidModelError(s.message);
    case 'NOT_POSITIVE_DEFINITE':
      return new NotPositiveDefiniteError(s.component ?? -1, s.message);
    case undefined:
      return Object.assign(new Error(s.message), { name: s.name }, s.stack !== undefined ? { stack: s.stack } : {}, s.systemCode !== undefined ? { code: s.systemCode } : {});
    default:
      return new WebGmmError(s.code, s.message);
  }
}
