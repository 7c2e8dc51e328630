/**
 * File output that is all or nothing: the content goes to a temporary file next to the target,
 * is flushed to disk, and is renamed over the target only once complete, so a failure never
 * leaves a half-written file and an existing file is replaced only on success.
 *
 * What the path names is respected as a program that opens the path itself (mlpack) would: a
 * symbolic link is written through (its target is replaced, the link stays), an existing file
 * keeps its permissions, a read-only file is refused rather than replaced, and a device or FIFO
 * (`/dev/null`, `/dev/stdout`, a named pipe) is written to directly, never replaced; a socket,
 * which open() refuses, is refused up front.
 */
import { access, constants, lstat, open, readlink, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { fstatSync, unlinkSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { WebGmmError, throwIfAborted } from '../errors.js';

/**
 * Temporary files being written, so that a process about to die of a signal can remove them
 * (removeTemporaryFiles): a second Ctrl-C, or a stop that outlasts its grace period.
 */
const temporaries = new Set<string>();

/** Removes every temporary file still being written, synchronously (for a signal handler). */
export function removeTemporaryFiles(): void {
  for (const path of temporaries) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone, or not ours to remove: nothing more can be done on the way out.
    }
  }
  temporaries.clear();
}

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
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'file name too long';
    case 'ENXIO':
      // What open() says of a socket (and of a FIFO opened for writing with no reader, which
      // openFifo handles): a socket is no file to read or write.
      return 'no such device or address (a socket cannot be opened as a file)';
    case 'ERR_FS_FILE_TOO_LARGE':
      return 'the file is too large to read at once';
    default:
      return e instanceof Error ? e.message : String(err);
  }
}

/** Where and how `path` is written (see the module comment). */
interface OutputTarget {
  /** The path to write: `path` itself, or the regular file a symbolic link leads to. */
  target: string;
  /** Not a regular file (device, FIFO): opened and written in place, not replaced. */
  direct: boolean;
  /** A FIFO (written in place without blocking: see openFifo). */
  fifo: boolean;
  /**
   * This process's own descriptor that the path names, where it leads to a regular file: written
   * through that descriptor (see inheritedDescriptor), else null.
   */
  descriptor: number | null;
  /** An existing regular file's permissions and owner, given to its replacement. */
  existing: { mode: number; uid: number; gid: number } | null;
}

/**
 * The names of a process's open descriptors (`/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/1`):
 * written in place even where they lead to a regular file (`-o /dev/stdout > out.csv`), which a
 * rename would replace. Any other regular file is replaced whole, under /dev too (`/dev/shm`).
 */
export function isStreamPath(path: string): boolean {
  return STREAM_PATH.test(resolve(path));
}

const STREAM_PATH = /^\/(?:dev\/(?:(std(?:in|out|err))|fd\/(\d+))|proc\/(self|thread-self|\d+)(?:\/task\/\d+)?\/fd\/(\d+))$/;

/**
 * The descriptor of this process that a stream path names, where it leads to the regular file
 * `st`. Opening `/dev/stdout` anew opens that file again, with an offset of its own: the shell's
 * descriptor would keep its old offset, and what the shell writes next (`(echo a; webgmm … -o
 * /dev/stdout; echo b) > f`) would overwrite the output. Writing through the descriptor itself
 * moves the offset they share, as a program writing to its standard output does.
 */
function inheritedDescriptor(path: string, st: { dev: number; ino: number }): number | null {
  const m = STREAM_PATH.exec(resolve(path));
  if (!m) return null;
  const [, std, devFd, proc, procFd] = m;
  if (proc !== undefined && proc !== 'self' && proc !== 'thread-self' && Number(proc) !== process.pid) return null;
  const fd = std !== undefined ? ['stdin', 'stdout', 'stderr'].indexOf(std) : Number(devFd ?? procFd);
  try {
    const own = fstatSync(fd);
    if (!own.isFile() || own.dev !== st.dev || own.ino !== st.ino) return null;
    // Open for writing? (`3< file` is not: EBADF.) Writing nothing changes nothing where it is.
    writeSync(fd, new Uint8Array(0));
    return fd;
  } catch {
    return null;
  }
}

async function outputTarget(path: string): Promise<OutputTarget> {
  // `out/model.json/` names a directory: the rename would fail after all the work (ENOTDIR).
  if (/\/$/.test(path)) throw Object.assign(new Error('the name ends with "/", so it names a directory, not a file'), { code: 'ETRAILINGSLASH' });
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (st?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  if (st?.isSocket()) throw Object.assign(new Error('is a socket, which cannot be opened as a file'), { code: 'ESOCKET' });
  if ((st && !st.isFile()) || (st && isStreamPath(path))) {
    return { target: path, direct: true, fifo: st.isFIFO(), descriptor: st.isFile() ? inheritedDescriptor(path, st) : null, existing: null };
  }
  if (st) {
    return { target: await realpath(path).catch(() => path), direct: false, fifo: false, descriptor: null, existing: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } };
  }
  // Nothing there, or a chain of links to a file not yet created: create the last link's target,
  // each link resolved against the real directory it sits in (as the kernel does).
  let target = path;
  for (let hops = 0; ; hops++) {
    const link = await lstat(target).catch(() => null);
    if (!link?.isSymbolicLink()) break;
    if (hops === 40) throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
    const dir = await realpath(dirname(target)).catch(() => dirname(target));
    target = resolve(dir, await readlink(target));
  }
  return { target, direct: false, fifo: false, descriptor: null, existing: null };
}

/**
 * Whether writing `output` would replace the file `input` names: through symbolic links, `..` or
 * hard links (same device and inode) when both exist; otherwise whether they resolve to the same
 * path. A device, FIFO or socket is written through, never replaced: a terminal that is both
 * standard input and standard output (`-i /dev/stdin -o /dev/stdout`) is not an input overwritten.
 */
export async function sameFile(output: string, input: string): Promise<boolean> {
  const [so, si] = await Promise.all([stat(output).catch(() => null), stat(input).catch(() => null)]);
  if (so && si) return so.isFile() && so.dev === si.dev && so.ino === si.ino;
  return resolve(output) === resolve(input);
}

/** An existing regular file this process may not write: refused rather than replaced. */
async function readOnly(t: OutputTarget): Promise<boolean> {
  return t.existing !== null && (await access(t.target, constants.W_OK).then(() => false, () => true));
}

/**
 * Why `path` cannot be written, or null when it can: checked before long work so that a bad
 * output path fails at once. The same rules as {@link writeFileAtomic}.
 */
export async function outputPathProblem(path: string): Promise<string | null> {
  let t: OutputTarget;
  try {
    t = await outputTarget(path);
  } catch (e) {
    return errnoReason(e);
  }
  if (t.direct) return (await access(t.target, constants.W_OK).then(() => null, (e: unknown) => errnoReason(e)));
  const dir = dirname(resolve(t.target));
  const d = await stat(dir).catch(() => null);
  if (!d?.isDirectory()) return `no such directory: ${dir}`;
  if (await readOnly(t)) return 'the file is read-only (permission denied)';
  const writable = await access(dir, constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!writable) return `the directory ${dir} is not writable`;
  // For root, access() says yes wherever permissions would (procfs, sysfs), not whether the file
  // system takes a new file: try one, as the write will.
  if (process.getuid?.() === 0) {
    const probe = join(dir, siblingName(t.target, 'probe'));
    try {
      await (await open(probe, 'wx')).close();
      await unlink(probe).catch(() => undefined);
    } catch (e) {
      return cannotCreate(dir, e);
    }
  }
  return null;
}

/**
 * A fresh hidden name beside `target` for a temporary or probe file: `.<name>.tmp-<pid>-<random>`,
 * so that one left by a killed process says what it was for — unless the name is so long that
 * the suffix would pass the file system's limit of 255 bytes (a legal name of 250 bytes could
 * not be written otherwise).
 */
function siblingName(target: string, kind: 'tmp' | 'probe'): string {
  const base = basename(target);
  const stem = Buffer.byteLength(base) <= 200 ? base : 'webgmm';
  return `.${stem}.${kind}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** A new file refused by an existing directory (procfs answers ENOENT: it takes no new files). */
function cannotCreate(dir: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  return `cannot create a file in ${dir}: ${code === 'ENOENT' ? 'its file system takes no new files' : errnoReason(err)}`;
}

/**
 * Writes the chunks (strings as UTF-8, or bytes), in order, to `path` atomically (see the module
 * comment for links, devices and permissions). With `signal`, an abort between chunks stops the
 * write, removes the temporary file and rejects with the signal's reason.
 * @throws WebGmmError with code 'OUTPUT': `out.csv: cannot write: <reason>`.
 */
export async function writeFileAtomic(
  path: string,
  chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  signal?: AbortSignal,
): Promise<void> {
  let t: OutputTarget;
  try {
    t = await outputTarget(path);
  } catch (err) {
    throw new WebGmmError('OUTPUT', `${path}: cannot write: ${errnoReason(err)}`);
  }
  if (t.direct) return writeInPlace(path, t, chunks, signal);
  const dir = dirname(t.target);
  if (await readOnly(t)) {
    throw new WebGmmError('OUTPUT', `${path}: cannot write: the file is read-only (permission denied)`);
  }
  const tmp = join(dir, siblingName(t.target, 'tmp'));
  let fh: FileHandle | undefined;
  let created = false;
  try {
    fh = await open(tmp, 'wx', t.existing?.mode ?? 0o666);
    created = true;
    temporaries.add(tmp);
    if (t.existing) {
      // open() applied the umask; an existing file's own permissions (and owner, where allowed)
      // win. The owner first: chown clears the setuid and setgid bits that chmod then restores.
      await fh.chown(t.existing.uid, t.existing.gid).catch(() => undefined);
      await fh.chmod(t.existing.mode);
    }
    for await (const chunk of chunks) {
      throwIfAborted(signal);
      if (typeof chunk === 'string') await fh.writeFile(chunk, 'utf8');
      else await fh.writeFile(chunk);
    }
    throwIfAborted(signal);
    await fh.datasync();
    const handle = fh;
    fh = undefined;
    await handle.close();
    await rename(tmp, t.target);
    temporaries.delete(tmp);
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    if (created) await unlink(tmp).catch(() => undefined);
    temporaries.delete(tmp);
    if (signal?.aborted && err === signal.reason) throw err;
    const code = (err as NodeJS.ErrnoException)?.code;
    const missing = code === 'ENOENT' && !created && !(await stat(dir).then((d) => d.isDirectory(), () => false));
    const reason = missing ? `no such directory: ${dir}` : !created ? cannotCreate(dir, err) : errnoReason(err);
    throw new WebGmmError('OUTPUT', `${path}: cannot write: ${reason}`);
  }
}

/** A device or FIFO: written through, as `cat > /dev/null` would. */
async function writeInPlace(
  path: string,
  { target, fifo, descriptor }: OutputTarget,
  chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (descriptor !== null) return writeToDescriptor(path, descriptor, chunks, signal);
  let fh: FileHandle | undefined;
  try {
    fh = fifo ? await openFifo(target, signal) : await open(target, 'a');
    for await (const chunk of chunks) {
      throwIfAborted(signal);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      if (!fifo) await fh.writeFile(bytes);
      else await writeNonBlocking(fh, bytes, signal);
    }
    const handle = fh;
    fh = undefined;
    await handle.close();
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    if (signal?.aborted && err === signal.reason) throw err;
    if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') throw new ReaderClosedError(path);
    throw new WebGmmError('OUTPUT', `${path}: cannot write: ${errnoReason(err)}`);
  }
}

const writeFd = promisify(write);

/** Through one of this process's own descriptors (inheritedDescriptor), which stays open. */
async function writeToDescriptor(
  path: string,
  fd: number,
  chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    for await (const chunk of chunks) {
      throwIfAborted(signal);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      for (let offset = 0; offset < bytes.length; ) offset += (await writeFd(fd, bytes, offset, bytes.length - offset)).bytesWritten;
    }
  } catch (err) {
    if (signal?.aborted && err === signal.reason) throw err;
    throw new WebGmmError('OUTPUT', `${path}: cannot write: ${errnoReason(err)}`);
  }
}

/**
 * The reader of a pipe written in place (`-o /dev/stdout | head`, a FIFO) closed it before the
 * end: for the CLI what `| head` asks for, not a failure.
 */
export class ReaderClosedError extends WebGmmError {
  constructor(path: string) {
    super('OUTPUT', `${path}: its reader closed it before everything was written`);
  }
}

/**
 * A FIFO opened for writing without blocking: a blocking open waits for a reader in a thread that
 * no signal reaches (Ctrl-C could not stop it, nor could the process exit), so it is retried
 * non-blocking until a reader comes or the signal aborts.
 */
async function openFifo(target: string, signal: AbortSignal | undefined): Promise<FileHandle> {
  for (;;) {
    throwIfAborted(signal);
    try {
      return await open(target, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e; // ENXIO: no reader yet
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** All of `bytes` to a non-blocking descriptor, waiting while the pipe is full. */
async function writeNonBlocking(fh: FileHandle, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    try {
      offset += (await fh.write(bytes, offset, bytes.length - offset)).bytesWritten;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      throwIfAborted(signal);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}
