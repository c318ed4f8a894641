/**
 * The MLflow mirror: when `registry.mlflow.uri` is set (`EDGELOOP_MLFLOW_URI`), runs (params,
 * per-step metrics, artifacts, status), registered model versions and the `champion` /
 * `challenger` aliases are copied to an MLflow tracking server through its REST API.
 *
 * The hub's own tables are the source of truth and the outbox: a sync compares them with
 * `mlflow_sync` and pushes what is missing, so a failure is never the run's failure. It is logged,
 * recorded on the row, and retried by the next sync (on every change, debounced, and on a timer).
 * When the server is unreachable the pass stops at the first failure instead of trying every row.
 */
import type { OpenDatabase } from '../db/open.js';
import type { Logger } from '../log.js';
import type { MlflowConfig } from './config.js';
import { MlflowClient, MlflowError } from './mlflow-client.js';
import { pushRun } from './mlflow-runs.js';
import { type SyncRow, SyncState } from './mlflow-state.js';
import type { ModelRegistry } from './models.js';
import type { RunTracker } from './runs.js';
import type { ModelVersionRecord } from './types.js';

export interface MlflowMirrorDeps {
  db: OpenDatabase;
  runs: RunTracker;
  registry: ModelRegistry;
  config: MlflowConfig & { uri: string };
  log: Logger;
  now?: () => Date;
}

export interface SyncReport {
  pushed: number;
  failed: number;
  /** The pass stopped early: the server was unreachable. */
  stopped: boolean;
}

const DEBOUNCE_MS = 250;

export class MlflowMirror {
  readonly client: MlflowClient;
  private readonly state: SyncState;
  private running: Promise<SyncReport> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: MlflowMirrorDeps) {
    this.client = new MlflowClient(deps.config.uri, deps.config.requestTimeoutMs);
    this.state = new SyncState(deps.db, deps.now ?? (() => new Date()));
  }

  /** Starts the retry timer. */
  start(): void {
    this.timer ??= setInterval(() => void this.sync(), this.deps.config.syncIntervalMs);
    this.timer.unref();
  }

  /** Something changed: sync soon. Pass as `onChange` to the run tracker and the registry. */
  notify(): void {
    if (this.closed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.sync();
    }, DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** One pass (or joins the running one, then runs once more). Never throws. */
  sync(): Promise<SyncReport> {
    if (this.running) {
      this.again = true;
      return this.running.then(() => this.running ?? this.sync());
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.sync();
      }
    });
    return this.running;
  }

  /** Rows not mirrored yet, with their last error. */
  pending(): SyncRow[] {
    return this.state.pending();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    await this.running;
  }

  private async pass(): Promise<SyncReport> {
    const report: SyncReport = { pushed: 0, failed: 0, stopped: false };
    const step = async (kind: SyncRow['kind'], key: string, work: () => Promise<void>): Promise<boolean> => {
      try {
        await work();
        report.pushed++;
        return true;
      } catch (error) {
        report.failed++;
        const message = error instanceof Error ? error.message : String(error);
        this.state.failed(kind, key, message);
        this.deps.log.warn({ err: error, kind, key }, 'MLflow mirror: push failed, will retry');
        if (error instanceof MlflowError && error.unavailable) report.stopped = true;
        return false;
      }
    };
    const ctx = { client: this.client, state: this.state, runs: this.deps.runs };
    for (const id of this.state.unsyncedRuns()) {
      const run = this.deps.runs.get(id);
      if (run && !(await step('run', id, () => pushRun(ctx, run))) && report.stopped) return report;
    }
    const doneVersions = this.state.doneKeys('version');
    for (const { model } of this.deps.registry.models()) {
      for (const v of this.deps.registry.versions(model).reverse()) {
        const key = `${v.model}@${v.version}`;
        if (doneVersions.has(key)) continue;
        if (!(await step('version', key, () => this.pushVersion(v))) && report.stopped) return report;
      }
      if (!(await step('alias', `${model}#aliases`, () => this.pushAliases(model))) && report.stopped) return report;
    }
    return report;
  }

  /**
   * A model version in MLflow must point into a run's artifacts: its files are uploaded below the
   * MLflow run of the run that trained it (or of a run made for it, when it was registered by hand).
   */
  private async pushVersion(v: ModelVersionRecord): Promise<void> {
    const key = `${v.model}@${v.version}`;
    const runRow = v.runId ? this.state.get('run', v.runId) : this.state.get('version', key);
    let runId = v.runId ? runRow?.mlflowId : (runRow?.state as { runId?: string } | undefined)?.runId;
    if (v.runId && !runId) throw new Error(`run ${v.runId} is not mirrored yet`);
    if (!runId) {
      const experimentId = await this.client.experimentId(v.model);
      const run =
        (await this.client.findRun(experimentId, 'edgeloop.model_version', key)) ??
        (await this.client.createRun(experimentId, `register-${key}`, Date.parse(v.createdAt), [
          { key: 'edgeloop.model_version', value: key },
        ]));
      runId = run.runId;
      await this.client.updateRun(runId, 'FINISHED', Date.parse(v.createdAt));
      this.state.save('version', key, { state: { runId } });
    }
    const run = await this.client.getRun(runId);
    const folder = `registry/${v.model}-v${v.version}`;
    const files = await this.deps.registry.files(v.model, v.version);
    await this.client.uploadArtifact(run.artifactUri, `${folder}/model.onnx`, files.onnx, 'application/octet-stream');
    await this.client.uploadArtifact(
      run.artifactUri,
      `${folder}/manifest.json`,
      new TextEncoder().encode(JSON.stringify(files.manifest)),
      'application/json',
    );
    await this.client.createRegisteredModel(v.model);
    const tags = [
      { key: 'edgeloop.version', value: String(v.version) },
      { key: 'edgeloop.onnx_sha256', value: v.onnxSha256 },
      ...(v.datasetHash ? [{ key: 'edgeloop.dataset_hash', value: v.datasetHash }] : []),
    ];
    const mlflowVersion =
      (await this.client.findModelVersion(v.model, 'edgeloop.version', String(v.version))) ??
      (await this.client.createModelVersion(v.model, `${run.artifactUri}/${folder}`, runId, tags));
    this.state.save('version', key, { mlflowId: mlflowVersion, state: { runId }, done: true });
  }

  /** Makes MLflow's aliases of `model` match the hub's: set the held ones, delete the cleared ones. */
  private async pushAliases(model: string): Promise<void> {
    const held = this.deps.registry.aliases(model);
    const row = this.state.get('alias', `${model}#aliases`);
    const pushed = (row?.state ?? {}) as Record<string, number>;
    for (const alias of ['champion', 'challenger'] as const) {
      const version = held[alias];
      if (version === pushed[alias]) continue;
      if (version === undefined) {
        await this.client.deleteAlias(model, alias);
        delete pushed[alias];
      } else {
        const mirrored = this.state.get('version', `${model}@${version}`);
        if (!mirrored?.done || !mirrored.mlflowId) throw new Error(`${model}@${version} is not mirrored yet`);
        await this.client.setAlias(model, alias, mirrored.mlflowId);
        pushed[alias] = version;
      }
      this.state.save('alias', `${model}#aliases`, { state: { ...pushed } });
    }
    this.state.save('alias', `${model}#aliases`, { state: { ...pushed }, done: true });
  }
}
