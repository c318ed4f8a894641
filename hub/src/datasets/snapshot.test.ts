import { datasetHash, splitOf } from '@edgeloop/models/data';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabellingQueue } from '../labeling/queue.js';
import { insertSample, labelSample, openTestHub, type TestHub } from '../labeling/test-support.js';
import { snapshotId, verifyManifest } from './manifest.js';
import { createSnapshot, diffDatasets, exportManifest, getDataset, listDatasets } from './snapshot.js';

describe('dataset snapshots', () => {
  let h: TestHub;
  let clock = 0;
  const now = () => new Date(Date.UTC(2026, 0, 1, 0, 0, clock++));
  beforeEach(async () => {
    h = await openTestHub();
  });
  afterEach(async () => {
    await h.close();
  });
  const deps = () => ({ db: h.database });
  const snap = (name: string, extra: { labels?: string[]; parentId?: string } = {}) =>
    createSnapshot(deps(), { name, actor: 'alice', ...extra }, now);

  /** `n` new labelled samples, labels cycling through `labels`. */
  function labelled(n: number, labels = ['cat', 'dog', 'bird']): string[] {
    // One transaction: each COMMIT is an fsync under synchronous=FULL.
    return h.database.sqlite.transaction(() =>
      Array.from({ length: n }, (_, i) => {
        const id = insertSample(h.database);
        labelSample(h.database, id, labels[i % labels.length]!);
        return id;
      }),
    )();
  }

  it('has the content hash of its (sampleId, label) pairs as id: same content, same snapshot', () => {
    const ids = labelled(30);
    insertSample(h.database); // pending: not in a snapshot
    const skipped = insertSample(h.database, { queueState: 'skipped' });
    expect(skipped).toBeTruthy();
    const a = snap('first');
    expect(a.created).toBe(true);
    expect(a.itemCount).toBe(30);
    expect(a.labels).toEqual(['bird', 'cat', 'dog']);
    const pairs = getDataset(deps(), a.id, { limit: 100, offset: 0 }).items;
    expect(pairs.map((p) => p.sampleId)).toEqual([...ids].sort());
    expect(a.id).toBe(datasetHash({ items: pairs.map((p) => ({ id: p.sampleId, label: p.label, source: '' })) }));
    expect(a.id).toBe(snapshotId([...pairs].reverse()));

    const again = snap('second name, same content');
    expect(again).toMatchObject({ id: a.id, created: false, name: 'first' });
    expect(listDatasets(deps())).toHaveLength(1);
    expect(h.count("SELECT count(*) FROM audit_log WHERE action = 'dataset.snapshot'")).toBe(1);
  });

  it('one relabel gives a new id, and the diff names exactly that sample', () => {
    const ids = labelled(20);
    const a = snap('a');
    const queue = new LabellingQueue({ db: h.database, metrics: h.metrics });
    queue.correct(ids[3]!, 'wolf', 'bob');
    const b = snap('b', { parentId: a.id });
    expect(b.id).not.toBe(a.id);
    expect(b.parentId).toBe(a.id);
    const before = getDataset(deps(), a.id, { limit: 100, offset: 0 }).items.find((i) => i.sampleId === ids[3])!;
    expect(diffDatasets(deps(), a.id, b.id)).toEqual({
      added: [],
      removed: [],
      relabelled: [{ sampleId: ids[3], from: before.label, to: 'wolf' }],
      counts: { added: 0, removed: 0, relabelled: 1 },
    });
    expect(listDatasets(deps()).map((d) => d.id)).toEqual([b.id, a.id]);
  });

  it('keeps every sample in its split as the data grows; the diff lists the new samples as added', () => {
    labelled(200);
    const small = snap('small');
    const grown = labelled(300);
    const big = snap('big');
    const splitOfIn = (id: string) => new Map(getDataset(deps(), id, { limit: 10_000, offset: 0 }).items.map((i) => [i.sampleId, i.split]));
    const before = splitOfIn(small.id);
    const after = splitOfIn(big.id);
    for (const [sampleId, split] of before) {
      expect(after.get(sampleId)).toBe(split);
      expect(split).toBe(splitOf(sampleId));
    }
    const diff = diffDatasets(deps(), small.id, big.id);
    expect(diff.added.map((a) => a.sampleId)).toEqual([...grown].sort());
    expect(diff.removed).toEqual([]);
    expect(diffDatasets(deps(), big.id, small.id).counts).toEqual({ added: 0, removed: 300, relabelled: 0 });
    expect(diffDatasets(deps(), small.id, big.id, { limit: 5 })).toMatchObject({ added: diff.added.slice(0, 5), counts: { added: 300 } });
    // Stats add up, and the splits are roughly 70/10/20.
    const { splits, labels, labelSplits } = big.stats;
    expect(splits.train + splits.validation + splits.test).toBe(500);
    expect(Object.values(labels).reduce((x, y) => x + y, 0)).toBe(500);
    expect(labelSplits.cat!.train + labelSplits.cat!.validation + labelSplits.cat!.test).toBe(labels.cat);
    expect(splits.test / 500).toBeGreaterThan(0.12);
    expect(splits.test / 500).toBeLessThan(0.28);
  });

  it('restricts to a label set, counting what it left out; refuses empty snapshots and unknown parents', () => {
    labelled(12, ['cat', 'dog', 'bird', 'constructor']);
    const s = snap('pets', { labels: ['cat', 'dog', 'fish'] });
    expect(s.labels).toEqual(['cat', 'dog']);
    expect(s.itemCount).toBe(6);
    expect(s.stats.excluded).toBe(6);
    expect(s.stats.excludedLabels).toEqual({ bird: 3, constructor: 3 });
    expect(snap('other', { labels: ['constructor'] }).stats.labels).toEqual({ constructor: 3 });
    expect(() => snap('none', { labels: ['fish'] })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => snap('', {})).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => snap('x', { labels: ['a\nb'] })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => snap('x', { parentId: 'f'.repeat(64) })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => getDataset(deps(), 'f'.repeat(64))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => diffDatasets(deps(), s.id, 'f'.repeat(64))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => getDataset(deps(), s.id, { limit: -1, offset: 0 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('exports a manifest whose hash is its id; a changed manifest fails verification', () => {
    labelled(25);
    const s = snap('export me');
    const manifest = exportManifest(deps(), s.id);
    const roundTripped = JSON.parse(JSON.stringify(manifest));
    expect(verifyManifest(roundTripped)).toEqual(manifest);
    expect(snapshotId(roundTripped.items)).toBe(s.id);
    expect(manifest).toMatchObject({ v: 1, id: s.id, name: 'export me', labels: s.labels, split: { test: 0.2, validation: 0.1 } });
    expect(manifest.items).toHaveLength(25);
    const relabelled = structuredClone(roundTripped);
    relabelled.items[0].label = relabelled.items[0].label === 'cat' ? 'dog' : 'cat';
    expect(() => verifyManifest(relabelled)).toThrow(/hashes to/);
    const moved = structuredClone(roundTripped);
    moved.items[0].split = moved.items[0].split === 'train' ? 'test' : 'train';
    expect(() => verifyManifest(moved)).toThrow(/hash split/);
    expect(() => verifyManifest({ ...roundTripped, labels: ['cat'] })).toThrow(/label set/);
    expect(() => verifyManifest({ id: s.id })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    // Paging walks the same items in the same order.
    const pages = [0, 10, 20].flatMap((offset) => getDataset(deps(), s.id, { limit: 10, offset }).items);
    expect(pages).toEqual(manifest.items);
  });

  it('snapshots and diffs 20,000 items with SQL joins in well under the test timeout', () => {
    const insert = h.database.sqlite.prepare(
      `INSERT INTO samples (id, source, received_at, mime, width, height, byte_length, object_key, queue_state)
       VALUES (?, 'import', '2026-01-01T00:00:00.000Z', 'image/png', 1, 1, 1, 'k', 'labelled')`,
    );
    const label = h.database.sqlite.prepare(
      "INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at) VALUES (?, ?, 'import', 'import', 't', 't')",
    );
    const hex = (n: number) => n.toString(16).padStart(64, '0');
    h.database.sqlite.transaction(() => {
      for (let i = 0; i < 20_000; i++) {
        insert.run(hex(i));
        label.run(hex(i), `c${i % 10}`);
      }
    })();
    let t = performance.now();
    const a = snap('big a');
    const snapMs = performance.now() - t;
    h.database.sqlite.transaction(() => {
      for (let i = 0; i < 100; i++) label.run(hex(i * 7), 'relabelled');
      for (let i = 20_000; i < 20_050; i++) {
        insert.run(hex(i));
        label.run(hex(i), 'c0');
      }
    })();
    const b = snap('big b');
    t = performance.now();
    const diff = diffDatasets(deps(), a.id, b.id);
    const diffMs = performance.now() - t;
    expect(diff.counts).toEqual({ added: 50, removed: 0, relabelled: 100 });
    expect(b.itemCount).toBe(20_050);
    console.info(`snapshot of 20,000 items: ${snapMs.toFixed(0)} ms; diff: ${diffMs.toFixed(0)} ms`);
    expect(diffMs).toBeLessThan(5_000);
  });
});
