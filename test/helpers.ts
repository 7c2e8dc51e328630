import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { DenseMatrix } from '../src/data.js';
import type { GaussianMixtureJSON } from '../src/model/gaussian-mixture.js';
import { Rng } from '../src/util/rng.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Reads a header-less comma-separated fixture into a row-major matrix. */
export function readCsv(path: string): DenseMatrix<Float64Array> {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const cols = lines[0]!.split(',').length;
  const data = new Float64Array(lines.length * cols);
  lines.forEach((line, i) => line.split(',').forEach((v, j) => (data[i * cols + j] = Number(v))));
  return { data, rows: lines.length, cols };
}

export interface EmTrace {
  data: string;
  initialModel: GaussianMixtureJSON;
  logLikelihoodTrace: number[];
  emUpdates: number;
  finalModel: GaussianMixtureJSON;
  finalLogLikelihood: number;
}

export function readTrace(name: string): EmTrace {
  return JSON.parse(readFileSync(join(FIXTURES, 'mlpack-em', `${name}.em-trace.json`), 'utf8')) as EmTrace;
}

export function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}

/** Largest |a_i − e_i| over the largest |e_i|: the "relative to the largest magnitude" measure. */
export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0, err = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(actual[i]! - expected[i]!));
  return err / (scale || 1);
}

/** Samples n points from a known mixture (row-major), with the true labels. */
export function sampleMixture(
  rng: Rng,
  n: number,
  weights: number[],
  means: number[][],
  choleskies: number[][][],
): { data: DenseMatrix<Float64Array>; labels: Int32Array } {
  const d = means[0]!.length;
  const data = new Float64Array(n * d);
  const labels = new Int32Array(n);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let u = rng.nextFloat(), c = 0;
    while (c < weights.length - 1 && u >= weights[c]!) u -= weights[c++]!;
    labels[i] = c;
    for (let j = 0; j < d; j++) z[j] = rng.nextNormal();
    for (let r = 0; r < d; r++) {
      let s = means[c]![r]!;
      for (let j = 0; j <= r; j++) s += choleskies[c]![r]![j]! * z[j]!;
      data[i * d + r] = s;
    }
  }
  return { data: { data, rows: n, cols: d }, labels };
}

/**
 * Asserts that `f` throws an error of class `type` (whose message matches `message`, when given)
 * and returns it, for assertions on its fields.
 */
export function thrown<T extends Error>(f: () => unknown, type: new (...args: never[]) => T, message?: RegExp): T {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(type);
  if (message) expect((error as Error).message).toMatch(message);
  return error as T;
}

/**
 * Rain-like data: 3 clusters in 3-D; in the first, feature 0 is exactly 0 (a point mass, as a dry
 * day's precipitation), in the others it is a positive amount. `rare`: a fourth column that is 0
 * except in 3 points.
 */
export function rainy(rng: Rng, n: number, rare = false): DenseMatrix<Float64Array> {
  const d = rare ? 4 : 3;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = rng.nextFloat() < 0.5 ? 0 : rng.nextFloat() < 0.5 ? 1 : 2;
    const o = i * d;
    data[o] = c === 0 ? 0 : Math.abs(3 * c + 2 * rng.nextNormal());
    data[o + 1] = 10 + 4 * c + 3 * rng.nextNormal();
    data[o + 2] = 5 - 2 * c + rng.nextNormal();
    if (rare) data[o + 3] = i % 300 === 7 ? 1 : 0;
  }
  return { data, rows: n, cols: d };
}
