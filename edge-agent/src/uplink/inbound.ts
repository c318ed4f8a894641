/**
 * What the hub sends a device: SampleAcks (the only thing that deletes from the outbox), its device
 * config, and release announcements (hints only: trust comes from TUF, never from this message).
 * Every message is decoded as untrusted input; an invalid one is logged and ignored.
 */
import { type Announcement, type DeviceConfig, decodeJson, type SampleAck } from '@edgeloop/protocol';
import type { Outbox } from '../outbox/outbox.js';
import type { AgentMetrics } from '../telemetry/metrics.js';

/** The subset of a pino logger the uplink uses. */
export interface UplinkLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface InboundOptions {
  topics: { acks: string; config: string };
  outbox: Outbox;
  log: UplinkLog;
  metrics?: Pick<AgentMetrics, 'samplesAcked' | 'samplesRejected'>;
  onConfig?: (config: DeviceConfig) => void;
  onAnnouncement?: (announcement: Announcement) => void;
  onAck?: (ack: SampleAck) => void;
}

/** Returns the handler for every message on the device's subscriptions. */
export function inboundHandler(o: InboundOptions): (topic: string, payload: Uint8Array) => Promise<void> {
  return async (topic, payload) => {
    if (topic === o.topics.acks) return applyAck(o, payload);
    if (topic === o.topics.config) {
      const config = decodeJson('config', payload);
      if (config.ok) o.onConfig?.(config.value);
      else o.log.warn({ err: config.error }, 'invalid device config ignored');
      return;
    }
    const a = decodeJson('announcement', payload);
    if (a.ok) o.onAnnouncement?.(a.value);
    else o.log.warn({ err: a.error, topic }, 'invalid announcement ignored');
  };
}

/** The hub stored (accepted) or refused for good (rejected) these samples: both leave the outbox. */
async function applyAck(o: InboundOptions, payload: Uint8Array): Promise<void> {
  const ack = decodeJson('ack', payload);
  if (!ack.ok) return o.log.warn({ err: ack.error }, 'invalid SampleAck ignored');
  const { accepted, rejected } = ack.value;
  try {
    await o.outbox.ack([...accepted, ...rejected.map((r) => r.sampleId)]);
  } catch (error) {
    o.log.warn({ err: error }, 'could not apply a SampleAck; the samples will be resent');
    return;
  }
  o.metrics?.samplesAcked.inc(accepted.length);
  for (const r of rejected) {
    o.metrics?.samplesRejected.inc({ code: r.code });
    o.log.warn({ sampleId: r.sampleId, code: r.code, reason: r.reason }, 'hub rejected a sample; dropped');
  }
  o.onAck?.(ack.value);
}
