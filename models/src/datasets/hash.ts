/**
 * A dataset's content hash: sha256 over its sorted `id label` lines. Two datasets with the same
 * images under the same labels hash alike whatever their order or source, and any added, removed
 * or relabelled image changes the hash: the dataset version recorded with every run.
 */
import { createHash } from 'node:crypto';
import type { Dataset } from './types.js';

export function datasetHash(ds: Pick<Dataset, 'items'>): string {
  const lines = ds.items.map((i) => `${i.id} ${i.label}\n`).sort();
  const h = createHash('sha256');
  for (const line of lines) h.update(line);
  return h.digest('hex');
}
