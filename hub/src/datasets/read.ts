/** Reading snapshots: list, one page of items, and the exported manifest. */
import { HubError } from '../errors.js';
import { type DatasetManifest, snapshotSplit } from './manifest.js';
import { type DatasetDeps, type DatasetItem, type DatasetRow, type DatasetSummary, summaryOf } from './types.js';

/** Largest page of items {@link getDataset} returns. */
export const MAX_ITEMS_PAGE = 10_000;

/** Every snapshot, newest first. */
export function listDatasets(deps: DatasetDeps): DatasetSummary[] {
  return deps.db.sqlite.prepare<[], DatasetRow>('SELECT * FROM datasets ORDER BY created_at DESC, id').all().map(summaryOf);
}

/** One snapshot's summary; throws NOT_FOUND. */
export function getSummary(deps: DatasetDeps, id: string): DatasetSummary {
  const row = deps.db.sqlite.prepare<[string], DatasetRow>('SELECT * FROM datasets WHERE id = ?').get(id);
  if (!row) throw new HubError('NOT_FOUND', `no dataset ${id}`);
  return summaryOf(row);
}

/** A snapshot and one page of its items, by sample id; throws NOT_FOUND, or BAD_REQUEST for a bad page. */
export function getDataset(
  deps: DatasetDeps,
  id: string,
  page: { limit: number; offset: number } = { limit: 100, offset: 0 },
): { summary: DatasetSummary; items: DatasetItem[] } {
  const { limit, offset } = page;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_ITEMS_PAGE) {
    throw new HubError('BAD_REQUEST', `limit must be an integer in 0..${MAX_ITEMS_PAGE}`);
  }
  if (!Number.isInteger(offset) || offset < 0) throw new HubError('BAD_REQUEST', 'offset must be a non-negative integer');
  const summary = getSummary(deps, id);
  const items = deps.db.sqlite
    .prepare<[string, number, number], DatasetItem>(
      `SELECT sample_id AS sampleId, label, split FROM dataset_items WHERE dataset_id = ?
       ORDER BY sample_id LIMIT ? OFFSET ?`,
    )
    .all(id, limit, offset);
  return { summary, items };
}

/**
 * The snapshot as a manifest a trainer consumes (`verifyManifest` checks it): labels, and every
 * item with its split, sorted by sample id. An item's image is the object `samples/<id[0..2]>/<id>`.
 */
export function exportManifest(deps: DatasetDeps, id: string): DatasetManifest {
  const summary = getSummary(deps, id);
  const items = deps.db.sqlite
    .prepare<[string], DatasetItem>('SELECT sample_id AS sampleId, label, split FROM dataset_items WHERE dataset_id = ? ORDER BY sample_id')
    .all(id);
  return {
    v: 1,
    id,
    name: summary.name,
    createdAt: summary.createdAt,
    labels: summary.labels,
    split: summary.stats.splitFractions ?? { ...snapshotSplit },
    items,
  };
}
