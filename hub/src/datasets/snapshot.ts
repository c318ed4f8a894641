/**
 * Immutable dataset snapshots: every settled sample (`queue_state = 'labelled'`) with its current
 * label (the newest `labels` row), optionally restricted to a label set. The snapshot's id is the
 * content hash of its (sampleId, label) pairs (see `manifest.ts`), so snapshotting unchanged data
 * returns the existing snapshot instead of a copy, and one relabel gives a new id. Splits come from
 * `splitOf(sampleId)`: a sample keeps its split in every snapshot, however the data grows.
 */
import { splitOf } from '@edgeloop/models/data';
import { LabelSchema } from '@edgeloop/protocol';
import { HubError } from '../errors.js';
import { type ManifestPair, snapshotId, snapshotSplit } from './manifest.js';
import { type DatasetDeps, type DatasetRow, type DatasetStats, type DatasetSummary, type Split, summaryOf } from './types.js';

export { diffDatasets } from './diff.js';
export { exportManifest, getDataset, listDatasets } from './read.js';

export interface SnapshotRequest {
  name: string;
  actor: string;
  /** Keep only samples with these labels; others are excluded and counted in `stats.excluded`. */
  labels?: string[];
  note?: string;
  parentId?: string;
}

/** The snapshot, and whether this call created it (`false`: identical content existed already). */
export type SnapshotResult = DatasetSummary & { created: boolean };

const MAX_NAME = 200;
const MAX_NOTE = 2000;

/** The current label of every settled sample, by sample id (the labels index makes max(id) a seek). */
const CURRENT_LABELS = `
  SELECT s.id AS sampleId, l.label AS label
  FROM samples s JOIN labels l ON l.id = (SELECT max(id) FROM labels WHERE sample_id = s.id)
  WHERE s.queue_state = 'labelled'
  ORDER BY s.id`;

function validate(req: SnapshotRequest): Set<string> | undefined {
  if (typeof req.name !== 'string' || req.name.trim() === '' || req.name.length > MAX_NAME) {
    throw new HubError('BAD_REQUEST', `a snapshot needs a name of 1-${MAX_NAME} characters`);
  }
  if (typeof req.actor !== 'string' || req.actor === '') throw new HubError('BAD_REQUEST', 'a snapshot needs an actor');
  if (req.note !== undefined && req.note.length > MAX_NOTE) throw new HubError('BAD_REQUEST', `note is over ${MAX_NOTE} characters`);
  if (req.labels === undefined) return undefined;
  for (const label of req.labels) {
    if (!LabelSchema.safeParse(label).success) throw new HubError('BAD_REQUEST', `invalid label ${JSON.stringify(label)}`);
  }
  if (req.labels.length === 0) throw new HubError('BAD_REQUEST', 'the label set is empty');
  return new Set(req.labels);
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

const zeroSplits = () =>
  new Map<Split, number>([
    ['train', 0],
    ['validation', 0],
    ['test', 0],
  ]);

function statsOf(items: readonly (ManifestPair & { split: Split })[], excluded: Map<string, number>): DatasetStats {
  const splits = zeroSplits();
  const labels = new Map<string, number>();
  const labelSplits = new Map<string, Map<Split, number>>();
  for (const item of items) {
    bump(splits, item.split);
    bump(labels, item.label);
    const perSplit = labelSplits.get(item.label) ?? zeroSplits();
    labelSplits.set(item.label, perSplit);
    bump(perSplit, item.split);
  }
  // Maps, not object literals, while counting: a label such as "constructor" must not read the prototype.
  return {
    splits: Object.fromEntries(splits) as Record<Split, number>,
    labels: Object.fromEntries([...labels].sort(([a], [b]) => (a < b ? -1 : 1))),
    labelSplits: Object.fromEntries(
      [...labelSplits].sort(([a], [b]) => (a < b ? -1 : 1)).map(([l, m]) => [l, Object.fromEntries(m)]),
    ) as Record<string, Record<Split, number>>,
    excluded: [...excluded.values()].reduce((a, b) => a + b, 0),
    excludedLabels: Object.fromEntries(excluded),
    splitFractions: { ...snapshotSplit },
  };
}

/**
 * Snapshots the current labels. Reading and writing happen in one IMMEDIATE transaction, so a
 * label written meanwhile is either wholly in or wholly out. Throws BAD_REQUEST when nothing would
 * be in it, NOT_FOUND for an unknown `parentId`.
 */
export function createSnapshot(deps: DatasetDeps, req: SnapshotRequest, now: () => Date = () => new Date()): SnapshotResult {
  const only = validate(req);
  const { sqlite } = deps.db;
  const byId = sqlite.prepare<[string], DatasetRow>('SELECT * FROM datasets WHERE id = ?');
  const run = sqlite.transaction((): SnapshotResult => {
    if (req.parentId !== undefined && byId.get(req.parentId) === undefined) {
      throw new HubError('NOT_FOUND', `no dataset ${req.parentId}`);
    }
    const items: (ManifestPair & { split: Split })[] = [];
    const excluded = new Map<string, number>();
    for (const row of sqlite.prepare<[], ManifestPair>(CURRENT_LABELS).iterate()) {
      if (only && !only.has(row.label)) bump(excluded, row.label);
      else items.push({ sampleId: row.sampleId, label: row.label, split: splitOf(row.sampleId, snapshotSplit) });
    }
    if (items.length === 0) throw new HubError('BAD_REQUEST', 'no labelled samples to snapshot');
    const id = snapshotId(items);
    const existing = byId.get(id);
    if (existing) return { ...summaryOf(existing), created: false };
    const labels = [...new Set(items.map((i) => i.label))].sort();
    const stats = statsOf(items, excluded);
    const createdAt = now().toISOString();
    sqlite
      .prepare(
        `INSERT INTO datasets (id, name, created_at, created_by, labels, item_count, stats, parent_id, note)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        req.name,
        createdAt,
        req.actor,
        JSON.stringify(labels),
        items.length,
        JSON.stringify(stats),
        req.parentId ?? null,
        req.note ?? null,
      );
    const insertItem = sqlite.prepare('INSERT INTO dataset_items (dataset_id, sample_id, label, split) VALUES (?, ?, ?, ?)');
    for (const item of items) insertItem.run(id, item.sampleId, item.label, item.split);
    sqlite
      .prepare("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, 'dataset.snapshot', ?, ?)")
      .run(createdAt, req.actor, id, JSON.stringify({ name: req.name, itemCount: items.length, labels, excluded: stats.excluded }));
    return {
      id,
      name: req.name,
      createdAt,
      createdBy: req.actor,
      labels,
      itemCount: items.length,
      stats,
      parentId: req.parentId ?? null,
      note: req.note ?? null,
      created: true,
    };
  });
  return run.immediate();
}
