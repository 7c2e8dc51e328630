// parseDelimited (browser-safe, in-memory) follows the file reader's rules exactly.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDelimited } from '../src/io/delimited.js';
import { readDataFile } from '../src/io/data-files.js';
import { InvalidDataError } from '../src/errors.js';

describe('parseDelimited', () => {
  it('matches readDataFile on the same text (header, CRLF, BOM, blank lines)', async () => {
    const text = '\uFEFF"x", "y",z\r\n1.5,-2e-3,7\r\n\r\n0.1,3,1e300\n-0,4,5';
    const dir = mkdtempSync(join(tmpdir(), 'webgmm-delim-'));
    const file = join(dir, 'a.csv');
    writeFileSync(file, text);
    const fromFile = await readDataFile(file);
    const fromText = parseDelimited(text);
    const fromBytes = parseDelimited(new TextEncoder().encode(text).buffer);
    for (const m of [fromText, fromBytes]) {
      expect(m.rows).toBe(3);
      expect(m.cols).toBe(3);
      expect(m.header).toEqual(['x', 'y', 'z']);
      expect(m.format).toBe('csv');
      expect(Array.from(m.data)).toEqual(Array.from(fromFile.data));
    }
    expect(Object.is(fromText.data[6], -0)).toBe(true);
  });

  it('detects tabs and whitespace separators', () => {
    expect(parseDelimited('1\t2\n3\t4\n').format).toBe('tsv');
    const ws = parseDelimited('1  2   3\n 4 5 6\n');
    expect(ws.format).toBe('whitespace');
    expect(Array.from(ws.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('names the input, line and column of bad cells and ragged rows', () => {
    expect(() => parseDelimited('1,2\n3,abc\n', { name: 'upload.csv' })).toThrow(/upload\.csv: line 2, column 2: "abc" is not a number/);
    expect(() => parseDelimited('1,2\n3\n', { name: 'f' })).toThrow(/f: line 2 has 1 value but line 1 has 2/);
    expect(() => parseDelimited('1,NaN\n')).toThrow(InvalidDataError);
    expect(() => parseDelimited('\n\n')).toThrow(/empty/);
    expect(() => parseDelimited('a,b\n')).toThrow(/no data rows/);
  });
});
