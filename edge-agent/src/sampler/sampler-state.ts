/**
 * What the sampler keeps across restarts, in the agent's state database (the outbox's file):
 * the budget snapshot, the last hub configuration, and a bounded window of recently seen sample ids.
 */
import type { DurableDb } from '../outbox/durable-db.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sampler_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS sampler_recent (seq INTEGER PRIMARY KEY AUTOINCREMENT, sample_id TEXT NOT NULL UNIQUE) STRICT;
`;

export class SamplerState {
  constructor(
    private readonly store: DurableDb,
    private readonly recentLimit: number,
  ) {
    store.addSchema(SCHEMA);
  }

  /** A stored JSON value, or `undefined` when absent or unreadable. */
  get(key: string): unknown {
    const row = this.store.guard(() => this.store.stmt('SELECT value FROM sampler_state WHERE key = ?').get(key)) as
      | { value: string }
      | undefined;
    if (!row) return undefined;
    try {
      return JSON.parse(row.value) as unknown;
    } catch {
      return undefined;
    }
  }

  put(key: string, value: unknown): void {
    this.store.tx(() => this.putRaw(key, value));
  }

  /** Whether `sampleId` was seen within the last `recentLimit` ids. */
  seen(sampleId: string): boolean {
    return this.store.guard(() => this.store.stmt('SELECT 1 FROM sampler_recent WHERE sample_id = ?').get(sampleId)) !== undefined;
  }

  /** Records a decided sample id and, in the same transaction, the budget it may have changed. */
  remember(sampleId: string, budget?: unknown): void {
    this.store.tx(() => {
      const { lastInsertRowid } = this.store.stmt('INSERT OR IGNORE INTO sampler_recent (sample_id) VALUES (?)').run(sampleId);
      this.store.stmt('DELETE FROM sampler_recent WHERE seq <= ?').run(Number(lastInsertRowid) - this.recentLimit);
      if (budget !== undefined) this.putRaw('budget', budget);
    });
  }

  private putRaw(key: string, value: unknown): void {
    this.store
      .stmt('INSERT INTO sampler_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, JSON.stringify(value));
  }
}
