import type { Announcement, DeviceConfig, ModelRef, SampleAck } from '@edgeloop/protocol';
import type { BackoffOptions, Outbox } from '../outbox/outbox.js';
import type { AgentMetrics } from '../telemetry/metrics.js';
import type { UplinkLog } from './inbound.js';

/** How to construct an {@link Uplink} (`uplink.ts`); everything but the connection facts has a default. */
export interface UplinkOptions {
  /** The hub's broker, `mqtt://host:port` (or mqtts/ws/wss). */
  url: string;
  deviceId: string;
  secret: string;
  outbox: Outbox;
  agentVersion: string;
  /** The running model, for status messages. */
  model?: () => ModelRef | undefined;
  /** Models whose release announcements to follow. */
  followModels?: readonly string[];
  batchSize?: number;
  /** How often to look for due items while idle. Default 500 ms. */
  pollMs?: number;
  heartbeatMs?: number;
  pubackTimeoutMs?: number;
  reconnect?: BackoffOptions;
  keepaliveS?: number;
  now?: () => number;
  rng?: () => number;
  onConfig?: (config: DeviceConfig) => void;
  /** A hint that a release exists; verify through TUF before acting on it. */
  onAnnouncement?: (announcement: Announcement) => void;
  onAck?: (ack: SampleAck) => void;
  metrics?: Pick<AgentMetrics, 'samplesSent' | 'samplesAcked' | 'samplesRejected'>;
  log?: UplinkLog;
}
