/**
 * Watches folders for new images. A file is read only once its size and mtime have stayed the same
 * for `stableMs` (a camera or an scp may still be writing it), names a writer uses while writing
 * (`.name`, `*.part`, `*.tmp`, `*.crdownload`, `*~`) are ignored until renamed, and each file is
 * handled once, then moved to `processed/` (or `failed/` when the handler throws). Moving, rather
 * than remembering, keeps "once" true across restarts and keeps the folder from growing.
 * `fs.watch` gives prompt events; a periodic rescan catches what it misses (network shares, some
 * container filesystems, files present at start).
 */
import { type FSWatcher, watch } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

export const PROCESSED_DIR = 'processed';
export const FAILED_DIR = 'failed';
const IGNORED = /^\.|\.(part|partial|tmp|crdownload|download|swp)$|~$/i;

/** What became of one file. */
export interface WatchEvent<T> {
  path: string;
  /** Where the file was moved; absent when it could not be moved (then it is remembered instead). */
  movedTo?: string;
  result?: T;
  error?: unknown;
}

export interface FolderWatcherOptions<T> {
  dirs: readonly string[];
  stableMs: number;
  rescanMs: number;
  /** Files over this size go straight to `failed/` without being read. */
  maxBytes?: number;
  /** Handles one file's bytes; a throw sends the file to `failed/`. Files are handled one at a time. */
  handle: (bytes: Uint8Array, path: string) => Promise<T>;
  onEvent?: (event: WatchEvent<T>) => void;
  /** Watcher-level problems (a folder vanished, a move failed); never fatal. */
  onError?: (error: unknown, path: string) => void;
}

interface Pending {
  size: number;
  mtimeMs: number;
  timer?: NodeJS.Timeout;
}

export class FolderWatcher<T> {
  private readonly pending = new Map<string, Pending>();
  /** Files handled but not movable (read-only folder), by path, size and mtime: never handled twice. */
  private readonly done = new Set<string>();
  private watchers: FSWatcher[] = [];
  private rescanTimer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopped = true;

  constructor(private readonly options: FolderWatcherOptions<T>) {}

  /** Creates the folders if needed, starts watching, and picks up files already there. */
  async start(): Promise<void> {
    this.stopped = false;
    for (const dir of this.options.dirs) {
      await mkdir(join(dir, PROCESSED_DIR), { recursive: true });
      await mkdir(join(dir, FAILED_DIR), { recursive: true });
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (name) this.consider(join(dir, name.toString()));
      });
      w.on('error', (e) => this.options.onError?.(e, dir));
      this.watchers.push(w);
    }
    this.rescanTimer = setInterval(() => void this.rescan(), this.options.rescanMs);
    this.rescanTimer.unref();
    await this.rescan();
  }

  /** Stops watching and waits for the file being handled, if any. Files not yet stable stay for next time. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    clearInterval(this.rescanTimer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await this.queue;
  }

  /** Lists every watched folder once. */
  async rescan(): Promise<void> {
    for (const dir of this.options.dirs) {
      try {
        for (const name of await readdir(dir)) this.consider(join(dir, name));
      } catch (e) {
        this.options.onError?.(e, dir);
      }
    }
  }

  private consider(path: string): void {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (this.stopped || this.pending.has(path) || IGNORED.test(name) || name === PROCESSED_DIR || name === FAILED_DIR) return;
    const entry: Pending = { size: -1, mtimeMs: -1 };
    this.pending.set(path, entry);
    void this.check(path, entry);
  }

  /** Re-stats the file until size and mtime hold still for `stableMs`, then queues it. */
  private async check(path: string, entry: Pending): Promise<void> {
    if (this.stopped) return;
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch {
      this.pending.delete(path); // gone (renamed away, or already moved)
      return;
    }
    if (!st.isFile() || this.done.has(`${path}:${st.size}:${st.mtimeMs}`)) {
      this.pending.delete(path);
      return;
    }
    if (st.size === entry.size && st.mtimeMs === entry.mtimeMs) {
      this.queue = this.queue.then(() => this.process(path, st.size, st.mtimeMs));
      return;
    }
    entry.size = st.size;
    entry.mtimeMs = st.mtimeMs;
    entry.timer = setTimeout(() => void this.check(path, entry), this.options.stableMs);
  }

  private async process(path: string, size: number, mtimeMs: number): Promise<void> {
    if (this.stopped) return;
    const event: WatchEvent<T> = { path };
    try {
      if (this.options.maxBytes !== undefined && size > this.options.maxBytes) {
        throw new Error(`file is ${size} bytes, over the ${this.options.maxBytes}-byte limit`);
      }
      const bytes = await readFile(path);
      event.result = await this.options.handle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
    } catch (e) {
      event.error = e;
    }
    const dir = path.slice(0, path.lastIndexOf('/'));
    event.movedTo = await this.moveAway(path, join(dir, event.error === undefined ? PROCESSED_DIR : FAILED_DIR));
    if (!event.movedTo) this.done.add(`${path}:${size}:${mtimeMs}`);
    this.pending.delete(path);
    this.options.onEvent?.(event);
  }

  /** Moves into `toDir` without overwriting: `a.png`, then `a-1.png`, `a-2.png`, … */
  private async moveAway(path: string, toDir: string): Promise<string | undefined> {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const ext = extname(name);
    const base = name.slice(0, name.length - ext.length);
    for (let n = 0; n < 1000; n++) {
      const target = join(toDir, n === 0 ? name : `${base}-${n}${ext}`);
      try {
        await stat(target);
        continue; // taken
      } catch {}
      try {
        await rename(path, target);
        return target;
      } catch (e) {
        this.options.onError?.(e, path);
        return undefined;
      }
    }
    return undefined;
  }
}
