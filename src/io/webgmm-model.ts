/**
 * webgmm's own model format: versioned JSON (browser-safe; file access is in model-files.ts).
 */
import { GaussianMixture, modelFrom, type CovarianceType, type GaussianMixtureJSON, type GaussianMixtureLike } from '../model/gaussian-mixture.js';
import { InvalidArgumentError, InvalidModelError } from '../errors.js';
import { checkModelName, modelContent, utf8Text } from './model-content.js';
import { withinModelFileSize } from './model-size.js';
import { describeValue } from '../data.js';

/** The `format` tag of webgmm's model JSON. */
export const WEBGMM_MODEL_FORMAT = 'webgmm.GaussianMixture';
/** The version this library writes; the reader accepts it and refuses later ones. */
export const WEBGMM_MODEL_VERSION = 1;

/**
 * webgmm's model file (version 1):
 * ```json
 * { "format": "webgmm.GaussianMixture", "version": 1, "covarianceType": "full",
 *   "gaussians": K, "dimensionality": D, "weights": [K], "means": [K][D],
 *   "covariances": [K][D][D] (full) | [K][D] (diagonal: variances),
 *   "training": { …optional, informative only } }
 * ```
 * Numbers are written in JavaScript's shortest round-trip form, so a model read back is
 * bit-for-bit the model written.
 */
export interface WebgmmModelFile extends Required<GaussianMixtureJSON> {
  /** Always {@link WEBGMM_MODEL_FORMAT}: tells the file from mlpack's JSON (whose first key is `model`). */
  format: typeof WEBGMM_MODEL_FORMAT;
  /** {@link WEBGMM_MODEL_VERSION} when written by this library. */
  version: number;
  /** K (informative: where a file has it, the reader checks it against the weights' count). */
  gaussians: number;
  /** D (informative: where a file has it, the reader checks it against the means' length). */
  dimensionality: number;
  /** How the model was trained (options, log-likelihood, backend, …), as the CLI writes it; informative only, never read back into the model. */
  training?: Record<string, unknown>;
}

/**
 * webgmm's model file for `model`: a {@link GaussianMixture}, or anything
 * {@link GaussianMixture.from} accepts (its plain-object form, a structuredClone of a model), which
 * is validated first. `training`, a record of how it was trained (the CLI writes its options and
 * result there), is written as the file's `training` object.
 * @throws InvalidModelError (or its subclass NotPositiveDefiniteError) for an invalid plain-object model.
 * @throws InvalidArgumentError (`training`) for a record JSON cannot write (a BigInt, a cycle).
 */
export function serializeWebgmmModel(input: GaussianMixtureLike, training?: Record<string, unknown>): string {
  const model = modelFrom(input, 'serializeWebgmmModel: ');
  checkTraining(training);
  return withinModelFileSize('serializeWebgmmModel', 'webgmm-json', model.gaussians, model.dimensionality, model.covarianceType, () => webgmmModelText(model, training));
}

/** The file's `training` record: a plain object that JSON can write (not a BigInt, not a cycle), or an InvalidArgumentError naming it. */
function checkTraining(training: unknown): void {
  if (training === undefined) return;
  if (typeof training !== 'object' || training === null || Array.isArray(training)) {
    throw new InvalidArgumentError('training', `training must be an object of JSON values, got ${describeValue(training)}`);
  }
  try {
    JSON.stringify(training);
  } catch (e) {
    throw new InvalidArgumentError('training', `training must hold JSON values only: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function webgmmModelText(model: GaussianMixture, training: Record<string, unknown> | undefined): string {
  const json = model.toJSON();
  const file: WebgmmModelFile = {
    format: WEBGMM_MODEL_FORMAT,
    version: WEBGMM_MODEL_VERSION,
    covarianceType: json.covarianceType,
    gaussians: model.gaussians,
    dimensionality: model.dimensionality,
    weights: json.weights,
    means: json.means,
    covariances: json.covariances,
    ...(training ? { training } : {}),
  };
  const negativeZero = [model.weights, model.means, model.covariances].some((a) => a.some((v) => v === 0 && Object.is(v, -0)));
  return `${negativeZero ? stringifyKeepingNegativeZero(file) : JSON.stringify(file, null, 1)}\n`;
}

/**
 * JSON.stringify(value, null, 1), but −0 written as `-0` (JSON.stringify writes `0`; JSON.parse
 * reads `-0` back as −0): a mean or covariance entry of −0 then round-trips as the mlpack formats
 * keep it. Each −0 is first written as a marker string that the rest of the text does not contain.
 * (Only called for a model that holds a −0: it stringifies twice.)
 */
function stringifyKeepingNegativeZero(value: unknown): string {
  const plain = JSON.stringify(value, null, 1);
  let marker = 'webgmm:-0';
  while (plain.includes(marker)) marker += '~';
  const text = JSON.stringify(value, (_key, v: unknown) => (v === 0 && Object.is(v, -0) ? marker : v), 1);
  return text.split(JSON.stringify(marker)).join('-0');
}

/**
 * Reads webgmm's model file ({@link WebgmmModelFile}) from its text or UTF-8 bytes. `name` (the
 * file's name) only prefixes messages. The model is validated as the {@link GaussianMixture}
 * constructor validates it; `training` is ignored.
 * @throws InvalidModelError (or NotPositiveDefiniteError) naming `name` and what is wrong.
 */
export function parseWebgmmModel(content: string | Uint8Array | ArrayBuffer, name: string): GaussianMixture {
  const bytesOrText = modelContent(content, 'parseWebgmmModel');
  checkModelName(name, 'parseWebgmmModel');
  const text = utf8Text(bytesOrText, name);
  if (text === null) throw new InvalidModelError(`${name}: the file is not valid UTF-8 text`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InvalidModelError(`${name}: ${jsonSyntaxError(text, e instanceof Error ? e.message : String(e))}`);
  }
  // JSON.parse keeps the last of two equal keys: a hand-edited file with a stale line left in
  // would be read as whichever came last (mlpack's readers refuse such a file too).
  const duplicate = firstDuplicateKey(text);
  if (duplicate) throw new InvalidModelError(`${name}: line ${duplicate.line}: the key "${duplicate.key}" occurs twice in one object; remove one`);
  return webgmmModelFromObject(parsed, name);
}

/** The first key repeated within one object of valid JSON text, and its line; null when none is. */
function firstDuplicateKey(text: string): { key: string; line: number } | null {
  const objects: (Set<string> | null)[] = []; // null: an array
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x0a) line++;
    else if (ch === 0x7b) objects.push(new Set());
    else if (ch === 0x5b) objects.push(null);
    else if (ch === 0x7d || ch === 0x5d) objects.pop();
    else if (ch === 0x22) {
      // A string (valid JSON: no raw line breaks inside, escapes are backslash + one character or uXXXX).
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const start = i;
      i = j;
      let k = j + 1;
      while (k < text.length && (text[k] === ' ' || text[k] === '\t' || text[k] === '\r' || text[k] === '\n')) k++;
      const keys = objects.at(-1);
      if (text[k] !== ':' || !keys) continue;
      const key = JSON.parse(text.slice(start, j + 1)) as string;
      if (keys.has(key)) return { key, line };
      keys.add(key);
    }
  }
  return null;
}

/**
 * Where JSON.parse meets an unexpected token in a short text: the shortest prefix it rejects for a
 * token rather than for ending early (the token's character may also occur before, in a key).
 */
function firstUnexpected(text: string): number {
  for (let end = 1; end <= text.length; end++) {
    try {
      JSON.parse(text.slice(0, end));
    } catch (e) {
      if (e instanceof Error && /^Unexpected token/.test(e.message)) return end - 1;
    }
  }
  return -1;
}

/**
 * JSON.parse's complaint as one line that says where: V8 gives a character position, or quotes
 * the source around the error — several lines of a pretty-printed model — without one.
 */
function jsonSyntaxError(text: string, message: string): string {
  let position = -1;
  let reason = message;
  const at = /^(.*?) (in|after) JSON at position (\d+)/s.exec(message);
  const token = /^(Unexpected token '(.)'), (\.\.\.)?"(.*?)"(?:\.\.\.)? is not valid JSON$/s.exec(message);
  if (at) {
    reason = at[2] === 'after' ? `${at[1]!} after the JSON` : at[1]!;
    position = Number(at[3]);
  } else if (token) {
    // The quote is "…" and the 10 characters before the token onwards, or the whole (short) text.
    reason = token[1]!;
    const start = text.indexOf(token[4]!);
    position = token[3] ? (start >= 0 ? start + 10 : -1) : firstUnexpected(text);
  } else if (/^Unexpected end of JSON input/.test(message)) {
    reason = 'the text ends before the JSON does (truncated?)';
    position = text.length;
  }
  // V8 points at the N or I, or past a minus sign.
  const nonFinite = (from: number): boolean => from >= 0 && /^-?(?:Infinity|NaN)\b/.test(text.slice(from));
  if (nonFinite(position) || nonFinite(position - 1)) {
    reason += ' (NaN and Infinity are not JSON numbers)';
  }
  reason = (reason.charAt(0).toLowerCase() + reason.slice(1)).replace(/\s+/g, ' ');
  if (position < 0 || position > text.length) return `not valid JSON: ${reason}`;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: not valid JSON: ${reason}`;
}

function webgmmModelFromObject(parsed: unknown, name: string): GaussianMixture {
  const o = parsed as Partial<WebgmmModelFile> | null;
  if (typeof o !== 'object' || o === null || o.format !== WEBGMM_MODEL_FORMAT) {
    throw new InvalidModelError(`${name}: not a webgmm model (no "format": "${WEBGMM_MODEL_FORMAT}"), nor an mlpack one (its JSON archives begin with the key "model")`);
  }
  if (typeof o.version !== 'number' || o.version > WEBGMM_MODEL_VERSION || o.version < 1) {
    throw new InvalidModelError(`${name}: unsupported webgmm model version ${JSON.stringify(o.version) ?? 'missing'} (this webgmm reads version ${WEBGMM_MODEL_VERSION}, a number)`);
  }
  const model = modelFrom(
    {
      ...(o.covarianceType !== undefined ? { covarianceType: o.covarianceType as CovarianceType } : {}),
      weights: o.weights as number[],
      means: o.means as number[][],
      covariances: o.covariances as number[][][],
    },
    `${name}: `,
  );
  // Informative counts: when present, numbers that agree with the parameters.
  for (const [key, value, actual, what] of [
    ['gaussians', o.gaussians as unknown, model.gaussians, `the file holds ${model.gaussians} components`],
    ['dimensionality', o.dimensionality as unknown, model.dimensionality, `the means have ${model.dimensionality}`],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new InvalidModelError(`${name}: "${key}" must be a number (${what}), got ${describeValue(value)}`);
    if (value !== actual) throw new InvalidModelError(`${name}: "${key}" is ${value} but ${what}`);
  }
  return model;
}

