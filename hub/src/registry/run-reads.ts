/** Read queries of run tracking (`runs.ts`): runs, their metric points and artifact records. */
import { and, asc, desc, eq, gt, type SQL } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { runArtifacts, runMetrics, runs } from '../db/schema-registry.js';
import type { ArtifactRecord, MetricPoint, RunRecord, RunStatus } from './types.js';

type Db = OpenDatabase['db'];

export interface RunFilter {
  experiment?: string;
  status?: RunStatus;
  limit?: number;
  offset?: number;
}

export function getRun(db: Db, id: string): RunRecord | undefined {
  return db.select().from(runs).where(eq(runs.id, id)).get();
}

/** Newest first. */
export function listRuns(db: Db, filter: RunFilter = {}): RunRecord[] {
  const where: SQL[] = [];
  if (filter.experiment !== undefined) where.push(eq(runs.experiment, filter.experiment));
  if (filter.status !== undefined) where.push(eq(runs.status, filter.status));
  return db
    .select()
    .from(runs)
    .where(and(...where))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(filter.limit ?? 50)
    .offset(filter.offset ?? 0)
    .all();
}

/** The run's metric values in (key, step) order, optionally one key, optionally after a row id. */
export function runMetricPoints(db: Db, id: string, filter: { key?: string; afterId?: number } = {}): (MetricPoint & { id: number })[] {
  const where: SQL[] = [eq(runMetrics.runId, id)];
  if (filter.key !== undefined) where.push(eq(runMetrics.key, filter.key));
  if (filter.afterId !== undefined) where.push(gt(runMetrics.id, filter.afterId));
  const order = filter.afterId !== undefined ? [asc(runMetrics.id)] : [asc(runMetrics.key), asc(runMetrics.step), asc(runMetrics.id)];
  return db
    .select({
      id: runMetrics.id,
      key: runMetrics.key,
      value: runMetrics.value,
      step: runMetrics.step,
      epoch: runMetrics.epoch,
      at: runMetrics.at,
    })
    .from(runMetrics)
    .where(and(...where))
    .orderBy(...order)
    .all();
}

export function listArtifacts(db: Db, id: string): ArtifactRecord[] {
  return db.select().from(runArtifacts).where(eq(runArtifacts.runId, id)).orderBy(asc(runArtifacts.name)).all();
}

export function artifactRecord(db: Db, id: string, name: string): ArtifactRecord | undefined {
  return db
    .select()
    .from(runArtifacts)
    .where(and(eq(runArtifacts.runId, id), eq(runArtifacts.name, name)))
    .get();
}
