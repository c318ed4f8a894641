/** The outbox table and the two policies that delete from it besides acks: TTL and eviction. */
import type { DurableDb } from './durable-db.js';
import type { OutboxPolicy } from './outbox.js';

/**
 * One row per sample id (UNIQUE: the dedupe), `seq` for first in, first out within a priority (the
 * injected clock may repeat or go back; AUTOINCREMENT never reuses a number).
 */
export const OUTBOX_SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sample_id TEXT NOT NULL UNIQUE,
  priority INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  bytes BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, seq, size);
CREATE INDEX IF NOT EXISTS outbox_age ON outbox (enqueued_at);
CREATE INDEX IF NOT EXISTS outbox_next ON outbox (next_attempt_at);
`;

export interface OutboxRow {
  sample_id: string;
  priority: number;
  enqueued_at: number;
  attempts: number;
  next_attempt_at: number;
  bytes: Buffer;
}

/** Drops items whose TTL ran out (expired when `now − enqueuedAt ≥ ttlMs`) and counts them. Call inside a transaction. */
export function dropExpired(store: DurableDb, ttlMs: number, now: number): void {
  const { changes } = store.stmt('DELETE FROM outbox WHERE enqueued_at <= ?').run(now - ttlMs);
  store.addMeta('outbox_expired', changes);
}

/**
 * Frees room for `size` more bytes under the overflow policy, or says there is none. Eviction
 * takes the oldest item of the lowest priority first, but never one of higher priority than the
 * newcomer: a burst of low-priority samples must not push out the valuable ones. Call inside a
 * transaction, so that a refusal evicts nothing.
 */
export function makeRoom(store: DurableDb, policy: Pick<OutboxPolicy, 'maxBytes' | 'overflow'>, size: number, priority: number): boolean {
  const used = (store.stmt('SELECT COALESCE(SUM(size), 0) AS b FROM outbox').get() as { b: number }).b;
  let excess = used + size - policy.maxBytes;
  if (excess <= 0) return true;
  if (policy.overflow === 'reject_new') return false;
  const victims: number[] = [];
  const candidates = store.stmt('SELECT seq, size FROM outbox WHERE priority <= ? ORDER BY priority ASC, seq ASC').iterate(priority);
  for (const v of candidates as Iterable<{ seq: number; size: number }>) {
    victims.push(v.seq);
    excess -= v.size;
    if (excess <= 0) break;
  }
  if (excess > 0) return false;
  for (const seq of victims) store.stmt('DELETE FROM outbox WHERE seq = ?').run(seq);
  store.addMeta('outbox_evicted', victims.length);
  return true;
}
