/**
 * Collects SampleAcks per device and publishes them together: the samples of one group commit
 * resolve in the same turn of the event loop, so a device that had ten samples in the group gets
 * one ack naming ten ids instead of ten acks. Each caller's promise settles when the message
 * naming its sample has been published (or failed to be).
 */
import { deviceTopic, encodeJson, MAX_IDS_PER_ACK, type RejectCode } from '@edgeloop/protocol';

export interface Rejection {
  sampleId: string;
  code: RejectCode;
  reason: string;
}

export interface AckBatcher {
  /** Acks `sampleId` as accepted (stored now or before) to `deviceId`. */
  accept(deviceId: string, sampleId: string): Promise<void>;
  /** Acks a sample as rejected: final, the device drops it. */
  reject(deviceId: string, rejection: Rejection): Promise<void>;
}

export interface AckBatcherOptions {
  publish: (topic: string, payload: Uint8Array) => Promise<void>;
  now: () => Date;
}

/** The ack schema caps a reason at 500 characters. */
const MAX_REASON = 500;

interface Pending {
  accepted: Set<string>;
  rejected: Map<string, Rejection>;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

export function createAckBatcher({ publish, now }: AckBatcherOptions): AckBatcher {
  let pending = new Map<string, Pending>();
  let scheduled = false;

  function add(deviceId: string, record: (p: Pending) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let p = pending.get(deviceId);
      if (!p) {
        p = { accepted: new Set(), rejected: new Map(), waiters: [] };
        pending.set(deviceId, p);
      }
      record(p);
      p.waiters.push({ resolve, reject });
      if (!scheduled) {
        scheduled = true;
        // After the microtasks of the current turn: every sample of a commit group has joined.
        setImmediate(flush);
      }
    });
  }

  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = new Map();
    for (const [deviceId, p] of batch) {
      publishAll(deviceId, p).then(
        () => {
          for (const w of p.waiters) w.resolve();
        },
        (error: unknown) => {
          for (const w of p.waiters) w.reject(error);
        },
      );
    }
  }

  async function publishAll(deviceId: string, p: Pending): Promise<void> {
    const accepted = [...p.accepted];
    // The same bytes sent twice with different headers: the stored copy wins, so the device may drop both.
    const rejected = [...p.rejected.values()].filter((r) => !p.accepted.has(r.sampleId));
    const at = now().toISOString();
    const messages: Uint8Array[] = [];
    for (let i = 0; i < Math.max(accepted.length, rejected.length); i += MAX_IDS_PER_ACK) {
      messages.push(
        encodeJson('ack', { v: 1, accepted: accepted.slice(i, i + MAX_IDS_PER_ACK), rejected: rejected.slice(i, i + MAX_IDS_PER_ACK), at }),
      );
    }
    const topic = deviceTopic(deviceId, 'acks');
    await Promise.all(messages.map((m) => publish(topic, m)));
  }

  return {
    accept: (deviceId, sampleId) => add(deviceId, (p) => p.accepted.add(sampleId)),
    reject: (deviceId, rejection) =>
      add(deviceId, (p) => p.rejected.set(rejection.sampleId, { ...rejection, reason: rejection.reason.slice(0, MAX_REASON) })),
  };
}
