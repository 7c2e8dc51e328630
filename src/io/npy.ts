/**
 * NumPy `.npy` reading and writing for dense float matrices (format versions 1.0, 2.0 and 3.0).
 *
 * Reads float64 / float32 arrays of one or two dimensions, little- or big-endian, in C or Fortran
 * order, into a row-major typed array (rows = points); a 1-D array is one column. Writes float64 or
 * float32 in C order with a version 1.0 header. No Node APIs: this module works on bytes only.
 */
import { InvalidArgumentError, InvalidDataError } from '../errors.js';
import { checkMatrixArgument, describeValue } from '../data.js';

/** A row-major float matrix as read from or written to a `.npy` file. */
export interface NpyMatrix {
  data: Float64Array | Float32Array;
  rows: number;
  cols: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** "1 point", "2 points". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function fail(name: string, message: string): never {
  throw new InvalidDataError(`${name}: ${message}`);
}

function decodeHeader(bytes: Uint8Array, major: number): string {
  // Version 3.0 headers are UTF-8; earlier ones are latin-1 (ASCII in practice).
  if (major >= 3) return new TextDecoder('utf-8').decode(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** A tuple or list of a header's values, with where it stands in the header text (for messages). */
type HeaderSequence = HeaderValue[] & { kind: 'tuple' | 'list'; start: number; end: number };
type HeaderValue = string | boolean | null | bigint | HeaderSequence | Map<string, HeaderValue>;

/** The header's text from a sequence's opening bracket to its closing one. */
function headerText(header: string, v: HeaderSequence): string {
  const t = header.slice(v.start, v.end);
  return t.length > 120 ? `${t.slice(0, 119)}…` : t;
}

/**
 * The header's Python dict literal, parsed as NumPy's `ast.literal_eval` does for what a `.npy`
 * header may hold (strings, True / False / None, integers, tuples, lists, dicts), with NumPy's
 * rule that the keys are exactly 'descr', 'fortran_order' and 'shape'. A key given twice is
 * refused (Python keeps the last: which of two shapes the writer meant is not knowable), and only
 * whitespace may follow the dict (the padding).
 */
function parseHeaderDict(header: string, name: string): Map<string, HeaderValue> {
  let i = 0;
  const malformed = (why: string): never => fail(name, `malformed .npy header (${why}): ${header.trim().slice(0, 200)}`);
  const space = (): void => {
    while (i < header.length && ' \t\n\r\f'.includes(header[i]!)) i++;
  };
  const value = (depth: number): HeaderValue => {
    if (depth > 32) malformed('nested too deeply');
    space();
    const c = header[i];
    if (c === undefined) return malformed('it ends inside a value');
    if (c === "'" || c === '"') {
      let s = '';
      for (i++; header[i] !== c; i++) {
        if (i >= header.length || header[i] === '\n') return malformed('a string is not closed');
        // An escape (a structured dtype's field name may hold a quote) keeps the character after
        // the backslash: close enough for names that only messages show; no float dtype has one.
        if (header[i] === '\\') i++;
        s += header[i] ?? '';
      }
      i++;
      return s;
    }
    const word = /^(?:True|False|None|\d+L?)(?![\w.])/.exec(header.slice(i, i + 40));
    if (word) {
      i += word[0].length;
      return word[0] === 'True' ? true : word[0] === 'False' ? false : word[0] === 'None' ? null : BigInt(word[0].replace('L', ''));
    }
    if (c === '(' || c === '[') {
      const start = i++;
      const close = c === '(' ? ')' : ']';
      const items: HeaderValue[] = [];
      let comma = false;
      for (;;) {
        space();
        if (header[i] === close) break;
        items.push(value(depth + 1));
        space();
        comma = header[i] === ',';
        if (comma) i++;
        else if (header[i] !== close) return malformed(`expected ',' or '${close}'`);
      }
      i++;
      // (3) is the number 3 in Python, not a tuple: NumPy refuses it as a shape.
      if (c === '(' && items.length === 1 && !comma) return items[0]!;
      return Object.assign(items, { kind: c === '(' ? 'tuple' as const : 'list' as const, start, end: i });
    }
    if (c === '{') {
      i++;
      const map = new Map<string, HeaderValue>();
      for (;;) {
        space();
        if (header[i] === '}') break;
        const key = value(depth + 1);
        if (typeof key !== 'string') return malformed('a key is not a string');
        space();
        if (header[i] !== ':') return malformed(`expected ':' after '${key}'`);
        i++;
        if (map.has(key)) return malformed(`'${key}' is given twice`);
        map.set(key, value(depth + 1));
        space();
        if (header[i] === ',') i++;
        else if (header[i] !== '}') return malformed("expected ',' or '}'");
      }
      i++;
      return map;
    }
    return malformed(`unexpected ${JSON.stringify(c)}`);
  };
  space();
  if (header[i] !== '{') malformed('expected a dict');
  const dict = value(0) as Map<string, HeaderValue>;
  space();
  if (i < header.length) malformed(`${JSON.stringify(header.slice(i, i + 20).trimEnd())} follows the dict`);
  const keys = [...dict.keys()];
  const expected = ['descr', 'fortran_order', 'shape'];
  if (keys.length !== 3 || !expected.every((k) => dict.has(k))) {
    const missing = expected.filter((k) => !dict.has(k)), extra = keys.filter((k) => !expected.includes(k));
    malformed(`expected the keys 'descr', 'fortran_order' and 'shape'${missing.length ? `; missing ${missing.map((k) => `'${k}'`).join(', ')}` : ''}${extra.length ? `; unexpected ${extra.map((k) => JSON.stringify(k)).join(', ')}` : ''}`);
  }
  return dict;
}

/** What a `.npy` header says about the array that follows it. */
export interface NpyHeader {
  /** The dtype, e.g. `<f8`. */
  descr: string;
  /** The shape as written, e.g. `(4, 3)` or `(4,)`. */
  shape: string;
  rows: number;
  cols: number;
  /** rows × cols */
  count: number;
  itemSize: 4 | 8;
  bigEndian: boolean;
  /** Column-major order with more than one row and column: values must be transposed. */
  transpose: boolean;
  /** Where the data begins (the preamble's and header's length). */
  dataOffset: number;
  /** Bytes of data the shape needs (count × itemSize). */
  byteLength: number;
}

/** `bytes` begins with NumPy's magic string "\x93NUMPY". */
export function isNpyMagic(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Where a `.npy` file's data begins, from its first bytes (12, or all of a shorter file): checks the
 * magic string and the format version, and reads the header length.
 * @throws InvalidDataError for a bad magic string, an unsupported version, or a truncated preamble.
 */
export function npyDataOffset(bytes: Uint8Array, name: string): number {
  if (bytes.length < 10 || !isNpyMagic(bytes)) {
    fail(name, 'not a NumPy .npy file (bad magic string; expected "\\x93NUMPY")');
  }
  const major = bytes[6]!, minor = bytes[7]!;
  if (major < 1 || major > 3) fail(name, `unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) return 10 + view.getUint16(8, true);
  if (bytes.length < 12) fail(name, 'truncated .npy header');
  return 12 + view.getUint32(8, true);
}

/**
 * Parses a `.npy` file's preamble and header; `bytes` holds at least the first
 * {@link npyDataOffset} bytes of the file (the data need not follow).
 * @throws InvalidDataError for a bad magic string, a truncated or malformed header, an unsupported
 *   dtype, an empty array, or other than one or two dimensions.
 */
export function parseNpyHeader(bytes: Uint8Array, name: string): NpyHeader {
  const dataOffset = npyDataOffset(bytes, name);
  const major = bytes[6]!;
  const headerStart = major === 1 ? 10 : 12;
  if (dataOffset > bytes.length) {
    fail(name, `truncated .npy header (header says ${plural(dataOffset - headerStart, 'byte')}, the file has ${plural(bytes.length - headerStart, 'byte')} after the preamble)`);
  }
  const header = decodeHeader(bytes.subarray(headerStart, dataOffset), major);

  const dict = parseHeaderDict(header, name);
  const descrValue = dict.get('descr'), fortranValue = dict.get('fortran_order'), shapeValue = dict.get('shape');
  if (Array.isArray(descrValue) && descrValue.kind === 'list') {
    // np.save of a record array (df.to_records()): named fields, one value of each per row.
    fail(name, `unsupported dtype: a structured array of named fields (${headerText(header, descrValue)}); save the values as a plain 2-D float64 array (e.g. np.save(f, df.to_numpy(float)))`);
  }
  if (typeof descrValue !== 'string') fail(name, `malformed .npy header: 'descr' is not a string: ${header.trim().slice(0, 200)}`);
  if (typeof fortranValue !== 'boolean') fail(name, `malformed .npy header: 'fortran_order' is not True or False: ${header.trim().slice(0, 200)}`);
  if (!Array.isArray(shapeValue) || shapeValue.kind !== 'tuple' || !shapeValue.every((v) => typeof v === 'bigint')) {
    fail(name, `malformed .npy header: 'shape' is not a tuple of integers: ${header.trim().slice(0, 200)}`);
  }
  const descr = descrValue;
  const fortran = fortranValue;
  const shapeText = headerText(header, shapeValue).slice(1, -1);
  const dims: number[] = [];
  for (const d of shapeValue as bigint[]) {
    // Beyond 2^53 a dimension would be read rounded (9007199254740993 as …992): no file is that large.
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) fail(name, `shape (${shapeText}) in the .npy header has a dimension of 2^53 or more`);
    dims.push(Number(d));
  }

  const dt = /^([<>|=])f([48])$/.exec(descr);
  if (!dt) {
    fail(name, `unsupported dtype '${descr}' (expected float64 '<f8' or float32 '<f4')`);
  }
  const bigEndian = dt[1] === '>' || (dt[1] === '=' && !HOST_LITTLE_ENDIAN);
  const itemSize = dt[2] === '8' ? 8 : 4;

  let rows: number, cols: number;
  if (dims.length === 1) {
    rows = dims[0]!;
    cols = 1;
  } else if (dims.length === 2) {
    rows = dims[0]!;
    cols = dims[1]!;
  } else if (dims.length === 0) {
    fail(name, 'the array is a scalar (shape ()); expected a 1-D or 2-D array');
  } else {
    fail(name, `the array has ${dims.length} dimensions (shape (${dims.join(', ')})); expected a 1-D or 2-D array`);
  }
  const shape = `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
  if (rows === 0 || cols === 0) fail(name, `the array is empty (shape ${shape})`);
  const count = rows * cols;
  return {
    descr, shape, rows, cols, count, itemSize, bigEndian,
    transpose: fortran && rows > 1 && cols > 1,
    dataOffset, byteLength: count * itemSize,
  };
}

/** The error for data shorter than the header's shape needs (`available` bytes after the header). */
export function npyTruncated(name: string, h: NpyHeader, available: number): never {
  fail(name, `data is truncated: shape ${h.shape} of ${h.descr} needs ${plural(h.byteLength, 'byte')} but the file has ${plural(available, 'byte')}`);
}

/**
 * The error for data longer than the header's shape needs: more than `available` bytes after the
 * header when `atLeast`, else exactly `available`. `after` holds the first bytes past the shape's
 * data (a second array's magic string says what happened). NumPy and Armadillo read the shape's
 * bytes and ignore the rest; here a header that does not describe its data is refused, since the
 * values it does describe are then as likely to be shifted as to be whole.
 */
export function npyTrailing(name: string, h: NpyHeader, available: number, atLeast: boolean, after: Uint8Array, hint = ''): never {
  const what = isNpyMagic(after) ? ': the file holds more than one array (np.save called twice on one file?); save one array per file'
    : hint !== '' ? `: ${hint}` : ' (the header does not describe the data)';
  fail(name, `shape ${h.shape} of ${h.descr} needs ${plural(h.byteLength, 'byte')} of data, but ${atLeast ? 'more than ' : ''}${plural(available, 'byte')} follow the header${what}`);
}

/**
 * Decodes raw values in file order — `src` holds whole values, the first being value number `first`
 * of the file — into their row-major places in `dst` (byte order converted, Fortran order transposed).
 */
export function decodeNpyValues(src: Uint8Array, h: NpyHeader, dst: Float64Array | Float32Array, first: number): void {
  const { itemSize, rows, cols } = h;
  const n = Math.floor(src.length / itemSize);
  let values: Float64Array | Float32Array;
  if (h.bigEndian === !HOST_LITTLE_ENDIAN && src.byteOffset % itemSize === 0) {
    values = itemSize === 8 ? new Float64Array(src.buffer, src.byteOffset, n) : new Float32Array(src.buffer, src.byteOffset, n);
  } else {
    // Another byte order (or unaligned): decode value by value (straight into place in C order).
    values = h.transpose ? (itemSize === 8 ? new Float64Array(n) : new Float32Array(n)) : dst.subarray(first, first + n);
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const le = !h.bigEndian;
    if (itemSize === 8) for (let t = 0; t < n; t++) values[t] = view.getFloat64(t * 8, le);
    else for (let t = 0; t < n; t++) values[t] = view.getFloat32(t * 4, le);
  }
  if (!h.transpose) {
    if (values.buffer !== dst.buffer) dst.set(values, first);
    return;
  }
  // Fortran order: value number f is element (f mod rows, f div rows); fill column runs.
  let i = first % rows;
  let j = (first - i) / rows;
  let t = 0;
  while (t < n) {
    const run = Math.min(rows - i, n - t);
    let o = i * cols + j;
    for (let r = 0; r < run; r++, o += cols) dst[o] = values[t + r]!;
    t += run;
    i += run;
    if (i === rows) {
      i = 0;
      j++;
    }
  }
}

/**
 * Parses a `.npy` file's bytes. `name` (usually the file path) prefixes every error message.
 * When the data is little-endian float in C order and suitably aligned, the result is a view
 * over `bytes`' buffer (no copy); otherwise it is a new array. The values are returned as stored,
 * NaN and infinities included (`readDataFile` refuses them, naming the row and column; `train`
 * refuses them too).
 * @throws InvalidDataError for a bad magic string, a truncated or malformed header, an unsupported
 *   dtype, more than two dimensions, or data shorter or longer than the shape requires.
 */
export function parseNpy(bytes: Uint8Array, name: string): NpyMatrix {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes', `parseNpy needs the file's bytes as a Uint8Array (a Node Buffer is one), got ${bytes === null ? 'null' : typeof bytes}`);
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('name', `parseNpy needs the data's name for its messages (a non-empty string, e.g. the file's name), got ${describeValue(name)}`);
  const h = parseNpyHeader(bytes, name);
  const { rows, cols, count, itemSize, dataOffset } = h;
  const available = bytes.length - dataOffset;
  if (available < h.byteLength) npyTruncated(name, h, available);
  if (available > h.byteLength) npyTrailing(name, h, available, false, bytes.subarray(dataOffset + h.byteLength, dataOffset + h.byteLength + 6));
  const raw = bytes.subarray(dataOffset, dataOffset + h.byteLength);
  const byteStart = bytes.byteOffset + dataOffset;
  if (!h.transpose && h.bigEndian === !HOST_LITTLE_ENDIAN) {
    if (byteStart % itemSize === 0) {
      const data = itemSize === 8 ? new Float64Array(bytes.buffer, byteStart, count) : new Float32Array(bytes.buffer, byteStart, count);
      return { data, rows, cols };
    }
    // Unaligned: copy the bytes into a fresh (aligned) buffer.
    const copy = raw.slice();
    return { data: itemSize === 8 ? new Float64Array(copy.buffer, 0, count) : new Float32Array(copy.buffer, 0, count), rows, cols };
  }
  // Another byte order, or Fortran order: decode value by value into a new row-major array.
  const data = itemSize === 8 ? new Float64Array(count) : new Float32Array(count);
  decodeNpyValues(raw, h, data, 0);
  return { data, rows, cols };
}

/** The .npy format 1.0 header (magic, version, length, dict padded to 64 bytes) of a C-order rows×cols array. */
function npyHeader(rows: number, cols: number, f32: boolean): Uint8Array {
  let dict = `{'descr': '<${f32 ? 'f4' : 'f8'}', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = 10 + dict.length + 1; // preamble + dict + '\n'
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerLen = dict.length;
  if (headerLen > 0xffff) throw new InvalidArgumentError('matrix', 'encodeNpy: header too long for format 1.0');
  const out = new Uint8Array(10 + headerLen);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = headerLen & 0xff;
  out[9] = headerLen >> 8;
  for (let i = 0; i < headerLen; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/**
 * The bytes of encodeNpy({ data, rows, cols }) in pieces: the header, then the values as views of
 * `data` itself on a little-endian host (no copy of the array: a 640 MB `generate` output held two
 * before), else encodeNpy's one buffer.
 */
export function* npyBlocks(data: Float64Array, rows: number, cols: number, blockBytes = 1 << 23): Generator<Uint8Array> {
  checkMatrixArgument('npyBlocks', { data, rows, cols });
  const count = rows * cols;
  if (!HOST_LITTLE_ENDIAN) {
    yield encodeNpy({ data, rows, cols });
    return;
  }
  yield npyHeader(rows, cols, false);
  // A view per block: one over all the values could not exceed 2^32 bytes (Node 20's largest
  // Uint8Array), and `generate -n` allows 16 GiB.
  const total = count * 8;
  for (let at = 0; at < total; at += blockBytes) yield new Uint8Array(data.buffer, data.byteOffset + at, Math.min(total - at, blockBytes));
}

/**
 * Encodes a row-major matrix as a `.npy` file (version 1.0, C order): `<f4` for a Float32Array,
 * `<f8` otherwise. The header is padded with spaces so the data starts at a multiple of 64 bytes.
 */
export function encodeNpy(m: { data: Float64Array | Float32Array | ArrayLike<number>; rows: number; cols: number }): Uint8Array {
  checkMatrixArgument('encodeNpy', m);
  const { rows, cols } = m;
  const f32 = m.data instanceof Float32Array;
  const header = npyHeader(rows, cols, f32);
  const count = rows * cols;
  const itemSize = f32 ? 4 : 8;
  const offset = header.length;
  const out = new Uint8Array(offset + count * itemSize);
  out.set(header, 0);
  if (HOST_LITTLE_ENDIAN) {
    // offset is a multiple of 64, so typed views over `out` are aligned.
    const dst = f32 ? new Float32Array(out.buffer, offset, count) : new Float64Array(out.buffer, offset, count);
    const src = m.data;
    if (ArrayBuffer.isView(src)) dst.set((src as Float64Array | Float32Array).subarray(0, count));
    else for (let i = 0; i < count; i++) dst[i] = src[i]!;
  } else {
    const view = new DataView(out.buffer);
    for (let i = 0; i < count; i++) {
      if (f32) view.setFloat32(offset + i * 4, m.data[i]!, true);
      else view.setFloat64(offset + i * 8, m.data[i]!, true);
    }
  }
  return out;
}
