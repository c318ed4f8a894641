/**
 * Keyset paging for the labelling queue. A cursor is the sort key of the last row served,
 * `[score, receivedAt, id]` as base64url JSON; the next page is every row that sorts after it.
 * Scores are doubles, and JSON writes a double in its shortest round-tripping form, so the `=`
 * comparison below sees exactly the value SQLite returned.
 */
import { HubError } from '../errors.js';

/** The queue's sort score (higher first; NULL sorts last). */
export const SCORE = 'COALESCE(uncertainty, 1.0 - confidence)';

export interface Cursor {
  score: number | null;
  receivedAt: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.score, c.receivedAt, c.id])).toString('base64url');
}

/** Parses a cursor from a client; anything malformed is BAD_REQUEST. */
export function decodeCursor(text: string): Cursor {
  let value: unknown;
  try {
    if (text.length > 512 || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new HubError('BAD_REQUEST', 'invalid queue cursor', { cause });
  }
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !(value[0] === null || (typeof value[0] === 'number' && Number.isFinite(value[0]))) ||
    typeof value[1] !== 'string' ||
    typeof value[2] !== 'string'
  ) {
    throw new HubError('BAD_REQUEST', 'invalid queue cursor');
  }
  return { score: value[0] as number | null, receivedAt: value[1], id: value[2] };
}

/** The WHERE fragment (and its named parameters) selecting rows that sort after `after`. */
export function pageSql(after: Cursor | undefined): { sql: string; params: Record<string, unknown> } {
  if (!after) return { sql: '1', params: {} };
  const tie = '(received_at, id) > (@afterReceivedAt, @afterId)';
  const params = { afterReceivedAt: after.receivedAt, afterId: after.id };
  if (after.score === null) return { sql: `(${SCORE} IS NULL AND ${tie})`, params };
  return {
    sql: `(${SCORE} < @afterScore OR ${SCORE} IS NULL OR (${SCORE} = @afterScore AND ${tie}))`,
    params: { ...params, afterScore: after.score },
  };
}
