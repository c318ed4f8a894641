/**
 * The ingest hook: a telemetry message decoded by the device updater reaches the TelemetryStore
 * (and only a valid window of the device that sent it does).
 */
import { deviceTopic, encodeJson } from '@edgeloop/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceUpdater } from '../ingest/device-updates.js';
import { openTestHub, type TestHub } from '../labeling/test-support.js';
import { syntheticWindow } from '../triggers/test-support.js';
import { TelemetryStore } from './telemetry-store.js';

let hub: TestHub;
beforeEach(async () => {
  hub = await openTestHub();
});
afterEach(() => hub.close());

describe('telemetry windows from ingest', () => {
  it('stores each decoded window once, through onTelemetry', () => {
    const store = new TelemetryStore(hub.database);
    const now = new Date('2026-03-02T00:00:00.000Z');
    const update = createDeviceUpdater({
      sqlite: hub.database.sqlite,
      log: hub.log,
      metrics: hub.metrics,
      now: () => now,
      onTelemetry: (deviceId, window, receivedAt) => store.record(deviceId, window, receivedAt),
    });
    const window = syntheticWindow({
      deviceId: 'cam-1',
      start: new Date('2026-03-01T23:50:00.000Z'),
      predictions: 50,
      classes: { a: 0.5, b: 0.5 },
      confidence: (u) => u,
      seed: 3,
    });
    const message = (deviceId: string, payload: Uint8Array) => ({
      deviceId,
      channel: 'telemetry' as const,
      topic: deviceTopic(deviceId, 'telemetry'),
      payload,
      qos: 1 as const,
    });
    update(message('cam-1', encodeJson('telemetry', window)));
    update(message('cam-1', encodeJson('telemetry', window))); // a QoS1 resend
    update(message('cam-2', encodeJson('telemetry', window))); // names another device: ignored
    update(message('cam-1', new TextEncoder().encode('{"v":1}'))); // does not decode: ignored
    expect(hub.count('SELECT COUNT(*) FROM telemetry_windows')).toBe(1);
    expect(hub.count("SELECT received_at FROM telemetry_windows WHERE device_id = 'cam-1'")).toBe(now.toISOString());
    expect(store.aggregate({ since: new Date(0) })).toMatchObject({ windows: 1, devices: 1, total: 50 });
  });
});
