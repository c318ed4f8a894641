/** The log of trigger firings (`trigger_firings`): written by the engine, read by the API. */
import type { OpenDatabase } from '../db/open.js';
import type { TriggerKind } from './config.js';

/** One firing: the kind that fired, why, on which inputs, and the kinds that were ready with it. */
export interface Firing {
  id: string;
  at: string;
  kind: TriggerKind;
  reason: string;
  inputs: Record<string, unknown>;
  others: { kind: TriggerKind; reason: string; inputs: Record<string, unknown> }[];
  /** Who asked, for a manual firing. */
  actor: string | null;
  /** The training the firing was measured against, as the pipeline reported it. */
  sinceTrainingAt: string | null;
  sinceDatasetId: string | null;
}

interface FiringRow {
  id: string;
  at: string;
  kind: TriggerKind;
  reason: string;
  inputs: string;
  others: string;
  actor: string | null;
  since_training_at: string | null;
  since_dataset_id: string | null;
}

function firingOf(row: FiringRow): Firing {
  return {
    id: row.id,
    at: row.at,
    kind: row.kind,
    reason: row.reason,
    inputs: JSON.parse(row.inputs) as Firing['inputs'],
    others: JSON.parse(row.others) as Firing['others'],
    actor: row.actor,
    sinceTrainingAt: row.since_training_at,
    sinceDatasetId: row.since_dataset_id,
  };
}

export interface FiringQuery {
  kind?: TriggerKind;
  /** Only firings strictly before this time (the `at` of the last item of the previous page). */
  before?: string;
  limit: number;
}

export class FiringLog {
  constructor(private readonly db: OpenDatabase) {}

  insert(firing: Firing): void {
    this.db.sqlite
      .prepare(
        `INSERT INTO trigger_firings (id, at, kind, reason, inputs, others, actor, since_training_at, since_dataset_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        firing.id,
        firing.at,
        firing.kind,
        firing.reason,
        JSON.stringify(firing.inputs),
        JSON.stringify(firing.others),
        firing.actor,
        firing.sinceTrainingAt,
        firing.sinceDatasetId,
      );
  }

  /** Firings, newest first. */
  list(query: FiringQuery): Firing[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.kind) {
      where.push('kind = ?');
      params.push(query.kind);
    }
    if (query.before) {
      where.push('at < ?');
      params.push(query.before);
    }
    const sql = `SELECT * FROM trigger_firings ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`;
    return this.db.sqlite
      .prepare<unknown[], FiringRow>(sql)
      .all(...params, query.limit)
      .map(firingOf);
  }

  /** The newest firing (of `kind`, when given). */
  last(kind?: TriggerKind): Firing | undefined {
    return this.list({ ...(kind ? { kind } : {}), limit: 1 })[0];
  }
}
