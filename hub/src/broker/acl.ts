/**
 * The broker ACL, default deny. A device may publish only to its own `samples`, `telemetry` and
 * `status` topics and subscribe only to its own `acks` and `config` and to model announcements
 * (the protocol's `deviceMayPublish` / `deviceMaySubscribe`). The hub may publish acks, configs
 * and announcements, and subscribe to what devices publish. A client with no identity may do
 * nothing. `broker/mosquitto-config.ts` writes the same rules for an external Mosquitto.
 */
import { ANNOUNCE_FILTER, deviceMayPublish, deviceMaySubscribe, isDeviceId, parseTopic } from '@edgeloop/protocol';

/** Who a connected client is, as the authenticator decided. */
export type BrokerIdentity = { kind: 'device'; deviceId: string } | { kind: 'hub' };

/** Channels the hub writes to (hub → device). */
const HUB_PUBLISH_CHANNELS = new Set(['acks', 'config']);
/** Channels the hub reads (device → hub). */
const HUB_SUBSCRIBE_CHANNELS = new Set(['samples', 'telemetry', 'status']);
/** `$share/<group>/<filter>` (MQTT 5 §4.8.2): the group is one level, without wildcards. */
const SHARED = /^\$share\/([^/+#]+)\/(.+)$/;

/** Whether `identity` may publish to the concrete topic `topic`. */
export function mayPublish(identity: BrokerIdentity | undefined, topic: string): boolean {
  if (!identity) return false;
  if (identity.kind === 'device') return deviceMayPublish(identity.deviceId, topic);
  const parsed = parseTopic(topic);
  if (!parsed) return false;
  return parsed.kind === 'announce' || HUB_PUBLISH_CHANNELS.has(parsed.channel);
}

/** Whether `identity` may subscribe to `filter` (wildcards only where this ACL names them). */
export function maySubscribe(identity: BrokerIdentity | undefined, filter: string): boolean {
  if (!identity) return false;
  // `deviceMaySubscribe` parses the filter as a concrete topic, so `#`, a misplaced `+`,
  // `$SYS/#` and `$share/...` are all refused for devices.
  if (identity.kind === 'device') return deviceMaySubscribe(identity.deviceId, filter);
  const shared = SHARED.exec(filter);
  return hubMayRead(shared ? shared[2]! : filter);
}

/**
 * The hub reads `edgeloop/v1/devices/{id|+}/{samples|telemetry|status}` and announcements; no
 * `#`, no `$SYS`. A `+` is allowed only in the device-id level.
 */
function hubMayRead(filter: string): boolean {
  if (filter === ANNOUNCE_FILTER || parseTopic(filter)?.kind === 'announce') return true;
  const parts = filter.split('/');
  if (parts.length !== 5 || parts[0] !== 'edgeloop' || parts[1] !== 'v1' || parts[2] !== 'devices') return false;
  const [, , , id, channel] = parts as [string, string, string, string, string];
  return (id === '+' || isDeviceId(id)) && HUB_SUBSCRIBE_CHANNELS.has(channel);
}
