/** The hub's in-memory copy of repository files: what it keeps, what it revalidates, what it refuses to pin. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../storage/fs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sha256Hex as sha } from './metadata.js';
import { RepositoryCache, serveRepositoryFile, TUF_PREFIX } from './serve.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

describe('repository file cache', () => {
  let dir: string;
  let fs: FsObjectStore;
  let store: ObjectStore;
  let reads: string[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeloop-serve-'));
    fs = await FsObjectStore.open(dir);
    reads = [];
    // The real store, with its reads counted.
    store = {
      put: (k, b) => fs.put(k, b),
      get: (k) => {
        reads.push(`get ${k}`);
        return fs.get(k);
      },
      head: (k) => {
        reads.push(`head ${k}`);
        return fs.head(k);
      },
      delete: (k) => fs.delete(k),
      list: (p) => fs.list(p),
      description: fs.description,
      close: () => fs.close(),
    };
  });
  afterEach(async () => {
    await fs.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a target or versioned metadata from the store once, then serves it from memory', async () => {
    const model = bytes('model bytes');
    const target = `targets/digits/2/${sha(model)}.model.onnx`;
    await store.put(`${TUF_PREFIX}${target}`, model);
    await store.put(`${TUF_PREFIX}metadata/3.snapshot.json`, bytes('{"snapshot":3}'));
    for (let i = 0; i < 3; i++) {
      expect(text((await serveRepositoryFile(store, TUF_PREFIX, target))?.bytes)).toBe('model bytes');
      expect(text((await serveRepositoryFile(store, TUF_PREFIX, 'metadata/3.snapshot.json'))?.bytes)).toBe('{"snapshot":3}');
    }
    expect(reads).toEqual([`get ${TUF_PREFIX}${target}`, `get ${TUF_PREFIX}metadata/3.snapshot.json`]);
  });

  it('never pins a target whose bytes do not hash to its name: it is read (and served as it is) every time', async () => {
    const good = bytes('the signed model');
    const target = `targets/digits/2/${sha(good)}.model.onnx`;
    await store.put(`${TUF_PREFIX}${target}`, bytes('a damaged model'));
    for (let i = 0; i < 2; i++) expect(text((await serveRepositoryFile(store, TUF_PREFIX, target))?.bytes)).toBe('a damaged model');
    expect(reads.filter((r) => r.startsWith('get'))).toHaveLength(2);
    await store.put(`${TUF_PREFIX}${target}`, good); // repaired: now it is kept
    for (let i = 0; i < 2; i++) expect(text((await serveRepositoryFile(store, TUF_PREFIX, target))?.bytes)).toBe('the signed model');
    expect(reads.filter((r) => r.startsWith('get'))).toHaveLength(3);
  });

  it('revalidates timestamp.json with one head per request and serves a new one at once', async () => {
    const key = `${TUF_PREFIX}metadata/timestamp.json`;
    await store.put(key, bytes('{"timestamp":1}'));
    for (let i = 0; i < 3; i++)
      expect(text((await serveRepositoryFile(store, TUF_PREFIX, 'metadata/timestamp.json'))?.bytes)).toBe('{"timestamp":1}');
    expect(reads).toEqual([`head ${key}`, `get ${key}`, `head ${key}`, `head ${key}`]);
    await store.put(key, bytes('{"timestamp":2}')); // the same length, other bytes
    expect(text((await serveRepositoryFile(store, TUF_PREFIX, 'metadata/timestamp.json'))?.bytes)).toBe('{"timestamp":2}');
  });

  it('does not remember that a file is missing: a root published later is served', async () => {
    expect(await serveRepositoryFile(store, TUF_PREFIX, 'metadata/2.root.json')).toBeUndefined();
    await store.put(`${TUF_PREFIX}metadata/2.root.json`, bytes('{"root":2}'));
    expect(text((await serveRepositoryFile(store, TUF_PREFIX, 'metadata/2.root.json'))?.bytes)).toBe('{"root":2}');
    expect(await serveRepositoryFile(store, TUF_PREFIX, 'metadata/../secrets.json')).toBeUndefined();
  });

  it('holds at most its byte budget, dropping the least recently served first, and skips files over the per-file cap', async () => {
    const cache = new RepositoryCache(store, 100, 60);
    const put = async (n: number, size: number) => {
      await store.put(`m/${n}.targets.json`, new Uint8Array(size).fill(n));
      return cache.read(`m/${n}.targets.json`, `metadata/${n}.targets.json`);
    };
    await put(1, 40);
    await put(2, 40);
    await cache.read('m/1.targets.json', 'metadata/1.targets.json'); // 1 is now the most recent
    await put(3, 40); // over 100: 2 goes
    expect(cache.heldBytes).toBe(80);
    reads = [];
    await cache.read('m/1.targets.json', 'metadata/1.targets.json');
    await cache.read('m/3.targets.json', 'metadata/3.targets.json');
    expect(reads).toEqual([]);
    await cache.read('m/2.targets.json', 'metadata/2.targets.json');
    expect(reads).toEqual(['get m/2.targets.json']);
    await put(4, 70); // over the per-file cap: served, not kept
    expect(cache.heldBytes).toBeLessThanOrEqual(100);
    reads = [];
    await cache.read('m/4.targets.json', 'metadata/4.targets.json');
    expect(reads).toEqual(['get m/4.targets.json']);
  });
});
