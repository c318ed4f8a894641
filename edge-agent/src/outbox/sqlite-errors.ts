/** How SQLite (through better-sqlite3) says what went wrong, by its result code. */
import type Database from 'better-sqlite3';

/** Whether an error says the database file is damaged (as opposed to full, busy or misused). */
export function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** Whether an error says that the database or the disk is full. */
export function isFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR') && /ENOSPC|full/i.test(String(error)));
}

/** Closes a connection, ignoring failures: used on damaged files that may fail their checkpoint-on-close. */
export function closeQuietly(db: Database.Database | undefined): void {
  try {
    if (db?.open) db.close();
  } catch {
    // A damaged file may fail its checkpoint-on-close; it is quarantined already.
  }
}
