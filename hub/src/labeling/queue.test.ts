import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabellingQueue } from './queue.js';
import { insertSample, openTestHub, type TestHub } from './test-support.js';

const T0 = '2026-03-01T10:00:00.000Z';
const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;

describe('LabellingQueue', () => {
  let h: TestHub;
  let queue: LabellingQueue;
  beforeEach(async () => {
    h = await openTestHub();
    queue = new LabellingQueue({ db: h.database, metrics: h.metrics, now: () => new Date(T0) });
  });
  afterEach(async () => {
    await h.close();
  });

  const gauge = async () => (await h.metrics.labellingQueueDepth.get()).values[0]?.value;

  it('orders pending samples by uncertainty (else 1 - device confidence), NULLs last, then time and id', () => {
    const ids = {
      pre90: insertSample(h.database, { uncertainty: 0.9, confidence: 0.99, receivedAt: at(5) }),
      dev80: insertSample(h.database, { confidence: 0.2, receivedAt: at(1) }), // 1 - 0.2 = 0.8
      pre50late: insertSample(h.database, { uncertainty: 0.5, receivedAt: at(9) }),
      pre50early: insertSample(h.database, { uncertainty: 0.5, receivedAt: at(2) }),
      dev10: insertSample(h.database, { confidence: 0.9, receivedAt: at(0) }),
      none: insertSample(h.database, { confidence: null, predictedLabel: null, receivedAt: at(0) }),
    };
    insertSample(h.database, { uncertainty: 1, queueState: 'labelled' });
    insertSample(h.database, { uncertainty: 1, queueState: 'skipped' });
    const { items, nextCursor } = queue.next({ limit: 50 });
    expect(nextCursor).toBeUndefined();
    expect(items.map((i) => i.sampleId)).toEqual([ids.pre90, ids.dev80, ids.pre50early, ids.pre50late, ids.dev10, ids.none]);
    expect(items[1]).toMatchObject({ deviceId: 'dev-a', predictedLabel: 'cat', confidence: 0.2, preLabel: null, receivedAt: at(1) });
    expect(items[1]!.uncertainty).toBeCloseTo(0.8, 12);
    expect(items[5]!.uncertainty).toBeNull();
    expect(queue.depth()).toBe(6);
  });

  it('pages with a stable cursor: no repeats, no gaps, even when earlier samples are labelled meanwhile', () => {
    // Ties on purpose: 30 samples over 4 scores and 3 timestamps, plus unscored ones.
    for (let i = 0; i < 30; i++) {
      insertSample(h.database, {
        uncertainty: i % 5 === 4 ? null : (i % 4) / 4,
        confidence: i % 5 === 4 ? null : 0.5,
        receivedAt: at(i % 3),
      });
    }
    const all = queue.next({ limit: 500 }).items.map((i) => i.sampleId);
    expect(all).toHaveLength(30);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = queue.next({ limit: 4, cursor });
      seen.push(...page.items.map((i) => i.sampleId));
      // Someone labels the first sample of each page while we page: later pages are unaffected.
      if (page.items[0]) queue.correct(page.items[0].sampleId, 'dog', 'someone-else');
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(8);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(30);
  });

  it('rejects bad paging arguments with BAD_REQUEST', () => {
    expect(() => queue.next({ limit: 0 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => queue.next({ limit: 501 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => queue.next({ limit: 1.5 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    for (const cursor of [
      '!!',
      'bm90IGpzb24',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('["x","t","i"]').toString('base64url'),
    ]) {
      expect(() => queue.next({ limit: 5, cursor }), cursor).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });

  it('accept takes the pre-annotation, else the device prediction, and records who and when', async () => {
    const withPre = insertSample(h.database, { preLabel: 'dog', predictedLabel: 'cat' });
    const deviceOnly = insertSample(h.database, { predictedLabel: 'cat' });
    expect(await gauge()).toBe(2);
    expect(queue.accept(withPre, 'alice')).toEqual({
      sampleId: withPre,
      label: 'dog',
      source: 'pre-annotation',
      action: 'accept',
      labelledBy: 'alice',
      labelledAt: T0,
    });
    expect(queue.accept(deviceOnly, 'bob')).toMatchObject({ label: 'cat', labelledBy: 'bob' });
    const rows = h.database.sqlite
      .prepare('SELECT sample_id, label, source, action, labelled_by, labelled_at FROM labels ORDER BY id')
      .all();
    expect(rows).toEqual([
      { sample_id: withPre, label: 'dog', source: 'pre-annotation', action: 'accept', labelled_by: 'alice', labelled_at: T0 },
      { sample_id: deviceOnly, label: 'cat', source: 'pre-annotation', action: 'accept', labelled_by: 'bob', labelled_at: T0 },
    ]);
    expect(h.count("SELECT count(*) FROM samples WHERE queue_state = 'labelled'")).toBe(2);
    const audit = h.database.sqlite.prepare('SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id').all();
    expect(audit).toEqual([
      {
        at: T0,
        actor: 'alice',
        action: 'label.accept',
        subject: withPre,
        detail: JSON.stringify({ label: 'dog', source: 'pre-annotation', from: 'pending' }),
      },
      {
        at: T0,
        actor: 'bob',
        action: 'label.accept',
        subject: deviceOnly,
        detail: JSON.stringify({ label: 'cat', source: 'pre-annotation', from: 'pending' }),
      },
    ]);
    expect(queue.next({ limit: 10 }).items).toEqual([]);
    expect(await gauge()).toBe(0);
  });

  it('accept: CONFLICT unless pending, BAD_REQUEST without a proposal, NOT_FOUND for an unknown sample; nothing written', () => {
    const labelled = insertSample(h.database, { queueState: 'labelled' });
    const skipped = insertSample(h.database, { queueState: 'skipped' });
    const bare = insertSample(h.database, { predictedLabel: null, confidence: null });
    expect(() => queue.accept(labelled, 'alice')).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => queue.accept(skipped, 'alice')).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => queue.accept(bare, 'alice')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => queue.accept('f'.repeat(64), 'alice')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => queue.accept(bare, '')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(h.count('SELECT count(*) FROM labels')).toBe(0);
    expect(h.count('SELECT count(*) FROM audit_log')).toBe(0);
  });

  it('tells onLabelled after each committed label, and not after a refused one or a skip', () => {
    let told = 0;
    const q = new LabellingQueue({ db: h.database, metrics: h.metrics, now: () => new Date(T0), onLabelled: () => told++ });
    const a = insertSample(h.database, { predictedLabel: 'cat' });
    const b = insertSample(h.database, { predictedLabel: 'cat' });
    q.accept(a, 'alice');
    q.correct(a, 'dog', 'alice');
    expect(told).toBe(2);
    expect(() => q.accept(a, 'alice')).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => q.correct(a, '', 'alice')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    q.skip(b, 'alice');
    expect(told).toBe(2);
  });

  it('correct labels by hand, validates the label, and relabels: a new row, the newest wins', () => {
    const id = insertSample(h.database, { predictedLabel: 'cat' });
    expect(queue.correct(id, 'dog', 'alice')).toMatchObject({ label: 'dog', source: 'human', action: 'correct', labelledBy: 'alice' });
    expect(queue.correct(id, 'wolf', 'bob')).toMatchObject({ label: 'wolf', labelledBy: 'bob' });
    const newest = h.database.sqlite.prepare('SELECT label FROM labels WHERE sample_id = ? ORDER BY id DESC LIMIT 1').pluck().get(id);
    expect(newest).toBe('wolf');
    expect(h.count('SELECT count(*) FROM labels WHERE sample_id = ?', id)).toBe(2);
    expect(h.count("SELECT count(*) FROM audit_log WHERE action = 'label.correct'")).toBe(2);
    for (const bad of ['', 'a\nb', '__proto__', 'x'.repeat(129)]) {
      expect(() => queue.correct(id, bad, 'alice'), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
    expect(() => queue.correct('0'.repeat(64), 'dog', 'alice')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('skip takes a sample out of the queue and records who; a skipped sample can still be labelled', async () => {
    const id = insertSample(h.database);
    const other = insertSample(h.database);
    queue.skip(id, 'carol');
    expect(queue.next({ limit: 10 }).items.map((i) => i.sampleId)).toEqual([other]);
    expect(h.database.sqlite.prepare('SELECT queue_state FROM samples WHERE id = ?').pluck().get(id)).toBe('skipped');
    expect(h.database.sqlite.prepare('SELECT at, actor, action, subject FROM audit_log').all()).toEqual([
      { at: T0, actor: 'carol', action: 'label.skip', subject: id },
    ]);
    expect(await gauge()).toBe(1);
    expect(() => queue.skip(id, 'carol')).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => queue.accept(id, 'carol')).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(queue.correct(id, 'dog', 'dave')).toMatchObject({ label: 'dog' });
    expect(h.database.sqlite.prepare('SELECT queue_state FROM samples WHERE id = ?').pluck().get(id)).toBe('labelled');
    expect(() => queue.skip(id, 'carol')).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => queue.skip('1'.repeat(64), 'carol')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
