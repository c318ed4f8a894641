/**
 * Serving the repository read-only, as a static file server (or S3 behind a CDN) would: the path
 * below the base URL is the object-store key below the prefix. Only names of the published layout
 * are looked up; anything else is simply not found. `timestamp.json` is the one file that changes,
 * so it must be revalidated on every fetch; every other file is named by its version or its hash
 * and never changes.
 *
 * The hub's own `/tuf/` routes read through {@link serveRepositoryFile}, which keeps what it served
 * in memory: a fleet polls the repository every few seconds, and every device that updates fetches
 * the same model, which would otherwise be a store read (an S3 GET, with an S3 store) each time.
 * Files named by version or hash are kept as long as they fit (least recently served first out; a
 * target only once its bytes hash to the sha256 in its name, so a damaged object is never pinned);
 * `timestamp.json` is revalidated on every request with the store's `head` tag, one stat or HEAD
 * instead of a read. Lookups of names that do not exist (the next root, §5.3.3) are not cached.
 */
import type { ObjectStore } from '../storage/object-store.js';
import { sha256Hex } from './metadata.js';

const METADATA = /^metadata\/(?:timestamp|[1-9][0-9]{0,15}\.(?:root|snapshot|targets))\.json$/;
const TARGET = /^targets\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}\/[1-9][0-9]{0,15}\/[0-9a-f]{64}\.(?:model\.onnx|manifest\.json)$/;

/** The object-store prefix of the repository; the hub serves it at `/tuf/`. */
export const TUF_PREFIX = 'tuf/';

/** Cache policies: a CDN may keep versioned files forever; the timestamp only until it changes. */
export const CACHE_MUTABLE = 'no-cache';
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';

export interface RepositoryFile {
  bytes: Uint8Array;
  headers: Record<string, string>;
}

/** Whether `path` (relative to the repository's base URL) is a name the layout can hold. */
export function isRepositoryPath(path: string): boolean {
  return METADATA.test(path) || TARGET.test(path);
}

/** The file at `path` below the base URL, with its response headers; `undefined` when absent. */
export async function readRepositoryFile(store: ObjectStore, prefix: string, path: string): Promise<RepositoryFile | undefined> {
  if (!isRepositoryPath(path)) return undefined;
  const bytes = await store.get(`${prefix}${path}`);
  return bytes && withHeaders(path, bytes);
}

/** {@link readRepositoryFile} through the in-memory cache of `store`'s repository files. */
export async function serveRepositoryFile(store: ObjectStore, prefix: string, path: string): Promise<RepositoryFile | undefined> {
  if (!isRepositoryPath(path)) return undefined;
  const bytes = await cacheOf(store).read(`${prefix}${path}`, path);
  return bytes && withHeaders(path, bytes);
}

/** The most bytes of repository files kept per store, and the largest file kept. */
export const REPOSITORY_CACHE_BYTES = 64 * 1024 * 1024;
const REPOSITORY_CACHE_MAX_FILE = 16 * 1024 * 1024;

/** The in-memory copy of one store's repository files (see the file comment). */
export class RepositoryCache {
  constructor(
    private readonly store: ObjectStore,
    private readonly maxBytes = REPOSITORY_CACHE_BYTES,
    private readonly maxFileBytes = REPOSITORY_CACHE_MAX_FILE,
  ) {}

  /** Files named by version or hash, in the order last served (a Map keeps insertion order). */
  private readonly fixed = new Map<string, Uint8Array>();
  private fixedBytes = 0;
  /** `timestamp.json` of each prefix, with the store's tag for its bytes. */
  private readonly mutable = new Map<string, { tag: string; bytes: Uint8Array }>();

  /** Bytes of the files named by version or hash held now. */
  get heldBytes(): number {
    return this.fixedBytes;
  }

  /** The file at `key` (`path` below the repository's base URL), from memory when it can be. */
  async read(key: string, path: string): Promise<Uint8Array | undefined> {
    if (path === 'metadata/timestamp.json') return this.readMutable(key);
    const kept = this.fixed.get(key);
    if (kept) {
      this.fixed.delete(key);
      this.fixed.set(key, kept);
      return kept;
    }
    const bytes = await this.store.get(key);
    if (bytes && bytes.byteLength <= this.maxFileBytes && namedHashMatches(path, bytes)) this.keep(key, bytes);
    return bytes;
  }

  private async readMutable(key: string): Promise<Uint8Array | undefined> {
    const head = await this.store.head(key);
    if (!head) return undefined;
    const kept = this.mutable.get(key);
    if (head.tag !== undefined && kept?.tag === head.tag) return kept.bytes;
    const bytes = await this.store.get(key);
    // Tagged with the head taken before the read: if the file changed in between, the next head
    // differs from this tag and the file is read again.
    if (bytes && head.tag !== undefined) this.mutable.set(key, { tag: head.tag, bytes });
    return bytes;
  }

  private keep(key: string, bytes: Uint8Array): void {
    const old = this.fixed.get(key);
    if (old) this.fixedBytes -= old.byteLength;
    this.fixed.delete(key);
    this.fixed.set(key, bytes);
    this.fixedBytes += bytes.byteLength;
    for (const [oldest, b] of this.fixed) {
      if (this.fixedBytes <= this.maxBytes) break;
      this.fixed.delete(oldest);
      this.fixedBytes -= b.byteLength;
    }
  }
}

const caches = new WeakMap<ObjectStore, RepositoryCache>();

function cacheOf(store: ObjectStore): RepositoryCache {
  let cache = caches.get(store);
  if (!cache) {
    cache = new RepositoryCache(store);
    caches.set(store, cache);
  }
  return cache;
}

/** Metadata names carry no hash; a target's name is `<sha256>.<file>`, which its bytes must match. */
function namedHashMatches(path: string, bytes: Uint8Array): boolean {
  if (path.startsWith('metadata/')) return true;
  const name = path.slice(path.lastIndexOf('/') + 1);
  return sha256Hex(bytes) === name.slice(0, 64);
}

function withHeaders(path: string, bytes: Uint8Array): RepositoryFile {
  return {
    bytes,
    headers: {
      'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'content-length': String(bytes.byteLength),
      'cache-control': path === 'metadata/timestamp.json' ? CACHE_MUTABLE : CACHE_IMMUTABLE,
      'x-content-type-options': 'nosniff',
    },
  };
}
