/**
 * The spec of a {@link HubBroker}, as aedes-persistence's `abstract.js` is the spec of an Aedes
 * persistence: `embedded.test.ts` and `external.test.ts` call {@link hubBrokerContract} with a
 * factory and pass the same suite. Devices are real mqtt.js clients on 127.0.0.1.
 */
import { deviceTopic } from '@edgeloop/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceMessage, HubBroker } from './hub-broker.js';
import { connect, sleep, type TestClient } from './test-mqtt.js';

/** A fresh broker world for one test. */
export interface BrokerUnderTest {
  /** Starts the hub's side. Embedded: the broker itself; external: a hub client with `instanceId`. */
  startHub(options?: { instanceId?: string }): Promise<HubBroker>;
  /** Where devices connect (for the embedded broker, once the hub has started). */
  deviceUrl(): string;
  /** Issues credentials for a device (the broker must accept them). */
  addDevice(deviceId: string): Promise<{ deviceId: string; secret: string }>;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** The hub keeps a persistent session: QoS 1 messages sent while it is away are delivered later. */
  persistentHubSessions: boolean;
  /** Several hub replicas can run at once and split device messages (shared subscriptions). */
  replicas: boolean;
}

const bytes = (text: string) => new TextEncoder().encode(text);

export function hubBrokerContract(name: string, make: () => Promise<BrokerUnderTest>, options: ContractOptions): void {
  describe(`HubBroker contract: ${name}`, () => {
    let world: BrokerUnderTest;
    const clients: TestClient[] = [];
    const hubs: HubBroker[] = [];

    beforeEach(async () => {
      world = await make();
    });
    afterEach(async () => {
      await Promise.allSettled(clients.splice(0).map((c) => c.end()));
      await Promise.allSettled(hubs.splice(0).map((h) => h.close()));
      await world.cleanup();
    });

    const startHub = async (opts?: { instanceId?: string }) => {
      const hub = await world.startHub(opts);
      hubs.push(hub);
      return hub;
    };
    const device = async (deviceId: string) => {
      const { secret } = await world.addDevice(deviceId);
      const test = await connect(world.deviceUrl(), { clientId: deviceId, username: deviceId, password: secret, clean: true });
      clients.push(test);
      return test;
    };
    const recorder = (hub: HubBroker) => {
      const got: DeviceMessage[] = [];
      hub.onDeviceMessage(async (m) => {
        got.push(m);
      });
      return got;
    };
    const until = async (predicate: () => boolean, timeoutMs = 5_000) => {
      for (const start = Date.now(); !predicate(); await sleep(10)) {
        if (Date.now() - start > timeoutMs) throw new Error('timed out');
      }
    };

    it("delivers a device's messages to the handler, with its device id", async () => {
      const hub = await startHub();
      const got = recorder(hub);
      const cam = await device('cam-1');
      await cam.client.publishAsync(deviceTopic('cam-1', 'samples'), Buffer.from('frame'), { qos: 1 });
      await cam.client.publishAsync(deviceTopic('cam-1', 'telemetry'), Buffer.from('{}'), { qos: 0 });
      await cam.client.publishAsync(deviceTopic('cam-1', 'status'), Buffer.from('{"state":"online"}'), { qos: 1 });
      await until(() => got.length === 3);
      const byChannel = Object.fromEntries(got.map((m) => [m.channel, m]));
      expect(byChannel.samples).toMatchObject({ deviceId: 'cam-1', topic: deviceTopic('cam-1', 'samples'), qos: 1 });
      expect(Buffer.from(byChannel.samples!.payload).toString()).toBe('frame');
      expect(byChannel.telemetry).toMatchObject({ deviceId: 'cam-1', qos: 0 });
      expect(byChannel.status).toMatchObject({ deviceId: 'cam-1', qos: 1 });
    });

    it("delivers the hub's publish to the device's ack subscription", async () => {
      const hub = await startHub();
      const cam = await device('cam-1');
      await cam.client.subscribeAsync(deviceTopic('cam-1', 'acks'), { qos: 1 });
      await hub.publish(deviceTopic('cam-1', 'acks'), bytes('ack-1'));
      const ack = await cam.waitFor((m) => m.topic === deviceTopic('cam-1', 'acks'));
      expect(ack.payload.toString()).toBe('ack-1');
    });

    it('refuses to publish as the hub where the hub may not', async () => {
      const hub = await startHub();
      await expect(hub.publish(deviceTopic('cam-1', 'samples'), bytes('x'))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(hub.publish('$SYS/x', bytes('x'))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('waits for pending handlers on close, and their acks still go out', async () => {
      const hub = await startHub();
      const cam = await device('cam-1');
      await cam.client.subscribeAsync(deviceTopic('cam-1', 'acks'), { qos: 1 });
      let finished = false;
      hub.onDeviceMessage(async (m) => {
        await sleep(300);
        await hub.publish(deviceTopic(m.deviceId, 'acks'), m.payload);
        finished = true;
      });
      await cam.client.publishAsync(deviceTopic('cam-1', 'samples'), Buffer.from('slow'), { qos: 1 });
      await sleep(50);
      await hub.close();
      expect(finished).toBe(true);
      await cam.waitFor((m) => m.payload.toString() === 'slow');
    });

    // Capabilities a broker lacks are left out rather than skipped: CI counts skipped tests as failures.
    if (options.persistentHubSessions)
      it('delivers QoS 1 messages sent while the hub was away once it is back', async () => {
        const first = await startHub({ instanceId: 'replica-1' });
        recorder(first);
        await first.close();
        const cam = await device('cam-1');
        for (let i = 0; i < 5; i++)
          await cam.client.publishAsync(deviceTopic('cam-1', 'samples'), Buffer.from(`while-away-${i}`), { qos: 1 });
        const again = await startHub({ instanceId: 'replica-1' });
        const got = recorder(again);
        await until(() => got.length === 5);
        expect(got.map((m) => Buffer.from(m.payload).toString()).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `while-away-${i}`));
      });

    if (options.replicas)
      it('splits messages between two replicas, without duplicates', async () => {
        const one = recorder(await startHub({ instanceId: 'replica-1' }));
        const two = recorder(await startHub({ instanceId: 'replica-2' }));
        const cam = await device('cam-1');
        const N = 40;
        for (let i = 0; i < N; i++) await cam.client.publishAsync(deviceTopic('cam-1', 'samples'), Buffer.from(`m-${i}`), { qos: 1 });
        await until(() => one.length + two.length >= N);
        await sleep(300);
        const all = [...one, ...two].map((m) => Buffer.from(m.payload).toString());
        expect(all).toHaveLength(N);
        expect(new Set(all).size).toBe(N);
        expect(one.length).toBeGreaterThan(0);
        expect(two.length).toBeGreaterThan(0);
      });
  });
}
