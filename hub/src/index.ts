/**
 * `@edgeloop/hub`: the hub's public surface for tools and tests that run it in-process (the
 * end-to-end tests, the fleet simulator). Operators run `main.ts` (`npm start`).
 */
export { type Config, configFor, defaultConfig, type IngestConfig, type MqttConfig } from './config.js';
export { type Db, type OpenDatabase, openDatabase } from './db/open.js';
export { configFromEnv } from './env.js';
export { HubError, type HubErrorCode } from './errors.js';
export { DeviceRegistry } from './fleet/devices.js';
export { type Hub, startHub } from './main.js';
export type { ObjectStore } from './storage/object-store.js';
export { openObjectStore } from './storage/open-object-store.js';
