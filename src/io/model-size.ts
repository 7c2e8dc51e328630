/**
 * How large a model file may be. A text model (webgmm's JSON, mlpack's JSON and XML) is written
 * and read as one JavaScript string, and V8 (Node, Chrome) holds at most 2^29 − 24 characters in
 * one: beyond that, writing failed with "Invalid string length" after the whole training and
 * reading with "Cannot create a string longer than …". mlpack's binary archive is one byte array,
 * at most 2^32 bytes in Node 20. Browser-safe: imports nothing from Node.
 */
import { WebGmmError, InvalidModelError } from '../errors.js';
import type { CovarianceType } from '../model/gaussian-mixture.js';

/** The most characters of one JavaScript string in V8 (Node's `buffer.constants.MAX_STRING_LENGTH`). */
export const MAX_MODEL_TEXT = 2 ** 29 - 24;
/** How the messages name that limit. */
const TEXT_LIMIT = '512 MiB of text: the longest JavaScript string';
/** The most bytes of one byte array in Node 20 (`buffer.constants.MAX_LENGTH`). */
const MAX_MODEL_BYTES = 2 ** 32;

/** A model file's format. */
export type ModelFileKind = 'webgmm-json' | 'mlpack-json' | 'mlpack-xml' | 'mlpack-bin';

/**
 * Characters per value a text format spends beside the number: its indentation and separators
 * (webgmm: a full covariance entry four levels deep at one space each, `,` and a line break;
 * mlpack's JSON: 20 spaces, `"elem": `, `,` and a line break; its XML: five tabs, `<elem>`,
 * `</elem>` and a line break).
 */
const FRAME_PER_VALUE = { 'webgmm-json': 6, 'mlpack-json': 30, 'mlpack-xml': 19 } as const;
/**
 * A fitted model's number as these formats write it, shortest round trip or `%.17g`: typically
 * 17–20 characters (`-0.12345678901234568`); fewer only for values that happen to be short.
 */
const TYPICAL_NUMBER = 18;
/** A zero as mlpack's JSON (`0.0`) and XML (`0`) write it. */
const ZERO_NUMBER = { 'mlpack-json': 3, 'mlpack-xml': 1 } as const;

/**
 * The values a file of `kind` stores for a model of K components in D dimensions (`zeros`: how many
 * of them are zero whatever the fit): webgmm's, the weights, means and covariances (D×D or D each);
 * mlpack's, also the covariance's Cholesky factor and inverse, D×D each whatever the covariance
 * type (for a diagonal model all three are diagonal; the factor is always triangular), and a
 * log-determinant.
 */
function modelFileValues(kind: ModelFileKind, k: number, d: number, covarianceType: CovarianceType): { values: number; zeros: number } {
  if (kind === 'webgmm-json') return { values: k * (1 + d + (covarianceType === 'full' ? d * d : d)), zeros: 0 };
  const offDiagonal = d * (d - 1);
  return { values: k * (2 + d + 3 * d * d), zeros: k * (covarianceType === 'diagonal' ? 3 * offDiagonal : offDiagonal / 2) };
}

/** A file's typical size: characters of text, or bytes of mlpack's binary archive (8 per value). */
export function typicalModelFileSize(kind: ModelFileKind, k: number, d: number, covarianceType: CovarianceType): number {
  const { values, zeros } = modelFileValues(kind, k, d, covarianceType);
  if (kind === 'mlpack-bin') return 8 * values;
  const zeroWidth = kind === 'webgmm-json' ? TYPICAL_NUMBER : ZERO_NUMBER[kind];
  return (values - zeros) * (FRAME_PER_VALUE[kind] + TYPICAL_NUMBER) + zeros * (FRAME_PER_VALUE[kind] + zeroWidth);
}

/**
 * Why a file of `kind` cannot hold a model of K components in D dimensions (its typical size
 * beyond what one string or byte array holds, see the module), or null. Typical, not exact: the
 * writers still check the real size.
 */
export function modelFileTooLarge(kind: ModelFileKind, k: number, d: number, covarianceType: CovarianceType): string | null {
  const { values } = modelFileValues(kind, k, d, covarianceType);
  const mlpack = kind !== 'webgmm-json';
  const what = mlpack
    ? `mlpack's format stores three ${d}×${d} matrices per component (the covariance, its Cholesky factor and its inverse${covarianceType === 'diagonal' ? ', also for diagonal covariances' : ''}): ${values.toExponential(2)} values`
    : `${values.toExponential(2)} values`;
  const diagonalInstead = covarianceType === 'diagonal' ? "; webgmm's own JSON format holds a diagonal model in K×D values" : '';
  const size = typicalModelFileSize(kind, k, d, covarianceType);
  if (kind === 'mlpack-bin') {
    if (size <= MAX_MODEL_BYTES) return null;
    return `${what}, ${mib(size)} in the binary archive, more than one file can hold here (4 GiB)${diagonalInstead}`;
  }
  if (size <= MAX_MODEL_TEXT) return null;
  const instead = mlpack
    ? diagonalInstead || (8 * values <= MAX_MODEL_BYTES ? "; mlpack's binary archive (a .bin name) holds it in 8 bytes per value" : '')
    : covarianceType === 'full'
      ? '; diagonal covariances take K×D values'
      : '';
  return `${what}, about ${mib(size)} of text, more than a model file can hold (${TEXT_LIMIT})${instead}`;
}

/** Refuses model text of more bytes than one string holds, naming the file, before decoding it. */
export function checkModelTextSize(bytes: number, name: string): void {
  if (bytes <= MAX_MODEL_TEXT) return;
  throw new InvalidModelError(`${name}: ${mib(bytes)} of text, more than a model file can hold (512 MiB: the longest JavaScript string); it cannot be read`);
}

/**
 * `build()` (a writer's text), or the error that says the model is too large for a file of `kind`:
 * first by its typical size (see modelFileTooLarge), before building anything — a text beyond V8's
 * heap is a fatal error, not an exception —, then by the real one.
 */
export function withinModelFileSize<T>(caller: string, kind: ModelFileKind, k: number, d: number, covarianceType: CovarianceType, build: () => T): T {
  const reason = modelFileTooLarge(kind, k, d, covarianceType);
  if (reason !== null) throw new WebGmmError('OUTPUT', `${caller}: ${reason}`);
  try {
    return build();
  } catch (e) {
    // "Invalid string length" (JSON.stringify, join) or "Invalid typed array length".
    if (!(e instanceof RangeError) || !/length/i.test(e.message)) throw e;
    const limit = kind === 'mlpack-bin' ? '4 GiB, the largest byte array here' : TEXT_LIMIT;
    throw new WebGmmError('OUTPUT', `${caller}: the model's file would be longer than a model file can hold (${limit})`);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
