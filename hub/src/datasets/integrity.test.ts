import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertSample, labelSample, noisePng, openTestHub, sha256, type TestHub } from '../labeling/test-support.js';
import { importDataset } from './import.js';
import { checkDataset } from './integrity.js';
import { createSnapshot } from './snapshot.js';

describe('checkDataset', () => {
  let h: TestHub;
  beforeEach(async () => {
    h = await openTestHub();
    await importDataset({ db: h.database, store: h.store, log: h.log }, { kind: 'mnist', perClass: 2 }, { actor: 'importer' });
  });
  afterEach(async () => {
    await h.close();
  });
  const deps = () => ({ db: h.database, store: h.store });
  const keyOf = (id: string) => `samples/${id.slice(0, 2)}/${id}`;

  it('passes an intact snapshot, reporting progress', async () => {
    const s = createSnapshot({ db: h.database }, { name: 'mnist', actor: 'alice' });
    const progress: number[] = [];
    const report = await checkDataset(deps(), s.id, { onProgress: (done) => progress.push(done) });
    expect(report).toEqual({ ok: true, problems: [] });
    expect(progress.at(-1)).toBe(20);
    await expect(checkDataset(deps(), 'f'.repeat(64))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('detects a tampered blob, a missing blob and an image that does not decode', async () => {
    // A sample whose blob is a truncated PNG: its id is the sha of those bytes, so only decoding finds it.
    const whole = await noisePng(3, 64);
    const truncated = whole.subarray(0, whole.length >> 1);
    const broken = insertSample(h.database, { id: sha256(truncated) });
    await h.store.put(keyOf(broken), truncated);
    labelSample(h.database, broken, '3');
    const s = createSnapshot({ db: h.database }, { name: 'mnist', actor: 'alice' });
    const [tampered, missing] = h.database.sqlite
      .prepare("SELECT id FROM samples WHERE source = 'import' ORDER BY id LIMIT 2")
      .pluck()
      .all() as string[];
    await h.store.put(keyOf(tampered!), await noisePng(1));
    await h.store.delete(keyOf(missing!));

    const report = await checkDataset(deps(), s.id);
    expect(report.ok).toBe(false);
    const reasons = new Map(report.problems.map((p) => [p.sampleId, p.reason]));
    expect(reasons.get(tampered!)).toMatch(/blob sha256 is [0-9a-f]{64}, not the sample id/);
    expect(reasons.get(missing!)).toMatch(/is missing/);
    expect(reasons.get(broken)).toMatch(/does not decode/);
    expect(report.problems).toHaveLength(3);
  });

  it('detects items edited in the database: the hash no longer matches, a label outside the set', async () => {
    const s = createSnapshot({ db: h.database }, { name: 'mnist', actor: 'alice' });
    h.database.sqlite.prepare("UPDATE dataset_items SET label = 'eleven' WHERE rowid = (SELECT min(rowid) FROM dataset_items)").run();
    const report = await checkDataset(deps(), s.id);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.reason)).toEqual([
      expect.stringMatching(/^items hash to [0-9a-f]{64}, not the dataset id$/),
      expect.stringMatching(/label "eleven" is not in the dataset's label set/),
    ]);
    expect(report.problems[0]!.sampleId).toBe('');
  });
});
