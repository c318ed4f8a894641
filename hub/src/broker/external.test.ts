import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePart } from '@edgeloop/tests/support/ci';
import { describe, expect, it } from 'vitest';
import { configFor, type MqttConfig } from '../config.js';
import { openDatabase } from '../db/open.js';
import { DeviceRegistry } from '../fleet/devices.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { connectExternalBroker } from './external.js';
import { type BrokerUnderTest, hubBrokerContract } from './hub-broker.contract.js';
import { MOSQUITTO_HOW_TO_GET, mosquittoAvailable, startMosquitto } from './test-mosquitto.js';

const available = requirePart('mosquitto', mosquittoAvailable, MOSQUITTO_HOW_TO_GET);

/** A real Mosquitto configured from a registry in a temp dir, and hub clients of it. */
async function mosquittoWorld(): Promise<BrokerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-external-'));
  const database = openDatabase(join(dir, 'hub.db'));
  const registry = new DeviceRegistry(database);
  const hub = { hubUsername: 'edgeloop-hub', hubPassword: randomBytes(18).toString('base64url') };
  const config = configFor(dir).mqtt;
  const mosquitto = await startMosquitto({ devices: [], ...hub, maxRemainingLength: config.maxPayloadBytes });
  const mqtt: MqttConfig = { ...config, ...hub, mode: 'external', url: mosquitto.hubUrl };
  return {
    startHub: ({ instanceId = 'replica-0' } = {}) =>
      connectExternalBroker({
        config: mqtt,
        log: createLogger('silent'),
        metrics: createMetrics({ defaultMetrics: false }),
        instanceId,
        connections: 2,
      }),
    deviceUrl: () => mosquitto.deviceUrl,
    async addDevice(deviceId) {
      const credentials = await registry.create(deviceId, 'test');
      await mosquitto.reload(registry.activeCredentials());
      return credentials;
    },
    async cleanup() {
      await mosquitto.stop();
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.runIf(available)('external broker (Mosquitto)', () => {
  hubBrokerContract('external Mosquitto', mosquittoWorld, { persistentHubSessions: true, replicas: true });

  it('fails clearly with wrong hub credentials', async () => {
    const world = await mosquittoWorld();
    try {
      const config: MqttConfig = { ...configFor('/tmp').mqtt, mode: 'external', url: world.deviceUrl(), hubPassword: 'wrong' };
      await expect(connectExternalBroker({ config, log: createLogger('silent'), instanceId: 'x' })).rejects.toMatchObject({
        code: 'BROKER_FAILED',
      });
    } finally {
      await world.cleanup();
    }
  });
});
