/**
 * Device presence from broker connections. A device may hold several connections (`id:suffix`
 * client ids) and a reconnect may overlap the old connection's close, so presence counts
 * connections per device: online on the first, offline when the last one goes.
 */
import type { PresenceEvent } from './hub-broker.js';

export interface Presence {
  connected(connection: object, deviceId: string): void;
  disconnected(connection: object): void;
  /** Open device connections. */
  count(): number;
  onChange(handler: (event: PresenceEvent) => void): void;
}

export function createPresence(now: () => Date = () => new Date()): Presence {
  const owners = new WeakMap<object, string>();
  const perDevice = new Map<string, number>();
  let total = 0;
  let handler: ((event: PresenceEvent) => void) | undefined;
  const emit = (deviceId: string, online: boolean) => handler?.({ deviceId, online, at: now().toISOString() });
  return {
    connected(connection, deviceId) {
      if (owners.has(connection)) return;
      owners.set(connection, deviceId);
      total++;
      const n = (perDevice.get(deviceId) ?? 0) + 1;
      perDevice.set(deviceId, n);
      if (n === 1) emit(deviceId, true);
    },
    disconnected(connection) {
      const deviceId = owners.get(connection);
      // Only connections that were reported connected: aedes also reports clients that failed
      // after registering, before their CONNACK.
      if (deviceId === undefined) return;
      owners.delete(connection);
      total--;
      const n = (perDevice.get(deviceId) ?? 1) - 1;
      if (n > 0) perDevice.set(deviceId, n);
      else {
        perDevice.delete(deviceId);
        emit(deviceId, false);
      }
    },
    count: () => total,
    onChange(h) {
      handler = h;
    },
  };
}
