/**
 * The spec of an {@link ObjectStore}, as aedes-persistence's `abstract.js` is the spec of an Aedes
 * persistence: every implementation's test file calls {@link objectStoreContract} with a factory,
 * and passes the same suite.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from './object-store.js';

/** A fresh, empty store for one test, and how to dispose of it. */
export type ObjectStoreFactory = () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>;

/**
 * Behaviours of real S3 that an emulator may lack (s3rver 3.7 lacks both). A declared gap makes
 * the matching test check a weaker property instead of being skipped; the full property is then
 * verified against a conformant backend (fs always, MinIO in CI).
 */
export type EmulatorGap =
  /** Listing in UTF-8 byte order of whole keys ("a-z" before "a/b"), not directory-walk order. */
  | 'listing-order'
  /** PUTs and GETs racing on one key each leave or see one whole version, never fail or mix. */
  | 'racing-overwrites';

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys;
}

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Registers the contract suite for the store that `make` creates. */
export function objectStoreContract(name: string, make: ObjectStoreFactory, options: { emulatorGaps?: readonly EmulatorGap[] } = {}): void {
  const gaps = new Set(options.emulatorGaps ?? []);
  describe(`ObjectStore contract: ${name}${gaps.size > 0 ? ` (emulator gaps: ${[...gaps].join(', ')})` : ''}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    // With the 'listing-order' gap, listings are compared as sets. Directory-walk order agrees
    // with byte order only when no character below "/" follows a shared prefix.
    const ordered = async (prefix: string) => {
      const listed = await collect(store.list(prefix));
      return gaps.has('listing-order') ? listed.sort(byteOrder) : listed;
    };

    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('round-trips binary objects of 0 bytes, every byte value, and about 1 MB', async () => {
      const cases: [string, Uint8Array][] = [
        ['empty', new Uint8Array(0)],
        ['all-bytes', Uint8Array.from({ length: 256 }, (_, i) => i)],
        ['big/one-mb', new Uint8Array(randomBytes(1_000_003))],
      ];
      for (const [key, bytes] of cases) await store.put(key, bytes, { contentType: 'application/octet-stream' });
      for (const [key, bytes] of cases) {
        const got = await store.get(key);
        expect(got, key).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(got!).equals(Buffer.from(bytes)), key).toBe(true);
        expect(await store.head(key)).toMatchObject({ size: bytes.byteLength });
      }
    });

    it('answers undefined for a missing object', async () => {
      expect(await store.get('missing/key')).toBeUndefined();
      expect(await store.head('missing/key')).toBeUndefined();
      expect(await collect(store.list('missing/'))).toEqual([]);
    });

    it('replaces an object on overwrite, and readers never see a mix', async () => {
      const first = new Uint8Array(200_000).fill(1);
      const second = new Uint8Array(100_000).fill(2);
      const isWhole = (got: Uint8Array | undefined) =>
        got !== undefined && (Buffer.from(got).equals(Buffer.from(first)) || Buffer.from(got).equals(Buffer.from(second)));
      await store.put('k', first);
      if (gaps.has('racing-overwrites')) {
        // The weaker property: sequential overwrites replace the whole object.
        for (const bytes of [second, first]) await store.put('k', bytes);
      } else {
        const writes = [store.put('k', second), store.put('k', first), store.put('k', second)];
        const reads = Array.from({ length: 6 }, () => store.get('k'));
        await Promise.all(writes);
        for (const got of await Promise.all(reads)) expect(isWhole(got)).toBe(true);
      }
      // Concurrent puts may land in any order; the survivor is one whole version.
      const last = await store.get('k');
      expect(isWhole(last)).toBe(true);
      expect(await store.head('k')).toMatchObject({ size: last!.byteLength });
      await store.put('k', second);
      expect(Buffer.from((await store.get('k'))!).equals(Buffer.from(second))).toBe(true);
      expect(await store.head('k')).toMatchObject({ size: second.byteLength });
    });

    it('names the bytes of an object with a tag that changes when they are replaced', async () => {
      await store.put('t/x', bytesOf('one'));
      const first = await store.head('t/x');
      expect(first?.tag).toEqual(expect.any(String));
      expect((await store.head('t/x'))?.tag).toBe(first?.tag);
      await store.put('t/x', bytesOf('two')); // the same size, other bytes
      const second = await store.head('t/x');
      expect(second?.tag).toEqual(expect.any(String));
      expect(second?.tag).not.toBe(first?.tag);
      await store.delete('t/x');
    });

    it('deletes, and deleting a missing object is not an error', async () => {
      await store.put('d/x', bytesOf('x'));
      await store.delete('d/x');
      expect(await store.get('d/x')).toBeUndefined();
      expect(await store.head('d/x')).toBeUndefined();
      await store.delete('d/x');
      await store.delete('never/was');
      expect(await collect(store.list(''))).toEqual([]);
    });

    it('lists keys recursively in byte order, scoped by a plain string prefix', async () => {
      const keys = ['b', 'a/c/d', 'a-z', 'ab/x', 'a/b', 'a/c/a', 'A', 'a0'];
      await Promise.all(keys.map((key) => store.put(key, bytesOf(key))));
      // Walk order and byte order differ on the first two ("a-z" vs "a/"); the rest hold anyway.
      expect(await ordered('')).toEqual(['A', 'a-z', 'a/b', 'a/c/a', 'a/c/d', 'a0', 'ab/x', 'b']);
      expect(await ordered('a')).toEqual(['a-z', 'a/b', 'a/c/a', 'a/c/d', 'a0', 'ab/x']);
      expect(await collect(store.list('a/'))).toEqual(['a/b', 'a/c/a', 'a/c/d']);
      expect(await collect(store.list('a/c/'))).toEqual(['a/c/a', 'a/c/d']);
      expect(await collect(store.list('ab'))).toEqual(['ab/x']);
      expect(await collect(store.list('a/c/d'))).toEqual(['a/c/d']);
    });

    it('lists more keys than one page of an S3 listing (1000)', async () => {
      const keys = Array.from({ length: 1010 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 100) {
        await Promise.all(keys.slice(i, i + 100).map((key) => store.put(key, new Uint8Array(0))));
      }
      expect(await collect(store.list('many/'))).toEqual(keys);
    });

    it('rejects invalid keys and prefixes with a clear BAD_REQUEST error', async () => {
      const bad = ['../x', '/abs', 'a//b', 'a/./b', 'a/../b', '.', 'a/', '', 'a\\b', 'nul\u0000', 'x'.repeat(1025)];
      for (const key of bad) {
        const expected = { name: 'HubError', code: 'BAD_REQUEST', message: expect.stringContaining('invalid object key') };
        await expect(store.put(key, bytesOf('x')), JSON.stringify(key)).rejects.toMatchObject(expected);
        await expect(store.get(key)).rejects.toMatchObject(expected);
        await expect(store.head(key)).rejects.toMatchObject(expected);
        await expect(store.delete(key)).rejects.toMatchObject(expected);
      }
      for (const prefix of ['../', '/a', 'a//']) {
        await expect(collect(store.list(prefix))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
      expect(await collect(store.list(''))).toEqual([]);
    });

    it('stores concurrent puts to distinct keys', async () => {
      const keys = Array.from({ length: 64 }, (_, i) => `c/${i % 4}/${randomBytes(8).toString('hex')}`);
      await Promise.all(keys.map((key) => store.put(key, bytesOf(key))));
      expect(await ordered('c/')).toEqual([...keys].sort(byteOrder));
      for (const key of keys) expect(new TextDecoder().decode(await store.get(key))).toBe(key);
    });

    it('handles unicode keys', async () => {
      const keys = ['unicode/café', 'unicode/日本語/画像.png', 'unicode/emoji-🙂', 'unicode/space and+plus%'];
      for (const key of keys) await store.put(key, bytesOf(key));
      for (const key of keys) expect(new TextDecoder().decode(await store.get(key))).toBe(key);
      expect(await ordered('unicode/')).toEqual([...keys].sort(byteOrder));
    });

    it('describes itself without credentials', () => {
      expect(store.description).toBeTruthy();
      expect(store.description).not.toMatch(/:[^/@]*@/);
    });
  });
}
