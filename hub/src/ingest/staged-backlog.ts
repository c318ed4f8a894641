/**
 * How many sample images are staged in `sample_blobs` waiting for the spiller, cheaply enough to
 * ask on the ingest path, and the bound that ingest keeps them under (`ingest.maxStagedBlobs`).
 */
import type Database from 'better-sqlite3';

/**
 * Staged blobs, counted from the span of their row ids: two index seeks instead of a scan of the
 * table. Spiller passes delete in row-id order, so the span is exact unless a put failed; then it
 * is an upper bound until that blob is moved.
 */
export function stagedBacklogOf(sqlite: Database.Database): () => number {
  const span = sqlite
    .prepare('SELECT coalesce((SELECT max(rowid) FROM sample_blobs) - (SELECT min(rowid) FROM sample_blobs) + 1, 0)')
    .pluck();
  return () => span.get() as number;
}

/** How often the staged-blob backlog is read from SQLite; reading it for every sample cost ~3 µs. */
const STAGED_BACKLOG_TTL_MS = 20;

/**
 * For ingest: whether one more sample may stage its image, that is the backlog as last read plus
 * what was admitted since is below `max`. The spiller's progress shows up at the next read.
 */
export function stagingGate(sqlite: Database.Database, max: number): () => boolean {
  const backlog = stagedBacklogOf(sqlite);
  let known = 0;
  let readAt = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (now - readAt >= STAGED_BACKLOG_TTL_MS) {
      known = backlog();
      readAt = now;
    }
    if (known >= max) return false;
    known++;
    return true;
  };
}
