/**
 * Typed errors. Every error a user can cause is one of these, with a message that names the
 * parameter, row, or component at fault, so callers (and the CLI) can report it in one line.
 */

/**
 * The stable, machine-readable `code` of a {@link WebGmmError}:
 * - `'INVALID_ARGUMENT'`: {@link InvalidArgumentError} (an option or argument; `.parameter`);
 * - `'INVALID_DATA'`: {@link InvalidDataError} (the data matrix; `.row`, `.column`);
 * - `'INVALID_MODEL'`: {@link InvalidModelError} (a model's parameters, or a model file);
 * - `'NOT_POSITIVE_DEFINITE'`: {@link NotPositiveDefiniteError} (a covariance; `.component`);
 * - `'NO_WEBGPU'`: `backend: 'webgpu'` was asked for, but no WebGPU adapter or device is available;
 * - `'UNSUPPORTED'`: `backend: 'webgpu'` cannot train this problem (its dimensionality, or more
 *   component parameters than the kernels hold);
 * - `'NUMERICAL'`: training broke down numerically (no point with a non-zero likelihood, a NaN
 *   log-likelihood, a covariance that overflowed);
 * - `'GPU_OUT_OF_MEMORY'`, `'GPU_DEVICE_LOST'`, `'GPU_ERROR'`: the WebGPU device failed;
 * - `'OUTPUT'`: an output file cannot be written as asked (its extension or format) or at all (the
 *   system's reason);
 * - `'BUSY'`: a `trainInWorker` worker was given a second request while it trains.
 *
 * The last eight are plain `WebGmmError`s (no subclass).
 */
export type WebGmmErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_DATA'
  | 'INVALID_MODEL'
  | 'NOT_POSITIVE_DEFINITE'
  | 'NO_WEBGPU'
  | 'UNSUPPORTED'
  | 'NUMERICAL'
  | 'GPU_OUT_OF_MEMORY'
  | 'GPU_DEVICE_LOST'
  | 'GPU_ERROR'
  | 'OUTPUT'
  /** A `trainInWorker` worker given a second request while it trains (a `createWorker` that reuses one). */
  | 'BUSY';

/**
 * The base class of the errors webgmm reports (bad arguments, data, models or files, numerical
 * failure, the GPU, output): `code` tells them apart without `instanceof` (which fails across
 * two copies of the library, e.g. two bundles). An abort rejects with the signal's reason instead.
 */
export class WebGmmError extends Error {
  /** Stable machine-readable code (see {@link WebGmmErrorCode}). */
  readonly code: WebGmmErrorCode;
  constructor(code: WebGmmErrorCode, message: string);
  /**
   * @internal For rebuilding an error from its serialized form (a worker's message), whose code
   * was one of {@link WebGmmErrorCode} when it was thrown.
   */
  constructor(code: string, message: string);
  constructor(code: string, message: string) {
    super(message);
    // Literal names, not new.target.name: minifiers rename classes in browser bundles.
    this.name = 'WebGmmError';
    this.code = code as WebGmmErrorCode;
  }
}

/** An option or argument is out of range or of the wrong kind. `parameter` names it. */
export class InvalidArgumentError extends WebGmmError {
  /** The option's or argument's name (e.g. `'gaussians'`, `'seed'`, `'matrix'`). */
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'InvalidArgumentError';
    this.parameter = parameter;
  }
}

/** The data matrix is malformed: ragged, empty, or holds NaN / ±Infinity. `row` / `column` are 0-based. */
export class InvalidDataError extends WebGmmError {
  /** 0-based index of the offending point (data row, not file line: the message names the line), where one is to blame. */
  readonly row: number | undefined;
  /** 0-based index of the offending column, where one is to blame. */
  readonly column: number | undefined;
  constructor(message: string, row?: number, column?: number) {
    super('INVALID_DATA', message);
    this.name = 'InvalidDataError';
    this.row = row;
    this.column = column;
  }
}

/**
 * A model's parameters are inconsistent (weights, dimensions, covariances), or a model file is
 * malformed. A covariance that is not positive definite is the subclass
 * {@link NotPositiveDefiniteError}, so catching `InvalidModelError` catches every rejected model.
 */
export class InvalidModelError extends WebGmmError {
  constructor(message: string) {
    super('INVALID_MODEL', message);
    this.name = 'InvalidModelError';
  }
}

/**
 * A covariance matrix is not positive definite (a variance ≤ 0 included) where it must be: in a
 * model given to the constructor, `fromArrays`, a model file, or during training (e.g. under
 * `noForcePositive`). `component` is its 0-based index. A subclass of {@link InvalidModelError}
 * (the model is invalid), with its own code `'NOT_POSITIVE_DEFINITE'`.
 */
export class NotPositiveDefiniteError extends InvalidModelError {
  /** 0-based index of the component whose covariance is not positive definite (−1 where unknown). */
  readonly component: number;
  constructor(component: number, message: string) {
    super(message);
    (this as { code: WebGmmErrorCode }).code = 'NOT_POSITIVE_DEFINITE';
    this.name = 'NotPositiveDefiniteError';
    this.component = component;
  }
}

/**
 * `e` with `prefix` said first in its message (a file name, a function's name), as the same class
 * with the same fields, so that a NotPositiveDefiniteError keeps its `component`.
 * @internal
 */
export function prefixModelError(e: InvalidModelError, prefix: string): InvalidModelError {
  return e instanceof NotPositiveDefiniteError
    ? new NotPositiveDefiniteError(e.component, `${prefix}${e.message}`)
    : new InvalidModelError(`${prefix}${e.message}`);
}

/** The rejection for an aborted `AbortSignal`: its reason, or a DOMException named `AbortError`. */
export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('Training was aborted', 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * `promise`, or the abort's rejection as soon as `signal` aborts: for waits on what training does
 * not control — the caller's `onIteration` promise, a GPU adapter request — which an abort must not
 * wait for (one that never settles would leave training pending forever). What `promise` does
 * afterwards is ignored, a rejection included.
 */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(abortError(signal));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
