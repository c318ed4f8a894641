/**
 * The model registry: immutable versions with lineage (the run that trained them, the dataset
 * hash), the aliases `champion` and `challenger`, and the stage history of who or what moved them
 * and why. A version's ONNX bytes and a manifest naming exactly this version live in the object
 * store under `models/<name>/<version>/`, written before the row, so a listed version always has
 * its files.
 */
import { createHash } from 'node:crypto';
import { type ModelManifest, ModelManifestSchema, ModelNameSchema } from '@edgeloop/protocol';
import { and, eq, max } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { modelAliases, modelVersions, stageHistory } from '../db/schema-registry.js';
import { HubError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { aliasesOf, getVersion, historyOf, listModels, type ModelSummary, versionsOf } from './model-reads.js';
import { ALIASES, type Alias, type ModelVersionRecord, type StageEvent } from './types.js';

export interface ModelRegistryDeps {
  db: OpenDatabase;
  store: ObjectStore;
  now?: () => Date;
  /** Called after a version is registered or an alias moves (the MLflow mirror schedules a sync). */
  onChange?: () => void;
}

export interface RegisterVersion {
  model: string;
  onnx: Uint8Array;
  /** The trainer's manifest; name, version and dataset hash are rewritten by the registry. */
  manifest: ModelManifest;
  runId?: string;
  datasetHash?: string;
  metrics?: Record<string, number>;
  actor: string;
  reason?: string;
}

/** Stage-history actors: a person, the promotion gate, or the rollout controller. */
export const ACTOR = /^(user:.+|system:gate|system:rollout|system:[a-z-]+)$/;

export class ModelRegistry {
  private readonly now: () => Date;
  /** Registrations of one process run one at a time: the next version number is read, then used. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ModelRegistryDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Registers the next version of `model`; the ONNX bytes must match the manifest's sha256 and length. */
  register(input: RegisterVersion): Promise<ModelVersionRecord> {
    const next = this.queue.then(() => this.registerNow(input));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async registerNow(input: RegisterVersion): Promise<ModelVersionRecord> {
    checkName(input.model);
    checkActor(input.actor);
    const sha256 = createHash('sha256').update(input.onnx).digest('hex');
    if (sha256 !== input.manifest.model.sha256 || input.onnx.byteLength !== input.manifest.model.length) {
      throw new HubError('BAD_REQUEST', `the ONNX bytes are not the model the manifest names (sha256 ${sha256})`);
    }
    const { db } = this.deps.db;
    const latest = db
      .select({ v: max(modelVersions.version) })
      .from(modelVersions)
      .where(eq(modelVersions.model, input.model))
      .get();
    const version = (latest?.v ?? 0) + 1;
    const datasetHash = input.datasetHash ?? input.manifest.datasetHash;
    const parsed = ModelManifestSchema.safeParse({
      ...input.manifest,
      name: input.model,
      version,
      ...(datasetHash ? { datasetHash } : {}),
    });
    if (!parsed.success) throw new HubError('BAD_REQUEST', `invalid manifest: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    const manifest = parsed.data;
    const prefix = `models/${input.model}/${version}`;
    await this.deps.store.put(`${prefix}/model.onnx`, input.onnx, { contentType: 'application/octet-stream' });
    await this.deps.store.put(`${prefix}/manifest.json`, new TextEncoder().encode(JSON.stringify(manifest)), {
      contentType: 'application/json',
    });
    const at = this.now().toISOString();
    const record: ModelVersionRecord = {
      model: input.model,
      version,
      runId: input.runId ?? null,
      datasetHash: datasetHash ?? null,
      onnxKey: `${prefix}/model.onnx`,
      onnxSha256: sha256,
      onnxBytes: input.onnx.byteLength,
      manifestKey: `${prefix}/manifest.json`,
      labels: [...manifest.labels],
      metrics: input.metrics ?? {},
      createdAt: at,
      createdBy: input.actor,
    };
    db.transaction((tx) => {
      tx.insert(modelVersions).values(record).run();
      tx.insert(stageHistory)
        .values({
          model: input.model,
          version,
          event: 'registered',
          actor: input.actor,
          reason: input.reason ?? 'registered',
          at,
          detail: { runId: record.runId, datasetHash: record.datasetHash },
        })
        .run();
    });
    this.deps.onChange?.();
    return record;
  }

  /**
   * Points `alias` at `version`, recording who and why. Promoting the challenger to champion clears
   * the challenger alias (the version cannot be both). Setting the alias it already has is a no-op.
   */
  setAlias(
    model: string,
    alias: Alias,
    version: number,
    actor: string,
    reason: string,
    detail?: Record<string, unknown>,
  ): StageEvent | undefined {
    checkActor(actor);
    if (!ALIASES.includes(alias)) throw new HubError('BAD_REQUEST', `alias must be one of ${ALIASES.join(', ')}`);
    if (!reason.trim()) throw new HubError('BAD_REQUEST', 'moving an alias needs a reason');
    this.requireVersion(model, version);
    const at = this.now().toISOString();
    const event = this.deps.db.db.transaction((tx) => {
      const held = tx.select().from(modelAliases).where(eq(modelAliases.model, model)).all();
      const current = held.find((a) => a.alias === alias)?.version;
      if (current === version) return undefined;
      const fromAlias = held.find((a) => a.version === version && a.alias !== alias)?.alias ?? null;
      if (fromAlias)
        tx.delete(modelAliases)
          .where(and(eq(modelAliases.model, model), eq(modelAliases.alias, fromAlias)))
          .run();
      tx.insert(modelAliases)
        .values({ model, alias, version, updatedAt: at })
        .onConflictDoUpdate({ target: [modelAliases.model, modelAliases.alias], set: { version, updatedAt: at } })
        .run();
      return tx
        .insert(stageHistory)
        .values({
          model,
          version,
          event: 'alias-set',
          fromAlias,
          toAlias: alias,
          replacedVersion: current ?? null,
          actor,
          reason,
          at,
          detail: detail ?? null,
        })
        .returning()
        .get();
    });
    if (event) this.deps.onChange?.();
    return event;
  }

  /** Records that the gate refused a registered version (it keeps its aliases, if any). */
  recordRejection(model: string, version: number, reason: string, detail?: Record<string, unknown>): StageEvent {
    this.requireVersion(model, version);
    const at = this.now().toISOString();
    return this.deps.db.db
      .insert(stageHistory)
      .values({ model, version, event: 'gate-rejected', actor: 'system:gate', reason, at, detail: detail ?? null })
      .returning()
      .get();
  }

  getAlias(model: string, alias: Alias): ModelVersionRecord | undefined {
    const version = this.aliases(model)[alias];
    return version === undefined ? undefined : this.getVersion(model, version);
  }

  aliases(model: string): Partial<Record<Alias, number>> {
    return aliasesOf(this.deps.db.db, model);
  }

  getVersion(model: string, version: number): ModelVersionRecord | undefined {
    return getVersion(this.deps.db.db, model, version);
  }

  requireVersion(model: string, version: number): ModelVersionRecord {
    const found = this.getVersion(model, version);
    if (!found) throw new HubError('NOT_FOUND', `no version ${version} of model ${model}`);
    return found;
  }

  /** Newest first. */
  versions(model: string): ModelVersionRecord[] {
    return versionsOf(this.deps.db.db, model);
  }

  models(): ModelSummary[] {
    return listModels(this.deps.db.db);
  }

  /** The stage history of a model, oldest first. */
  history(model: string): StageEvent[] {
    return historyOf(this.deps.db.db, model);
  }

  /** The manifest and ONNX bytes of a version, from the object store. */
  async files(model: string, version: number): Promise<{ manifest: ModelManifest; onnx: Uint8Array }> {
    const record = this.requireVersion(model, version);
    const [manifestBytes, onnx] = await Promise.all([this.deps.store.get(record.manifestKey), this.deps.store.get(record.onnxKey)]);
    if (!manifestBytes || !onnx) throw new HubError('STORAGE_FAILED', `the files of ${model}@${version} are missing from the object store`);
    return { manifest: ModelManifestSchema.parse(JSON.parse(new TextDecoder().decode(manifestBytes))), onnx };
  }
}

function checkName(model: string): void {
  if (!ModelNameSchema.safeParse(model).success) throw new HubError('BAD_REQUEST', `invalid model name ${JSON.stringify(model)}`);
}

function checkActor(actor: string): void {
  if (!ACTOR.test(actor)) throw new HubError('BAD_REQUEST', `actor must be user:<name> or system:<part>, got ${JSON.stringify(actor)}`);
}
