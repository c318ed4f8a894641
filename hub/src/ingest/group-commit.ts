/**
 * Group commit: samples from many devices share one SQLite transaction, so one fsync
 * (`synchronous=FULL`) acknowledges a whole group instead of each sample paying for its own. A
 * group closes when it holds `maxItems` rows or its first row has waited `maxDelayMs`, and while
 * the writer thread still commits the previous group, rows queue for the next one. Every promise
 * resolves only after COMMIT has returned, so an ack sent on it names a durable row, and the
 * durable staged image bytes (`sample_blobs`) of a row that carries them.
 */
import type Database from 'better-sqlite3';
import type { IngestConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { HubMetrics } from '../metrics.js';
import { sqliteWriterFor, writerRowOf } from './sqlite-writer.js';

/** One device sample, as the `samples` table stores it. */
export interface SampleRow {
  id: string;
  deviceId: string;
  receivedAt: string;
  capturedAt: string;
  mime: string;
  width: number;
  height: number;
  byteLength: number;
  objectKey: string;
  modelName: string;
  modelVersion: number;
  predictedLabel: string;
  confidence: number;
  samplingStrategy: string;
  samplingScore: number;
  inclusionProbability: number;
  audit: boolean;
  /** Header fields kept verbatim (probabilities, latency, sampling reason, annotation). */
  extra: unknown;
  /** A label a person gave on the device: stored as a `device-user` / `annotate` label row. */
  annotation?: { label: string; labelledBy: string };
  /**
   * The image bytes, when they are staged in `sample_blobs` with the row (in the same transaction)
   * rather than already in the object store.
   */
  staged?: Buffer;
}

export type CommitOutcome = 'inserted' | 'duplicate';

export interface GroupCommit {
  /**
   * Queues a row; resolves after the COMMIT of its group: `duplicate` when a row with its id
   * already existed (then only an annotation that sample lacks is written). Rejects with
   * `OVERLOADED` when `maxQueuedSamples` rows are already waiting, and with `DATABASE_FAILED`
   * when the group's transaction failed (the whole group is rolled back).
   */
  enqueue(row: SampleRow): Promise<CommitOutcome>;
  /**
   * Commits whatever is queued now and resolves when nothing is queued or committing. From then on
   * a group no longer waits for its delay (shutdown should not), though rows queued in the same
   * turn still share one.
   */
  drain(): Promise<void>;
  /** Rows waiting for their group's commit, queued or committing. */
  readonly queued: number;
}

export interface GroupCommitOptions {
  sqlite: Database.Database;
  config: Pick<IngestConfig, 'groupCommitMaxItems' | 'groupCommitMaxDelayMs' | 'maxQueuedSamples'>;
  metrics?: Pick<HubMetrics, 'commitBatch'>;
}

interface Waiting {
  row: SampleRow;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

export function createGroupCommit({ sqlite, config, metrics }: GroupCommitOptions): GroupCommit {
  // The transactions run on the writer thread (`sqlite-writer.ts`): while one group waits for its
  // fsync, the event loop goes on checking samples, and the next group fills.
  const writer = sqliteWriterFor(sqlite);
  let queue: Waiting[] = [];
  /** The group whose transaction the writer is running; one at a time, in order. */
  let committing: Waiting[] | undefined;
  let timer: { cancel(): void } | undefined;
  let draining = false;
  let idleWaiters: Array<() => void> = [];

  function schedule(): void {
    // A commit in progress flushes the queue when it ends: rows queued meanwhile have waited as long.
    if (timer || committing) return;
    if (draining) {
      const immediate = setImmediate(flush);
      timer = { cancel: () => clearImmediate(immediate) };
    } else {
      const timeout = setTimeout(flush, config.groupCommitMaxDelayMs);
      timer = { cancel: () => clearTimeout(timeout) };
    }
  }

  function flush(): void {
    timer?.cancel();
    timer = undefined;
    if (committing) return;
    if (queue.length === 0) {
      for (const done of idleWaiters) done();
      idleWaiters = [];
      return;
    }
    const group = queue.length <= config.groupCommitMaxItems ? queue : queue.slice(0, config.groupCommitMaxItems);
    queue = group === queue ? [] : queue.slice(group.length);
    committing = group;
    let committed: Promise<CommitOutcome[]>;
    try {
      committed = writer.commit(group.map((w) => writerRowOf(w.row)));
    } catch (error) {
      // Never leave `committing` set: the queue would wait for a commit that never ends.
      committed = Promise.reject(error);
    }
    committed
      .then(
        (outcomes) => {
          metrics?.commitBatch.observe(group.length);
          group.forEach((w, i) => {
            w.resolve(outcomes[i]!);
          });
        },
        (cause: unknown) => {
          const error = new HubError('DATABASE_FAILED', `group commit of ${group.length} samples failed`, { cause });
          for (const w of group) w.reject(error);
        },
      )
      .finally(() => {
        committing = undefined;
        flush();
      });
  }

  return {
    enqueue(row) {
      const waiting = queue.length + (committing?.length ?? 0);
      if (waiting >= config.maxQueuedSamples) {
        return Promise.reject(new HubError('OVERLOADED', `${waiting} samples are waiting for a commit`));
      }
      return new Promise<CommitOutcome>((resolve, reject) => {
        queue.push({ row, resolve, reject });
        if (queue.length >= config.groupCommitMaxItems) flush();
        else schedule();
      });
    },
    drain() {
      draining = true;
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        flush();
      });
    },
    get queued() {
      return queue.length + (committing?.length ?? 0);
    },
  };
}
