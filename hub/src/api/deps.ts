/** What the admin API needs from the rest of the hub; `main.ts` passes the real parts. */
import type { Config } from '../config.js';
import type { importDataset } from '../datasets/import.js';
import type { OpenDatabase } from '../db/open.js';
import type { DeviceRegistry } from '../fleet/devices.js';
import type { Classifier } from '../labeling/classifier.js';
import type { LabellingQueue } from '../labeling/queue.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ImportJobs } from './import-jobs.js';

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
  /** False while the hub starts or stops: `/health` answers 503. */
  ready(): boolean;
}
