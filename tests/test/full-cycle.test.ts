/**
 * The hub's whole training loop, in-process, over real parts: labelled MNIST samples in a real
 * SQLite hub, the trigger engine, trainer workers as child processes (`edgeloop-trainer`, real
 * tfjs on wasm) over HTTP on 127.0.0.1, the run tracker, the registry, the promotion gate (real
 * onnxruntime predictions, paired bootstrap), two signed TUF tracks, and edge devices running the
 * edge agent's real `ModelUpdater` (tuf-js verification, onnxruntime self-test) against the hub's
 * `/tuf/` and `/tuf-canary/`. Device telemetry windows are synthetic (built with the protocol's
 * `TelemetryWindowBuilder`): healthy, or low-confidence for the degraded canary.
 *
 * One sequence, each phase building on the last: bootstrap (first champion), the full cycle
 * (new labels → trigger → train → gate passes → canary → promote → every device on the new
 * version), a degraded canary (automatic rollback: devices end on the old bytes under a higher
 * version), a worse model (shuffled labels: the gate rejects it), a diverged training (job
 * failed, champion stays), a worker killed mid-job (the lease expires, another worker retries),
 * and a worker stopped mid-job (it releases the job at once, and the next worker trains it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelUpdater, onnxSelfTest } from '@edgeloop/edge-agent';
import {
  createLogger,
  createTrainingServices,
  defaultPipelineConfig,
  defaultRegistryConfig,
  defaultRolloutConfig,
  FsObjectStore,
  importDataset,
  KeyDir,
  type OpenDatabase,
  openDatabase,
  repositoryPathFor,
  type StandaloneServer,
  serveRoutes,
  stableTufRoutes,
  TelemetryStore,
  type TrainingServices,
  TriggerEngine,
  trackOf,
  triggerConfig,
} from '@edgeloop/hub';
import { mulberry32, TelemetryWindowBuilder } from '@edgeloop/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const MODEL = 'digits';
const ADMIN = 'full-cycle-admin-token-0123456789';
const WORKER = 'full-cycle-worker-token-0123456789';
const CANARY_PERCENT = 50;

interface Device {
  id: string;
  track: 'canary' | 'stable';
  dir: string;
  updater: ModelUpdater;
}

let dir: string;
let db: OpenDatabase;
let store: FsObjectStore;
let services: TrainingServices;
let engine: TriggerEngine;
let server: StandaloneServer;
let telemetry: TelemetryStore;
const devices: Device[] = [];
const children = new Set<ChildProcess>();
const log = createLogger('warn', new Writable({ write: (_c, _e, done) => done() }));
const config = structuredClone({
  ...defaultPipelineConfig,
  model: MODEL,
  trainParams: { epochs: 3, batchSize: 16, seed: 1, backend: 'wasm' } as Record<string, string | number | boolean>,
  minFirstAccuracy: 0.3,
  tickMs: 200,
  jobs: { ...defaultPipelineConfig.jobs, leaseMs: 3_000, maxAttempts: 3, workerTokens: [WORKER] },
  rollout: { ...defaultRolloutConfig, canaryPercent: CANARY_PERCENT, watchMs: 0, minPredictions: 50 },
});

/** Starts `edgeloop-trainer --once` as a child process, as a remote worker would run. */
function spawnWorker(): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@edgeloop/source',
      '--import',
      'tsx',
      'hub/src/trainer/cli.ts',
      '--hub',
      server.url,
      '--once',
      '--poll-ms',
      '100',
      '--backend',
      'wasm',
    ],
    { cwd: ROOT, env: { ...process.env, EDGELOOP_TRAINER_TOKEN: WORKER }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  children.add(child);
  child.on('exit', () => {
    children.delete(child);
    if (process.env.FULL_CYCLE_DEBUG) console.log(out);
  });
  return child;
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await services.pipeline.tick();
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(services.pipeline.store.list(3))}`);
    await sleep(150);
  }
}

const latestRun = () => services.pipeline.store.list(1)[0]!;
const settled = (firingId: string) => () => {
  const run = services.pipeline.store.get(firingId);
  return run && run.state !== 'active' ? run : undefined;
};
const atStep = (firingId: string, step: string) => () => services.pipeline.store.get(firingId)?.step === step;

async function checkAll(track?: 'canary' | 'stable') {
  for (const d of devices) if (!track || d.track === track) await d.updater.checkForUpdate();
}
const versions = (track?: 'canary' | 'stable') =>
  devices.filter((d) => !track || d.track === track).map((d) => d.updater.currentModel()?.version);

/** One telemetry window per device on the version it runs: `confidence` for canary devices, 0.9 for the rest. */
function sendTelemetry(canaryConfidence: number): void {
  const end = new Date();
  for (const d of devices) {
    const current = d.updater.currentModel();
    if (!current) continue;
    const b = new TelemetryWindowBuilder({ lowConfidenceThreshold: 0.5, rng: mulberry32(7) }, new Date(end.getTime() - 1000));
    const confidence = d.track === 'canary' ? canaryConfidence : 0.9;
    for (let i = 0; i < 40; i++) b.record(String(i % 10), confidence, 5);
    telemetry.record(d.id, b.flush(d.id, { name: MODEL, version: current.version }, end));
  }
}

async function installedSha(d: Device): Promise<string> {
  const m = d.updater.currentModel()!;
  return createHash('sha256')
    .update(await readFile(join(m.dir, 'model.onnx')))
    .digest('hex');
}

async function fire(reason: string) {
  const result = await engine.manual({ actor: 'tester', reason });
  if (!result.fired) throw new Error(result.reason);
  return result.firing.id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-full-cycle-'));
  db = openDatabase(join(dir, 'hub.db'));
  store = await FsObjectStore.open(join(dir, 'objects'));
  const keyDir = new KeyDir(join(dir, 'keys'));
  await keyDir.init(1);
  telemetry = new TelemetryStore(db);
  services = createTrainingServices({
    db,
    store,
    keyDir,
    config,
    registryConfig: {
      ...defaultRegistryConfig,
      gate: { ...defaultRegistryConfig.gate, resamples: 1000, epsilon: 0.1, classTolerance: 0.3 },
    },
    telemetry,
    adminToken: ADMIN,
    log,
  });
  await services.tracks.stable.initialise();
  await services.tracks.ensureCanary();
  server = await serveRoutes([...services.routes(), ...stableTufRoutes({ store } as never)], log, 64 << 20, ADMIN);
  engine = new TriggerEngine({
    db,
    config: triggerConfig({ debounceMs: 0, cooldownMs: 0, newLabels: { enabled: true, minCount: 100 } }),
    telemetry,
    lastTraining: () => services.pipeline.lastTraining(),
    busy: () => services.pipeline.busy(),
    champion: () => services.pipeline.champion(),
    onFire: (firing) => void services.pipeline.onFire(firing),
    log,
  });
  // Two devices per track (the cohort is a hash of the id, so pick ids that land in each).
  for (let i = 0; devices.length < 4; i++) {
    const id = `cam-${i}`;
    const track = trackOf(id, CANARY_PERCENT);
    if (devices.filter((d) => d.track === track).length >= 2) continue;
    const deviceDir = join(dir, 'devices', id);
    const repo = track === 'canary' ? services.tracks.canary : services.tracks.stable;
    const updater = new ModelUpdater({
      modelName: MODEL,
      stateDir: join(deviceDir, 'state'),
      modelsDir: join(deviceDir, 'models'),
      repositoryUrl: `${server.url}${repositoryPathFor(id, CANARY_PERCENT)}`,
      trustedRoot: await repo.rootFile(1),
      selfTest: onnxSelfTest,
    });
    await updater.recover();
    devices.push({ id, track, dir: deviceDir, updater });
  }
  await importDataset({ db, store, log }, { kind: 'mnist', perClass: 30 }, { actor: 'tester' });
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await engine?.stop();
  await services?.stop();
  await server?.close();
  await store?.close();
  db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the training loop, end to end', () => {
  let v1Sha: string;

  it('bootstraps: new labels fire the trigger, the first model becomes champion and reaches every device', async () => {
    const firing = await engine.evaluate('labelled');
    expect(firing?.kind).toBe('newLabels');
    spawnWorker();
    await until('the first canary', atStep(firing!.id, 'rollout'));
    await checkAll();
    expect(versions('canary')).toEqual([1, 1]);
    expect(versions('stable')).toEqual([undefined, undefined]);
    sendTelemetry(0.9);
    const run = await until('promotion', settled(firing!.id));
    expect(run).toMatchObject({
      state: 'done',
      outputs: expect.objectContaining({ decision: 'promote', rolloutState: 'promoted', releaseVersion: 1 }),
    });
    await checkAll();
    expect(versions()).toEqual([1, 1, 1, 1]);
    expect(services.models.getAlias(MODEL, 'champion')?.version).toBe(1);
    v1Sha = await installedSha(devices[0]!);
  });

  it('full cycle: labelled samples arrive, the trigger fires, the worker trains, the gate passes, canary then everyone updates', async () => {
    expect(await engine.evaluate('labelled')).toBeUndefined(); // nothing new since the last training
    const report = await importDataset({ db, store, log }, { kind: 'mnist', perClass: 40 }, { actor: 'tester' });
    expect(report.imported).toBe(100);
    const firing = await engine.evaluate('labelled');
    expect(firing?.kind).toBe('newLabels');
    spawnWorker();
    await until('the canary', atStep(firing!.id, 'rollout'));
    const run = latestRun();
    expect(run.outputs).toMatchObject({ decision: 'promote', modelVersion: 2, championBefore: 1, releaseVersion: 2 });
    const decision = services.gate.get(run.outputs.gateDecisionId as string)!;
    expect(decision.examples).toBeGreaterThan(20);
    expect(services.runs.require(run.outputs.runId as string)).toMatchObject({ status: 'succeeded', backend: 'wasm' });

    await checkAll();
    expect(versions('canary')).toEqual([2, 2]);
    expect(versions('stable')).toEqual([1, 1]);
    sendTelemetry(0.9);
    expect(await until('promotion', settled(firing!.id))).toMatchObject({
      state: 'done',
      outputs: expect.objectContaining({ rolloutState: 'promoted' }),
    });
    await checkAll();
    expect(versions()).toEqual([2, 2, 2, 2]);
    expect(services.rollout.live(MODEL)).toEqual({ releaseVersion: 2, modelVersion: 2 });
    // The run's timeline: when it entered each step, in order, ending when it was done.
    const timeline = services.pipeline.store.get(firing!.id)!.outputs.timeline as Record<string, string>;
    expect(Object.keys(timeline)).toEqual(['snapshot', 'train', 'register', 'gate', 'release', 'rollout', 'done']);
    const times = Object.values(timeline).map((t) => Date.parse(t));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('a degraded canary is rolled back: a higher release with the previous bytes, champion restored', async () => {
    const v2Sha = await installedSha(devices[0]!);
    expect(v2Sha).not.toBe(v1Sha);
    config.trainParams = { ...config.trainParams, seed: 2 };
    const firingId = await fire('retrain with another seed');
    spawnWorker();
    await until('the canary', atStep(firingId, 'rollout'));
    expect(latestRun().outputs).toMatchObject({ modelVersion: 3, releaseVersion: 3, championBefore: 2 });
    await checkAll('canary');
    expect(versions('canary')).toEqual([3, 3]);
    sendTelemetry(0.3); // the canary is unsure of everything
    const run = await until('the rollback', settled(firingId));
    expect(run.outputs).toMatchObject({ rolloutState: 'rolled-back' });
    const rollout = services.rollout.require(run.outputs.rolloutId as string);
    expect(rollout).toMatchObject({ state: 'rolled-back', rollbackReleaseVersion: 4, previousModelVersion: 2 });
    expect((rollout.decision as { reasons: string[] }).reasons.join(' ')).toMatch(/low-confidence rate/);
    await checkAll();
    expect(versions()).toEqual([4, 4, 4, 4]);
    for (const d of devices) expect(await installedSha(d)).toBe(v2Sha);
    expect(services.models.getAlias(MODEL, 'champion')?.version).toBe(2);
    expect(services.models.history(MODEL).at(-1)).toMatchObject({ actor: 'system:rollout' });
  });

  it('the gate rejects a worse model (trained on shuffled labels); nothing is released', async () => {
    const original = db.sqlite
      .prepare<[], { id: string; label: string }>(
        `SELECT s.id, l.label FROM samples s JOIN labels l ON l.id = (SELECT max(id) FROM labels WHERE sample_id = s.id) ORDER BY s.id`,
      )
      .all();
    const relabel = (pairs: { id: string; label: string }[]) =>
      db.sqlite.transaction(() => {
        const insert = db.sqlite.prepare(
          "INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at) VALUES (?, ?, 'human', 'correct', 'tester', ?)",
        );
        for (const p of pairs) insert.run(p.id, p.label, new Date().toISOString());
      })();
    const rng = mulberry32(99);
    const shuffled = original.map((o) => ({ id: o.id, label: original[Math.floor(rng() * original.length)]!.label }));
    relabel(shuffled);
    try {
      const firingId = await fire('shuffled labels');
      spawnWorker();
      const run = await until('the gate', settled(firingId));
      expect(run.state).toBe('rejected');
      expect(run.outputs).toMatchObject({ decision: 'reject', modelVersion: 4 });
      expect(run.error).toMatch(/gate rejected/);
      expect(services.models.getAlias(MODEL, 'champion')?.version).toBe(2);
      expect(await services.tracks.highest(MODEL)).toBe(4);
    } finally {
      relabel(original);
    }
  });

  it('a diverged training (NaN weights) fails the job; the champion stays', async () => {
    const saved = config.trainParams;
    config.trainParams = { ...saved, learningRate: 1e9, epochs: 1 };
    try {
      const firingId = await fire('diverge');
      spawnWorker();
      const run = await until('the failed job', settled(firingId));
      expect(run.state).toBe('failed');
      expect(run.error).toMatch(/TRAINING_DIVERGED/);
      expect(services.jobs.require(run.outputs.jobId as string)).toMatchObject({ state: 'failed', attempts: 1 });
      expect(services.models.getAlias(MODEL, 'champion')?.version).toBe(2);
    } finally {
      config.trainParams = saved;
    }
  });

  it('a worker killed mid-job: the lease expires and another worker finishes the job', async () => {
    config.trainParams = { ...config.trainParams, epochs: 10 };
    const firingId = await fire('kill the worker');
    const doomed = spawnWorker();
    const jobId = await until('the job to run', () => {
      const id = services.pipeline.store.get(firingId)?.outputs.jobId as string | undefined;
      return id && services.jobs.get(id)?.state === 'running' ? id : undefined;
    });
    doomed.kill('SIGKILL');
    await until('the lease to expire', () => services.jobs.get(jobId)?.state === 'queued', 20_000);
    const firstRun = services.jobs.require(jobId).runId!;
    expect(services.runs.require(firstRun).status).toBe('failed');
    spawnWorker();
    await until('the retried job', () => services.jobs.get(jobId)?.state === 'succeeded');
    expect(services.jobs.require(jobId).attempts).toBe(2);
    const run = await until('the gate', () => {
      const r = services.pipeline.store.get(firingId);
      return r && (r.state !== 'active' || r.step === 'rollout') ? r : undefined;
    });
    expect(run.outputs.modelVersion).toBe(5);
  });

  it('a worker stopped mid-job (SIGTERM) hands the job back at once, and the next worker finishes it', async () => {
    // A job of its own, on the last firing's snapshot: the pipeline runs one firing at a time, and
    // the last one is still in its canary.
    const last = services.pipeline.store.list().find((r) => typeof r.outputs.datasetId === 'string')!;
    const jobId = services.jobs.enqueue({
      model: 'digits',
      datasetId: last.outputs.datasetId as string,
      params: { ...config.trainParams },
    }).id;
    const stopping = spawnWorker();
    const exited = new Promise<void>((resolve) => stopping.once('exit', () => resolve()));
    await until('the job to run', () => services.jobs.get(jobId)?.state === 'running');
    const firstRun = services.jobs.require(jobId).runId!;
    stopping.kill('SIGTERM');
    await exited;
    // Released, not expired: the attempt is not counted and the run was cancelled, not failed.
    expect(services.jobs.require(jobId)).toMatchObject({ state: 'queued', attempts: 0, leaseId: null });
    const cancelled = services.runs.require(firstRun);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error).toMatch(/released by worker .*: the trainer is stopping/);
    spawnWorker();
    await until('the released job, trained by the next worker', () => services.jobs.get(jobId)?.state === 'succeeded');
    expect(services.jobs.require(jobId).attempts).toBe(1);
  });
});
