/**
 * What the hub sends this browser: SampleAcks (the only thing that deletes from the outbox), its
 * device config, and release announcements (hints only: trust comes from TUF, never from this
 * message). Everything is decoded as untrusted input; an invalid message is logged and ignored.
 */
import { type Announcement, type DeviceConfig, decodeJson, type SampleAck } from '@edgeloop/protocol';
import type { IdbOutbox } from '../outbox/idb-outbox.js';

export interface InboundOptions {
  topics: { acks: string; config: string };
  outbox: IdbOutbox;
  onConfig?: (config: DeviceConfig) => void;
  onAnnouncement?: (announcement: Announcement) => void;
  onAck?: (ack: SampleAck) => void;
  log?: (message: string, detail?: unknown) => void;
}

/** Returns the handler for every message on the device's subscriptions. */
export function inboundHandler(o: InboundOptions): (topic: string, payload: Uint8Array) => Promise<void> {
  const log = o.log ?? ((m: string, d?: unknown) => console.warn(`[edgeloop] ${m}`, d ?? ''));
  return async (topic, payload) => {
    if (topic === o.topics.acks) {
      const ack = decodeJson('ack', payload);
      if (!ack.ok) return log('invalid SampleAck ignored', ack.error.message);
      const { accepted, rejected } = ack.value;
      // Accepted (a duplicate is accepted again) or rejected for good: either way it leaves the
      // outbox. A rejection is final, so resending would only be rejected again.
      await o.outbox.ack([...accepted, ...rejected.map((r) => r.sampleId)]);
      for (const r of rejected) log(`hub rejected sample ${r.sampleId} (${r.code}): ${r.reason}; dropped`);
      o.onAck?.(ack.value);
      return;
    }
    if (topic === o.topics.config) {
      const config = decodeJson('config', payload);
      if (config.ok) o.onConfig?.(config.value);
      else log('invalid device config ignored', config.error.message);
      return;
    }
    const a = decodeJson('announcement', payload);
    if (a.ok) o.onAnnouncement?.(a.value);
    else log('invalid announcement ignored', a.error.message);
  };
}
