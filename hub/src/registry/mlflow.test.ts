import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePart } from '@edgeloop/tests/support/ci';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRegistryConfig } from './config.js';
import { MlflowMirror } from './mlflow.js';
import { registerFromRun } from './register-run.js';
import { freePort, type MlflowServer, mlflowBin, startMlflow } from './test-mlflow.js';
import { manifestFor, openRegistryHarness, type RegistryHarness } from './test-support.js';

const bin = mlflowBin();
const available = requirePart(
  'mlflow',
  bin !== undefined,
  'run .ci/mlflow.sh (a venv at .cache/mlflow-venv with `pip install mlflow`), or set EDGELOOP_MLFLOW_BIN',
);

// biome-ignore lint/suspicious/noExplicitAny: MLflow JSON replies, read field by field in assertions.
type Json = Record<string, any>;

describe.runIf(available)('MLflow mirror against a real MLflow server', () => {
  let h: RegistryHarness;
  let mirror: MlflowMirror;
  let server: MlflowServer | undefined;
  let dir: string;
  let port: number;
  let uri: string;
  let runId: string;

  const api = async (path: string, init?: { method?: string; body?: Json; query?: Record<string, string> }): Promise<Json> => {
    const url = new URL(`${uri}/api/2.0/mlflow/${path}`);
    for (const [k, v] of Object.entries(init?.query ?? {})) url.searchParams.set(k, v);
    const response = await fetch(url, {
      method: init?.method ?? (init?.body ? 'POST' : 'GET'),
      ...(init?.body ? { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } } : {}),
    });
    expect(response.status, `${path}: ${response.status}`).toBe(200);
    return (await response.json()) as Json;
  };
  const mlflowRunOf = async (id: string) => {
    const experiment = (await api('experiments/get-by-name', { query: { experiment_name: 'digits' } })).experiment;
    const found = await api('runs/search', {
      body: { experiment_ids: [experiment.experiment_id], filter: `tags.\`edgeloop.run_id\` = '${id}'` },
    });
    return found.runs as Json[];
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-mlflow-'));
    port = await freePort();
    uri = `http://127.0.0.1:${port}`;
    h = await openRegistryHarness();
    mirror = new MlflowMirror({
      db: h.hub.database,
      runs: h.runs,
      registry: h.models,
      config: { ...defaultRegistryConfig.mlflow, uri, requestTimeoutMs: 10_000 },
      log: h.hub.log,
    });
  });

  afterAll(async () => {
    await mirror?.close();
    await server?.stop();
    await h?.hub.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a run succeeds while MLflow is down; the failure is recorded for the next sync', async () => {
    const run = h.runs.create({
      experiment: 'digits',
      params: { epochs: 3, learningRate: 0.001, architecture: 'mnist-cnn' },
      datasetId: 'd'.repeat(64),
      codeVersion: 'v0.1.0',
      createdBy: 'system:trigger:t1',
    });
    runId = run.id;
    h.runs.start(run.id, { backend: 'wasm', hardware: { cpu: 'test', cores: 2 } });
    for (const epoch of [1, 2, 3]) {
      h.runs.logMetrics(run.id, { epoch, values: { loss: 1 / epoch, val_accuracy: 0.6 + epoch / 10 } });
      h.tick(10_000);
    }
    const onnx = new Uint8Array(256).fill(9);
    await h.runs.logArtifact(run.id, 'model.onnx', onnx);
    await h.runs.logArtifact(run.id, 'manifest.json', new TextEncoder().encode(JSON.stringify(manifestFor(onnx))), 'application/json');
    await h.runs.logArtifact(run.id, 'metrics.json', new TextEncoder().encode('{"accuracy":0.9}'), 'application/json');
    expect(h.runs.finish(run.id, { cpuSeconds: 60 }).status).toBe('succeeded');
    await registerFromRun(h.runs, h.models, { runId: run.id, model: 'digits', actor: 'system:pipeline' });
    h.models.setAlias('digits', 'champion', 1, 'system:gate', 'first model');

    const report = await mirror.sync();
    expect(report).toMatchObject({ pushed: 0, failed: 1, stopped: true });
    expect(mirror.pending()).toEqual([
      expect.objectContaining({ kind: 'run', key: run.id, attempts: 1, lastError: expect.stringMatching(/unreachable/) }),
    ]);
    expect(h.runs.get(run.id)?.status).toBe('succeeded');
  });

  it('once MLflow is up, the next sync mirrors the run, its params, metrics per step, artifacts, the version and the alias', async () => {
    server = await startMlflow(bin!, port, dir);
    const report = await mirror.sync();
    expect(report).toMatchObject({ failed: 0, stopped: false });
    expect(mirror.pending()).toEqual([]);

    const [found, ...others] = await mlflowRunOf(runId);
    expect(others).toEqual([]);
    const mlflowRunId = found!.info.run_id as string;
    const { run } = await api('runs/get', { query: { run_id: mlflowRunId } });
    expect(run.info.status).toBe('FINISHED');
    const params = Object.fromEntries((run.data.params as Json[]).map((p) => [p.key, p.value]));
    expect(params).toEqual({ epochs: '3', learningRate: '0.001', architecture: 'mnist-cnn' });
    const tags = Object.fromEntries((run.data.tags as Json[]).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'edgeloop.backend': 'wasm', 'edgeloop.code_version': 'v0.1.0', 'edgeloop.dataset_hash': 'd'.repeat(64) });
    const latest = Object.fromEntries((run.data.metrics as Json[]).map((m) => [m.key, m.value]));
    expect(latest.energy_kwh).toBeCloseTo(h.runs.get(runId)!.energyKwh!, 12);
    const history = await api('metrics/get-history', { query: { run_id: mlflowRunId, metric_key: 'loss' } });
    expect((history.metrics as Json[]).map((m) => [m.step, m.value]).sort()).toEqual([
      [1, 1],
      [2, 0.5],
      [3, 1 / 3],
    ]);
    const listed = await api('artifacts/list', { query: { run_id: mlflowRunId } });
    expect((listed.files as Json[]).map((f) => f.path).sort()).toEqual(['manifest.json', 'metrics.json', 'model.onnx', 'registry']);
    const artifact = await fetch(
      `${uri}/api/2.0/mlflow-artifacts/artifacts/${found!.info.experiment_id}/${mlflowRunId}/artifacts/metrics.json`,
    );
    expect(await artifact.text()).toBe('{"accuracy":0.9}');

    const { model_version: champion } = await api('registered-models/alias', { query: { name: 'digits', alias: 'champion' } });
    expect(champion).toMatchObject({ run_id: mlflowRunId, source: `${run.info.artifact_uri}/registry/digits-v1` });
    expect(champion.tags).toContainEqual({ key: 'edgeloop.version', value: '1' });
  });

  it('keeps MLflow in step with later changes, without duplicates when progress was lost', async () => {
    const onnx = new Uint8Array(128).fill(3);
    await h.models.register({ model: 'digits', onnx, manifest: manifestFor(onnx), actor: 'user:ann', reason: 'uploaded by hand' });
    h.models.setAlias('digits', 'challenger', 2, 'system:rollout', 'canary');
    expect((await mirror.sync()).failed, JSON.stringify(mirror.pending())).toBe(0);
    const challenger = (await api('registered-models/alias', { query: { name: 'digits', alias: 'challenger' } })).model_version;
    expect(challenger.tags).toContainEqual({ key: 'edgeloop.version', value: '2' });

    // Promotion moves the champion and clears the challenger, in MLflow as here.
    h.models.setAlias('digits', 'champion', 2, 'system:gate', 'gate passed');
    expect((await mirror.sync()).failed, JSON.stringify(mirror.pending())).toBe(0);
    const { registered_model: model } = await api('registered-models/get', { query: { name: 'digits' } });
    expect(model.aliases).toEqual([{ alias: 'champion', version: challenger.version }]);

    // A hub that lost its sync records (a crash before they were written) finds its runs again by tag.
    h.hub.database.sqlite.prepare('DELETE FROM mlflow_sync').run();
    expect((await mirror.sync()).failed, JSON.stringify(mirror.pending())).toBe(0);
    expect(await mlflowRunOf(runId)).toHaveLength(1);
    const [found] = await mlflowRunOf(runId);
    const history = await api('metrics/get-history', { query: { run_id: found!.info.run_id, metric_key: 'loss' } });
    expect(history.metrics).toHaveLength(3);
    const versions = await api('model-versions/search', { query: { filter: "name='digits'" } });
    expect(versions.model_versions).toHaveLength(2);
  });
});
