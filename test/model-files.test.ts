// webgmm's model JSON and the extension-driven model file dispatch.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GaussianMixture, parseWebgmmModel, parseMlpackModel, serializeWebgmmModel, InvalidArgumentError, InvalidModelError, NotPositiveDefiniteError, WebGmmError } from '../src/index.js';
import { parseModelFile, readModelFile, writeModelFile } from '../src/node.js';
import { Rng } from '../src/util/rng.js';
import { MAX_MODEL_TEXT, typicalModelFileSize, withinModelFileSize } from '../src/io/model-size.js';
import { serializeMlpackModel } from '../src/io/mlpack-model.js';
import { FIXTURES, thrown } from './helpers.js';

function randomModel(k: number, d: number, diagonal: boolean, seed: number): GaussianMixture {
  const rng = new Rng(seed);
  const w = Array.from({ length: k }, () => 0.1 + rng.nextFloat());
  const total = w.reduce((a, b) => a + b);
  const means = Array.from({ length: k }, () => Array.from({ length: d }, () => 10 * rng.nextNormal()));
  const covariances = Array.from({ length: k }, () => {
    if (diagonal) return Array.from({ length: d }, () => 0.1 + rng.nextFloat());
    const a = Array.from({ length: d }, () => Array.from({ length: d }, () => rng.nextNormal()));
    return a.map((_, i) => a.map((_, j) => a[i]!.reduce((s, _, m) => s + a[i]![m]! * a[j]![m]!, 0) + (i === j ? d : 0)));
  });
  return new GaussianMixture({ weights: w.map((x) => x / total), means, covariances: covariances as number[][][] });
}

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'webgmm-models-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webgmm model JSON', () => {
  it('refuses a key given twice in one object (JSON.parse would keep the last), naming it and its line', () => {
    const text = '{"format":"webgmm.GaussianMixture","version":1,"covarianceType":"full",\n"weights":[0.5,0.5],\n"means":[[0],[10]],"covariances":[[[1]],[[1]]],\n"w\\u0065ights":[0.9,0.1]}';
    thrown(() => parseWebgmmModel(text, 'dup.json'), InvalidModelError, /^dup\.json: line 4: the key "weights" occurs twice in one object; remove one$/);
    const nested = '{"format":"webgmm.GaussianMixture","version":1,"weights":[1],"means":[[0]],"covariances":[[[1]]],\n"training":{"seed":1,\n "seed":2}}';
    thrown(() => parseWebgmmModel(nested, 'n.json'), InvalidModelError, /^n\.json: line 3: the key "seed" occurs twice/);
    // The same key in different objects, and key-like text inside strings, are fine.
    const fine = '{"format":"webgmm.GaussianMixture","version":1,"weights":[1],"means":[[0]],"covariances":[[[1]]],"training":{"weights":"\\"weights\\": 1","x":{"weights":2}}}';
    expect(parseWebgmmModel(fine, 'f.json').gaussians).toBe(1);
  });

  it('refuses a training record JSON cannot write, naming it (a BigInt or a cycle threw a TypeError)', async () => {
    const m = randomModel(2, 2, false, 1);
    const cyclic: Record<string, unknown> = { note: 'x' };
    cyclic.self = cyclic;
    for (const [training, message] of [
      [{ n: 1n }, /^training must hold JSON values only: .*BigInt/],
      [cyclic, /^training must hold JSON values only: .*circular/],
      ['seed 1', /^training must be an object of JSON values, got "seed 1"/],
    ] as const) {
      expect(() => serializeWebgmmModel(m, training as never)).toThrow(InvalidArgumentError);
      expect(() => serializeWebgmmModel(m, training as never)).toThrow(message);
    }
    const dir = await mkdtemp(join(tmpdir(), 'webgmm-training-'));
    try {
      await expect(writeModelFile(join(dir, 'm.json'), m, undefined, cyclic)).rejects.toMatchObject({ parameter: 'training' });
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([false, true])('round-trips every parameter bit for bit (diagonal=%s)', (diagonal) => {
    const m = randomModel(4, 5, diagonal, diagonal ? 2 : 1);
    const text = serializeWebgmmModel(m, { note: 'x' });
    const parsed = JSON.parse(text);
    expect(parsed.format).toBe('webgmm.GaussianMixture');
    expect(parsed.version).toBe(1);
    expect(parsed.covarianceType).toBe(diagonal ? 'diagonal' : 'full');
    expect(parsed.training).toEqual({ note: 'x' });
    const back = parseWebgmmModel(text, 'm.json');
    expect(back.covarianceType).toBe(m.covarianceType);
    expect(Array.from(back.weights)).toEqual(Array.from(m.weights));
    expect(Array.from(back.means)).toEqual(Array.from(m.means));
    expect(Array.from(back.covariances)).toEqual(Array.from(m.covariances));
  });

  it('the parsers take a model\'s bytes as a browser holds them (Uint8Array, ArrayBuffer) and refuse anything else by name', () => {
    const m = randomModel(3, 2, false, 3);
    const text = serializeWebgmmModel(m);
    const bytes = new TextEncoder().encode(text);
    for (const content of [bytes, bytes.buffer]) {
      expect(Array.from(parseWebgmmModel(content, 'm.json').covariances)).toEqual(Array.from(m.covariances));
      expect(Array.from(parseModelFile(content, 'm.json').model.means)).toEqual(Array.from(m.means));
    }
    // What `await file.arrayBuffer()` gives for an mlpack binary model.
    const bin = readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.bin'));
    const arrayBuffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
    expect(parseMlpackModel(arrayBuffer, 'bin', 'm.bin').gaussians).toBe(3);
    // Before: TypeErrors from inside (before.split, text.indexOf), or "must be a Uint8Array, not a string" for an ArrayBuffer.
    for (const bad of [null, 42, new Float64Array(2), { text }]) {
      thrown(() => parseWebgmmModel(bad as never, 'm.json'), InvalidArgumentError, /^parseWebgmmModel needs the file's text \(a string\) or its bytes \(a Uint8Array, Buffer or ArrayBuffer\), got /);
      thrown(() => parseMlpackModel(bad as never, 'bin', 'm.bin'), InvalidArgumentError, /^parseMlpackModel needs the file's text/);
      thrown(() => parseModelFile(bad as never, 'm.json'), InvalidArgumentError, /^parseModelFile needs the file's text/);
    }
    thrown(() => parseWebgmmModel(new Uint8Array([0x7b, 0xff, 0x7d]), 'm.json'), InvalidModelError, /^m\.json: the file is not valid UTF-8 text$/);
    // The name errors call the model by: messages read "undefined: line 1 …" without it.
    for (const name of [undefined, '', 7]) {
      thrown(() => parseWebgmmModel('{', name as never), InvalidArgumentError, /^parseWebgmmModel needs the model's name for its messages \(a non-empty string, e\.g\. the file's name\), got /);
      thrown(() => parseMlpackModel('{', 'json', name as never), InvalidArgumentError, /^parseMlpackModel needs the model's name/);
      thrown(() => parseModelFile('{', name as never), InvalidArgumentError, /^parseModelFile needs the file's name \(a non-empty string: its extension picks the format\), got /);
    }
  });

  it('keeps −0 (JSON.stringify writes 0) and training strings that look like its marker', () => {
    const m = new GaussianMixture({ weights: [0.5, 0.5], means: [[-0, 1], [2, -0]], covariances: [[1, 2], [3, 4]] });
    const training = { note: 'webgmm:-0', other: '"webgmm:-0~"' };
    const text = serializeWebgmmModel(m, training);
    const back = parseWebgmmModel(text, 'm.json');
    expect(Array.from(back.means, (v) => Object.is(v, -0))).toEqual([true, false, false, true]);
    expect(JSON.parse(text).training).toEqual(training);
  });

  it.each([
    ['not JSON', '{"format": ', /^m\.json: line 1, column 12: not valid JSON: the text ends before the JSON does \(truncated\?\)$/],
    // V8 quotes several lines of a pretty-printed file around such a token, and gives no position.
    ['NaN in a pretty-printed model', '{\n "weights": [\n  1\n ],\n "means": [\n  [\n   NaN\n  ]\n ]\n}', /^m\.json: line 7, column 4: not valid JSON: unexpected token 'N' \(NaN and Infinity are not JSON numbers\)$/],
    ['a stray comma', '{"weights": [1,]}', /^m\.json: line 1, column 16: not valid JSON: unexpected token '\]'$/],
    // The token's character also occurs earlier, in a key (V8 quotes a short text whole).
    ['NaN after a key holding an N', '{"Note": NaN}', /^m\.json: line 1, column 10: not valid JSON: unexpected token 'N' \(NaN and Infinity are not JSON numbers\)$/],
    ['text after the JSON', '{"weights": [1]}\nmore', /^m\.json: line 2, column 1: not valid JSON: unexpected non-whitespace character after the JSON$/],
    ['another format', '{"model": {}}', /m\.json: not a webgmm model/],
    ['a future version', '{"format": "webgmm.GaussianMixture", "version": 2, "weights": [1], "means": [[0]], "covariances": [[[1]]]}', /unsupported webgmm model version 2/],
    ['a version as a string', '{"format": "webgmm.GaussianMixture", "version": "1", "weights": [1], "means": [[0]], "covariances": [[[1]]]}', /unsupported webgmm model version "1" \(this webgmm reads version 1, a number\)/],
    ['inconsistent counts', '{"format": "webgmm.GaussianMixture", "version": 1, "gaussians": 2, "weights": [1], "means": [[0]], "covariances": [[[1]]]}', /"gaussians" is 2 but the file holds 1/],
    ['bad parameters', '{"format": "webgmm.GaussianMixture", "version": 1, "weights": [1], "means": [[0, 1]], "covariances": [[[1, 2], [2, 1]]]}', /m\.json: covariance of component 0 is not positive definite/],
    ['a count as a string', '{"format": "webgmm.GaussianMixture", "version": 1, "gaussians": "1", "weights": [1], "means": [[0]], "covariances": [[[1]]]}', /^m\.json: "gaussians" must be a number \(the file holds 1 components\), got "1"$/],
    ['a dimensionality as a string', '{"format": "webgmm.GaussianMixture", "version": 1, "dimensionality": "1", "weights": [1], "means": [[0]], "covariances": [[[1]]]}', /^m\.json: "dimensionality" must be a number \(the means have 1\), got "1"$/],
    ['a wrong dimensionality', '{"format": "webgmm.GaussianMixture", "version": 1, "dimensionality": 2, "weights": [1], "means": [[0]], "covariances": [[[1]]]}', /^m\.json: "dimensionality" is 2 but the means have 1$/],
  ])('rejects %s', (_name, text, message) => {
    expect(() => parseWebgmmModel(text, 'm.json')).toThrow(InvalidModelError);
    expect(() => parseWebgmmModel(text, 'm.json')).toThrow(message);
  });

  it('notes an mlpack model whose stored factors no longer match its covariance (mlpack would use the factors)', async () => {
    const { parseModelFile } = await import('../src/node.js');
    const xml = readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.xml'), 'utf8');
    expect(parseModelFile(new TextEncoder().encode(xml), 'as-saved.xml').notes).toEqual([]);
    // Component 1's first variance doubled by hand; its covLower, invCov and logDetCov left as saved.
    const edited = xml.replace('<elem>0.9960038887955931</elem>', '<elem>1.9920077775911862</elem>');
    expect(edited).not.toBe(xml);
    const { model, notes } = parseModelFile(new TextEncoder().encode(edited), 'edited.xml');
    expect(model.covariances[4]).toBe(1.9920077775911862);
    expect(notes).toEqual([
      'edited.xml: the stored covLower / invCov / logDetCov of component 1 do not match its covariance (edited by hand?): webgmm uses the covariances, mlpack the stored factors, so the two give different densities for this file',
    ]);
    // What webgmm writes is consistent, to the last bits mlpack would compute (D = 40 here).
    const rng = new Rng(4);
    const d = 40;
    const a = Array.from({ length: d }, () => Array.from({ length: d }, () => rng.nextNormal()));
    const cov = a.map((r, i) => a.map((s, j) => r.reduce((t, x, m) => t + x * s[m]!, 0) + (i === j ? d : 0)));
    const big = new GaussianMixture({ weights: [1], means: [Array(d).fill(0.5)], covariances: [cov] });
    for (const ext of ['xml', 'json', 'bin'] as const) {
      const p = join(dir, `consistent.${ext}`);
      await writeModelFile(p, big, 'mlpack');
      expect((await readModelFile(p)).notes, ext).toEqual([]);
    }
  });

  it('an Armadillo data matrix given as a model says what it is', async () => {
    const { parseModelFile } = await import('../src/node.js');
    const bin = new Uint8Array([...new TextEncoder().encode('ARMA_MAT_BIN_FN008\n1 1\n'), ...new Uint8Array(8)]);
    expect(() => parseModelFile(bin, 'samples.bin')).toThrow(/^samples\.bin: an Armadillo data matrix \(what probability and generate write to a \.bin output\), not a model$/);
  });

  it('names an mlpack 3 (boost::serialization) model instead of failing inside it', async () => {
    const { parseModelFile } = await import('../src/node.js');
    const enc = (t: string) => new TextEncoder().encode(t);
    const xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>\n<!DOCTYPE boost_serialization>\n<boost_serialization signature="serialization::archive" version="17">\n';
    const text = '22 serialization::archive 17 0 0 2 3 0 0 0 0 2 1';
    const binary = Uint8Array.from([0x16, 0, 0, 0, 0, 0, 0, 0, ...enc('serialization::archive'), 17, 0, 4, 8, 4, 8, 1]);
    for (const [name, content] of [['old.xml', enc(xml)], ['old.txt.bin', enc(text)], ['old.bin', binary]] as const) {
      expect(() => parseModelFile(content, name), name).toThrow(InvalidModelError);
      expect(() => parseModelFile(content, name), name).toThrow(new RegExp(`^${name.replace(/\./g, '\\.')}: an mlpack 3 model \\(a boost::serialization archive\\); webgmm reads mlpack 4's`));
    }
  });

  it('reports a covariance that is not positive definite as NotPositiveDefiniteError, naming the component and the file', () => {
    const text = '{"format": "webgmm.GaussianMixture", "version": 1, "weights": [0.5, 0.5], "means": [[0, 1], [2, 2]], "covariances": [[[1, 0], [0, 1]], [[1, 2], [2, 1]]]}';
    const err = thrown(() => parseWebgmmModel(text, 'm.json'), NotPositiveDefiniteError);
    expect(err.component).toBe(1);
    expect(err.message).toBe('m.json: covariance of component 1 is not positive definite');
  });

  it('serializes the plain-object form and a structuredClone of a model as the model itself', () => {
    const m = randomModel(3, 2, false, 3);
    const expected = serializeWebgmmModel(m, { note: 'x' });
    expect(serializeWebgmmModel(m.toJSON(), { note: 'x' })).toBe(expected);
    expect(serializeWebgmmModel(structuredClone(m), { note: 'x' })).toBe(expected);
  });

  it('rejects an invalid plain object with InvalidModelError, not a TypeError', () => {
    for (const bad of [null, {}, { weights: [1], means: [[0]] }]) {
      expect(() => serializeWebgmmModel(bad as never)).toThrow(InvalidModelError);
      expect(() => serializeWebgmmModel(bad as never)).toThrow(/^serializeWebgmmModel: model/);
    }
    const npd = { weights: [1], means: [[0, 0]], covariances: [[[1, 2], [2, 1]]] };
    expect(() => serializeWebgmmModel(npd)).toThrow(NotPositiveDefiniteError);
    expect(() => serializeWebgmmModel(npd)).toThrow(/^serializeWebgmmModel: covariance of component 0 is not positive definite$/);
  });
});

describe('model files too large for their format', () => {
  it('the typical size a file is judged by is within 20% of what the writers write', () => {
    // Fitted values (17–19 significant characters), a full and a diagonal model; mlpack's
    // matrices are D×D whatever the covariance type, mostly zeros for a diagonal model.
    for (const [k, d, diagonal] of [[2, 40, false], [3, 60, true]] as const) {
      const m = randomModel(k, d, diagonal, 11);
      const type = diagonal ? 'diagonal' : 'full';
      const actual = {
        'webgmm-json': serializeWebgmmModel(m).length,
        'mlpack-json': serializeMlpackModel(m, 'json').length,
        'mlpack-xml': serializeMlpackModel(m, 'xml').length,
        'mlpack-bin': serializeMlpackModel(m, 'bin').length,
      };
      for (const [kind, size] of Object.entries(actual)) {
        const typical = typicalModelFileSize(kind as keyof typeof actual, k, d, type);
        expect({ kind, type, ratio: Math.abs(typical / size - 1) < 0.2 }).toEqual({ kind, type, ratio: true });
      }
    }
  });

  it('a writer refuses a model beyond its format before building the text, and turns a string too long into the same error', () => {
    // 3000 dimensions, diagonal: mlpack's JSON would take 2.7e7 values (~850 MiB of text). Before,
    // the text was built: "Invalid string length", or V8 aborting the process out of memory.
    const wide = new GaussianMixture({ covarianceType: 'diagonal', weights: [1], means: [new Array(3000).fill(0)], covariances: [new Array(3000).fill(1)] });
    for (const format of ['json', 'xml'] as const) {
      expect(thrown(() => serializeMlpackModel(wide, format), WebGmmError, /^serializeMlpackModel: mlpack's format stores three 3000×3000 matrices per component .*512 MiB of text.*webgmm's own JSON format holds a diagonal model/).code).toBe('OUTPUT');
    }
    expect(serializeWebgmmModel(wide).length).toBeLessThan(200_000);
    // What the typical size lets through but the real text exceeds.
    const e = thrown(() => withinModelFileSize('serializeWebgmmModel', 'webgmm-json', 1, 2, 'full', () => { throw new RangeError('Invalid string length'); }), WebGmmError, /^serializeWebgmmModel: the model's file would be longer than a model file can hold \(512 MiB of text/);
    expect(e.code).toBe('OUTPUT');
  });

  it('a reader refuses more bytes of text than one string holds, naming the file (it failed inside TextDecoder, or as "not valid UTF-8")', () => {
    const bytes = new Uint8Array(MAX_MODEL_TEXT + 1).fill(0x20);
    thrown(() => parseModelFile(bytes, 'big.json'), InvalidModelError, /^big\.json: 512 MiB of text, more than a model file can hold \(512 MiB: the longest JavaScript string\); it cannot be read$/);
    thrown(() => parseWebgmmModel(bytes, 'big.json'), InvalidModelError, /^big\.json: 512 MiB of text, more than a model file can hold/);
    thrown(() => parseMlpackModel(bytes, 'xml', 'big.xml'), InvalidModelError, /^big\.xml: 512 MiB of text, more than a model file can hold/);
  });
});

describe('model files by extension', () => {
  const m = randomModel(3, 2, false, 7);

  it('refuses a format other than webgmm or mlpack, writing nothing (a typo wrote webgmm JSON)', async () => {
    const path = join(dir, 'typo.json');
    await expect(writeModelFile(path, m, 'mlpak' as never)).rejects.toMatchObject({ parameter: 'format' });
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
  });

  it('parseModelFile takes text as its UTF-8 bytes, and refuses anything else with a typed error', () => {
    const text = serializeWebgmmModel(m);
    const fromText = parseModelFile(text, 'm.json');
    const fromBytes = parseModelFile(new TextEncoder().encode(text), 'm.json');
    expect(fromText.kind).toBe('webgmm-json');
    expect(Array.from(fromText.model.covariances)).toEqual(Array.from(fromBytes.model.covariances));
    expect(Array.from(fromText.model.means)).toEqual(Array.from(m.means));
    for (const bad of [null, undefined, 5, [1, 2]]) {
      expect(() => parseModelFile(bad as never, 'm.json')).toThrow(expect.objectContaining({ parameter: 'content' }));
    }
  });

  it('a path or name that is not a non-empty string is an InvalidArgumentError, not a TypeError from fs', async () => {
    await expect(writeModelFile(123 as never, m)).rejects.toMatchObject({ parameter: 'path', message: 'writeModelFile needs a file name (a non-empty string), got 123' });
    await expect(readModelFile(undefined as never)).rejects.toMatchObject({ parameter: 'path', message: 'readModelFile needs a file name (a non-empty string), got undefined' });
    expect(() => (parseModelFile as (c: string) => unknown)(serializeWebgmmModel(m))).toThrow(expect.objectContaining({ parameter: 'name' }));
  });

  it("an mlpack archive's extension with format 'webgmm' names the library's option, not the CLI flag", async () => {
    await expect(writeModelFile(join(dir, 'w.xml'), m, 'webgmm')).rejects.toThrow(/w\.xml: webgmm models are JSON files; use a \.json name, or format 'mlpack' for mlpack's \.xml archive$/);
  });

  it.each([
    ['a.json', undefined, 'webgmm-json'],
    ['b.json', 'mlpack', 'mlpack-json'],
    ['c.xml', undefined, 'mlpack-xml'],
    ['d.bin', undefined, 'mlpack-bin'],
    ['e.json', 'webgmm', 'webgmm-json'],
  ] as const)('%s (format %s) is written and read back as %s with identical parameters', async (name, format, kind) => {
    const path = join(dir, name);
    await writeModelFile(path, m, format);
    const back = await readModelFile(path);
    expect(back.kind).toBe(kind);
    expect(Array.from(back.model.means)).toEqual(Array.from(m.means));
    expect(Array.from(back.model.covariances)).toEqual(Array.from(m.covariances));
    expect(Array.from(back.model.weights)).toEqual(Array.from(m.weights));
  });

  it.each([
    ['p.json', undefined, 'webgmm-json'],
    ['q.json', 'mlpack', 'mlpack-json'],
    ['r.xml', undefined, 'mlpack-xml'],
  ] as const)('%s (format %s): a plain-object model is written as the model would be', async (name, format, kind) => {
    const path = join(dir, name);
    await writeModelFile(path, m.toJSON() as never, format);
    const back = await readModelFile(path);
    expect(back.kind).toBe(kind);
    expect(Array.from(back.model.covariances)).toEqual(Array.from(m.covariances));
    await expect(writeModelFile(path, { weights: [1] } as never, format)).rejects.toThrow(InvalidModelError);
  });

  it('webgmm ↔ mlpack: an mlpack fixture rewritten as webgmm JSON and back is unchanged', async () => {
    const { model } = await readModelFile(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.json'));
    await writeModelFile(join(dir, 'w.json'), model);
    const viaWebgmm = (await readModelFile(join(dir, 'w.json'))).model;
    await writeModelFile(join(dir, 'again.json'), viaWebgmm, 'mlpack');
    expect(readFileSync(join(dir, 'again.json'), 'utf8')).toBe(readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.json'), 'utf8'));
  });

  it('a UTF-16 or compressed .json / .xml model: says what it looks like (its bytes, NULs included, were echoed)', async () => {
    const text = readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.json'), 'utf8');
    const utf16 = join(dir, 'utf16.json');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    await expect(readModelFile(utf16)).rejects.toThrow(/utf16\.json: looks like UTF-16 text \(little-endian, byte-order mark FF FE\); save or convert it as UTF-8$/);
    const gz = join(dir, 'model.xml');
    writeFileSync(gz, gzipSync(readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.xml'))));
    await expect(readModelFile(gz)).rejects.toThrow(InvalidModelError);
    await expect(readModelFile(gz)).rejects.toThrow(/model\.xml: looks like gzip-compressed data; decompress it first$/);
  });

  it('a compressed or text model under a .bin name: says what it looks like, not "gaussians = 3345333398536833911"', async () => {
    const bin = readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.bin'));
    const gz = join(dir, 'gz.bin');
    writeFileSync(gz, gzipSync(bin));
    await expect(readModelFile(gz)).rejects.toThrow(/^.*gz\.bin: looks like gzip-compressed data; decompress it first$/);
    const json = join(dir, 'json.bin');
    writeFileSync(json, readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.json')));
    await expect(readModelFile(json)).rejects.toThrow(/json\.bin: looks like a JSON model \(text\), not mlpack's binary archive; give it a \.json name$/);
    const xml = join(dir, 'xml.bin');
    writeFileSync(xml, readFileSync(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.xml')));
    await expect(readModelFile(xml)).rejects.toThrow(/xml\.bin: looks like an XML model \(text\), not mlpack's binary archive; give it a \.xml name$/);
    // The real archive still reads.
    expect((await readModelFile(join(FIXTURES, 'mlpack-models', 'blobs3_k3_full.bin'))).kind).toBe('mlpack-bin');
  });

  it('refuses ambiguous or impossible requests', async () => {
    await expect(writeModelFile(join(dir, 'x.xml'), m, 'webgmm')).rejects.toThrow(/webgmm models are JSON files/);
    await expect(writeModelFile(join(dir, 'x.txt'), m)).rejects.toThrow(WebGmmError);
    await expect(readModelFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: no such file/);
    writeFileSync(join(dir, 'empty.bin'), '');
    await expect(readModelFile(join(dir, 'empty.bin'))).rejects.toThrow(/empty\.bin: the file is empty/);
    writeFileSync(join(dir, 'model.yaml'), 'x');
    await expect(readModelFile(join(dir, 'model.yaml'))).rejects.toThrow(/unknown model file extension/);
  });
});
