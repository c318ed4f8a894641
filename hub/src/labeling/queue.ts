/**
 * The labelling queue: pending samples, most uncertain first, and the three things a person does
 * with one (accept the proposed label, correct it, skip the sample). Every action appends to
 * `labels` (never updates it: the newest row per sample is its label) and to `audit_log`, with the
 * actor, in one transaction.
 *
 * Order: `score = COALESCE(uncertainty, 1 - confidence)` descending, samples without either last,
 * then `received_at`, then `id`. `uncertainty` is the hub's pre-annotation (least confidence, see
 * `classifier.ts`); until a sample has one, the device's own top-1 confidence stands in, on the
 * same least-confidence scale. Paging is by keyset on (score, received_at, id), so a page never
 * repeats or skips a sample that stays pending while someone pages.
 */
import { LabelSchema } from '@edgeloop/protocol';
import type { OpenDatabase } from '../db/open.js';
import { HubError } from '../errors.js';
import type { HubMetrics } from '../metrics.js';
import { type Cursor, decodeCursor, encodeCursor, pageSql, SCORE } from './cursor.js';

export interface QueueItem {
  sampleId: string;
  deviceId: string | null;
  receivedAt: string;
  /** The device's own prediction. */
  predictedLabel: string | null;
  confidence: number | null;
  /** The hub's pre-annotation by the production model. */
  preLabel: string | null;
  preConfidence: number | null;
  /** What the queue is ordered by: the pre-annotation's, else 1 − the device's confidence. */
  uncertainty: number | null;
}

export interface LabelRecord {
  sampleId: string;
  label: string;
  source: 'human' | 'pre-annotation';
  action: 'accept' | 'correct';
  labelledBy: string;
  labelledAt: string;
}

export interface LabellingQueueDeps {
  db: OpenDatabase;
  metrics: Pick<HubMetrics, 'labellingQueueDepth'>;
  /** The clock for `labelledAt` and the audit log (tests pin it). */
  now?: () => Date;
  /** Called after each committed label (the trigger engine's `notify('labelled')`). */
  onLabelled?: () => void;
}

/** Largest page {@link LabellingQueue.next} serves. */
export const MAX_QUEUE_PAGE = 500;

interface SampleState {
  queueState: 'pending' | 'labelled' | 'skipped';
  preLabel: string | null;
  predictedLabel: string | null;
}

export class LabellingQueue {
  private readonly sqlite: OpenDatabase['sqlite'];
  private readonly metrics: LabellingQueueDeps['metrics'];
  private readonly now: () => Date;
  private readonly onLabelled: () => void;

  constructor(deps: LabellingQueueDeps) {
    this.sqlite = deps.db.sqlite;
    this.onLabelled = deps.onLabelled ?? (() => {});
    this.metrics = deps.metrics;
    this.now = deps.now ?? (() => new Date());
    // prom-client runs a metric's `collect` (a documented config option) before every scrape, so
    // the gauge also counts samples that ingest queued since the last labelling action.
    (this.metrics.labellingQueueDepth as unknown as { collect?: () => void }).collect = () => {
      this.depth();
    };
    this.depth();
  }

  /** One page of pending samples, most uncertain first; pass `nextCursor` back for the next page. */
  next(opts: { limit: number; cursor?: string }): { items: QueueItem[]; nextCursor?: string } {
    const { limit } = opts;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUEUE_PAGE) {
      throw new HubError('BAD_REQUEST', `limit must be an integer in 1..${MAX_QUEUE_PAGE}`);
    }
    const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
    const { sql, params } = pageSql(after);
    const rows = this.sqlite
      .prepare<Record<string, unknown>, QueueItem & { score: number | null }>(
        `SELECT id AS sampleId, device_id AS deviceId, received_at AS receivedAt, predicted_label AS predictedLabel,
           confidence, pre_label AS preLabel, pre_confidence AS preConfidence, ${SCORE} AS score
         FROM samples WHERE queue_state = 'pending' AND ${sql}
         ORDER BY ${SCORE} DESC NULLS LAST, received_at, id LIMIT @limit`,
      )
      .all({ ...params, limit: limit + 1 });
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const items = page.map(({ score, ...item }) => ({ ...item, uncertainty: score }));
    const last = page.at(-1);
    const cursor: Cursor | undefined = more && last ? { score: last.score, receivedAt: last.receivedAt, id: last.sampleId } : undefined;
    return cursor ? { items, nextCursor: encodeCursor(cursor) } : { items };
  }

  /** Accepts the proposed label: the pre-annotation, else the device's prediction. */
  accept(sampleId: string, actor: string): LabelRecord {
    return this.write(sampleId, actor, (s) => {
      if (s.queueState !== 'pending') throw new HubError('CONFLICT', `sample ${sampleId} is ${s.queueState}, not pending`);
      const label = s.preLabel ?? s.predictedLabel;
      if (label === null) throw new HubError('BAD_REQUEST', `sample ${sampleId} has no proposed label to accept`);
      return { label, source: 'pre-annotation', action: 'accept' };
    });
  }

  /** Labels a sample by hand; also relabels a labelled or skipped one (the newest label wins). */
  correct(sampleId: string, label: string, actor: string): LabelRecord {
    const parsed = LabelSchema.safeParse(label);
    if (!parsed.success) throw new HubError('BAD_REQUEST', `invalid label: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    return this.write(sampleId, actor, () => ({ label, source: 'human', action: 'correct' }));
  }

  /** Takes a pending sample out of the queue without a label. */
  skip(sampleId: string, actor: string): void {
    this.transaction(sampleId, actor, (s, at) => {
      if (s.queueState !== 'pending') throw new HubError('CONFLICT', `sample ${sampleId} is ${s.queueState}, not pending`);
      this.sqlite.prepare("UPDATE samples SET queue_state = 'skipped' WHERE id = ?").run(sampleId);
      this.audit(actor, 'label.skip', sampleId, null, at);
    });
  }

  /** Pending samples; also refreshes the queue-depth gauge. */
  depth(): number {
    const n = this.sqlite.prepare<[], number>("SELECT count(*) FROM samples WHERE queue_state = 'pending'").pluck().get() ?? 0;
    this.metrics.labellingQueueDepth.set(n);
    return n;
  }

  private write(
    sampleId: string,
    actor: string,
    decide: (s: SampleState) => Pick<LabelRecord, 'label' | 'source' | 'action'>,
  ): LabelRecord {
    const record = this.transaction(sampleId, actor, (s, at) => {
      const { label, source, action } = decide(s);
      this.sqlite
        .prepare('INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(sampleId, label, source, action, actor, at);
      this.sqlite.prepare("UPDATE samples SET queue_state = 'labelled' WHERE id = ?").run(sampleId);
      this.audit(actor, `label.${action}`, sampleId, { label, source, from: s.queueState }, at);
      return { sampleId, label, source, action, labelledBy: actor, labelledAt: at };
    });
    this.onLabelled();
    return record;
  }

  /** Runs `body` on the sample's current state in an IMMEDIATE transaction, then updates the gauge. */
  private transaction<T>(sampleId: string, actor: string, body: (s: SampleState, at: string) => T): T {
    if (typeof actor !== 'string' || actor.length === 0) throw new HubError('BAD_REQUEST', 'an action needs an actor');
    const run = this.sqlite.transaction(() => {
      const s = this.sqlite
        .prepare<[string], SampleState>(
          'SELECT queue_state AS queueState, pre_label AS preLabel, predicted_label AS predictedLabel FROM samples WHERE id = ?',
        )
        .get(sampleId);
      if (!s) throw new HubError('NOT_FOUND', `no sample ${sampleId}`);
      return body(s, this.now().toISOString());
    });
    const result = run.immediate();
    this.depth();
    return result;
  }

  private audit(actor: string, action: string, subject: string, detail: unknown, at: string): void {
    this.sqlite
      .prepare('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(at, actor, action, subject, detail === null ? null : JSON.stringify(detail));
  }
}
