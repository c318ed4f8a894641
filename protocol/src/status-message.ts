import { encodeJson } from './codec.js';
import type { ModelRef } from './schemas/common.js';

/** What a device says about itself in its retained status message. */
export interface StatusFacts {
  deviceId: string;
  /** `edge` for the agent, `browser` for the PWA. */
  kind: 'edge' | 'browser';
  version: string;
  state: 'online' | 'offline';
  /** Epoch ms now, and when the device's software started. */
  now: number;
  startedAt: number;
  model?: ModelRef | undefined;
  outbox?: { count: number; bytes: number } | undefined;
}

/**
 * A device's retained status message: the heartbeat (`online`), and with `offline` both the MQTT
 * last will and the goodbye of a clean shutdown (a clean DISCONNECT sends no will, MQTT 3.1.1
 * §3.14.4). Edge agents and browsers send the same message.
 */
export function statusMessage(f: StatusFacts): Uint8Array {
  return encodeJson('status', {
    v: 1,
    deviceId: f.deviceId,
    state: f.state,
    at: new Date(f.now).toISOString(),
    agent: { kind: f.kind, version: f.version },
    ...(f.model ? { model: f.model } : {}),
    ...(f.outbox ? { outbox: { count: f.outbox.count, bytes: f.outbox.bytes } } : {}),
    uptimeS: Math.max(0, (f.now - f.startedAt) / 1000),
  });
}
