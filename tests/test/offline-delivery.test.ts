/**
 * Issue #5's offline acceptance, across packages with the real parts: with the hub down, an edge
 * agent classifies 1,000 images and queues its samples; once the hub is back every sample is
 * delivered and acknowledged, and the hub holds each exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger as agentLogger, loadConfig, startAgent } from '@edgeloop/edge-agent';
import { configFor, DeviceRegistry, type Hub, openDatabase, startHub } from '@edgeloop/hub';
import { afterAll, expect, test } from 'vitest';
import { mnistPngs, writeMnistModel } from '../support/model-fixture.js';
import { freePort } from '../support/ports.js';

const IMAGES = 1000;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test(`an agent offline for ${IMAGES} classifications delivers every sample once the hub is back`, { timeout: 240_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'edgeloop-offline-'));
  dirs.push(root);
  const hubDir = join(root, 'hub');
  const setup = openDatabase(join(hubDir, 'hub.db'));
  const { secret } = await new DeviceRegistry(setup).create('kiosk-1', 'test');
  setup.close();
  const mqttPort = await freePort();
  const config = {
    ...configFor(hubDir),
    http: { ...configFor(hubDir).http, port: 0 },
    mqtt: { ...configFor(hubDir).mqtt, tcpPort: mqttPort, wsPort: -1, rateLimit: { messagesPerSecond: 2000, burst: 2000 } },
    log: { level: 'warn' as const },
  };

  const modelDir = join(root, 'model');
  await writeMnistModel(modelDir, { name: 'digits', version: 1 });
  const images = (await mnistPngs(IMAGES)).map((p) => p.bytes);

  // The hub is down: the agent keeps classifying and queues every selected sample.
  const agent = await startAgent(
    loadConfig({
      file: {
        stateDir: join(root, 'agent'),
        deviceId: 'kiosk-1',
        secret,
        hub: { mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, httpUrl: 'http://127.0.0.1:9' },
        model: { name: 'digits', dir: modelDir },
        http: { port: 0 },
        updates: { checkIntervalS: 0 },
        sampling: { strategy: { strategy: 'random', rate: 1 } },
        budgets: { device: { capacity: 1e6, refillPerHour: 0 }, perClass: { capacity: 1e6, refillPerHour: 0 } },
      },
    }),
    { logger: agentLogger('silent') },
  );
  let hub: Hub | undefined;
  try {
    // A camera or a kiosk classifies a few images at a time (4 concurrent callers here).
    const results: unknown[] = [];
    for (let i = 0; i < IMAGES; i += 4) results.push(...(await Promise.all(images.slice(i, i + 4).map((b) => agent.classify(b)))));
    expect(results).toHaveLength(IMAGES);
    await agent.idle();
    const queued = (await agent.status()).outbox as { count: number };
    expect(queued.count, 'every sample queued while the hub is down').toBe(distinct(images));

    hub = await startHub(config);
    const deadline = Date.now() + 180_000;
    while (((await agent.status()).outbox as { count: number }).count > 0 && Date.now() < deadline) await sleep(200);
    expect(((await agent.status()).outbox as { count: number }).count).toBe(0);

    const rows = hub.database.sqlite.prepare('SELECT count(*) AS n, count(DISTINCT id) AS d FROM samples').get() as {
      n: number;
      d: number;
    };
    expect(rows.n).toBe(distinct(images));
    expect(rows.d).toBe(rows.n);
  } finally {
    await agent.stop();
    await hub?.close();
  }
});

/** Identical digits would share a sample id: the expected count is the number of distinct images. */
function distinct(images: Uint8Array[]): number {
  return new Set(images.map((b) => Buffer.from(b).toString('base64'))).size;
}
