/**
 * Reading and writing mlpack GMM model files (`gmm_train --output_model_file`), in the three
 * formats mlpack's cereal archives produce: JSON (`.json`), XML (`.xml`) and binary (`.bin`).
 *
 * Browser-safe: pure functions on strings and bytes, no `node:` imports.
 *
 * What mlpack writes (`GMM::serialize`, `GaussianDistribution::serialize`, mlpack's cereal
 * serialization of Armadillo matrices), in this order:
 *
 *     model: cereal_class_version (first GMM only), gaussians, dimensionality,
 *            dists (K × GaussianDistribution), weights (K×1 matrix)
 *     GaussianDistribution: cereal_class_version (first instance only), mean (D×1),
 *            covariance (D×D), covLower (D×D, lower Cholesky factor), invCov (D×D),
 *            logDetCov (double)
 *     matrix: n_rows, n_cols, vec_state (Armadillo `uword`s), then n_rows·n_cols values
 *            column-major, each named `elem`
 *
 * - JSON (cereal's JSONOutputArchive, rapidjson's PrettyWriter): 4-space indentation, no trailing
 *   newline; `n_rows`/`n_cols`/`vec_state` are strings (cereal writes `unsigned long long` as a
 *   string), `gaussians`/`dimensionality`/versions are numbers; the values are repeated `"elem"`
 *   keys; doubles are printed by rapidjson's Grisu2 `dtoa` (shortest in most cases, but not
 *   always: e.g. 0.47379473033143718 where the shortest form is 0.47379473033143715), and a zero is
 *   `0.0`. {@link formatJsonDouble} reproduces it digit for digit.
 * - XML (cereal's XMLOutputArchive, rapidxml): `<?xml version="1.0" encoding="utf-8"?>`, root
 *   `<cereal>`, tab indentation, `<dists size="dynamic">` with children `value0`, `value1`, …,
 *   the file ends with "</cereal>\n\n"; doubles are printed by an ostream with precision
 *   `max_digits10` = 17, i.e. `%.17g` ({@link formatXmlDouble}).
 * - Binary (cereal's BinaryOutputArchive, not the portable one: no endianness byte): the same
 *   fields, little-endian, with no names: class versions as uint32, `size_t` (gaussians,
 *   dimensionality), the vector length of `dists` and the matrices' `n_rows`/`n_cols`/`vec_state`
 *   as uint64, values as float64. For K=3, D=2 that is 728 bytes.
 *
 * mlpack reads `covLower`, `invCov` and `logDetCov` as stored, so the writer computes them the way
 * mlpack 4.x does (Armadillo `chol(…, "lower")` → OpenBLAS `potf2`, `inv(trimatl(L))` → Armadillo's
 * 2×2 closed form / LAPACK `trtri`, `L⁻ᵀ L⁻¹` → Armadillo's `syrk` emulation, `2 Σ log L_ii`). For
 * D = 2 this matches mlpack bit for bit (checked against the fixtures, which is what lets a
 * parse → serialize round trip reproduce mlpack's files byte for byte); for larger D it agrees to
 * rounding (~1e-15 relative; the summation order inside OpenBLAS kernels cannot be known here).
 */
import { GaussianMixture, modelFrom, type GaussianMixtureLike } from '../model/gaussian-mixture.js';
import { InvalidModelError, NotPositiveDefiniteError } from '../errors.js';
import { checkModelName, modelContent, utf8Text } from './model-content.js';
import { withinModelFileSize } from './model-size.js';
import { DECIMAL } from './delimited.js';

/** mlpack's three serializations of a model (cereal's JSON, XML and portable binary archives), as its `.json`, `.xml` and `.bin` file names pick them. */
export type MlpackFormat = 'json' | 'xml' | 'bin';

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Intermediate form shared by the three readers
// ────────────────────────────────────────────────────────────────────────────────────────────────

interface RawMatrix {
  rows: number;
  cols: number;
  vecState: number;
  /** Column-major values. */
  data: Float64Array;
  /** Where the matrix starts ("line 12", "byte 32"). */
  where: string;
}

interface RawDist {
  mean: RawMatrix;
  covariance: RawMatrix;
  covLower: RawMatrix;
  invCov: RawMatrix;
  logDetCov: number;
  where: string;
}

interface RawModel {
  gaussians: number;
  dimensionality: number;
  dists: RawDist[];
  weights: RawMatrix;
  /** Where `gaussians`, `dimensionality` and `dists` are. */
  whereGaussians: string;
  whereDimensionality: string;
  whereDists: string;
}

/** The error every reader throws: "<name>: <where>: <what>". */
function fail(name: string, where: string, what: string): never {
  throw new InvalidModelError(where ? `${name}: ${where}: ${what}` : `${name}: ${what}`);
}

const MATRIX_FIELDS = ['mean', 'covariance', 'covLower', 'invCov'] as const;

/** Checks the dimensions and builds the model (full covariance, weights exactly as stored). */
function buildModel(raw: RawModel, name: string): GaussianMixture {
  const k = raw.gaussians;
  const d = raw.dimensionality;
  if (k < 1) fail(name, raw.whereGaussians, `model.gaussians is ${k}; a model needs at least one Gaussian`);
  if (d < 1) fail(name, raw.whereDimensionality, `model.dimensionality is ${d}; it must be at least 1`);
  if (raw.dists.length !== k) {
    fail(name, raw.whereDists, `model.gaussians is ${k} but model.dists has ${raw.dists.length} entries`);
  }
  const w = raw.weights;
  if (w.rows !== k || w.cols !== 1) {
    fail(name, w.where, `model.weights is ${w.rows}×${w.cols} but must be ${k}×1 (gaussians = ${k})`);
  }
  const means: number[][] = [];
  const covariances: number[][][] = [];
  for (let c = 0; c < k; c++) {
    const dist = raw.dists[c]!;
    for (const field of MATRIX_FIELDS) {
      const m = dist[field];
      const cols = field === 'mean' ? 1 : d;
      if (m.rows !== d || m.cols !== cols) {
        fail(name, m.where, `model.dists[${c}].${field} is ${m.rows}×${m.cols} but must be ${d}×${cols} (dimensionality = ${d})`);
      }
    }
    means.push(Array.from(dist.mean.data));
    const cov: number[][] = [];
    for (let i = 0; i < d; i++) {
      const row: number[] = [];
      for (let j = 0; j < d; j++) row.push(dist.covariance.data[i + j * d]!);
      cov.push(row);
    }
    covariances.push(cov);
  }
  // Weights that sum to 1 up to rounding are kept as stored (as mlpack uses them); errors keep their
  // class (a NotPositiveDefiniteError its component), prefixed as fail() does.
  return modelFrom({ covarianceType: 'full', weights: Array.from(w.data), means, covariances }, `${name}: invalid model parameters: `);
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Text helpers
// ────────────────────────────────────────────────────────────────────────────────────────────────

function decodeText(content: string | Uint8Array, name: string): string {
  const text = utf8Text(content, name);
  if (text === null) fail(name, '', 'the file is not valid UTF-8 text');
  return text;
}

/**
 * 1-based line of a character offset, by scanning the text before it: for an error message only.
 * Where many offsets are looked up (every matrix's `where`), use {@link lineFinder}.
 */
function lineOf(text: string, pos: number): number {
  let line = 1;
  const end = Math.min(pos, text.length);
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * `lineOf` for many offsets of one text: the newlines' offsets are listed once, on the first
 * lookup, then each lookup is a binary search. (Scanning from the start for every matrix made
 * reading a model quadratic in its size: 14 s for K = 400, D = 10.)
 */
function lineFinder(text: string): (pos: number) => number {
  let newlines: number[] | null = null;
  return (pos) => {
    if (!newlines) {
      newlines = [];
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines.push(i);
    }
    const end = Math.min(pos, text.length);
    // The number of newlines before `end`.
    let lo = 0, hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (newlines[mid]! < end) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

const MAX_DEPTH = 64;

/** A non-negative integer: a number, or a string of digits (mlpack writes `uword`s as strings). */
function toCount(v: number | string): number | null {
  if (typeof v === 'string') {
    if (!/^[0-9]{1,16}$/.test(v)) return null;
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : null;
  }
  return Number.isSafeInteger(v) && v >= 0 ? v : null;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// JSON: a parser that keeps duplicate keys in order
// ────────────────────────────────────────────────────────────────────────────────────────────────

type JsonValue =
  | { kind: 'object'; entries: [string, JsonValue][]; pos: number }
  | { kind: 'array'; items: JsonValue[]; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'literal'; value: boolean | null; pos: number };

class JsonParser {
  private i = 0;
  constructor(private readonly s: string, private readonly name: string) {}

  private fail(pos: number, what: string): never {
    fail(this.name, `line ${lineOf(this.s, pos)}`, what);
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  private describe(pos: number): string {
    return pos >= this.s.length ? 'end of file (truncated?)' : JSON.stringify(this.s.slice(pos, pos + 12));
  }

  parseDocument(): JsonValue {
    this.ws();
    if (this.i >= this.s.length) this.fail(this.i, 'the file is empty (expected a JSON object)');
    const v = this.value(0);
    this.ws();
    if (this.i < this.s.length) this.fail(this.i, `unexpected ${this.describe(this.i)} after the end of the JSON document`);
    return v;
  }

  private value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(this.i, `nesting deeper than ${MAX_DEPTH} levels`);
    const s = this.s;
    const pos = this.i;
    const c = s[pos];
    if (c === '{') {
      this.i++;
      const entries: [string, JsonValue][] = [];
      this.ws();
      if (s[this.i] === '}') {
        this.i++;
        return { kind: 'object', entries, pos };
      }
      for (;;) {
        this.ws();
        if (s[this.i] !== '"') this.fail(this.i, `expected a key (a string) but found ${this.describe(this.i)}`);
        const key = this.string();
        this.ws();
        if (s[this.i] !== ':') this.fail(this.i, `expected ':' after key "${key}" but found ${this.describe(this.i)}`);
        this.i++;
        this.ws();
        entries.push([key, this.value(depth + 1)]);
        this.ws();
        if (s[this.i] === ',') {
          this.i++;
          continue;
        }
        if (s[this.i] === '}') {
          this.i++;
          return { kind: 'object', entries, pos };
        }
        this.fail(this.i, `expected ',' or '}' but found ${this.describe(this.i)}`);
      }
    }
    if (c === '[') {
      this.i++;
      const items: JsonValue[] = [];
      this.ws();
      if (s[this.i] === ']') {
        this.i++;
        return { kind: 'array', items, pos };
      }
      for (;;) {
        this.ws();
        items.push(this.value(depth + 1));
        this.ws();
        if (s[this.i] === ',') {
          this.i++;
          continue;
        }
        if (s[this.i] === ']') {
          this.i++;
          return { kind: 'array', items, pos };
        }
        this.fail(this.i, `expected ',' or ']' but found ${this.describe(this.i)}`);
      }
    }
    if (c === '"') return { kind: 'string', value: this.string(), pos };
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (s.startsWith(word, pos)) {
        this.i += word.length;
        return { kind: 'literal', value, pos };
      }
    }
    this.fail(pos, pos >= s.length ? 'unexpected end of file (truncated?)' : `expected a value but found ${this.describe(pos)}`);
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    this.i++; // opening quote
    let out = '';
    let run = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail(start, 'unterminated string (truncated?)');
      const c = s.charCodeAt(this.i);
      if (c === 34) {
        out += s.slice(run, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail(this.i, 'control character inside a string');
      if (c === 92) {
        out += s.slice(run, this.i);
        const e = s[this.i + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in map) {
          out += map[e];
          this.i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(this.i + 2, this.i + 6))) {
          out += String.fromCharCode(parseInt(s.slice(this.i + 2, this.i + 6), 16));
          this.i += 6;
        } else this.fail(this.i, 'invalid escape sequence in a string');
        run = this.i;
        continue;
      }
      this.i++;
    }
  }

  private number(): JsonValue {
    const pos = this.i;
    const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    m.lastIndex = pos;
    const r = m.exec(this.s);
    if (!r) this.fail(pos, `malformed number ${this.describe(pos)}`);
    this.i = pos + r[0].length;
    const next = this.s[this.i];
    if (next !== undefined && /[0-9A-Za-z.+\-]/.test(next)) {
      const token = /[^\s,\]}]{1,40}/y;
      token.lastIndex = pos;
      this.fail(pos, `malformed number ${JSON.stringify(token.exec(this.s)?.[0] ?? '')}`);
    }
    const value = Number(r[0]);
    if (!Number.isFinite(value)) this.fail(pos, `number ${r[0]} is out of the range of a double`);
    return { kind: 'number', value, pos };
  }
}

/** Reads fields of a JSON object by name (first occurrence; repeated keys kept for "elem"). */
class JsonObjectReader {
  constructor(
    private readonly obj: Extract<JsonValue, { kind: 'object' }>,
    private readonly path: string,
    private readonly ctx: JsonContext,
  ) {}

  has(key: string): boolean {
    return this.obj.entries.some(([k]) => k === key);
  }

  /** The path of a field: `model.gaussians`, or `model` at the top level (no leading dot). */
  private pathOf(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  get(key: string): JsonValue {
    let found: JsonValue | undefined;
    for (const [k, v] of this.obj.entries) {
      if (k !== key) continue;
      if (found) this.ctx.fail(v.pos, `${this.path || 'the top level'} has the key "${key}" more than once`);
      found = v;
    }
    if (!found) this.ctx.fail(this.obj.pos, `${this.path || 'the top level'} has no "${key}" field`);
    return found;
  }

  count(key: string): number {
    const v = this.get(key);
    const n = v.kind === 'number' || v.kind === 'string' ? toCount(v.value) : null;
    if (n === null) {
      this.ctx.fail(v.pos, `${this.pathOf(key)} must be a non-negative integer, found ${describeJson(v)}`);
    }
    return n;
  }

  number(key: string): number {
    const v = this.get(key);
    if (v.kind !== 'number') this.ctx.fail(v.pos, `${this.pathOf(key)} must be a number, found ${describeJson(v)}`);
    return v.value;
  }

  object(key: string): JsonObjectReader {
    const v = this.get(key);
    if (v.kind !== 'object') this.ctx.fail(v.pos, `${this.pathOf(key)} must be an object, found ${describeJson(v)}`);
    return new JsonObjectReader(v, this.pathOf(key), this.ctx);
  }

  /** An Armadillo matrix: n_rows, n_cols, vec_state, then the column-major "elem" values. */
  matrix(key: string): RawMatrix {
    const m = this.object(key);
    const rows = m.count('n_rows');
    const cols = m.count('n_cols');
    const vecState = m.count('vec_state');
    const path = this.pathOf(key);
    if (vecState > 2) this.ctx.fail(m.obj.pos, `${path}.vec_state is ${vecState}; it must be 0, 1 or 2`);
    const elems = m.obj.entries.filter(([k]) => k === 'elem').map(([, v]) => v);
    if (elems.length !== rows * cols) {
      this.ctx.fail(
        m.obj.pos,
        `${path} is ${rows}×${cols} (${rows * cols} values) but has ${elems.length} "elem" value${elems.length === 1 ? '' : 's'}`,
      );
    }
    const data = new Float64Array(elems.length);
    elems.forEach((v, i) => {
      if (v.kind !== 'number') this.ctx.fail(v.pos, `${path}: elem ${i} must be a number, found ${describeJson(v)}`);
      data[i] = v.value;
    });
    return { rows, cols, vecState, data, where: this.ctx.where(m.obj.pos) };
  }
}

interface JsonContext {
  fail(pos: number, what: string): never;
  where(pos: number): string;
}

function describeJson(v: JsonValue): string {
  switch (v.kind) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'string':
      return `the string ${JSON.stringify(v.value.length > 30 ? v.value.slice(0, 30) + '…' : v.value)}`;
    case 'number':
      return `the number ${v.value}`;
    default:
      return String(v.value);
  }
}

function readJson(text: string, name: string): RawModel {
  const root = new JsonParser(text, name).parseDocument();
  const line = lineFinder(text);
  const ctx: JsonContext = {
    fail: (pos, what) => fail(name, `line ${line(pos)}`, what),
    where: (pos) => `line ${line(pos)}`,
  };
  if (root.kind !== 'object') ctx.fail(root.pos, `the top level must be an object with the key "model", found ${describeJson(root)}`);
  if (!root.entries.some(([k]) => k === 'model')) {
    const keys = root.entries.map(([k]) => JSON.stringify(k)).join(', ');
    ctx.fail(root.pos, `the top-level key must be "model" (mlpack's name for a GMM), found ${keys || 'no key'}`);
  }
  const model = new JsonObjectReader(root, '', ctx).object('model');
  return readModelFields(model, ctx, () => {
    const distsValue = model.get('dists');
    if (distsValue.kind !== 'array') ctx.fail(distsValue.pos, `model.dists must be an array, found ${describeJson(distsValue)}`);
    return distsValue.items.map((item, c) => {
      const path = `model.dists[${c}]`;
      if (item.kind !== 'object') ctx.fail(item.pos, `${path} must be an object, found ${describeJson(item)}`);
      return { reader: new JsonObjectReader(item, path, ctx), pos: item.pos };
    });
  });
}

/** What the JSON and XML readers share: the same fields, read the same way from either syntax. */
interface FieldReader {
  has(key: string): boolean;
  get(key: string): { pos: number };
  count(key: string): number;
  number(key: string): number;
  matrix(key: string): RawMatrix;
}

/** The model's fields in mlpack's order; `dists` lists one reader per Gaussian. */
function readModelFields(model: FieldReader, ctx: JsonContext, dists: () => { reader: FieldReader; pos: number }[]): RawModel {
  model.count('cereal_class_version');
  const gaussians = model.count('gaussians');
  const dimensionality = model.count('dimensionality');
  const raw = dists().map(({ reader: r, pos }, c): RawDist => {
    // cereal writes the class version with the first instance of a type only, and reads it there.
    if (c === 0 || r.has('cereal_class_version')) r.count('cereal_class_version');
    return {
      mean: r.matrix('mean'),
      covariance: r.matrix('covariance'),
      covLower: r.matrix('covLower'),
      invCov: r.matrix('invCov'),
      logDetCov: r.number('logDetCov'),
      where: ctx.where(pos),
    };
  });
  const weights = model.matrix('weights');
  return {
    gaussians,
    dimensionality,
    dists: raw,
    weights,
    whereGaussians: ctx.where(model.get('gaussians').pos),
    whereDimensionality: ctx.where(model.get('dimensionality').pos),
    whereDists: ctx.where(model.get('dists').pos),
  };
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// XML: a small parser for what cereal's XMLOutputArchive (rapidxml) writes
// ────────────────────────────────────────────────────────────────────────────────────────────────

interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  text: string;
  pos: number;
}

class XmlParser {
  private i = 0;
  constructor(private readonly s: string, private readonly name: string) {}

  private fail(pos: number, what: string): never {
    fail(this.name, `line ${lineOf(this.s, pos)}`, what);
  }

  private describe(pos: number): string {
    return pos >= this.s.length ? 'end of file (truncated?)' : JSON.stringify(this.s.slice(pos, pos + 12));
  }

  /** Skips whitespace, comments and processing instructions (the prolog's `<?xml …?>`). */
  private misc(): void {
    const s = this.s;
    for (;;) {
      while (this.i < s.length && /\s/.test(s[this.i]!)) this.i++;
      if (s.startsWith('<?', this.i)) {
        const end = s.indexOf('?>', this.i + 2);
        if (end < 0) this.fail(this.i, 'unterminated processing instruction "<?…" (truncated?)');
        this.i = end + 2;
      } else if (s.startsWith('<!--', this.i)) {
        const end = s.indexOf('-->', this.i + 4);
        if (end < 0) this.fail(this.i, 'unterminated comment (truncated?)');
        this.i = end + 3;
      } else return;
    }
  }

  parseDocument(): XmlElement {
    this.misc();
    if (this.i >= this.s.length) this.fail(this.i, 'the file holds no XML element');
    if (this.s[this.i] !== '<') this.fail(this.i, `expected an XML element but found ${this.describe(this.i)}`);
    const root = this.element(0);
    this.misc();
    if (this.i < this.s.length) this.fail(this.i, `unexpected ${this.describe(this.i)} after the root element`);
    return root;
  }

  private nameAt(): string {
    const m = /[A-Za-z_:][A-Za-z0-9_:.\-]*/y;
    m.lastIndex = this.i;
    const r = m.exec(this.s);
    if (!r) this.fail(this.i, `expected a name but found ${this.describe(this.i)}`);
    this.i += r[0].length;
    return r[0];
  }

  private element(depth: number): XmlElement {
    if (depth > MAX_DEPTH) this.fail(this.i, `nesting deeper than ${MAX_DEPTH} levels`);
    const s = this.s;
    const pos = this.i;
    this.i++; // '<'
    const name = this.nameAt();
    const attrs = new Map<string, string>();
    for (;;) {
      const before = this.i;
      while (this.i < s.length && /\s/.test(s[this.i]!)) this.i++;
      if (this.i >= s.length) this.fail(pos, `unterminated tag <${name}> (truncated?)`);
      if (s.startsWith('/>', this.i)) {
        this.i += 2;
        return { name, attrs, children: [], text: '', pos };
      }
      if (s[this.i] === '>') {
        this.i++;
        break;
      }
      if (before === this.i) this.fail(this.i, `expected whitespace, '>' or '/>' in <${name}> but found ${this.describe(this.i)}`);
      const an = this.nameAt();
      if (s[this.i] !== '=') this.fail(this.i, `expected '=' after attribute ${an}`);
      this.i++;
      const q = s[this.i];
      if (q !== '"' && q !== "'") this.fail(this.i, `expected a quoted value for attribute ${an}`);
      const end = s.indexOf(q, this.i + 1);
      if (end < 0) this.fail(this.i, `unterminated value of attribute ${an} (truncated?)`);
      attrs.set(an, this.decode(s.slice(this.i + 1, end), this.i + 1));
      this.i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (this.i >= s.length) this.fail(pos, `element <${name}> is not closed (truncated?)`);
      const lt = s.indexOf('<', this.i);
      if (lt < 0) {
        this.i = s.length;
        this.fail(pos, `element <${name}> is not closed (truncated?)`);
      }
      if (lt > this.i) {
        text += this.decode(s.slice(this.i, lt), this.i);
        this.i = lt;
      }
      if (s.startsWith('</', this.i)) {
        const closePos = this.i;
        this.i += 2;
        const close = this.nameAt();
        while (this.i < s.length && /\s/.test(s[this.i]!)) this.i++;
        if (s[this.i] !== '>') this.fail(closePos, `unterminated closing tag </${close}> (truncated?)`);
        this.i++;
        if (close !== name) this.fail(closePos, `closing tag </${close}> does not match <${name}>`);
        if (children.length > 0 && text.trim() !== '') this.fail(pos, `element <${name}> mixes text and elements`);
        return { name, attrs, children, text: children.length > 0 ? '' : text, pos };
      }
      if (s.startsWith('<!--', this.i)) {
        const end = s.indexOf('-->', this.i + 4);
        if (end < 0) this.fail(this.i, 'unterminated comment (truncated?)');
        this.i = end + 3;
        continue;
      }
      if (s.startsWith('<![CDATA[', this.i)) {
        const end = s.indexOf(']]>', this.i + 9);
        if (end < 0) this.fail(this.i, 'unterminated CDATA section (truncated?)');
        text += s.slice(this.i + 9, end);
        this.i = end + 3;
        continue;
      }
      if (s.startsWith('<?', this.i) || s.startsWith('<!', this.i)) {
        this.fail(this.i, `unexpected ${this.describe(this.i)} inside <${name}>`);
      }
      children.push(this.element(depth + 1));
    }
  }

  private decode(raw: string, pos: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&\s]{0,10});?/g, (all, ent: string) => {
      const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
      if (all.endsWith(';')) {
        if (ent in named) return named[ent]!;
        const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(ent);
        if (m) {
          const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
          if (code <= 0x10ffff) return String.fromCodePoint(code);
        }
      }
      this.fail(pos, `invalid character reference "${all}"`);
    });
  }
}

class XmlElementReader {
  constructor(
    readonly el: XmlElement,
    private readonly path: string,
    private readonly ctx: JsonContext,
  ) {}

  /** The path of a field: `model.gaussians`, or `model` at the top level (no leading dot). */
  private pathOf(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  get(key: string): XmlElement {
    let found: XmlElement | undefined;
    for (const c of this.el.children) {
      if (c.name !== key) continue;
      if (found) this.ctx.fail(c.pos, `${this.path || '<cereal>'} has the element <${key}> more than once`);
      found = c;
    }
    if (!found) this.ctx.fail(this.el.pos, `${this.path || '<cereal>'} has no <${key}> element`);
    return found;
  }

  has(key: string): boolean {
    return this.el.children.some((c) => c.name === key);
  }

  private leafText(e: XmlElement, path: string): string {
    if (e.children.length > 0) this.ctx.fail(e.pos, `${path} must hold a value, not elements`);
    return e.text.trim();
  }

  count(key: string): number {
    const e = this.get(key);
    const t = this.leafText(e, this.pathOf(key));
    const n = toCount(t);
    if (n === null) this.ctx.fail(e.pos, `${this.pathOf(key)} must be a non-negative integer, found ${JSON.stringify(t)}`);
    return n;
  }

  numberOf(e: XmlElement, path: string): number {
    const t = this.leafText(e, path);
    if (!DECIMAL.test(t)) this.ctx.fail(e.pos, `${path} must be a number, found ${JSON.stringify(t.length > 30 ? t.slice(0, 30) + '…' : t)}`);
    const v = Number(t);
    if (!Number.isFinite(v)) this.ctx.fail(e.pos, `${path}: ${t} is out of the range of a double`);
    return v;
  }

  number(key: string): number {
    return this.numberOf(this.get(key), this.pathOf(key));
  }

  child(key: string): XmlElementReader {
    return new XmlElementReader(this.get(key), this.pathOf(key), this.ctx);
  }

  matrix(key: string): RawMatrix {
    const m = this.child(key);
    const path = this.pathOf(key);
    const rows = m.count('n_rows');
    const cols = m.count('n_cols');
    const vecState = m.count('vec_state');
    if (vecState > 2) this.ctx.fail(m.el.pos, `${path}.vec_state is ${vecState}; it must be 0, 1 or 2`);
    const elems = m.el.children.filter((c) => c.name === 'elem');
    if (elems.length !== rows * cols) {
      this.ctx.fail(
        m.el.pos,
        `${path} is ${rows}×${cols} (${rows * cols} values) but has ${elems.length} <elem> value${elems.length === 1 ? '' : 's'}`,
      );
    }
    const data = new Float64Array(elems.length);
    elems.forEach((e, i) => (data[i] = m.numberOf(e, `${path}: elem ${i}`)));
    return { rows, cols, vecState, data, where: this.ctx.where(m.el.pos) };
  }
}

function readXml(text: string, name: string): RawModel {
  const root = new XmlParser(text, name).parseDocument();
  const line = lineFinder(text);
  const ctx: JsonContext = {
    fail: (pos, what) => fail(name, `line ${line(pos)}`, what),
    where: (pos) => `line ${line(pos)}`,
  };
  if (root.name !== 'cereal') ctx.fail(root.pos, `the root element must be <cereal>, found <${root.name}>`);
  if (!root.children.some((c) => c.name === 'model')) {
    const names = root.children.map((c) => `<${c.name}>`).join(', ');
    ctx.fail(root.pos, `the top-level element must be <model> (mlpack's name for a GMM), found ${names || 'none'}`);
  }
  const model = new XmlElementReader(root, '', ctx).child('model');
  return readModelFields(model, ctx, () =>
    model.get('dists').children.map((item, c) => ({ reader: new XmlElementReader(item, `model.dists[${c}]`, ctx), pos: item.pos })),
  );
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Binary: cereal's BinaryInputArchive (native little-endian, sizes as uint64)
// ────────────────────────────────────────────────────────────────────────────────────────────────

class BinReader {
  off = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, private readonly name: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(at: number, what: string): never {
    fail(this.name, `byte ${at}`, what);
  }

  private need(n: number, what: string): void {
    const left = this.bytes.length - this.off;
    if (left < n) {
      this.fail(this.off, `unexpected end of data reading ${what} (needs ${n} bytes, ${left} left; truncated?)`);
    }
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.off, true);
    this.off += 4;
    return v;
  }

  u64(what: string): number {
    this.need(8, what);
    const at = this.off;
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    this.off += 8;
    if (hi >= 0x200000) this.fail(at, `${what} = ${(BigInt(hi) << 32n) | BigInt(lo)} is implausibly large`);
    return hi * 2 ** 32 + lo;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.off, true);
    if (!Number.isFinite(v)) this.fail(this.off, `${what} is ${v}, not a finite number`);
    this.off += 8;
    return v;
  }

  matrix(path: string): RawMatrix {
    const at = this.off;
    const rows = this.u64(`${path}.n_rows`);
    const cols = this.u64(`${path}.n_cols`);
    const vecState = this.u64(`${path}.vec_state`);
    if (vecState > 2) this.fail(at + 16, `${path}.vec_state is ${vecState}; it must be 0, 1 or 2`);
    const n = rows * cols;
    const left = this.bytes.length - this.off;
    if (n * 8 > left) {
      this.fail(this.off, `${path} is ${rows}×${cols} (${n * 8} bytes of values) but only ${left} bytes are left (truncated?)`);
    }
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = this.f64(`${path}: elem ${i}`);
    return { rows, cols, vecState, data, where: `byte ${at}` };
  }
}

function readBin(content: string | Uint8Array, name: string): RawModel {
  if (!(content instanceof Uint8Array)) fail(name, '', 'binary content must be a Uint8Array, not a string');
  const r = new BinReader(content, name);
  r.u32('model.cereal_class_version');
  const whereGaussians = `byte ${r.off}`;
  const gaussians = r.u64('model.gaussians');
  const whereDimensionality = `byte ${r.off}`;
  const dimensionality = r.u64('model.dimensionality');
  const whereDists = `byte ${r.off}`;
  const count = r.u64('the length of model.dists');
  if (count !== gaussians) r.fail(r.off - 8, `model.gaussians is ${gaussians} but model.dists has ${count} entries`);
  // Each distribution takes at least 4 matrix headers (24 bytes) and logDetCov (8 bytes).
  if (count * 104 > content.length - r.off) {
    r.fail(r.off - 8, `model.dists claims ${count} entries but only ${content.length - r.off} bytes are left (truncated?)`);
  }
  const dists: RawDist[] = [];
  for (let c = 0; c < count; c++) {
    const path = `model.dists[${c}]`;
    const where = `byte ${r.off}`;
    if (c === 0) r.u32(`${path}.cereal_class_version`);
    dists.push({
      mean: r.matrix(`${path}.mean`),
      covariance: r.matrix(`${path}.covariance`),
      covLower: r.matrix(`${path}.covLower`),
      invCov: r.matrix(`${path}.invCov`),
      logDetCov: r.f64(`${path}.logDetCov`),
      where,
    });
  }
  const weights = r.matrix('model.weights');
  if (r.off !== content.length) {
    r.fail(r.off, `${content.length - r.off} unexpected bytes after the end of the model`);
  }
  return { gaussians, dimensionality, dists, weights, whereGaussians, whereDimensionality, whereDists };
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Public API
// ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Parses a GMM model file written by mlpack (`gmm_train --output_model_file x.json|x.xml|x.bin`).
 * Returns a full-covariance {@link GaussianMixture} with the weights, means and covariances as
 * stored (a model trained with `--diagonal_covariance` comes back with zero off-diagonals, which
 * is what mlpack stores). The stored `covLower`, `invCov` and `logDetCov` must be present and of
 * the right size but are not used (they are derived from the covariance); when they disagree with
 * it (a file edited by hand, where mlpack would use the stale factors), `onNote` is told.
 *
 * Integer fields are accepted both as numbers and as strings of digits (mlpack writes
 * `n_rows`/`n_cols`/`vec_state` as strings and would reject numbers there).
 *
 * @param content the file's text (`json`, `xml`; bytes are decoded as UTF-8) or bytes (`bin`): a
 *   Uint8Array, Buffer or ArrayBuffer
 * @param name the file name; every error message starts with it
 * @param onNote receives a line for a model whose stored factors do not match its covariances
 * @throws InvalidModelError for any malformed input, saying what is wrong and where (a line for
 *   JSON and XML, a byte offset for binary)
 */
export function parseMlpackModel(content: string | Uint8Array | ArrayBuffer, format: MlpackFormat, name: string, onNote?: (note: string) => void): GaussianMixture {
  content = modelContent(content, 'parseMlpackModel');
  checkModelName(name, 'parseMlpackModel');
  let raw: RawModel;
  try {
    switch (format) {
      case 'json':
        raw = readJson(decodeText(content, name), name);
        break;
      case 'xml':
        raw = readXml(decodeText(content, name), name);
        break;
      case 'bin':
        raw = readBin(content, name);
        break;
      default:
        fail(name, '', `unknown format ${JSON.stringify(format)} (expected 'json', 'xml' or 'bin')`);
    }
  } catch (e) {
    if (e instanceof InvalidModelError) throw e;
    // Safety net: a malformed file must never surface as a raw TypeError/RangeError.
    fail(name, '', `cannot be read as an mlpack ${format} model (${e instanceof Error ? e.message : String(e)})`);
  }
  const model = buildModel(raw, name);
  const stale = raw.dists.flatMap((dist, c) => (factorsMatch(dist, model, c) ? [] : [c]));
  if (stale.length > 0 && onNote) {
    onNote(
      `${name}: the stored covLower / invCov / logDetCov of component${stale.length > 1 ? 's' : ''} ${stale.join(', ')} do not match ${stale.length > 1 ? 'their covariances' : 'its covariance'} (edited by hand?): ` +
        'webgmm uses the covariances, mlpack the stored factors, so the two give different densities for this file',
    );
  }
  return model;
}

/**
 * Whether a Gaussian's stored factors are those of its covariance (to 1e-6 relative): the
 * log-determinant, the Cholesky factor, and the inverse's diagonal — O(D²), where a full check of
 * the inverse would cost the O(D³) the model's own factorization already took.
 */
function factorsMatch(dist: RawDist, model: GaussianMixture, c: number): boolean {
  const d = model.dimensionality;
  const tol = 1e-6;
  const ld = model.logDets[c]!;
  if (!(Math.abs(dist.logDetCov - ld) <= tol * Math.max(1, Math.abs(ld)))) return false;
  const L = model.choleskyFactors, P = model.precisionFactors, o = c * d * d;
  let scale = 0;
  for (let t = 0; t < d * d; t++) scale = Math.max(scale, Math.abs(L[o + t]!));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      if (!(Math.abs(dist.covLower.data[i + j * d]! - L[o + i * d + j]!) <= tol * scale)) return false;
    }
    // (Σ⁻¹)_ii = Σ_k P_ki² with P = L⁻¹ lower-triangular.
    let inv = 0;
    for (let k = i; k < d; k++) inv += P[o + k * d + i]! ** 2;
    if (!(Math.abs(dist.invCov.data[i + i * d]! - inv) <= tol * inv)) return false;
  }
  return true;
}

/** What mlpack stores for one Gaussian, column-major. */
interface DistFields {
  mean: Float64Array;
  covariance: Float64Array;
  covLower: Float64Array;
  invCov: Float64Array;
  logDetCov: number;
}

/**
 * Serializes a model exactly as mlpack writes it: the same fields in the same order, the same
 * layout and number formatting as mlpack 4.x's cereal archives, and `covLower`, `invCov`,
 * `logDetCov` computed from the covariance the way mlpack computes them. A diagonal model is
 * written as a full one with zero off-diagonals (what mlpack does). Returns a string for `json`
 * and `xml`, bytes for `bin`.
 *
 * `model` is a {@link GaussianMixture} or anything {@link GaussianMixture.from} accepts (its
 * plain-object form, a structuredClone of a model), which is validated first.
 * @throws InvalidModelError (or its subclass NotPositiveDefiniteError) for an invalid plain-object
 *   model, or a covariance mlpack's Cholesky factorization rejects.
 */
export function serializeMlpackModel(model: GaussianMixtureLike, format: 'bin'): Uint8Array;
export function serializeMlpackModel(model: GaussianMixtureLike, format: 'json' | 'xml'): string;
export function serializeMlpackModel(model: GaussianMixtureLike, format: MlpackFormat): string | Uint8Array;
export function serializeMlpackModel(input: GaussianMixtureLike, format: MlpackFormat): string | Uint8Array {
  const model = modelFrom(input, 'serializeMlpackModel: ');
  if (format !== 'json' && format !== 'xml' && format !== 'bin') {
    throw new InvalidModelError(`serializeMlpackModel: unknown format ${JSON.stringify(format)} (expected 'json', 'xml' or 'bin')`);
  }
  return withinModelFileSize('serializeMlpackModel', `mlpack-${format}`, model.gaussians, model.dimensionality, model.covarianceType, () => mlpackModelFile(model, format));
}

function mlpackModelFile(model: GaussianMixture, format: MlpackFormat): string | Uint8Array {
  const k = model.gaussians;
  const d = model.dimensionality;
  const dists: DistFields[] = [];
  for (let c = 0; c < k; c++) {
    const covariance = new Float64Array(d * d);
    if (model.covarianceType === 'full') {
      const o = c * d * d;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) covariance[i + j * d] = model.covariances[o + i * d + j]!;
    } else {
      for (let i = 0; i < d; i++) covariance[i + i * d] = model.covariances[c * d + i]!;
    }
    const factors = model.covarianceType === 'diagonal' && d > 2 ? diagonalFactors(covariance, d) : generalFactors(covariance, d);
    if (!factors) throw new NotPositiveDefiniteError(c, `serializeMlpackModel: covariance of component ${c} is not positive definite`);
    const { covLower, invCov } = factors;
    const logDetCov = armaLogDetTrimat(covLower, d) * 2;
    // mlpack's archive stores Σ⁻¹, which overflows where a variance is below ~1/1.8e308 (webgmm's own
    // evaluation needs only L⁻¹): refused in every format alike, before a file that no reader takes.
    if (!invCov.every(Number.isFinite) || !Number.isFinite(logDetCov)) {
      throw new InvalidModelError(
        `serializeMlpackModel: the inverse covariance of component ${c} overflows float64 (a variance, or the variance along some direction, below about 5.6e-309), and mlpack's model format stores it; write webgmm's JSON instead`,
      );
    }
    dists.push({ mean: model.means.slice(c * d, (c + 1) * d), covariance, covLower, invCov, logDetCov });
  }
  switch (format) {
    case 'json':
      return writeJson(k, d, dists, model.weights);
    case 'xml':
      return writeXml(k, d, dists, model.weights);
    case 'bin':
      return writeBin(k, d, dists, model.weights);
  }
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// mlpack's derived fields (GaussianDistribution::FactorCovariance), column-major D×D
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** mlpack's Cholesky factor of a covariance and its inverse covariance; null where it is not positive definite. */
function generalFactors(covariance: Float64Array, d: number): { covLower: Float64Array; invCov: Float64Array } | null {
  const covLower = mlpackCholLower(covariance, d);
  return covLower && { covLower, invCov: armaAtA(armaInvTrimatl(covLower, d), d) };
}

/**
 * {@link generalFactors} of a diagonal covariance (D > 2, where Armadillo's inverse takes the
 * reciprocals; its 2×2 closed form divides by the determinant), in O(D²) rather than O(D³) — the
 * same bits: every product with an off-diagonal entry is +0, so the Cholesky factor's diagonal is
 * √Σ_jj and the inverse's (1/√Σ_jj)². 3000 dimensions took 86 s to write.
 */
function diagonalFactors(covariance: Float64Array, d: number): { covLower: Float64Array; invCov: Float64Array } | null {
  const covLower = new Float64Array(d * d);
  const invCov = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const v = covariance[j + j * d]!;
    if (!(v > 0) || !Number.isFinite(v)) return null;
    const l = Math.sqrt(v);
    const inv = 1 / l;
    covLower[j + j * d] = l;
    invCov[j + j * d] = inv * inv;
  }
  return { covLower, invCov };
}

/**
 * `arma::chol(L, Σ, "lower")`: LAPACK dpotrf as OpenBLAS runs it for small matrices (`potf2_L`):
 * L_jj = √(Σ_jj − Σ_k L_jk²), then the column below is (Σ_ij − Σ_k L_ik L_jk) · (1 / L_jj).
 * Returns null when Σ is not positive definite.
 */
function mlpackCholLower(a: Float64Array, d: number): Float64Array | null {
  const l = new Float64Array(d * d);
  for (let j = 0; j < d; j++) for (let i = j; i < d; i++) l[i + j * d] = a[i + j * d]!;
  for (let j = 0; j < d; j++) {
    let dot = 0;
    for (let k = 0; k < j; k++) dot += l[j + k * d]! * l[j + k * d]!;
    let ajj = l[j + j * d]! - dot;
    if (!(ajj > 0) || !Number.isFinite(ajj)) return null;
    ajj = Math.sqrt(ajj);
    l[j + j * d] = ajj;
    for (let i = j + 1; i < d; i++) {
      let y = l[i + j * d]!;
      for (let k = 0; k < j; k++) y -= l[j + k * d]! * l[i + k * d]!;
      l[i + j * d] = y;
    }
    const r = 1 / ajj;
    for (let i = j + 1; i < d; i++) l[i + j * d] = l[i + j * d]! * r;
  }
  return l;
}

/**
 * `arma::inv(arma::trimatl(L))`: Armadillo's closed forms for N = 1 and N = 2 (the 2×2 formula
 * from the determinant, used when |det| is within [ε, 1/ε]), otherwise the reciprocal of a
 * diagonal matrix or LAPACK dtrtri (unblocked `dtrti2`, lower, non-unit).
 */
function armaInvTrimatl(l: Float64Array, d: number): Float64Array {
  const x = Float64Array.from(l);
  if (d === 1) {
    x[0] = 1 / l[0]!;
    return x;
  }
  if (d === 2) {
    const a = l[0]!, c = l[1]!, b = l[2]!, dd = l[3]!;
    const det = a * dd - b * c;
    const abs = Math.abs(det);
    if (!(abs < Number.EPSILON) && !(abs > 1 / Number.EPSILON)) {
      x[0] = dd / det;
      x[2] = -b / det;
      x[1] = -c / det;
      x[3] = a / det;
      return x;
    }
  }
  let diagonal = true;
  for (let j = 0; j < d && diagonal; j++) for (let i = 0; i < d; i++) if (i !== j && x[i + j * d] !== 0) diagonal = false;
  if (diagonal) {
    for (let i = 0; i < d; i++) x[i + i * d] = 1 / x[i + i * d]!;
    return x;
  }
  for (let j = 0; j < d; j++) for (let i = 0; i < j; i++) x[i + j * d] = 0;
  for (let j = d - 1; j >= 0; j--) {
    x[j + j * d] = 1 / x[j + j * d]!;
    const ajj = -x[j + j * d]!;
    // x(j+1:n, j) := T · x(j+1:n, j), T = the already inverted trailing block (dtrmv 'L','N','N').
    for (let jj = d - 1; jj > j; jj--) {
      const t = x[jj + j * d]!;
      if (t !== 0) {
        for (let ii = d - 1; ii > jj; ii--) x[ii + j * d] = x[ii + j * d]! + t * x[ii + jj * d]!;
        x[jj + j * d] = t * x[jj + jj * d]!;
      }
    }
    for (let i = j + 1; i < d; i++) x[i + j * d] = x[i + j * d]! * ajj;
  }
  return x;
}

/** Armadillo's `op_dot::direct_dot_arma`: two interleaved accumulators. */
function armaDot(n: number, a: Float64Array, ao: number, b: Float64Array, bo: number): number {
  let v1 = 0;
  let v2 = 0;
  let i = 0;
  let j = 1;
  for (; j < n; i += 2, j += 2) {
    v1 += a[ao + i]! * b[bo + i]!;
    v2 += a[ao + j]! * b[bo + j]!;
  }
  if (i < n) v1 += a[ao + i]! * b[bo + i]!;
  return v1 + v2;
}

/** `X.t() * X` (Armadillo's `syrk` emulation: dot products of columns). */
function armaAtA(x: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = armaDot(d, x, a * d, x, b * d);
      out[a + b * d] = v;
      out[b + a * d] = v;
    }
  }
  return out;
}

/** `arma::log_det` of a triangular matrix with a positive diagonal: Σ log L_ii. */
function armaLogDetTrimat(l: Float64Array, d: number): number {
  let v = Math.log(l[0]!);
  for (let i = 1; i < d; i++) v += Math.log(l[i + i * d]!);
  return v;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Writers
// ────────────────────────────────────────────────────────────────────────────────────────────────

function writeJson(k: number, d: number, dists: DistFields[], weights: Float64Array): string {
  const out: string[] = [];
  const ind = (n: number): string => ' '.repeat(4 * n);
  const matrix = (key: string, data: ArrayLike<number>, rows: number, cols: number, vec: boolean, level: number, last: boolean): void => {
    out.push(`${ind(level)}"${key}": {`);
    out.push(`${ind(level + 1)}"n_rows": "${rows}",`);
    out.push(`${ind(level + 1)}"n_cols": "${cols}",`);
    out.push(`${ind(level + 1)}"vec_state": "${vec ? 1 : 0}",`);
    for (let i = 0; i < data.length; i++) {
      out.push(`${ind(level + 1)}"elem": ${formatJsonDouble(data[i]!)}${i + 1 < data.length ? ',' : ''}`);
    }
    out.push(`${ind(level)}}${last ? '' : ','}`);
  };
  out.push('{');
  out.push(`${ind(1)}"model": {`);
  out.push(`${ind(2)}"cereal_class_version": 0,`);
  out.push(`${ind(2)}"gaussians": ${k},`);
  out.push(`${ind(2)}"dimensionality": ${d},`);
  out.push(`${ind(2)}"dists": [`);
  dists.forEach((g, c) => {
    out.push(`${ind(3)}{`);
    if (c === 0) out.push(`${ind(4)}"cereal_class_version": 0,`);
    matrix('mean', g.mean, d, 1, true, 4, false);
    matrix('covariance', g.covariance, d, d, false, 4, false);
    matrix('covLower', g.covLower, d, d, false, 4, false);
    matrix('invCov', g.invCov, d, d, false, 4, false);
    out.push(`${ind(4)}"logDetCov": ${formatJsonDouble(g.logDetCov)}`);
    out.push(`${ind(3)}}${c + 1 < k ? ',' : ''}`);
  });
  out.push(`${ind(2)}],`);
  matrix('weights', weights, k, 1, true, 2, true);
  out.push(`${ind(1)}}`);
  out.push('}');
  return out.join('\n');
}

function writeXml(k: number, d: number, dists: DistFields[], weights: Float64Array): string {
  const out: string[] = [];
  const ind = (n: number): string => '\t'.repeat(n);
  const leaf = (tag: string, value: string, level: number): void => {
    out.push(`${ind(level)}<${tag}>${value}</${tag}>`);
  };
  const matrix = (tag: string, data: ArrayLike<number>, rows: number, cols: number, vec: boolean, level: number): void => {
    out.push(`${ind(level)}<${tag}>`);
    leaf('n_rows', String(rows), level + 1);
    leaf('n_cols', String(cols), level + 1);
    leaf('vec_state', vec ? '1' : '0', level + 1);
    for (let i = 0; i < data.length; i++) leaf('elem', formatXmlDouble(data[i]!), level + 1);
    out.push(`${ind(level)}</${tag}>`);
  };
  out.push('<?xml version="1.0" encoding="utf-8"?>');
  out.push('<cereal>');
  out.push(`${ind(1)}<model>`);
  leaf('cereal_class_version', '0', 2);
  leaf('gaussians', String(k), 2);
  leaf('dimensionality', String(d), 2);
  out.push(`${ind(2)}<dists size="dynamic">`);
  dists.forEach((g, c) => {
    out.push(`${ind(3)}<value${c}>`);
    if (c === 0) leaf('cereal_class_version', '0', 4);
    matrix('mean', g.mean, d, 1, true, 4);
    matrix('covariance', g.covariance, d, d, false, 4);
    matrix('covLower', g.covLower, d, d, false, 4);
    matrix('invCov', g.invCov, d, d, false, 4);
    leaf('logDetCov', formatXmlDouble(g.logDetCov), 4);
    out.push(`${ind(3)}</value${c}>`);
  });
  out.push(`${ind(2)}</dists>`);
  matrix('weights', weights, k, 1, true, 2);
  out.push(`${ind(1)}</model>`);
  out.push('</cereal>');
  return out.join('\n') + '\n\n';
}

function writeBin(k: number, d: number, dists: DistFields[], weights: Float64Array): Uint8Array {
  const matrixBytes = (n: number): number => 24 + 8 * n;
  const size = 4 + 8 + 8 + 8 + 4 + k * (matrixBytes(d) + 3 * matrixBytes(d * d) + 8) + matrixBytes(k);
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  let off = 0;
  const u32 = (x: number): void => {
    v.setUint32(off, x, true);
    off += 4;
  };
  const u64 = (x: number): void => {
    v.setUint32(off, x % 2 ** 32, true);
    v.setUint32(off + 4, Math.floor(x / 2 ** 32), true);
    off += 8;
  };
  const f64 = (x: number): void => {
    v.setFloat64(off, x, true);
    off += 8;
  };
  const matrix = (data: ArrayLike<number>, rows: number, cols: number, vec: boolean): void => {
    u64(rows);
    u64(cols);
    u64(vec ? 1 : 0);
    for (let i = 0; i < data.length; i++) f64(data[i]!);
  };
  u32(0);
  u64(k);
  u64(d);
  u64(k);
  dists.forEach((g, c) => {
    if (c === 0) u32(0);
    matrix(g.mean, d, 1, true);
    matrix(g.covariance, d, d, false);
    matrix(g.covLower, d, d, false);
    matrix(g.invCov, d, d, false);
    f64(g.logDetCov);
  });
  matrix(weights, k, 1, true);
  return bytes;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Number formatting
// ────────────────────────────────────────────────────────────────────────────────────────────────

const MASK64 = (1n << 64n) - 1n;
const f64Bits = new DataView(new ArrayBuffer(8));

/** |x| = f · 2^e exactly (f < 2^53; f has no hidden bit for subnormals). */
function decompose(x: number): { f: bigint; e: number } {
  f64Bits.setFloat64(0, Math.abs(x));
  const hi = f64Bits.getUint32(0);
  const lo = f64Bits.getUint32(4);
  const be = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  return be === 0 ? { f: frac, e: -1074 } : { f: frac | (1n << 52n), e: be - 1075 };
}

function bitLength(f: bigint): number {
  const hi = Number(f >> 32n);
  return hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(Number(f & 0xffffffffn));
}

interface DiyFp {
  f: bigint;
  e: number;
}

/** The 64-bit product of two DiyFps, rounded as rapidjson does (upper half, +1 if bit 63 set). */
function diyMul(a: DiyFp, b: DiyFp): DiyFp {
  const p = a.f * b.f;
  let h = p >> 64n;
  if ((p >> 63n) & 1n) h += 1n;
  return { f: h, e: a.e + b.e + 64 };
}

let cachedPowers: DiyFp[] | null = null;

/** 10^k for k = −348, −340, …, 340 as normalized 64-bit DiyFps, rounded to nearest (Grisu's table). */
function getCachedPowers(): DiyFp[] {
  if (cachedPowers) return cachedPowers;
  const table: DiyFp[] = [];
  for (let i = 0; i < 87; i++) {
    const k = -348 + 8 * i;
    let num: bigint, den: bigint;
    if (k >= 0) {
      num = 10n ** BigInt(k);
      den = 1n;
    } else {
      num = 1n;
      den = 10n ** BigInt(-k);
    }
    // Find e with 2^63 ≤ num / den / 2^e < 2^64.
    let e = bitLength2(num) - bitLength2(den) - 64;
    let f: bigint;
    for (;;) {
      const n = e >= 0 ? num : num << BigInt(-e);
      const dd = e >= 0 ? den << BigInt(e) : den;
      const q = n / dd;
      f = 2n * (n - q * dd) >= dd ? q + 1n : q;
      if (f >= 1n << 64n) e++;
      else if (f < 1n << 63n) e--;
      else break;
    }
    table.push({ f, e });
  }
  cachedPowers = table;
  return table;
}

function bitLength2(x: bigint): number {
  return x.toString(2).length;
}

const POW10_U32 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

function countDecimalDigit32(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  return 9;
}

/** Grisu2 as in the rapidjson bundled with cereal: digits of v and the decimal exponent K. */
function grisu2(value: number): { digits: number[]; k: number } {
  const v = decompose(value);
  // Normalized boundaries m+ and m−.
  let plF = (v.f << 1n) + 1n;
  let plE = v.e - 1;
  while (!(plF & (1n << 53n))) {
    plF <<= 1n;
    plE--;
  }
  plF <<= 10n;
  plE -= 10;
  const hidden = 1n << 52n;
  let miF = v.f === hidden ? (v.f << 2n) - 1n : (v.f << 1n) - 1n;
  const miE = v.f === hidden ? v.e - 2 : v.e - 1;
  miF <<= BigInt(miE - plE);
  const wp: DiyFp = { f: plF, e: plE };
  const wm: DiyFp = { f: miF, e: plE };
  // Cached power.
  const dk = (-61 - wp.e) * 0.30102999566398114 + 347;
  let kk = Math.trunc(dk);
  if (dk - kk > 0) kk++;
  const index = (kk >> 3) + 1;
  let K = -(-348 + index * 8);
  const cmk = getCachedPowers()[index]!;
  const s = 64 - bitLength(v.f);
  const W = diyMul({ f: (v.f << BigInt(s)) & MASK64, e: v.e - s }, cmk);
  const Wp = diyMul(wp, cmk);
  const Wm = diyMul(wm, cmk);
  Wm.f += 1n;
  Wp.f -= 1n;
  let delta = Wp.f - Wm.f;
  // DigitGen.
  const shift = BigInt(-Wp.e);
  const one = 1n << shift;
  const wpW = Wp.f - W.f;
  let p1 = Number(BigInt.asUintN(32, Wp.f >> shift));
  let p2 = Wp.f & (one - 1n);
  let kappa = countDecimalDigit32(p1);
  const buf: number[] = [];
  const round = (rest: bigint, tenKappa: bigint, wpw: bigint): void => {
    while (rest < wpw && delta - rest >= tenKappa && (rest + tenKappa < wpw || wpw - rest > rest + tenKappa - wpw)) {
      buf[buf.length - 1] = buf[buf.length - 1]! - 1;
      rest += tenKappa;
    }
  };
  while (kappa > 0) {
    const div = POW10_U32[kappa - 1]!;
    const dgt = Math.floor(p1 / div);
    p1 = p1 % div;
    if (dgt || buf.length) buf.push(dgt);
    kappa--;
    const tmp = (BigInt(p1) << shift) + p2;
    if (tmp <= delta) {
      K += kappa;
      round(tmp, BigInt(POW10_U32[kappa]!) << shift, wpW);
      return { digits: buf, k: K };
    }
  }
  for (;;) {
    p2 = (p2 * 10n) & MASK64;
    delta = (delta * 10n) & MASK64;
    const dgt = Number(p2 >> shift);
    if (dgt || buf.length) buf.push(dgt);
    p2 &= one - 1n;
    kappa--;
    if (p2 < delta) {
      K += kappa;
      const idx = -kappa;
      round(p2, one, (wpW * (idx < 9 ? BigInt(POW10_U32[idx]!) : 0n)) & MASK64);
      return { digits: buf, k: K };
    }
  }
}

function writeExponent(k: number): string {
  return k < 0 ? `-${-k}` : String(k);
}

/**
 * A double as cereal's JSON archive prints it: rapidjson's `Writer::Double` (Grisu2 + Prettify,
 * maxDecimalPlaces 324): `0.0` for zero, `12.0` for integers, `0.001234`, `1.234e-7`, `1e30`.
 * @internal
 */
export function formatJsonDouble(x: number): string {
  if (!Number.isFinite(x)) throw new InvalidModelError(`cannot write ${x} to an mlpack JSON model`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const { digits, k } = grisu2(Math.abs(x));
  const ds = digits.map((c) => String.fromCharCode(48 + c)).join('');
  const length = ds.length;
  const kk = length + k;
  let body: string;
  if (k >= 0 && kk <= 21) body = ds + '0'.repeat(kk - length) + '.0';
  else if (kk > 0 && kk <= 21) body = `${ds.slice(0, kk)}.${ds.slice(kk)}`;
  else if (kk > -6 && kk <= 0) body = `0.${'0'.repeat(-kk)}${ds}`;
  else if (kk < -324) body = '0.0';
  else if (length === 1) body = `${ds}e${writeExponent(kk - 1)}`;
  else body = `${ds[0]}.${ds.slice(1)}e${writeExponent(kk - 1)}`;
  return sign + body;
}

const pow5Cache = new Map<number, bigint>();

/**
 * A double as cereal's XML archive prints it: an ostream with precision 17 in the default float
 * format, i.e. C's `%.17g` (exact decimal expansion rounded half-to-even, trailing zeros removed,
 * exponent with at least two digits).
 * @internal
 */
export function formatXmlDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const { f, e } = decompose(x);
  let digits: string;
  let scale: number; // value = digits · 10^−scale
  if (e >= 0) {
    digits = (f << BigInt(e)).toString();
    scale = 0;
  } else {
    let p = pow5Cache.get(-e);
    if (p === undefined) {
      p = 5n ** BigInt(-e);
      pow5Cache.set(-e, p);
    }
    digits = (f * p).toString();
    scale = -e;
  }
  let exp10 = digits.length - 1 - scale;
  let sig: string;
  if (digits.length <= 17) sig = digits.padEnd(17, '0');
  else {
    const head = BigInt(digits.slice(0, 17));
    const first = digits.charCodeAt(17) - 48;
    const tail = /[1-9]/.test(digits.slice(18));
    const up = first > 5 || (first === 5 && (tail || (head & 1n) === 1n));
    sig = (up ? head + 1n : head).toString();
    if (sig.length > 17) {
      sig = sig.slice(0, 17);
      exp10++;
    }
  }
  let body: string;
  if (exp10 < -4 || exp10 >= 17) {
    const mant = `${sig[0]}.${sig.slice(1)}`.replace(/\.?0+$/, '');
    const ae = Math.abs(exp10);
    body = `${mant}e${exp10 < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  } else if (exp10 >= 0) {
    const int = sig.slice(0, exp10 + 1);
    const frac = sig.slice(exp10 + 1).replace(/0+$/, '');
    body = frac ? `${int}.${frac}` : int;
  } else {
    body = `0.${'0'.repeat(-exp10 - 1)}${sig}`.replace(/0+$/, '');
  }
  return sign + body;
}
