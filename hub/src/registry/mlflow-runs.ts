/**
 * Pushes one run to MLflow, step by step, each step recorded in `mlflow_sync` once it succeeded:
 * find or create the MLflow run (tagged `edgeloop.run_id`, so a create whose answer was lost is
 * found again instead of duplicated), params once, tags when they change, metrics after the
 * cursor (MLflow ignores an exact duplicate, so a batch resent after a crash is harmless),
 * artifacts whose sha256 changed, and the final status.
 */
import type { KeyValue, MetricValue, MlflowClient, MlflowStatus } from './mlflow-client.js';
import type { SyncState } from './mlflow-state.js';
import type { RunTracker } from './runs.js';
import { type RunRecord, type RunStatus, TERMINAL } from './types.js';

export interface RunMirrorContext {
  client: MlflowClient;
  state: SyncState;
  runs: RunTracker;
}

/** What MLflow's run row holds about the mirror's progress. */
interface RunSyncState {
  experimentId?: string;
  artifactUri?: string;
  params?: boolean;
  tags?: string;
  status?: string;
  artifacts?: Record<string, string>;
}

const STATUS: Record<RunStatus, MlflowStatus> = {
  queued: 'SCHEDULED',
  running: 'RUNNING',
  succeeded: 'FINISHED',
  failed: 'FAILED',
  cancelled: 'KILLED',
};
const MAX_PARAMS = 100;
const MAX_METRICS = 1000;
/** MLflow's cap on a param value (6,000 since 2.x) and on a tag value (8,000). */
const MAX_PARAM_CHARS = 6000;
const MAX_TAG_CHARS = 8000;

export async function pushRun(ctx: RunMirrorContext, run: RunRecord): Promise<void> {
  let row = ctx.state.get('run', run.id);
  let s = (row?.state ?? {}) as RunSyncState;
  const save = (patch: { mlflowId?: string; cursor?: number; done?: boolean } = {}) => {
    row = ctx.state.save('run', run.id, { ...patch, state: { ...s } });
  };
  let mlflowId = row?.mlflowId ?? undefined;
  if (!mlflowId || !s.artifactUri) {
    const experimentId = await ctx.client.experimentId(run.experiment);
    const found =
      (await ctx.client.findRun(experimentId, 'edgeloop.run_id', run.id)) ??
      (await ctx.client.createRun(experimentId, `${run.experiment}-${run.id.slice(0, 8)}`, Date.parse(run.createdAt), [
        { key: 'edgeloop.run_id', value: run.id },
      ]));
    mlflowId = found.runId;
    s = { ...s, experimentId, artifactUri: found.artifactUri };
    save({ mlflowId });
  }
  const id = mlflowId;
  if (!s.params) {
    const params = Object.entries(run.params).map(([key, value]) => ({ key, value: String(value).slice(0, MAX_PARAM_CHARS) }));
    for (let i = 0; i < params.length; i += MAX_PARAMS) await ctx.client.logBatch(id, { params: params.slice(i, i + MAX_PARAMS) });
    s.params = true;
    save();
  }
  const tags = tagsOf(run);
  const tagText = JSON.stringify(tags);
  if (s.tags !== tagText) {
    await ctx.client.logBatch(id, { tags });
    s.tags = tagText;
    save();
  }
  for (;;) {
    const points = ctx.runs.metrics(run.id, { afterId: row?.cursor ?? 0 }).slice(0, MAX_METRICS);
    if (points.length === 0) break;
    const metrics = points.map((p) => ({ key: p.key, value: p.value, timestamp: Date.parse(p.at), step: p.step }));
    await ctx.client.logBatch(id, { metrics });
    save({ cursor: points[points.length - 1]!.id });
  }
  s.artifacts ??= {};
  for (const artifact of ctx.runs.artifacts(run.id)) {
    if (s.artifacts[artifact.name] === artifact.sha256) continue;
    const file = await ctx.runs.readArtifact(run.id, artifact.name);
    if (!file) continue;
    await ctx.client.uploadArtifact(s.artifactUri!, artifact.name, file.bytes, artifact.contentType);
    s.artifacts[artifact.name] = artifact.sha256;
    save();
  }
  const terminal = TERMINAL.has(run.status);
  if (s.status !== run.status) {
    if (terminal) await ctx.client.logBatch(id, { metrics: costMetrics(run) });
    await ctx.client.updateRun(id, STATUS[run.status], run.finishedAt ? Date.parse(run.finishedAt) : undefined);
    s.status = run.status;
  }
  save({ done: terminal });
}

/** The run's facts that are not params: lineage, code, backend, hardware, outcome. */
function tagsOf(run: RunRecord): KeyValue[] {
  const tags: Record<string, unknown> = {
    'edgeloop.run_id': run.id,
    'edgeloop.created_by': run.createdBy,
    'edgeloop.dataset_id': run.datasetId,
    'edgeloop.dataset_hash': run.datasetHash,
    'edgeloop.code_version': run.codeVersion,
    'edgeloop.backend': run.backend,
    'edgeloop.hardware': run.hardware ? JSON.stringify(run.hardware) : null,
    'edgeloop.error': run.error,
  };
  return Object.entries(tags)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([key, value]) => ({ key, value: String(value).slice(0, MAX_TAG_CHARS) }));
}

/** Duration, energy and CO₂ as metrics, so MLflow can chart and compare them across runs. */
function costMetrics(run: RunRecord): MetricValue[] {
  const timestamp = Date.parse(run.finishedAt ?? run.createdAt);
  const values: Record<string, number | null> = {
    duration_ms: run.durationMs,
    energy_kwh: run.energyKwh,
    co2_g: run.co2G,
    cpu_seconds: run.cpuSeconds,
    gpu_seconds: run.gpuSeconds,
  };
  return Object.entries(values)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([key, value]) => ({ key, value, timestamp, step: 0 }));
}
