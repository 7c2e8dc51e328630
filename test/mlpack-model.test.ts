import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  parseMlpackModel,
  serializeMlpackModel,
  formatJsonDouble,
  formatXmlDouble,
  type MlpackFormat,
} from '../src/io/mlpack-model.js';
import { GaussianMixture } from '../src/model/gaussian-mixture.js';
import { InvalidModelError, NotPositiveDefiniteError } from '../src/errors.js';
import { Rng } from '../src/util/rng.js';
import { thrown } from './helpers.js';

const DIR = fileURLToPath(new URL('./fixtures/mlpack-models/', import.meta.url));
const MODELS = ['blobs3_k3_full', 'blobs3_k3_diag_as_gmm'] as const;
const FORMATS: MlpackFormat[] = ['json', 'xml', 'bin'];
/** Training log-likelihoods from the fixtures README. */
const TRAIN_LOG_LIKELIHOOD: Record<(typeof MODELS)[number], number> = {
  blobs3_k3_full: -10911.399478194,
  blobs3_k3_diag_as_gmm: -15344.459076611327,
};

function readRaw(base: string, format: MlpackFormat): string | Uint8Array {
  const path = `${DIR}${base}.${format}`;
  return format === 'bin' ? new Uint8Array(readFileSync(path)) : readFileSync(path, 'utf8');
}

function load(base: string, format: MlpackFormat): GaussianMixture {
  return parseMlpackModel(readRaw(base, format), format, `${base}.${format}`);
}

function bitsEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Independent extraction of a JSON fixture's values: every "elem" and "logDetCov", in order. */
function jsonNumbers(text: string): { elems: number[]; logDets: number[] } {
  return {
    elems: [...text.matchAll(/"elem": (\S+?),?$/gm)].map((m) => Number(m[1])),
    logDets: [...text.matchAll(/"logDetCov": (\S+?),?$/gm)].map((m) => Number(m[1])),
  };
}

function xmlNumbers(text: string): { elems: number[]; logDets: number[] } {
  return {
    elems: [...text.matchAll(/<elem>([^<]*)<\/elem>/g)].map((m) => Number(m[1])),
    logDets: [...text.matchAll(/<logDetCov>([^<]*)<\/logDetCov>/g)].map((m) => Number(m[1])),
  };
}

/** Independent walk of the binary layout (cereal BinaryOutputArchive, see the module's header). */
function binNumbers(bytes: Uint8Array): { elems: number[]; logDets: number[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  const u64 = (): number => {
    const x = Number(v.getBigUint64(off, true));
    off += 8;
    return x;
  };
  const elems: number[] = [];
  const logDets: number[] = [];
  const matrix = (): void => {
    const n = u64() * u64();
    u64();
    for (let i = 0; i < n; i++, off += 8) elems.push(v.getFloat64(off, true));
  };
  expect(v.getUint32(0, true)).toBe(0);
  off = 4;
  const k = u64();
  u64();
  expect(u64()).toBe(k);
  for (let c = 0; c < k; c++) {
    if (c === 0) {
      expect(v.getUint32(off, true)).toBe(0);
      off += 4;
    }
    for (let m = 0; m < 4; m++) matrix();
    logDets.push(v.getFloat64(off, true));
    off += 8;
  }
  matrix();
  expect(off).toBe(bytes.length);
  return { elems, logDets };
}

function numbersOf(out: string | Uint8Array, format: MlpackFormat): { elems: number[]; logDets: number[] } {
  if (format === 'bin') return binNumbers(out as Uint8Array);
  return format === 'json' ? jsonNumbers(out as string) : xmlNumbers(out as string);
}

function readCsv(path: string): { data: Float64Array; rows: number; cols: number } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const cols = lines[0]!.split(',').length;
  const data = new Float64Array(lines.length * cols);
  lines.forEach((line, i) => line.split(',').forEach((x, j) => (data[i * cols + j] = Number(x))));
  return { data, rows: lines.length, cols };
}

/** Asserts that parsing throws an InvalidModelError whose message starts with the name; returns it. */
function parseError(content: string | Uint8Array, format: MlpackFormat, name: string): string {
  const msg = thrown(() => parseMlpackModel(content, format, name), InvalidModelError).message;
  expect(msg.startsWith(`${name}: `), msg).toBe(true);
  return msg;
}

describe('mlpack model fixtures', () => {
  for (const base of MODELS) {
    it(`${base}: all three formats parse to the same full-covariance K=3, D=2 model`, () => {
      const [json, xml, bin] = FORMATS.map((f) => load(base, f)) as [GaussianMixture, GaussianMixture, GaussianMixture];
      for (const m of [json, xml, bin]) {
        expect(m).toBeInstanceOf(GaussianMixture);
        expect(m.gaussians).toBe(3);
        expect(m.dimensionality).toBe(2);
        expect(m.covarianceType).toBe('full');
      }
      for (const m of [xml, bin]) {
        expect(bitsEqual(m.weights, json.weights)).toBe(true);
        expect(bitsEqual(m.means, json.means)).toBe(true);
        expect(bitsEqual(m.covariances, json.covariances)).toBe(true);
      }
    });

    it(`${base}: parameters equal the JSON "elem" values exactly`, () => {
      const text = readRaw(base, 'json') as string;
      const { elems } = jsonNumbers(text);
      // Per Gaussian: mean (2), covariance (4), covLower (4), invCov (4); then the 3 weights.
      expect(elems.length).toBe(3 * 14 + 3);
      const m = load(base, 'json');
      for (let c = 0; c < 3; c++) {
        const o = c * 14;
        expect(Array.from(m.means.subarray(c * 2, c * 2 + 2))).toEqual(elems.slice(o, o + 2));
        const cov = elems.slice(o + 2, o + 6); // column-major
        expect(Array.from(m.covariances.subarray(c * 4, c * 4 + 4))).toEqual([cov[0], cov[2], cov[1], cov[3]]);
      }
      expect(Array.from(m.weights)).toEqual(elems.slice(42));
      if (base === 'blobs3_k3_diag_as_gmm') {
        for (let c = 0; c < 3; c++) {
          expect(m.covariances[c * 4 + 1]).toBe(0);
          expect(m.covariances[c * 4 + 2]).toBe(0);
        }
      }
    });

    it(`${base}: reproduces the training log-likelihood`, () => {
      const data = readCsv(`${DIR}mlpack_test_blobs3_N3000_D2_K3.csv`);
      expect(data.rows).toBe(3000);
      const expected = TRAIN_LOG_LIKELIHOOD[base];
      for (const f of FORMATS) {
        const ll = load(base, f).logLikelihood(data);
        expect(Math.abs(ll - expected) / Math.abs(expected)).toBeLessThan(1e-9);
      }
    });

    for (const format of FORMATS) {
      it(`${base}.${format}: serialize(parse(file)) reproduces the file byte for byte`, () => {
        const raw = readRaw(base, format);
        const out = serializeMlpackModel(parseMlpackModel(raw, format, `${base}.${format}`), format);
        if (format === 'bin') {
          expect(out).toBeInstanceOf(Uint8Array);
          expect(bitsEqual(out as Uint8Array, raw as Uint8Array)).toBe(true);
        } else {
          expect(typeof out).toBe('string');
          expect(out).toBe(raw);
        }
      });
    }
  }

  it('the derived fields mlpack stored are reproduced exactly (covLower, invCov, logDetCov)', () => {
    for (const base of MODELS) {
      for (const format of FORMATS) {
        const raw = readRaw(base, format);
        const mine = numbersOf(serializeMlpackModel(load(base, format), format), format);
        const theirs = numbersOf(raw, format);
        expect(bitsEqual(mine.elems, theirs.elems)).toBe(true);
        expect(bitsEqual(mine.logDets, theirs.logDets)).toBe(true);
      }
    }
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────

function randomModel(rng: Rng, k: number, d: number, type: 'full' | 'diagonal'): GaussianMixture {
  const w = Array.from({ length: k }, () => 0.2 + rng.nextFloat());
  const sum = w.reduce((a, b) => a + b, 0);
  const weights = w.map((x) => x / sum);
  const means = Array.from({ length: k }, () => Array.from({ length: d }, () => (rng.nextFloat() - 0.5) * 20));
  if (type === 'diagonal') {
    const covariances = Array.from({ length: k }, () => Array.from({ length: d }, () => 0.1 + 3 * rng.nextFloat()));
    return new GaussianMixture({ covarianceType: 'diagonal', weights, means, covariances });
  }
  const covariances = Array.from({ length: k }, () => {
    // Σ = A Aᵀ / d + 0.5 I: symmetric positive definite, moderately conditioned.
    const a = Array.from({ length: d }, () => Array.from({ length: d }, () => rng.nextNormal()));
    return Array.from({ length: d }, (_, i) =>
      Array.from({ length: d }, (_, j) => {
        let s = 0;
        for (let t = 0; t < d; t++) s += a[i]![t]! * a[j]![t]!;
        return s / d + (i === j ? 0.5 : 0);
      }),
    );
  });
  return new GaussianMixture({ covarianceType: 'full', weights, means, covariances });
}

/** log det by Gaussian elimination with partial pivoting (independent of the Cholesky route). */
function logDetLU(m: number[][]): number {
  const a = m.map((r) => r.slice());
  const n = a.length;
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    s += Math.log(Math.abs(a[c]![c]!));
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let j = c; j < n; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return s;
}

describe('a model whose inverse covariance overflows float64', () => {
  // Valid for webgmm (it evaluates through L⁻¹ = 1e155), but mlpack's archive stores Σ⁻¹ = 1e310:
  // the XML and .bin writers wrote inf, which their readers refuse, while the JSON writer refused.
  const tiny = new GaussianMixture({ weights: [0.5, 0.5], means: [[0], [10]], covariances: [[[1e-310]], [[1]]] });

  it.each(FORMATS)('%s: refused before anything is written, as in every format', (format) => {
    expect(Number.isFinite(tiny.logPdf([0]))).toBe(true);
    thrown(() => serializeMlpackModel(tiny, format), InvalidModelError, /^serializeMlpackModel: the inverse covariance of component 0 overflows float64 .*write webgmm's JSON instead$/);
  });
});

describe('round trips', () => {
  const rng = new Rng(20240611);
  const full = randomModel(rng, 4, 5, 'full');
  const diag = randomModel(rng, 4, 5, 'diagonal');

  for (const format of FORMATS) {
    it(`${format}: a random K=4, D=5 full model survives serialize → parse bit for bit`, () => {
      const back = parseMlpackModel(serializeMlpackModel(full, format), format, `random.${format}`);
      expect(back.gaussians).toBe(4);
      expect(back.dimensionality).toBe(5);
      expect(back.covarianceType).toBe('full');
      expect(bitsEqual(back.weights, full.weights)).toBe(true);
      expect(bitsEqual(back.means, full.means)).toBe(true);
      expect(bitsEqual(back.covariances, full.covariances)).toBe(true);
      // And writing it again gives the same output.
      const again = serializeMlpackModel(back, format);
      const first = serializeMlpackModel(full, format);
      if (format === 'bin') expect(bitsEqual(again as Uint8Array, first as Uint8Array)).toBe(true);
      else expect(again).toBe(first);
    });

    it(`${format}: a diagonal model is written as a full one with zero off-diagonals`, () => {
      const back = parseMlpackModel(serializeMlpackModel(diag, format), format, `diag.${format}`);
      expect(back.covarianceType).toBe('full');
      expect(bitsEqual(back.weights, diag.weights)).toBe(true);
      expect(bitsEqual(back.means, diag.means)).toBe(true);
      for (let c = 0; c < 4; c++) {
        for (let i = 0; i < 5; i++) {
          for (let j = 0; j < 5; j++) {
            const v = back.covariances[c * 25 + i * 5 + j]!;
            expect(v).toBe(i === j ? diag.covariances[c * 5 + i]! : 0);
          }
        }
      }
    });

    it(`${format}: written covLower, invCov and logDetCov are consistent with the covariance (1e-12)`, () => {
      const { elems, logDets } = numbersOf(serializeMlpackModel(full, format), format);
      const d = 5;
      const per = d + 3 * d * d;
      expect(elems.length).toBe(4 * per + 4);
      for (let c = 0; c < 4; c++) {
        const o = c * per;
        const at = (m: number, i: number, j: number): number => elems[o + d + m * d * d + i + j * d]!; // column-major
        const sigma = (i: number, j: number): number => at(0, i, j);
        const lower = (i: number, j: number): number => at(1, i, j);
        const inv = (i: number, j: number): number => at(2, i, j);
        let scale = 0;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) scale = Math.max(scale, Math.abs(sigma(i, j)));
        let errLLt = 0, errInv = 0;
        for (let i = 0; i < d; i++) {
          for (let j = 0; j < d; j++) {
            if (j > i) expect(lower(i, j)).toBe(0);
            let llt = 0, si = 0;
            for (let t = 0; t < d; t++) {
              llt += lower(i, t) * lower(j, t);
              si += sigma(i, t) * inv(t, j);
            }
            errLLt = Math.max(errLLt, Math.abs(llt - sigma(i, j)) / scale);
            errInv = Math.max(errInv, Math.abs(si - (i === j ? 1 : 0)));
            expect(inv(i, j)).toBe(inv(j, i));
          }
        }
        expect(errLLt).toBeLessThan(1e-12);
        expect(errInv).toBeLessThan(1e-12);
        const rows = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => sigma(i, j)));
        const ld = logDetLU(rows);
        expect(Math.abs(logDets[c]! - ld) / Math.max(1, Math.abs(ld))).toBeLessThan(1e-12);
        expect(Math.abs(logDets[c]! - full.logDets[c]!) / Math.max(1, Math.abs(ld))).toBeLessThan(1e-12);
      }
    });
  }

  it('the three formats carry identical values', () => {
    const [a, b, c] = FORMATS.map((f) => numbersOf(serializeMlpackModel(full, f), f));
    expect(bitsEqual(a!.elems, b!.elems)).toBe(true);
    expect(bitsEqual(a!.elems, c!.elems)).toBe(true);
    expect(bitsEqual(a!.logDets, b!.logDets)).toBe(true);
    expect(bitsEqual(a!.logDets, c!.logDets)).toBe(true);
  });

  it('serialize returns a string for json/xml and bytes for bin', () => {
    expect(typeof serializeMlpackModel(full, 'json')).toBe('string');
    expect(typeof serializeMlpackModel(full, 'xml')).toBe('string');
    expect(serializeMlpackModel(full, 'bin')).toBeInstanceOf(Uint8Array);
  });

  it('accepts UTF-8 bytes for the text formats', () => {
    const bytes = new Uint8Array(readFileSync(`${DIR}blobs3_k3_full.json`));
    const m = parseMlpackModel(bytes, 'json', 'bytes.json');
    expect(bitsEqual(m.means, load('blobs3_k3_full', 'json').means)).toBe(true);
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────

describe('number formatting', () => {
  it('JSON doubles follow rapidjson (cereal) conventions', () => {
    expect(formatJsonDouble(0)).toBe('0.0');
    expect(formatJsonDouble(-0)).toBe('-0.0');
    expect(formatJsonDouble(100)).toBe('100.0');
    expect(formatJsonDouble(-2.5)).toBe('-2.5');
    expect(formatJsonDouble(0.001234)).toBe('0.001234');
    expect(formatJsonDouble(1.5e-7)).toBe('1.5e-7');
    expect(formatJsonDouble(1e30)).toBe('1e30');
    expect(formatJsonDouble(1.7976931348623157e308)).toBe('1.7976931348623157e308');
    expect(formatJsonDouble(5e-324)).toBe('5e-324');
    // Grisu2 in the rapidjson bundled with cereal does not always give the closest 17 digits.
    expect(formatJsonDouble(0.47379473033143715)).toBe('0.47379473033143718');
  });

  it('XML doubles are %.17g', () => {
    expect(formatXmlDouble(0)).toBe('0');
    expect(formatXmlDouble(0.1)).toBe('0.10000000000000001');
    expect(formatXmlDouble(100)).toBe('100');
    expect(formatXmlDouble(1e30)).toBe('1e+30');
    expect(formatXmlDouble(1.5e-7)).toBe('1.4999999999999999e-07');
    expect(formatXmlDouble(0.0001)).toBe('0.0001');
    expect(formatXmlDouble(1e17)).toBe('1e+17');
    expect(formatXmlDouble(12345678901234567)).toBe('12345678901234568');
    // Exact ties round half to even (glibc), unlike toPrecision (half up).
    expect(formatXmlDouble(2251799813685246.25)).toBe('2251799813685246.2');
    expect(formatXmlDouble(2251799813685246.75)).toBe('2251799813685246.8');
  });

  it('both round-trip random doubles; XML agrees with toPrecision(17)', () => {
    const rng = new Rng(7);
    const view = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 3000; i++) {
      let x: number;
      if (i % 2 === 0) {
        view.setUint32(0, rng.nextU32());
        view.setUint32(4, rng.nextU32());
        x = view.getFloat64(0);
        if (!Number.isFinite(x)) continue;
      } else x = (rng.nextFloat() - 0.5) * 10 ** (rng.nextInt(30) - 15);
      const j = formatJsonDouble(x);
      expect(Number(j)).toBe(x);
      expect(j.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+|0+$/g, '').length).toBeLessThanOrEqual(17);
      const g = formatXmlDouble(x);
      expect(Number(g)).toBe(x);
      expect(Number(g)).toBe(Number(x.toPrecision(17)));
    }
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────

describe('malformed input', () => {
  for (const base of MODELS) {
    it(`${base}.bin: every truncation is an InvalidModelError naming the file and a byte offset`, () => {
      const raw = readRaw(base, 'bin') as Uint8Array;
      const name = `${base}.bin`;
      for (let n = 0; n < raw.length; n++) {
        const msg = parseError(raw.subarray(0, n), 'bin', name);
        expect(msg).toMatch(/: byte \d+: /);
      }
    });

    for (const format of ['json', 'xml'] as const) {
      it(`${base}.${format}: truncations are InvalidModelErrors naming the file and a line`, () => {
        const raw = readRaw(base, format) as string;
        const name = `${base}.${format}`;
        const body = raw.trimEnd().length; // trailing whitespace is not part of the document
        const cuts = new Set<number>([0, 1, body - 1]);
        for (let n = 5; n < body; n += 53) cuts.add(n);
        for (const n of cuts) {
          const msg = parseError(raw.slice(0, n), format, name);
          expect(msg).toMatch(/: line \d+: /);
        }
      });
    }
  }

  const json = readRaw('blobs3_k3_full', 'json') as string;
  const xml = readRaw('blobs3_k3_full', 'xml') as string;
  const bin = readRaw('blobs3_k3_full', 'bin') as Uint8Array;

  it('rejects a wrong top-level key', () => {
    expect(parseError(json.replace('"model":', '"gmm":'), 'json', 'a.json')).toMatch(/line 1: .*top-level key must be "model".*"gmm"/);
    const x = xml.replace('<model>', '<gmm>').replace('</model>', '</gmm>');
    expect(parseError(x, 'xml', 'a.xml')).toMatch(/top-level element must be <model>/);
    expect(parseError(xml.replace('<cereal>', '<cerial>').replace('</cereal>', '</cerial>'), 'xml', 'a.xml')).toMatch(/root element must be <cereal>/);
  });

  it('rejects a matrix with too few elems, giving its line', () => {
    // Drop the covariance's second elem (line 21) of the first Gaussian.
    const lines = json.split('\n');
    expect(lines[20]).toContain('"elem": -0.004755822359152614,');
    const cut = [...lines.slice(0, 20), ...lines.slice(21)].join('\n');
    expect(parseError(cut, 'json', 'b.json')).toMatch(/b\.json: line 16: model\.dists\[0\]\.covariance is 2×2 \(4 values\) but has 3 "elem" values/);
    const xcut = xml.replace('\t\t\t\t\t<elem>-0.0047558223591526137</elem>\n', '');
    expect(parseError(xcut, 'xml', 'b.xml')).toMatch(/model\.dists\[0\]\.covariance is 2×2 \(4 values\) but has 3 <elem> values/);
  });

  it('accepts n_rows/n_cols/vec_state written as numbers (mlpack itself would not)', () => {
    const relaxed = json.replace(/"(n_rows|n_cols|vec_state)": "(\d+)"/g, '"$1": $2');
    expect(relaxed).not.toBe(json);
    const m = parseMlpackModel(relaxed, 'json', 'c.json');
    expect(bitsEqual(m.covariances, load('blobs3_k3_full', 'json').covariances)).toBe(true);
    // …but not other kinds of value.
    expect(parseError(json.replace('"n_rows": "2"', '"n_rows": "two"'), 'json', 'c.json')).toMatch(/n_rows must be a non-negative integer/);
    expect(parseError(json.replace('"n_rows": "2"', '"n_rows": 2.5'), 'json', 'c.json')).toMatch(/n_rows must be a non-negative integer/);
  });

  it('rejects mangled numbers with their line', () => {
    expect(parseError(json.replace('0.8207034951774975', '0.82070.34951774975'), 'json', 'd.json')).toMatch(/line 20: malformed number/);
    expect(parseError(json.replace('0.8207034951774975', '0.8207x'), 'json', 'd.json')).toMatch(/line 20: malformed number/);
    expect(parseError(json.replace('0.8207034951774975', '"0.82"'), 'json', 'd.json')).toMatch(/line 20: .*elem 0 must be a number/);
    expect(parseError(json.replace('0.8207034951774975', '1e999'), 'json', 'd.json')).toMatch(/line 20: .*out of the range/);
    expect(parseError(xml.replace('0.82070349517749752', '0.82070.349'), 'xml', 'd.xml')).toMatch(/line 21: .*elem 0 must be a number/);
    expect(parseError(xml.replace('0.82070349517749752', 'nan'), 'xml', 'd.xml')).toMatch(/line 21: .*must be a number/);
    expect(parseError(xml.replace('0.82070349517749752', ''), 'xml', 'd.xml')).toMatch(/line 21: .*must be a number/);
  });

  it('rejects a missing field', () => {
    expect(parseError(json.replace('"covLower"', '"covLowr"'), 'json', 'e.json')).toMatch(/model\.dists\[0\] has no "covLower" field/);
    expect(parseError(json.replace(/,\n *"logDetCov": [^\n]*/, ''), 'json', 'e.json')).toMatch(/has no "logDetCov" field/);
    expect(parseError(json.replace('"cereal_class_version": 0,\n        "gaussians"', '"gaussians"'), 'json', 'e.json')).toMatch(/model has no "cereal_class_version" field/);
    expect(parseError(xml.replace(/<invCov>/, '<invCovX>').replace(/<\/invCov>/, '</invCovX>'), 'xml', 'e.xml')).toMatch(/model\.dists\[0\] has no <invCov> element/);
    expect(parseError(json.replace('"dimensionality": 2,', ''), 'json', 'e.json')).toMatch(/model has no "dimensionality" field/);
  });

  it('rejects dimensions that disagree', () => {
    expect(parseError(json.replace('"dimensionality": 2', '"dimensionality": 3'), 'json', 'f.json')).toMatch(/model\.dists\[0\]\.mean is 2×1 but must be 3×1/);
    expect(parseError(json.replace('"gaussians": 3', '"gaussians": 2'), 'json', 'f.json')).toMatch(/line 6: model\.gaussians is 2 but model\.dists has 3 entries/);
    expect(parseError(xml.replace('<gaussians>3</gaussians>', '<gaussians>4</gaussians>'), 'xml', 'f.xml')).toMatch(/model\.gaussians is 4 but model\.dists has 3 entries/);
    // A covariance declared 2×1 with 2 values.
    const lines = json.split('\n');
    expect(lines[17]).toContain('"n_cols": "2"');
    lines[17] = lines[17]!.replace('"n_cols": "2"', '"n_cols": "1"');
    lines.splice(21, 2);
    lines[20] = lines[20]!.replace(/,$/, ''); // keep it valid JSON
    const bad = lines.join('\n');
    expect(parseError(bad, 'json', 'f.json')).toMatch(/line 16: model\.dists\[0\]\.covariance is 2×1 but must be 2×2/);
    expect(parseError(json.replace('"gaussians": 3', '"gaussians": 0'), 'json', 'f.json')).toMatch(/line 4: model\.gaussians is 0; a model needs at least one Gaussian/);
  });

  it('rejects invalid parameters (not positive definite, weights not summing to 1)', () => {
    // Make the first covariance indefinite: Σ = [[0.82, 5], [5, 0.79]].
    const indefinite = json.replace(/-0\.004755822359152614/g, '5.0');
    expect(parseError(indefinite, 'json', 'g.json')).toMatch(/g\.json: invalid model parameters: .*not positive definite/);
    // …as a NotPositiveDefiniteError naming the component, as the constructor and fromArrays say it.
    expect(() => parseMlpackModel(indefinite, 'json', 'g.json')).toThrow(NotPositiveDefiniteError);
    try {
      parseMlpackModel(indefinite, 'json', 'g.json');
    } catch (e) {
      expect((e as NotPositiveDefiniteError).component).toBe(0);
    }
    expect(parseError(json.replace('0.33333333333289569', '0.5'), 'json', 'g.json')).toMatch(/g\.json: invalid model parameters: .*sum to/);
    // An asymmetric covariance (beyond rounding).
    expect(parseError(json.replace('"elem": -0.004755822359152614,\n', '"elem": -0.1,\n'), 'json', 'g.json')).toMatch(/not symmetric/);
  });

  it('rejects malformed binary headers and trailing data with the byte offset', () => {
    const b = bin.slice();
    new DataView(b.buffer).setUint32(4, 4, true); // gaussians = 4, dists has 3
    expect(parseError(b, 'bin', 'h.bin')).toMatch(/h\.bin: byte 20: model\.gaussians is 4 but model\.dists has 3 entries/);
    const c = bin.slice();
    new DataView(c.buffer).setUint32(0x30, 7, true); // first mean's vec_state
    expect(parseError(c, 'bin', 'h.bin')).toMatch(/byte 48: model\.dists\[0\]\.mean\.vec_state is 7/);
    const d = bin.slice();
    new DataView(d.buffer).setUint32(0x20 + 4, 0x7fffffff, true); // absurd n_rows
    expect(parseError(d, 'bin', 'h.bin')).toMatch(/byte 32: model\.dists\[0\]\.mean\.n_rows = \d+ is implausibly large/);
    const e = new Uint8Array(bin.length + 1);
    e.set(bin);
    expect(parseError(e, 'bin', 'h.bin')).toMatch(/byte 728: 1 unexpected bytes after the end of the model/);
    const f = bin.slice();
    new DataView(f.buffer).setFloat64(0x38, NaN, true);
    expect(parseError(f, 'bin', 'h.bin')).toMatch(/byte 56: model\.dists\[0\]\.mean: elem 0 is NaN/);
  });

  it('rejects the wrong format and the wrong kind of content', () => {
    parseError(new TextEncoder().encode(json), 'bin', 'i.bin');
    parseError(bin, 'json', 'i.json');
    parseError(bin, 'xml', 'i.xml');
    parseError(json, 'xml', 'i.xml');
    parseError(xml, 'json', 'i.json');
    expect(parseError(json, 'bin', 'i.bin')).toMatch(/must be a Uint8Array/);
    expect(parseError('', 'json', 'i.json')).toMatch(/empty/);
    expect(parseError('[]', 'json', 'i.json')).toMatch(/top level must be an object/);
    // The top-level field is "model", not ".model".
    expect(parseError('{"model": 1}', 'json', 'i.json')).toBe('i.json: line 1: model must be an object, found the number 1');
    expect(parseError('{"model": {}, "model": {}}', 'json', 'i.json')).toBe('i.json: line 1: the top level has the key "model" more than once');
    expect(parseError('<cereal><model/><model/></cereal>', 'xml', 'i.xml')).toBe('i.xml: line 1: <cereal> has the element <model> more than once');
    expect(parseError(json + '\n{}', 'json', 'i.json')).toMatch(/after the end of the JSON document/);
    expect(parseError('['.repeat(100000), 'json', 'i.json')).toMatch(/nesting deeper/);
    expect(parseError('<a>'.repeat(100000), 'xml', 'i.xml')).toMatch(/nesting deeper/);
    expect(parseError(json, 'yaml' as MlpackFormat, 'i.yaml')).toMatch(/unknown format/);
  });

  it('random corruption never escapes as anything but InvalidModelError', () => {
    const rng = new Rng(99);
    const inputs: [string | Uint8Array, MlpackFormat][] = [
      [json, 'json'],
      [xml, 'xml'],
      [bin, 'bin'],
    ];
    const alphabet = '0123456789.-+eE"{}[]:,<>/ \nabc';
    for (const [raw, format] of inputs) {
      for (let t = 0; t < 150; t++) {
        let bad: string | Uint8Array;
        if (typeof raw === 'string') {
          const chars = raw.split('');
          for (let r = 0; r < 1 + rng.nextInt(3); r++) chars[rng.nextInt(chars.length)] = alphabet[rng.nextInt(alphabet.length)]!;
          bad = chars.join('');
        } else {
          bad = raw.slice();
          for (let r = 0; r < 1 + rng.nextInt(3); r++) bad[rng.nextInt(bad.length)] = rng.nextInt(256);
        }
        try {
          parseMlpackModel(bad, format, 'fuzz');
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidModelError);
          expect((e as Error).message.startsWith('fuzz: ')).toBe(true);
        }
      }
    }
  });
});

describe('diagonal models', () => {
  it("are written with the factors of their full equivalent (zero off-diagonals), bit for bit, in every format", () => {
    // A diagonal model's factors are computed in O(D²) (D = 3000 took 86 s through the general
    // Cholesky and inverse): they must be what the general routines give.
    const rng = new Rng(12);
    for (const d of [1, 2, 3, 7, 40]) {
      const variances = Array.from({ length: 2 }, () => Array.from({ length: d }, () => 10 ** (rng.nextFloat() * 400 - 200)));
      const means = Array.from({ length: 2 }, () => Array.from({ length: d }, () => rng.nextNormal()));
      const diagonal = new GaussianMixture({ covarianceType: 'diagonal', weights: [0.25, 0.75], means, covariances: variances });
      const full = new GaussianMixture({ weights: [0.25, 0.75], means, covariances: variances.map((v) => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)))) });
      for (const format of ['json', 'xml', 'bin'] as const) {
        expect({ d, format, same: Buffer.from(serializeMlpackModel(diagonal, format)).equals(Buffer.from(serializeMlpackModel(full, format))) }).toEqual({ d, format, same: true });
      }
    }
  });
});

describe('large models', () => {
  /** A K-component, D-dimensional full-covariance model with random SPD covariances. */
  function bigModel(k: number, d: number): GaussianMixture {
    const rng = new Rng(5);
    const covariances = Array.from({ length: k }, () => {
      const a = Array.from({ length: d }, () => Array.from({ length: d }, () => rng.nextNormal()));
      return a.map((_, i) => a.map((_, j) => a[i]!.reduce((s, _, m) => s + a[i]![m]! * a[j]![m]!, 0) + (i === j ? d : 0)));
    });
    return new GaussianMixture({
      weights: Array.from({ length: k }, () => 1 / k),
      means: Array.from({ length: k }, () => Array.from({ length: d }, () => rng.nextNormal())),
      covariances,
    });
  }
  const big = bigModel(300, 8);
  const texts = { json: serializeMlpackModel(big, 'json'), xml: serializeMlpackModel(big, 'xml') };
  /** 0-based index of the last line matching `re`. */
  const lastLine = (lines: string[], re: RegExp): number => {
    for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i]!)) return i;
    return -1;
  };

  /**
   * Runs `f` while counting the characters the parsers (and their line numbering) look at one by
   * one (charCodeAt) or scan for (indexOf), failing at `budget`. A reader that, like the old one,
   * scans the text from its start for every matrix does ~K × the text's length.
   */
  function withScanBudget<T>(budget: number, f: () => T): { result: T; scanned: number } {
    let scanned = 0;
    const proto = String.prototype;
    const { charCodeAt, indexOf } = proto;
    const count = (n: number): void => {
      scanned += n;
      if (scanned > budget) throw new Error(`scanned more than ${budget} characters`);
    };
    // Plain wrappers, not vi.spyOn: a spy records every call, millions of them here.
    proto.charCodeAt = function (this: string, i: number) {
      count(1);
      return charCodeAt.call(this, i);
    };
    proto.indexOf = function (this: string, search: string, from?: number) {
      const r = indexOf.call(this, search, from);
      count((r < 0 ? this.length : r) - Math.max(0, from ?? 0) + 1);
      return r;
    };
    try {
      const result = f();
      return { result, scanned };
    } finally {
      proto.charCodeAt = charCodeAt;
      proto.indexOf = indexOf;
    }
  }

  for (const format of ['json', 'xml'] as const) {
    it(`${format}: a K=300, D=8 model is read in time linear in its size (not scanned from the start per matrix)`, () => {
      const text = texts[format];
      // A linear reader looks at each character about twice (parsing, then listing the line starts
      // once); the old one, at each of ~1500 matrices and Gaussians, scanned the text from its start.
      const { result, scanned } = withScanBudget(5 * text.length, () => parseMlpackModel(text, format, `big.${format}`));
      expect(scanned).toBeLessThanOrEqual(5 * text.length);
      expect(bitsEqual(result.covariances, big.covariances)).toBe(true);
      expect(bitsEqual(result.means, big.means)).toBe(true);
    });

    it(`${format}: errors late in a large model still name their line`, () => {
      const lines = texts[format].split('\n');
      // A malformed value in the last Gaussian (found by the parser).
      const lastMean = lastLine(lines, /^\s*("mean": \{|<mean>)$/);
      const elemLine = lastMean + 4; // n_rows, n_cols, vec_state, then the first elem
      expect(lines[elemLine]).toMatch(/elem/);
      const bad = [...lines];
      bad[elemLine] = format === 'json' ? bad[elemLine]!.replace(/: .*,$/, ': 1.2.3,') : bad[elemLine]!.replace(/>[^<]*</, '>1.2.3<');
      expect(parseError(bad.join('\n'), format, `big.${format}`)).toMatch(new RegExp(`^big\\.${format}: line ${elemLine + 1}: `));
      // A matrix of the wrong shape in the last Gaussian (found after parsing, at the matrix's line).
      const lastCovLower = lastLine(lines, /^\s*("covLower": \{|<covLower>)$/);
      const shape = [...lines];
      shape[lastCovLower + 2] = shape[lastCovLower + 2]!.replace('8', '4');
      const withFewer = shape.filter((_, i) => i <= lastCovLower + 3 || i > lastCovLower + 3 + 32);
      if (format === 'json') withFewer[lastCovLower + 3 + 32] = withFewer[lastCovLower + 3 + 32]!.replace(/,$/, '');
      const msg = parseError(withFewer.join('\n'), format, `big.${format}`);
      expect(msg).toBe(`big.${format}: line ${lastCovLower + 1}: model.dists[299].covLower is 8×4 but must be 8×8 (dimensionality = 8)`);
    });
  }
});

describe('serializeMlpackModel inputs', () => {
  const m = load('blobs3_k3_full', 'json');

  it('accepts the plain-object form and a structuredClone of a model, as GaussianMixture.from does', () => {
    for (const format of FORMATS) {
      const expected = serializeMlpackModel(m, format);
      expect(serializeMlpackModel(m.toJSON(), format)).toEqual(expected);
      expect(serializeMlpackModel(structuredClone(m), format)).toEqual(expected);
    }
  });

  it('rejects an invalid plain object with InvalidModelError (NotPositiveDefiniteError naming the component)', () => {
    expect(() => serializeMlpackModel({ weights: [0.5, 0.4], means: [[0], [1]], covariances: [[1], [1]] }, 'json')).toThrow(/^serializeMlpackModel: model\.weights sum to 0\.9/);
    expect(() => serializeMlpackModel(null as never, 'json')).toThrow(InvalidModelError);
    const err = thrown(
      () => serializeMlpackModel({ weights: [0.5, 0.5], means: [[0, 0], [1, 1]], covariances: [[[1, 0], [0, 1]], [[1, 2], [2, 1]]] }, 'xml'),
      NotPositiveDefiniteError,
    );
    expect(err.component).toBe(1);
    expect(err.message).toBe('serializeMlpackModel: covariance of component 1 is not positive definite');
  });
});

describe('factors (pinned by a mutation audit)', () => {
  it('a 2-D diagonal model is written with the factors of its full equivalent, byte for byte', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 50; t++) {
      const variances = Array.from({ length: 2 }, () => Array.from({ length: 2 }, () => 0.1 + 10 * rng.nextFloat()));
      const means = [[0, 0], [1, 1]];
      const diagonal = new GaussianMixture({ covarianceType: 'diagonal', weights: [0.5, 0.5], means, covariances: variances });
      const full = new GaussianMixture({ weights: [0.5, 0.5], means, covariances: variances.map((v) => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)))) });
      expect(Buffer.from(serializeMlpackModel(diagonal, 'bin') as Uint8Array).equals(Buffer.from(serializeMlpackModel(full, 'bin') as Uint8Array)), `model ${t}`).toBe(true);
    }
  });

  it('stored factors 2e-4 off their covariance are noted (a file edited by hand)', () => {
    const m = new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[2, 0.3], [0.3, 1]]] });
    const edited = new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[2.0004, 0.3], [0.3, 1]]] });
    const element = /<covariance>[\s\S]*?<\/covariance>/;
    // The edited covariance with the original's factors.
    const spliced = (serializeMlpackModel(m, 'xml') as string).replace(element, (serializeMlpackModel(edited, 'xml') as string).match(element)![0]);
    const notes: string[] = [];
    parseMlpackModel(spliced, 'xml', 'x.xml', (n) => notes.push(n));
    expect(notes.length).toBe(1);
  });
});
