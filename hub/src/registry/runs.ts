/**
 * Run tracking: a run is created `queued`, started by a worker (`running`, with its backend and
 * hardware), logs per-epoch metrics and artifacts, and ends `succeeded`, `failed` or `cancelled`
 * with its duration and an energy and CO₂ estimate (`energy.ts`). Artifacts go to the object store
 * under `runs/<id>/<name>` before their row is written, so a listed artifact always has bytes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { runArtifacts, runMetrics, runs } from '../db/schema-registry.js';
import { HubError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { EnergyConfig } from './config.js';
import { defaultEnergyUse, type EnergyUse, estimateEnergy } from './energy.js';
import { artifactRecord, getRun, listArtifacts, listRuns, type RunFilter, runMetricPoints } from './run-reads.js';
import { ARTIFACT_NAME, type ArtifactRecord, METRIC_KEY, type MetricPoint, type RunRecord, type RunStatus, TERMINAL } from './types.js';

export interface RunTrackerDeps {
  db: OpenDatabase;
  store: ObjectStore;
  energy: EnergyConfig;
  now?: () => Date;
  /** Called after every change of a run (the MLflow mirror schedules a sync). */
  onChange?: (runId: string) => void;
}

export interface CreateRun {
  experiment: string;
  params?: Record<string, string | number | boolean>;
  datasetId?: string;
  datasetHash?: string;
  codeVersion?: string;
  createdBy: string;
}

export interface StartRun {
  backend: string;
  hardware?: Record<string, unknown>;
  codeVersion?: string;
}

export interface MetricsAt {
  /** The epoch these values belong to; it is also the step unless `step` is given. */
  epoch?: number;
  step?: number;
  values: Record<string, number>;
}

export class RunTracker {
  private readonly now: () => Date;

  constructor(private readonly deps: RunTrackerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  create(input: CreateRun): RunRecord {
    if (!input.experiment || input.experiment.length > 200)
      throw new HubError('BAD_REQUEST', 'a run needs an experiment name of 1-200 characters');
    const row: RunRecord = {
      ...emptyRun(),
      id: randomUUID(),
      experiment: input.experiment,
      createdAt: this.now().toISOString(),
      status: 'queued',
      params: input.params ?? {},
      datasetId: input.datasetId ?? null,
      datasetHash: input.datasetHash ?? input.datasetId ?? null,
      codeVersion: input.codeVersion ?? null,
      createdBy: input.createdBy,
    };
    this.deps.db.db.insert(runs).values(row).run();
    this.changed(row.id);
    return row;
  }

  start(id: string, input: StartRun): RunRecord {
    return this.transition(id, ['queued'], 'running', {
      startedAt: this.now().toISOString(),
      backend: input.backend,
      hardware: input.hardware ?? null,
      ...(input.codeVersion !== undefined ? { codeVersion: input.codeVersion } : {}),
    });
  }

  /**
   * Records one epoch's (or step's) values; non-finite values are refused (fail the run instead).
   * Recording a key at a step it already has replaces that value: a worker that sends an epoch's
   * metrics again, because it never saw the answer to the first try, records them once.
   */
  logMetrics(id: string, at: MetricsAt): void {
    const run = this.require(id);
    if (run.status !== 'running') throw new HubError('CONFLICT', `run ${id} is ${run.status}, not running`);
    const step = at.step ?? at.epoch ?? 0;
    if (!Number.isInteger(step) || step < 0) throw new HubError('BAD_REQUEST', 'step must be an integer ≥ 0');
    const time = this.now().toISOString();
    const rows = Object.entries(at.values).map(([key, value]) => {
      if (!METRIC_KEY.test(key)) throw new HubError('BAD_REQUEST', `invalid metric key ${JSON.stringify(key)}`);
      if (!Number.isFinite(value)) throw new HubError('BAD_REQUEST', `metric ${key} is not a finite number (${value})`);
      return { runId: id, key, value, step, epoch: at.epoch ?? null, at: time };
    });
    if (rows.length > 0) this.record(id, step, rows);
    this.changed(id);
  }

  /** Writes one step's rows: the same value again is a no-op, a different one replaces the old. */
  private record(id: string, step: number, rows: (typeof runMetrics.$inferInsert)[]): void {
    this.deps.db.db.transaction((tx) => {
      const atStep = (ks: string[]) => and(eq(runMetrics.runId, id), eq(runMetrics.step, step), inArray(runMetrics.key, ks));
      const had = new Map(
        tx
          .select({ key: runMetrics.key, value: runMetrics.value })
          .from(runMetrics)
          .where(atStep(rows.map((r) => r.key)))
          .all()
          .map((m) => [m.key, m.value]),
      );
      // The same value again is a retry: nothing to write, and no new point for readers that follow
      // the metrics by id. A different value replaces the old one.
      const fresh = rows.filter((r) => had.get(r.key) !== r.value);
      const replaced = fresh.filter((r) => had.has(r.key)).map((r) => r.key);
      if (replaced.length > 0) tx.delete(runMetrics).where(atStep(replaced)).run();
      if (fresh.length > 0) tx.insert(runMetrics).values(fresh).run();
    });
  }

  /** Stores `bytes` as the run's artifact `name` (replacing one of the same name). */
  async logArtifact(id: string, name: string, bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<ArtifactRecord> {
    if (!ARTIFACT_NAME.test(name)) throw new HubError('BAD_REQUEST', `invalid artifact name ${JSON.stringify(name)}`);
    const run = this.require(id);
    if (TERMINAL.has(run.status)) throw new HubError('CONFLICT', `run ${id} is ${run.status}`);
    const objectKey = `runs/${id}/${name}`;
    await this.deps.store.put(objectKey, bytes, { contentType });
    const record: ArtifactRecord = {
      runId: id,
      name,
      objectKey,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.byteLength,
      contentType,
      createdAt: this.now().toISOString(),
    };
    this.deps.db.db
      .insert(runArtifacts)
      .values(record)
      .onConflictDoUpdate({ target: [runArtifacts.runId, runArtifacts.name], set: record })
      .run();
    this.changed(id);
    return record;
  }

  /** Ends a running run as succeeded; `use` is what the worker measured (CPU/GPU seconds). */
  finish(id: string, use: Partial<EnergyUse> = {}): RunRecord {
    return this.end(id, ['running'], 'succeeded', null, use);
  }

  fail(id: string, error: string, use: Partial<EnergyUse> = {}): RunRecord {
    return this.end(id, ['queued', 'running'], 'failed', error.slice(0, 4000), use);
  }

  cancel(id: string, reason = 'cancelled'): RunRecord {
    return this.end(id, ['queued', 'running'], 'cancelled', reason.slice(0, 4000), {});
  }

  get(id: string): RunRecord | undefined {
    return getRun(this.deps.db.db, id);
  }

  /** Newest first. */
  list(filter: RunFilter = {}): RunRecord[] {
    return listRuns(this.deps.db.db, filter);
  }

  /** The run's metric values in (key, step) order, optionally one key, optionally after a row id (then in id order). */
  metrics(id: string, filter: { key?: string; afterId?: number } = {}): (MetricPoint & { id: number })[] {
    return runMetricPoints(this.deps.db.db, id, filter);
  }

  artifacts(id: string): ArtifactRecord[] {
    return listArtifacts(this.deps.db.db, id);
  }

  /** The artifact's record and bytes, or `undefined` when the run has no such artifact. */
  async readArtifact(id: string, name: string): Promise<{ record: ArtifactRecord; bytes: Uint8Array } | undefined> {
    const record = artifactRecord(this.deps.db.db, id, name);
    if (!record) return undefined;
    const bytes = await this.deps.store.get(record.objectKey);
    if (!bytes) throw new HubError('STORAGE_FAILED', `artifact ${name} of run ${id} is missing from the object store`);
    return { record, bytes };
  }

  require(id: string): RunRecord {
    const run = this.get(id);
    if (!run) throw new HubError('NOT_FOUND', `no run ${id}`);
    return run;
  }

  private end(id: string, from: RunStatus[], to: RunStatus, error: string | null, measured: Partial<EnergyUse>): RunRecord {
    const run = this.require(id);
    const finished = this.now();
    const durationMs = run.startedAt ? Math.max(0, finished.getTime() - Date.parse(run.startedAt)) : null;
    const energy =
      durationMs === null ? undefined : estimateEnergy(defaultEnergyUse(durationMs, run.backend ?? undefined, measured), this.deps.energy);
    return this.transition(id, from, to, {
      finishedAt: finished.toISOString(),
      durationMs,
      error,
      cpuSeconds: energy?.cpuSeconds ?? null,
      gpuSeconds: energy?.gpuSeconds ?? null,
      energyKwh: energy?.energyKwh ?? null,
      co2G: energy?.co2G ?? null,
    });
  }

  /** Moves a run from one of `from` to `to`, atomically (a concurrent move makes this a CONFLICT). */
  private transition(id: string, from: RunStatus[], to: RunStatus, set: Partial<RunRecord>): RunRecord {
    const run = this.require(id);
    if (!from.includes(run.status)) throw new HubError('CONFLICT', `run ${id} is ${run.status}; it cannot become ${to}`);
    const updated = this.deps.db.db
      .update(runs)
      .set({ ...set, status: to })
      .where(and(eq(runs.id, id), eq(runs.status, run.status)))
      .returning()
      .get();
    if (!updated) throw new HubError('CONFLICT', `run ${id} changed while it was being updated`);
    this.changed(id);
    return updated;
  }

  private changed(id: string): void {
    this.deps.onChange?.(id);
  }
}

function emptyRun(): Omit<RunRecord, 'id' | 'experiment' | 'createdAt' | 'status' | 'params' | 'createdBy'> {
  return {
    datasetId: null,
    datasetHash: null,
    codeVersion: null,
    backend: null,
    hardware: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    cpuSeconds: null,
    gpuSeconds: null,
    energyKwh: null,
    co2G: null,
    error: null,
  };
}
