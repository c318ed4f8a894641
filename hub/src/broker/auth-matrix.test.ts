/**
 * The auth matrix: identities {device A, device B, hub, anonymous, wrong password, revoked} ×
 * {publish, subscribe} × topics {own, other device's, announcements, `#`, `$SYS/#`}, against the
 * embedded broker and against a real Mosquitto with the generated configuration.
 *
 * A publish is checked by whether an authorised observer receives it. A subscription is checked
 * by its SUBACK where the broker refuses at SUBSCRIBE (aedes: 0x80), and always by delivery: after
 * subscribing, authorised publishers send matching messages, and the subscriber must receive
 * exactly those it may read. Mosquitto 2.0's `acl_file` grants every SUBSCRIBE and filters each
 * message by read access instead, so there only the delivery check applies.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANNOUNCE_FILTER, deviceTopic } from '@edgeloop/protocol';
import { requirePart } from '@edgeloop/tests/support/ci';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor } from '../config.js';
import { openDatabase } from '../db/open.js';
import { DeviceRegistry } from '../fleet/devices.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { startEmbeddedBroker } from './embedded.js';
import type { HubBroker } from './hub-broker.js';
import { MOSQUITTO_HOW_TO_GET, mosquittoAvailable, startMosquitto } from './test-mosquitto.js';
import { connect, sleep, type TestClient, tryConnect } from './test-mqtt.js';

const HUB_USER = 'edgeloop-hub';
const ANNOUNCE = 'edgeloop/v1/models/digits/announce';
type Kind = 'own' | 'other' | 'announcements' | '#' | '$SYS/#';
const KINDS: Kind[] = ['own', 'other', 'announcements', '#', '$SYS/#'];

/** The expected matrix, as the issue states it: default deny. */
const EXPECTED: Record<'device' | 'hub', Record<'publish' | 'subscribe', Record<Kind, boolean>>> = {
  device: {
    publish: { own: true, other: false, announcements: false, '#': false, '$SYS/#': false },
    subscribe: { own: true, other: false, announcements: true, '#': false, '$SYS/#': false },
  },
  hub: {
    publish: { own: true, other: false, announcements: true, '#': false, '$SYS/#': false },
    subscribe: { own: true, other: false, announcements: true, '#': false, '$SYS/#': false },
  },
};

interface World {
  name: string;
  deviceUrl: string;
  hubUrl: string;
  hubPassword: string;
  registry: DeviceRegistry;
  secrets: Record<string, string>;
  /** Publishes as the (authorised) hub. */
  hubPublish(topic: string, payload: string): Promise<void>;
  /** Applies the registry to the broker (Mosquitto: regenerate + SIGHUP). */
  apply(): Promise<void>;
  /** Whether a refused SUBSCRIBE shows in the SUBACK (0x80). */
  subackRefuses: boolean;
  /** How long `$SYS` takes to publish something. */
  sysWaitMs: number;
  /** Device messages that reached the hub's handler (embedded only). */
  handled: string[];
  cleanup(): Promise<void>;
}

async function registryWith(dir: string) {
  const database = openDatabase(join(dir, 'hub.db'));
  const registry = new DeviceRegistry(database);
  const secrets: Record<string, string> = {};
  for (const id of ['dev-a', 'dev-b', 'dev-r']) secrets[id] = (await registry.create(id, 'test')).secret;
  registry.revoke('dev-r', 'test');
  return { database, registry, secrets };
}

async function embeddedWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-matrix-'));
  const { database, registry, secrets } = await registryWith(dir);
  const hubPassword = randomBytes(18).toString('base64url');
  const config = { ...configFor(dir).mqtt, tcpPort: 0, wsPort: -1, hubUsername: HUB_USER, hubPassword };
  const broker: HubBroker = await startEmbeddedBroker({
    config,
    authenticator: registry.authenticator({ hubUsername: HUB_USER, hubPassword }),
    log: createLogger('silent'),
    metrics: createMetrics({ defaultMetrics: false }),
  });
  const handled: string[] = [];
  broker.onDeviceMessage(async (m) => {
    handled.push(Buffer.from(m.payload).toString());
  });
  return {
    name: 'embedded aedes',
    deviceUrl: broker.urls.mqtt,
    hubUrl: broker.urls.mqtt,
    hubPassword,
    registry,
    secrets,
    hubPublish: (topic, payload) => broker.publish(topic, Buffer.from(payload)),
    apply: async () => {},
    subackRefuses: true,
    sysWaitMs: 300,
    handled,
    async cleanup() {
      await broker.close();
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mosquittoWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-matrix-'));
  const { database, registry, secrets } = await registryWith(dir);
  const hubPassword = randomBytes(18).toString('base64url');
  const mosquitto = await startMosquitto({
    devices: registry.activeCredentials(),
    hubUsername: HUB_USER,
    hubPassword,
    maxRemainingLength: configFor(dir).mqtt.maxPayloadBytes,
    // `$SYS` every second, so that a `$SYS/#` subscription would see something quickly.
    extra: ['sys_interval 1'],
  });
  const prober = await connect(mosquitto.hubUrl, { clientId: `${HUB_USER}:prober`, username: HUB_USER, password: hubPassword });
  return {
    name: 'Mosquitto',
    deviceUrl: mosquitto.deviceUrl,
    hubUrl: mosquitto.hubUrl,
    hubPassword,
    registry,
    secrets,
    hubPublish: async (topic, payload) => {
      await prober.client.publishAsync(topic, payload, { qos: 1 });
    },
    apply: () => mosquitto.reload(registry.activeCredentials()),
    subackRefuses: false,
    sysWaitMs: 1_500,
    handled: [],
    async cleanup() {
      await prober.end();
      await mosquitto.stop();
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const haveMosquitto = requirePart('mosquitto', mosquittoAvailable, MOSQUITTO_HOW_TO_GET);
/** [name, factory, available, whether the hub has a listener of its own] */
const worlds: Array<[string, () => Promise<World>, boolean, boolean]> = [
  ['embedded aedes', embeddedWorld, true, false],
  ['Mosquitto (generated config)', mosquittoWorld, haveMosquitto, true],
];

for (const [name, make, available, hubListener] of worlds) {
  describe.runIf(available)(`auth matrix: ${name}`, () => {
    let world: World;
    const open: TestClient[] = [];
    beforeAll(async () => {
      world = await make();
    });
    afterAll(async () => {
      await Promise.allSettled(open.map((c) => c.end()));
      await world?.cleanup();
    });

    const as = async (who: 'dev-a' | 'dev-b' | 'hub', suffix = '') => {
      const c =
        who === 'hub'
          ? await connect(world.hubUrl, { clientId: `${HUB_USER}:${suffix || 'actor'}`, username: HUB_USER, password: world.hubPassword })
          : await connect(world.deviceUrl, { clientId: who, username: who, password: world.secrets[who] });
      open.push(c);
      return c;
    };
    const unique = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;

    describe('connect', () => {
      const refused = {
        anonymous: {},
        'wrong password': { clientId: 'dev-a', username: 'dev-a', password: 'not-the-secret' },
        revoked: { clientId: 'dev-r', username: 'dev-r' },
        'a device on the hub identity': { clientId: `${HUB_USER}:x`, username: HUB_USER, password: 'dev-a-secret' },
      };
      for (const [who, options] of Object.entries(refused)) {
        it(`refuses ${who}`, async () => {
          const password = who === 'revoked' ? world.secrets['dev-r'] : (options as { password?: string }).password;
          for (const url of new Set([world.deviceUrl, world.hubUrl])) {
            const result = await tryConnect(url, { clientId: 'anon', ...options, ...(password ? { password } : {}) });
            expect(result.ok, `${who} at ${url}`).toBe(false);
            // CONNACK 4 (bad user name or password) or 5 (not authorized), MQTT 3.1.1 §3.2.2.3.
            if (!result.ok) expect([4, 5]).toContain(result.code);
          }
        });
      }
      if (hubListener)
        it('keeps devices off the hub listener', async () => {
          const result = await tryConnect(world.hubUrl, { clientId: 'dev-a', username: 'dev-a', password: world.secrets['dev-a'] });
          expect(result.ok).toBe(false);
        });
    });

    for (const actor of ['dev-a', 'dev-b', 'hub'] as const) {
      const role = actor === 'hub' ? 'hub' : 'device';
      // The device that observes (and is "the other device" for a device actor).
      const peer = actor === 'dev-a' ? 'dev-b' : 'dev-a';

      describe(`${actor} publishes`, () => {
        const topicFor: Record<Kind, string> =
          role === 'device'
            ? {
                own: deviceTopic(actor, 'samples'),
                other: deviceTopic(peer, 'samples'),
                announcements: ANNOUNCE,
                '#': '#',
                '$SYS/#': '$SYS/#',
              }
            : {
                own: deviceTopic(peer, 'acks'),
                other: deviceTopic(peer, 'samples'),
                announcements: ANNOUNCE,
                '#': '#',
                '$SYS/#': '$SYS/#',
              };
        for (const kind of KINDS) {
          const allowed = EXPECTED[role].publish[kind];
          it(`${kind} (${topicFor[kind]}): ${allowed ? 'delivered' : 'refused'}`, async () => {
            const hubObserver = await as('hub', unique('observer'));
            for (const c of ['samples', 'telemetry', 'status'] as const)
              await hubObserver.client.subscribeAsync(`edgeloop/v1/devices/+/${c}`, { qos: 1 });
            await hubObserver.client.subscribeAsync(ANNOUNCE_FILTER, { qos: 1 });
            const observers = [hubObserver];
            if (actor === 'hub') {
              const device = await as(peer);
              await device.client.subscribeAsync([deviceTopic(peer, 'acks'), ANNOUNCE_FILTER], { qos: 1 });
              observers.push(device);
            }
            const publisher = await as(actor, unique('publisher'));
            const payload = unique(`${actor}-${kind}`);
            publisher.client.publish(topicFor[kind], payload, { qos: 1 });
            const seen = (o: TestClient) => o.received.some((m) => m.payload.toString() === payload);
            if (allowed) {
              await Promise.any(observers.map((o) => o.waitFor((m) => m.payload.toString() === payload, 3_000)));
            } else {
              await sleep(300);
              expect(observers.some(seen)).toBe(false);
              expect(world.handled).not.toContain(payload);
            }
            for (const c of [...observers, publisher]) await c.end();
          });
        }
      });

      describe(`${actor} subscribes`, () => {
        const filterFor: Record<Kind, string> =
          role === 'device'
            ? {
                own: deviceTopic(actor, 'acks'),
                other: deviceTopic(peer, 'acks'),
                announcements: ANNOUNCE_FILTER,
                '#': '#',
                '$SYS/#': '$SYS/#',
              }
            : {
                own: 'edgeloop/v1/devices/+/samples',
                other: 'edgeloop/v1/devices/+/acks',
                announcements: ANNOUNCE_FILTER,
                '#': '#',
                '$SYS/#': '$SYS/#',
              };
        for (const kind of KINDS) {
          const allowed = EXPECTED[role].subscribe[kind];
          it(`${kind} (${filterFor[kind]}): ${allowed ? 'granted' : 'refused'}`, async () => {
            const subscriber = await as(actor, unique('subscriber'));
            const grant = await grantedQos(subscriber, filterFor[kind]);
            if (allowed) expect(grant).toBe(1);
            else if (world.subackRefuses) expect(grant).toBe(0x80);

            // Probes: messages matching the filter, from authorised publishers.
            const payload = unique('probe');
            if (allowed) {
              if (kind === 'own' && role === 'device') await world.hubPublish(deviceTopic(actor, 'acks'), payload);
              else if (kind === 'own') await publishAsDevice(peer, deviceTopic(peer, 'samples'), payload);
              else await world.hubPublish(ANNOUNCE, payload);
              await subscriber.waitFor((m) => m.payload.toString() === payload, 3_000);
            } else {
              // Only messages this identity may not read: another device's acks and samples, and
              // `$SYS` (aedes publishes one for every new client; Mosquitto every second here).
              await world.hubPublish(deviceTopic(peer, 'acks'), payload);
              if (role === 'device') await publishAsDevice(peer, deviceTopic(peer, 'samples'), payload);
              if (kind === '$SYS/#') await (await as(peer)).end();
              await sleep(kind === '$SYS/#' ? world.sysWaitMs : 300);
              expect(subscriber.received.map((m) => m.topic)).toEqual([]);
            }
            await subscriber.end();
          });
        }
      });
    }

    it('makes a revocation take effect on the next connect', async () => {
      const { secret } = await world.registry.create('dev-c', 'test');
      await world.apply();
      const before = await connect(world.deviceUrl, { clientId: 'dev-c', username: 'dev-c', password: secret });
      await before.end();
      world.registry.revoke('dev-c', 'test');
      await world.apply();
      expect((await tryConnect(world.deviceUrl, { clientId: 'dev-c', username: 'dev-c', password: secret })).ok).toBe(false);
      const reissued = await world.registry.create('dev-c', 'test');
      await world.apply();
      expect((await tryConnect(world.deviceUrl, { clientId: 'dev-c', username: 'dev-c', password: secret })).ok).toBe(false);
      const after = await connect(world.deviceUrl, { clientId: 'dev-c', username: 'dev-c', password: reissued.secret });
      await after.end();
    });

    /** The QoS granted in the SUBACK; mqtt.js rejects a refusal, carrying the SUBACK along. */
    async function grantedQos(subscriber: TestClient, filter: string): Promise<number | undefined> {
      try {
        return (await subscriber.client.subscribeAsync(filter, { qos: 1 }))[0]?.qos;
      } catch (error) {
        const suback = (error as { packet?: { granted?: number[] } }).packet;
        if (!suback?.granted) throw error;
        return suback.granted[0];
      }
    }

    async function publishAsDevice(id: string, topic: string, payload: string): Promise<void> {
      const device = await connect(world.deviceUrl, { clientId: id, username: id, password: world.secrets[id] });
      await device.client.publishAsync(topic, payload, { qos: 1 });
      await device.end();
    }
  });
}
