/**
 * The hub as a client of an external broker (Mosquitto, EMQX). Device messages arrive through
 * shared subscriptions (`$share/<group>/…`, MQTT 5 §4.8.2; Mosquitto also honours them for 3.1.1
 * clients), so hub replicas split the load. Each subscriber connection has a persistent session
 * (clean session false, and for MQTT 5 a session expiry), and sends its PUBACK only after the
 * handler settled: a QoS 1 message the hub had not finished stays with the broker and is
 * redelivered after a restart (MQTT 3.1.1 §4.4). Acks go out on a separate publisher connection,
 * because mqtt.js processes one incoming packet at a time per connection: a handler waiting for
 * its own ack's PUBACK on the same connection would wait forever.
 */
import { hostname } from 'node:os';
import { allDevicesFilter } from '@edgeloop/protocol';
import type { MqttClient } from 'mqtt';
import type { MqttConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import { mayPublish } from './acl.js';
import { toDeviceMessage } from './device-message.js';
import { Dispatcher } from './dispatcher.js';
import { openClient, subscriberSession } from './external-client.js';
import type { HubBroker } from './hub-broker.js';

export interface ExternalBrokerOptions {
  config: MqttConfig;
  log: Logger;
  metrics?: Pick<HubMetrics, 'rejections'>;
  /**
   * Names this replica's sessions. The same value after a restart resumes them (and receives
   * what queued meanwhile); two running replicas need different values. Default: the host name.
   */
  instanceId?: string;
  /** Subscriber connections; each handles one message at a time (mqtt.js acks in order). */
  connections?: number;
}

/** The channels devices publish, which the hub reads. */
const CHANNELS = ['samples', 'telemetry', 'status'] as const;

export async function connectExternalBroker(options: ExternalBrokerOptions): Promise<HubBroker> {
  const { config } = options;
  if (!config.url) throw new HubError('BAD_CONFIG', 'mqtt.url is required for an external broker');
  const log = options.log.child({ component: 'broker', broker: redact(config.url) });
  // Client ids hold `:`, which no device id does, so a device can never present a hub client id.
  const instance = `${config.hubUsername}:${(options.instanceId ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const dispatcher = new Dispatcher(log);
  let closing = false;
  let down = false;

  /** Whether the message is done with (PUBACK it); `false`: leave it with the broker. */
  const handle = async (topic: string, payload: Buffer, qos: 0 | 1 | 2): Promise<boolean> => {
    const message = toDeviceMessage(topic, payload, qos);
    if (!message) {
      options.metrics?.rejections.inc({ code: 'BROKER_BAD_TOPIC' });
      log.warn({ topic }, 'message on a topic that is not a device channel; dropped');
      return true;
    }
    return dispatcher.dispatch(message);
  };

  const { client: publisher } = await openClient(config, { clientId: `${instance}:pub`, clean: true }, log);
  const filters = CHANNELS.map((channel) => `$share/${config.sharedGroup}/${allDevicesFilter(channel)}`);
  const subscribers: MqttClient[] = [];
  try {
    for (let i = 0; i < (options.connections ?? 4); i++) {
      const { client, sessionPresent } = await openClient(config, subscriberSession(`${instance}:s${i}`), log, (c) => {
        // mqtt.js sends the PUBACK of a QoS 1 message only once `handleMessage` calls back, for
        // MQTT 3.1.1 and 5 alike (its `customHandleAcks` runs earlier and exists for 5 only).
        c.handleMessage = (packet, callback) => {
          // Closing: no PUBACK, so the broker keeps the message for this session's return.
          if (closing) return;
          void handle(packet.topic, packet.payload as Buffer, packet.qos).then((done) => done && callback());
        };
      });
      subscribers.push(client);
      const subscribed = client.subscribeAsync(filters, { qos: 1 }).then((granted) => {
        // A failed grant is 0x80 (3.1.1) or a reason code of 0x80 and up (5).
        const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
        if (refused.length > 0) throw new HubError('BROKER_FAILED', `the broker refused the subscriptions ${refused.join(', ')}`);
      });
      if (!sessionPresent) await subscribed;
      else {
        // A resumed session may deliver its backlog before the SUBACK, and the backlog waits for
        // the hub's handler, which is registered only after this returns: awaiting the SUBACK
        // here would deadlock mqtt.js' one-packet-at-a-time pump. The subscriptions exist
        // already (the session kept them); this only refreshes them.
        subscribed.catch((error: unknown) => log.error({ err: error }, 'subscription refresh failed'));
      }
    }
  } catch (error) {
    await Promise.allSettled([publisher, ...subscribers].map((c) => c.endAsync(true)));
    throw error;
  }
  log.info(
    { instance, connections: subscribers.length, protocolVersion: publisher.options.protocolVersion },
    'connected to the external broker',
  );

  let closed: Promise<void> | undefined;
  return {
    urls: { mqtt: redact(config.url) },
    onDeviceMessage(h) {
      dispatcher.setHandler(h);
    },
    // Presence comes from the devices' `status` messages (retained, and their last will).
    onPresence() {},
    async publish(topic, payload, opts = {}) {
      if (down) throw new HubError('SHUTTING_DOWN', 'the broker connection is closed');
      if (!mayPublish({ kind: 'hub' }, topic)) throw new HubError('BAD_REQUEST', `the hub may not publish to ${topic}`);
      try {
        await publisher.publishAsync(topic, Buffer.from(payload), { qos: 1, retain: opts.retain ?? false });
      } catch (cause) {
        throw new HubError('BROKER_FAILED', `publish to ${topic} failed`, { cause });
      }
    },
    connectedClients: () => 0,
    close() {
      closed ??= (async () => {
        closing = true;
        await dispatcher.drain();
        // A normal DISCONNECT keeps the persistent sessions (and their subscriptions) on the broker.
        await Promise.allSettled(subscribers.map((c) => c.endAsync()));
        down = true;
        await publisher.endAsync();
        log.info('external broker connection closed');
      })();
      return closed;
    },
  };
}

/** The broker URL without its password, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
