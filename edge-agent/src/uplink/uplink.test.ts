/**
 * The uplink against a real aedes broker on 127.0.0.1 and a test double of the hub's ingest
 * (`test/hub-double.ts`): offline queueing, deletion only on the application-level SampleAck,
 * rejected samples dropped, the last will on an unclean disconnect, heartbeats, config and
 * announcements.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Announcement,
  announceTopic,
  type DeviceConfig,
  decodeJson,
  deviceTopic,
  encodeJson,
  encodeSampleFrame,
  type Status,
} from '@edgeloop/protocol';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HubDouble } from '../../test/hub-double.js';
import { SqliteOutbox } from '../outbox/sqlite-outbox.js';
import { agentMetrics } from '../telemetry/metrics.js';
import { Uplink, type UplinkOptions } from './uplink.js';

const DEVICE = 'pi-kitchen-1';
const SECRET = 's3cret';
let dir: string;
let outbox: SqliteOutbox;
let hub: HubDouble | undefined;
let uplink: Uplink | undefined;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Enqueues `n` valid sample frames and returns their ids. */
async function enqueueSamples(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = randomBytes(300);
    const sampleId = createHash('sha256').update(bytes).digest('hex');
    const frame = encodeSampleFrame({
      v: 1,
      sampleId,
      deviceId: DEVICE,
      model: { name: 'mnist', version: 1 },
      capturedAt: new Date().toISOString(),
      image: { mime: 'image/png', width: 28, height: 28, byteLength: bytes.byteLength, bytes },
      prediction: { label: '7', confidence: 0.6, probabilities: [0.6, 0.4] },
      sampling: { strategy: 'margin', score: 0.8, inclusionProbability: 1, audit: false, reason: 'uncertain' },
    });
    expect(await outbox.enqueue({ sampleId, bytes: frame })).toBe('stored');
    ids.push(sampleId);
  }
  return ids;
}

function startUplink(url: string, over: Partial<UplinkOptions> = {}): Uplink {
  uplink = new Uplink({
    url,
    deviceId: DEVICE,
    secret: SECRET,
    outbox,
    agentVersion: '0.1.0',
    model: () => ({ name: 'mnist', version: 1 }),
    followModels: ['mnist'],
    pollMs: 50,
    pubackTimeoutMs: 1_000,
    reconnect: { baseMs: 50, maxMs: 200, jitter: 0.5 },
    ...over,
  });
  uplink.start();
  return uplink;
}

/** A separate MQTT client that watches the device's topics, as the hub's operators would. */
async function observer(url: string, topic: string): Promise<{ messages: Buffer[]; end(): Promise<void> }> {
  const client = mqtt.connect(url, {
    clientId: 'observer',
    username: 'observer',
    password: 'watch',
    protocolVersion: 4,
    reconnectPeriod: 100,
  });
  client.on('error', () => {});
  const messages: Buffer[] = [];
  client.on('message', (_t, payload) => messages.push(payload));
  await client.subscribeAsync(topic, { qos: 1 });
  return { messages, end: () => client.endAsync(true) };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uplink-'));
  outbox = new SqliteOutbox({
    path: join(dir, 'agent.db'),
    maxBytes: 1e8,
    overflow: 'reject_new',
    ttlMs: 1e9,
    backoff: { baseMs: 300, maxMs: 600, jitter: 0 },
  });
});
afterEach(async () => {
  await uplink?.stop();
  uplink = undefined;
  await hub?.close();
  hub = undefined;
  await outbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Uplink', () => {
  it('queues while the hub is down and delivers everything once it comes up', async () => {
    const port = await freePort();
    const ids = await enqueueSamples(50);
    const link = startUplink(`mqtt://127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 400));
    expect(link.connected).toBe(false);
    expect(link.publishTelemetry({} as never)).toBe(false);
    expect(await link.publishStatus()).toBe(false);
    expect(await outbox.stats()).toMatchObject({ count: 50 });

    hub = await HubDouble.start(port, { [DEVICE]: SECRET, observer: 'watch' });
    await until('the outbox to drain', async () => (await outbox.stats()).count === 0);
    expect([...hub.stored].sort()).toEqual([...ids].sort());
  });

  it('keeps a sample the broker PUBACKed until the hub acks it, and resends it', async () => {
    hub = await HubDouble.start(0, { [DEVICE]: SECRET });
    hub.answer = () => 'silent';
    const metrics = agentMetrics();
    const link = startUplink(hub.url, { metrics });
    await until('connected', () => link.connected);
    const ids = await enqueueSamples(5);
    link.kick();
    await until('5 deliveries', () => ids.every((id) => hub!.deliveries.get(id) === 1));
    await new Promise((r) => setTimeout(r, 200));
    expect(await outbox.stats()).toMatchObject({ count: 5 });

    hub.answer = () => 'accept';
    await until('the outbox to drain', async () => (await outbox.stats()).count === 0);
    expect(ids.every((id) => (hub!.deliveries.get(id) ?? 0) >= 2)).toBe(true);
    expect(await metrics.samplesAcked.get()).toMatchObject({ values: [{ value: 5 }] });
  });

  it('drops samples the hub rejects for good, and counts them', async () => {
    hub = await HubDouble.start(0, { [DEVICE]: SECRET });
    const ids = await enqueueSamples(6);
    const bad = new Set(ids.slice(0, 2));
    hub.answer = (id) => (bad.has(id) ? { reject: 'BAD_IMAGE' } : 'accept');
    const metrics = agentMetrics();
    const acks: string[] = [];
    startUplink(hub.url, { metrics, onAck: (a) => acks.push(...a.rejected.map((r) => r.sampleId)) });
    await until('the outbox to drain', async () => (await outbox.stats()).count === 0);
    expect(hub.stored.size).toBe(4);
    expect(new Set(acks)).toEqual(bad);
    expect((await metrics.samplesRejected.get()).values).toEqual([{ value: 2, labels: { code: 'BAD_IMAGE' } }]);
  });

  it('publishes online on connect, heartbeats, and the broker sends its offline will on an unclean disconnect', async () => {
    hub = await HubDouble.start(0, { [DEVICE]: SECRET, observer: 'watch' });
    const watch = await observer(hub.url, deviceTopic(DEVICE, 'status'));
    const link = startUplink(hub.url, { heartbeatMs: 100 });
    await until('connected', () => link.connected);
    await enqueueSamples(0);
    const states = () => watch.messages.map((m) => (decodeJson('status', m) as { ok: true; value: Status }).value);
    await until('heartbeats', () => states().filter((s) => s.state === 'online').length >= 3);
    expect(states()[0]).toMatchObject({ deviceId: DEVICE, state: 'online', agent: { kind: 'edge' }, model: { name: 'mnist', version: 1 } });
    expect(states().at(-1)?.outbox).toEqual({ count: 0, bytes: 0 });

    const before = watch.messages.length;
    hub.dropClient(DEVICE);
    await until('the last will', () =>
      states()
        .slice(before)
        .some((s) => s.state === 'offline'),
    );
    await until('the reconnect', () => link.connected && states().at(-1)?.state === 'online');
    await watch.end();
  });

  it('hands device configs and announcements to its callbacks, and ignores invalid ones', async () => {
    hub = await HubDouble.start(0, { [DEVICE]: SECRET });
    const config: DeviceConfig = {
      v: 1,
      sampling: { strategy: { strategy: 'entropy', threshold: 0.4, floor: 0 }, auditRate: 0.05 },
      budgets: { device: { capacity: 10, refillPerHour: 10 }, perClass: { capacity: 5, refillPerHour: 5 }, classOverrides: {} },
      telemetryIntervalS: 30,
    };
    const announcement: Announcement = { v: 1, model: 'mnist', version: 2, timestampVersion: 7, publishedAt: new Date().toISOString() };
    const retained = (topic: string, payload: Uint8Array) =>
      new Promise<void>((r) =>
        hub!.broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true, dup: false }, () => r()),
      );
    await retained(deviceTopic(DEVICE, 'config'), new TextEncoder().encode('{"v":1,"nonsense":true}'));
    const configs: DeviceConfig[] = [];
    const announcements: Announcement[] = [];
    const link = startUplink(hub.url, { onConfig: (c) => configs.push(c), onAnnouncement: (a) => announcements.push(a) });
    await until('connected', () => link.connected);
    await retained(deviceTopic(DEVICE, 'config'), encodeJson('config', config));
    await retained(announceTopic('mnist'), encodeJson('announcement', announcement));
    await until('both callbacks', () => configs.length === 1 && announcements.length === 1);
    expect(configs[0]).toEqual(config);
    expect(announcements[0]).toEqual(announcement);
  });

  it('keeps retrying without throwing when the broker refuses its credentials', async () => {
    hub = await HubDouble.start(0, { [DEVICE]: 'another-secret' });
    const link = startUplink(hub.url);
    await enqueueSamples(3);
    await new Promise((r) => setTimeout(r, 500));
    expect(link.connected).toBe(false);
    expect(await outbox.stats()).toMatchObject({ count: 3 });
  });
});
