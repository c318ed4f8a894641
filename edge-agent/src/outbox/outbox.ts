/**
 * The agent's outbox: sample frames waiting for the hub's application-level SampleAck. The edge
 * deletes a sample only on that ack (BRIEF §4), never on an MQTT PUBACK, which only says that the
 * broker got the packet. Implementations: `sqlite-outbox.ts` (Node, better-sqlite3) here, and the
 * browser's IndexedDB outbox; both pass `outbox.contract.ts`.
 *
 * Methods are asynchronous so that IndexedDB can implement the same interface.
 */

/** What to do when a new item would take the outbox over its byte cap. */
export type OverflowPolicy = 'reject_new' | 'evict_oldest';

/** The outcome of {@link Outbox.enqueue}: `stored` only once the item is durable. */
export type EnqueueResult = 'stored' | 'duplicate' | 'rejected';

/** Why an enqueue was rejected (also in the alert for the unusual ones). */
export type RejectReason = 'over_cap' | 'too_large' | 'disk_full' | 'storage_error';

/** An item to put in the outbox. */
export interface OutboxEntry {
  /** The sample id (sha256 of the image): the outbox holds at most one item per id. */
  sampleId: string;
  /** The encoded sample frame, sent as is. */
  bytes: Uint8Array;
  /** Higher goes first; within one priority, first in, first out. Default 0. */
  priority?: number;
}

/** An item in the outbox. */
export interface OutboxItem {
  sampleId: string;
  bytes: Uint8Array;
  priority: number;
  /** When it was enqueued (epoch ms, from the outbox's clock): the TTL runs from here. */
  enqueuedAt: number;
  /** How many times it was handed to the uplink. */
  attempts: number;
  /** Not due before this time (epoch ms). */
  nextAttemptAt: number;
}

/** Counts of the outbox. `evicted`, `rejected` and `expired` are totals kept across restarts. */
export interface OutboxStats {
  count: number;
  /** Sum of the items' frame sizes: what the byte cap limits. */
  bytes: number;
  evicted: number;
  rejected: number;
  expired: number;
  /** Times a corrupt database was quarantined and recreated. */
  quarantined: number;
}

/** An operator-facing problem; the outbox keeps working after each. */
export interface OutboxAlert {
  code: 'OUTBOX_CORRUPT' | 'OUTBOX_FULL' | 'OUTBOX_FAILED';
  message: string;
  /** Epoch ms from the outbox's clock. */
  at: number;
  reason?: RejectReason;
  /** Where a corrupt database was moved to. */
  quarantinedAs?: string;
  cause?: unknown;
}

/** Resend backoff: `min(maxMs, baseMs·factor^(attempts−1))`, reduced by up to `jitter` of itself. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Default 2. */
  factor?: number;
  /** In [0, 1]: the fraction of the delay that is randomised (subtracted), so the cap is never exceeded. */
  jitter: number;
}

/** Limits and policies every outbox implementation takes. */
export interface OutboxPolicy {
  /** Cap on the sum of frame sizes. */
  maxBytes: number;
  overflow: OverflowPolicy;
  /** Items older than this (from `enqueuedAt`) are dropped and counted as expired. */
  ttlMs: number;
  backoff: BackoffOptions;
  /** Epoch ms; injected so tests control the TTL and backoff exactly. Default `Date.now`. */
  now?: () => number;
  /** Uniform in [0, 1) for backoff jitter. Default `Math.random`. */
  rng?: () => number;
  onAlert?: (alert: OutboxAlert) => void;
}

export interface Outbox {
  /**
   * Stores an item. `stored` means committed and durable; `duplicate` means an item with that
   * sample id is already waiting; `rejected` means it was not stored (cap, disk full, storage error),
   * counted in `stats().rejected`. Never throws: the classifier calls it.
   */
  enqueue(entry: OutboxEntry): Promise<EnqueueResult>;
  /** Up to `limit` items due now, highest priority first, then oldest first. Drops expired items first. */
  due(limit: number): Promise<OutboxItem[]>;
  /** Records one more send attempt of each named item and schedules its next one with backoff. */
  markSent(sampleIds: readonly string[]): Promise<void>;
  /** Deletes the named items (after the hub's SampleAck); returns how many were there. */
  ack(sampleIds: readonly string[]): Promise<number>;
  /** The earliest `nextAttemptAt` of any item, or `undefined` when empty. */
  nextDueAt(): Promise<number | undefined>;
  /** Counts, after dropping expired items. */
  stats(): Promise<OutboxStats>;
  close(): Promise<void>;
}
