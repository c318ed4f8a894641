/**
 * The browser's outbox: sample frames waiting for the hub's application-level SampleAck, in
 * IndexedDB so they survive reloads and closed tabs. Like the edge agent's outbox, an item leaves
 * only on that ack (BRIEF §4), never on an MQTT PUBACK, which only says the broker got the packet.
 *
 * Keyed by sample id (the sha256 of the image), so a second put of the same image is a no-op. It
 * is bounded: past `maxEntries` or `maxBytes` the oldest non-corrections go first (a person's
 * correction is worth more than any sampled prediction), and every drop is counted.
 */
import { ClientError } from '../errors.js';
import { request, transact } from '../storage/idb.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';

/** An item to store: the encoded sample frame and whether a person made it. */
export interface OutboxEntry {
  sampleId: string;
  bytes: Uint8Array;
  /** A user correction: kept over sampled predictions when the outbox is full. */
  correction?: boolean;
}

/** A stored item. `seq` orders by age; `nextAttemptAt` schedules resends. */
export interface OutboxRecord {
  sampleId: string;
  bytes: Uint8Array;
  correction: boolean;
  seq: number;
  enqueuedAt: number;
  attempts: number;
  nextAttemptAt: number;
}

export interface OutboxStats {
  count: number;
  bytes: number;
  /** Items dropped to stay under the caps, since this browser first ran. */
  dropped: number;
}

export type EnqueueResult = 'stored' | 'duplicate';

export interface OutboxOptions {
  maxEntries: number;
  maxBytes: number;
  backoff?: BackoffOptions;
  now?: () => number;
}

const STATS_KEY = 'outbox.dropped';
const SEQ_KEY = 'outbox.seq';

export class IdbOutbox {
  private readonly now: () => number;
  private readonly backoff: BackoffOptions;
  private listeners: Array<() => void> = [];

  constructor(
    private readonly db: IDBDatabase,
    private readonly options: OutboxOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.backoff = options.backoff ?? { baseMs: 2_000, maxMs: 120_000, jitter: 0.5 };
  }

  /** Called after every change (for the "n waiting to send" counter). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Stores an item, durably; `duplicate` when that sample id is already waiting. */
  async enqueue(entry: OutboxEntry): Promise<EnqueueResult> {
    const now = this.now();
    const result = await transact(this.db, ['outbox', 'kv'], 'readwrite', async (tx) => {
      const store = tx.objectStore('outbox');
      if ((await request(store.count(entry.sampleId))) > 0) return 'duplicate' as const;
      // A persisted counter, not the clock: a clock set back must not reorder the queue.
      const kv = tx.objectStore('kv');
      const seq = (((await request(kv.get(SEQ_KEY))) as number | undefined) ?? 0) + 1;
      kv.put(seq, SEQ_KEY);
      const record: OutboxRecord = {
        sampleId: entry.sampleId,
        bytes: entry.bytes,
        correction: entry.correction === true,
        seq,
        enqueuedAt: now,
        attempts: 0,
        nextAttemptAt: now,
      };
      store.add(record);
      await this.enforceCaps(tx);
      return 'stored' as const;
    });
    this.changed();
    return result;
  }

  /** Up to `limit` items due now: corrections first, then oldest first. */
  async due(limit: number): Promise<OutboxRecord[]> {
    const now = this.now();
    const all = await this.all();
    return all
      .filter((r) => r.nextAttemptAt <= now)
      .sort((a, b) => Number(b.correction) - Number(a.correction) || a.seq - b.seq)
      .slice(0, limit);
  }

  /** Records one more send attempt of each item and schedules its resend with backoff. */
  async markSent(sampleIds: readonly string[]): Promise<void> {
    const now = this.now();
    await transact(this.db, 'outbox', 'readwrite', async (tx) => {
      const store = tx.objectStore('outbox');
      for (const id of sampleIds) {
        const r = (await request(store.get(id))) as OutboxRecord | undefined;
        if (!r) continue;
        const attempts = r.attempts + 1;
        store.put({ ...r, attempts, nextAttemptAt: now + backoffDelay(attempts, this.backoff) });
      }
    });
  }

  /** Makes every item due now (on a fresh connection: resend everything unacked at once). */
  async resetSchedule(): Promise<void> {
    await transact(this.db, 'outbox', 'readwrite', async (tx) => {
      const store = tx.objectStore('outbox');
      for (const r of (await request(store.getAll())) as OutboxRecord[]) store.put({ ...r, nextAttemptAt: 0 });
    });
  }

  /** Deletes the named items after the hub's SampleAck; returns how many were there. */
  async ack(sampleIds: readonly string[]): Promise<number> {
    const n = await transact(this.db, 'outbox', 'readwrite', async (tx) => {
      const store = tx.objectStore('outbox');
      let found = 0;
      for (const id of sampleIds) {
        if ((await request(store.count(id))) === 0) continue;
        store.delete(id);
        found++;
      }
      return found;
    });
    if (n > 0) this.changed();
    return n;
  }

  /** Whether an item is waiting. */
  async has(sampleId: string): Promise<boolean> {
    return (await transact(this.db, 'outbox', 'readonly', (tx) => request(tx.objectStore('outbox').count(sampleId)))) > 0;
  }

  async stats(): Promise<OutboxStats> {
    return transact(this.db, ['outbox', 'kv'], 'readonly', async (tx) => {
      const records = (await request(tx.objectStore('outbox').getAll())) as OutboxRecord[];
      const dropped = ((await request(tx.objectStore('kv').get(STATS_KEY))) as number | undefined) ?? 0;
      return { count: records.length, bytes: records.reduce((s, r) => s + r.bytes.byteLength, 0), dropped };
    });
  }

  private all(): Promise<OutboxRecord[]> {
    return transact(this.db, 'outbox', 'readonly', (tx) => request(tx.objectStore('outbox').getAll()) as Promise<OutboxRecord[]>);
  }

  /** Drops the oldest items, non-corrections first, until both caps hold; counts each drop. */
  private async enforceCaps(tx: IDBTransaction): Promise<void> {
    const store = tx.objectStore('outbox');
    const records = (await request(store.getAll())) as OutboxRecord[];
    let count = records.length;
    let bytes = records.reduce((s, r) => s + r.bytes.byteLength, 0);
    if (count <= this.options.maxEntries && bytes <= this.options.maxBytes) return;
    const victims = records.sort((a, b) => Number(a.correction) - Number(b.correction) || a.seq - b.seq);
    let dropped = 0;
    for (const r of victims) {
      if (count <= this.options.maxEntries && bytes <= this.options.maxBytes) break;
      store.delete(r.sampleId);
      count--;
      bytes -= r.bytes.byteLength;
      dropped++;
    }
    if (count > this.options.maxEntries || bytes > this.options.maxBytes) {
      throw new ClientError('STORAGE_FAILED', 'a single sample is larger than the outbox');
    }
    const kv = tx.objectStore('kv');
    const before = ((await request(kv.get(STATS_KEY))) as number | undefined) ?? 0;
    kv.put(before + dropped, STATS_KEY);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
