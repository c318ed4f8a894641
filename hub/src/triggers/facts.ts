/**
 * What the label and performance triggers decide on, read from the database. Kept apart from the
 * pure evaluators (`evaluate.ts`) so that those can be tested on plain numbers and these on rows.
 */
import type { ModelRef } from '@edgeloop/protocol';
import type { OpenDatabase } from '../db/open.js';
import type { ReviewedSample } from './performance.js';

/** How many files a label gained and lost since the last trained snapshot. */
export interface LabelChange {
  added: number;
  removed: number;
}

/** The current label of every settled sample, as `createSnapshot` reads it. */
const CURRENT = `SELECT s.id AS sample_id, l.label AS label
  FROM samples s JOIN labels l ON l.id = (SELECT max(id) FROM labels WHERE sample_id = s.id)
  WHERE s.queue_state = 'labelled'`;

/** Label sources that are a person's decision in the labelling queue (`device-user` is not: a person flagged it because it was wrong). */
const REVIEWED_SOURCES = `('human', 'pre-annotation')`;

export class TriggerFacts {
  constructor(private readonly db: OpenDatabase) {}

  /** Distinct samples with a label row written after `since` (all labelled samples without one). */
  newLabelled(since: string | undefined): number {
    const sqlite = this.db.sqlite;
    if (since === undefined) return sqlite.prepare('SELECT COUNT(DISTINCT sample_id) FROM labels').pluck().get() as number;
    return sqlite.prepare('SELECT COUNT(DISTINCT sample_id) FROM labels WHERE labelled_at > ?').pluck().get(since) as number;
  }

  /**
   * Per label, the files that carry it now but did not in snapshot `datasetId` (added: new samples
   * and relabels to it) and those that carried it there but not now (removed: relabels away), so a
   * swap of 150 files between two labels counts 150 for each even though no count moved. Labels the
   * snapshot excluded on purpose (its `excludedLabels`) are left out. Without a snapshot every
   * current label counts as added.
   */
  labelChanges(datasetId: string | undefined): Record<string, LabelChange> {
    const sqlite = this.db.sqlite;
    const changes: Record<string, LabelChange> = {};
    const entry = (label: string) => {
      changes[label] ??= { added: 0, removed: 0 };
      return changes[label];
    };
    const id = datasetId ?? '';
    const added = sqlite
      .prepare<[string], { label: string; n: number }>(
        `WITH cur AS (${CURRENT}), old AS (SELECT sample_id, label FROM dataset_items WHERE dataset_id = ?)
         SELECT cur.label AS label, COUNT(*) AS n FROM cur LEFT JOIN old ON old.sample_id = cur.sample_id
         WHERE old.label IS NULL OR old.label <> cur.label GROUP BY cur.label`,
      )
      .all(id);
    for (const row of added) entry(row.label).added = row.n;
    const removed = sqlite
      .prepare<[string], { label: string; n: number }>(
        `WITH cur AS (${CURRENT}), old AS (SELECT sample_id, label FROM dataset_items WHERE dataset_id = ?)
         SELECT old.label AS label, COUNT(*) AS n FROM old LEFT JOIN cur ON cur.sample_id = old.sample_id
         WHERE cur.label IS NULL OR cur.label <> old.label GROUP BY old.label`,
      )
      .all(id);
    for (const row of removed) entry(row.label).removed = row.n;
    const stats = sqlite.prepare('SELECT stats FROM datasets WHERE id = ?').pluck().get(id) as string | undefined;
    const excluded = stats ? Object.keys((JSON.parse(stats) as { excludedLabels?: Record<string, number> }).excludedLabels ?? {}) : [];
    for (const label of excluded) delete changes[label];
    return changes;
  }

  /**
   * Device samples received after `since` whose current label a person gave or accepted in the
   * queue, with whether the device's prediction matched it. `audit` keeps only those the random
   * audit selected; `model` only predictions of that model.
   */
  reviewedSamples(options: { since: string; population: 'audit' | 'reviewed'; model?: ModelRef }): ReviewedSample[] {
    const where = [
      "s.source = 'device'",
      "s.queue_state = 'labelled'",
      's.predicted_label IS NOT NULL',
      's.received_at > @since',
      `l.source IN ${REVIEWED_SOURCES}`,
    ];
    if (options.population === 'audit') where.push('s.audit = 1');
    if (options.model) where.push('s.model_name = @modelName AND s.model_version = @modelVersion');
    const rows = this.db.sqlite
      .prepare<Record<string, unknown>, { correct: number; p: number | null }>(
        `SELECT s.predicted_label = l.label AS correct, s.inclusion_probability AS p
         FROM samples s JOIN labels l ON l.id = (SELECT max(id) FROM labels WHERE sample_id = s.id)
         WHERE ${where.join(' AND ')}`,
      )
      .all(
        options.model
          ? { since: options.since, modelName: options.model.name, modelVersion: options.model.version }
          : { since: options.since },
      );
    return rows.map((r) => ({ correct: r.correct === 1, inclusionProbability: r.p }));
  }
}
