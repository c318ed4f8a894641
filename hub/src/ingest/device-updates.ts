/**
 * Status heartbeats and telemetry windows: they update what the hub knows of a device (state,
 * last seen, model). Nothing is acked; a message that does not decode is logged and counted, then
 * ignored. Telemetry windows go on to `onTelemetry` (the `TelemetryStore`), where #6 compares
 * them with the champion's validation reference for drift and watches rollouts.
 */

import { decodeJson, type ModelRef, type TelemetryWindow } from '@edgeloop/protocol';
import type Database from 'better-sqlite3';
import type { DeviceMessage } from '../broker/hub-broker.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';

export interface DeviceUpdatesOptions {
  sqlite: Database.Database;
  log: Logger;
  metrics: Pick<HubMetrics, 'rejections'>;
  now: () => Date;
  /**
   * (#6 triggers) Receives each decoded telemetry window of the device it names, for example
   * `TelemetryStore.record` plus a `TriggerEngine.notify('telemetry')`. A throw is logged.
   */
  onTelemetry?: (deviceId: string, window: TelemetryWindow, receivedAt: Date) => void;
}

/** Applies a `status` or `telemetry` message (ignores others). Never throws: these are best effort. */
export type DeviceUpdater = (message: DeviceMessage) => void;

export function createDeviceUpdater({ sqlite, log, metrics, now, onTelemetry }: DeviceUpdatesOptions): DeviceUpdater {
  // ISO-8601 UTC strings order like the times they name, so MAX() keeps the latest: a retained
  // status replayed after a restart cannot move `last_seen_at` backwards.
  const seen = sqlite.prepare(
    `UPDATE devices SET last_seen_at = MAX(COALESCE(last_seen_at, ''), @at), model = COALESCE(@model, model),
       status = COALESCE(@status, status) WHERE id = @id`,
  );
  return (message) => {
    const { deviceId, channel } = message;
    if (channel === 'samples') return;
    const decoded = channel === 'status' ? decodeJson('status', message.payload) : decodeJson('telemetry', message.payload);
    if (!decoded.ok) {
      metrics.rejections.inc({ code: `${channel.toUpperCase()}_${decoded.error.code}` });
      log.warn({ deviceId, channel, code: decoded.error.code, reason: decoded.error.message }, 'undecodable device message ignored');
      return;
    }
    const value = decoded.value;
    if (value.deviceId !== deviceId) {
      metrics.rejections.inc({ code: `${channel.toUpperCase()}_FORBIDDEN` });
      log.warn({ deviceId, channel, claimed: value.deviceId }, 'device message names another device; ignored');
      return;
    }
    // A device's clock may run ahead; its claim can only make `last seen` earlier than now.
    const receivedAt = now();
    const received = receivedAt.toISOString();
    const claimed = 'state' in value ? value.at : value.windowEnd;
    const at = claimed < received ? claimed : received;
    const model: ModelRef | undefined = value.model;
    try {
      seen.run({
        id: deviceId,
        at,
        model: model ? `${model.name}@${model.version}` : null,
        status: 'state' in value ? value.state : null,
      });
      log.debug({ deviceId, channel, at }, 'device update');
    } catch (error) {
      log.warn({ deviceId, channel, err: error }, 'cannot record device update');
    }
    // #6 triggers: keep the window for drift and rollouts.
    if (onTelemetry && !('state' in value)) {
      try {
        onTelemetry(deviceId, value, receivedAt);
      } catch (error) {
        log.warn({ deviceId, err: error }, 'cannot record telemetry window');
      }
    }
  };
}
