import { ProtocolError } from './errors.js';
import { isDeviceId, isModelName } from './ids.js';

/** Every edgeloop topic starts with this prefix; `v1` changes only with an incompatible contract. */
export const TOPIC_ROOT = 'edgeloop/v1';

/**
 * Per-device channels.
 * - `samples` device → hub, QoS 1: sample frames.
 * - `acks` hub → device, QoS 1: the application-level {@link SampleAck}, sent after the COMMIT.
 * - `telemetry` device → hub, QoS 0 or 1: telemetry windows.
 * - `status` device → hub, retained: heartbeats, and the last will (`offline`).
 * - `config` hub → device, retained: the device's sampling configuration.
 */
export const DEVICE_CHANNELS = ['samples', 'acks', 'telemetry', 'status', 'config'] as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];

/** Channels a device may publish to; all others are denied (default deny). */
export const DEVICE_PUBLISH_CHANNELS: readonly DeviceChannel[] = ['samples', 'telemetry', 'status'];
/** Channels a device may subscribe to, besides model announcements. */
export const DEVICE_SUBSCRIBE_CHANNELS: readonly DeviceChannel[] = ['acks', 'config'];

function checkDevice(deviceId: string): void {
  if (!isDeviceId(deviceId)) throw new ProtocolError('BAD_TOPIC', `invalid device id ${JSON.stringify(deviceId)}`);
}

/** The topic of one device channel. Throws {@link ProtocolError} `BAD_TOPIC` for an invalid id. */
export function deviceTopic(deviceId: string, channel: DeviceChannel): string {
  checkDevice(deviceId);
  return `${TOPIC_ROOT}/devices/${deviceId}/${channel}`;
}

/** The retained announcement topic of a model. */
export function announceTopic(model: string): string {
  if (!isModelName(model)) throw new ProtocolError('BAD_TOPIC', `invalid model name ${JSON.stringify(model)}`);
  return `${TOPIC_ROOT}/models/${model}/announce`;
}

/** The hub's subscription filter for one channel across all devices. */
export function allDevicesFilter(channel: DeviceChannel): string {
  return `${TOPIC_ROOT}/devices/+/${channel}`;
}

/** The filter for every model announcement. */
export const ANNOUNCE_FILTER = `${TOPIC_ROOT}/models/+/announce`;

/** A parsed edgeloop topic. */
export type ParsedTopic = { kind: 'device'; deviceId: string; channel: DeviceChannel } | { kind: 'announce'; model: string };

/** Parses a concrete (wildcard-free) topic; `undefined` when it is not an edgeloop topic. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'edgeloop' || parts[1] !== 'v1') return undefined;
  const [, , scope, id, leaf] = parts as [string, string, string, string, string];
  if (scope === 'devices' && isDeviceId(id) && (DEVICE_CHANNELS as readonly string[]).includes(leaf)) {
    return { kind: 'device', deviceId: id, channel: leaf as DeviceChannel };
  }
  if (scope === 'models' && isModelName(id) && leaf === 'announce') return { kind: 'announce', model: id };
  return undefined;
}

/** The device ACL for publishing: only its own sample, telemetry and status topics. */
export function deviceMayPublish(deviceId: string, topic: string): boolean {
  const parsed = parseTopic(topic);
  return parsed?.kind === 'device' && parsed.deviceId === deviceId && DEVICE_PUBLISH_CHANNELS.includes(parsed.channel);
}

/**
 * The device ACL for subscribing: its own acks and config, and model announcements (one model,
 * or all through {@link ANNOUNCE_FILTER}). Any other filter, wildcards included, is denied.
 */
export function deviceMaySubscribe(deviceId: string, filter: string): boolean {
  if (filter === ANNOUNCE_FILTER) return true;
  const parsed = parseTopic(filter);
  if (parsed?.kind === 'announce') return true;
  return parsed?.kind === 'device' && parsed.deviceId === deviceId && DEVICE_SUBSCRIBE_CHANNELS.includes(parsed.channel);
}
