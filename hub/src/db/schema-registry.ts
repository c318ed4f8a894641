/**
 * Tables of run tracking, the model registry and the promotion gate (#6). Same conventions as
 * `schema.ts`: ISO-8601 text times, text ids, JSON as text, so the shapes map onto PostgreSQL later.
 *
 * Runs and their metrics are append-mostly: a run row changes only through its status
 * (queued → running → succeeded | failed | cancelled); metrics and artifacts are only ever added.
 * Model versions are immutable; which version is `champion` or `challenger` lives in
 * `model_aliases`, and every move of an alias leaves a row in `stage_history`.
 */
import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** One training run: what went in (params, dataset, code), where it ran, and what it cost. */
export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    /** Groups runs, as an MLflow experiment does; by default the model's name. */
    experiment: text('experiment').notNull(),
    createdAt: text('created_at').notNull(),
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }).notNull(),
    /** Training parameters, flat `{name: string | number | boolean}`. */
    params: text('params', { mode: 'json' }).notNull().$type<Record<string, string | number | boolean>>(),
    /** The dataset snapshot trained on; its id is the content hash, kept separately for lineage. */
    datasetId: text('dataset_id'),
    datasetHash: text('dataset_hash'),
    /** `git describe` or the package version of the code that trained. */
    codeVersion: text('code_version'),
    /** The tfjs backend the worker used (`wasm`, `tensorflow`, `webgpu` …). */
    backend: text('backend'),
    /** CPU model and cores, GPUs, memory, OS, as the worker reported them. */
    hardware: text('hardware', { mode: 'json' }).$type<Record<string, unknown>>(),
    startedAt: text('started_at'),
    finishedAt: text('finished_at'),
    durationMs: integer('duration_ms'),
    /** CPU and GPU seconds the run used; the energy estimate is computed from them. */
    cpuSeconds: real('cpu_seconds'),
    gpuSeconds: real('gpu_seconds'),
    energyKwh: real('energy_kwh'),
    co2G: real('co2_g'),
    error: text('error'),
    /** Who or what started it: `user:<name>`, `system:trigger:<firing id>` … */
    createdBy: text('created_by').notNull(),
  },
  (t) => [index('runs_created_idx').on(t.createdAt), index('runs_experiment_idx').on(t.experiment, t.createdAt)],
);

/** Metric values of a run, one row per (key, step); `epoch` is set for per-epoch metrics. */
export const runMetrics = sqliteTable(
  'run_metrics',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    key: text('key').notNull(),
    value: real('value').notNull(),
    step: integer('step').notNull(),
    epoch: integer('epoch'),
    at: text('at').notNull(),
  },
  (t) => [index('run_metrics_run_idx').on(t.runId, t.key, t.step)],
);

/** Files a run produced, stored in the object store under `runs/<run id>/<name>`. */
export const runArtifacts = sqliteTable(
  'run_artifacts',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    name: text('name').notNull(),
    objectKey: text('object_key').notNull(),
    sha256: text('sha256').notNull(),
    bytes: integer('bytes').notNull(),
    contentType: text('content_type').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.name] })],
);

/**
 * Registered model versions, immutable. `version` counts up per model name from 1. The ONNX bytes
 * and the registry's manifest (name and version rewritten to this version) live in the object
 * store under `models/<name>/<version>/`; the run and the dataset hash are the lineage.
 */
export const modelVersions = sqliteTable(
  'model_versions',
  {
    model: text('model').notNull(),
    version: integer('version').notNull(),
    runId: text('run_id').references(() => runs.id),
    datasetHash: text('dataset_hash'),
    onnxKey: text('onnx_key').notNull(),
    onnxSha256: text('onnx_sha256').notNull(),
    onnxBytes: integer('onnx_bytes').notNull(),
    manifestKey: text('manifest_key').notNull(),
    labels: text('labels', { mode: 'json' }).notNull().$type<string[]>(),
    /** Evaluation numbers at registration (validation accuracy, loss …). */
    metrics: text('metrics', { mode: 'json' }).notNull().$type<Record<string, number>>(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.version] }), index('model_versions_run_idx').on(t.runId)],
);

/** Which version currently holds each alias of a model (`champion`, `challenger`). */
export const modelAliases = sqliteTable(
  'model_aliases',
  {
    model: text('model').notNull(),
    alias: text('alias', { enum: ['champion', 'challenger'] }).notNull(),
    version: integer('version').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.alias] })],
);

/**
 * Who or what moved a model version, and why: registration, an alias set (with the version that
 * held it before and the alias the version held before), a gate rejection. Append-only.
 */
export const stageHistory = sqliteTable(
  'stage_history',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    model: text('model').notNull(),
    version: integer('version').notNull(),
    event: text('event', { enum: ['registered', 'alias-set', 'gate-rejected'] }).notNull(),
    /** The alias the version held before this event (`challenger` when promoted from it). */
    fromAlias: text('from_alias'),
    toAlias: text('to_alias'),
    /** The version that held `to_alias` before, if any. */
    replacedVersion: integer('replaced_version'),
    /** `user:<name>`, `system:gate`, `system:rollout`. */
    actor: text('actor').notNull(),
    reason: text('reason').notNull(),
    at: text('at').notNull(),
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('stage_history_model_idx').on(t.model, t.id)],
);

/**
 * Every promotion-gate decision with all of its numbers, so a promotion (or a refusal) can be
 * explained afterwards: accuracies, the paired-bootstrap CI of the difference, per-class recalls.
 */
export const gateDecisions = sqliteTable(
  'gate_decisions',
  {
    id: text('id').primaryKey(),
    at: text('at').notNull(),
    model: text('model').notNull(),
    championVersion: integer('champion_version'),
    /** The challenger as a registered version, or only as a run when the gate runs before registering. */
    challengerVersion: integer('challenger_version'),
    challengerRunId: text('challenger_run_id'),
    decision: text('decision', { enum: ['promote', 'reject'] }).notNull(),
    reasons: text('reasons', { mode: 'json' }).notNull().$type<string[]>(),
    examples: integer('examples').notNull(),
    championAccuracy: real('champion_accuracy').notNull(),
    challengerAccuracy: real('challenger_accuracy').notNull(),
    difference: real('difference').notNull(),
    ciLow: real('ci_low').notNull(),
    ciHigh: real('ci_high').notNull(),
    /** The settings it decided with: confidence, ε, per-class tolerance, resamples, seed. */
    settings: text('settings', { mode: 'json' }).notNull().$type<Record<string, number>>(),
    /** `{label: {support, champion, challenger, delta, regressed}}`. */
    perClass: text('per_class', { mode: 'json' }).notNull().$type<Record<string, unknown>>(),
    actor: text('actor').notNull(),
    /** Where the examples came from (golden set size, hard samples), and anything else to show. */
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('gate_decisions_model_idx').on(t.model, t.at)],
);

/**
 * How far each run, model version and alias has been mirrored to MLflow. The mirror compares this
 * with the local tables on every sync, so a failed push is simply retried by the next one (the
 * local tables are the outbox). `cursor` is the last `run_metrics.id` pushed for a run.
 */
export const mlflowSync = sqliteTable(
  'mlflow_sync',
  {
    kind: text('kind', { enum: ['run', 'version', 'alias'] }).notNull(),
    /** Run id, `model@version` or `model#alias`. */
    key: text('key').notNull(),
    /** MLflow's id: the run id, or the MLflow model version number. */
    mlflowId: text('mlflow_id'),
    cursor: integer('cursor').notNull().default(0),
    /** What was pushed already: params, artifact names, the final status, an alias's version. */
    state: text('state', { mode: 'json' }).notNull().$type<Record<string, unknown>>(),
    done: integer('done', { mode: 'boolean' }).notNull().default(false),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.key] })],
);
