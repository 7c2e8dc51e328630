/**
 * File output that is all or nothing: the content goes to a temporary file next to the target,
 * is flushed to disk, and is renamed over the target only once complete, so a failure never
 * leaves a half-written file and an existing file is replaced only on success.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { WebGmmError } from '../errors.js';

/** A short phrase for a file-system error, for messages of the form `file: <reason>`. */
export function errnoReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a parent of the path is not a directory';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EROFS':
      return 'read-only file system';
    case 'ERR_FS_FILE_TOO_LARGE':
      return 'the file is too large to read at once';
    default:
      return e instanceof Error ? e.message : String(err);
  }
}

/**
 * Writes the chunks (strings as UTF-8, or bytes), in order, to `path` atomically.
 * @throws WebGmmError with code 'OUTPUT': `out.csv: cannot write: <reason>`.
 */
export async function writeFileAtomic(
  path: string,
  chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fh: FileHandle | undefined;
  let created = false;
  try {
    fh = await open(tmp, 'wx', 0o666);
    created = true;
    for await (const chunk of chunks) {
      if (typeof chunk === 'string') await fh.writeFile(chunk, 'utf8');
      else await fh.writeFile(chunk);
    }
    await fh.datasync();
    const handle = fh;
    fh = undefined;
    await handle.close();
    await rename(tmp, path);
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    if (created) await unlink(tmp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException)?.code;
    const reason = code === 'ENOENT' && !created ? `no such directory: ${dir}` : errnoReason(err);
    throw new WebGmmError('OUTPUT', `${path}: cannot write: ${reason}`);
  }
}
