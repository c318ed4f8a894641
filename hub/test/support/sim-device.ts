/**
 * A simulated edge device with an outbox, for the durability test and `bench:ingest`: it publishes
 * samples at QoS1, keeps each one until the hub's application-level ack names it, and resends what
 * is still unacknowledged after every reconnect and after `resendAfterMs`.
 */
import { decodeJson, deviceTopic } from '@edgeloop/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { TestSample } from './sample-factory.js';

export interface SimDeviceOptions {
  url: string;
  deviceId: string;
  secret: string;
  resendAfterMs?: number;
}

interface Pending {
  sample: TestSample;
  sentAt: number;
  firstSentAt: number;
}

export class SimDevice {
  readonly deviceId: string;
  /** Samples sent and not yet acknowledged. */
  readonly pending = new Map<string, Pending>();
  /** Acknowledged sample ids, with the receive-to-ack latency of the first ack. */
  readonly acked = new Map<string, number>();
  readonly rejected = new Map<string, string>();
  /** Acks naming an id that was already acknowledged (expected after resends). */
  duplicateAcks = 0;
  connects = 0;
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly options: Required<SimDeviceOptions>;

  constructor(options: SimDeviceOptions) {
    this.options = { resendAfterMs: 3_000, ...options };
    this.deviceId = options.deviceId;
  }

  start(): Promise<void> {
    const { url, deviceId, secret } = this.options;
    const client = mqtt.connect(url, {
      clientId: deviceId,
      username: deviceId,
      password: secret,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 100,
      connectTimeout: 5_000,
      // The outbox resends; mqtt.js's own offline queue would only duplicate it.
      queueQoSZero: false,
    });
    this.client = client;
    client.on('error', () => {});
    client.on('message', (_topic, payload) => this.onAck(payload));
    client.on('connect', () => {
      this.connects++;
      client.subscribe(deviceTopic(deviceId, 'acks'), { qos: 1 }, () => {
        for (const p of this.pending.values()) this.publish(p);
      });
    });
    this.timer = setInterval(
      () => {
        const cutoff = Date.now() - this.options.resendAfterMs;
        for (const p of this.pending.values()) if (p.sentAt < cutoff) this.publish(p);
      },
      Math.max(50, this.options.resendAfterMs / 4),
    );
    return new Promise((resolve) => client.once('connect', () => resolve()));
  }

  /** Puts a sample in the outbox and publishes it when connected. */
  send(sample: TestSample): void {
    const now = Date.now();
    const p = { sample, sentAt: now, firstSentAt: now };
    this.pending.set(sample.sampleId, p);
    this.publish(p);
  }

  private publish(p: Pending): void {
    p.sentAt = Date.now();
    const client = this.client;
    if (!client?.connected) return;
    client.publish(deviceTopic(this.deviceId, 'samples'), Buffer.from(p.sample.frame), { qos: 1 }, () => {});
  }

  private onAck(payload: Uint8Array): void {
    const ack = decodeJson('ack', payload);
    if (!ack.ok) return;
    const now = Date.now();
    for (const id of ack.value.accepted) {
      if (this.acked.has(id)) {
        this.duplicateAcks++;
        continue;
      }
      const p = this.pending.get(id);
      this.acked.set(id, p ? now - p.firstSentAt : 0);
      this.pending.delete(id);
    }
    for (const r of ack.value.rejected) {
      this.rejected.set(r.sampleId, r.code);
      this.pending.delete(r.sampleId);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client?.endAsync(true);
  }
}
