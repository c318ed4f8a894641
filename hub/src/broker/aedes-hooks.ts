/**
 * aedes' hooks for the embedded broker: authentication, the ACL and the per-device limits. Each
 * hook states the MQTT rule it implements.
 */
import type { AedesOptions, AedesPublishPacket, Client, PublishPacket } from 'aedes';
import type { Logger } from '../log.js';
import { type BrokerIdentity, mayPublish, maySubscribe } from './acl.js';
import { type ClientGate, LimitError } from './client-gate.js';
import type { DeviceGates } from './device-gates.js';
import type { BrokerAuthenticator } from './hub-broker.js';

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export interface HookState {
  authenticator: BrokerAuthenticator;
  gates: DeviceGates;
  log: Logger;
  /** Who each connection authenticated as. */
  identities: WeakMap<Client, BrokerIdentity>;
  /** Admitted publishes holding a gate slot until their handler settles. */
  admitted: WeakMap<object, ClientGate>;
  /** QoS 0 publishes over a limit: skipped by aedes' `publish`, so they never reach mqemitter. */
  dropped: WeakSet<object>;
  closing(): boolean;
  /** Called for every publish that went through, after aedes routed it. */
  published(packet: AedesPublishPacket, client: Client): void;
}

type Hooks = Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'published'>;

export function aedesHooks(s: HookState): Hooks {
  return {
    preConnect: (_client, _packet, done) => done(null, !s.closing()),
    authenticate: (client, username, password, done) => {
      const refuse = (returnCode: number, message: string) => done(Object.assign(new Error(message), { returnCode }), false);
      // §3.1.3.4-5: this broker requires a user name and password from everyone.
      if (username === undefined || password === undefined) return refuse(NOT_AUTHORIZED, 'credentials required');
      s.authenticator.authenticate(username, password).then(
        (identity) => {
          if (!identity) return refuse(BAD_USERNAME_OR_PASSWORD, 'bad user name or password');
          // §3.1.4-2 lets a new connection take over the session of its client id; a device may
          // only use its own: its device id, or `<deviceId>:<suffix>` (no device id holds `:`).
          if (identity.kind === 'device' && client.id !== identity.deviceId && !client.id.startsWith(`${identity.deviceId}:`)) {
            return refuse(IDENTIFIER_REJECTED, 'client id must be the device id');
          }
          s.identities.set(client, identity);
          if (identity.kind === 'device') client.conn.once('close', () => s.gates.closed(identity.deviceId, client));
          done(null, true);
        },
        (error: unknown) => {
          s.log.error({ err: error }, 'authenticator failed');
          refuse(SERVER_UNAVAILABLE, 'authentication unavailable');
        },
      );
    },
    authorizePublish: (client, packet, done) => {
      const identity = client ? s.identities.get(client) : undefined;
      // §3.3.5: a refused PUBLISH cannot be answered in 3.1.1; the connection is closed.
      if (!mayPublish(identity, packet.topic)) return done(new LimitError('acl_denied', `publish to ${packet.topic} denied`));
      // The hub identity is trusted; wills are published while their client closes: the ACL
      // applies to both, the limits do not.
      if (identity?.kind !== 'device' || client!.closed) return done(null);
      // Only `status` is retained (the heartbeat and the will). A retained sample would keep up
      // to a megabyte per device in the broker's memory for good.
      if (packet.retain && !packet.topic.endsWith('/status')) packet.retain = false;
      if (s.closing()) return done(new LimitError('shutting_down', 'the hub is shutting down'));
      const gate = s.gates.for(identity.deviceId);
      gate.admit(client!, packet.qos, (error, ok) => {
        if (error) return done(error);
        if (ok) s.admitted.set(packet, gate);
        else s.dropped.add(packet);
        done(null);
      });
    },
    // A null subscription is granted 0x80, failure (§3.9.3).
    authorizeSubscribe: (client, subscription, done) =>
      done(null, maySubscribe(s.identities.get(client), subscription.topic) ? subscription : null),
    published: (packet, client, done) => {
      done();
      if (client) s.published(packet, client);
    },
  };
}

type Publish = (packet: PublishPacket, client: Client | null, done: (error?: Error) => void) => void;

/**
 * Makes aedes skip dropped packets. aedes' protocol handler calls `broker.publish(packet, client,
 * done)` after `authorizePublish`, and an error there would close the connection; replacing the
 * instance's `publish` is the one place where a QoS 0 packet can be let go quietly.
 */
export function skipDropped(aedes: { publish: unknown }, dropped: WeakSet<object>): void {
  const route = (aedes.publish as Publish).bind(aedes);
  const publish: Publish = (packet, client, done) => (dropped.has(packet) ? done() : route(packet, client, done));
  aedes.publish = publish;
}
