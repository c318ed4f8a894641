import { deviceTopic } from '@edgeloop/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BrokerUnderTest, hubBrokerContract } from './hub-broker.contract.js';
import type { PresenceEvent } from './hub-broker.js';
import { embeddedWorld, HUB } from './test-embedded.js';
import { connect, sleep, tryConnect } from './test-mqtt.js';

hubBrokerContract(
  'embedded aedes',
  async (): Promise<BrokerUnderTest> => {
    const world = await embeddedWorld();
    return {
      startHub: () => world.start(),
      deviceUrl: world.url,
      addDevice: (id) => world.registry.create(id, 'test'),
      cleanup: world.cleanup,
    };
  },
  { persistentHubSessions: false, replicas: false },
);

describe('embedded broker', () => {
  let world: Awaited<ReturnType<typeof embeddedWorld>>;
  beforeEach(async () => {
    world = await embeddedWorld();
  });
  afterEach(() => world.cleanup());

  it('serves MQTT over WebSocket too, on its own port', async () => {
    const broker = await world.start();
    expect(broker.urls.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const { secret } = await world.registry.create('browser-1', 'test');
    const got: string[] = [];
    broker.onDeviceMessage(async (m) => {
      got.push(m.deviceId);
    });
    const web = await connect(broker.urls.ws!, { clientId: 'browser-1', username: 'browser-1', password: secret });
    await web.client.publishAsync(deviceTopic('browser-1', 'samples'), Buffer.from('x'), { qos: 1 });
    await web.end();
    await sleep(50);
    expect(got).toEqual(['browser-1']);
  });

  it('reports presence per device and counts connections', async () => {
    const broker = await world.start();
    const events: PresenceEvent[] = [];
    broker.onPresence((e) => events.push(e));
    const { secret } = await world.registry.create('cam-1', 'test');
    const one = await connect(broker.urls.mqtt, { clientId: 'cam-1', username: 'cam-1', password: secret });
    const two = await connect(broker.urls.mqtt, { clientId: 'cam-1:second', username: 'cam-1', password: secret });
    expect(broker.connectedClients()).toBe(2);
    await one.end();
    await sleep(50);
    expect(events.map((e) => e.online)).toEqual([true]);
    await two.end();
    await sleep(50);
    expect(events.map((e) => [e.deviceId, e.online])).toEqual([
      ['cam-1', true],
      ['cam-1', false],
    ]);
    expect(broker.connectedClients()).toBe(0);
    // The hub identity is not a device.
    await (await connect(broker.urls.mqtt, { clientId: 'hub-x', username: HUB.hubUsername, password: HUB.hubPassword })).end();
    expect(events).toHaveLength(2);
  });

  it("refuses a device that presents another client's id (no session takeover)", async () => {
    const broker = await world.start();
    const a = await world.registry.create('cam-a', 'test');
    const b = await world.registry.create('cam-b', 'test');
    const victim = await connect(broker.urls.mqtt, { clientId: 'cam-a', username: 'cam-a', password: a.secret });
    const thief = await tryConnect(broker.urls.mqtt, { clientId: 'cam-a', username: 'cam-b', password: b.secret });
    expect(thief).toMatchObject({ ok: false, code: 2 });
    await sleep(50);
    expect(victim.closed()).toBe(false);
    await victim.end();
  });

  it("keeps a device's status retained, but no retained samples", async () => {
    const broker = await world.start();
    const { secret } = await world.registry.create('cam-1', 'test');
    const cam = await connect(broker.urls.mqtt, { clientId: 'cam-1', username: 'cam-1', password: secret });
    await cam.client.publishAsync(deviceTopic('cam-1', 'samples'), Buffer.from('sample'), { qos: 1, retain: true });
    await cam.client.publishAsync(deviceTopic('cam-1', 'status'), Buffer.from('status'), { qos: 1, retain: true });
    await cam.end();
    const hub = await connect(broker.urls.mqtt, { clientId: 'edgeloop-hub:late', username: HUB.hubUsername, password: HUB.hubPassword });
    await hub.client.subscribeAsync(['edgeloop/v1/devices/+/samples', 'edgeloop/v1/devices/+/status'], { qos: 1 });
    await hub.waitFor((m) => m.topic === deviceTopic('cam-1', 'status'));
    await sleep(100);
    expect(hub.received.map((m) => m.payload.toString())).toEqual(['status']);
    await hub.end();
  });
});
