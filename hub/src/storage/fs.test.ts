import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from './fs.js';
import { objectStoreContract } from './object-store.contract.js';
import { openObjectStore } from './open-object-store.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

objectStoreContract('fs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-fs-store-'));
  return {
    store: await openObjectStore(pathToFileURL(join(dir, 'objects')).href),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys;
}

/** Every file name below `dir`, relative, temp files included. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

describe('FsObjectStore specifics', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeloop-fs-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no temporary file behind after puts, and lays keys out as paths', async () => {
    const store = await FsObjectStore.open(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`p/${i}`, new Uint8Array([i]))));
    await store.put('p/0', new Uint8Array([9]));
    const names = await filesUnder(dir);
    expect(names.sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
    expect(names.some((n) => n.endsWith('.tmp'))).toBe(false);
  });

  it('hides a temporary file left by an interrupted put, and refuses keys shaped like one', async () => {
    const store = await FsObjectStore.open(dir);
    await store.put('t/real', new Uint8Array([1]));
    await writeFile(join(dir, 't', '.0123456789abcdef.tmp'), 'partial');
    expect(await collect(store.list(''))).toEqual(['t/real']);
    await expect(store.put('t/.0123456789abcdef.tmp', new Uint8Array(1))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('a put killed (SIGKILL) after writing its temp file but before the rename leaves no object', async () => {
    // The child stops inside the one window an interrupted put can leave behind: the temp file is
    // complete and fsynced, the rename has not happened.
    const child = join(dir, 'interrupted-put.mts');
    await writeFile(
      child,
      `import { FsObjectStore } from ${JSON.stringify(pathToFileURL(join(here, 'fs.ts')).href)};
class Stopping extends FsObjectStore {
  async beforeRename(temp) { process.stdout.write('ready ' + temp + '\\n'); await new Promise(() => setInterval(() => {}, 1000)); }
}
const store = new Stopping(process.argv[2]);
await store.put('keep/old', new Uint8Array([1, 2, 3])).catch(() => {});
`,
    );
    const root = join(dir, 'objects');
    const seed = await FsObjectStore.open(root);
    await seed.put('keep/other', new Uint8Array([7]));
    const proc = spawn(process.execPath, ['--import', 'tsx', child, root], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const temp = await new Promise<string>((ok, fail) => {
      let out = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /ready (\S+)\n/.exec(out);
        if (match?.[1]) ok(match[1]);
      });
      proc.on('exit', (code) => fail(new Error(`child exited early with ${code}`)));
    });
    proc.kill('SIGKILL');
    await new Promise((ok) => proc.once('exit', ok));

    expect((await filesUnder(root)).sort()).toEqual([temp.slice(temp.lastIndexOf('/') + 1), 'other'].sort());
    const reopened = await FsObjectStore.open(root);
    expect(await reopened.get('keep/old')).toBeUndefined();
    expect(await reopened.head('keep/old')).toBeUndefined();
    expect(await collect(reopened.list(''))).toEqual(['keep/other']);
    await reopened.put('keep/old', new Uint8Array([4]));
    expect(Array.from((await reopened.get('keep/old'))!)).toEqual([4]);
  });

  it('reports a key that is both an object and a directory as STORAGE_FAILED', async () => {
    const store = await FsObjectStore.open(dir);
    await store.put('a', new Uint8Array([1]));
    await expect(store.put('a/b', new Uint8Array([2]))).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect(await store.get('a/b')).toBeUndefined();
    expect(await filesUnder(dir)).toEqual(['a']);
  });

  it('putMany stores a batch across directories, replaces objects, and leaves no temporary file', async () => {
    const store = await FsObjectStore.open(dir);
    try {
      await store.put('m/07/old', new Uint8Array([1]));
      const items = Array.from({ length: 300 }, (_, i) => ({
        key: `m/${String(i % 17).padStart(2, '0')}/${i}`,
        bytes: Uint8Array.from({ length: 1 + (i % 50) * 100 }, (_, j) => (i + j) & 0xff),
      }));
      items.push({ key: 'm/07/old', bytes: new Uint8Array([2, 2]) });
      expect(await store.putMany(items)).toEqual(items.map(() => undefined));
      for (const item of items) expect(Buffer.from((await store.get(item.key))!).equals(Buffer.from(item.bytes))).toBe(true);
      expect((await collect(store.list('m/'))).length).toBe(301);
      expect((await filesUnder(dir)).some((n) => n.endsWith('.tmp'))).toBe(false);
      // A second batch reuses the thread and the directories it already made sure of.
      expect(await store.putMany([{ key: 'm/00/again', bytes: new Uint8Array([3]) }])).toEqual([undefined]);
      expect(Array.from((await store.get('m/00/again'))!)).toEqual([3]);
    } finally {
      await store.close();
    }
  });

  it('putMany reports each bad item (invalid key, a file where a directory should be) and stores the rest', async () => {
    const store = await FsObjectStore.open(dir);
    try {
      await store.put('blocker', new Uint8Array([1]));
      const results = await store.putMany([
        { key: 'ok/1', bytes: new Uint8Array([1]) },
        { key: '../escape', bytes: new Uint8Array([2]) },
        { key: 'blocker/inside', bytes: new Uint8Array([3]) },
        { key: 'ok/.0123456789abcdef.tmp', bytes: new Uint8Array([4]) },
        { key: 'ok/2', bytes: new Uint8Array([5]) },
      ]);
      expect(results.map((r) => (r as { code?: string } | undefined)?.code)).toEqual([
        undefined,
        'BAD_REQUEST',
        'STORAGE_FAILED',
        'BAD_REQUEST',
        undefined,
      ]);
      expect(String(results[2]!.message)).toContain('blocker/inside');
      expect(Array.from((await store.get('ok/1'))!)).toEqual([1]);
      expect(Array.from((await store.get('ok/2'))!)).toEqual([5]);
      expect((await filesUnder(dir)).sort()).toEqual(['1', '2', 'blocker']);
      // A directory removed behind the store's back is made again by a later batch.
      await rm(join(dir, 'ok'), { recursive: true });
      expect(await store.putMany([{ key: 'ok/3', bytes: new Uint8Array([6]) }])).toEqual([undefined]);
      expect(Array.from((await store.get('ok/3'))!)).toEqual([6]);
    } finally {
      await store.close();
    }
  });

  it('opens file:// URLs, absolute and relative to the cwd', async () => {
    const abs = await openObjectStore(pathToFileURL(join(dir, 'x y')).href);
    expect((abs as FsObjectStore).root).toBe(join(dir, 'x y'));
    expect(abs.description).toBe(pathToFileURL(join(dir, 'x y')).href);
    const rel = (await openObjectStore(`file://./${relative(process.cwd(), join(dir, 'rel'))}`)) as FsObjectStore;
    expect(rel.root).toBe(join(dir, 'rel'));
    await rel.put('k', new Uint8Array([1]));
    expect(await filesUnder(join(dir, 'rel'))).toEqual(['k']);
  });
});
