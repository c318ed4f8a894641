/**
 * Checks a stored snapshot against what it claims. Per item: the blob exists, its sha256 is the
 * sample id (content addressing: anything else is tampering or corruption), it decodes within the
 * dimension bounds, its label is in the snapshot's label set and its split is its hash split. For
 * the whole (reported with `sampleId: ''`): the items still hash to the snapshot id, and their count
 * matches the summary.
 */
import { createHash } from 'node:crypto';
import { type DecodeLimits, decodeImage, defaultDecodeLimits, splitOf } from '@edgeloop/models/data';
import type { OpenDatabase } from '../db/open.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readSampleBlob } from '../storage/sample-blob.js';
import { snapshotId } from './manifest.js';
import { getSummary } from './read.js';
import type { DatasetDeps, DatasetItem } from './types.js';

export interface IntegrityProblem {
  /** The item's sample id, or `''` for a problem of the snapshot as a whole. */
  sampleId: string;
  reason: string;
}

export interface IntegrityReport {
  ok: boolean;
  problems: IntegrityProblem[];
}

export interface IntegrityOptions {
  limits?: DecodeLimits;
  /** Items checked at once (blob reads overlap; default 4). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

async function checkItem(
  deps: { db: OpenDatabase; store: ObjectStore },
  item: DatasetItem & { objectKey: string },
  labels: Set<string>,
  limits: DecodeLimits,
) {
  const problems: string[] = [];
  if (!labels.has(item.label)) problems.push(`label "${item.label}" is not in the dataset's label set`);
  if (item.split !== splitOf(item.sampleId)) problems.push(`split ${item.split} is not its hash split ${splitOf(item.sampleId)}`);
  // Staged (not yet moved) blobs count: readSampleBlob looks in the staging table too.
  const bytes = await readSampleBlob(deps, item.sampleId);
  if (bytes === undefined) return [...problems, `blob ${item.objectKey} is missing`];
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== item.sampleId) return [...problems, `blob sha256 is ${sha}, not the sample id`];
  try {
    await decodeImage(bytes, limits);
  } catch (error) {
    problems.push(`image does not decode within bounds: ${error instanceof Error ? error.message : String(error)}`);
  }
  return problems;
}

/** Checks snapshot `id` (NOT_FOUND if there is none); `ok` is true when no problem was found. */
export async function checkDataset(
  deps: DatasetDeps & { store: ObjectStore },
  id: string,
  opts: IntegrityOptions = {},
): Promise<IntegrityReport> {
  const summary = getSummary(deps, id);
  const items = deps.db.sqlite
    .prepare<[string], DatasetItem & { objectKey: string }>(
      `SELECT i.sample_id AS sampleId, i.label, i.split, s.object_key AS objectKey
       FROM dataset_items i JOIN samples s ON s.id = i.sample_id WHERE i.dataset_id = ? ORDER BY i.sample_id`,
    )
    .all(id);
  const problems: IntegrityProblem[] = [];
  const actual = snapshotId(items);
  if (actual !== id) problems.push({ sampleId: '', reason: `items hash to ${actual}, not the dataset id` });
  if (items.length !== summary.itemCount)
    problems.push({ sampleId: '', reason: `${items.length} items, summary says ${summary.itemCount}` });
  const labels = new Set(summary.labels);
  const limits = opts.limits ?? defaultDecodeLimits;
  const perItem: string[][] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      perItem[i] = await checkItem(deps, items[i]!, labels, limits);
      opts.onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  items.forEach((item, i) => {
    for (const reason of perItem[i] ?? []) problems.push({ sampleId: item.sampleId, reason });
  });
  return { ok: problems.length === 0, problems };
}
