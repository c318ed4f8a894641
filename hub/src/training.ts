/**
 * Part of the composition root, called only by `main.ts`: wires issue #6's services (run tracking,
 * the registry and the gate, the MLflow mirror, the signed release repository, training jobs, the
 * pipeline and the rollout) and starts their timers, registering each shutdown step in `cleanups`.
 */
import { randomBytes } from 'node:crypto';
import type { HubBroker } from './broker/hub-broker.js';
import type { Config } from './config.js';
import type { OpenDatabase } from './db/open.js';
import type { TelemetryStore } from './fleet/telemetry-store.js';
import { PromotionGate } from './gate/decisions.js';
import type { Logger } from './log.js';
import { createTrainingServices, type TrainingServices } from './pipeline/services.js';
import { MlflowMirror } from './registry/mlflow.js';
import { ModelRegistry } from './registry/models.js';
import { RunTracker } from './registry/runs.js';
import { KeyDir } from './releases/keys.js';
import { ReleaseRepository } from './releases/repository.js';
import type { ObjectStore } from './storage/object-store.js';

export interface TrainingParts {
  services: TrainingServices;
  /** The token the local trainer worker presents (generated per start, never stored). */
  workerToken: string;
}

interface Deps {
  database: OpenDatabase;
  store: ObjectStore;
  broker: HubBroker;
  telemetry: TelemetryStore;
  log: Logger;
  cleanups: Array<() => Promise<void> | void>;
}

export async function startTraining(config: Config, deps: Deps): Promise<TrainingParts> {
  const { database, store, broker, telemetry, log, cleanups } = deps;
  let mirror: MlflowMirror | undefined;
  const notify = () => mirror?.notify();
  const runs = new RunTracker({ db: database, store, energy: config.registry.energy, onChange: notify });
  const models = new ModelRegistry({ db: database, store, onChange: notify });
  const gate = new PromotionGate({ db: database, registry: models, settings: config.registry.gate });
  const mlflowUri = config.registry.mlflow.uri;
  if (mlflowUri) {
    const m = new MlflowMirror({ db: database, runs, registry: models, config: { ...config.registry.mlflow, uri: mlflowUri }, log });
    mirror = m;
    m.start();
    void m.sync();
    cleanups.push(() => m.close());
  }

  const keyDir = new KeyDir(config.releases.keysDir);
  const stable = new ReleaseRepository({ store, keyDir, log });
  if (config.releases.autoInit && !(await stable.state())) {
    // A development hub gets a repository at once; its single root key is online, which a
    // production deployment replaces with `edgeloop-hub keys init` and offline root keys.
    await keyDir.init(1);
    await stable.initialise({ rootThreshold: 1 });
    log.warn({ keysDir: config.releases.keysDir }, 'created release keys with an online root key (development setup)');
  }

  const workerToken = randomBytes(24).toString('base64url');
  const pipeline = {
    ...config.pipeline,
    jobs: { ...config.pipeline.jobs, workerTokens: [...config.pipeline.jobs.workerTokens, workerToken] },
  };
  const services = createTrainingServices({
    db: database,
    store,
    keyDir,
    config: pipeline,
    registryConfig: config.registry,
    telemetry,
    adminToken: config.adminToken,
    log,
    runs,
    models,
    gate,
    stable,
    broker,
  });
  await services.start();
  cleanups.push(() => services.stop());

  // The online roles expire within days: re-sign every track on a schedule.
  const resign = async () => {
    for (const repo of services.tracks.each()) {
      await repo.resignOnline().catch((error: unknown) => log.warn({ err: error }, 'release metadata re-signing failed'));
    }
  };
  void resign();
  const timer = setInterval(() => void resign(), config.releases.resignIntervalMs);
  timer.unref();
  cleanups.push(() => clearInterval(timer));
  return { services, workerToken };
}
