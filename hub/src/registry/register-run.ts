/**
 * Registers a finished run's model: reads its `model.onnx` and `manifest.json` artifacts and
 * registers them as the next version, with the run and its dataset hash as lineage and the run's
 * last value of each metric as the version's metrics.
 */
import { decodeJson } from '@edgeloop/protocol';
import { HubError } from '../errors.js';
import type { ModelRegistry } from './models.js';
import type { RunTracker } from './runs.js';
import type { ModelVersionRecord } from './types.js';

export interface RegisterFromRun {
  runId: string;
  model: string;
  actor: string;
  reason?: string;
  onnxArtifact?: string;
  manifestArtifact?: string;
}

export async function registerFromRun(runs: RunTracker, registry: ModelRegistry, input: RegisterFromRun): Promise<ModelVersionRecord> {
  const run = runs.require(input.runId);
  if (run.status !== 'succeeded') throw new HubError('CONFLICT', `run ${run.id} is ${run.status}; only a succeeded run can be registered`);
  const onnx = await runs.readArtifact(run.id, input.onnxArtifact ?? 'model.onnx');
  const manifestFile = await runs.readArtifact(run.id, input.manifestArtifact ?? 'manifest.json');
  if (!onnx || !manifestFile) throw new HubError('NOT_FOUND', `run ${run.id} has no model.onnx and manifest.json artifacts`);
  const manifest = decodeJson('manifest', manifestFile.bytes);
  if (!manifest.ok) throw new HubError('BAD_REQUEST', `run ${run.id} has an invalid manifest: ${manifest.error.message}`);
  const metrics: Record<string, number> = {};
  // Ordered by (key, step): the last value written per key is the final one.
  for (const point of runs.metrics(run.id)) metrics[point.key] = point.value;
  return registry.register({
    model: input.model,
    onnx: onnx.bytes,
    manifest: manifest.value,
    runId: run.id,
    ...(run.datasetHash ? { datasetHash: run.datasetHash } : {}),
    metrics,
    actor: input.actor,
    reason: input.reason ?? `trained by run ${run.id}`,
  });
}
