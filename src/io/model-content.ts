/**
 * What the model parsers accept as a file's content: its text, or its bytes — a Uint8Array
 * (Node's Buffer is one), or an ArrayBuffer as a browser's `await file.arrayBuffer()` gives it.
 */
import { InvalidArgumentError } from '../errors.js';
import { textOrBytes } from './delimited.js';
import { describeValue } from '../data.js';
import { checkModelTextSize } from './model-size.js';

/**
 * `content` as text or as a Uint8Array of this realm (as parseDelimited takes its input); anything
 * else is an InvalidArgumentError naming `content`, where the parsers would fail with a TypeError
 * deep inside.
 */
export function modelContent(content: unknown, caller: string): string | Uint8Array {
  const got = textOrBytes(content);
  if (got === null) throw new InvalidArgumentError('content', `${caller} needs the file's text (a string) or its bytes (a Uint8Array, Buffer or ArrayBuffer), got ${describeValue(content)}`);
  return got;
}

/**
 * The name a parser calls the model by in its errors (the file's name): a non-empty string, or an
 * InvalidArgumentError saying what `caller` needs it for.
 */
export function checkModelName(
  name: unknown,
  caller: string,
  needs = "the model's name for its messages (a non-empty string, e.g. the file's name)",
): asserts name is string {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('name', `${caller} needs ${needs}, got ${describeValue(name)}`);
}

/**
 * Bytes decoded as UTF-8 (a leading byte-order mark dropped); null where they are not valid UTF-8.
 * More bytes than one string holds are an InvalidModelError naming the file (`name`).
 */
export function utf8Text(content: string | Uint8Array, name: string): string | null {
  let text: string;
  if (typeof content === 'string') text = content;
  else {
    checkModelTextSize(content.length, name);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      return null;
    }
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
