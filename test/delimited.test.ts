// parseDelimited (browser-safe, in-memory) follows the file reader's rules exactly.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDelimited, TextParser, COMMA } from '../src/io/delimited.js';
import { readDataFile } from '../src/io/data-files.js';
import { InvalidArgumentError, InvalidDataError } from '../src/errors.js';
import { thrown } from './helpers.js';

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

  it('reads tabs at either end of a tab-separated line as no cell (mlpack reads whitespace there), an inner empty cell still refused', () => {
    for (const text of ['1\t2\t\n3\t4\t\n', '\t1\t2\n\t3\t4\n', '1\t2\n3\t4\t \t\r\n', 'x\ty\t\n1\t2\t\n3\t4\t\n']) {
      const r = parseDelimited(text);
      expect([r.format, r.rows, r.cols, ...r.data], JSON.stringify(text)).toEqual(['tsv', 2, 2, 1, 2, 3, 4]);
    }
    expect(parseDelimited('x\ty\t\n1\t2\t\n').header).toEqual(['x', 'y']);
    // A header whose last name is empty, over rows of three values, still names three columns.
    for (const text of ['x\ty\t\n1\t2\t3\n4\t5\t6\n', '"x"\t"y"\t\n1\t2\t3\n']) expect(parseDelimited(text).header, JSON.stringify(text)).toEqual(['x', 'y', '']);
    expect(() => parseDelimited('1\t\t2\n3\t\t4\n')).toThrow(/line 1, column 2 is empty/);
    // Commas keep their meaning: a trailing comma is an empty last cell.
    expect(() => parseDelimited('1,2,\n3,4,\n')).toThrow(/line 1, column 3 is empty/);
  });

  it('reads a tab-separated file whose later lines separate with spaces as blank-separated (mlpack raw_ascii)', () => {
    const later = parseDelimited('1\t2\n3 4\n5\t 6\n');
    expect([later.format, later.rows, later.cols, ...later.data]).toEqual(['whitespace', 3, 2, 1, 2, 3, 4, 5, 6]);
    expect(later.blanksFromLine).toBe(2);
    expect(parseDelimited('1\t2\n3\t4\n').blanksFromLine).toBeUndefined();
    // Errors after the switch name the separators being read (not "none found").
    expect(() => parseDelimited('1\t2\n3 4\n5;6\n')).toThrow(/line 3, column 1: "5;6" is not a number \(numbers separated by ";"\? columns are read separated by spaces or tabs\)/);
    const named = parseDelimited('x\ty\n1\t2\n3  4\n');
    expect([named.header, ...named.data]).toEqual([['x', 'y'], 1, 2, 3, 4]);
    // Still one value per cell where the blanks join no numbers, and none where the format is given.
    expect(() => parseDelimited('1\t2\n3 x\n')).toThrow(/line 2, column 1: "3 x" is not a number/);
    expect(() => parseDelimited('1\t2\n"3 4"\t5\n')).toThrow(/line 2, column 1: "3 4" is not a number/);
    expect(() => parseDelimited('1\t2\n3 4\n', { format: 'tsv' })).toThrow(/line 2, column 1: "3 4" is not a number/);
    expect(() => parseDelimited('1\t2\n3\t4 5\n')).toThrow(/line 2 has 3 values but line 1 has 2/);
  });

  it('a first row of quoted numbers is a header above unquoted rows (csv.QUOTE_NONNUMERIC), data in a file that quotes every value', () => {
    // "1990","2000" was trained on as a point (the fit's mean moved from −0.3 to 38.7).
    const named = parseDelimited('"1990","2000"\n1.5,-2\n3,4\n');
    expect([named.rows, named.cols, named.header, named.headerSkipped, ...named.data]).toEqual([2, 2, ['1990', '2000'], true, 1.5, -2, 3, 4]);
    const tabs = parseDelimited('"1"\t"2"\n\n5\t6\n');
    expect([tabs.rows, tabs.header, ...tabs.data]).toEqual([1, ['1', '2'], 5, 6]);
    const quotedAll = parseDelimited('"1990","2000"\n"1.5","-2"\n');
    expect([quotedAll.rows, quotedAll.headerSkipped, ...quotedAll.data]).toEqual([2, false, 1990, 2000, 1.5, -2]);
    // One row alone is data; a row of some quoted numbers is no header.
    expect([...parseDelimited('"1","2"\n').data]).toEqual([1, 2]);
    expect(parseDelimited('"1",2\n3,4\n').rows).toBe(2);
    // The header's column count must still match.
    expect(() => parseDelimited('"1","2"\n3,4,5\n', { name: 'f' })).toThrow(/^f: line 2 has 3 values but the header \(line 1\) has 2 columns$/);
  });

  it('names the input, line and column of bad cells and ragged rows', () => {
    expect(() => parseDelimited('1,2\n3,abc\n', { name: 'upload.csv' })).toThrow(/upload\.csv: line 2, column 2: "abc" is not a number/);
    // Characters a terminal does not show are escaped, or the message would say "4" is not a number.
    expect(() => parseDelimited('1,2\n3,4\x7f\n')).toThrow(/line 2, column 2: "4\\u007f" is not a number/);
    expect(() => parseDelimited('1,2\n3,4\u200b5\n')).toThrow(/line 2, column 2: "4\\u200b5" is not a number/);
    expect(() => parseDelimited('1,2\n3,4\u00865\n')).toThrow(/line 2, column 2: "4\\u00865" is not a number/);
    expect(() => parseDelimited('1,2\n3,4\u2066\n')).toThrow(/line 2, column 2: "4\\u2066" is not a number/);
    expect(() => parseDelimited('1,2\n3,4\ufe0f\n')).toThrow(/line 2, column 2: "4\\ufe0f" is not a number/);
    expect(() => parseDelimited('1,2\n3,4\u{e0041}\n')).toThrow(/line 2, column 2: "4\\u\{e0041\}" is not a number/);
    expect(() => parseDelimited('1,2\n3\n', { name: 'f' })).toThrow(/f: line 2 has 1 value but line 1 has 2/);
    expect(() => parseDelimited('1,NaN\n')).toThrow(InvalidDataError);
    expect(() => parseDelimited('\n\n')).toThrow(/empty/);
    expect(() => parseDelimited('a,b\n')).toThrow(/no data rows/);
  });

  it('ends a line at a lone CR (classic Mac), like LF and CRLF', async () => {
    const lf = 'a,b\n1.5,-2\n\n3,4e-3\n5,6\n';
    const cr = lf.replace(/\n/g, '\r');
    const fromLf = parseDelimited(lf);
    const fromCr = parseDelimited(cr);
    expect([fromCr.rows, fromCr.cols, fromCr.header]).toEqual([3, 2, ['a', 'b']]);
    expect(Array.from(fromCr.data)).toEqual(Array.from(fromLf.data));
    // The file reader too (no LF at all: the whole file is one piece of its stream).
    const dir = mkdtempSync(join(tmpdir(), 'webgmm-delim-'));
    const file = join(dir, 'mac.csv');
    writeFileSync(file, cr);
    expect(Array.from((await readDataFile(file)).data)).toEqual(Array.from(fromLf.data));
    // Mixed breaks; "\r\r\n" is a lone CR then a CRLF (a blank line), never an empty row.
    const mixed = parseDelimited('x y\r1 2\n3 4\r\n5 6\r\r\n7 8\r');
    expect([mixed.rows, mixed.cols, mixed.format]).toEqual([4, 2, 'whitespace']);
    expect(Array.from(mixed.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('counts a CRLF split across two chunks as one line break', () => {
    const bytes = new TextEncoder().encode('1,2\r\n3,4\r\n5,x\n');
    const cut = bytes.indexOf(10); // the chunk ends with the CR, the next begins with the LF
    const parser = new TextParser('s.csv', COMMA, false);
    parser.feed(bytes, 0, cut);
    parser.feed(bytes, cut, cut); // an empty chunk in between changes nothing
    parser.feed(bytes, cut, cut + 6); // "\n3,4\r\n"
    expect([parser.rows, parser.line]).toEqual([2, 2]);
    // Line numbers stay right after the split: the bad cell is on line 3.
    expect(() => parser.feed(bytes, cut + 6, bytes.length)).toThrow(/^s\.csv: line 3, column 2: "x" is not a number$/);
    // Split in a CR-only stream as well: a CR ending a chunk followed by a blank CR line.
    const p2 = new TextParser('t', -1, false);
    const b2 = new TextEncoder().encode('1 2\r\r3 4\r');
    p2.feed(b2, 0, 4);
    p2.feed(b2, 4, b2.length);
    const m = p2.finish();
    expect([m.rows, p2.line, ...m.data]).toEqual([2, 3, 1, 2, 3, 4]);
  });

  it('numbers lines of CR-only and mixed input in error messages', () => {
    expect(() => parseDelimited('1,2\r3,4\r5,abc\r', { name: 'm.csv' })).toThrow(/^m\.csv: line 3, column 2: "abc" is not a number$/);
    expect(() => parseDelimited('1,2\r\n3,4\r\r5\n', { name: 'm.csv' })).toThrow(/^m\.csv: line 4 has 1 value but line 1 has 2$/);
  });

  it('writes counts of values and columns in the singular and plural', () => {
    expect(() => parseDelimited('a,b\n1\n', { name: 'f' })).toThrow(/^f: line 2 has 1 value but the header \(line 1\) has 2 columns$/);
    expect(() => parseDelimited('a\n1,2\n', { name: 'f', format: 'csv' })).toThrow(/^f: line 2 has 2 values but the header \(line 1\) has 1 column$/);
    expect(() => parseDelimited('1\n2,3\n', { name: 'f', format: 'csv' })).toThrow(/^f: line 2 has 2 values but line 1 has 1$/);
    expect(() => new TextParser('g', COMMA, false).grow(1, 2 ** 60)).toThrow(/^g: too large to load \(1 value read so far, could not allocate room for \d+ values\)$/);
  });
});

describe('parseDelimited: quoting, headers, number syntax, non-text input', () => {
  it('removes one pair of double quotes around cells, and splits quoted headers by RFC 4180', () => {
    const all = parseDelimited('"x","y"\r\n"1.5","-2"\r\n"3e-1","4"\r\n');
    expect([all.rows, all.cols, all.format, ...all.data]).toEqual([2, 2, 'csv', 1.5, -2, 0.3, 4]);
    expect(all.header).toEqual(['x', 'y']);
    const noHeader = parseDelimited('"1","2"\n3,"4"\n', { format: 'csv' });
    expect([noHeader.headerSkipped, ...noHeader.data]).toEqual([false, 1, 2, 3, 4]);
    const h = parseDelimited('"a,b",c\n1,2\n');
    expect([h.cols, h.header]).toEqual([2, ['a,b', 'c']]);
    expect(parseDelimited('"a ""b""",c\n1,2\n').header).toEqual(['a "b"', 'c']);
    expect(() => parseDelimited('a,b\n"1,5",2\n', { name: 'f' })).toThrow(/^f: line 2, column 1: "1,5" is not a number$/);
  });

  it('takes the separator from the first data line when the first line is a header', () => {
    const t = parseDelimited('price, usd\tqty\n1.5\t2\n');
    expect([t.format, t.header, ...t.data]).toEqual(['tsv', ['price, usd', 'qty'], 1.5, 2]);
    const c = parseDelimited('x y z\n1,2,3\n');
    expect([c.format, c.header, ...c.data]).toEqual(['csv', ['x', 'y', 'z'], 1, 2, 3]);
  });

  it('refuses a first line mixing numbers and other text instead of dropping it as a header', () => {
    const hint = '(line 1 mixes numbers with a value that is no column name, so it is read as data (a header line has no numeric cells, or names among them))';
    expect(() => parseDelimited('1,2,NA\n3,4,5\n', { name: 'f' })).toThrow(`f: line 1, column 3: "NA" is not a number ${hint}`);
    expect(() => parseDelimited('1 000,2\n3,4\n', { name: 'f' })).toThrow(`f: line 1, column 1: "1 000" is not a number ${hint}`);
    expect(parseDelimited('a,b\n1,2\n').headerSkipped).toBe(true);
  });

  it('accepts decimal notation only', () => {
    expect(() => parseDelimited('1,2\n0x10,2\n', { name: 'f' })).toThrow(/^f: line 2, column 1: "0x10" is not a number \(only decimal notation is accepted\)$/);
    expect(() => parseDelimited('1 2\n3 0b11\n', { name: 'f' })).toThrow(/^f: line 2, column 2: "0b11" is not a number/);
    expect(() => parseDelimited('1\t2\n3\t0o7\n', { name: 'f' })).toThrow(/^f: line 2, column 2: "0o7" is not a number/);
    expect([...parseDelimited('5.,.5,-0e0,1E+2\n').data]).toEqual([5, 0.5, -0, 100]);
  });

  it('names UTF-16, compressed, NumPy and binary input instead of parsing it', () => {
    const u16 = new Uint8Array(Buffer.from('\uFEFFa,b\n1,2\n', 'utf16le'));
    expect(() => parseDelimited(u16, { name: 'u.csv' })).toThrow(/^u\.csv: looks like UTF-16 text \(little-endian, byte-order mark FF FE\); save or convert it as UTF-8$/);
    expect(() => parseDelimited(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]), { name: 'g' })).toThrow(/^g: looks like gzip-compressed data; decompress it first$/);
    const npy = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    expect(() => parseDelimited(npy.buffer, { name: 'n' })).toThrow(/^n: looks like NumPy \.npy data, not text$/);
    expect(() => parseDelimited('1,2\n\u0000\n', { name: 's' })).toThrow(/^s: looks like binary data \(it contains NUL bytes\), not text$/);
    expect(() => parseDelimited(new TextEncoder().encode('1,2\n3,4'))).not.toThrow();
  });
});

describe('parseDelimited argument checks', () => {
  function rejects(f: () => unknown, parameter: string, message: RegExp): void {
    expect(thrown(f, InvalidArgumentError, message).parameter).toBe(parameter);
  }

  it('rejects input that is not text or UTF-8 bytes, naming what it got', () => {
    const expected = 'input must be the text as a string, or its UTF-8 bytes as a Uint8Array or an ArrayBuffer, got';
    rejects(() => parseDelimited(12345 as never), 'input', new RegExp(`^${expected} 12345$`));
    rejects(() => parseDelimited(null as never), 'input', new RegExp(`^${expected} null$`));
    rejects(() => parseDelimited(undefined as never), 'input', new RegExp(`^${expected} undefined$`));
    rejects(() => parseDelimited([1, 2] as never), 'input', new RegExp(`^${expected} an array$`));
    rejects(() => parseDelimited(new Float64Array([1, 2]) as never), 'input', new RegExp(`^${expected} a Float64Array$`));
  });

  it('rejects bad options: not an object, unknown keys, a non-string name, an unknown format', () => {
    rejects(() => parseDelimited('1,2\n', null as never), 'options', /^options must be an object \{ name\?, format\? \}, got null$/);
    rejects(() => parseDelimited('1,2\n', 'csv' as never), 'options', /^options must be an object \{ name\?, format\? \}, got "csv"$/);
    rejects(() => parseDelimited('1,2\n', { delimiter: ';' } as never), 'delimiter', /^unknown option "delimiter"; valid options are: name, format$/);
    rejects(() => parseDelimited('1,2\n', { name: 3 } as never), 'name', /^name must be a string \(naming the input in error messages\), got 3$/);
    rejects(() => parseDelimited('1,2\n', { format: 'xlsx' } as never), 'format', /^format must be one of 'csv', 'tsv', 'whitespace', 'auto', got "xlsx"$/);
    rejects(() => parseDelimited('1,2\n', { format: 'npy' } as never), 'format', /got "npy"$/);
  });

  it('accepts every documented input form and option as before', () => {
    const text = '1,2\n3,4\n';
    const bytes = new TextEncoder().encode(text);
    for (const input of [text, bytes, bytes.buffer, Buffer.from(text)]) {
      const m = parseDelimited(input as Uint8Array, { name: 'f', format: 'csv' });
      expect([m.rows, m.cols, ...m.data]).toEqual([2, 2, 1, 2, 3, 4]);
    }
    expect(parseDelimited(text, {}).format).toBe('csv');
    expect(parseDelimited(text, { name: undefined, format: undefined }).format).toBe('csv');
    expect(parseDelimited('1 2\n', { format: 'auto' }).format).toBe('whitespace');
  });
});
