/**
 * The training side of the hub, assembled: run tracking, the registry and the gate, the job
 * queue, the release tracks, the rollout controller and the pipeline, wired to each other (a job
 * that ends wakes the pipeline). `main.ts` builds one and hands `routes()` to the API and
 * `pipeline` to the trigger engine; the end-to-end tests and `bench:rollout` build one the same way.
 */
import type { Route } from '../api/route.js';
import { jobRoutes } from '../api/routes/jobs.js';
import { pipelineRoutes } from '../api/routes/pipeline.js';
import { rolloutRoutes } from '../api/routes/rollout.js';
import type { OpenDatabase } from '../db/open.js';
import type { TelemetryStore } from '../fleet/telemetry-store.js';
import { PromotionGate } from '../gate/decisions.js';
import { JobQueue } from '../jobs/queue.js';
import type { Logger } from '../log.js';
import type { RegistryConfig } from '../registry/config.js';
import { ModelRegistry } from '../registry/models.js';
import { RunTracker } from '../registry/runs.js';
import type { AnnounceBroker } from '../releases/announce.js';
import type { KeyDir } from '../releases/keys.js';
import type { ReleaseRepository } from '../releases/repository.js';
import { RolloutController } from '../rollout/controller.js';
import { ReleaseTracks } from '../rollout/tracks.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PipelineConfig } from './config.js';
import { TrainingPipeline } from './pipeline.js';

export interface TrainingServicesOptions {
  db: OpenDatabase;
  store: ObjectStore;
  keyDir: KeyDir;
  config: PipelineConfig;
  registryConfig: Pick<RegistryConfig, 'energy' | 'gate'>;
  telemetry: Pick<TelemetryStore, 'aggregate'>;
  adminToken: string;
  log: Logger;
  /** Shared instances, when the hub already made them (the MLflow mirror watches them). */
  runs?: RunTracker;
  models?: ModelRegistry;
  gate?: PromotionGate;
  stable?: ReleaseRepository;
  broker?: AnnounceBroker;
  now?: () => Date;
}

export interface TrainingServices {
  runs: RunTracker;
  models: ModelRegistry;
  gate: PromotionGate;
  jobs: JobQueue;
  tracks: ReleaseTracks;
  rollout: RolloutController;
  pipeline: TrainingPipeline;
  /** The job, pipeline, rollout and canary-repository routes. */
  routes(): Route[];
  /** Creates the canary repository if needed, then starts the pipeline's and the rollout's timers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createTrainingServices(o: TrainingServicesOptions): TrainingServices {
  const now = o.now ?? (() => new Date());
  const runs = o.runs ?? new RunTracker({ db: o.db, store: o.store, energy: o.registryConfig.energy, now });
  const models = o.models ?? new ModelRegistry({ db: o.db, store: o.store, now });
  const gate = o.gate ?? new PromotionGate({ db: o.db, registry: models, settings: o.registryConfig.gate, now });
  let pipeline: TrainingPipeline | undefined;
  const jobs = new JobQueue({
    db: o.db,
    runs,
    leaseMs: o.config.jobs.leaseMs,
    maxAttempts: o.config.jobs.maxAttempts,
    log: o.log,
    now,
    onSettled: () => void pipeline?.kick(),
  });
  const tracks = new ReleaseTracks({
    store: o.store,
    keyDir: o.keyDir,
    now,
    log: o.log,
    ...(o.stable ? { stable: o.stable } : {}),
    ...(o.broker ? { broker: o.broker } : {}),
  });
  const rollout = new RolloutController({
    db: o.db,
    tracks,
    registry: models,
    telemetry: o.telemetry,
    config: o.config.rollout,
    log: o.log,
    now,
  });
  pipeline = new TrainingPipeline({
    db: o.db,
    store: o.store,
    jobs,
    runs,
    registry: models,
    gate,
    rollout,
    config: o.config,
    log: o.log,
    now,
  });
  const p = pipeline;
  return {
    runs,
    models,
    gate,
    jobs,
    tracks,
    rollout,
    pipeline: p,
    routes: () => [
      ...jobRoutes({
        db: o.db,
        store: o.store,
        jobs,
        adminToken: o.adminToken,
        workerTokens: o.config.jobs.workerTokens,
        maxArtifactBytes: o.config.jobs.maxArtifactBytes,
      }),
      ...pipelineRoutes({ pipeline: p }),
      ...rolloutRoutes({ store: o.store, rollout }),
    ],
    async start() {
      await tracks.ensureCanary();
      p.start();
    },
    async stop() {
      await p.stop();
      await rollout.stop();
    },
  };
}
