/**
 * The second baseline of `bench:ingest`: the hub's broker side alone. It is the hub's embedded
 * broker as `main.ts` starts it (packet guard, per-device authentication, the default-deny ACL,
 * rate and in-flight gates, the dispatcher) with the hub's ack batcher, configured from the same
 * environment, but it acks a sample as soon as it arrives: no schema, no sha256, no image check,
 * no SQLite, no object store. It is a measurement, not a mode of the hub: nothing it acks is
 * stored. What the real hub spends beyond it per sample is the cost of the ingest work itself.
 *
 * Prints `{"port":N}` when listening; stops on SIGTERM. Needs EDGELOOP_DATA_DIR with a database
 * whose devices the clients log in as.
 */
import { randomBytes } from 'node:crypto';
import { startEmbeddedBroker } from '../src/broker/embedded.js';
import { defaultConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { configFromEnv } from '../src/env.js';
import { DeviceRegistry } from '../src/fleet/devices.js';
import { createAckBatcher } from '../src/ingest/ack-batcher.js';
import { salvageSampleId } from '../src/ingest/frame-salvage.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';

const config = configFromEnv(process.env, defaultConfig);
const log = createLogger(config.log.level);
const database = openDatabase(config.databasePath);
const hubPassword = randomBytes(24).toString('base64url');
const broker = await startEmbeddedBroker({
  config: { ...config.mqtt, hubPassword },
  authenticator: new DeviceRegistry(database).authenticator({ hubUsername: config.mqtt.hubUsername, hubPassword }),
  log,
  metrics: createMetrics(),
});
const acks = createAckBatcher({ publish: (topic, payload) => broker.publish(topic, payload), now: () => new Date() });
broker.onDeviceMessage(async (message) => {
  if (message.channel !== 'samples') return;
  const sampleId = salvageSampleId(message.payload);
  if (sampleId) await acks.accept(message.deviceId, sampleId);
});
process.stdout.write(`${JSON.stringify({ port: Number(new URL(broker.urls.mqtt).port) })}\n`);
process.once('SIGTERM', () => {
  broker.close().then(
    () => {
      database.close();
      process.exit(0);
    },
    () => process.exit(1),
  );
});
