/** Maps a topic a device published on to a {@link DeviceMessage}, for both broker kinds. */
import { parseTopic } from '@edgeloop/protocol';
import type { DeviceMessage } from './hub-broker.js';

const DEVICE_TO_HUB = new Set<string>(['samples', 'telemetry', 'status']);

/** `undefined` when `topic` is not one of a device's own publish channels. */
export function toDeviceMessage(topic: string, payload: Uint8Array, qos: 0 | 1 | 2): DeviceMessage | undefined {
  const parsed = parseTopic(topic);
  if (parsed?.kind !== 'device' || !DEVICE_TO_HUB.has(parsed.channel)) return undefined;
  return { deviceId: parsed.deviceId, channel: parsed.channel as DeviceMessage['channel'], topic, payload, qos };
}
