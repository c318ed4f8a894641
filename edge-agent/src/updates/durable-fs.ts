/**
 * The few file-system moves that survive a power cut or `kill -9`: a file is written whole, fsynced,
 * then renamed over its destination (rename(2) is atomic on POSIX), and the directory is fsynced so
 * the rename itself is on disk. A reader sees the old file or the new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Suffix of temporary files; `recover()` removes leftovers with it. */
export const TMP_MARK = '.tmp-';

/** Flushes a directory's entries (creations, renames) to disk. A no-op where unsupported (Windows). */
export async function fsyncDir(path: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw cause;
  } finally {
    await fh?.close();
  }
}

/** Writes `path` whole and fsyncs it (not atomic: for files in a directory that is renamed into place). */
export async function writeFileDurable(path: string, bytes: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A temporary name beside `path`, marked so that boot removes it if it is left behind. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `${basename(path)}${TMP_MARK}${randomBytes(6).toString('hex')}`);
}

/** Replaces `path` with `bytes` atomically and durably. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  await writeFileDurable(tmp, bytes);
  try {
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw cause;
  }
  await fsyncDir(dirname(path));
}

/** Renames `from` to `to` (a file or a directory) and makes the rename durable. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
}
