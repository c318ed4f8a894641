/** Shapes of dataset snapshots as the hub stores and serves them. */
import type { Split } from '@edgeloop/models/data';
import type { OpenDatabase } from '../db/open.js';

export type { Split };

/** Counts of a snapshot, stored with it as JSON. */
export interface DatasetStats {
  /** Items per split. */
  splits: Record<Split, number>;
  /** Items per label. */
  labels: Record<string, number>;
  /** Items per label and split. */
  labelSplits: Record<string, Record<Split, number>>;
  /** Labelled samples left out because their label is outside the requested label set. */
  excluded: number;
  /** The excluded samples per label. */
  excludedLabels: Record<string, number>;
  /** The fractions the splits were drawn with. */
  splitFractions: { test: number; validation: number; salt?: string };
}

/** A snapshot without its items. */
export interface DatasetSummary {
  /** The content hash of the items (see `manifest.ts`). */
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
  /** Sorted distinct labels of the items. */
  labels: string[];
  itemCount: number;
  stats: DatasetStats;
  parentId: string | null;
  note: string | null;
}

export interface DatasetItem {
  sampleId: string;
  label: string;
  split: Split;
}

/** Database deps of the dataset functions (the raw connection is used: these are bulk queries). */
export interface DatasetDeps {
  db: OpenDatabase;
}

/** The raw `datasets` row, as SQLite returns it. */
export interface DatasetRow {
  id: string;
  name: string;
  created_at: string;
  created_by: string;
  labels: string;
  item_count: number;
  stats: string;
  parent_id: string | null;
  note: string | null;
}

export function summaryOf(row: DatasetRow): DatasetSummary {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    createdBy: row.created_by,
    labels: JSON.parse(row.labels) as string[],
    itemCount: row.item_count,
    stats: JSON.parse(row.stats) as DatasetStats,
    parentId: row.parent_id,
    note: row.note,
  };
}
