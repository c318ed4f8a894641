/**
 * The agent's MQTT link to the hub, as its device (MQTT 3.1.1, username = device id, password =
 * secret, clean session). It drains the outbox, deletes samples only on the hub's SampleAck,
 * publishes heartbeats and telemetry, and hands config and announcements (hints only) to callbacks.
 * It never throws for being offline, and reconnects with capped, jittered backoff.
 */
import { announceTopic, deviceTopic, encodeJson, statusMessage, type TelemetryWindow } from '@edgeloop/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { backoffDelay } from '../outbox/backoff.js';
import { Drain } from './drain.js';
import { inboundHandler, type UplinkLog } from './inbound.js';
import type { UplinkOptions } from './uplink-options.js';

export type { UplinkLog, UplinkOptions };

const quiet: UplinkLog = { info() {}, warn() {}, debug() {} };

export class Uplink {
  private client: MqttClient | undefined;
  private readonly drain: Drain;
  private readonly timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopping = false;
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly log: UplinkLog;
  private readonly topics: { samples: string; acks: string; config: string; status: string; telemetry: string };
  private readonly inbound: (topic: string, payload: Uint8Array) => Promise<void>;

  constructor(private readonly options: UplinkOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.log = options.log ?? quiet;
    const t = (c: 'samples' | 'acks' | 'config' | 'status' | 'telemetry') => deviceTopic(options.deviceId, c);
    this.topics = { samples: t('samples'), acks: t('acks'), config: t('config'), status: t('status'), telemetry: t('telemetry') };
    this.inbound = inboundHandler({ ...options, topics: this.topics, log: this.log });
    const link = this;
    this.drain = new Drain({
      outbox: options.outbox,
      target: {
        get connected() {
          return link.connected;
        },
        publish: (p) => this.publishAsync(this.topics.samples, p, false),
      },
      batchSize: options.batchSize ?? 32,
      pubackTimeoutMs: options.pubackTimeoutMs ?? 10_000,
      onSent: (n) => options.metrics?.samplesSent.inc(n),
      onError: (error) => this.log.warn({ err: error }, 'outbox drain failed; retrying'),
    });
  }

  /** Whether the broker connection is up now. */
  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Connects (and keeps reconnecting) and starts the drain and heartbeat timers. */
  start(): void {
    if (this.client) return;
    this.client = mqtt.connect(this.options.url, {
      clientId: this.options.deviceId,
      username: this.options.deviceId,
      password: this.options.secret,
      protocolVersion: 4,
      clean: true,
      keepalive: this.options.keepaliveS ?? 30,
      connectTimeout: 10_000,
      // Reconnection is ours (capped backoff with jitter); mqtt.js would retry at a fixed period.
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      // mqtt-packet would otherwise build a 65,536-entry cache of 2-byte Buffers (about 6 MB of
      // heap) the first time it writes a packet id: a tenth of the agent's memory for a few µs.
      writeCache: false,
      will: { topic: this.topics.status, payload: Buffer.from(this.statusBytes('offline')), qos: 1, retain: true },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => this.scheduleReconnect());
    this.client.on('error', (error) => this.log.debug({ err: error }, 'mqtt error'));
    this.client.on('message', (topic, payload) => {
      this.inbound(topic, payload).catch((error) => this.log.warn({ err: error, topic }, 'a message handler failed'));
    });
    const every = (ms: number, fn: () => void) => this.timers.push(setInterval(fn, ms).unref());
    every(this.options.pollMs ?? 500, () => this.kick());
    every(this.options.heartbeatMs ?? 30_000, () => void this.publishStatus());
  }

  /** Looks for due samples now (call after an enqueue). */
  kick(): void {
    if (this.connected) void this.drain.run();
  }

  /** Publishes a telemetry window; `false` when offline (telemetry is not queued). Never throws. */
  publishTelemetry(window: TelemetryWindow): boolean {
    if (!this.connected) return false;
    try {
      void this.publishAsync(this.topics.telemetry, encodeJson('telemetry', window), false).catch(() => {});
      return true;
    } catch (error) {
      this.log.warn({ err: error }, 'invalid telemetry window not sent');
      return false;
    }
  }

  /** Publishes the retained status (the heartbeat); `false` when offline. */
  async publishStatus(state: 'online' | 'offline' = 'online'): Promise<boolean> {
    if (!this.connected) return false;
    try {
      const stats = await this.options.outbox.stats();
      const payload = this.statusBytes(state, { count: stats.count, bytes: stats.bytes });
      await this.publishAsync(this.topics.status, payload, true);
      return true;
    } catch (error) {
      this.log.debug({ err: error }, 'status not published');
      return false;
    }
  }

  /** Says `offline` (a clean disconnect sends no last will), then disconnects and stops all timers. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.drain.stop();
    for (const t of this.timers.splice(0)) clearInterval(t);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    if (client.connected) await Promise.race([this.publishStatus('offline'), new Promise((r) => setTimeout(r, 2_000))]);
    await client.endAsync(!client.connected).catch(() => {});
  }

  private onConnect(): void {
    this.failures = 0;
    this.log.info({ url: this.options.url }, 'connected to the hub');
    const subs = [this.topics.acks, this.topics.config, ...(this.options.followModels ?? []).map((m) => announceTopic(m))];
    this.client?.subscribe(subs, { qos: 1 }, (error) => {
      if (error) this.log.warn({ err: error }, 'subscribe failed');
    });
    void this.publishStatus('online');
    this.kick();
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer || this.connected) return;
    const delay = backoffDelay(
      ++this.failures,
      this.options.reconnect ?? { baseMs: 500, maxMs: 30_000, jitter: 0.5 },
      this.options.rng ?? Math.random,
    );
    this.log.debug({ delay, failures: this.failures }, 'hub unreachable; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      const client = this.client;
      if (this.stopping || !client) return;
      // The will carries its own time, so it says when this connection began.
      if (client.options.will) client.options.will.payload = Buffer.from(this.statusBytes('offline'));
      client.reconnect();
    }, delay);
  }

  private statusBytes(state: 'online' | 'offline', outbox?: { count: number; bytes: number }): Uint8Array {
    const { deviceId, agentVersion, model } = this.options;
    return statusMessage({
      deviceId,
      kind: 'edge',
      version: agentVersion,
      state,
      now: this.now(),
      startedAt: this.startedAt,
      model: model?.(),
      outbox,
    });
  }

  private publishAsync(topic: string, payload: Uint8Array, retain: boolean): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) =>
      client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1, retain }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
}
