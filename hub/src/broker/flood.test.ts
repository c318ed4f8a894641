/**
 * Flood: misbehaving devices publish as fast as TCP lets them, QoS 0 and QoS 1 mixed, from raw
 * sockets that ignore every limit and reconnect when thrown out. The embedded broker must rate
 * limit them and cap their messages in flight in its hooks, disconnect them, and stay up; a
 * well-behaved device meanwhile still gets every sample acknowledged. (Plain aedes crashed with
 * "Maximum call stack size exceeded" in mqemitter in 2 of 6 unthrottled QoS 0 floods.)
 */
import { connect as tcpConnect } from 'node:net';
import { deviceTopic } from '@edgeloop/protocol';
import { afterAll, expect, it } from 'vitest';
import { embeddedWorld } from './test-embedded.js';
import { connect, raw, sleep } from './test-mqtt.js';

const RATE = { messagesPerSecond: 200, burst: 400 };
const MAX_INFLIGHT = 32;
const FLOODERS = 4;
/** Each flooder reconnects and floods again until this much time has passed. */
const FLOOD_MS = 4_000;

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** One flood round: connect, then write PUBLISH packets until the broker closes the socket. */
function floodRound(port: number, deviceId: string, secret: string): Promise<{ bytes: number; ms: number }> {
  const payload = Buffer.alloc(1024, 1);
  const batch = Buffer.concat(
    Array.from({ length: 400 }, (_, i) =>
      raw.publish(deviceTopic(deviceId, i % 2 ? 'samples' : 'telemetry'), payload, i % 2 ? 1 : 0, (i % 60_000) + 1),
    ),
  );
  const started = performance.now();
  return new Promise((resolve) => {
    let bytes = 0;
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(raw.connect(deviceId, deviceId, secret)));
    const pump = () => {
      while (!socket.destroyed) {
        bytes += batch.length;
        if (!socket.write(batch)) return void socket.once('drain', pump);
      }
    };
    // Flood from the CONNACK on. (Before it, aedes queues at most `queueLimit` packets and drops
    // a client that sends more; that is a different limit.)
    socket.once('data', pump);
    socket.on('error', () => {});
    socket.on('close', () => resolve({ bytes, ms: performance.now() - started }));
  });
}

it('limits, disconnects and survives flooding devices while others are still acked', { timeout: 120_000 }, async () => {
  const world = await embeddedWorld({ rateLimit: RATE, maxInflightPerClient: MAX_INFLIGHT, maxViolations: 50 });
  cleanups.push(world.cleanup);
  const broker = await world.start();
  const port = Number(new URL(broker.urls.mqtt).port);

  // A slow-ish handler, like ingest: a sample is "committed" after 10 ms, then acked.
  const inflight = new Map<string, number>();
  const peak = new Map<string, number>();
  const handled = new Map<string, number>();
  broker.onDeviceMessage(async (m) => {
    const n = (inflight.get(m.deviceId) ?? 0) + 1;
    inflight.set(m.deviceId, n);
    peak.set(m.deviceId, Math.max(peak.get(m.deviceId) ?? 0, n));
    handled.set(m.deviceId, (handled.get(m.deviceId) ?? 0) + 1);
    await sleep(10);
    if (m.channel === 'samples') await broker.publish(deviceTopic(m.deviceId, 'acks'), m.payload.subarray(0, 16));
    inflight.set(m.deviceId, (inflight.get(m.deviceId) ?? 1) - 1);
  });

  // An observer on every device's samples gives aedes' router real subscribers to deliver to.
  const observer = await connect(broker.urls.mqtt, { clientId: 'edgeloop-hub:observer', username: 'edgeloop-hub', password: 'hub-secret' });
  cleanups.push(() => observer.end());
  await observer.client.subscribeAsync('edgeloop/v1/devices/+/samples', { qos: 0 });

  const good = await world.registry.create('good-1', 'test');
  const goodClient = await connect(broker.urls.mqtt, { clientId: 'good-1', username: 'good-1', password: good.secret });
  cleanups.push(() => goodClient.end());
  await goodClient.client.subscribeAsync(deviceTopic('good-1', 'acks'), { qos: 1 });

  let rssPeak = 0;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  cleanups.push(async () => clearInterval(rssTimer));

  const started = performance.now();
  const flooders = await Promise.all(Array.from({ length: FLOODERS }, (_, i) => world.registry.create(`flood-${i}`, 'test')));
  const floods = flooders.map(async ({ deviceId, secret }) => {
    const rounds = [];
    while (performance.now() - started < FLOOD_MS) rounds.push(await floodRound(port, deviceId, secret));
    return rounds;
  });

  // The good device sends 40 samples at a polite pace while the flood runs.
  const GOOD = 40;
  for (let i = 0; i < GOOD; i++) {
    const id = Buffer.alloc(16, i);
    await goodClient.client.publishAsync(deviceTopic('good-1', 'samples'), Buffer.concat([id, Buffer.alloc(1000)]), { qos: 1 });
    await sleep(FLOOD_MS / GOOD);
  }
  const rounds = (await Promise.all(floods)).flat();
  const elapsedS = (performance.now() - started) / 1000;
  for (let i = 0; i < GOOD; i++) await goodClient.waitFor((m) => m.payload.equals(Buffer.alloc(16, i)), 10_000);

  // Every round ended with the broker closing the connection (a flood never ends by itself),
  // for the rate limit.
  expect(rounds.length).toBeGreaterThanOrEqual(FLOODERS);
  const disconnects = (await world.metrics.registry.getSingleMetric('edgeloop_broker_disconnects_total')!.get()).values;
  const rateLimited = disconnects.find((v) => v.labels.reason === 'rate_limit')?.value ?? 0;
  expect(rateLimited).toBe(rounds.length);
  for (const { deviceId } of flooders) {
    // In-flight cap held, and no more messages than the bucket allows reached the handler.
    expect(peak.get(deviceId) ?? 0).toBeLessThanOrEqual(MAX_INFLIGHT);
    expect(handled.get(deviceId) ?? 0).toBeLessThanOrEqual(RATE.burst + RATE.messagesPerSecond * elapsedS);
  }
  expect(handled.get('good-1')).toBe(GOOD);
  const floodedMb = rounds.reduce((s, r) => s + r.bytes, 0) / 2 ** 20;
  console.info(
    `flood: ${floodedMb.toFixed(0)} MiB offered in ${rounds.length} rounds, ${elapsedS.toFixed(1)} s, peak RSS ${(rssPeak / 2 ** 20).toFixed(0)} MiB`,
  );
  expect(rssPeak).toBeLessThan(512 * 2 ** 20);
  expect(goodClient.closed()).toBe(false);
});
