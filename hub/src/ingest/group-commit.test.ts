import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { HubError } from '../errors.js';
import { createMetrics, type HubMetrics } from '../metrics.js';
import { createGroupCommit, type SampleRow } from './group-commit.js';
import { closeSqliteWriter } from './sqlite-writer.js';

function row(n: number, annotation?: SampleRow['annotation']): SampleRow {
  const id = n.toString(16).padStart(64, '0');
  return {
    id,
    deviceId: 'dev-a',
    receivedAt: '2026-01-02T03:04:05.000Z',
    capturedAt: '2026-01-02T03:04:04.000Z',
    mime: 'image/png',
    width: 8,
    height: 8,
    byteLength: 100,
    objectKey: `samples/${id.slice(0, 2)}/${id}`,
    modelName: 'digits',
    modelVersion: 1,
    predictedLabel: 'seven',
    confidence: 0.6,
    samplingStrategy: 'margin',
    samplingScore: 0.2,
    inclusionProbability: 0.5,
    audit: true,
    extra: { probabilities: [0.6, 0.4] },
    ...(annotation ? { annotation } : {}),
  };
}

describe('group commit', () => {
  let dir: string;
  let database: OpenDatabase;
  let reader: Database.Database;
  let metrics: HubMetrics;
  const count = (sql: string) => (reader.prepare(sql).pluck().get() as number) ?? 0;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-group-commit-'));
    database = openDatabase(join(dir, 'hub.db'));
    // A second connection sees only what has been COMMITted.
    reader = new Database(join(dir, 'hub.db'), { readonly: true });
    metrics = createMetrics({ defaultMetrics: false });
  });
  afterEach(async () => {
    await closeSqliteWriter(database.sqlite);
    reader.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = { groupCommitMaxItems: 16, groupCommitMaxDelayMs: 5, maxQueuedSamples: 1000 };

  it('commits concurrent rows in groups of at most maxItems, resolving each after its COMMIT', async () => {
    const commit = createGroupCommit({ sqlite: database.sqlite, config, metrics });
    const seenAtResolve: number[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        commit.enqueue(row(i + 1)).then((o) => {
          seenAtResolve.push(
            reader
              .prepare('SELECT count(*) FROM samples WHERE id = ?')
              .pluck()
              .get(row(i + 1).id) as number,
          );
          return o;
        }),
      ),
    );
    expect(outcomes).toEqual(Array(50).fill('inserted'));
    expect(seenAtResolve).toEqual(Array(50).fill(1));
    const batches = (await metrics.commitBatch.get()).values;
    expect(batches.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(4); // 16 + 16 + 16 + 2
    expect(batches.find((v) => v.metricName?.endsWith('_sum'))?.value).toBe(50);
    const stored = reader.prepare('SELECT audit, extra, queue_state FROM samples WHERE id = ?').get(row(1).id);
    expect(stored).toEqual({ audit: 1, extra: '{"probabilities":[0.6,0.4]}', queue_state: 'pending' });
  });

  it('stores a duplicate once, within one group and across groups', async () => {
    const commit = createGroupCommit({ sqlite: database.sqlite, config, metrics });
    const annotation = { label: 'seven', labelledBy: 'device:dev-a' };
    expect(await Promise.all([commit.enqueue(row(7, annotation)), commit.enqueue(row(7, annotation))])).toEqual(['inserted', 'duplicate']);
    expect(await commit.enqueue(row(7, annotation))).toBe('duplicate');
    expect(count('SELECT count(*) FROM samples')).toBe(1);
    // The annotation is written with the row it belongs to, once.
    expect(reader.prepare('SELECT label, source, action, labelled_by FROM labels').all()).toEqual([
      { label: 'seven', source: 'device-user', action: 'annotate', labelled_by: 'device:dev-a' },
    ]);
  });

  it('rejects every row of a failed group and writes none of them', async () => {
    const commit = createGroupCommit({ sqlite: database.sqlite, config, metrics });
    const broken = { ...row(2), mime: null as unknown as string }; // NOT NULL violation
    const results = await Promise.allSettled([commit.enqueue(row(1)), commit.enqueue(broken), commit.enqueue(row(3))]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ name: 'HubError', code: 'DATABASE_FAILED' });
    }
    expect(count('SELECT count(*) FROM samples')).toBe(0);
    // The writer recovers: the next group commits.
    expect(await commit.enqueue(row(1))).toBe('inserted');
  });

  it('commits a staged blob with its row, atomically: a failed group leaves neither', async () => {
    const commit = createGroupCommit({ sqlite: database.sqlite, config, metrics });
    const staged = (n: number) => ({ ...row(n), staged: Buffer.from(`bytes of ${n}`) });
    const broken = { ...staged(2), mime: null as unknown as string }; // NOT NULL violation
    const results = await Promise.allSettled([commit.enqueue(staged(1)), commit.enqueue(broken), commit.enqueue(staged(3))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(count('SELECT count(*) FROM samples')).toBe(0);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
    // A blob that cannot be staged (here: one staged already under that id) fails its group too.
    database.sqlite.pragma('foreign_keys = OFF');
    database.sqlite.prepare("INSERT INTO sample_blobs (sample_id, bytes, staged_at) VALUES (?, x'00', 'x')").run(row(4).id);
    database.sqlite.pragma('foreign_keys = ON');
    await expect(Promise.all([commit.enqueue(staged(4)), commit.enqueue(staged(5))])).rejects.toMatchObject({ code: 'DATABASE_FAILED' });
    expect(count('SELECT count(*) FROM samples')).toBe(0);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(1);
    // Committed: row and bytes together, visible to another connection when the promise resolves.
    const seen = await commit
      .enqueue(staged(6))
      .then(() => [
        count(`SELECT count(*) FROM samples WHERE id = '${row(6).id}'`),
        (reader.prepare('SELECT bytes FROM sample_blobs WHERE sample_id = ?').pluck().get(row(6).id) as Buffer).toString(),
      ]);
    expect(seen).toEqual([1, 'bytes of 6']);
    // A duplicate row stages nothing.
    expect(await commit.enqueue(staged(6))).toBe('duplicate');
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(2);
  });

  it('refuses rows beyond maxQueuedSamples with OVERLOADED', async () => {
    const commit = createGroupCommit({ sqlite: database.sqlite, config: { ...config, maxQueuedSamples: 2 }, metrics });
    const first = [commit.enqueue(row(1)), commit.enqueue(row(2))];
    const third = commit.enqueue(row(3));
    await expect(third).rejects.toBeInstanceOf(HubError);
    await expect(third).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(await Promise.all(first)).toEqual(['inserted', 'inserted']);
  });

  it('drain commits the open group at once instead of after its delay', async () => {
    const commit = createGroupCommit({ sqlite: database.sqlite, config: { ...config, groupCommitMaxDelayMs: 60_000 }, metrics });
    const pending = commit.enqueue(row(1));
    expect(commit.queued).toBe(1);
    await commit.drain();
    expect(commit.queued).toBe(0);
    expect(count('SELECT count(*) FROM samples')).toBe(1);
    expect(await pending).toBe('inserted');
  });
});
