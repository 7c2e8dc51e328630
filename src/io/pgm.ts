/**
 * Netpbm greyscale images (PGM) as data: mlpack's data::Load reads a `.pgm` (it goes by the
 * extension, as does this) through Armadillo's pgm_binary (P5) and transposes it as every matrix,
 * so each image row is a point and each pixel column a feature. The same here, for the binary form
 * (P5; 16-bit samples big-endian as the Netpbm format says, where Armadillo reads them in the host's
 * order) and the plain one (P2, decimal text), which Armadillo does not read. The other Netpbm kinds
 * (bitmaps, colour) are refused by name.
 */
import { InvalidDataError } from '../errors.js';

/** What a Netpbm header declares. `dataOffset`: where the samples start (P5: after the one whitespace byte). */
export interface PnmHeader {
  magic: 'P1' | 'P2' | 'P3' | 'P4' | 'P5' | 'P6';
  width: number;
  height: number;
  /** Largest sample value (1 for the bitmaps P1 and P4, which have none). */
  maxval: number;
  dataOffset: number;
}

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;

/** The first byte from `i` on that is neither whitespace nor in a `#` comment (to the end of its line). */
function skipBlanks(bytes: Uint8Array, i: number): number {
  while (i < bytes.length && (isSpace(bytes[i]) || bytes[i] === 0x23)) {
    if (bytes[i] === 0x23) while (i < bytes.length && bytes[i] !== 0x0a && bytes[i] !== 0x0d) i++;
    else i++;
  }
  return i;
}

/**
 * The header of a Netpbm image at the start of `bytes`, or null where `bytes` does not start with one
 * whole: the magic P1–P6 and then whitespace-separated decimal width, height and (except bitmaps)
 * maxval, with `#` comments to the end of a line. A text file whose first cell is "P2" followed by
 * other words is not one.
 */
export function parsePnmHeader(bytes: Uint8Array): PnmHeader | null {
  if (bytes[0] !== 0x50 || !(bytes[1]! >= 0x31 && bytes[1]! <= 0x36) || !isSpace(bytes[2])) return null;
  const magic = `P${String.fromCharCode(bytes[1]!)}` as PnmHeader['magic'];
  const fields = magic === 'P1' || magic === 'P4' ? 2 : 3;
  const values: number[] = [];
  let i = 2;
  while (values.length < fields) {
    i = skipBlanks(bytes, i);
    const start = i;
    while (i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) i++;
    if (i === start || i - start > 15 || !(i < bytes.length && isSpace(bytes[i]))) return null;
    values.push(Number(new TextDecoder('latin1').decode(bytes.subarray(start, i))));
  }
  // The samples of the binary kinds start after exactly one whitespace byte.
  return { magic, width: values[0]!, height: values[1]!, maxval: fields === 3 ? values[2]! : 1, dataOffset: i + 1 };
}

/** A PGM image (P5 or P2) as a height × width row-major matrix; other Netpbm kinds are refused. */
export function parsePgm(bytes: Uint8Array, header: PnmHeader, path: string): { data: Float64Array; rows: number; cols: number } {
  const { magic, width, height, maxval, dataOffset } = header;
  if (magic !== 'P2' && magic !== 'P5') {
    const kind = magic === 'P1' || magic === 'P4' ? 'a PBM bitmap' : 'a PPM colour image';
    throw new InvalidDataError(`${path}: looks like ${kind} (Netpbm ${magic}); webgmm reads greyscale PGM images (P5 as mlpack, or P2) — convert it to PGM, or to CSV`);
  }
  if (!(width > 0 && height > 0)) throw new InvalidDataError(`${path}: the PGM header says ${width} × ${height} pixels; an image needs at least one`);
  if (!(maxval >= 1 && maxval <= 65535)) throw new InvalidDataError(`${path}: the PGM header's maximum value is ${maxval}; it must be from 1 to 65535`);
  const count = width * height;
  if (!Number.isSafeInteger(count * 2) || count > 2 ** 31) throw new InvalidDataError(`${path}: the PGM header says ${width} × ${height} pixels, too large to load`);
  // The file must hold the samples before their 8 bytes each are allocated (a corrupt header).
  const have = Math.max(0, bytes.length - dataOffset);
  const wide = maxval > 255;
  const needed = magic === 'P5' ? count * (wide ? 2 : 1) : 2 * count - 1;
  if (have < needed) {
    throw new InvalidDataError(magic === 'P5'
      ? `${path}: the PGM image of ${width} × ${height} pixels needs ${needed} bytes of samples after its header, but the file has ${have} (truncated?)`
      : `${path}: the PGM header says ${width} × ${height} = ${count} pixels, but the ${have} bytes after it cannot hold that many values (truncated?)`);
  }
  if (magic === 'P5' && have > needed) {
    // Netpbm allows images one after another in a file, and its readers take the first; a CR LF
    // header (a Windows line-end conversion) also leaves one byte too many, every sample shifted.
    const crlf = bytes[dataOffset - 1] === 0x0d && bytes[dataOffset] === 0x0a;
    const next = bytes[dataOffset + needed] === 0x50 && (bytes[dataOffset + needed + 1] === 0x35 || bytes[dataOffset + needed + 1] === 0x32);
    throw new InvalidDataError(`${path}: the PGM image of ${width} × ${height} pixels needs ${needed} bytes of samples after its header, but the file has ${have}` + (
      crlf ? ": its header ends in CR LF where P5 has one whitespace byte before the samples (converted to Windows line endings?), so every sample would be read a byte off"
        : next ? ': another image follows the first; webgmm reads a file of one image'
          : ' (the header does not describe the samples)'));
  }
  const data = new Float64Array(count);
  if (magic === 'P5') {
    for (let k = 0; k < count; k++) {
      const v = wide ? (bytes[dataOffset + 2 * k]! << 8) | bytes[dataOffset + 2 * k + 1]! : bytes[dataOffset + k]!;
      if (v > maxval) throw pixelError(path, k, width, `${v} exceeds the header's maximum value ${maxval}`);
      data[k] = v;
    }
  } else {
    // Decimal samples read byte by byte (no string per pixel: a large plain image stays the size of
    // its values); comments may follow the header in files some tools write.
    let k = 0;
    for (let i = skipBlanks(bytes, dataOffset - 1); i < bytes.length; i = skipBlanks(bytes, i)) {
      const start = i;
      let v = 0;
      while (i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39 && i - start < 6) v = v * 10 + bytes[i++]! - 0x30;
      if (i === start || (i < bytes.length && !isSpace(bytes[i]) && bytes[i] !== 0x23)) {
        let end = start;
        while (end < bytes.length && end - start < 20 && !isSpace(bytes[end])) end++;
        // Control bytes (NUL padding, say) shown escaped, not written raw into the message.
        const token = new TextDecoder('latin1').decode(bytes.subarray(start, end)).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
        const shown = `"${token}${end - start === 20 ? '…' : ''}"`;
        if (k >= count) throw new InvalidDataError(`${path}: after the image's ${width} × ${height} = ${count} samples the file goes on with ${shown}, which is not part of a PGM image`);
        throw pixelError(path, k, width, `${shown} is not a sample (a decimal integer)`);
      }
      if (k >= count) throw new InvalidDataError(`${path}: the PGM header says ${width} × ${height} = ${count} pixels, but more values follow them`);
      if (v > maxval) throw pixelError(path, k, width, `${v} exceeds the header's maximum value ${maxval}`);
      data[k++] = v;
    }
    if (k !== count) throw new InvalidDataError(`${path}: the PGM header says ${width} × ${height} = ${count} pixels, but ${k} values follow it`);
  }
  return { data, rows: height, cols: width };
}

function pixelError(path: string, k: number, width: number, what: string): InvalidDataError {
  const i = Math.floor(k / width), j = k - i * width;
  return new InvalidDataError(`${path}: pixel row ${i + 1}, column ${j + 1}: ${what}`, i, j);
}
