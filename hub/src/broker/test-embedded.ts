/** Test support: an embedded broker on free ports over a device registry in a temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFor, type MqttConfig } from '../config.js';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { DeviceRegistry } from '../fleet/devices.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { startEmbeddedBroker } from './embedded.js';
import type { HubBroker } from './hub-broker.js';

export const HUB = { hubUsername: 'edgeloop-hub', hubPassword: 'hub-secret' };

/** An embedded broker on free ports over a registry in a temp dir; `start` it. */
export async function embeddedWorld(overrides: Partial<MqttConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-embedded-'));
  const database: OpenDatabase = openDatabase(join(dir, 'hub.db'));
  const registry = new DeviceRegistry(database);
  const metrics = createMetrics({ defaultMetrics: false });
  const config: MqttConfig = { ...configFor(dir).mqtt, tcpPort: 0, wsPort: 0, ...HUB, ...overrides };
  let broker: HubBroker | undefined;
  return {
    registry,
    metrics,
    config,
    async start() {
      broker = await startEmbeddedBroker({ config, authenticator: registry.authenticator(HUB), log: createLogger('silent'), metrics });
      return broker;
    },
    url: () => broker!.urls.mqtt,
    async cleanup() {
      await broker?.close();
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
