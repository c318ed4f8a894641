import { encodeJson, type ModelRef } from '@edgeloop/protocol';

export interface StatusFacts {
  deviceId: string;
  agentVersion: string;
  state: 'online' | 'offline';
  /** Epoch ms now, and when the agent started. */
  now: number;
  startedAt: number;
  model?: ModelRef;
  outbox?: { count: number; bytes: number };
}

/**
 * The device's retained status message: the heartbeat (`online`), and with `offline` both the
 * MQTT last will and the goodbye of a clean shutdown (a clean DISCONNECT sends no will, MQTT 3.1.1 §3.14.4).
 */
export function statusMessage(f: StatusFacts): Uint8Array {
  return encodeJson('status', {
    v: 1,
    deviceId: f.deviceId,
    state: f.state,
    at: new Date(f.now).toISOString(),
    agent: { kind: 'edge', version: f.agentVersion },
    ...(f.model ? { model: f.model } : {}),
    ...(f.outbox ? { outbox: f.outbox } : {}),
    uptimeS: Math.max(0, (f.now - f.startedAt) / 1000),
  });
}
