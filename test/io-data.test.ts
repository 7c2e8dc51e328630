import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, InvalidDataError, WebGmmError } from '../src/errors.js';
import {
  fastParseNumber,
  npyReading,
  readDataFile,
  readWeightsFile,
  writeColumn,
  writeCsv,
  writeDataFile,
} from '../src/io/data-files.js';
import { encodeNpy, npyBlocks, parseNpy } from '../src/io/npy.js';
import { TextParser } from '../src/io/delimited.js';
import { removeTemporaryFiles, writeFileAtomic } from '../src/io/atomic.js';
import { FIXTURES } from './helpers.js';

const IO = join(FIXTURES, 'io');
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webgmm-io-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let fileCounter = 0;
/** Writes `content` to a fresh file named `name` (in its own directory, so names can repeat). */
async function file(name: string, content: string | Uint8Array): Promise<string> {
  const sub = join(dir, `f${fileCounter++}`);
  await mkdir(sub);
  const p = join(sub, name);
  await writeFile(p, content);
  return p;
}

/** Small seeded PRNG (mulberry32), uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Exact (bitwise, -0 distinct) equality of two arrays; returns the first differing index or -1. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

async function expectDataError(p: Promise<unknown>, message: string): Promise<InvalidDataError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidDataError);
  expect((caught as Error).message).toBe(message);
  return caught as InvalidDataError;
}

const enc = new TextEncoder();

describe('readDataFile: text formats', () => {
  it('reads comma-separated values', async () => {
    const p = await file('a.csv', '1,2,3\n4,5,6\n');
    const r = await readDataFile(p);
    expect(r.format).toBe('csv');
    expect(r.rows).toBe(2);
    expect(r.cols).toBe(3);
    expect(r.data).toBeInstanceOf(Float64Array);
    expect([...r.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.headerSkipped).toBe(false);
    expect(r.header).toBeUndefined();
  });

  it('tolerates spaces and tabs around values in .csv', async () => {
    const p = await file('a.csv', ' 1 , 2,3 \n4 ,\t5, 6\t\n');
    const r = await readDataFile(p);
    expect([r.rows, r.cols]).toEqual([2, 3]);
    expect([...r.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads tab-separated .tsv (spaces around values allowed)', async () => {
    const p = await file('a.tsv', '1\t2.5\n -3 \t4e1\n');
    const r = await readDataFile(p);
    expect(r.format).toBe('tsv');
    expect([r.rows, r.cols]).toEqual([2, 2]);
    expect([...r.data]).toEqual([1, 2.5, -3, 40]);
  });

  it('reads runs of spaces and tabs in .txt', async () => {
    const p = await file('a.txt', '  1   2\t 3\n4 5 6   \n');
    const r = await readDataFile(p);
    expect(r.format).toBe('whitespace');
    expect([r.rows, r.cols]).toEqual([2, 3]);
    expect([...r.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('detects the separator from the first non-empty line for other extensions', async () => {
    const c = await readDataFile(await file('a.dat', '\n1,2\n3,4\n'));
    expect(c.format).toBe('csv');
    expect([...c.data]).toEqual([1, 2, 3, 4]);
    const t = await readDataFile(await file('a.txt', '1\t2\n3\t4\n'));
    expect(t.format).toBe('tsv');
    expect([...t.data]).toEqual([1, 2, 3, 4]);
    const w = await readDataFile(await file('noext', '1 2\n3 4\n'));
    expect(w.format).toBe('whitespace');
    expect([...w.data]).toEqual([1, 2, 3, 4]);
    const named = await readDataFile(await file('iris.txt', 'sepal length\tsepal width\n5.1\t3.5\n'));
    expect(named.format).toBe('tsv');
    expect(named.header).toEqual(['sepal length', 'sepal width']);
    expect([...named.data]).toEqual([5.1, 3.5]);
    const mixed = await readDataFile(await file('mixed.txt', '1  2\t3\n4\t5 6\n'));
    expect(mixed.format).toBe('whitespace');
    expect([...mixed.data]).toEqual([1, 2, 3, 4, 5, 6]);
    const one = await readDataFile(await file('col.txt', '1\n2\n3\n'));
    expect([one.rows, one.cols]).toEqual([3, 1]);
    expect(one.format).toBe('whitespace');
  });

  it('reads the fixture with spaces and tabs mixed (.dat)', async () => {
    const r = await readDataFile(join(IO, 'spaces.dat'));
    expect(r.format).toBe('whitespace');
    expect([r.rows, r.cols]).toEqual([2, 3]);
    expect(firstDiff(r.data, [1.5, -2, 300, 0.25, 4, -0])).toBe(-1);
  });

  it('reads files of several read chunks with CR-only and CRLF line ends as their LF version', async () => {
    // ~3 MiB: the reader cuts its 1 MiB chunks at line ends, and a CRLF may straddle a cut.
    const rows: string[] = [];
    for (let i = 0; i < 120_000; i++) rows.push(`${(i * 0.37) % 101},${i % 7},-${i}.25`);
    const lf = await readDataFile(await file('lf.csv', rows.join('\n') + '\n'));
    expect(lf.rows).toBe(120_000);
    for (const [name, end] of [['cr.csv', '\r'], ['crlf.csv', '\r\n'], ['straddle.csv', '\r\n']] as const) {
      let text = rows.join(end) + end;
      if (name === 'straddle.csv') {
        // Leading spaces on the first row put a "\r" on the first chunk's last byte, its "\n" on the next.
        const last = (1 << 20) - 1;
        text = ' '.repeat(last - text.lastIndexOf('\r', last)) + text;
        expect(text.slice(last, last + 2)).toBe('\r\n');
      }
      const r = await readDataFile(await file(name, text));
      expect([r.rows, r.cols], name).toEqual([lf.rows, lf.cols]);
      expect(firstDiff(r.data, Array.from(lf.data)), name).toBe(-1);
    }
    // A bad cell is reported on its line whatever the line ends.
    const bad = rows.slice();
    bad[99_999] = '1,oops,3';
    await expect(readDataFile(await file('bad.csv', bad.join('\r')))).rejects.toThrow(/line 100000, column 2/);
  });

  it('handles CRLF, no trailing newline, and blank lines', async () => {
    const crlf = await readDataFile(await file('a.csv', '1,2\r\n3,4\r\n'));
    expect([...crlf.data]).toEqual([1, 2, 3, 4]);
    const noEol = await readDataFile(await file('a.csv', '1,2\n3,4'));
    expect([noEol.rows, noEol.cols]).toEqual([2, 2]);
    expect([...noEol.data]).toEqual([1, 2, 3, 4]);
    const noEolCr = await readDataFile(await file('a.csv', '1,2\r\n3,4\r'));
    expect([...noEolCr.data]).toEqual([1, 2, 3, 4]);
    const blanks = await readDataFile(await file('a.csv', '\n\n1,2\n\n   \n\t\n3,4\n\n\r\n'));
    expect([blanks.rows, blanks.cols]).toEqual([2, 2]);
    expect([...blanks.data]).toEqual([1, 2, 3, 4]);
    const tsvBlank = await readDataFile(await file('a.tsv', '1\t2\r\n\r\n3\t4'));
    expect([...tsvBlank.data]).toEqual([1, 2, 3, 4]);
  });

  it('skips a non-numeric first row as a header', async () => {
    const r = await readDataFile(await file('a.csv', 'x, y ,z\n1,2,3\n4,5,6\n'));
    expect(r.headerSkipped).toBe(true);
    expect(r.header).toEqual(['x', 'y', 'z']);
    expect([r.rows, r.cols]).toEqual([2, 3]);
    expect([...r.data]).toEqual([1, 2, 3, 4, 5, 6]);
    const w = await readDataFile(await file('a.txt', '\n  height weight\n1.5 60\n'));
    expect(w.headerSkipped).toBe(true);
    expect(w.header).toEqual(['height', 'weight']);
    expect([...w.data]).toEqual([1.5, 60]);
    // pandas' empty index name is a header cell (no cell is a number).
    const indexed = await readDataFile(await file('a.csv', ',x,y\n0,1,2\n'));
    expect(indexed.header).toEqual(['', 'x', 'y']);
    expect([...indexed.data]).toEqual([0, 1, 2]);
  });

  it('reads a BOM-prefixed CRLF fixture with a quoted header', async () => {
    const r = await readDataFile(join(IO, 'header-crlf-bom.csv'));
    expect(r.headerSkipped).toBe(true);
    expect(r.header).toEqual(['sepal length', 'sepal width']);
    expect([r.rows, r.cols]).toEqual([3, 2]);
    expect([...r.data]).toEqual([5.1, 3.5, 4.9, 3.0, 4.7, 3.2]);
  });

  it('accepts every decimal token JavaScript reads as a finite number', async () => {
    const tokens = ['-0', '+3', '.5', '5.', '-.25e1', '1E+2', '007', '1e-400', '123456789012345678901234567890', '+.5E-3', '0.000e+000'];
    const r = await readDataFile(await file('a.csv', tokens.join(',') + '\n'));
    expect(firstDiff(r.data, tokens.map(Number))).toBe(-1);
    expect(Object.is(r.data[0], -0)).toBe(true);
  });

  it('streams lines across chunk boundaries and very long lines', async () => {
    const r = rng(7);
    const rows = 60_000, cols = 5;
    const expected = new Float64Array(rows * cols);
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) {
      const cells: string[] = [];
      for (let j = 0; j < cols; j++) {
        const v = gaussian(r) * 10 ** Math.floor(r() * 8 - 4);
        expected[i * cols + j] = v;
        cells.push(String(v));
      }
      lines.push(cells.join(i % 3 === 0 ? ', ' : ','));
    }
    // > 1 MiB (several chunks), with \n and \r\n line ends mixed so some CR/LF pairs straddle a chunk boundary.
    const p = await file('big.csv', lines.map((l, i) => l + (i % 2 ? '\r\n' : '\n')).join(''));
    const got = await readDataFile(p);
    expect([got.rows, got.cols]).toEqual([rows, cols]);
    expect(firstDiff(got.data, expected)).toBe(-1);

    // A CR/LF pair split exactly across the 1 MiB read boundary (CR is the chunk's last byte).
    const split = await readDataFile(await file('split.csv', '1' + ' '.repeat(2 ** 20 - 2) + '\r\n2\r\n3'));
    expect([split.rows, split.cols, ...split.data]).toEqual([3, 1, 1, 2, 3]);

    // One row of 300k values: a single line spanning several chunks.
    const wide = Array.from({ length: 300_000 }, (_, i) => String(i * 0.5 - 7));
    const w = await readDataFile(await file('wide.txt', wide.join(' ')));
    expect([w.rows, w.cols]).toEqual([1, 300_000]);
    expect(firstDiff(w.data, wide.map(Number))).toBe(-1);
  });

  it('reports progress and honours an AbortSignal', async () => {
    const p = await file('a.csv', '1,2\n3,4\n');
    const calls: [number, number][] = [];
    await readDataFile(p, { onProgress: (a, b) => calls.push([a, b]) });
    expect(calls).toEqual([[8, 8]]);

    const reason = new Error('stop');
    const pre = new AbortController();
    pre.abort(reason);
    await expect(readDataFile(p, { signal: pre.signal })).rejects.toBe(reason);

    const big = await file('big.csv', '1.25,2.5,3.75\n'.repeat(300_000));
    const mid = new AbortController();
    const pending = readDataFile(big, { signal: mid.signal });
    mid.abort(reason);
    await expect(pending).rejects.toBe(reason);

    const npy = await file('a.npy', encodeNpy({ data: new Float64Array([1, 2]), rows: 2, cols: 1 }));
    const n = new AbortController();
    n.abort(reason);
    await expect(readDataFile(npy, { signal: n.signal })).rejects.toBe(reason);
  });
});

/** Random numeric tokens of many shapes: short decimals, long mantissas, large exponents, JS forms. */
function randomToken(r: () => number): string {
  const digits = (k: number) => {
    let s = '';
    for (let i = 0; i < k; i++) s += String(Math.floor(r() * 10));
    return s;
  };
  const sign = () => (r() < 0.3 ? '-' : r() < 0.1 ? '+' : '');
  switch (Math.floor(r() * 7)) {
    case 0: // JavaScript's own shortest form of a random double over a wide range
      return String(gaussian(r) * 10 ** Math.floor(r() * 80 - 40));
    case 1:
      return gaussian(r).toExponential(Math.floor(r() * 21)).replace('e', r() < 0.5 ? 'e' : 'E');
    case 2:
      return (gaussian(r) * 10 ** Math.floor(r() * 10)).toFixed(Math.floor(r() * 21));
    case 3: { // arbitrary digit strings, long mantissas, exponents out to ±340
      const int = digits(Math.floor(r() * 22));
      const frac = r() < 0.7 ? '.' + digits(Math.floor(r() * 26)) : '';
      const mant = int === '' && (frac === '' || frac === '.') ? '0' + frac : int + frac;
      const exp = r() < 0.5 ? (r() < 0.5 ? 'e' : 'E') + sign() + String(Math.floor(r() * 341)) : '';
      return sign() + mant + exp;
    }
    case 4: // the common case: a few digits with a short fraction
      return sign() + String(Math.floor(r() * 100000)) + '.' + digits(1 + Math.floor(r() * 6));
    case 5: // around 2^53, 15–19 significant digits, small exponents
      return sign() + String(9007199254740992 + Math.floor((r() - 0.5) * 2e4)) + digits(Math.floor(r() * 3)) +
        (r() < 0.5 ? `e${Math.floor(r() * 45) - 22}` : '');
    default: // leading zeros, a leading or trailing point, exponents near the fast-path limit
      return sign() + '0'.repeat(Math.floor(r() * 4)) + (r() < 0.5 ? '.' + digits(1 + Math.floor(r() * 15)) : digits(1 + Math.floor(r() * 15)) + '.') +
        `e${Math.floor(r() * 50) - 25}`;
  }
}

describe('number parser exactness', () => {
  const hard = [
    '0', '-0', '9007199254740992', '9007199254740993', '9007199254740991', '18014398509481985',
    '0.1', '0.2', '0.3', '1e22', '1e23', '9.999999999999999e22', '123456789012345678', '1.7976931348623157e308',
    '1.7976931348623159e308', '2.2250738585072011e-308', '2.2250738585072014e-308', '4.9e-324', '5e-324',
    '2.4703282292062327e-324', '1e-400', '0.000000000000000000000000001', '1.00000000000000000000000',
    '89255.0e-22', '8925.5e-21', '4.35679e-10', '1448997445238699', '3.14159265358979323846264338327950288',
  ];

  it('the fast path equals Number() bit for bit on hard cases', () => {
    for (const t of hard) {
      const b = enc.encode(t);
      const v = fastParseNumber(b, 0, b.length);
      if (!Number.isNaN(v)) expect(Object.is(v, Number(t)), t).toBe(true);
    }
  });

  it('the fast path equals Number() bit for bit on 150k random tokens (and handles most of them)', () => {
    const r = rng(12345);
    let fast = 0;
    const n = 150_000;
    const bad: string[] = [];
    for (let k = 0; k < n; k++) {
      const t = randomToken(r);
      const b = enc.encode(t);
      const v = fastParseNumber(b, 0, b.length);
      if (Number.isNaN(v)) continue; // declined: falls back to Number()
      fast++;
      if (!Object.is(v, Number(t)) && bad.length < 5) bad.push(t);
    }
    expect(bad).toEqual([]);
    expect(fast).toBeGreaterThan(n * 0.4);
  });

  it('the fast path is exact next to rounding boundaries (16–19 digits, magnitudes 1e-60 to 1e60)', () => {
    // Tokens that are the exact midpoint between two adjacent doubles, truncated to 16–19 significant
    // digits or rounded up in the last digit: within ~1e-19 of where rounding flips.
    const r = rng(2024);
    const f64 = new Float64Array(1);
    const bits = new BigUint64Array(f64.buffer);
    const n = 40_000;
    let fast = 0, inRange = 0, fastInRange = 0;
    const bad: string[] = [];
    for (let k = 0; k < n; k++) {
      const mag = Math.floor(r() * 120 - 60);
      f64[0] = (0.5 + r()) * 10 ** mag;
      const exponent = Number((bits[0]! >> 52n) & 0x7ffn);
      const mant = (bits[0]! & ((1n << 52n) - 1n)) | (1n << 52n);
      const e2 = exponent - 1075 - 1; // midpoint = (2·mant + 1) · 2^e2
      const odd = 2n * mant + 1n;
      const big = e2 >= 0 ? odd << BigInt(e2) : odd * 5n ** BigInt(-e2);
      const e10 = e2 >= 0 ? 0 : e2;
      const s = big.toString();
      const nd = 16 + Math.floor(r() * 4);
      const head = BigInt(s.slice(0, nd)) + (r() < 0.5 ? 1n : 0n);
      const t = `${r() < 0.5 ? '-' : ''}${head}e${e10 + s.length - nd}`;
      const b = enc.encode(t);
      const v = fastParseNumber(b, 0, b.length);
      const covered = mag >= -24 && mag <= 24; // decimal exponent of the significand within ±44
      if (covered) inRange++;
      if (Number.isNaN(v)) continue;
      fast++;
      if (covered) fastInRange++;
      if (!Object.is(v, Number(t)) && bad.length < 5) bad.push(t);
    }
    expect(bad).toEqual([]);
    expect(fast).toBeGreaterThan(n * 0.5);
    expect(fastInRange).toBeGreaterThan(inRange * 0.99);
  });

  it('takes the fast path for JavaScript shortest forms and %.18e (numpy.savetxt) forms', () => {
    const r = rng(5);
    let fast = 0;
    for (let k = 0; k < 20_000; k++) {
      const x = gaussian(r) * 10 ** Math.floor(r() * 40 - 20);
      for (const t of [String(x), x.toExponential(18)]) {
        const b = enc.encode(t);
        const v = fastParseNumber(b, 0, b.length);
        if (!Number.isNaN(v)) fast++;
        expect(Object.is(Number.isNaN(v) ? Number(t) : v, Number(t))).toBe(true);
      }
    }
    expect(fast).toBeGreaterThan(40_000 * 0.99);
  });

  it('readDataFile equals Number() bit for bit on 120k random tokens (fast path and fallback)', async () => {
    const r = rng(999);
    const cols = 12, rows = 10_000;
    const tokens: string[] = [];
    while (tokens.length < rows * cols) {
      const t = randomToken(r);
      if (Number.isFinite(Number(t))) tokens.push(t); // ±340 exponents can overflow: those are errors
    }
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) lines.push(tokens.slice(i * cols, (i + 1) * cols).join(','));
    const p = await file('tokens.csv', lines.join('\n'));
    const got = await readDataFile(p);
    expect([got.rows, got.cols]).toEqual([rows, cols]);
    const i = firstDiff(got.data, tokens.map(Number));
    expect(i === -1 ? '' : `${tokens[i]} → ${got.data[i]}`).toBe('');
  });

  it('rejects near-numbers the way Number() does', () => {
    for (const t of ['.', '-', '+', 'e5', '1e', '1e+', '1.5.2', '1,5', '--1', '1_000', '0x', '1 2']) {
      const b = enc.encode(t);
      expect(Number.isNaN(fastParseNumber(b, 0, b.length)), t).toBe(true);
    }
  });
});

describe('readDataFile: the value buffer of a large text file', () => {
  it('is sized once from the lines the file holds, whether its first MiB has longer or shorter rows than the rest', async () => {
    // A table sorted by a column: its first MiB is no sample of the rest. Sized from that MiB's
    // density, the buffer was grown (twice the old size, both held at once) or, too large, copied
    // to its size at the end: 2× the data at the peak (10M × 8: 1289 MiB where 678 sufficed).
    // Also line ends of any kind in any mix, and blank lines (which hold no row): a count of line
    // ends alone under- or over-counted those (the review of this change).
    const long = '1000.12345,2000.12345,3000.12345\n', short = '1.5,2.5,3.5\n';
    const mac = (row: string) => row.replace('\n', '\r'), dos = (row: string) => row.replace('\n', '\r\n'), spaced = (row: string) => row + '\n';
    for (const [first, rest] of [[long, short], [short, long], [short, mac(short)], [mac(short), dos(short)], [short, spaced(short)]] as const) {
      const head = first.repeat(Math.ceil((1 << 20) / first.length));
      const tail = rest.repeat(Math.ceil((24 << 20) / rest.length));
      const path = await file('sorted.csv', head + tail);
      const rows = head.length / first.length + tail.length / rest.length;
      const grow = vi.spyOn(TextParser.prototype, 'grow');
      const reserve = vi.spyOn(TextParser.prototype, 'reserve');
      try {
        const got = await readDataFile(path);
        expect([got.rows, got.cols]).toEqual([rows, 3]);
        expect(got.data[got.data.length - 1], JSON.stringify(rest)).toBe(rest === long ? 3000.12345 : 3.5);
        expect(reserve).toHaveBeenCalledTimes(1);
        // (The first MiB's few values grow the parser's small first buffer, before the reserve.)
        expect(grow.mock.invocationCallOrder.filter((order) => order > reserve.mock.invocationCallOrder[0]!)).toEqual([]);
        const reserved = reserve.mock.calls[0]![0];
        expect(reserved).toBeGreaterThanOrEqual(rows * 3);
        expect(reserved).toBeLessThanOrEqual(rows * 3 + 2048);
        // No copy at the end: the values are a view of the buffer reserved.
        expect(got.data.buffer.byteLength).toBe(reserved * 8);
      } finally {
        grow.mockRestore();
        reserve.mockRestore();
      }
    }
  }, 60_000);
});

describe('readDataFile: very long lines', () => {
  it('a first line of numbers past a megabyte is judged by its first megabyte and read as one row', async () => {
    const count = 600_000;
    const values = Array.from({ length: count }, (_, i) => (i % 97) / 8);
    const p = join(dir, 'one-row.csv');
    await writeFile(p, values.join(',') + '\n');
    const got = await readDataFile(p);
    expect([got.rows, got.cols, got.headerSkipped]).toEqual([1, count, false]);
    expect(firstDiff(got.data, values)).toBe(-1);
    // Blank-separated and tab-separated alike.
    for (const [name, sep] of [['one-row.txt', ' '], ['one-row.tsv', '\t']] as const) {
      const q = join(dir, name);
      await writeFile(q, values.join(sep) + '\n');
      const r = await readDataFile(q);
      expect([r.rows, r.cols], name).toEqual([1, count]);
    }
    // A header of as many names before it: the data line after it is judged the same way.
    const h = join(dir, 'header-and-row.csv');
    await writeFile(h, Array.from({ length: count }, (_, i) => `c${i}`).join(',') + '\n' + values.join(',') + '\n');
    const withHeader = await readDataFile(h);
    expect([withHeader.rows, withHeader.cols, withHeader.headerSkipped, withHeader.header?.[count - 1]]).toEqual([1, count, true, `c${count - 1}`]);
  });

  /** A file of one 129 MiB line of `cell` repeated (comma-separated), removed after `body`. */
  async function withHugeLine(name: string, cell: string, body: (path: string, cells: number) => Promise<void>): Promise<void> {
    const p = join(dir, name);
    const line = Buffer.alloc(129 * 2 ** 20, `${cell},`);
    line[line.length - 1] = 0x0a;
    await writeFile(p, line);
    try {
      await body(p, line.length / (cell.length + 1));
    } finally {
      await rm(p);
    }
  }

  it('a first line of numbers beyond 128 MiB (no text of it could be split in memory) loads', async () => {
    await withHugeLine('huge-row.csv', '1', async (p, cells) => {
      const got = await readDataFile(p);
      expect([got.rows, got.cols, got.data[0], got.data[got.cols - 1]]).toEqual([1, cells, 1, 1]);
    });
  }, 60_000);

  it('a weights file of one long row is read (one weight per point, as documented)', async () => {
    const count = 700_000;
    const p = join(dir, 'weights-row.csv');
    await writeFile(p, Array.from({ length: count }, (_, i) => i % 3).join(',') + '\n');
    const w = await readWeightsFile(p, count);
    expect([w.length, w[0], w[1], w[count - 1]]).toEqual([count, 0, 1, (count - 1) % 3]);
  });

  it('a first line of text beyond 128 MiB is refused with its length and a hint, not a JavaScript engine error', async () => {
    await withHugeLine('one-long-line.csv', 'a', async (p) => {
      await expectDataError(readDataFile(p), `${p}: line 1 is 129 MiB long: one point per row is expected (is the file transposed?); a first line beyond 128 MiB is not read`);
    });
  }, 60_000);
});

describe('readDataFile: errors', () => {
  it('names a missing file, a directory, and an unreadable file', async () => {
    const missing = join(dir, 'missing.csv');
    await expectDataError(readDataFile(missing), `${missing}: no such file`);
    await expectDataError(readDataFile(dir), `${dir}: is a directory`);
    const npyMissing = join(dir, 'missing.npy');
    await expectDataError(readDataFile(npyMissing), `${npyMissing}: no such file`);
  });

  it('rejects an empty file and a header without data', async () => {
    const empty = await file('data.csv', '');
    await expectDataError(readDataFile(empty), `${empty}: the file is empty`);
    const blank = await file('data.txt', '\n  \r\n\t\n');
    await expectDataError(readDataFile(blank), `${blank}: the file is empty`);
    const headerOnly = await file('data.csv', 'x,y\n\n');
    await expectDataError(readDataFile(headerOnly), `${headerOnly}: no data rows after the header`);
    const emptyNpy = await file('data.npy', '');
    await expectDataError(readDataFile(emptyNpy), `${emptyNpy}: the file is empty`);
  });

  it('rejects ragged rows with both line numbers', async () => {
    const p = await file('data.csv', '1,2,3\n4,5,6\n\n7,8\n');
    const e = await expectDataError(readDataFile(p), `${p}: line 4 has 2 values but line 1 has 3`);
    expect(e.row).toBe(2);
    const h = await file('data.csv', 'a,b,c\n\n1,2,3\n4,5,6,7\n');
    await expectDataError(readDataFile(h), `${h}: line 4 has 4 values but line 3 has 3`);
    const w = await file('data.txt', '1 2\n3\n');
    await expectDataError(readDataFile(w), `${w}: line 2 has 1 value but line 1 has 2`);
    const hw = await file('data.csv', 'a,b,c\n1,2\n');
    await expectDataError(readDataFile(hw), `${hw}: line 2 has 2 values but the header (line 1) has 3 columns`);
  });

  it('rejects a non-numeric cell after the first row, and empty cells', async () => {
    const p = await file('data.csv', '1,2\n3,4\n5,6\n7,abc\n');
    const e = await expectDataError(readDataFile(p), `${p}: line 4, column 2: "abc" is not a number`);
    expect([e.row, e.column]).toEqual([3, 1]);
    const w = await file('data.txt', '1 2\n3 4x\n');
    await expectDataError(readDataFile(w), `${w}: line 2, column 2: "4x" is not a number`);
    const q = await file('data.csv', 'x\n"1"\n"y"\n');
    await expectDataError(readDataFile(q), `${q}: line 3, column 1: "y" is not a number`);
    const emptyCell = await file('data.csv', '1,,3\n');
    await expectDataError(readDataFile(emptyCell), `${emptyCell}: line 1, column 2 is empty`);
    const trailing = await file('data.csv', '1,2\n3,4,\n');
    await expectDataError(readDataFile(trailing), `${trailing}: line 2, column 3 is empty`);
    const tabs = await file('data.tsv', '1\t2\n3\t\t4\n');
    await expectDataError(readDataFile(tabs), `${tabs}: line 2, column 2 is empty`);
  });

  it('rejects NaN and ±Infinity in every spelling, with line and column', async () => {
    const cases: [string, string][] = [
      ['nan', 'NaN'], ['NaN', 'NaN'], ['-nan', 'NaN'], ['inf', 'Infinity'], ['+Inf', 'Infinity'],
      ['-inf', '-Infinity'], ['Infinity', 'Infinity'], ['-Infinity', '-Infinity'], ['INFINITY', 'Infinity'],
    ];
    for (const [tok, what] of cases) {
      const p = await file('data.csv', `1,2\n\n${tok},4\n`);
      const e = await expectDataError(readDataFile(p), `${p}: line 3, column 1 is ${what} (values must be finite)`);
      expect([e.row, e.column]).toEqual([1, 0]);
    }
    // On the first row too (not mistaken for a header).
    const first = await file('data.txt', '1 NaN\n2 3\n');
    await expectDataError(readDataFile(first), `${first}: line 1, column 2 is NaN (values must be finite)`);
  });

  it('rejects values that overflow to Infinity', async () => {
    const p = await file('data.csv', '1,2\n3,1e999\n');
    await expectDataError(readDataFile(p), `${p}: line 2, column 2: "1e999" overflows to Infinity (values must be finite)`);
    const n = await file('data.csv', '-1.8e308\n');
    await expectDataError(readDataFile(n), `${n}: line 1, column 1: "-1.8e308" overflows to -Infinity (values must be finite)`);
  });

  it('rejects NaN / Infinity in .npy data with the row and column', async () => {
    const e = await expectDataError(readDataFile(join(IO, 'numpy-nan.npy')), `${join(IO, 'numpy-nan.npy')}: row 3, column 2 is NaN (values must be finite)`);
    expect([e.row, e.column]).toEqual([2, 1]);
    const data = new Float32Array([1, 2, 3, 4, 5, -Infinity]);
    const p = await file('inf.npy', encodeNpy({ data, rows: 3, cols: 2 }));
    await expectDataError(readDataFile(p), `${p}: row 3, column 2 is -Infinity (values must be finite)`);
  });
});

describe('the file functions\' arguments', () => {
  it("what the caller's onProgress throws reaches the caller unchanged (text and .npy), not as a read error", async () => {
    class Stop extends Error {}
    const csv = await file('progress.csv', '1,2\n3,4\n');
    const npy = await file('progress.npy', encodeNpy({ data: new Float64Array([1, 2, 3, 4]), rows: 2, cols: 2 }));
    for (const p of [csv, npy]) {
      const stop = new Stop('cancelled by the caller');
      const err = await readDataFile(p, { onProgress: () => { throw stop; } }).catch((e: unknown) => e);
      expect(err).toBe(stop);
    }
  });

  it('readDataFile refuses options it does not know, a signal that is not one, and a non-function onProgress', async () => {
    const p = await file('opts.csv', '1,2\n');
    const cases: [unknown, string, RegExp][] = [
      [{ onProgres: () => undefined }, 'onProgres', /^unknown option "onProgres"; valid options are: signal, onProgress$/],
      [{ signal: 'abc' }, 'signal', /^signal must be an AbortSignal, got "abc"$/],
      [{ onProgress: 5 }, 'onProgress', /^onProgress must be a function, got 5$/],
      [null, 'options', /^options must be an object \{ signal\?, onProgress\? \}, got null$/],
    ];
    for (const [options, parameter, message] of cases) {
      const err = await readDataFile(p, options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).parameter).toBe(parameter);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('a path that is not a non-empty string is an InvalidArgumentError naming the function', async () => {
    const m = { data: [1, 2], rows: 1, cols: 2 };
    const calls: [string, () => Promise<unknown>][] = [
      ['readDataFile', () => readDataFile(123 as never)],
      ['readWeightsFile', () => readWeightsFile(null as never, 1)],
      ['writeCsv', () => writeCsv(123 as never, m)],
      ['writeDataFile', () => writeDataFile('' as never, m)],
      ['writeColumn', () => writeColumn(new URL('file:///tmp/x.csv') as never, [1])],
    ];
    for (const [name, call] of calls) {
      const err = await call().catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).parameter).toBe('path');
      expect((err as Error).message).toMatch(new RegExp(`^${name} needs a file name \\(a non-empty string\\), got `));
    }
    const err = await writeDataFile(join(dir, 'o.csv'), m, { signl: 1 } as never).catch((e: unknown) => e);
    expect((err as Error).message).toBe('unknown option "signl"; the only option is: signal');
  });
});

const NUMPY_A = [
  -0.55, -0.45000000000000007, -0.35000000000000003, -0.25, -0.15000000000000002, -0.050000000000000044,
  0.050000000000000044, 0.15000000000000002, 0.25, 0.35, 0.44999999999999996, 0.55,
];

describe('.npy', () => {
  it('writes more than 4 GiB of values in block views (one view over them all exceeded Node\'s largest Uint8Array)', () => {
    // 2^29 + 8 values: `generate -n 68000000` with D = 8 failed with "Invalid typed array length: 4352000000".
    const rows = 2 ** 26 + 1, cols = 8;
    const data = new Float64Array(rows * cols);
    data[data.length - 1] = 42.5;
    const blocks = [...npyBlocks(data, rows, cols)];
    const header = blocks[0]!.length;
    expect(blocks.slice(1).reduce((sum, b) => sum + b.length, 0)).toBe(rows * cols * 8);
    expect(Math.max(...blocks.slice(1).map((b) => b.length))).toBe(1 << 23);
    const last = blocks[blocks.length - 1]!;
    expect(new Float64Array(last.buffer, last.byteOffset + last.length - 8, 1)[0]).toBe(42.5);
    expect(header % 64).toBe(0);
  });

  it('npyBlocks: the bytes of encodeNpy, the values as views of the array itself (no copy)', async () => {
    const { npyBlocks } = await import('../src/io/npy.js');
    const rng = { v: 1 };
    for (const [rows, cols] of [[0, 3], [1, 1], [7, 3], [1000, 5]] as const) {
      const data = Float64Array.from({ length: rows * cols }, () => (rng.v = (rng.v * 16807) % 2147483647) / 997);
      const blocks = [...npyBlocks(data, rows, cols, 64)];
      const joined = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of blocks) (joined.set(b, at), (at += b.length));
      expect(Buffer.from(joined).equals(Buffer.from(encodeNpy({ data, rows, cols }))), `${rows}×${cols}`).toBe(true);
      for (const b of blocks.slice(1)) expect(b.buffer).toBe(data.buffer);
    }
  });

  it('reads files written by NumPy: float64, float32 Fortran, v2.0, 1-D, big-endian', async () => {
    const c = await readDataFile(join(IO, 'numpy-f8-c.npy'));
    expect(c.format).toBe('npy');
    expect(c.headerSkipped).toBe(false);
    expect(c.data).toBeInstanceOf(Float64Array);
    expect([c.rows, c.cols]).toEqual([4, 3]);
    expect(firstDiff(c.data, NUMPY_A)).toBe(-1);

    const f4 = await readDataFile(join(IO, 'numpy-f4-fortran.npy'));
    expect(f4.data).toBeInstanceOf(Float32Array);
    expect([f4.rows, f4.cols]).toEqual([4, 3]);
    expect(firstDiff(f4.data, NUMPY_A.map(Math.fround))).toBe(-1);

    for (const name of ['numpy-f8-fortran.npy', 'numpy-f8-v2.npy', 'numpy-f8-bigendian.npy']) {
      const m = await readDataFile(join(IO, name));
      expect([m.rows, m.cols], name).toEqual([4, 3]);
      expect(firstDiff(m.data, NUMPY_A), name).toBe(-1);
    }

    const one = await readDataFile(join(IO, 'numpy-f8-1d.npy'));
    expect([one.rows, one.cols]).toEqual([4, 1]);
    expect(firstDiff(one.data, [NUMPY_A[0]!, NUMPY_A[3]!, NUMPY_A[6]!, NUMPY_A[9]!])).toBe(-1);
  });

  it('names unsupported dtypes and shapes', async () => {
    const i4 = join(IO, 'numpy-i4.npy');
    await expectDataError(readDataFile(i4), `${i4}: unsupported dtype '<i4' (expected float64 '<f8' or float32 '<f4')`);
    const d3 = join(IO, 'numpy-3d.npy');
    await expectDataError(readDataFile(d3), `${d3}: the array has 3 dimensions (shape (2, 2, 2)); expected a 1-D or 2-D array`);
    // np.save of a record array: a well-formed header whose descr is a list of fields (was "malformed .npy header").
    const dict = "{'descr': [('x', '<f8'), ('y', '<f8')], 'fortran_order': False, 'shape': (2,), }";
    const pad = 64 - ((10 + dict.length + 1) % 64);
    const header = new TextEncoder().encode(dict + ' '.repeat(pad % 64) + '\n');
    const records = new Uint8Array(10 + header.length + 32);
    records.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
    records.set(header, 10);
    const rec = await file('records.npy', records);
    await expectDataError(readDataFile(rec), `${rec}: unsupported dtype: a structured array of named fields ([('x', '<f8'), ('y', '<f8')]); save the values as a plain 2-D float64 array (e.g. np.save(f, df.to_numpy(float)))`);
    // A field name with quotes, as NumPy escapes it: the same message, not a malformed header.
    const quotedDict = `{'descr': [('a\\'b"', '<f8'), ('y', '<f8')], 'fortran_order': False, 'shape': (2,), }`;
    const quotedHeader = new TextEncoder().encode(quotedDict + ' '.repeat((64 - ((10 + quotedDict.length + 1) % 64)) % 64) + '\n');
    const quoted = new Uint8Array(10 + quotedHeader.length + 32);
    quoted.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, quotedHeader.length & 0xff, quotedHeader.length >> 8]);
    quoted.set(quotedHeader, 10);
    const q = await file('quoted.npy', quoted);
    await expectDataError(readDataFile(q), `${q}: unsupported dtype: a structured array of named fields ([('a\\'b"', '<f8'), ('y', '<f8')]); save the values as a plain 2-D float64 array (e.g. np.save(f, df.to_numpy(float)))`);
  });

  it('the Node entry\'s writers and npy codec refuse arguments of the wrong kind with InvalidArgumentError, not a TypeError', async () => {
    const rejects = async (f: () => unknown, parameter: string): Promise<void> => {
      let e: unknown;
      try {
        await f();
      } catch (caught) {
        e = caught;
      }
      expect(e, String(f)).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).parameter).toBe(parameter);
    };
    await rejects(() => encodeNpy(null as never), 'matrix');
    await rejects(() => encodeNpy({ data: new Float64Array(3), rows: 2, cols: 2 }), 'matrix');
    await rejects(() => parseNpy(undefined as never, 'x.npy'), 'bytes');
    // A name that is no string: was a TypeError ("Cannot convert a Symbol value to a string") from the first message.
    const npyBytes = encodeNpy({ data: new Float64Array(2), rows: 2, cols: 1 });
    for (const name of [Symbol('x'), Object.create(null), '', undefined]) await rejects(() => parseNpy(new Uint8Array([1, 2, 3]), name as never), 'name');
    await rejects(() => parseNpy(npyBytes, 7 as never), 'name');
    await rejects(() => writeCsv(join(dir, 'w.csv'), null as never), 'matrix');
    await rejects(() => writeDataFile(join(dir, 'w.csv'), { data: null, rows: 1, cols: 1 } as never), 'matrix');
    await rejects(() => writeColumn(join(dir, 'w.csv'), null as never), 'values');
    // Values that are not numbers: written as they print ('1,5' as two fields), as NaN, or a
    // TypeError from the encoder (BigInt).
    await rejects(() => writeCsv(join(dir, 'w.csv'), { data: ['1,5', 2], rows: 1, cols: 2 } as never), 'matrix');
    await rejects(() => writeDataFile(join(dir, 'w.npy'), { data: ['a', 2], rows: 1, cols: 2 } as never), 'matrix');
    await rejects(() => encodeNpy({ data: new BigInt64Array(4), rows: 2, cols: 2 } as never), 'matrix');
    await rejects(() => writeDataFile(join(dir, 'w.npy'), { data: new BigInt64Array(4), rows: 2, cols: 2 } as never), 'matrix');
    await rejects(() => writeColumn(join(dir, 'w.csv'), ['1,5', 2] as never), 'values');
    await rejects(() => writeColumn(join(dir, 'w.csv'), [1, , 3] as never), 'values');
    await rejects(() => writeColumn(join(dir, 'w.csv'), new BigInt64Array(2) as never), 'values');
    expect(await readdir(dir)).not.toContain('w.csv');
    expect(await readdir(dir)).not.toContain('w.npy');
    // Numbers in any typed array or array are fine.
    await writeCsv(join(dir, 'ints.csv'), { data: new Int32Array([1, -2]), rows: 1, cols: 2 });
    expect(await readFile(join(dir, 'ints.csv'), 'utf8')).toBe('1,-2\n');
  });

  it('removeTemporaryFiles deletes the temporary file of a write still in progress (for a process about to die of a signal)', async () => {
    let release = (): void => undefined;
    const stalled = (async function* () {
      yield 'first chunk\n';
      await new Promise<void>((r) => (release = r));
      yield 'second chunk\n';
    })();
    const writing = writeFileAtomic(join(dir, 'stalled.csv'), stalled);
    const temporary = async (): Promise<string[]> => (await readdir(dir)).filter((f) => f.startsWith('.stalled.csv.tmp-'));
    for (let i = 0; i < 200 && (await temporary()).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await temporary()).toHaveLength(1);
    removeTemporaryFiles();
    expect(await temporary()).toEqual([]);
    // The write itself then fails (its file is gone), leaving nothing behind.
    release();
    await expect(writing).rejects.toThrow(/stalled\.csv: cannot write/);
    expect((await readdir(dir)).filter((f) => f.includes('stalled'))).toEqual([]);
  });

  it('round-trips float64, float32 and one column through encodeNpy', async () => {
    const r = rng(3);
    const f64 = new Float64Array(37 * 5).map(() => gaussian(r) * 1e3);
    f64[4] = -0;
    const f32 = new Float32Array(11 * 3).map(() => gaussian(r));
    const col = new Float64Array(9).map(() => gaussian(r));
    for (const [m, Type] of [
      [{ data: f64, rows: 37, cols: 5 }, Float64Array],
      [{ data: f32, rows: 11, cols: 3 }, Float32Array],
      [{ data: col, rows: 9, cols: 1 }, Float64Array],
    ] as const) {
      const bytes = encodeNpy(m);
      const headerLen = bytes[8]! | (bytes[9]! << 8);
      expect((10 + headerLen) % 64).toBe(0);
      expect(bytes[10 + headerLen - 1]).toBe(0x0a);
      const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
      expect(header).toContain(`'shape': (${m.rows}, ${m.cols})`);
      expect(header).toContain(`'descr': '<${Type === Float32Array ? 'f4' : 'f8'}'`);
      const back = parseNpy(bytes, 'mem');
      expect(back.data).toBeInstanceOf(Type);
      expect([back.rows, back.cols]).toEqual([m.rows, m.cols]);
      expect(firstDiff(back.data, m.data)).toBe(-1);
      const p = await file('m.npy', bytes);
      const fromFile = await readDataFile(p);
      expect(firstDiff(fromFile.data, m.data)).toBe(-1);
    }
  });

  /** Builds a .npy file by hand: any version, header text and raw data bytes. */
  function handmade(major: number, header: string, data: Uint8Array): Uint8Array {
    const h = enc.encode(header);
    const pre = major === 1 ? 10 : 12;
    const out = new Uint8Array(pre + h.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    const view = new DataView(out.buffer);
    if (major === 1) view.setUint16(8, h.length, true);
    else view.setUint32(8, h.length, true);
    out.set(h, pre);
    out.set(data, pre + h.length);
    return out;
  }
  const fortran32 = new Float64Array([1, 3, 5, 2, 4, 6]); // 3×2 [[1,2],[3,4],[5,6]] in column order

  it('reads handcrafted v2.0 and v3.0 headers (Fortran order, 4-byte header length)', () => {
    const data = new Uint8Array(fortran32.buffer);
    const header = "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }".padEnd(115, ' ') + '\n'; // 12 + 116 = 128
    for (const major of [2, 3]) {
      const m = parseNpy(handmade(major, header, data), 'v.npy');
      expect([m.rows, m.cols]).toEqual([3, 2]);
      expect([...m.data]).toEqual([1, 2, 3, 4, 5, 6]);
    }
    // Double quotes, '|' byte order, '=' native order, and a 1-D shape with a trailing comma.
    const one = parseNpy(handmade(1, '{"descr": "|f8", "fortran_order": False, "shape": (3,)}\n', data.subarray(0, 24)), 'v.npy');
    expect([one.rows, one.cols, ...one.data]).toEqual([3, 1, 1, 3, 5]);
  });

  it('copies unaligned data into an aligned array', () => {
    const bytes = encodeNpy({ data: new Float64Array([1.5, -2.5, 3.25]), rows: 3, cols: 1 });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const m = parseNpy(shifted.subarray(1), 'u.npy');
    expect(m.data.byteOffset % 8).toBe(0);
    expect([...m.data]).toEqual([1.5, -2.5, 3.25]);
    // header length 117 → data at 127 (unaligned) in a handcrafted v1.0 file
    const odd = handmade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }".padEnd(116, ' ') + '\n', new Uint8Array(new Float32Array([0.5, 7]).buffer));
    const m2 = parseNpy(odd, 'odd.npy');
    expect(m2.data).toBeInstanceOf(Float32Array);
    expect([...m2.data]).toEqual([0.5, 7]);
  });

  it('names bad magic, a truncated header, malformed headers and truncated data', () => {
    const good = encodeNpy({ data: new Float64Array([1, 2, 3, 4]), rows: 2, cols: 2 });
    const bad = (bytes: Uint8Array) => {
      try {
        parseNpy(bytes, 'x.npy');
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidDataError);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(bad(enc.encode('1,2,3\n4,5,6\n'))).toBe('x.npy: not a NumPy .npy file (bad magic string; expected "\\x93NUMPY")');
    expect(bad(good.subarray(0, 40))).toMatch(/^x\.npy: truncated \.npy header/);
    expect(bad(handmade(1, '{', new Uint8Array(0)).subarray(0, 10))).toBe('x.npy: truncated .npy header (header says 1 byte, the file has 0 bytes after the preamble)');
    expect(bad(good.subarray(0, good.length - 1))).toBe("x.npy: data is truncated: shape (2, 2) of <f8 needs 32 bytes but the file has 31 bytes");
    expect(bad(handmade(1, "{'descr': '<f8'}\n", new Uint8Array(0)))).toMatch(/^x\.npy: malformed \.npy header/);
    // Read as …992 before: beyond 2^53 a dimension cannot be held exactly.
    expect(bad(handmade(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (9007199254740993, 2), }\n", new Uint8Array(0)))).toBe(
      'x.npy: shape (9007199254740993, 2) in the .npy header has a dimension of 2^53 or more',
    );
    expect(bad(handmade(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(16)))).toBe(
      "x.npy: unsupported dtype '<c16' (expected float64 '<f8' or float32 '<f4')",
    );
    expect(bad(handmade(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", new Uint8Array(8)))).toBe(
      'x.npy: the array is a scalar (shape ()); expected a 1-D or 2-D array',
    );
    expect(bad(handmade(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }\n", new Uint8Array(0)))).toBe(
      'x.npy: the array is empty (shape (0, 3))',
    );
    // The header is a Python literal, parsed as one (it was matched key by key: the first of two
    // shapes, a 'descr' inside another key's string, and junk around the dict were taken).
    const header = (dict: string, data = new Uint8Array(32)) => bad(handmade(1, `${dict}\n`, data));
    expect(header("{'shape': (4, 1), 'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }")).toMatch(/^x\.npy: malformed \.npy header \('shape' is given twice\)/);
    expect(header(`{'x': "'descr': '>f8'", 'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }`)).toMatch(/^x\.npy: malformed \.npy header \(expected the keys 'descr', 'fortran_order' and 'shape'; unexpected "x"\)/);
    expect(header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), } junk")).toMatch(/^x\.npy: malformed \.npy header \("junk" follows the dict\)/);
    expect(header("({'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), },)")).toMatch(/^x\.npy: malformed \.npy header \(expected a dict\)/);
    expect(header("{'descr': '<f8', 'fortran_order': False, 'shape': (4), }")).toMatch(/^x\.npy: malformed \.npy header: 'shape' is not a tuple of integers/);
    expect(header("{'descr': '<f8', 'fortran_order': 0, 'shape': (4,), }")).toMatch(/^x\.npy: malformed \.npy header: 'fortran_order' is not True or False/);
    expect(header("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 'a'), }")).toMatch(/^x\.npy: malformed \.npy header: 'shape' is not a tuple of integers/);
    expect(header("{'descr': '<f8, 'fortran_order': False, 'shape': (4,), }")).toMatch(/^x\.npy: malformed \.npy header \(expected ',' or '}'\)/);
    // What Python accepts is read: keys in any order, a line break inside the tuple, Python 2's 4L.
    const ok = parseNpy(handmade(1, "{'shape': (2,\n 2L), 'fortran_order': False, \"descr\": '<f8'}   \n", new Uint8Array(new Float64Array([1, 2, 3, 4]).buffer)), 'ok.npy');
    expect([ok.rows, ok.cols, ...ok.data]).toEqual([2, 2, 1, 2, 3, 4]);
    // Longer than the shape (NumPy reads the shape's bytes and ignores the rest): a shape smaller
    // than its data, one byte inserted, a second array saved into the same file.
    expect(bad(new Uint8Array([...good, 0]))).toBe('x.npy: shape (2, 2) of <f8 needs 32 bytes of data, but 33 bytes follow the header (the header does not describe the data)');
    expect(bad(new Uint8Array([...good, ...good]))).toMatch(/^x\.npy: shape \(2, 2\) of <f8 needs 32 bytes of data, but 192 bytes follow the header: the file holds more than one array/);
    const v9 = good.slice();
    v9[6] = 9;
    expect(bad(v9)).toBe('x.npy: unsupported .npy format version 9.0 (expected 1.0, 2.0 or 3.0)');
  });
});

describe('writeCsv / writeColumn', () => {
  it('writes the shortest round-trip form, comma-separated, \\n line ends', async () => {
    const p = join(dir, 'out.csv');
    await writeCsv(p, { data: [1, 0.5, -0, 1e21, 1.5e-7, -123.25], rows: 3, cols: 2 });
    expect(await readFile(p, 'utf8')).toBe('1,0.5\n-0,1e+21\n1.5e-7,-123.25\n');
    const c = join(dir, 'col.csv');
    await writeColumn(c, new Int32Array([3, 1, 2]));
    expect(await readFile(c, 'utf8')).toBe('3\n1\n2\n');
  });

  it('round-trips values bit for bit through readDataFile', async () => {
    const r = rng(42);
    const rows = 25_000, cols = 4; // several 1 MiB write blocks
    const data = new Float64Array(rows * cols).map(() => gaussian(r) * 10 ** Math.floor(r() * 600 - 300));
    data.set([-0, 5e-324, 1.7976931348623157e308, -2.2250738585072014e-308, 0.1, 1 / 3, 2 ** 53 + 2, 0]);
    const p = join(dir, 'roundtrip.csv');
    await writeCsv(p, { data, rows, cols });
    const back = await readDataFile(p);
    expect([back.rows, back.cols]).toEqual([rows, cols]);
    expect(firstDiff(back.data, data)).toBe(-1);
    // float32 input is written as its exact double value
    const f32 = new Float32Array([0.1, -3.5]);
    const q = join(dir, 'f32.csv');
    await writeColumn(q, f32);
    expect(firstDiff((await readDataFile(q)).data, [...f32])).toBe(-1);
  });

  it('writeCsv refuses a binary format\'s name; writeDataFile writes what each extension names, exactly', async () => {
    for (const name of ['w.npy', 'w.BIN']) {
      const err = await writeCsv(join(dir, name), { data: [1], rows: 1, cols: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(/writeCsv writes CSV text, but .* names a binary format; writeDataFile writes the format its extension names/);
    }
    await expect(writeColumn(join(dir, 'labels.npy'), [1, 2])).rejects.toThrow(/^writeColumn writes CSV text/);
    const data = [0.1, -0, 1e300, 2.5, 1 / 3, -7];
    for (const [ext, format] of [['csv', 'csv'], ['tsv', 'tsv'], ['txt', 'whitespace'], ['npy', 'npy'], ['bin', 'arma_binary']] as const) {
      const p = join(dir, `wd.${ext}`);
      await writeDataFile(p, { data, rows: 3, cols: 2 });
      const back = await readDataFile(p);
      expect([back.format, back.rows, back.cols, firstDiff(back.data, data)], ext).toEqual([format, 3, 2, -1]);
    }
    await expect(writeDataFile(join(dir, 'wd.h5'), { data, rows: 3, cols: 2 })).rejects.toThrow(/unknown output file extension "\.h5" \(use \.csv, \.txt, \.tsv, \.npy or \.bin\)/);
    await expect(writeDataFile(join(dir, 'wd.csv'), { data, rows: 4, cols: 2 })).rejects.toThrow(InvalidArgumentError);
  });

  it('fails with a WebGmmError naming the path when the directory is missing', async () => {
    const p = join(dir, 'no-such-dir', 'out.csv');
    const err = await writeCsv(p, { data: [1], rows: 1, cols: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGmmError);
    expect((err as WebGmmError).code).toBe('OUTPUT');
    expect((err as Error).message).toBe(`${p}: cannot write: no such directory: ${join(dir, 'no-such-dir')}`);
  });

  it('sameFile: an output that would replace an input, through links and hard links; never a device or FIFO', async () => {
    const { sameFile } = await import('../src/io/atomic.js');
    const { link, symlink } = await import('node:fs/promises');
    const sub = join(dir, 'same');
    await mkdir(sub);
    const a = join(sub, 'a.csv');
    await writeFile(a, '1\n');
    await link(a, join(sub, 'hard.csv'));
    await symlink('a.csv', join(sub, 'soft.csv'));
    expect(await sameFile(join(sub, 'hard.csv'), a)).toBe(true);
    expect(await sameFile(join(sub, 'soft.csv'), a)).toBe(true);
    expect(await sameFile(join(sub, '..', 'same', 'a.csv'), a)).toBe(true);
    expect(await sameFile(join(sub, 'new.csv'), join(sub, '.', 'new.csv'))).toBe(true); // neither exists yet
    expect(await sameFile(join(sub, 'b.csv'), a)).toBe(false);
    // Written through, never replaced: a terminal that is stdin and stdout, /dev/null, a FIFO.
    expect(await sameFile('/dev/null', '/dev/null')).toBe(false);
    const fifo = join(sub, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(await sameFile(fifo, fifo)).toBe(false);
  });

  it('a legal name of 250 bytes is written (the temporary and probe names stay within 255)', async () => {
    const { outputPathProblem } = await import('../src/io/atomic.js');
    const sub = join(dir, 'long');
    await mkdir(sub);
    const target = join(sub, 'p'.repeat(246) + '.csv');
    expect(await outputPathProblem(target)).toBeNull();
    await writeCsv(target, { data: [1, 2], rows: 1, cols: 2 });
    expect(await readFile(target, 'utf8')).toBe('1,2\n');
    await writeCsv(target, { data: [3, 4], rows: 1, cols: 2 });
    expect(await readFile(target, 'utf8')).toBe('3,4\n');
    expect(await readdir(sub)).toEqual(['p'.repeat(246) + '.csv']);
    // One byte more than the file system takes: named as such.
    const err = await writeCsv(join(sub, 'p'.repeat(256)), { data: [1], rows: 1, cols: 1 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/file name too long/);
  });

  it('replaces an existing file only on success and leaves no temporary file behind', async () => {
    const sub = join(dir, 'atomic');
    await mkdir(sub);
    const target = join(sub, 'out.csv');
    await writeFile(target, 'old\n');
    await writeCsv(target, { data: [1, 2], rows: 1, cols: 2 });
    expect(await readFile(target, 'utf8')).toBe('1,2\n');

    // Failure while producing the content: the old file stays, the temporary file is removed.
    // (The values are read once when the arguments are checked; the second read fails.)
    let reads = 0;
    const throwing = new Proxy({ length: 4 } as ArrayLike<number>, {
      get(t, key) {
        if (key === '3' && ++reads === 2) throw new Error('boom');
        if (typeof key === 'string' && /^\d+$/.test(key)) return Number(key);
        return Reflect.get(t, key);
      },
    });
    const err = await writeCsv(target, { data: throwing, rows: 2, cols: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGmmError);
    expect((err as Error).message).toBe(`${target}: cannot write: boom`);
    expect(await readFile(target, 'utf8')).toBe('1,2\n');

    // Failure at the rename (the target is a directory): the temporary file is removed.
    const asDir = join(sub, 'taken.csv');
    await mkdir(asDir);
    const err2 = await writeColumn(asDir, [1, 2]).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(WebGmmError);
    expect((err2 as Error).message).toMatch(new RegExp(`^${asDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write: `));
    expect((await readdir(sub)).sort()).toEqual(['out.csv', 'taken.csv']);
  });

  it('rejects a shape that does not match the data', async () => {
    await expect(writeCsv(join(dir, 'bad.csv'), { data: [1, 2, 3], rows: 2, cols: 2 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('readWeightsFile', () => {
  it('reads one weight per line, a single row, a header, and .npy', async () => {
    const col = await readWeightsFile(await file('w.csv', '1\n2.5\n\n0\n'), 3);
    expect(col).toBeInstanceOf(Float64Array);
    expect([...col]).toEqual([1, 2.5, 0]);
    expect([...(await readWeightsFile(await file('w.txt', '1 2 3\n'), 3))]).toEqual([1, 2, 3]);
    let headers = 0;
    expect([...(await readWeightsFile(await file('w.csv', 'weight\n4\n5\n'), 2, () => headers++))]).toEqual([4, 5]);
    expect(headers).toBe(1); // the skipped header is reported
    await readWeightsFile(await file('w.csv', '4\n5\n'), 2, () => headers++);
    expect(headers).toBe(1);
    const npy = await file('w.npy', encodeNpy({ data: new Float32Array([0.5, 2]), rows: 2, cols: 1 }));
    const fromNpy = await readWeightsFile(npy, 2);
    expect(fromNpy).toBeInstanceOf(Float64Array);
    expect([...fromNpy]).toEqual([0.5, 2]);
  });

  it('names the file and line of a bad weight, and a wrong count or shape', async () => {
    const neg = await file('weights.csv', '1\n\n-0.5\n');
    const e = await expectDataError(readWeightsFile(neg, 2), `${neg}: line 3, column 1: weight -0.5 is negative (weights must be ≥ 0)`);
    expect(e.row).toBe(1);
    const nan = await file('weights.csv', '1\nnan\n');
    await expectDataError(readWeightsFile(nan, 2), `${nan}: line 2, column 1 is NaN (values must be finite)`);
    const txt = await file('weights.csv', '1\nheavy\n');
    await expectDataError(readWeightsFile(txt, 2), `${txt}: line 2, column 1: "heavy" is not a number`);
    const count = await file('weights.csv', '1\n'.repeat(9));
    await expectDataError(readWeightsFile(count, 10), `${count}: has 9 weights but the data has 10 points`);
    const one = await file('weights.csv', '1\n');
    await expectDataError(readWeightsFile(one, 2), `${one}: has 1 weight but the data has 2 points`);
    const grid = await file('weights.csv', '1,2\n3,4\n');
    await expectDataError(
      readWeightsFile(grid, 4),
      `${grid}: has 2 rows of 2 values; expected one weight per line (a single column) or a single row`,
    );
    const npyNeg = await file('w.npy', encodeNpy({ data: new Float64Array([1, -2]), rows: 2, cols: 1 }));
    await expectDataError(readWeightsFile(npyNeg, 2), `${npyNeg}: row 2, column 1: weight -2 is negative (weights must be ≥ 0)`);
    const missing = join(dir, 'nope.csv');
    await expectDataError(readWeightsFile(missing, 2), `${missing}: no such file`);
  });
});

describe('readDataFile: CSV quoting', () => {
  it('reads fully quoted numbers (pandas QUOTE_ALL) exactly', async () => {
    const values = [1.5, 2, -0.1, 3e-7, 123456.789, 0.30000000000000004];
    const text = `"a","b","c"\n${values.slice(0, 3).map((v) => `"${v}"`).join(',')}\r\n${values.slice(3).map((v) => `"${v}"`).join(',')}\n`;
    for (const name of ['q.csv', 'q.txt', 'q.dat']) {
      const r = await readDataFile(await file(name, text));
      expect([r.rows, r.cols, r.format], name).toEqual([2, 3, 'csv']);
      expect(r.header, name).toEqual(['a', 'b', 'c']);
      expect(firstDiff(r.data, values), name).toBe(-1);
    }
    // Without a header, with blanks inside and around the quotes, and mixed with unquoted cells.
    const bare = await readDataFile(await file('q.csv', '"1.5","2"\n "3" ,4\n" -5 ","6e1"\n'));
    expect([bare.rows, bare.cols, bare.headerSkipped, ...bare.data]).toEqual([3, 2, false, 1.5, 2, 3, 4, -5, 60]);
  });

  it('reads quoted values in tab- and blank-separated files', async () => {
    const tsv = await readDataFile(await file('q.tsv', '"x"\t"y"\n"1"\t2\n3\t"4"\n'));
    expect([tsv.rows, tsv.cols, ...tsv.data]).toEqual([2, 2, 1, 2, 3, 4]);
    expect(tsv.header).toEqual(['x', 'y']);
    const ws = await readDataFile(await file('q.txt', '"sepal length" "sepal width"\n"5.1" 3.5\n'));
    expect([ws.format, ws.rows, ws.cols, ...ws.data]).toEqual(['whitespace', 1, 2, 5.1, 3.5]);
    expect(ws.header).toEqual(['sepal length', 'sepal width']);
  });

  it('splits a quoted header with RFC 4180 rules (separators and "" inside quotes)', async () => {
    const r = await readDataFile(await file('h.csv', '"a,b",c\n1,2\n'));
    expect([r.rows, r.cols, ...r.data]).toEqual([1, 2, 1, 2]);
    expect(r.header).toEqual(['a,b', 'c']);
    const esc = await readDataFile(await file('h.csv', '"say ""hi"", then",  "x"  ,y\n1,2,3\n'));
    expect(esc.header).toEqual(['say "hi", then', 'x', 'y']);
    const tab = await readDataFile(await file('h.tsv', '"a\tb"\tc\n1\t2\n'));
    expect(tab.header).toEqual(['a\tb', 'c']);
  });

  it('names bad quoted cells by their content, and still refuses a real mismatch', async () => {
    const comma = await file('data.csv', 'a,b\n"1,5",2\n');
    await expectDataError(readDataFile(comma), `${comma}: line 2, column 1: "1,5" is not a number`);
    const empty = await file('data.csv', '1,2\n"",2\n');
    await expectDataError(readDataFile(empty), `${empty}: line 2, column 1 is empty`);
    const text = await file('data.csv', '1,2\n3,"n/a"\n');
    await expectDataError(readDataFile(text), `${text}: line 2, column 2: "n/a" is not a number`);
    const trailing = await file('data.csv', '1,2\n"3"x,4\n');
    await expectDataError(readDataFile(trailing), `${trailing}: line 2, column 1: "\\"3\\"x" is not a number`);
    const neg = await file('w.csv', '"1"\n"-0.5"\n');
    await expectDataError(readWeightsFile(neg, 2), `${neg}: line 2, column 1: weight -0.5 is negative (weights must be ≥ 0)`);
    const ragged = await file('data.csv', '"a,b",c\n1,2,3\n');
    await expectDataError(readDataFile(ragged), `${ragged}: line 2 has 3 values but the header (line 1) has 2 columns`);
  });
});

describe('readDataFile: separator detection with a header', () => {
  it('picks the separator from the first data line, not the header', async () => {
    const tsv = await readDataFile(await file('prices.txt', 'price, usd\tqty\n1.5\t2\n3\t4\n'));
    expect([tsv.format, tsv.rows, tsv.cols, ...tsv.data]).toEqual(['tsv', 2, 2, 1.5, 2, 3, 4]);
    expect(tsv.header).toEqual(['price, usd', 'qty']);
    for (const name of ['xyz.txt', 'xyz.dat', 'xyz.csv']) {
      const csv = await readDataFile(await file(name, 'x y z\n1,2,3\n4,5,6\n'));
      expect([csv.format, csv.rows, csv.cols, ...csv.data], name).toEqual(['csv', 2, 3, 1, 2, 3, 4, 5, 6]);
      expect(csv.header, name).toEqual(['x', 'y', 'z']);
    }
    const ws = await readDataFile(await file('a.txt', 'a,b\n\n1 2\n'));
    expect([ws.format, ws.cols]).toEqual(['whitespace', 2]);
    expect(ws.header).toEqual(['a', 'b']);
  });

  it('keeps the header\'s separator over single-value data lines, and still reports a mismatch', async () => {
    const one = await readDataFile(await file('one.txt', 'sepal length\n5.1\n4.9\n'));
    expect([one.rows, one.cols, one.header]).toEqual([2, 1, ['sepal length']]);
    const weights = await readDataFile(await file('w.csv', '"sample weight"\n0.5\n'));
    expect([weights.rows, weights.cols, weights.header]).toEqual([1, 1, ['sample weight']]);
    const two = await file('two.txt', 'a,b\n1\n');
    await expectDataError(readDataFile(two), `${two}: line 2 has 1 value but the header (line 1) has 2 columns`);
    const more = await file('more.txt', 'a,b,c\n1\t2\n');
    await expectDataError(readDataFile(more), `${more}: line 2 has 2 values but the header (line 1) has 3 columns`);
  });
});

describe('readDataFile: the first line', () => {
  const HINT = 'mixes numbers with a value that is no column name, so it is read as data (a header line has no numeric cells, or names among them)';

  it('is an error, not a header, when it mixes numbers with a bad cell', async () => {
    const cases: [string, number, string][] = [
      ['1,2,NA\n3,4,5\n', 3, '"NA" is not a number'],
      ['1.2.3,4\n3,4\n', 1, '"1.2.3" is not a number'],
      ['1 000,2\n3,4\n', 1, '"1 000" is not a number'],
      ['-,3\n3,4\n', 1, '"-" is not a number'],
      ['id,x\n', 0, ''], // a real header (no numbers) for contrast, checked below
    ];
    for (const [text, col, what] of cases) {
      const p = await file('data.csv', text);
      if (col === 0) continue;
      const e = await expectDataError(readDataFile(p), `${p}: line 1, column ${col}: ${what} (line 1 ${HINT})`);
      expect([e.row, e.column]).toEqual([0, col - 1]);
    }
    // Counted from the file's first line; empty cells alongside a word and a number too.
    const late = await file('data.txt', '\n\n7 8 ?\n1 2 3\n');
    await expectDataError(readDataFile(late), `${late}: line 3, column 3: "?" is not a number (line 3 ${HINT})`);
    // Numbers among names are a header: scikit-learn's own CSVs begin "150,4,setosa,…", a pandas
    // index header is ",x,2"; a value with a unit ("12kg") or a hex literal is no name.
    const sklearnCsv = await readDataFile(await file('iris.csv', '150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3,1.4,0.2,0\n'));
    expect([sklearnCsv.headerSkipped, sklearnCsv.rows, sklearnCsv.cols]).toEqual([true, 2, 5]);
    // …whatever the number of classes: "n_samples,n_features,<classes>" over n_features + 1 values
    // (wine: 5 cells over 14 values was "line 2 has 14 values but the header (line 1) has 5 columns").
    const wine = await readDataFile(await file('wine.csv', '2,5,class_0,class_1,class_2\n1,2,3,4,5,0\n6,7,8,9,10,2\n'));
    expect([wine.headerSkipped, wine.rows, wine.cols, ...wine.data]).toEqual([true, 2, 6, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10, 2]);
    expect(wine.header).toEqual(['2', '5', 'class_0', 'class_1', 'class_2']);
    const cancer = await readDataFile(await file('cancer.csv', '1,6,malignant,benign\n1,2,3,4,5,6,0\n'));
    expect([cancer.headerSkipped, cancer.rows, cancer.cols]).toEqual([true, 1, 7]);
    // Wider than the rows too: more classes than features.
    const wide = await readDataFile(await file('wide.csv', '2,2,a,b,c\n1,2,0\n3,4,2\n'));
    expect([wide.headerSkipped, wide.rows, wide.cols]).toEqual([true, 2, 3]);
    // Only that layout: a feature count that is not the values' less one is still a mismatch.
    const off = await file('off.csv', '2,5,class_0,class_1\n1,2,3,4,0\n');
    await expectDataError(readDataFile(off), `${off}: line 2 has 5 values but the header (line 1) has 4 columns`);
    const pandas = await readDataFile(await file('data.csv', ',x,2\n0,1,2\n'));
    expect([pandas.headerSkipped, pandas.rows, pandas.cols]).toEqual([true, 1, 3]);
    const unit = await file('data.csv', '1,12kg\n3,4\n');
    await expectDataError(readDataFile(unit), `${unit}: line 1, column 2: "12kg" is not a number (line 1 ${HINT})`);
    // The hint is for the first line only; a line of numbers and empty cells gets none.
    const second = await file('data.csv', 'a,b\n1,NA\n');
    await expectDataError(readDataFile(second), `${second}: line 2, column 2: "NA" is not a number`);
    const blank = await file('data.csv', '1,,3\n');
    await expectDataError(readDataFile(blank), `${blank}: line 1, column 2 is empty`);
  });

  it('is a header (skipped, mlpack-style) only when none of its cells is a number', async () => {
    for (const text of ['id,x\n1,2\n', '"1st","2nd"\n1,2\n', 'NA,x\n1,2\n', ',x\n1,2\n', '"0x10","0x20"\n1,2\n']) {
      const r = await readDataFile(await file('data.csv', text));
      expect([r.headerSkipped, r.rows, ...r.data], text).toEqual([true, 1, 1, 2]);
    }
    // Without a name (or quoted text) it is a data row with bad values, not a header: dropping it
    // would lose a point and shift every row of the output of `probability`.
    const hint = 'line 1 has no column name, so it is read as data: a name holds a letter and does not begin with a digit, or is quoted';
    for (const [text, message] of [
      ['NA,NA\n1,2\n', `"NA" is not a number (${hint})`],
      ['?,?\n1,2\n', `"?" is not a number (${hint})`],
      ['12kg,13kg\n1,2\n', `"12kg" is not a number (${hint})`],
      ['0x10,0x20\n1,2\n', `"0x10" is not a number (only decimal notation is accepted; ${hint})`],
      ['1.2.3,4.5.6\n1,2\n', `"1.2.3" is not a number (${hint})`],
      ['"1,2\n3,4\n', `"\\"1,2" is not a number (${hint})`],
      ['"NA","NA"\n1,2\n', `"NA" is not a number (${hint})`],
    ]) {
      const path = await file('bad.csv', text);
      await expectDataError(readDataFile(path), `${path}: line 1, column 1: ${message}`);
    }
    // Names may begin with a symbol, as long as they hold a letter.
    for (const text of ['#id,#val\n1,2\n', '(mm),(kg)\n1,2\n', '°C,%RH\n1,2\n', '@timestamp,@value\n1,2\n', '-x,+y\n1,2\n', '[a],[b]\n1,2\n']) {
      const r = await readDataFile(await file('data.csv', text));
      expect([r.headerSkipped, r.rows, ...r.data], text).toEqual([true, 1, 1, 2]);
    }
    for (const text of ['1,2\n3,4\n', '"1","2"\n"3","4"\n', '"1",2\n3,4\n', '-0,+.5\n3,4\n']) {
      const r = await readDataFile(await file('data.csv', text));
      expect([r.headerSkipped, r.rows], text).toEqual([false, 2]);
    }
    // Quoted numbers above unquoted ones: names, as csv.QUOTE_NONNUMERIC writes them.
    const years = await readDataFile(await file('data.csv', '"1990","2000"\n3,4\n'));
    expect([years.headerSkipped, years.rows, ...years.data]).toEqual([true, 1, 3, 4]);
    // Weights: the same rule.
    let skipped = 0;
    expect([...(await readWeightsFile(await file('w.csv', 'weight\n1\n2\n'), 2, () => skipped++))]).toEqual([1, 2]);
    expect(skipped).toBe(1);
    const w = await file('w.txt', '1 NA\n2\n');
    await expectDataError(readWeightsFile(w, 2), `${w}: line 1, column 2: "NA" is not a number (line 1 ${HINT})`);
  });
});

describe('readDataFile: another separator than the one read', () => {
  it('numbers joined by it are data, not a header: the error names line 1 and the separator', async () => {
    // The first line used to be swallowed as a header: the error blamed line 2, or a one-line file
    // had "no data rows after the header".
    for (const [name, text, line, cell, sep, read] of [
      ['semi.csv', '1;2\n3;4\n', 1, '"1;2"', '";"', 'commas, tabs or spaces'],
      ['one.csv', '1;2\n', 1, '"1;2"', '";"', 'commas, tabs or spaces'],
      ['pipes.txt', '1.5|2\n3|4\n', 1, '"1.5|2"', '"|"', 'commas, tabs or spaces'],
      ['named.csv', 'a;b\n1;2\n', 2, '"1;2"', '";"', 'commas, tabs or spaces'],
      ['nbsp.tsv', '1\u00a02\n', 1, '"1\\u00a02"', 'a no-break space', 'commas, tabs or spaces'],
    ] as const) {
      const p = await file(name, text);
      const e = await expectDataError(readDataFile(p), `${p}: line ${line}, column 1: ${cell} is not a number (numbers separated by ${sep}? columns are read separated by ${read})`);
      expect(e.row).toBe(0);
    }
  });

  it('a .csv separated by tabs or spaces and a .tsv separated by commas load as found, as in mlpack', async () => {
    for (const [name, text, format] of [
      ['tabs.csv', '1\t2\n3\t4\n', 'tsv'],
      ['spaces.csv', '1 2\n3  4\n', 'whitespace'],
      ['commas.tsv', '1,2\n3,4\n', 'csv'],
      ['one.tsv', '1,2\n', 'csv'],
      ['named.tsv', 'x,y\n1,2\n3,4\n', 'csv'],
    ] as const) {
      const r = await readDataFile(await file(name, text));
      expect([r.format, r.cols, ...r.data], name).toEqual([format, 2, ...(name === 'one.tsv' ? [1, 2] : [1, 2, 3, 4])]);
    }
  });

  it('a header of names with spaces over blank-separated data is skipped; one that fits no way says two different counts', async () => {
    for (const header of ['sepal length,sepal width', 'sepal length\tsepal width']) {
      const r = await readDataFile(await file('names.txt', `${header}\n1 2\n3 4\n`));
      expect([r.headerSkipped, r.header, r.rows, r.cols]).toEqual([true, ['sepal length', 'sepal width'], 2, 2]);
    }
    await expect(readDataFile(await file('three.csv', 'a,b,c\n1,2\n'))).rejects.toThrow(/line 2 has 2 values but the header \(line 1\) has 3 columns/);
  });

  it('headers of times, ratios or versions stay headers', async () => {
    for (const text of ['id,08:00\n1,2\n', 'dilution 1:10,b\n1,2\n', 'v1.2|3,x\n1,2\n', 'a;1,x\n1,2\n']) {
      const r = await readDataFile(await file('data.csv', text));
      expect([r.headerSkipped, r.rows, ...r.data], text).toEqual([true, 1, 1, 2]);
    }
  });
});

describe('readDataFile: decimal numbers only', () => {
  it('rejects hexadecimal, binary and octal literals, naming the line and column', async () => {
    for (const token of ['0x10', '0X1F', '0b11', '0B1', '0o7', '0O17', '-0x10', '+0x10']) {
      const p = await file('data.csv', `1,2\n3,${token}\n`);
      const e = await expectDataError(readDataFile(p), `${p}: line 2, column 2: "${token}" is not a number (only decimal notation is accepted)`);
      expect([e.row, e.column]).toEqual([1, 1]);
    }
    const first = await file('data.csv', '0x10,2\n');
    await expectDataError(readDataFile(first), `${first}: line 1, column 1: "0x10" is not a number (only decimal notation is accepted; line 1 mixes numbers with a value that is no column name, so it is read as data (a header line has no numeric cells, or names among them))`);
    const ws = await file('data.txt', '1 2\n0b11 4\n');
    await expectDataError(readDataFile(ws), `${ws}: line 2, column 1: "0b11" is not a number (only decimal notation is accepted)`);
    const quoted = await file('data.csv', '1,2\n"0o7",4\n');
    await expectDataError(readDataFile(quoted), `${quoted}: line 2, column 1: "0o7" is not a number (only decimal notation is accepted)`);
  });

  it('still takes long decimals, huge exponents and leading zeros through the exact fallback', async () => {
    const tokens = ['0.1000000000000000055511151231257827', '1e-400', '-4.9e-324', '1.7976931348623157e308', '00012.5000', '9007199254740993'];
    const r = await readDataFile(await file('data.csv', tokens.join(',') + '\n'));
    expect(firstDiff(r.data, tokens.map(Number))).toBe(-1);
    const over = await file('data.csv', '1,2\n3,1e400\n');
    await expectDataError(readDataFile(over), `${over}: line 2, column 2: "1e400" overflows to Infinity (values must be finite)`);
  });
});

describe('readDataFile: input that is not UTF-8 text', () => {
  it('names UTF-16, compressed, archived and binary files in one line', async () => {
    const text = 'a,b\n1,2\n';
    const le = Buffer.from('\uFEFF' + text, 'utf16le');
    const be = Buffer.from(le).swap16();
    const cases: [string, Uint8Array, string][] = [
      ['u16.csv', le, 'looks like UTF-16 text (little-endian, byte-order mark FF FE); save or convert it as UTF-8'],
      ['u16be.txt', be, 'looks like UTF-16 text (big-endian, byte-order mark FE FF); save or convert it as UTF-8'],
      ['u16nobom.csv', Buffer.from(text, 'utf16le'), 'looks like UTF-16 text (little-endian, no byte-order mark); save or convert it as UTF-8'],
      ['x.csv', gzipSync(text), 'looks like gzip-compressed data; decompress it first'],
      ['x.csv.gz', gzipSync(text), 'looks like gzip-compressed data; decompress it first'],
      ['x.xlsx', Buffer.from('PK\x03\x04\x14\x00\x06\x00', 'latin1'), 'looks like a ZIP archive (or an Excel .xlsx workbook); extract it, or export the sheet as CSV'],
      ['x.csv', Buffer.from('1,2\n3,4\n\x00\x00\x01', 'latin1'), 'looks like binary data (it contains NUL bytes), not text'],
      ['x.npy', gzipSync(encodeNpy({ data: new Float64Array([1]), rows: 1, cols: 1 })), 'looks like gzip-compressed data; decompress it first'],
    ];
    for (const [name, bytes, what] of cases) {
      const p = await file(name, bytes);
      await expectDataError(readDataFile(p), `${p}: ${what}`);
    }
    // A tiny file is not mistaken for anything.
    const tiny = await readDataFile(await file('t.csv', '7'));
    expect([tiny.rows, tiny.cols, ...tiny.data]).toEqual([1, 1, 7]);
  });

  it('reads NumPy data under any name as .npy', async () => {
    const m = { data: new Float64Array([1.5, -2, 3, 4.25, 5, 6]), rows: 3, cols: 2 };
    for (const name of ['points.csv', 'points.txt', 'points']) {
      const r = await readDataFile(await file(name, encodeNpy(m)));
      expect([r.format, r.rows, r.cols, r.headerSkipped], name).toEqual(['npy', 3, 2, false]);
      expect(firstDiff(r.data, m.data), name).toBe(-1);
    }
    const fortran = await readDataFile(join(IO, 'numpy-f4-fortran.npy').replace(/\.npy$/, '.npy'));
    expect([fortran.rows, fortran.cols]).toEqual([4, 3]);
  });

  it.skipIf(process.platform === 'win32')('reads a pipe (no size known): NumPy by its magic, text, and truncated NumPy data', async () => {
    async function throughFifo(bytes: Uint8Array, name = 'fifo'): Promise<ReturnType<typeof readDataFile>> {
      const sub = join(dir, `p${fileCounter++}`);
      await mkdir(sub);
      const p = join(sub, name);
      execFileSync('mkfifo', [p]);
      const writer = (async () => {
        const fh = await open(p, 'w');
        // Several writes: the reader sees the data in pieces.
        for (let o = 0; o < bytes.length; o += 5) await fh.write(bytes.subarray(o, Math.min(o + 5, bytes.length)));
        await fh.close();
      })();
      try {
        return await readDataFile(p);
      } finally {
        await writer.catch(() => undefined);
      }
    }
    const m = { data: new Float64Array([1.5, -2, 3, 4.25, 5, 6]), rows: 3, cols: 2 };
    const npy = await throughFifo(encodeNpy(m));
    expect([npy.format, npy.rows, npy.cols, ...npy.data]).toEqual(['npy', 3, 2, ...m.data]);
    const csv = await throughFifo(enc.encode('x,y\n1,2\n3,4\n'));
    expect([csv.format, csv.rows, csv.cols, ...csv.data]).toEqual(['csv', 2, 2, 1, 2, 3, 4]);
    const whole = encodeNpy(m);
    const cut = whole.subarray(0, whole.length - 12);
    const e = await throughFifo(cut).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(InvalidDataError);
    expect((e as Error).message).toMatch(/: data is truncated: shape \(3, 2\) of <f8 needs 48 bytes but the file has 36 bytes$/);
    // Longer than its shape: a pipe's length is known once the shape's bytes are read.
    const two = await throughFifo(new Uint8Array([...whole, ...whole])).catch((err: unknown) => err);
    expect(two).toBeInstanceOf(InvalidDataError);
    expect((two as Error).message).toMatch(/: shape \(3, 2\) of <f8 needs 48 bytes of data, but more than 48 bytes follow the header: the file holds more than one array \(np\.save called twice on one file\?\); save one array per file$/);
  });
});

/**
 * A .npy file's bytes for a row-major matrix, in any float dtype, byte order and memory order; only
 * the preamble and header when `values` is undefined.
 */
function npyBytes(descr: '<f8' | '>f8' | '<f4' | '>f4', fortran: boolean, shape: number[], values?: ArrayLike<number>): Uint8Array {
  const rows = shape[0]!, cols = shape.length === 2 ? shape[1]! : 1;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  dict += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const item = descr.endsWith('8') ? 8 : 4;
  const out = new Uint8Array(10 + dict.length + (values ? rows * cols * item : 0));
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length & 0xff, dict.length >> 8]);
  out.set(enc.encode(dict), 10);
  if (!values) return out;
  const view = new DataView(out.buffer);
  const le = descr.startsWith('<');
  let o = 10 + dict.length;
  for (let t = 0; t < rows * cols; t++, o += item) {
    const k = fortran ? (t % rows) * cols + Math.floor(t / rows) : t;
    if (item === 8) view.setFloat64(o, values[k]!, le);
    else view.setFloat32(o, values[k]!, le);
  }
  return out;
}

describe('.npy: chunked reading and large files', () => {
  it('reads in chunks exactly as in one piece (byte orders, Fortran order, chunk sizes not dividing the data)', async () => {
    const r = rng(11);
    const saved = npyReading.chunkBytes;
    try {
      for (const shape of [[7, 3], [5], [1, 4], [13, 1], [3, 11]]) {
        const count = shape[0]! * (shape[1] ?? 1);
        const values = Array.from({ length: count }, () => gaussian(r) * 100);
        for (const descr of ['<f8', '>f8', '<f4', '>f4'] as const) {
          for (const fortran of [false, true]) {
            const bytes = npyBytes(descr, fortran, shape, values);
            const p = await file('m.npy', bytes);
            const expected = descr.endsWith('4') ? values.map(Math.fround) : values;
            for (const chunk of [1, 4, 12, 20, 40, 1 << 20]) {
              npyReading.chunkBytes = chunk;
              const m = await readDataFile(p);
              const label = `${descr} ${fortran ? 'F' : 'C'} (${shape}) chunk ${chunk}`;
              expect([m.rows, m.cols], label).toEqual([shape[0], shape[1] ?? 1]);
              expect(m.data, label).toBeInstanceOf(descr.endsWith('4') ? Float32Array : Float64Array);
              expect(firstDiff(m.data, expected), label).toBe(-1);
            }
            expect(firstDiff(parseNpy(bytes, 'mem').data, expected)).toBe(-1);
          }
        }
      }
    } finally {
      npyReading.chunkBytes = saved;
    }
  });

  it('reports progress once at the end and honours an AbortSignal between chunks', async () => {
    const m = { data: new Float64Array(4096).map((_, i) => i), rows: 1024, cols: 4 };
    const bytes = encodeNpy(m);
    const p = await file('m.npy', bytes);
    const calls: [number, number][] = [];
    await readDataFile(p, { onProgress: (a, b) => calls.push([a, b]) });
    expect(calls).toEqual([[bytes.length, bytes.length]]);
    const saved = npyReading.chunkBytes;
    npyReading.chunkBytes = 64;
    try {
      const reason = new Error('stop');
      const c = new AbortController();
      const pending = readDataFile(p, { signal: c.signal }); // past the first check: aborted between chunks
      c.abort(reason);
      await expect(pending).rejects.toBe(reason);
    } finally {
      npyReading.chunkBytes = saved;
    }
  });

  it('names truncated data from the file size before allocating, including files over 2 GiB (sparse)', async () => {
    const small = npyBytes('<f8', false, [4, 3], new Array(12).fill(1));
    const p = await file('cut.npy', small.subarray(0, small.length - 9));
    await expectDataError(readDataFile(p), `${p}: data is truncated: shape (4, 3) of <f8 needs 96 bytes but the file has 87 bytes`);
    // A corrupt format 2.0 header length (4 GiB): refused without allocating it.
    const corrupt = new Uint8Array(64);
    corrupt.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xf0, 0xff, 0xff, 0xff]);
    const c = await file('corrupt.npy', corrupt);
    await expectDataError(readDataFile(c), `${c}: truncated .npy header (header says 4294967280 bytes, the file has 52 bytes after the preamble)`);
    // 200M × 2 float64 (3.2 GB) declared, 3 GB present: refused from the sizes, nothing read or allocated.
    const header = npyBytes('<f8', false, [200_000_000, 2]);
    expect(header.length).toBe(128);
    const big = await file('huge.npy', header);
    const fh = await open(big, 'r+');
    try {
      await fh.truncate(3_000_000_000);
    } finally {
      await fh.close();
    }
    await expectDataError(readDataFile(big), `${big}: data is truncated: shape (200000000, 2) of <f8 needs 3200000000 bytes but the file has ${3_000_000_000 - 128} bytes`);
  });

  it('says a shape too large to allocate is too large to load (sparse file, nothing read)', async () => {
    // 2^33 float64 values: more than a typed array may hold.
    const header = npyBytes('<f8', false, [2 ** 33]);
    const p = await file('vast.npy', header);
    const fh = await open(p, 'r+');
    try {
      await fh.truncate(header.length + 2 ** 36);
    } finally {
      await fh.close();
    }
    await expectDataError(readDataFile(p), `${p}: too large to load (shape (8589934592,) of <f8 needs 68719476736 bytes, which could not be allocated)`);
  });
});

describe('Armadillo matrix files (mlpack data::Load\'s arma_ascii and arma_binary)', () => {
  // 4 points × 3 features, row-major; Armadillo stores the same matrix column by column.
  const rows = [[1.5, -2, 3e-7], [4, 5.25, -6], [7, 8, 9.125], [-10, 11, 12]];
  const flat = rows.flat();
  const columnMajor = [0, 1, 2].flatMap((j) => rows.map((r) => r[j]!));

  function binary(magic: string, values: number[], bytesPer: 4 | 8, r = 4, c = 3): Uint8Array {
    const head = new TextEncoder().encode(`${magic}\n${r} ${c}\n`);
    const out = new Uint8Array(head.length + values.length * bytesPer);
    out.set(head);
    const view = new DataView(out.buffer, head.length);
    values.forEach((v, t) => (bytesPer === 8 ? view.setFloat64(t * 8, v, true) : view.setFloat32(t * 4, v, true)));
    return out;
  }

  it('reads arma_binary float64 and float32 and arma_ascii, whatever the extension, as points by row', async () => {
    const f64 = await readDataFile(await file('data.bin', binary('ARMA_MAT_BIN_FN008', columnMajor, 8)));
    expect([f64.format, f64.rows, f64.cols, firstDiff(f64.data, flat)]).toEqual(['arma_binary', 4, 3, -1]);
    expect(f64.data).toBeInstanceOf(Float64Array);
    const f32 = await readDataFile(await file('data.mat', binary('ARMA_MAT_BIN_FN004', columnMajor, 4)));
    expect([f32.format, f32.rows, f32.cols, firstDiff(f32.data, Float32Array.from(flat))]).toEqual(['arma_binary', 4, 3, -1]);
    // Armadillo's text form: right-aligned columns in scientific notation.
    const text = `ARMA_MAT_TXT_FN008\n4 3\n${rows.map((r) => r.map((v) => `  ${v.toExponential(16)}`).join('')).join('\n')}\n`;
    const ascii = await readDataFile(await file('data.txt', text));
    expect([ascii.format, ascii.rows, ascii.cols, firstDiff(ascii.data, flat)]).toEqual(['arma_ascii', 4, 3, -1]);
    // An editor's byte-order mark before the header is skipped.
    const bom = await readDataFile(await file('bom.txt', `\ufeff${text}`));
    expect([bom.format, bom.rows, firstDiff(bom.data, flat)]).toEqual(['arma_ascii', 4, -1]);
    // A single row and a single column need no transposition either way.
    const one = await readDataFile(await file('row.bin', binary('ARMA_MAT_BIN_FN008', [1, 2, 3], 8, 1, 3)));
    expect([one.rows, one.cols, ...one.data]).toEqual([1, 3, 1, 2, 3]);
  });

  it('a text file whose first column name merely begins with ARMA_ is text with a header row', async () => {
    // An ARMA model's residual is a common column name; only Armadillo's own magic means Armadillo.
    for (const [name, content] of [['arma.csv', 'ARMA_resid,y\n1,2\n3,4\n5,7\n'], ['arma.txt', 'ARMA_MATRIX_residual y\n1 2\n3 4\n5 7\n']] as const) {
      const got = await readDataFile(await file(name, content));
      expect([got.rows, got.cols, ...got.data], name).toEqual([3, 2, 1, 2, 3, 4, 5, 7]);
      expect(got.header, name).toEqual(content.startsWith('ARMA_resid,') ? ['ARMA_resid', 'y'] : ['ARMA_MATRIX_residual', 'y']);
    }
  });

  it('names what it cannot read: integers, complex values, cubes, sparse matrices, short data, a size the text does not match', async () => {
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['int.bin', binary('ARMA_MAT_BIN_IS004', [], 8), /an Armadillo binary matrix of signed 32-bit integers; only float64 \(FN008\) and float32 \(FN004\) are read/],
      ['cx.bin', binary('ARMA_MAT_BIN_FC016', [], 8), /an Armadillo matrix of complex numbers \(64-bit parts\)/],
      ['cube.bin', 'ARMA_CUB_BIN_FN008\n2 2 2\n', /an Armadillo cube \(ARMA_CUB_BIN_FN008\): a 3-D array, not a matrix of points/],
      ['sparse.bin', 'ARMA_SPM_BIN_FN008\n2 2 1\n', /an Armadillo sparse matrix \(ARMA_SPM_BIN_FN008\); save it dense/],
      ['short.bin', binary('ARMA_MAT_BIN_FN008', columnMajor.slice(0, 5), 8), /data is truncated: shape \(4, 3\) of float64 \(ARMA_MAT_BIN_FN008\) needs 96 bytes but the file has 40 bytes/],
      ['empty.bin', 'ARMA_MAT_BIN_FN008\n0 3\n', /the Armadillo matrix is empty \(0 × 3\)/],
      ['nosize.txt', 'ARMA_MAT_TXT_FN008\n', /malformed Armadillo header: "ARMA_MAT_TXT_FN008" must be followed by the number of rows and of columns/],
      ['rows.txt', 'ARMA_MAT_TXT_FN008\n3 2\n1 2\n3 4\n', /the Armadillo header says 3 × 2 but the file holds 2 rows of 2 values/],
      ['nan.txt', 'ARMA_MAT_TXT_FN008\n2 2\n1 2\nnan 4\n', /line 4, column 1 is NaN \(values must be finite\)/],
      ['other.txt', 'ARMA_MAT_TXT_\n1 1\n1\n', /an unknown element type|malformed Armadillo header/],
      // Armadillo's text has no header row: a first line of words is a bad value, not column names.
      ['na.txt', 'ARMA_MAT_TXT_FN008\n2 1\nNA\n3\n', /line 3, column 1: "NA" is not a number/],
      ['commas.txt', 'ARMA_MAT_TXT_FN008\n2 2\n1,2\n3,4\n', /line 3, column 1: "1,2" is not a number/],
      ['headeronly.txt', 'ARMA_MAT_TXT_FN008\n2 2\n', /the Armadillo header says 2 × 2 but no values follow it/],
      // Lines are counted from the file's start however the header is laid out.
      ['blankline.txt', 'ARMA_MAT_TXT_FN008\n\n2 2\n1 2\n3 x\n', /line 5, column 2: "x" is not a number/],
      ['oneline.txt', 'ARMA_MAT_TXT_FN008 2 2\n1 2\n3 x\n', /line 3, column 2: "x" is not a number/],
      // The size line's CR LF split by the end of the 64 bytes the header is read from.
      ['crlf63.txt', `ARMA_MAT_TXT_FN008\r\n3 2${' '.repeat(40)}\r\n1 2\r\n3 x\r\n5 6\r\n`, /line 4, column 2: "x" is not a number/],
      ['extra.txt', 'ARMA_MAT_TXT_FN008\n2 2 7\n1 2\n3 4\n', /malformed Armadillo header: "7" after the matrix size \(2 2\) on its line/],
      // Sizes padded past the bytes looked at are refused, not read cut short.
      ['padded.txt', `ARMA_MAT_TXT_FN008\n1 ${'0'.repeat(42)}12\n`, /malformed Armadillo header: no end to the matrix size within its first 64 bytes/],
      ['crlf.bin', new Uint8Array([...new TextEncoder().encode('ARMA_MAT_BIN_FN008\r\n1 1\r\n'), ...new Uint8Array(8)]), /the Armadillo header ends in CR LF/],
      // A blank after the column count: Armadillo takes it for the newline and reads the data a byte off.
      ['blank.bin', new Uint8Array([...new TextEncoder().encode('ARMA_MAT_BIN_FN008\n1 1 \n'), ...new Uint8Array(8)]), /: shape \(1, 1\) of float64 \(ARMA_MAT_BIN_FN008\) needs 8 bytes of data, but 9 bytes follow the header: the matrix size's line ends in " " before its newline, so the data would be read a byte off$/],
      ['third.bin', new Uint8Array([...new TextEncoder().encode('ARMA_MAT_BIN_FN008\n1 1 1\n'), ...new Uint8Array(8)]), /: shape \(1, 1\) of float64 \(ARMA_MAT_BIN_FN008\) needs 8 bytes of data, but 10 bytes follow the header: the matrix size's line goes on after the column count \("1"\), so the data would be read from there$/],
      ['blanks.bin', new Uint8Array([...new TextEncoder().encode('ARMA_MAT_BIN_FN008\n1 1 \t\n'), ...new Uint8Array(8)]), /needs 8 bytes of data, but 10 bytes follow the header: the matrix size's line ends in " \\t" before its newline, so the data would be read 2 bytes off$/],
      ['long.bin', new Uint8Array([...binary('ARMA_MAT_BIN_FN008', columnMajor, 8), 0]), /: shape \(4, 3\) of float64 \(ARMA_MAT_BIN_FN008\) needs 96 bytes of data, but 97 bytes follow the header \(the header does not describe the data\)$/],
      // A file cut off in its size line: not "no end … within its first 64 bytes" of a 22-byte file.
      ['cut.txt', 'ARMA_MAT_TXT_FN008\n4 2', /: the file ends in its Armadillo header, after "ARMA_MAT_TXT_FN008 4 2" \(truncated\?\)$/],
      ['cut.bin', 'ARMA_MAT_BIN_FN008\n4 2', /: the file ends in its Armadillo header, after "ARMA_MAT_BIN_FN008 4 2" \(truncated\?\)$/],
    ];
    for (const [name, content, message] of cases) {
      const err = await readDataFile(await file(name, content)).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(InvalidDataError);
      expect((err as Error).message, name).toMatch(message);
      expect((err as Error).message, name).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/f\\d+/${name.replace('.', '\\.')}: `));
    }
  });

  it('writes .bin as mlpack does (arma_binary float64, column by column), and reads it back', async () => {
    const { writeMatrixFile } = await import('../src/io/matrix-output.js');
    const out = join(await file('placeholder', ''), '..', 'out.bin');
    await writeMatrixFile(out, { data: flat, rows: 4, cols: 3 });
    expect(firstDiff(new Uint8Array(await readFile(out)), binary('ARMA_MAT_BIN_FN008', columnMajor, 8))).toBe(-1);
    const back = await readDataFile(out);
    expect([back.rows, back.cols, firstDiff(back.data, flat)]).toEqual([4, 3, -1]);
  });

  it('refuses HDF5 and ARFF with what they are', async () => {
    const h5 = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    await expect(readDataFile(await file('x.h5', h5))).rejects.toThrow(/looks like an HDF5 file, which webgmm does not read/);
    await expect(readDataFile(await file('x.arff', '% iris\n\n@RELATION iris\n@ATTRIBUTE a NUMERIC\n@DATA\n1\n'))).rejects.toThrow(/looks like an ARFF file \(Weka\)/);
    // Weka's files often open with several KiB of comments.
    const comments = Array.from({ length: 200 }, (_, i) => `% comment line ${i} describing the dataset in some detail\n`).join('');
    await expect(readDataFile(await file('long.arff', `${comments}@RELATION iris\n@ATTRIBUTE a REAL\n@DATA\n1\n`))).rejects.toThrow(/looks like an ARFF file \(Weka\)/);
  });
});

describe('PGM images (mlpack data::Load reads .pgm: one point per image row)', () => {
  // The expected matrix is written out by hand: rows are image rows, columns pixel columns.
  const pixels = [[0, 12, 255], [7, 128, 64]];

  it('binary P5 with 8-bit samples, a comment in the header; .pgm or .pnm, any case', async () => {
    const header = Buffer.from('P5\n# made by hand\n3 2\n255\n', 'latin1');
    for (const name of ['img.pgm', 'IMG.PGM', 'img.pnm']) {
      const p = await file(name, Buffer.concat([header, Buffer.from(pixels.flat())]));
      const m = await readDataFile(p);
      expect([m.rows, m.cols, m.format]).toEqual([2, 3, 'pgm']);
      expect(Array.from(m.data)).toEqual(pixels.flat());
    }
  });

  it('binary P5 with 16-bit big-endian samples', async () => {
    const values = [0, 300, 65535, 1, 256, 4000];
    const raster = Buffer.alloc(12);
    values.forEach((v, i) => raster.writeUInt16BE(v, 2 * i));
    const p = await file('wide.pgm', Buffer.concat([Buffer.from('P5 2 3 65535\n', 'latin1'), raster]));
    const m = await readDataFile(p);
    expect([m.rows, m.cols]).toEqual([3, 2]);
    expect(Array.from(m.data)).toEqual(values);
  });

  it('plain P2 (decimal text), which trains like the same numbers as CSV', async () => {
    const p = await file('plain.pgm', 'P2\n3 2\n255\n0 12 255\n7 128\n# a comment\n64\n');
    const m = await readDataFile(p);
    expect(Array.from(m.data)).toEqual(pixels.flat());
    const csv = await readDataFile(await file('plain.csv', '0,12,255\n7,128,64\n'));
    expect(Array.from(csv.data)).toEqual(Array.from(m.data));
  });

  it('refuses truncated, out-of-range and miscounted images, and other Netpbm kinds, by name', async () => {
    const cut = await file('cut.pgm', Buffer.concat([Buffer.from('P5\n3 2\n255\n', 'latin1'), Buffer.from([1, 2, 3, 4])]));
    await expectDataError(readDataFile(cut), `${cut}: the PGM image of 3 × 2 pixels needs 6 bytes of samples after its header, but the file has 4 (truncated?)`);
    const over = await file('over.pgm', 'P2 2 1 100\n5 101\n');
    await expectDataError(readDataFile(over), `${over}: pixel row 1, column 2: 101 exceeds the header's maximum value 100`);
    const short = await file('short.pgm', 'P2 2 2 9\n1 2 3    \n');
    await expectDataError(readDataFile(short), `${short}: the PGM header says 2 × 2 = 4 pixels, but 3 values follow it`);
    // A header far larger than its file is refused before the image's 8 bytes per pixel are allocated.
    const huge = await file('huge.pgm', 'P2 40000 40000 9\n1 2\n');
    await expectDataError(readDataFile(huge), `${huge}: the PGM header says 40000 × 40000 = 1600000000 pixels, but the 4 bytes after it cannot hold that many values (truncated?)`);
    const hugeBinary = await file('huge5.pgm', Buffer.concat([Buffer.from('P5 40000 40000 255\n', 'latin1'), Buffer.from([1, 2, 3])]));
    await expectDataError(readDataFile(hugeBinary), `${hugeBinary}: the PGM image of 40000 × 40000 pixels needs 1600000000 bytes of samples after its header, but the file has 3 (truncated?)`);
    // Longer than the header says: a CR LF header (every sample a byte off), a second image, a stray byte.
    const crlf = await file('crlf.pgm', Buffer.concat([Buffer.from('P5\r\n2 1\r\n255\r\n', 'latin1'), Buffer.from([10, 20])]));
    await expectDataError(readDataFile(crlf), `${crlf}: the PGM image of 2 × 1 pixels needs 2 bytes of samples after its header, but the file has 3: its header ends in CR LF where P5 has one whitespace byte before the samples (converted to Windows line endings?), so every sample would be read a byte off`);
    const two = await file('two.pgm', Buffer.concat([Buffer.from('P5 2 1 255\n', 'latin1'), Buffer.from([1, 2]), Buffer.from('P5 2 1 255\n', 'latin1'), Buffer.from([3, 4])]));
    await expectDataError(readDataFile(two), `${two}: the PGM image of 2 × 1 pixels needs 2 bytes of samples after its header, but the file has 15: another image follows the first; webgmm reads a file of one image`);
    const stray = await file('stray.pgm', Buffer.concat([Buffer.from('P5 2 1 255\n', 'latin1'), Buffer.from([1, 2, 3])]));
    await expectDataError(readDataFile(stray), `${stray}: the PGM image of 2 × 1 pixels needs 2 bytes of samples after its header, but the file has 3 (the header does not describe the samples)`);
    const word = await file('word.pgm', 'P2 2 1 9\n1 x\n');
    await expectDataError(readDataFile(word), `${word}: pixel row 1, column 2: "x" is not a sample (a decimal integer)`);
    const colour = await file('rgb.ppm', Buffer.concat([Buffer.from('P6\n1 1\n255\n', 'latin1'), Buffer.from([1, 2, 3])]));
    await expectDataError(readDataFile(colour), `${colour}: looks like a PPM colour image (Netpbm P6); webgmm reads greyscale PGM images (P5 as mlpack, or P2) — convert it to PGM, or to CSV`);
    const zero = await file('zero.pgm', 'P2 0 2 9\n');
    await expectDataError(readDataFile(zero), `${zero}: the PGM header says 0 × 2 pixels; an image needs at least one`);
  });

  it('goes by the extension, as mlpack: tables headed P1 … P6 stay tables, a .pgm without a header is refused', async () => {
    const p = await file('names.txt', 'P1 P2 P3\n1 2 3\n4 5 6\n');
    const m = await readDataFile(p);
    expect([m.rows, m.cols, m.headerSkipped]).toEqual([2, 3, true]);
    // A one-column table headed P5 whose next rows look like width, height and maximum value: read
    // as such it became 12 × 15 "pixels" of its own ASCII codes.
    const column = await file('column.csv', `P5\n12\n15\n200\n${Array.from({ length: 99 }, (_, i) => i).join('\n')}\n`);
    const c = await readDataFile(column);
    expect([c.rows, c.cols, c.format, c.headerSkipped]).toEqual([102, 1, 'whitespace', true]);
    expect(Array.from(c.data.subarray(0, 4))).toEqual([12, 15, 200, 0]);
    const image = await file('image.dat', Buffer.concat([Buffer.from('P5 3 2 255\n', 'latin1'), Buffer.from(pixels.flat())]));
    await expect(readDataFile(image)).rejects.toThrow(/image\.dat: looks like binary data/);
    const notImage = await file('table.pgm', '1,2\n3,4\n');
    await expectDataError(readDataFile(notImage), `${notImage}: does not start with a Netpbm image header (P5 or P2, width, height, maximum value)`);
  });

  it('from a pipe whose writer sends the header in pieces smaller than the first read', async () => {
    const fifo = join(dir, 'slow.pgm');
    execFileSync('mkfifo', [fifo]);
    const { spawn } = await import('node:child_process');
    // A header longer than the 64 bytes first read (its comment), in 8-byte writes.
    const writer = spawn('bash', ['-c', `exec > '${fifo}'; t='P2\n# written by a slow tool piece by piece, a comment longer than the first read of 64 bytes\n3 2\n255\n0 12 255 7 128 64\n'; for ((i = 0; i < \${#t}; i += 8)); do printf '%s' "\${t:i:8}"; sleep 0.02; done`], { stdio: 'ignore' });
    try {
      const m = await readDataFile(fifo);
      expect([m.rows, m.cols, m.format]).toEqual([2, 3, 'pgm']);
      expect(Array.from(m.data)).toEqual(pixels.flat());
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('plain P2: a sample of more digits than any maximum, text after the last pixel, and an inherited abort signal', async () => {
    const long = await file('long.pgm', 'P2 2 1 9\n1 1234567\n');
    await expectDataError(readDataFile(long), `${long}: pixel row 1, column 2: "1234567" is not a sample (a decimal integer)`);
    const extra = await file('extra.pgm', 'P2 2 1 9\n1 2 3\n');
    await expectDataError(readDataFile(extra), `${extra}: the PGM header says 2 × 1 = 2 pixels, but more values follow them`);
    // Anything else after the last sample is named as such, control bytes escaped.
    const padded = await file('padded.pgm', Buffer.from('P2 2 1 9\n1 2\n\0\0', 'latin1'));
    await expectDataError(readDataFile(padded), `${padded}: after the image's 2 × 1 = 2 samples the file goes on with "\\x00\\x00", which is not part of a PGM image`);
    // The options object's signal may be inherited (Object.create): it still cancels, also once the
    // read is past its first check (the reading loops were handed a copy without it).
    for (const p of [await file('abort.pgm', 'P2 1 1 9\n1\n'), await file('abort.csv', '1,2\n')]) {
      const c = new AbortController();
      const reason = new Error('stop');
      const pending = readDataFile(p, Object.create({ signal: c.signal }));
      c.abort(reason);
      await expect(pending).rejects.toBe(reason);
    }
  });
});
