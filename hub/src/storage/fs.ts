/**
 * The default object store: one file per key under a root directory. A `put` writes a temporary
 * file beside the target, fsyncs it, renames it over the target and fsyncs the directory, so that a
 * reader or a crash sees either the old object or all of the new one (rename(2) is atomic within a
 * file system, and only the directory fsync makes the rename itself durable).
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HubError } from '../errors.js';
import { packForTransfer, threadError, type WorkerThread, workerThread } from '../worker-thread.js';
import { FS_PUT_WORKER_SOURCE } from './fs-put-worker.js';
import { assertValidKey, assertValidPrefix, compareKeys } from './keys.js';
import type { ObjectStore, PutItem } from './object-store.js';

/** Names of in-flight (or crash-abandoned) temporary files; `list` never shows them. */
const TEMP_NAME = /^\.[0-9a-f]{16}\.tmp$/;
/** Errors that mean "no object here": missing, or a directory/file where the other was expected. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** An {@link ObjectStore} on a local directory; {@link FsObjectStore.open} also creates it. */
export class FsObjectStore implements ObjectStore {
  /** The absolute root directory. */
  readonly root: string;
  readonly description: string;

  /** The thread that runs `putMany`, started on its first batch. */
  private putThread: WorkerThread | undefined;

  /** A store on an existing directory `root` (resolved against the cwd). */
  constructor(root: string) {
    this.root = resolve(root);
    this.description = pathToFileURL(this.root).href;
  }

  /** Opens (creating it if needed) the store rooted at `root`, resolved against the cwd. */
  static async open(root: string): Promise<FsObjectStore> {
    const abs = resolve(root);
    try {
      await mkdir(abs, { recursive: true });
    } catch (cause) {
      throw new HubError('STORAGE_FAILED', `cannot create the object store directory ${abs}`, { cause });
    }
    return new FsObjectStore(abs);
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    // A key shaped like our temp files would be hidden from list() and could collide with a put.
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (TEMP_NAME.test(name)) throw new HubError('BAD_REQUEST', `invalid object key ${JSON.stringify(key)}: the name is reserved`);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    const temp = join(dir, `.${randomBytes(8).toString('hex')}.tmp`);
    let renamed = false;
    try {
      const created = await mkdir(dir, { recursive: true });
      // New directories are entries in their parents; fsync those parents too, or a crash could
      // drop the whole path along with the object we acknowledged.
      if (created !== undefined) {
        for (let d = dir; d !== dirname(created); d = dirname(d)) await fsyncDir(dirname(d));
      }
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.beforeRename(temp);
      await rename(temp, path);
      renamed = true;
      await fsyncDir(dir);
    } catch (cause) {
      if (!renamed) await unlink(temp).catch(() => {});
      throw new HubError('STORAGE_FAILED', `cannot store ${key} in ${this.description}`, { cause });
    }
  }

  /**
   * Stores a batch on a thread of its own (`fs-put-worker.ts`) with synchronous file calls: every
   * temporary file written and fsynced, then renamed, then one fsync per directory. Each object is
   * as atomic and durable as with `put`; the event loop only copies the bytes into one buffer.
   */
  async putMany(items: readonly PutItem[]): Promise<Array<Error | undefined>> {
    const results: Array<Error | undefined> = items.map(() => undefined);
    const paths: string[] = [];
    const sent: number[] = [];
    for (const [i, item] of items.entries()) {
      try {
        paths.push(this.pathOf(item.key));
        sent.push(i);
      } catch (error) {
        results[i] = error as Error;
      }
    }
    if (sent.length === 0) return results;
    const { buffer, offsets } = packForTransfer(sent.map((i) => items[i]!.bytes));
    this.putThread ??= workerThread({ source: FS_PUT_WORKER_SOURCE, idleCloseMs: 5_000, name: 'object store writer' });
    let errors: Array<{ message: string; code?: string } | null>;
    try {
      errors = await this.putThread.call({ op: 'putMany', paths, offsets, buffer }, [buffer]);
    } catch (cause) {
      const error = new HubError('STORAGE_FAILED', `cannot store ${sent.length} objects in ${this.description}`, { cause });
      for (const i of sent) results[i] = error;
      return results;
    }
    errors.forEach((e, j) => {
      if (!e) return;
      const i = sent[j]!;
      results[i] = new HubError('STORAGE_FAILED', `cannot store ${items[i]!.key} in ${this.description}`, { cause: threadError(e) });
    });
    return results;
  }

  /**
   * Runs after the temporary file is durable and before it is renamed into place. A no-op; crash
   * tests override it to stop the process at the one moment an interrupted put can leave behind.
   */
  protected async beforeRename(_tempPath: string): Promise<void> {}

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    try {
      const buffer = await readFile(path);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (cause) {
      if (ABSENT.has(errno(cause) ?? '')) return undefined;
      throw new HubError('STORAGE_FAILED', `cannot read ${key} from ${this.description}`, { cause });
    }
  }

  async head(key: string): Promise<{ size: number; tag: string } | undefined> {
    const path = this.pathOf(key);
    try {
      // Every put renames a new file into place: a new inode and a new mtime (to the nanosecond).
      const info = await stat(path, { bigint: true });
      return info.isFile() ? { size: Number(info.size), tag: `${info.ino}-${info.mtimeNs}-${info.size}` } : undefined;
    } catch (cause) {
      if (ABSENT.has(errno(cause) ?? '')) return undefined;
      throw new HubError('STORAGE_FAILED', `cannot stat ${key} in ${this.description}`, { cause });
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
      await fsyncDir(dirname(path));
    } catch (cause) {
      if (ABSENT.has(errno(cause) ?? '')) return;
      throw new HubError('STORAGE_FAILED', `cannot delete ${key} from ${this.description}`, { cause });
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertValidPrefix(prefix);
    // Walk only the deepest directory the prefix fully names, and filter by the rest.
    const dirPart = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    for await (const key of this.walk(join(this.root, ...dirPart.split('/')))) {
      if (key.startsWith(prefix)) yield key;
    }
  }

  /** Keys of the files below `dir`, in UTF-8 byte order of the whole key. */
  private async *walk(dir: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (cause) {
      if (ABSENT.has(errno(cause) ?? '')) return;
      throw new HubError('STORAGE_FAILED', `cannot list ${dir}`, { cause });
    }
    // Sort a directory as "name/" so that "a/b" lands after "a-c", as it does in a flat key order.
    const named = entries
      .filter((e) => e.isDirectory() || (e.isFile() && !TEMP_NAME.test(e.name)))
      .map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { entry } of named) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) yield* this.walk(path);
      else yield relative(this.root, path).split(sep).join('/');
    }
  }

  async close(): Promise<void> {
    await this.putThread?.close();
  }
}
