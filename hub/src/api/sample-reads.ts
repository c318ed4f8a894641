/**
 * Read-only queries over `samples` and `labels` for the API. A sample's current label is its
 * newest `labels` row (labels are append-only); the `labels_sample_idx` index makes `max(id)` per
 * sample a seek.
 */
import type { OpenDatabase } from '../db/open.js';

export interface SampleSummary {
  id: string;
  source: 'device' | 'import';
  deviceId: string | null;
  origin: string | null;
  receivedAt: string;
  capturedAt: string | null;
  mime: string;
  width: number;
  height: number;
  byteLength: number;
  model: { name: string; version: number } | null;
  predictedLabel: string | null;
  confidence: number | null;
  preLabel: string | null;
  preConfidence: number | null;
  preModel: string | null;
  uncertainty: number | null;
  queueState: 'pending' | 'labelled' | 'skipped';
  /** The current label, if the sample has one. */
  label: string | null;
}

export interface SampleDetail extends SampleSummary {
  sampling: { strategy: string | null; score: number | null; inclusionProbability: number | null; audit: boolean };
  /** Header fields kept verbatim (probabilities, annotation, latency). */
  extra: unknown;
  objectKey: string;
}

export interface SampleFilter {
  deviceId?: string;
  queueState?: 'pending' | 'labelled' | 'skipped';
  source?: 'device' | 'import';
  /** Current label. */
  label?: string;
  /** `receivedAt >= since` and `< until` (ISO strings in UTC, as stored). */
  since?: string;
  until?: string;
}

const CURRENT_LABEL = '(SELECT label FROM labels WHERE id = (SELECT max(id) FROM labels WHERE sample_id = s.id))';

const COLUMNS = `s.id, s.source, s.device_id AS deviceId, s.origin, s.received_at AS receivedAt, s.captured_at AS capturedAt,
  s.mime, s.width, s.height, s.byte_length AS byteLength, s.model_name AS modelName, s.model_version AS modelVersion,
  s.predicted_label AS predictedLabel, s.confidence, s.pre_label AS preLabel, s.pre_confidence AS preConfidence,
  s.pre_model AS preModel, s.uncertainty, s.queue_state AS queueState, ${CURRENT_LABEL} AS label`;

type Row = Omit<SampleSummary, 'model'> & { modelName: string | null; modelVersion: number | null };
type DetailRow = Row & {
  samplingStrategy: string | null;
  samplingScore: number | null;
  inclusionProbability: number | null;
  audit: number;
  extra: string | null;
  objectKey: string;
};

function summaryOf({ modelName, modelVersion, ...row }: Row): SampleSummary {
  return { ...row, model: modelName !== null && modelVersion !== null ? { name: modelName, version: modelVersion } : null };
}

function whereOf(filter: SampleFilter): { sql: string; params: Record<string, string> } {
  const clauses: string[] = [];
  const params: Record<string, string> = {};
  const add = (key: keyof SampleFilter, clause: string) => {
    const value = filter[key];
    if (value === undefined) return;
    clauses.push(clause);
    params[key] = value;
  };
  add('deviceId', 's.device_id = @deviceId');
  add('queueState', 's.queue_state = @queueState');
  add('source', 's.source = @source');
  add('since', 's.received_at >= @since');
  add('until', 's.received_at < @until');
  add('label', `${CURRENT_LABEL} = @label`);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** One page of samples, newest first, with the count of all that match. */
export function listSamples(
  db: OpenDatabase,
  filter: SampleFilter,
  page: { limit: number; offset: number },
): { items: SampleSummary[]; total: number } {
  const { sql, params } = whereOf(filter);
  const rows = db.sqlite
    .prepare<Record<string, unknown>, Row>(
      `SELECT ${COLUMNS} FROM samples s ${sql} ORDER BY s.received_at DESC, s.id LIMIT @limit OFFSET @offset`,
    )
    .all({ ...params, limit: page.limit, offset: page.offset });
  const total = db.sqlite.prepare<Record<string, string>, number>(`SELECT count(*) FROM samples s ${sql}`).pluck().get(params) ?? 0;
  return { items: rows.map(summaryOf), total };
}

/** One sample with its sampling facts and extra header fields, or `undefined`. */
export function getSample(db: OpenDatabase, id: string): SampleDetail | undefined {
  const row = db.sqlite
    .prepare<[string], DetailRow>(
      `SELECT ${COLUMNS}, s.sampling_strategy AS samplingStrategy, s.sampling_score AS samplingScore,
         s.inclusion_probability AS inclusionProbability, s.audit, s.extra, s.object_key AS objectKey
       FROM samples s WHERE s.id = ?`,
    )
    .get(id);
  if (!row) return undefined;
  const { samplingStrategy, samplingScore, inclusionProbability, audit, extra, objectKey, ...rest } = row;
  return {
    ...summaryOf(rest),
    sampling: { strategy: samplingStrategy, score: samplingScore, inclusionProbability, audit: audit === 1 },
    extra: extra === null ? null : (JSON.parse(extra) as unknown),
    objectKey,
  };
}

/** Every label a sample was given, oldest first (the last one is current). */
export function labelHistory(db: OpenDatabase, sampleId: string) {
  return db.sqlite
    .prepare<[string], { sampleId: string; label: string; source: string; action: string; labelledBy: string; labelledAt: string }>(
      `SELECT sample_id AS sampleId, label, source, action, labelled_by AS labelledBy, labelled_at AS labelledAt
       FROM labels WHERE sample_id = ? ORDER BY id`,
    )
    .all(sampleId);
}
