/**
 * A dataset snapshot's identity and its exported manifest.
 *
 * Identity: the snapshot id is `datasetHash` from `@edgeloop/models/data`, that is the hex sha256
 * of the lines `<sampleId> <label>\n`, one per item, sorted. Sample ids are 64 hex digits and unique
 * within a snapshot, so sorting the lines sorts by sample id. Labels cannot contain control
 * characters (`LabelSchema`), so a newline can never forge a line. The label set and the splits
 * are derived from the items (labels: the sorted distinct labels; splits: `splitOf(sampleId)`), so
 * the items alone determine everything in a snapshot: equal items, equal id. Because it is the
 * same function the trainer uses, a model trained on an exported manifest records the snapshot id
 * as its `datasetHash`.
 */
import { datasetHash, defaultSplit, splitOf } from '@edgeloop/models/data';
import { LabelSchema, SampleIdSchema } from '@edgeloop/protocol';
import { z } from 'zod';
import { HubError } from '../errors.js';

/** One (sampleId, label) pair of a snapshot. */
export interface ManifestPair {
  sampleId: string;
  label: string;
}

/** The content hash of a snapshot's items, in any order: its id. */
export function snapshotId(items: readonly ManifestPair[]): string {
  return datasetHash({ items: items.map((i) => ({ id: i.sampleId, label: i.label, source: '' })) });
}

/** The exported form of a snapshot, for trainers (#6): everything needed to rebuild and check it. */
export const DatasetManifestSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string(),
  createdAt: z.string(),
  /** Sorted label set; a label's index is its class index. */
  labels: z.array(LabelSchema),
  /** The split fractions the `split` of each item was drawn with (`splitOf` in `@edgeloop/models`). */
  split: z.strictObject({ test: z.number(), validation: z.number(), salt: z.string().optional() }),
  items: z.array(
    z.strictObject({
      sampleId: SampleIdSchema,
      label: LabelSchema,
      split: z.enum(['train', 'validation', 'test']),
    }),
  ),
});

export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

/** The split fractions every snapshot uses: the models package's default, salt `''`. */
export const snapshotSplit = defaultSplit;

/**
 * Parses an exported manifest and checks that it is what its id says: the items hash to `id`,
 * `labels` is their sorted distinct label set, and each `split` is the one `splitOf` assigns.
 * Throws `HubError('BAD_REQUEST')` naming the first mismatch.
 */
export function verifyManifest(json: unknown): DatasetManifest {
  const parsed = DatasetManifestSchema.safeParse(json);
  if (!parsed.success) throw new HubError('BAD_REQUEST', `invalid dataset manifest: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  const m = parsed.data;
  const actual = snapshotId(m.items);
  if (actual !== m.id) throw new HubError('BAD_REQUEST', `dataset manifest hashes to ${actual}, not its id ${m.id}`);
  const labels = [...new Set(m.items.map((i) => i.label))].sort();
  if (JSON.stringify(labels) !== JSON.stringify(m.labels)) {
    throw new HubError('BAD_REQUEST', 'dataset manifest labels are not the sorted label set of its items');
  }
  const moved = m.items.find((i) => i.split !== splitOf(i.sampleId, m.split));
  if (moved) throw new HubError('BAD_REQUEST', `dataset manifest puts ${moved.sampleId} in ${moved.split}, not its hash split`);
  return m;
}
