/**
 * The browser's MQTT-over-WebSocket link to the hub, mirroring the edge agent's `uplink/uplink.ts`:
 * MQTT 3.1.1 with client id = username = device id and password = secret; QoS 1 sample frames from
 * the outbox with at most `inflight` unacknowledged at once; deletion only on the hub's SampleAck;
 * retained status with an `offline` last will; config and announcements handed to callbacks. It
 * never throws for being offline: it reconnects with capped, jittered backoff, and at once when the
 * browser says it is back `online`.
 */
import {
  type Announcement,
  announceTopic,
  type DeviceConfig,
  deviceTopic,
  type ModelRef,
  type SampleAck,
  statusMessage,
} from '@edgeloop/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { type BackoffOptions, backoffDelay } from '../outbox/backoff.js';
import type { IdbOutbox } from '../outbox/idb-outbox.js';
import { inboundHandler } from './inbound.js';
import type { Credentials } from './register.js';

export type LinkState = 'connecting' | 'connected' | 'disconnected';

export interface UplinkOptions {
  url: string;
  credentials: Credentials;
  outbox: IdbOutbox;
  appVersion: string;
  model: () => ModelRef | undefined;
  /** The model whose announcements to follow, if any. */
  followModel: string | null;
  inflight: number;
  reconnect?: BackoffOptions;
  heartbeatMs?: number;
  pollMs?: number;
  onState?: (state: LinkState) => void;
  onConfig?: (config: DeviceConfig) => void;
  onAnnouncement?: (announcement: Announcement) => void;
  onAck?: (ack: SampleAck) => void;
  /** The broker refused the credentials as not authorised (MQTT 3.1.1 §3.2.2.3, codes 4 and 5). */
  onNotAuthorised?: () => void;
}

export class Uplink {
  private client: MqttClient | undefined;
  private readonly topics: { samples: string; acks: string; config: string; status: string };
  private readonly inbound: (topic: string, payload: Uint8Array) => Promise<void>;
  private readonly inflight = new Set<string>();
  private readonly startedAt = Date.now();
  private timers: ReturnType<typeof setInterval>[] = [];
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private stopped = false;
  private draining = false;
  private state: LinkState = 'disconnected';

  constructor(private readonly o: UplinkOptions) {
    const id = o.credentials.deviceId;
    this.topics = {
      samples: deviceTopic(id, 'samples'),
      acks: deviceTopic(id, 'acks'),
      config: deviceTopic(id, 'config'),
      status: deviceTopic(id, 'status'),
    };
    this.inbound = inboundHandler({ ...o, topics: this.topics, onAck: (ack) => this.acked(ack) });
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Connects, and keeps reconnecting, until {@link stop}. */
  start(): void {
    if (this.client) return;
    const { deviceId, secret } = this.o.credentials;
    this.setState('connecting');
    this.client = mqtt.connect(this.o.url, {
      clientId: deviceId,
      username: deviceId,
      password: secret,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      // Reconnection is ours: capped backoff with jitter, and immediate on the `online` event.
      reconnectPeriod: 0,
      resubscribe: false,
      // No 65,536-entry cache of packet-id Buffers (about 6 MB of a phone's memory).
      writeCache: false,
      will: { topic: this.topics.status, payload: this.status('offline') as never, qos: 1, retain: true },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => this.onClose());
    this.client.on('error', (error) => {
      const code = (error as { code?: unknown }).code;
      if (code === 4 || code === 5) {
        this.stopped = true;
        this.o.onNotAuthorised?.();
      }
    });
    this.client.on('message', (topic, payload) => {
      this.inbound(topic, payload).catch((e) => console.warn('[edgeloop] a message handler failed', e));
    });
    this.timers.push(setInterval(() => this.kick(), this.o.pollMs ?? 2_000));
    this.timers.push(setInterval(() => void this.publishStatus(), this.o.heartbeatMs ?? 60_000));
  }

  /** The browser is back online: try now rather than at the end of the current backoff. */
  retryNow(): void {
    if (this.stopped || this.connected) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.failures = 0;
    this.setState('connecting');
    this.client?.reconnect();
  }

  /** Sends what is due now (call after an enqueue). */
  kick(): void {
    if (this.connected) void this.drain();
  }

  /** Publishes the retained heartbeat; false when offline. */
  async publishStatus(state: 'online' | 'offline' = 'online'): Promise<boolean> {
    const client = this.client;
    if (!client?.connected) return false;
    const stats = await this.o.outbox.stats().catch(() => undefined);
    return new Promise((resolve) =>
      client.publish(this.topics.status, this.status(state, stats) as never, { qos: 1, retain: true }, (e) => resolve(!e)),
    );
  }

  /** Says `offline` (a clean DISCONNECT sends no will, MQTT 3.1.1 §3.14.4) and closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    if (client.connected) await Promise.race([this.publishStatus('offline'), new Promise((r) => setTimeout(r, 1_000))]);
    await client.endAsync(!client.connected).catch(() => undefined);
    this.setState('disconnected');
  }

  private onConnect(): void {
    this.failures = 0;
    this.inflight.clear();
    this.setState('connected');
    const subs = [this.topics.acks, this.topics.config, ...(this.o.followModel ? [announceTopic(this.o.followModel)] : [])];
    this.client?.subscribe(subs, { qos: 1 }, (e) => e && console.warn('[edgeloop] subscribe failed', e));
    void this.publishStatus('online');
    // A new connection: republish everything still unacked now, whatever its backoff said.
    void this.o.outbox.resetSchedule().then(
      () => this.kick(),
      () => this.kick(),
    );
  }

  private onClose(): void {
    this.inflight.clear();
    if (this.stopped) {
      this.setState('disconnected');
      return;
    }
    this.setState(navigator.onLine ? 'connecting' : 'disconnected');
    if (this.reconnectTimer) return;
    const delay = backoffDelay(++this.failures, this.o.reconnect ?? { baseMs: 1_000, maxMs: 60_000, jitter: 0.5 });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopped || this.connected || !this.client) return;
      // The will carries its own time, so it says when this connection began.
      if (this.client.options.will) this.client.options.will.payload = this.status('offline') as never;
      this.client.reconnect();
    }, delay);
  }

  /** Publishes due items while connected, never more than `inflight` awaiting their PUBACK. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.connected) {
        const room = this.o.inflight - this.inflight.size;
        if (room <= 0) break;
        const items = (await this.o.outbox.due(room + this.inflight.size)).filter((i) => !this.inflight.has(i.sampleId)).slice(0, room);
        if (items.length === 0) break;
        // Recorded before publishing: a reload mid-send simply finds the item due again later.
        await this.o.outbox.markSent(items.map((i) => i.sampleId));
        for (const item of items) {
          const client = this.client;
          if (!client?.connected) break;
          this.inflight.add(item.sampleId);
          client.publish(this.topics.samples, item.bytes as never, { qos: 1 }, () => this.inflight.delete(item.sampleId));
        }
      }
    } catch (e) {
      console.warn('[edgeloop] outbox drain failed; retrying', e);
    } finally {
      this.draining = false;
    }
  }

  private acked(ack: SampleAck): void {
    for (const id of ack.accepted) this.inflight.delete(id);
    for (const r of ack.rejected) this.inflight.delete(r.sampleId);
    this.o.onAck?.(ack);
    this.kick();
  }

  private status(state: 'online' | 'offline', outbox?: { count: number; bytes: number }): Uint8Array {
    const { deviceId } = this.o.credentials;
    return statusMessage({
      deviceId,
      kind: 'browser',
      version: this.o.appVersion,
      state,
      now: Date.now(),
      startedAt: this.startedAt,
      model: this.o.model(),
      outbox,
    });
  }

  private setState(state: LinkState): void {
    if (state === this.state) return;
    this.state = state;
    this.o.onState?.(state);
  }
}
