/**
 * Typed errors. Every error a user can cause is one of these, with a message that names the
 * parameter, row, or component at fault, so callers (and the CLI) can report it in one line.
 */
export class WebGmmError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    // Literal names, not new.target.name: minifiers rename classes in browser bundles.
    this.name = 'WebGmmError';
    this.code = code;
  }
}

/** An option or argument is out of range or of the wrong kind. `parameter` names it. */
export class InvalidArgumentError extends WebGmmError {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'InvalidArgumentError';
    this.parameter = parameter;
  }
}

/** The data matrix is malformed: ragged, empty, or holds NaN / ±Infinity. `row` / `column` are 0-based. */
export class InvalidDataError extends WebGmmError {
  readonly row: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, row?: number, column?: number) {
    super('INVALID_DATA', message);
    this.name = 'InvalidDataError';
    this.row = row;
    this.column = column;
  }
}

/** A model's parameters are inconsistent (weights, dimensions, covariances). */
export class InvalidModelError extends WebGmmError {
  constructor(message: string) {
    super('INVALID_MODEL', message);
    this.name = 'InvalidModelError';
  }
}

/** A covariance matrix is not positive definite where it must be (e.g. under `noForcePositive`). */
export class NotPositiveDefiniteError extends WebGmmError {
  readonly component: number;
  constructor(component: number, message: string) {
    super('NOT_POSITIVE_DEFINITE', message);
    this.name = 'NotPositiveDefiniteError';
    this.component = component;
  }
}

/** The rejection for an aborted `AbortSignal`: its reason, or a DOMException named `AbortError`. */
export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('Training was aborted', 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
