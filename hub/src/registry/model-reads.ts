/** Read queries of the model registry (`models.ts`): versions, aliases, models, stage history. */
import { and, asc, desc, eq, max } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { modelAliases, modelVersions, stageHistory } from '../db/schema-registry.js';
import type { Alias, ModelVersionRecord, StageEvent } from './types.js';

type Db = OpenDatabase['db'];

export interface ModelSummary {
  model: string;
  latestVersion: number;
  aliases: Partial<Record<Alias, number>>;
}

export function getVersion(db: Db, model: string, version: number): ModelVersionRecord | undefined {
  return db
    .select()
    .from(modelVersions)
    .where(and(eq(modelVersions.model, model), eq(modelVersions.version, version)))
    .get();
}

/** The version numbers holding each alias of `model`. */
export function aliasesOf(db: Db, model: string): Partial<Record<Alias, number>> {
  const rows = db.select().from(modelAliases).where(eq(modelAliases.model, model)).all();
  return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
}

/** Newest first. */
export function versionsOf(db: Db, model: string): ModelVersionRecord[] {
  return db.select().from(modelVersions).where(eq(modelVersions.model, model)).orderBy(desc(modelVersions.version)).all();
}

/** Every model with its latest version and aliases, by name. */
export function listModels(db: Db): ModelSummary[] {
  const rows = db
    .select({ model: modelVersions.model, latestVersion: max(modelVersions.version) })
    .from(modelVersions)
    .groupBy(modelVersions.model)
    .orderBy(asc(modelVersions.model))
    .all();
  return rows.map((r) => ({ model: r.model, latestVersion: r.latestVersion ?? 0, aliases: aliasesOf(db, r.model) }));
}

/** The stage history of a model, oldest first. */
export function historyOf(db: Db, model: string): StageEvent[] {
  return db.select().from(stageHistory).where(eq(stageHistory.model, model)).orderBy(asc(stageHistory.id)).all();
}
