/**
 * The SQLite outbox. Every change is one `BEGIN IMMEDIATE … COMMIT` on a `synchronous=FULL` WAL
 * database, so `enqueue` answers `stored` only once the row is on disk, and the persisted
 * counters (evicted, rejected, expired) move in the same transaction as the rows they count.
 */
import { backoffDelay } from './backoff.js';
import { DurableDb, isFull } from './durable-db.js';
import type { EnqueueResult, Outbox, OutboxAlert, OutboxEntry, OutboxItem, OutboxPolicy, OutboxStats, RejectReason } from './outbox.js';
import { dropExpired, makeRoom, OUTBOX_SCHEMA, type OutboxRow } from './outbox-table.js';

export interface SqliteOutboxOptions extends OutboxPolicy {
  /** A shared state database (the sampler uses the same file); or give `path` to own one. */
  db?: DurableDb;
  path?: string;
  /** With `path` only: see {@link DurableDb}. */
  maxPageCount?: number;
}

/** {@link Outbox} on SQLite (better-sqlite3). Starts no timers. */
export class SqliteOutbox implements Outbox {
  private readonly store: DurableDb;
  private readonly ownsDb: boolean;
  private readonly now: () => number;
  private readonly rng: () => number;

  constructor(private readonly options: SqliteOutboxOptions) {
    this.now = options.now ?? Date.now;
    this.rng = options.rng ?? Math.random;
    if (options.db) {
      this.store = options.db;
      this.ownsDb = false;
    } else {
      if (!options.path) throw new TypeError('SqliteOutbox needs `db` or `path`');
      this.store = new DurableDb({
        path: options.path,
        now: this.now,
        maxPageCount: options.maxPageCount,
        onQuarantine: (e) =>
          this.alert({
            code: 'OUTBOX_CORRUPT',
            message: `corrupt database ${e.path} moved to ${e.quarantinedAs} and recreated`,
            quarantinedAs: e.quarantinedAs,
            cause: e.cause,
          }),
      });
      this.ownsDb = true;
    }
    this.store.addSchema(OUTBOX_SCHEMA);
  }

  /** The database, for the sampler state that shares it. */
  get database(): DurableDb {
    return this.store;
  }

  async enqueue(entry: OutboxEntry): Promise<EnqueueResult> {
    const size = entry.bytes.byteLength;
    const priority = Math.trunc(entry.priority ?? 0);
    try {
      const result = this.store.tx((): EnqueueResult | RejectReason => {
        const now = this.now();
        dropExpired(this.store, this.options.ttlMs, now);
        if (this.store.stmt('SELECT 1 FROM outbox WHERE sample_id = ?').get(entry.sampleId)) return 'duplicate';
        const refused: RejectReason | undefined =
          size > this.options.maxBytes ? 'too_large' : makeRoom(this.store, this.options, size, priority) ? undefined : 'over_cap';
        if (refused) {
          this.store.addMeta('outbox_rejected', 1);
          return refused;
        }
        this.store
          .stmt('INSERT INTO outbox (sample_id, priority, enqueued_at, next_attempt_at, size, bytes) VALUES (?, ?, ?, ?, ?, ?)')
          .run(entry.sampleId, priority, now, now, size, Buffer.from(entry.bytes.buffer, entry.bytes.byteOffset, size));
        return 'stored';
      });
      return result === 'stored' || result === 'duplicate' ? result : 'rejected';
    } catch (error) {
      // A full disk or a failing device must not reach the classifier: reject, count, alert.
      const reason: RejectReason = isFull(error) ? 'disk_full' : 'storage_error';
      this.countRejected();
      this.alert({
        code: reason === 'disk_full' ? 'OUTBOX_FULL' : 'OUTBOX_FAILED',
        message: `sample ${entry.sampleId} not stored: ${reason}`,
        reason,
        cause: error,
      });
      return 'rejected';
    }
  }

  async due(limit: number): Promise<OutboxItem[]> {
    const rows = this.store.tx(() => {
      const now = this.now();
      dropExpired(this.store, this.options.ttlMs, now);
      return this.store
        .stmt(
          'SELECT sample_id, priority, enqueued_at, attempts, next_attempt_at, bytes FROM outbox WHERE next_attempt_at <= ? ORDER BY priority DESC, seq ASC LIMIT ?',
        )
        .all(now, Math.max(0, Math.floor(limit))) as OutboxRow[];
    });
    return rows.map((r) => ({
      sampleId: r.sample_id,
      bytes: new Uint8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength),
      priority: r.priority,
      enqueuedAt: r.enqueued_at,
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
    }));
  }

  async markSent(sampleIds: readonly string[]): Promise<void> {
    this.store.tx(() => {
      const now = this.now();
      for (const id of sampleIds) {
        const row = this.store.stmt('SELECT attempts FROM outbox WHERE sample_id = ?').get(id) as { attempts: number } | undefined;
        if (!row) continue; // acknowledged meanwhile
        const attempts = row.attempts + 1;
        const next = now + backoffDelay(attempts, this.options.backoff, this.rng);
        this.store.stmt('UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE sample_id = ?').run(attempts, next, id);
      }
    });
  }

  async ack(sampleIds: readonly string[]): Promise<number> {
    return this.store.tx(() => {
      let deleted = 0;
      for (const id of sampleIds) deleted += this.store.stmt('DELETE FROM outbox WHERE sample_id = ?').run(id).changes;
      return deleted;
    });
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = this.store.guard(() => this.store.stmt('SELECT MIN(next_attempt_at) AS t FROM outbox').get()) as { t: number | null };
    return row.t ?? undefined;
  }

  async stats(): Promise<OutboxStats> {
    return this.store.tx(() => {
      dropExpired(this.store, this.options.ttlMs, this.now());
      const row = this.store.stmt('SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM outbox').get() as {
        count: number;
        bytes: number;
      };
      const meta = (k: string) => this.store.meta(k);
      return {
        count: row.count,
        bytes: row.bytes,
        evicted: meta('outbox_evicted'),
        rejected: meta('outbox_rejected'),
        expired: meta('outbox_expired'),
        quarantined: meta('quarantined'),
      };
    });
  }

  async close(): Promise<void> {
    if (this.ownsDb) this.store.close();
  }

  private countRejected(): void {
    try {
      this.store.tx(() => this.store.addMeta('outbox_rejected', 1));
    } catch {
      // On a full disk even the counter may not fit; the alert already reports the rejection.
    }
  }

  private alert(a: Omit<OutboxAlert, 'at'>): void {
    try {
      this.options.onAlert?.({ ...a, at: this.now() });
    } catch {
      // An alert sink's failure must not turn into an outbox failure.
    }
  }
}
