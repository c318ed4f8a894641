/** Shapes of runs, artifacts and model versions as the registry returns them (and the API sends). */
import type { gateDecisions, modelVersions, runArtifacts, runs, stageHistory } from '../db/schema-registry.js';

export type RunStatus = (typeof runs.$inferSelect)['status'];
export type RunRecord = typeof runs.$inferSelect;
export type ArtifactRecord = Omit<typeof runArtifacts.$inferSelect, 'runId'> & { runId: string };
export type ModelVersionRecord = typeof modelVersions.$inferSelect;
export type StageEvent = typeof stageHistory.$inferSelect;
export type GateDecisionRecord = typeof gateDecisions.$inferSelect;
export type Alias = 'champion' | 'challenger';
export const ALIASES: readonly Alias[] = ['champion', 'challenger'];

/** One metric value: `step` orders a series; `epoch` is set for per-epoch values. */
export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  epoch: number | null;
  at: string;
}

/** Run statuses a run can no longer leave. */
export const TERMINAL: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Flat names for artifacts and metric keys: they become object-key segments and MLflow paths. */
export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const METRIC_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,249}$/;
