/**
 * `@edgeloop/hub`: the hub's public surface for tools and tests that run it in-process (the
 * end-to-end tests, the fleet simulator). Operators run `main.ts` (`npm start`).
 */

// #6 training side (added by the pipeline helper; the lead may regroup these).
export { type StandaloneServer, serveRoutes, stableTufRoutes } from './api/standalone.js';
export { type Config, configFor, defaultConfig, type IngestConfig, type MqttConfig } from './config.js';
export { importDataset } from './datasets/import.js';
export { type Db, type OpenDatabase, openDatabase } from './db/open.js';
export { configFromEnv } from './env.js';
export { HubError, type HubErrorCode } from './errors.js';
export { DeviceRegistry } from './fleet/devices.js';
export { TelemetryStore } from './fleet/telemetry-store.js';
export { createLogger } from './log.js';
export { type Hub, startHub } from './main.js';
export { defaultPipelineConfig, type PipelineConfig } from './pipeline/config.js';
export { createTrainingServices, type TrainingServices, type TrainingServicesOptions } from './pipeline/services.js';
export { defaultRegistryConfig } from './registry/config.js';
export { KeyDir } from './releases/keys.js';
export { ReleaseRepository } from './releases/repository.js';
export { repositoryPathFor, trackOf } from './rollout/cohort.js';
export { defaultRolloutConfig } from './rollout/config.js';
export { FsObjectStore } from './storage/fs.js';
export type { ObjectStore } from './storage/object-store.js';
export { openObjectStore } from './storage/open-object-store.js';
export { triggerConfig } from './triggers/config.js';
export { TriggerEngine } from './triggers/engine.js';
