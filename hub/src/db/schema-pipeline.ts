/**
 * Tables of the training pipeline (#6): training jobs leased to trainer workers, the per-firing
 * pipeline state machine, the frozen golden test set, and rollouts. Same conventions as
 * `schema.ts`: ISO-8601 text times, text ids, JSON as text. The hub reads and writes these through
 * the raw connection (`jobs/`, `pipeline/`, `rollout/`), one short transaction per transition.
 */
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * A training job: what to train (`dataset_id`, `params`) and who trains it now. A worker leases a
 * queued job for `lease_ms` and extends it by heartbeats; a lease that expires returns the job to
 * `queued` (a lost worker), or fails it once `attempts` (leases handed out) reached `max_attempts`.
 * Each lease gets a fresh `lease_id` and a fresh run (`run_id`), so a late call from a worker that
 * lost its lease is refused and every attempt keeps its own metrics. `firing_id` makes the
 * pipeline's "create the job" step idempotent.
 */
export const trainingJobs = sqliteTable(
  'training_jobs',
  {
    id: text('id').primaryKey(),
    firingId: text('firing_id'),
    model: text('model').notNull(),
    runId: text('run_id'),
    datasetId: text('dataset_id').notNull(),
    params: text('params', { mode: 'json' }).notNull().$type<Record<string, string | number | boolean>>(),
    state: text('state', { enum: ['queued', 'leased', 'running', 'succeeded', 'failed', 'cancelled'] }).notNull(),
    leaseId: text('lease_id'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: text('lease_expires_at'),
    attempts: integer('attempts').notNull(),
    maxAttempts: integer('max_attempts').notNull(),
    error: text('error'),
    /** What the worker reported at the end: test accuracy, counts, backend. */
    result: text('result', { mode: 'json' }).$type<Record<string, unknown>>(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [uniqueIndex('training_jobs_firing_idx').on(t.firingId), index('training_jobs_state_idx').on(t.state, t.createdAt)],
);

/**
 * One row per trigger firing the pipeline took: the step it is at and every step's outputs, so a
 * restarted hub resumes at `step` and never repeats a finished one (each step checks its outputs
 * first). `state` is `active` until the run ends `done`, `failed`, `rejected` or `cancelled`.
 */
export const pipelineRuns = sqliteTable(
  'pipeline_runs',
  {
    firingId: text('firing_id').primaryKey(),
    model: text('model').notNull(),
    step: text('step').notNull(),
    state: text('state', { enum: ['active', 'done', 'failed', 'rejected', 'cancelled'] }).notNull(),
    outputs: text('outputs', { mode: 'json' }).notNull().$type<Record<string, unknown>>(),
    error: text('error'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [index('pipeline_runs_state_idx').on(t.state, t.createdAt)],
);

/**
 * The frozen golden test set of a model: the test split of the first snapshot a champion was
 * trained on, with the labels that snapshot had (the `dataset_items` rows are immutable). Set once,
 * when the first champion is chosen; every later gate compares on it.
 */
export const goldenSets = sqliteTable('golden_sets', {
  model: text('model').primaryKey(),
  datasetId: text('dataset_id').notNull(),
  createdAt: text('created_at').notNull(),
});

/**
 * A rollout of one release: published to the canary track first, watched, then promoted to the
 * stable track or rolled back (a new, higher release carrying `previous_model_version`'s bytes).
 * `release_version` is the version devices see; `model_version` the registry version it carries.
 */
export const rollouts = sqliteTable(
  'rollouts',
  {
    id: text('id').primaryKey(),
    firingId: text('firing_id'),
    model: text('model').notNull(),
    releaseVersion: integer('release_version').notNull(),
    modelVersion: integer('model_version').notNull(),
    previousReleaseVersion: integer('previous_release_version'),
    previousModelVersion: integer('previous_model_version'),
    state: text('state', { enum: ['canary', 'paused', 'promoted', 'rolled-back'] }).notNull(),
    cohortPercent: real('cohort_percent').notNull(),
    startedAt: text('started_at').notNull(),
    watchUntil: text('watch_until').notNull(),
    /** The release that undid this one, when rolled back. */
    rollbackReleaseVersion: integer('rollback_release_version'),
    /** The watch's numbers and the reasons of the last decision. */
    decision: text('decision', { mode: 'json' }).$type<Record<string, unknown>>(),
    actor: text('actor'),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [uniqueIndex('rollouts_firing_idx').on(t.firingId), index('rollouts_model_idx').on(t.model, t.startedAt)],
);
