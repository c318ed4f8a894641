/**
 * Durability under crashes: a child hub is SIGKILLed at random while simulated devices publish
 * QoS1 samples from outboxes that resend until the hub's application-level ack. Afterwards every
 * acknowledged sample must be in the database and in the object store, byte for byte, and no
 * sample may be stored twice. `npm test` runs 20 kills and 5,000 samples; CI runs 50 and 10,000.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '@edgeloop/protocol';
import { afterAll, expect, test } from 'vitest';
import { openDatabase } from '../src/db/open.js';
import { DeviceRegistry } from '../src/fleet/devices.js';
import { openObjectStore } from '../src/storage/open-object-store.js';
import { freePort, type HubProcess, startHubProcess } from './support/hub-process.js';
import { makeSample } from './support/sample-factory.js';
import { SimDevice } from './support/sim-device.js';

const long = process.env.CI === 'true';
const KILLS = long ? 50 : 20;
const SAMPLES = long ? 10_000 : 5_000;
const DEVICES = 3;
const seed = Number(process.env.EDGELOOP_DURABILITY_SEED ?? Date.now() % 1_000_000);

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(`every acked sample survives ${KILLS} SIGKILLs (${SAMPLES} samples, seed ${seed})`, {
  timeout: long ? 600_000 : 240_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgeloop-durability-'));
  dirs.push(dataDir);
  const setup = openDatabase(join(dataDir, 'hub.db'));
  const registry = new DeviceRegistry(setup);
  const creds: Array<{ deviceId: string; secret: string }> = [];
  for (let i = 0; i < DEVICES; i++) creds.push(await registry.create(`dev-${i}`, 'test'));
  setup.close();

  const env = {
    EDGELOOP_DATA_DIR: dataDir,
    EDGELOOP_HTTP_PORT: String(await freePort()),
    EDGELOOP_MQTT_PORT: String(await freePort()),
    EDGELOOP_MQTT_WS_PORT: '-1',
    EDGELOOP_MQTT_RATE: '5000',
    EDGELOOP_MQTT_BURST: '5000',
    EDGELOOP_LOG_LEVEL: 'warn',
    // No trainer worker and no first-start training: this test is about ingest, and each restart
    // would spawn a worker and import the MNIST digits.
    EDGELOOP_LOCAL_TRAINER: '0',
    EDGELOOP_BOOTSTRAP: 'none',
  };
  let hub: HubProcess = await startHubProcess(env);
  const devices = creds.map((c) => new SimDevice({ url: hub.urls.mqtt, ...c, resendAfterMs: 2_000 }));
  await Promise.all(devices.map((d) => d.start()));

  // Send in small bursts, while a killer SIGKILLs the hub at random and restarts it.
  const rng = mulberry32(seed);
  const sendWindowMs = long ? 120_000 : 45_000;
  let killing = true;
  let kills = 0;
  const killer = (async () => {
    while (kills < KILLS) {
      await sleep(200 + rng() * ((2 * sendWindowMs) / KILLS - 400));
      hub.child.kill('SIGKILL');
      await hub.exited;
      kills++;
      hub = await startHubProcess(env);
    }
    killing = false;
  })();
  const perTick = Math.ceil(SAMPLES / (sendWindowMs / 50));
  for (let n = 0; n < SAMPLES; ) {
    for (let k = 0; k < perTick && n < SAMPLES; k++, n++) {
      const device = devices[n % DEVICES]!;
      device.send(makeSample(device.deviceId, seed * 100_000 + n));
    }
    await sleep(50);
  }
  await killer;
  expect(killing).toBe(false);

  // Every sample is acknowledged in the end: the outboxes resend until then.
  const deadline = Date.now() + 90_000;
  while (devices.some((d) => d.pending.size > 0) && Date.now() < deadline) await sleep(200);
  const pending = devices.reduce((s, d) => s + d.pending.size, 0);
  await Promise.all(devices.map((d) => d.stop()));
  hub.child.kill('SIGTERM');
  expect(await hub.exited).toBe(0);
  expect(pending, 'samples never acknowledged').toBe(0);
  expect(devices.reduce((s, d) => s + d.rejected.size, 0)).toBe(0);

  const acked = new Set(devices.flatMap((d) => [...d.acked.keys()]));
  expect(acked.size).toBe(SAMPLES);
  expect(kills).toBe(KILLS);

  const db = openDatabase(join(dataDir, 'hub.db'));
  const rows = db.sqlite.prepare('SELECT id FROM samples').all() as Array<{ id: string }>;
  db.close();
  const stored = new Set(rows.map((r) => r.id));
  expect(rows.length, 'a sample stored twice').toBe(stored.size);
  expect(stored.size).toBe(SAMPLES);
  for (const id of acked) expect(stored.has(id), `acked ${id} missing from the database`).toBe(true);

  const store = await openObjectStore(`file://${join(dataDir, 'objects')}`);
  for (const id of acked) {
    const bytes = await store.get(`samples/${id.slice(0, 2)}/${id}`);
    expect(bytes, `acked ${id} missing from the object store`).toBeDefined();
    expect(createHash('sha256').update(bytes!).digest('hex')).toBe(id);
  }
  const blobs = [];
  for await (const key of store.list('samples/')) blobs.push(key);
  expect(blobs.length, 'one blob per sample, no leftovers').toBe(SAMPLES);
  await store.close();
  const leftovers = (await readdir(dataDir)).filter((f) => f.endsWith('.tmp'));
  expect(leftovers).toEqual([]);
  console.info(
    `durability: ${kills} kills, ${SAMPLES} samples, ${devices.reduce((s, d) => s + d.connects, 0)} connects, ` +
      `${devices.reduce((s, d) => s + d.duplicateAcks, 0)} re-acks after resends`,
  );
});
