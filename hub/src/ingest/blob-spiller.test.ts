import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { createLogger } from '../log.js';
import { createMetrics, type HubMetrics } from '../metrics.js';
import { FsObjectStore } from '../storage/fs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readSampleBlob, sampleObjectKey } from '../storage/sample-blob.js';
import { BlobSpiller, type BlobSpillerOptions } from './blob-spiller.js';
import { createGroupCommit, type SampleRow } from './group-commit.js';
import { closeSqliteWriter } from './sqlite-writer.js';
import { metricValue } from './test-harness.js';

const log = createLogger('silent');
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Distinct bytes for blob `n` (the spiller never looks inside them). */
function blobOf(n: number): Buffer {
  return Buffer.from(`blob ${n} `.repeat(40 + (n % 7)));
}

function rowOf(n: number): SampleRow {
  const staged = blobOf(n);
  const id = createHash('sha256').update(staged).digest('hex');
  return {
    id,
    deviceId: 'dev-a',
    receivedAt: '2026-01-02T03:04:05.000Z',
    capturedAt: '2026-01-02T03:04:04.000Z',
    mime: 'image/png',
    width: 8,
    height: 8,
    byteLength: staged.length,
    objectKey: sampleObjectKey(id),
    modelName: 'digits',
    modelVersion: 1,
    predictedLabel: 'seven',
    confidence: 0.6,
    samplingStrategy: 'margin',
    samplingScore: 0.2,
    inclusionProbability: 0.5,
    audit: false,
    extra: null,
    staged,
  };
}

describe('BlobSpiller', () => {
  let dir: string;
  let database: OpenDatabase;
  let store: FsObjectStore;
  let metrics: HubMetrics;
  const spillers: BlobSpiller[] = [];

  const count = (sql: string) => database.sqlite.prepare(sql).pluck().get() as number;
  const spillerOf = (options: Partial<BlobSpillerOptions> = {}) => {
    const s = new BlobSpiller({ db: database, store, log, metrics, ...options });
    spillers.push(s);
    return s;
  };
  /** Commits rows `from`..`to - 1` with their blobs staged, as ingest does. */
  async function stage(from: number, to: number): Promise<SampleRow[]> {
    const commit = createGroupCommit({
      sqlite: database.sqlite,
      config: { groupCommitMaxItems: 64, groupCommitMaxDelayMs: 1, maxQueuedSamples: 10_000 },
    });
    const rows = Array.from({ length: to - from }, (_, i) => rowOf(from + i));
    await Promise.all(rows.map((r) => commit.enqueue(r)));
    return rows;
  }
  /**
   * Runs `test-spiller-child.ts` with `args` over the staged `rows`, expects it SIGKILLed with every
   * row still staged, and resolves with how many of the rows' blobs reached the store.
   */
  async function killedSpill(rows: SampleRow[], args: string[]): Promise<number> {
    const child = spawnSync(
      process.execPath,
      ['--conditions=@edgeloop/source', '--import', 'tsx', join(repoRoot, 'hub/src/ingest/test-spiller-child.ts'), dir, ...args],
      { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.signal, child.stderr).toBe('SIGKILL');
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(rows.length);
    let inStore = 0;
    for (const r of rows) if (await store.head(sampleObjectKey(r.id))) inStore++;
    return inStore;
  }
  async function expectInStore(rows: SampleRow[]): Promise<void> {
    for (const r of rows) expect(Buffer.from((await store.get(sampleObjectKey(r.id)))!).equals(r.staged!)).toBe(true);
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-spiller-'));
    database = openDatabase(join(dir, 'hub.db'));
    store = await FsObjectStore.open(join(dir, 'objects'));
    metrics = createMetrics({ defaultMetrics: false });
  });
  afterEach(async () => {
    for (const s of spillers.splice(0)) await s.stop();
    await closeSqliteWriter(database.sqlite);
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves staged blobs to the object store and unstages them; readers find the bytes throughout', async () => {
    const rows = await stage(0, 300);
    const spiller = spillerOf({ batchSize: 64, concurrency: 4 });
    expect(spiller.backlog()).toBe(300);
    const db = { db: database, store };
    expect(Buffer.from((await readSampleBlob(db, rows[7]!.id))!).equals(rows[7]!.staged!)).toBe(true);
    // Read every blob over and over while they move: none may be missing at any moment.
    let moving = true;
    const reads = (async () => {
      let misses = 0;
      while (moving) {
        for (const r of rows.slice(0, 80)) if (!(await readSampleBlob(db, r.id))) misses++;
        // A staged hit settles without I/O: let the spiller's I/O callbacks run between rounds.
        await new Promise((r) => setImmediate(r));
      }
      return misses;
    })();
    expect(await spiller.flush()).toBe(300);
    moving = false;
    expect(await reads).toBe(0);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
    expect(spiller.backlog()).toBe(0);
    expect(await metricValue(metrics.stagedBlobs)).toBe(0);
    await expectInStore(rows);
    expect(Buffer.from((await readSampleBlob(db, rows[7]!.id))!).equals(rows[7]!.staged!)).toBe(true);
    expect(await readSampleBlob(db, '0'.repeat(64))).toBeUndefined();
    expect(count('SELECT count(*) FROM samples')).toBe(300); // rows stay
  });

  it('runs in the background once started, and stop() waits for the pass in progress', async () => {
    const spiller = spillerOf({ idleMs: 5 });
    spiller.start();
    const rows = await stage(0, 50);
    const until = Date.now() + 10_000;
    while (spiller.backlog() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await spiller.stop();
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
    await expectInStore(rows);
    // Stopped: newly staged blobs stay staged.
    await stage(50, 52);
    await new Promise((r) => setTimeout(r, 50));
    expect(spiller.backlog()).toBe(2);
  });

  it('leaves the event loop to a burst of ingest while few blobs are staged, then catches up', async () => {
    await stage(0, 30);
    // Busy event loop: 4 ms of work in every turn, as under a flood of samples.
    let spinning = true;
    const spin = () => {
      const end = performance.now() + 4;
      while (performance.now() < end);
      if (spinning) setImmediate(spin);
    };
    const waitFor = async (done: () => boolean) => {
      const until = Date.now() + 10_000;
      while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      spin();
      const patient = spillerOf({ idleMs: 5, deferBelow: 1000 });
      patient.start();
      await new Promise((r) => setTimeout(r, 300));
      expect(patient.backlog()).toBe(30);
      await patient.stop();
      // Past `deferBelow` it moves them even while the loop is busy.
      const pressed = spillerOf({ idleMs: 5, deferBelow: 10 });
      pressed.start();
      await waitFor(() => pressed.backlog() < 10);
      expect(pressed.backlog()).toBeLessThan(10);
      await pressed.stop();
    } finally {
      spinning = false;
    }
    const quiet = spillerOf({ idleMs: 5, deferBelow: 1000 });
    quiet.start();
    await waitFor(() => quiet.backlog() === 0);
    expect(quiet.backlog()).toBe(0);
  });

  it('resumes after a restart where the previous run stopped', async () => {
    const rows = await stage(0, 200);
    expect(await spillerOf().flush(0)).toBe(0); // a deadline already passed: no pass starts
    // Test double: the real store, failing from its 26th put on (the store went away mid-run).
    let puts = 0;
    const DyingStoreTestDouble: ObjectStore = Object.assign(Object.create(store) as FsObjectStore, {
      put: (key: string, bytes: Uint8Array) => (++puts > 25 ? Promise.reject(new Error('EIO')) : store.put(key, bytes)),
      putMany: undefined, // one put per blob
    });
    await expect(spillerOf({ store: DyingStoreTestDouble, batchSize: 25, concurrency: 1 }).flush()).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
    });
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(175);
    // Restart: a new connection and a new spiller pick up the 175 left.
    await closeSqliteWriter(database.sqlite);
    database.close();
    database = openDatabase(join(dir, 'hub.db'));
    const second = spillerOf({ idleMs: 5 });
    expect(second.backlog()).toBe(175);
    second.start();
    expect(await metricValue(metrics.stagedBlobs)).toBe(175);
    const until = Date.now() + 20_000;
    while (second.backlog() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await second.stop();
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
    expect(await metricValue(metrics.stagedBlobs)).toBe(0);
    await expectInStore(rows);
  });

  it('a SIGKILL between a put and the unstaging: the next run puts that blob again, same bytes', async () => {
    const rows = await stage(0, 40);
    // Three blobs are in the store and all 40 are still staged: the kill came before any delete.
    expect(await killedSpill(rows, ['3'])).toBe(3);
    const puts: string[] = [];
    const countingStore: ObjectStore = Object.assign(Object.create(store) as FsObjectStore, {
      put: (key: string, bytes: Uint8Array) => {
        puts.push(key);
        return store.put(key, bytes);
      },
      putMany: undefined, // one put per blob
    });
    expect(await spillerOf({ store: countingStore }).flush()).toBe(40);
    expect(puts).toHaveLength(40);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
    await expectInStore(rows);
  });

  it('keeps the blobs whose put failed staged and moves the others', async () => {
    const rows = await stage(0, 20);
    const refused = new Set(rows.filter((_, i) => i % 5 === 0).map((r) => sampleObjectKey(r.id)));
    // Test double: the real store, refusing some keys.
    const PartlyFailingStoreTestDouble: ObjectStore = Object.assign(Object.create(store) as FsObjectStore, {
      put: (key: string, bytes: Uint8Array) => (refused.has(key) ? Promise.reject(new Error('EIO')) : store.put(key, bytes)),
      putMany: undefined, // one put per blob
    });
    const spiller = spillerOf({ store: PartlyFailingStoreTestDouble, concurrency: 1, batchSize: 100 });
    await expect(spiller.flush()).rejects.toMatchObject({ name: 'HubError', code: 'STORAGE_FAILED' });
    // With one put at a time the pass stops at the first failure (the first row): nothing moved.
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(20);
    const wide = spillerOf({ store: PartlyFailingStoreTestDouble, concurrency: 20, batchSize: 100 });
    await expect(wide.flush()).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(4);
    refused.clear();
    expect(await wide.flush()).toBe(4);
    await expectInStore(rows);
  });

  it('with a store that takes batches, a pass is one putMany; a failed item stays staged, the others move', async () => {
    const rows = await stage(0, 60);
    const refused = new Set(rows.filter((_, i) => i % 7 === 3).map((r) => sampleObjectKey(r.id)));
    const batches: number[] = [];
    // Test double: the real store's putMany, with some items reported failed (and not sent).
    const PartlyFailingBatchStoreTestDouble: ObjectStore = Object.assign(Object.create(store) as FsObjectStore, {
      put: () => Promise.reject(new Error('put must not be used when putMany exists')),
      putMany: async (items: { key: string; bytes: Uint8Array }[]) => {
        batches.push(items.length);
        const sent = items.filter((item) => !refused.has(item.key));
        const results = await store.putMany(sent);
        return items.map((item) => (refused.has(item.key) ? new Error('EIO') : results[sent.indexOf(item)]));
      },
    });
    const spiller = spillerOf({ store: PartlyFailingBatchStoreTestDouble, batchSize: 25 });
    await expect(spiller.flush()).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    // The first pass (25 rows, 4 refused) moved 21 and stopped the flush.
    expect(batches).toEqual([25]);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(60 - 21);
    for (const r of rows.slice(0, 25)) expect((await store.head(sampleObjectKey(r.id))) === undefined).toBe(refused.has(r.objectKey));
    refused.clear();
    expect(await spiller.flush()).toBe(39);
    expect(batches).toEqual([25, 25, 14]);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
    await expectInStore(rows);
  });

  it('a SIGKILL after a batch is stored and before its unstaging: the next run stores it again, same bytes', async () => {
    const rows = await stage(0, 40);
    // One batch of 16 is in the store and all 40 are still staged: the kill came before any delete.
    expect(await killedSpill(rows, ['1', 'batch'])).toBe(16);
    expect(await spillerOf().flush()).toBe(40);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
    await expectInStore(rows);
  });
});
