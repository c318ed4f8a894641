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
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { HubError } from '../errors.js';
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

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
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
  let worker: Worker | undefined;
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let idle: NodeJS.Timeout | undefined;

  function start(): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, insertSample: INSERT_SAMPLE } });
    w.unref();
    w.on('message', (m: { id: number; value?: unknown; error?: { message: string; code?: string } }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (!p) return;
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p.resolve(m.value);
      if (pending.size === 0) {
        w.unref();
        idleSoon();
      }
    });
    // A worker that dies fails what it had; the next write starts a new one.
    const died = (error: unknown) => {
      if (worker !== w) return;
      worker = undefined;
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`the SQLite writer thread exited (${code})`)));
    return w;
  }

  function idleSoon(): void {
    clearTimeout(idle);
    idle = setTimeout(() => {
      if (pending.size > 0 || !worker) return;
      const w = worker;
      worker = undefined;
      w.postMessage({ op: 'close' });
    }, IDLE_CLOSE_MS);
    idle.unref();
  }

  function call<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    clearTimeout(idle);
    worker ??= start();
    // Referenced while it owes an answer: an unreferenced thread lets the process exit under a
    // caller still awaiting its COMMIT.
    worker.ref();
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker!.postMessage({ ...message, id }, transfer);
    });
  }

  return {
    commit(rows) {
      // Staged blobs travel in one fresh buffer that is transferred, not copied: a view into an
      // MQTT payload would make postMessage clone the whole socket buffer behind it.
      let total = 0;
      for (const r of rows) total += r.staged?.byteLength ?? 0;
      const blobs = new Uint8Array(total);
      let at = 0;
      const wire = rows.map((r) => {
        if (!r.staged) return [r.params, r.annotation, -1, 0];
        blobs.set(r.staged, at);
        at += r.staged.byteLength;
        return [r.params, r.annotation, at - r.staged.byteLength, r.staged.byteLength];
      });
      return call<RowOutcome[]>({ op: 'commit', rows: wire, blobs: blobs.buffer }, [blobs.buffer]);
    },
    unstage: (ids) => call<void>({ op: 'unstage', ids }),
    async close() {
      clearTimeout(idle);
      const w = worker;
      if (!w) return;
      worker = undefined;
      // The thread answers what it was sent before it reads `close`, then exits; it stays
      // referenced until then, or a process with nothing else to do would exit under this await.
      w.ref();
      const exited = once(w, 'exit');
      w.postMessage({ op: 'close' });
      await exited;
    },
  };
}
