/**
 * The mirror's memory of what MLflow already has (`mlflow_sync`): one row per run, model version
 * and alias. A row is written after each step that succeeded, so a sync that fails half-way
 * resumes at the next step instead of starting over.
 */
import { and, eq } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { mlflowSync } from '../db/schema-registry.js';

export type SyncKind = (typeof mlflowSync.$inferSelect)['kind'];
export type SyncRow = typeof mlflowSync.$inferSelect;

export class SyncState {
  constructor(
    private readonly db: OpenDatabase,
    private readonly now: () => Date,
  ) {}

  get(kind: SyncKind, key: string): SyncRow | undefined {
    return this.db.db
      .select()
      .from(mlflowSync)
      .where(and(eq(mlflowSync.kind, kind), eq(mlflowSync.key, key)))
      .get();
  }

  all(kind: SyncKind): SyncRow[] {
    return this.db.db.select().from(mlflowSync).where(eq(mlflowSync.kind, kind)).all();
  }

  /** Ids of the runs not mirrored completely, oldest first. */
  unsyncedRuns(): string[] {
    const sql = `SELECT r.id FROM runs r LEFT JOIN mlflow_sync s ON s.kind = 'run' AND s.key = r.id
      WHERE s.done IS NULL OR s.done = 0 ORDER BY r.created_at, r.id`;
    return this.db.sqlite.prepare(sql).pluck().all() as string[];
  }

  /** Keys of `kind` that are mirrored completely. */
  doneKeys(kind: SyncKind): Set<string> {
    const rows = this.db.db
      .select({ key: mlflowSync.key })
      .from(mlflowSync)
      .where(and(eq(mlflowSync.kind, kind), eq(mlflowSync.done, true)))
      .all();
    return new Set(rows.map((r) => r.key));
  }

  /** Writes a step's progress; a successful step clears the last error. */
  save(kind: SyncKind, key: string, patch: Partial<Pick<SyncRow, 'mlflowId' | 'cursor' | 'state' | 'done'>>): SyncRow {
    const updatedAt = this.now().toISOString();
    const set = { ...patch, lastError: null, attempts: 0, updatedAt };
    return this.db.db
      .insert(mlflowSync)
      .values({ kind, key, state: {}, ...set })
      .onConflictDoUpdate({ target: [mlflowSync.kind, mlflowSync.key], set })
      .returning()
      .get();
  }

  failed(kind: SyncKind, key: string, error: string): void {
    const row = this.get(kind, key);
    const updatedAt = this.now().toISOString();
    const values = { lastError: error.slice(0, 2000), attempts: (row?.attempts ?? 0) + 1, done: false, updatedAt };
    this.db.db
      .insert(mlflowSync)
      .values({ kind, key, state: {}, ...values })
      .onConflictDoUpdate({ target: [mlflowSync.kind, mlflowSync.key], set: values })
      .run();
  }

  remove(kind: SyncKind, key: string): void {
    this.db.db
      .delete(mlflowSync)
      .where(and(eq(mlflowSync.kind, kind), eq(mlflowSync.key, key)))
      .run();
  }

  /** Rows that failed last time, for the health report. */
  pending(): SyncRow[] {
    return this.db.db.select().from(mlflowSync).where(eq(mlflowSync.done, false)).all();
  }
}
