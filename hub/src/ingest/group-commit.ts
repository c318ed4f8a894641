/**
 * Group commit: samples from many devices share one SQLite transaction, so one fsync
 * (`synchronous=FULL`) acknowledges a whole group instead of each sample paying for its own. A
 * group closes when it holds `maxItems` rows or its first row has waited `maxDelayMs`. Every
 * promise resolves only after COMMIT has returned, so an ack sent on it names a durable row.
 */
import type Database from 'better-sqlite3';
import type { IngestConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { HubMetrics } from '../metrics.js';

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
}

export type CommitOutcome = 'inserted' | 'duplicate';

export interface GroupCommit {
  /**
   * Queues a row; resolves after the COMMIT of its group: `duplicate` when a row with its id
   * already existed (then nothing, not even its annotation, is written). Rejects with
   * `OVERLOADED` when `maxQueuedSamples` rows are already waiting, and with `DATABASE_FAILED`
   * when the group's transaction failed (the whole group is rolled back).
   */
  enqueue(row: SampleRow): Promise<CommitOutcome>;
  /**
   * Commits whatever is queued now and resolves when it is done. From then on a group no longer
   * waits for its delay (shutdown should not), though rows queued in the same turn still share one.
   */
  drain(): Promise<void>;
  /** Rows waiting for their group's commit. */
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
  const insertSample = sqlite.prepare(
    `INSERT INTO samples (id, source, device_id, received_at, captured_at, mime, width, height, byte_length, object_key,
       model_name, model_version, predicted_label, confidence, sampling_strategy, sampling_score, inclusion_probability,
       audit, queue_state, extra)
     VALUES (@id, 'device', @deviceId, @receivedAt, @capturedAt, @mime, @width, @height, @byteLength, @objectKey,
       @modelName, @modelVersion, @predictedLabel, @confidence, @samplingStrategy, @samplingScore, @inclusionProbability,
       @audit, 'pending', @extra)
     ON CONFLICT(id) DO NOTHING`,
  );
  const insertLabel = sqlite.prepare(
    `INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at)
     VALUES (?, ?, 'device-user', 'annotate', ?, ?)`,
  );
  // BEGIN IMMEDIATE takes the write lock up front, so a group never fails half-way on a lock
  // upgrade when another connection (the admin API) writes at the same time.
  const commitGroup = sqlite.transaction((rows: SampleRow[]): CommitOutcome[] =>
    rows.map((row) => {
      const { annotation, audit, extra, ...columns } = row;
      const { changes } = insertSample.run({ ...columns, audit: audit ? 1 : 0, extra: JSON.stringify(extra ?? null) });
      if (changes === 0) return 'duplicate';
      if (annotation) insertLabel.run(row.id, annotation.label, annotation.labelledBy, row.receivedAt);
      return 'inserted';
    }),
  );

  let queue: Waiting[] = [];
  let scheduled: { cancel(): void } | undefined;
  let draining = false;

  function schedule(): void {
    if (scheduled) return;
    if (draining) {
      const immediate = setImmediate(flush);
      scheduled = { cancel: () => clearImmediate(immediate) };
    } else {
      const timeout = setTimeout(flush, config.groupCommitMaxDelayMs);
      scheduled = { cancel: () => clearTimeout(timeout) };
    }
  }

  function flush(): void {
    scheduled?.cancel();
    scheduled = undefined;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    let outcomes: CommitOutcome[];
    try {
      outcomes = commitGroup.immediate(group.map((w) => w.row));
    } catch (cause) {
      const error = new HubError('DATABASE_FAILED', `group commit of ${group.length} samples failed`, { cause });
      for (const w of group) w.reject(error);
      return;
    }
    metrics?.commitBatch.observe(group.length);
    group.forEach((w, i) => {
      w.resolve(outcomes[i]!);
    });
  }

  return {
    enqueue(row) {
      if (queue.length >= config.maxQueuedSamples) {
        return Promise.reject(new HubError('OVERLOADED', `${queue.length} samples are waiting for a commit`));
      }
      return new Promise<CommitOutcome>((resolve, reject) => {
        queue.push({ row, resolve, reject });
        if (queue.length >= config.groupCommitMaxItems) flush();
        else schedule();
      });
    },
    async drain() {
      draining = true;
      flush();
    },
    get queued() {
      return queue.length;
    },
  };
}
