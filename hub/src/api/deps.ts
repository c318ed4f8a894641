/** What the admin API needs from the rest of the hub; `main.ts` passes the real parts. */
import type { Config } from '../config.js';
import type { importDataset } from '../datasets/import.js';
import type { OpenDatabase } from '../db/open.js';
import type { DeviceRegistry } from '../fleet/devices.js';
import type { Classifier } from '../labeling/classifier.js';
import type { LabellingQueue } from '../labeling/queue.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import type { TrainingServices } from '../pipeline/services.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { TriggerEngine } from '../triggers/engine.js';
import type { ImportJobs } from './import-jobs.js';
import type { RegistryServices } from './routes/registry.js';

export interface ApiDeps {
  config: Config;
  db: OpenDatabase;
  store: ObjectStore;
  devices: DeviceRegistry;
  /** The labelling queue; one over `db` is made when absent. */
  queue?: LabellingQueue;
  /** The production classifier, read per request (it can appear later); `undefined` → 503 NO_MODEL. */
  classifier?: () => Classifier | undefined;
  /** The dataset importer (default: `importDataset`). */
  importer?: typeof importDataset;
  /** Background import jobs (default: one over `importer`); pass one to await `idle()` at shutdown. */
  imports?: ImportJobs;
  /** Folder imports resolve below this directory (default `<dataDir>/imports`). */
  importRoot?: string;
  /** The broker, for `/health` and the MQTT URLs handed to a new device. */
  broker?: { connectedClients(): number; readonly urls?: { mqtt: string; ws?: string } };
  metrics: HubMetrics;
  log: Logger;
  /** Run tracking, the model registry and the gate (read-only services over `db` when absent). */
  registry?: RegistryServices;
  /** The trigger engine, for the manual trigger and the firing log. */
  triggers?: Pick<TriggerEngine, 'manual' | 'firings'>;
  /** Jobs for trainer workers, the pipeline and the rollout (their routes are added when present). */
  training?: Pick<TrainingServices, 'routes'>;
  /** False while the hub starts or stops: `/health` answers 503. */
  ready(): boolean;
}
