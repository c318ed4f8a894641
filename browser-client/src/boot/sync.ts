/**
 * The hub link's lifecycle: register once (credentials persist), connect the uplink, register again
 * when the broker refuses the credentials (the device was revoked), and follow the browser's
 * `online` and `offline` events so the indicator is honest and reconnects are prompt.
 */
import type { Announcement, DeviceConfig, ModelRef } from '@edgeloop/protocol';
import type { ClientConfig, LocalLimits } from '../config.js';
import { errorMessage } from '../errors.js';
import type { IdbOutbox } from '../outbox/idb-outbox.js';
import { type Credentials, ensureCredentials, register, storedCredentials } from '../uplink/register.js';
import { Uplink } from '../uplink/uplink.js';

export interface SyncOptions {
  db: IDBDatabase;
  config: ClientConfig;
  limits: LocalLimits;
  outbox: IdbOutbox;
  appVersion: string;
  model: () => ModelRef | undefined;
  onNetwork: (online: boolean) => void;
  onConfig: (config: DeviceConfig) => void;
  onAnnouncement: (announcement: Announcement) => void;
  onProblem: (message: string) => void;
}

export class Sync {
  private uplink: Uplink | undefined;
  private credentials: Credentials | undefined;
  private starting = false;

  constructor(private readonly o: SyncOptions) {}

  /** The device id, once known (samples carry it). */
  get deviceId(): string | undefined {
    return this.credentials?.deviceId;
  }

  /** Loads stored credentials, then connects when online. Call once, from `main.ts`. */
  async start(): Promise<void> {
    this.credentials = await storedCredentials(this.o.db).catch(() => undefined);
    window.addEventListener('online', () => {
      this.report();
      if (this.uplink) this.uplink.retryNow();
      else void this.connect();
    });
    window.addEventListener('offline', () => this.report());
    this.report();
    if (navigator.onLine) await this.connect();
  }

  /** Sends what is waiting now. */
  kick(): void {
    this.uplink?.kick();
  }

  private async connect(fresh = false): Promise<void> {
    const { config } = this.o;
    if (!config.mqtt || this.starting) return;
    this.starting = true;
    try {
      this.credentials = fresh ? await register(this.o.db, config.registerUrl) : await ensureCredentials(this.o.db, config.registerUrl);
    } catch (error) {
      this.o.onProblem(`Could not register with the hub: ${errorMessage(error)}`);
      return;
    } finally {
      this.starting = false;
    }
    await this.uplink?.stop();
    this.uplink = new Uplink({
      url: config.mqtt.url,
      credentials: this.credentials,
      outbox: this.o.outbox,
      appVersion: this.o.appVersion,
      model: this.o.model,
      followModel: config.model,
      inflight: this.o.limits.inflight,
      onState: () => this.report(),
      onConfig: this.o.onConfig,
      onAnnouncement: this.o.onAnnouncement,
      onNotAuthorised: () => void this.connect(true),
    });
    this.uplink.start();
  }

  /** Online means the browser has a network and, when a hub is configured, the link is up. */
  private report(): void {
    const linked = this.o.config.mqtt ? this.uplink?.connected === true : true;
    this.o.onNetwork(navigator.onLine && linked);
  }
}
