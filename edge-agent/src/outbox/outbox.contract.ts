/**
 * The spec of an {@link Outbox}, as aedes-persistence's `abstract.js` is the spec of an Aedes
 * persistence: each implementation's test file calls {@link outboxContract} with a factory and
 * passes the same suite (the SQLite outbox here, the browser's IndexedDB outbox there).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Outbox, OutboxPolicy } from './outbox.js';

/** A fresh, empty outbox with this policy; `reopen` closes it and opens the same storage again. */
export type OutboxFactory = (policy: OutboxPolicy) => Promise<{
  outbox: Outbox;
  reopen(): Promise<Outbox>;
  cleanup(): Promise<void>;
}>;

/** A 64-hex sample id made from a number, so tests read `id(3)`. */
export const id = (n: number): string => n.toString(16).padStart(64, '0');
const frame = (size: number, fill = 7) => new Uint8Array(size).fill(fill);

/** Registers the contract suite for the outbox that `make` creates. */
export function outboxContract(name: string, make: OutboxFactory): void {
  describe(`Outbox contract: ${name}`, () => {
    let t = 0;
    let r = 0;
    let open: Awaited<ReturnType<OutboxFactory>> | undefined;
    const policy = (over: Partial<OutboxPolicy> = {}): OutboxPolicy => ({
      maxBytes: 1_000,
      overflow: 'reject_new',
      ttlMs: 60_000,
      backoff: { baseMs: 100, maxMs: 1_000, jitter: 0.5 },
      now: () => t,
      rng: () => r,
      ...over,
    });
    const start = async (over: Partial<OutboxPolicy> = {}) => {
      t = 1_000;
      r = 0;
      open = await make(policy(over));
      return open.outbox;
    };
    const dueIds = async (o: Outbox, limit = 100) => (await o.due(limit)).map((i) => i.sampleId);
    afterEach(async () => {
      await open?.outbox.close();
      await open?.cleanup();
      open = undefined;
    });

    it('stores an item once and reports the same sample id again as a duplicate', async () => {
      const o = await start();
      expect(await o.enqueue({ sampleId: id(1), bytes: frame(10, 1) })).toBe('stored');
      expect(await o.enqueue({ sampleId: id(1), bytes: frame(20, 2) })).toBe('duplicate');
      const [item] = await o.due(10);
      expect(item).toMatchObject({ sampleId: id(1), priority: 0, attempts: 0, enqueuedAt: 1_000 });
      expect([...(item?.bytes ?? [])]).toEqual([...frame(10, 1)]);
      expect(await o.stats()).toMatchObject({ count: 1, bytes: 10, rejected: 0, evicted: 0, expired: 0 });
    });

    it('hands out higher priorities first and each priority first in, first out', async () => {
      const o = await start();
      const prios = [0, 1, 0, 2, 1, 0, 2];
      for (const [i, p] of prios.entries()) expect(await o.enqueue({ sampleId: id(i), bytes: frame(5), priority: p })).toBe('stored');
      expect(await dueIds(o)).toEqual([id(3), id(6), id(1), id(4), id(0), id(2), id(5)]);
      expect(await dueIds(o, 3)).toEqual([id(3), id(6), id(1)]);
    });

    it('reject_new: fills exactly to the cap, then rejects and counts each refusal', async () => {
      const o = await start({ overflow: 'reject_new', maxBytes: 1_000 });
      for (let i = 0; i < 10; i++) expect(await o.enqueue({ sampleId: id(i), bytes: frame(100) })).toBe('stored');
      expect(await o.enqueue({ sampleId: id(10), bytes: frame(1) })).toBe('rejected');
      expect(await o.enqueue({ sampleId: id(11), bytes: frame(1_001) })).toBe('rejected');
      expect(await o.stats()).toMatchObject({ count: 10, bytes: 1_000, rejected: 2, evicted: 0 });
      expect(await o.ack([id(0)])).toBe(1);
      expect(await o.enqueue({ sampleId: id(10), bytes: frame(100) })).toBe('stored');
      expect(await o.stats()).toMatchObject({ count: 10, bytes: 1_000, rejected: 2 });
    });

    it('evict_oldest: evicts the oldest of the lowest priority, exactly as many as needed', async () => {
      const o = await start({ overflow: 'evict_oldest', maxBytes: 1_000 });
      // ids 0..9, 100 bytes each; even ids priority 0, odd ids priority 1.
      for (let i = 0; i < 10; i++) await o.enqueue({ sampleId: id(i), bytes: frame(100), priority: i % 2 });
      expect(await o.enqueue({ sampleId: id(20), bytes: frame(250), priority: 1 })).toBe('stored');
      // 250 more bytes need 3 × 100 freed: the three oldest of priority 0 (ids 0, 2, 4).
      expect(await o.stats()).toMatchObject({ count: 8, bytes: 950, evicted: 3, rejected: 0 });
      expect(new Set(await dueIds(o))).toEqual(new Set([6, 8, 1, 3, 5, 7, 9, 20].map(id)));
      // A priority-0 newcomer may evict only priority 0: ids 6 and 8 hold 200 bytes, 150 are needed.
      expect(await o.enqueue({ sampleId: id(21), bytes: frame(200), priority: 0 })).toBe('stored');
      expect(await o.stats()).toMatchObject({ count: 7, bytes: 950, evicted: 5 });
      // Priority 0 now holds only id 21 (200 bytes): a 300-byte priority-0 item needs 250 freed,
      // more than it may evict, so it is refused and nothing is evicted.
      expect(await o.enqueue({ sampleId: id(22), bytes: frame(300), priority: 0 })).toBe('rejected');
      expect(await o.stats()).toMatchObject({ count: 7, bytes: 950, evicted: 5, rejected: 1 });
      expect(await dueIds(o)).toEqual([1, 3, 5, 7, 9, 20, 21].map(id));
    });

    it('TTL: an item lives until ttlMs after enqueue, to the millisecond, then counts as expired', async () => {
      const o = await start({ ttlMs: 1_000 });
      await o.enqueue({ sampleId: id(1), bytes: frame(10) }); // at 1000
      t = 1_500;
      await o.enqueue({ sampleId: id(2), bytes: frame(10) }); // at 1500
      t = 1_999;
      expect(await dueIds(o)).toEqual([id(1), id(2)]);
      t = 2_000;
      expect(await dueIds(o)).toEqual([id(2)]);
      expect(await o.stats()).toMatchObject({ count: 1, expired: 1 });
      t = 2_499;
      expect(await o.stats()).toMatchObject({ count: 1, expired: 1 });
      t = 2_500;
      expect(await o.stats()).toMatchObject({ count: 0, bytes: 0, expired: 2 });
      // An expired item does not block a fresh copy of the same sample.
      expect(await o.enqueue({ sampleId: id(1), bytes: frame(10) })).toBe('stored');
    });

    it('ack deletes exactly the named items and ignores unknown ids', async () => {
      const o = await start();
      for (let i = 0; i < 5; i++) await o.enqueue({ sampleId: id(i), bytes: frame(10) });
      expect(await o.ack([id(1), id(3), id(99)])).toBe(2);
      expect(await dueIds(o)).toEqual([id(0), id(2), id(4)]);
      expect(await o.ack([id(1)])).toBe(0);
      expect(await o.stats()).toMatchObject({ count: 3, bytes: 30 });
    });

    it('backoff: each send attempt doubles the delay up to the cap; jitter only shortens it', async () => {
      const o = await start({ backoff: { baseMs: 100, maxMs: 1_000, jitter: 0.5 } });
      await o.enqueue({ sampleId: id(1), bytes: frame(10) });
      const schedule: number[] = [];
      for (let attempt = 1; attempt <= 6; attempt++) {
        await o.markSent([id(1)]);
        const next = (await o.nextDueAt()) as number;
        schedule.push(next - t);
        t = next - 1;
        expect(await dueIds(o)).toEqual([]);
        t = next;
        const [item] = await o.due(1);
        expect(item).toMatchObject({ sampleId: id(1), attempts: attempt, nextAttemptAt: next });
      }
      expect(schedule).toEqual([100, 200, 400, 800, 1_000, 1_000]);
      r = 0.999;
      await o.markSent([id(1)]);
      expect(((await o.nextDueAt()) as number) - t).toBe(Math.round(1_000 * (1 - 0.5 * 0.999)));
      await o.markSent([id(404)]); // unknown ids are ignored
    });

    it('keeps items, attempts and counters across a reopen', async () => {
      const o = await start({ overflow: 'reject_new', maxBytes: 100, ttlMs: 10_000 });
      for (let i = 0; i < 3; i++) await o.enqueue({ sampleId: id(i), bytes: frame(30), priority: i === 2 ? 1 : 0 });
      await o.enqueue({ sampleId: id(9), bytes: frame(30) }); // rejected: over the cap
      await o.markSent([id(0)]);
      const reopened = await open!.reopen();
      open!.outbox = reopened;
      expect(await reopened.stats()).toMatchObject({ count: 3, bytes: 90, rejected: 1 });
      expect(await reopened.enqueue({ sampleId: id(1), bytes: frame(30) })).toBe('duplicate');
      t = 1_100;
      const items = await reopened.due(10);
      expect(items.map((i) => [i.sampleId, i.attempts])).toEqual([
        [id(2), 0],
        [id(0), 1],
        [id(1), 0],
      ]);
    });
  });
}
