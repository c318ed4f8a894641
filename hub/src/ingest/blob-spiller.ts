/**
 * Moves staged sample images from the `sample_blobs` table to the object store. Ingest commits a
 * small image with its row (one fsync per group), so the device's ack never waits for the object
 * store; this puts each staged blob under `sampleObjectKey` (a durable put, a bounded number at a
 * time), then deletes the staged rows of a pass in one transaction, on ingest's writer thread
 * (`sqlite-writer.ts`) so that it neither blocks the event loop nor contends for the write lock.
 *
 * Crash safety: the staged row is deleted only after its put resolved, so a crash at any point
 * leaves the bytes in the table, the store or both; the next start resumes from the table, and a
 * blob put again is the same bytes under the same key. A put that fails leaves its row staged
 * for a later pass (with backoff while the store keeps failing).
 */
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import type { OpenDatabase } from '../db/open.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import { type ObjectStore, putBatch } from '../storage/object-store.js';
import { sampleObjectKey } from '../storage/sample-blob.js';
import { type SqliteWriter, sqliteWriterFor } from './sqlite-writer.js';
import { stagedBacklogOf } from './staged-backlog.js';

export interface BlobSpillerOptions {
  db: OpenDatabase;
  store: ObjectStore;
  log: Logger;
  metrics: Pick<HubMetrics, 'stagedBlobs'>;
  /**
   * Staged blobs read and moved per pass (default 512), and at most {@link MAX_PASS_BYTES} of them.
   * A store with `putMany` (the file store) gets a pass as one batch; others, one put per blob
   * (see `putBatch`).
   */
  batchSize?: number;
  /** Object-store puts in flight at once, for a store without `putMany` (default 8). */
  concurrency?: number;
  /** How long an idle spiller waits before it looks for new staged blobs (default 20 ms). */
  idleMs?: number;
  /**
   * While the event loop is busy (ingest under load) and fewer blobs than this are staged, the
   * background loop waits instead of moving them, so that a burst of samples is not slowed by the
   * object store (a file-store put costs ~200 µs of the event loop). Pass about half of
   * `ingest.maxStagedBlobs` (default 10,000); 0 never waits.
   */
  deferBelow?: number;
}

/** A pass stops reading staged blobs once it holds this many bytes of them. */
const MAX_PASS_BYTES = 8 * 1024 * 1024;

/** Event-loop utilization above which the loop counts as busy. */
const BUSY_UTILIZATION = 0.5;
/** The pause between two full batches, long enough to see whether the event loop is busy. */
const PAUSE_MS = 2;

interface Staged {
  sampleId: string;
  bytes: Buffer;
  mime: string;
}

const MAX_BACKOFF_MS = 5_000;

export class BlobSpiller {
  private readonly store: ObjectStore;
  private readonly log: Logger;
  private readonly metrics: Pick<HubMetrics, 'stagedBlobs'>;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly deferBelow: number;
  private readonly selectBatch: Database.Statement<[number], Staged>;
  private readonly writer: SqliteWriter;
  private readonly span: () => number;
  /** Passes run one at a time, whoever asks (the loop or `flush`), so no blob is moved twice at once. */
  private tail: Promise<unknown> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(options: BlobSpillerOptions) {
    const { sqlite } = options.db;
    this.store = options.store;
    this.log = options.log;
    this.metrics = options.metrics;
    this.batchSize = options.batchSize ?? 512;
    this.concurrency = options.concurrency ?? 8;
    this.idleMs = options.idleMs ?? 20;
    this.deferBelow = options.deferBelow ?? 10_000;
    this.selectBatch = sqlite.prepare<[number], Staged>(
      `SELECT b.sample_id AS sampleId, b.bytes AS bytes, s.mime AS mime
       FROM sample_blobs b JOIN samples s ON s.id = b.sample_id ORDER BY b.rowid LIMIT ?`,
    );
    this.writer = sqliteWriterFor(sqlite);
    this.span = stagedBacklogOf(sqlite);
  }

  /** Staged blobs not yet moved (see {@link stagedBacklogOf}). */
  backlog(): number {
    return this.span();
  }

  /** Starts moving staged blobs in the background, beginning with any a previous run left. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    const backlog = this.backlog();
    this.metrics.stagedBlobs.set(backlog);
    if (backlog > 0) this.log.info({ backlog }, 'moving staged sample blobs left by the previous run');
    this.loop = this.run();
  }

  /** Stops the background loop; resolves when the pass in progress has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /**
   * Moves every blob staged now, pass after pass, until none is left or `deadlineMs` milliseconds
   * from now have passed (no new pass starts then); resolves with the number moved. It does not
   * wait for a busy event loop. Rejects with `STORAGE_FAILED` when a put fails (`DATABASE_FAILED`
   * when unstaging does): what was not moved stays staged, durable, for the next start.
   */
  async flush(deadlineMs = Number.POSITIVE_INFINITY): Promise<number> {
    const until = performance.now() + deadlineMs;
    let moved = 0;
    while (performance.now() < until) {
      const { moved: n } = await this.exclusive(() => this.pass());
      moved += n;
      if (n === 0) break;
    }
    return moved;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The staged blobs of the next pass, oldest first, up to the count and byte caps. */
  private nextBatch(): { batch: Staged[]; full: boolean } {
    const batch: Staged[] = [];
    let bytes = 0;
    for (const staged of this.selectBatch.iterate(this.batchSize)) {
      batch.push(staged);
      bytes += staged.bytes.byteLength;
      // Leaving the loop early ends the statement.
      if (bytes >= MAX_PASS_BYTES) return { batch, full: true };
    }
    return { batch, full: batch.length === this.batchSize };
  }

  /**
   * One batch: put the blobs, then unstage those stored in one transaction. Resolves with their
   * count, and whether the batch was full (more may be waiting).
   */
  private async pass(): Promise<{ moved: number; full: boolean }> {
    const { batch, full } = this.nextBatch();
    if (batch.length === 0) return { moved: 0, full: false };
    const stored: string[] = [];
    let failure: unknown;
    const items = batch.map(({ sampleId, bytes, mime }) => ({ key: sampleObjectKey(sampleId), bytes, contentType: mime }));
    const results = await putBatch(this.store, items, this.concurrency);
    results.forEach((error, i) => {
      if (error) failure ??= error;
      else stored.push(batch[i]!.sampleId);
    });
    if (stored.length > 0) {
      await this.writer.unstage(stored).catch((cause: unknown) => {
        throw new HubError('DATABASE_FAILED', `cannot unstage ${stored.length} moved sample blobs`, { cause });
      });
    }
    this.metrics.stagedBlobs.set(this.backlog());
    if (failure !== undefined) {
      throw failure instanceof HubError ? failure : new HubError('STORAGE_FAILED', 'cannot move a staged sample blob', { cause: failure });
    }
    return { moved: stored.length, full };
  }

  private async run(): Promise<void> {
    let backoff = 0;
    let full = false;
    while (!this.stopping) {
      // After a full batch, only a short pause (more are waiting); otherwise wait for new blobs, or
      // out a failure. What the event loop did meanwhile is everyone else's work: ingest under load.
      const since = performance.eventLoopUtilization();
      await this.sleep(backoff || (full ? PAUSE_MS : this.idleMs));
      if (this.stopping) break;
      const busy = performance.eventLoopUtilization(since).utilization > BUSY_UTILIZATION;
      if (busy && backoff === 0 && this.backlog() < this.deferBelow) {
        full = false;
        continue;
      }
      try {
        ({ full } = await this.exclusive(() => this.pass()));
        backoff = 0;
      } catch (error) {
        full = false;
        backoff = Math.min(Math.max(backoff * 2, 100), MAX_BACKOFF_MS);
        this.log.warn({ err: error, backlog: this.backlog(), retryInMs: backoff }, 'cannot move staged sample blobs; will retry');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      // A forgotten spiller must not keep the process alive.
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
