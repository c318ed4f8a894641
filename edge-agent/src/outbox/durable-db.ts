/**
 * The agent's state database (outbox and sampler state share one file): SQLite in WAL mode with
 * `synchronous=FULL`, because WAL's default (NORMAL) can lose the last commits on power loss and
 * the outbox promises that `stored` survives that. A corrupt file is detected (on open by
 * `PRAGMA quick_check`, later by SQLITE_CORRUPT/SQLITE_NOTADB from any statement), moved aside as
 * `<name>.corrupt-<timestamp>` with its `-wal`/`-shm`, and recreated empty, with an alert.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AgentError } from '../errors.js';
import { closeQuietly, isCorruption } from './sqlite-errors.js';

export { isCorruption, isFull } from './sqlite-errors.js';

export interface DurableDbOptions {
  path: string;
  /** Epoch ms for the quarantine name. Default `Date.now`. */
  now?: () => number;
  /** Called after a corrupt database was quarantined and a fresh one created. */
  onQuarantine?: (event: { path: string; quarantinedAs: string; cause: unknown }) => void;
  /** `PRAGMA max_page_count` for every connection: a hard size cap (tests use it to simulate a full disk). */
  maxPageCount?: number;
}

const META_SQL = 'CREATE TABLE IF NOT EXISTS agent_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT';

export class DurableDb {
  private conn: Database.Database;
  private readonly schemas: string[] = [META_SQL];
  private statements = new Map<string, Database.Statement>();
  private readonly now: () => number;

  constructor(private readonly options: DurableDbOptions) {
    this.now = options.now ?? Date.now;
    mkdirSync(dirname(options.path), { recursive: true });
    this.conn = this.openChecked();
  }

  /** The current connection; it changes when a corrupt file is replaced, so never keep it. */
  get db(): Database.Database {
    return this.conn;
  }

  /** Runs `sql` (idempotent DDL) now and again after every recreation. */
  addSchema(sql: string): void {
    this.schemas.push(sql);
    this.guard(() => this.conn.exec(sql));
  }

  /** A prepared statement of the current connection, cached until the connection changes. */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.conn.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Runs `fn`; if the database turns out to be corrupt, quarantines it, recreates it and runs `fn`
   * once more on the fresh one (the old data is gone either way; the new work should not be).
   */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (!isCorruption(error)) throw error;
      this.quarantine(error);
      return fn();
    }
  }

  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction, under {@link DurableDb.guard}. */
  tx<T>(fn: () => T): T {
    return this.guard(() => this.conn.transaction(fn).immediate());
  }

  meta(key: string): number {
    const row = this.stmt('SELECT value FROM agent_meta WHERE key = ?').get(key) as { value: number } | undefined;
    return row?.value ?? 0;
  }

  /** Adds to a persisted counter; call inside the transaction whose effect it counts. */
  addMeta(key: string, delta: number): void {
    if (delta === 0) return;
    this.stmt('INSERT INTO agent_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value').run(
      key,
      delta,
    );
  }

  close(): void {
    this.statements.clear();
    if (this.conn.open) this.conn.close();
  }

  /** Opens and checks a connection; on failure the half-open connection travels on the error. */
  private openRaw(): Database.Database {
    const db = new Database(this.options.path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      if (this.options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.floor(this.options.maxPageCount)}`);
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
      for (const sql of this.schemas) db.exec(sql);
      return db;
    } catch (error) {
      throw Object.assign(error as object, { connection: db });
    }
  }

  private openChecked(): Database.Database {
    try {
      return this.openRaw();
    } catch (error) {
      if (isCorruption(error)) return this.replace(error, (error as { connection?: Database.Database }).connection);
      closeQuietly((error as { connection?: Database.Database }).connection);
      throw new AgentError('OUTBOX_FAILED', `cannot open ${this.options.path}`, { cause: error });
    }
  }

  private quarantine(cause: unknown): void {
    this.statements.clear();
    this.conn = this.replace(cause, this.conn);
  }

  /**
   * Moves the damaged file aside (never deletes it: an operator may want it) and opens a fresh one.
   * The files are renamed before the stale connection closes, so that its checkpoint-on-close
   * lands in the quarantined copy and never touches the new database.
   */
  private replace(cause: unknown, stale: Database.Database | undefined): Database.Database {
    const { path } = this.options;
    let target = `${path}.corrupt-${this.now()}`;
    for (let i = 1; existsSync(target); i++) target = `${path}.corrupt-${this.now()}-${i}`;
    // The -wal and -shm files belong to the damaged main file: replaying them onto a fresh file
    // would corrupt it again, so they move with it, keeping SQLite's `<db>-wal` pairing.
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
    closeQuietly(stale);
    this.statements.clear();
    try {
      this.conn = this.openRaw();
    } catch (error) {
      closeQuietly((error as { connection?: Database.Database }).connection);
      throw new AgentError('OUTBOX_FAILED', `cannot recreate ${path}`, { cause: error });
    }
    this.addMeta('quarantined', 1);
    this.options.onQuarantine?.({ path, quarantinedAs: target, cause });
    return this.conn;
  }
}
