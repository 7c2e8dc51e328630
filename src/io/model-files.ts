/**
 * Model files (Node): webgmm's own versioned JSON, and mlpack's cereal archives (JSON, XML, binary) so
 * that models move both ways between webgmm and mlpack's `gmm_train` / `gmm_probability` /
 * `gmm_generate`. The format is chosen by extension; a `.json` file is recognised on read by its
 * top-level key (`"model"`: mlpack; `"format": "webgmm.GaussianMixture"`: webgmm).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { GaussianMixture, GaussianMixtureLike } from '../model/gaussian-mixture.js';
import { InvalidArgumentError, InvalidModelError, WebGmmError } from '../errors.js';
import { parseWebgmmModel, serializeWebgmmModel } from './webgmm-model.js';
import { parseMlpackModel, serializeMlpackModel, type MlpackFormat } from './mlpack-model.js';
import { writeFileAtomic, errnoReason } from './atomic.js';
import { describeNonText } from './delimited.js';
import { checkPathArgument } from './data-files.js';
import { checkModelName, modelContent } from './model-content.js';
import { checkModelTextSize, type ModelFileKind } from './model-size.js';

export type { ModelFileKind } from './model-size.js';

/** Which family of files a model is written as. */
export type ModelFormat = 'webgmm' | 'mlpack';
/** Every {@link ModelFormat}, for option parsing and menus. */
export const MODEL_FORMATS: readonly ModelFormat[] = ['webgmm', 'mlpack'];

/** What a model file held, and what a reader should be told about it (e.g. stale mlpack factors). */
export interface ModelFileContents {
  /** The model, validated. */
  model: GaussianMixture;
  /** Which format the file was in (decided by its extension and, for `.json`, its first key). */
  kind: ModelFileKind;
  /** Remarks for the user, e.g. that an mlpack file's stored Cholesky factors disagreed with its covariances and were recomputed; empty when there are none. */
  notes: string[];
}

/** Parses model file content (bytes, or text) of either family; `name` (the file name) picks the format by extension. */
export function parseModelFile(content: Uint8Array | ArrayBuffer | string, name: string): ModelFileContents {
  // The name picks the format (by its extension) and names the model in errors.
  checkModelName(name, 'parseModelFile', "the file's name (a non-empty string: its extension picks the format)");
  // Text (a JSON or XML model already read as a string) is taken as its UTF-8 bytes.
  content = modelContent(content, 'parseModelFile');
  if (typeof content === 'string') content = new TextEncoder().encode(content);
  const notes: string[] = [];
  const note = (n: string): void => void notes.push(n);
  const ext = extname(name).toLowerCase();
  const lead = new TextDecoder('latin1').decode(content.subarray(0, 256));
  // A .bin is a model to -m and a data matrix to -o: the likely mix-up gets named.
  if (lead.startsWith('ARMA_MAT_')) {
    throw new InvalidModelError(`${name}: an Armadillo data matrix (what probability and generate write to a .bin output), not a model`);
  }
  // mlpack 3 saved models with boost::serialization: its archives name themselves near the start.
  if (/boost_serialization|serialization::archive/.test(lead)) {
    throw new InvalidModelError(
      `${name}: an mlpack 3 model (a boost::serialization archive); webgmm reads mlpack 4's (cereal) archives and its own JSON — load and save it again with mlpack 4's gmm_train (-m … -M …), or retrain`,
    );
  }
  if (ext === '.bin') {
    // A compressed or text model under a .bin name would be read as binary fields ("gaussians =
    // 3345333398536833911 is implausibly large"): say what it looks like instead.
    const compressed = describeNonText(content, false);
    if (compressed !== undefined) throw new InvalidModelError(`${name}: ${compressed}`);
    const text = /^(?:\xef\xbb\xbf)?\s*([{<])/.exec(lead);
    if (text && !content.subarray(0, 256).includes(0)) {
      const kind = text[1] === '{' ? 'a JSON model (text)' : 'an XML model (text)';
      throw new InvalidModelError(`${name}: looks like ${kind}, not mlpack's binary archive; give it a ${text[1] === '{' ? '.json' : '.xml'} name`);
    }
    return { model: parseMlpackModel(content, 'bin', name, note), kind: 'mlpack-bin', notes };
  }
  // UTF-16, compressed or binary content: say what it looks like instead of echoing its bytes.
  const notText = ext === '.json' || ext === '.xml' ? describeNonText(content) : undefined;
  if (notText !== undefined) throw new InvalidModelError(`${name}: ${notText}`);
  checkModelTextSize(content.length, name);
  const text = new TextDecoder('utf-8').decode(content);
  if (ext === '.xml') return { model: parseMlpackModel(text, 'xml', name, note), kind: 'mlpack-xml', notes };
  if (ext === '.json') {
    // The first key decides: mlpack's archives start with "model", webgmm's with "format".
    const firstKey = /^\s*\{\s*"([^"]*)"/.exec(text)?.[1];
    if (firstKey === 'model') return { model: parseMlpackModel(text, 'json', name, note), kind: 'mlpack-json', notes };
    if (text.trim() === '') throw new InvalidModelError(`${name}: the file is empty`);
    return { model: parseWebgmmModel(text, name), kind: 'webgmm-json', notes };
  }
  throw new InvalidModelError(`${name}: unknown model file extension "${ext}" (use .json, .xml or .bin)`);
}

/** Reads a model file (webgmm JSON, or mlpack JSON / XML / binary). */
export async function readModelFile(path: string): Promise<ModelFileContents> {
  checkPathArgument('readModelFile', path);
  let content: Uint8Array;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new InvalidModelError(`${path}: is a directory, not a model file`);
    content = await readFile(path);
  } catch (e) {
    if (e instanceof WebGmmError) throw e;
    throw new InvalidModelError(`${path}: ${errnoReason(e)}`);
  }
  if (content.length === 0) throw new InvalidModelError(`${path}: the file is empty`);
  return parseModelFile(content, path);
}

/**
 * The kind of file `writeModelFile(path, …, format)` writes: by the extension, `.json` being
 * webgmm's unless `format` is `'mlpack'`; null for another extension.
 */
function modelFileKindOf(path: string, format: ModelFormat | undefined): ModelFileKind | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return format === 'mlpack' ? 'mlpack-json' : 'webgmm-json';
  return ext === '.xml' ? 'mlpack-xml' : ext === '.bin' ? 'mlpack-bin' : null;
}

/**
 * The kind of file writeModelFile writes at `path`, or the OUTPUT error it gives for that name
 * (`mlpackFormat`: how the caller asks for format 'mlpack', for the message).
 */
export function modelOutputKind(path: string, format: ModelFormat | undefined, mlpackFormat = "format 'mlpack'"): ModelFileKind {
  const ext = extname(path).toLowerCase();
  const kind = modelFileKindOf(path, format);
  if (kind === null) throw new WebGmmError('OUTPUT', `${path}: unknown model file extension "${ext}" (use .json, .xml or .bin)`);
  if (kind !== 'webgmm-json' && kind !== 'mlpack-json' && format === 'webgmm') {
    throw new WebGmmError('OUTPUT', `${path}: webgmm models are JSON files; use a .json name, or ${mlpackFormat} for mlpack's ${ext} archive`);
  }
  return kind;
}

/**
 * Writes `model` atomically. `.xml` and `.bin` are mlpack archives; `.json` is webgmm's format
 * unless `format` is `'mlpack'`. `training` goes into webgmm's format only (mlpack's archives have
 * no place for it; see serializeWebgmmModel).
 */
export async function writeModelFile(
  path: string,
  model: GaussianMixtureLike,
  format?: ModelFormat,
  training?: Record<string, unknown>,
): Promise<void> {
  checkPathArgument('writeModelFile', path);
  if (format !== undefined && format !== 'webgmm' && format !== 'mlpack') {
    throw new InvalidArgumentError('format', `model format must be 'webgmm' or 'mlpack', got ${typeof format === 'string' ? JSON.stringify(format) : String(format)}`);
  }
  const kind = modelOutputKind(path, format);
  const content = kind === 'webgmm-json' ? serializeWebgmmModel(model, training) : serializeMlpackModel(model, kind.slice('mlpack-'.length) as MlpackFormat);
  await writeFileAtomic(path, [content]);
}
