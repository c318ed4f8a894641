/**
 * Ingest's write transactions, run on a worker thread with its own connection to the database
 * file. A COMMIT with `synchronous=FULL` waits for an fsync (milliseconds, more on a busy disk);
 * on the main thread that wait stopped the broker and every other sample, and it was the largest
 * single cost of ingest. On the worker, samples keep being checked while a group commits.
 *
 * One worker per database file, shared by the group commit and the blob spiller, so that their
 * writes queue on one connection instead of contending for SQLite's write lock. It starts on the
 * first write and exits after {@link IDLE_CLOSE_MS} without one: a hub under load keeps it, tests
 * and idle hubs do not hold threads and file handles. The thread is referenced only while a caller
 * awaits it, so an idle writer never keeps a process alive (and a transaction cut off by process
 * exit is rolled back by SQLite, with nothing acknowledged for it).
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { HubError } from '../errors.js';
import { packForTransfer, workerThread } from '../worker-thread.js';
import type { SampleRow } from './group-commit.js';
import { INSERT_SAMPLE, WORKER_SOURCE } from './sqlite-writer-worker.js';

/** A `samples` row as bind values, in `INSERT_SAMPLE` order, with its annotation and staged blob. */
export interface WriterRow {
  params: unknown[];
  annotation: [label: string, labelledBy: string] | null;
  staged: Uint8Array | undefined;
}

export type RowOutcome = 'inserted' | 'duplicate';

export interface SqliteWriter {
  /** Inserts rows (staged blobs and annotations with them) in one transaction; resolves after COMMIT. */
  commit(rows: WriterRow[]): Promise<RowOutcome[]>;
  /** Deletes staged blobs that the object store now holds (see `blob-spiller.ts`). */
  unstage(sampleIds: string[]): Promise<void>;
  /** Lets the writes sent so far finish, then closes the connection and ends the thread. */
  close(): Promise<void>;
}

/** A worker that has had nothing to do for this long closes its connection and exits. */
export const IDLE_CLOSE_MS = 1_000;

/** A row as the writer binds it, in {@link INSERT_SAMPLE} column order. */
export function writerRowOf(row: SampleRow): WriterRow {
  return {
    params: [
      row.id,
      row.deviceId,
      row.receivedAt,
      row.capturedAt,
      row.mime,
      row.width,
      row.height,
      row.byteLength,
      row.objectKey,
      row.modelName,
      row.modelVersion,
      row.predictedLabel,
      row.confidence,
      row.samplingStrategy,
      row.samplingScore,
      row.inclusionProbability,
      row.audit ? 1 : 0,
      JSON.stringify(row.extra ?? null),
    ],
    annotation: row.annotation ? [row.annotation.label, row.annotation.labelledBy] : null,
    staged: row.staged,
  };
}

const writers = new WeakMap<Database.Database, SqliteWriter>();

/**
 * Ends the writer thread of `sqlite`, if it has one, after the writes sent to it: call it at
 * shutdown before closing the database (otherwise the thread ends by itself when idle).
 */
export async function closeSqliteWriter(sqlite: Database.Database): Promise<void> {
  await writers.get(sqlite)?.close();
}

/** The writer for the database file that `sqlite` is connected to (one per connection object). */
export function sqliteWriterFor(sqlite: Database.Database): SqliteWriter {
  let writer = writers.get(sqlite);
  if (!writer) {
    if (sqlite.memory) throw new HubError('BAD_CONFIG', 'ingest needs a database file; an in-memory database has no second connection');
    writer = createWriter(resolve(sqlite.name));
    writers.set(sqlite, writer);
  }
  return writer;
}

function createWriter(path: string): SqliteWriter {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const thread = workerThread({
    source: WORKER_SOURCE,
    workerData: { driver, path, insertSample: INSERT_SAMPLE },
    idleCloseMs: IDLE_CLOSE_MS,
    name: 'SQLite writer',
  });
  const { call } = thread;

  return {
    commit(rows) {
      // Staged blobs travel in one buffer, transferred (see `packForTransfer`).
      const staged = rows.flatMap((r) => (r.staged ? [r.staged] : []));
      const { buffer, offsets } = packForTransfer(staged);
      let next = 0;
      const wire = rows.map((r) => {
        if (!r.staged) return [r.params, r.annotation, -1, 0];
        const at = offsets[next++]!;
        return [r.params, r.annotation, at, r.staged.byteLength];
      });
      return call<RowOutcome[]>({ op: 'commit', rows: wire, blobs: buffer }, [buffer]);
    },
    unstage: (ids) => call<void>({ op: 'unstage', ids }),
    close: () => thread.close(),
  };
}
