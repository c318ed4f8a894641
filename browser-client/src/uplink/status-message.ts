import { encodeJson, type ModelRef } from '@edgeloop/protocol';

export interface StatusFacts {
  deviceId: string;
  appVersion: string;
  state: 'online' | 'offline';
  now: number;
  startedAt: number;
  model?: ModelRef | undefined;
  outbox?: { count: number; bytes: number } | undefined;
}

/**
 * The retained status message, as the edge agent sends it (edge-agent `uplink/status-message.ts`)
 * but with `agent.kind: 'browser'`: the heartbeat (`online`), and with `offline` the MQTT last will
 * (a tab that closes or loses the network never says goodbye itself).
 */
export function statusMessage(f: StatusFacts): Uint8Array {
  return encodeJson('status', {
    v: 1,
    deviceId: f.deviceId,
    state: f.state,
    at: new Date(f.now).toISOString(),
    agent: { kind: 'browser', version: f.appVersion },
    ...(f.model ? { model: f.model } : {}),
    ...(f.outbox ? { outbox: f.outbox } : {}),
    uptimeS: Math.max(0, (f.now - f.startedAt) / 1000),
  });
}
