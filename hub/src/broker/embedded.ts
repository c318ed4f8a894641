/**
 * The embedded broker: aedes in the hub's process, on MQTT/TCP and MQTT/WebSocket. The hub is not
 * a client here: device messages reach it through aedes' `published` hook, and it publishes with
 * `aedes.publish`. Limits, in the order a packet meets them:
 *
 * 1. packet size, before parsing (`packet-guard.ts`);
 * 2. topic depth (aedes `maxTopicLevels`; a deeper PUBLISH closes the connection);
 * 3. the ACL, default deny (`acl.ts`; MQTT 3.1.1 §3.3.5: a refused PUBLISH closes the connection);
 * 4. per-client rate and in-flight limits (`client-gate.ts`), before aedes' router.
 */
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import type { MqttConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import { type BrokerIdentity, mayPublish } from './acl.js';
import { aedesHooks, skipDropped } from './aedes-hooks.js';
import { type ClientGate, LimitError } from './client-gate.js';
import { DeviceGates } from './device-gates.js';
import { toDeviceMessage } from './device-message.js';
import { Dispatcher } from './dispatcher.js';
import type { BrokerAuthenticator, HubBroker, PresenceEvent } from './hub-broker.js';
import { listen } from './listeners.js';
import { createPresence } from './presence.js';

export interface EmbeddedBrokerOptions {
  config: MqttConfig;
  authenticator: BrokerAuthenticator;
  log: Logger;
  metrics: Pick<HubMetrics, 'brokerDisconnects' | 'connectedDevices'>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<HubBroker> {
  const { config, metrics } = options;
  const log = options.log.child({ component: 'broker' });
  const identities = new WeakMap<Client, BrokerIdentity>();
  const admitted = new WeakMap<object, ClientGate>();
  const dropped = new WeakSet<object>();
  const gates = new DeviceGates({ ...config.rateLimit, maxInflight: config.maxInflightPerClient, maxViolations: config.maxViolations });
  const counted = new WeakSet<Client>();
  const dispatcher = new Dispatcher(log);
  const presence = createPresence();
  let closing = false;
  let down = false;

  const disconnected = (client: Client | null, reason: string) => {
    if (client && counted.has(client)) return;
    if (client) counted.add(client);
    metrics.brokerDisconnects.inc({ reason });
  };

  const deliver = (packet: AedesPublishPacket, client: Client) => {
    const gate = admitted.get(packet);
    admitted.delete(packet);
    // The ACL let only this device publish on its own topics, so the topic names the identity.
    const message =
      identities.get(client)?.kind === 'device' ? toDeviceMessage(packet.topic, packet.payload as Buffer, packet.qos) : undefined;
    if (!message) return gate?.release();
    void dispatcher.dispatch(message).then(() => gate?.release());
  };

  const aedes = new Aedes({
    maxTopicLevels: config.maxTopicLevels,
    connectTimeout: config.connectTimeoutMs,
    drainTimeout: config.drainTimeoutMs,
    // MQTT 3.1 only (3.1.1 has no limit): device ids are up to 64 characters, plus a `:suffix`.
    maxClientsIdLength: 128,
    // QoS 2 publishes awaiting PUBREL (devices use QoS 1; this bounds what QoS 2 could hold).
    maxInflightInbound: config.maxInflightPerClient,
    ...aedesHooks({
      authenticator: options.authenticator,
      gates,
      log,
      identities,
      admitted,
      dropped,
      closing: () => closing,
      published: deliver,
    }),
  });
  skipDropped(aedes, dropped);

  aedes.on('clientError', (client, error) => {
    if (error instanceof LimitError) disconnected(client, error.reason);
    else if (error.message === 'topic has too many levels') disconnected(client, 'topic_levels');
    log.debug({ clientId: client.id, err: error }, 'client error');
  });
  // 'client' fires on registration, before the CONNACK; every registered client later gets 'clientDisconnect'.
  aedes.on('client', (client) => {
    const identity = identities.get(client);
    if (identity?.kind === 'device') presence.connected(client, identity.deviceId);
    metrics.connectedDevices.set(presence.count());
  });
  aedes.on('clientDisconnect', (client) => {
    presence.disconnected(client);
    metrics.connectedDevices.set(presence.count());
  });

  await aedes.listen();
  const listeners = await listen({
    host: config.host,
    tcpPort: config.tcpPort,
    wsPort: config.wsPort,
    // The cap is on the whole packet after the fixed header: topic, properties and payload.
    maxRemainingLength: config.maxPayloadBytes,
    handle: (conn, request) => aedes.handle(conn, request),
    onViolation: (violation) => disconnected(null, violation),
  });
  log.info({ urls: listeners.urls }, 'embedded broker listening');

  let closed: Promise<void> | undefined;
  return {
    urls: listeners.urls,
    onDeviceMessage(h) {
      dispatcher.setHandler(h);
    },
    onPresence(h: (event: PresenceEvent) => void) {
      presence.onChange(h);
    },
    publish(topic, payload, opts = {}) {
      if (down) return Promise.reject(new HubError('SHUTTING_DOWN', 'the broker is closed'));
      if (!mayPublish({ kind: 'hub' }, topic)) return Promise.reject(new HubError('BAD_REQUEST', `the hub may not publish to ${topic}`));
      const packet = { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: opts.retain ?? false, dup: false } as const;
      return new Promise((resolve, reject) => {
        aedes.publish(packet, (error) =>
          error ? reject(new HubError('BROKER_FAILED', `publish to ${topic} failed`, { cause: error })) : resolve(),
        );
      });
    },
    connectedClients: () => presence.count(),
    close() {
      closing = true;
      closed ??= (async () => {
        listeners.stopAccepting();
        // Handlers still publish their acks while they finish, so the broker closes after them.
        await dispatcher.drain();
        down = true;
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        gates.clear();
        await listeners.close();
        log.info('embedded broker closed');
      })();
      return closed;
    },
  };
}
