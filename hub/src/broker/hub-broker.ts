/**
 * The hub's view of MQTT, whatever broker carries it: `embedded.ts` (aedes in-process) and
 * `external.ts` (the hub as a client of Mosquitto or EMQX, with shared subscriptions). `main.ts`
 * picks one by configuration. Both run the contract suite in `hub-broker.contract.ts`.
 */

/** A message a device published on one of its own topics, already authorised by the broker. */
export interface DeviceMessage {
  deviceId: string;
  channel: 'samples' | 'telemetry' | 'status';
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
}

/** Connection events of devices (embedded broker only; an external broker reports status LWTs). */
export type PresenceEvent = { deviceId: string; online: boolean; at: string };

export interface HubBroker {
  /**
   * Registers the handler for device messages. The returned promise of the handler is the hub's
   * back-pressure: the broker does not pass on more than the configured in-flight messages per
   * client while handlers are pending.
   */
  onDeviceMessage(handler: (message: DeviceMessage) => Promise<void>): void;
  onPresence(handler: (event: PresenceEvent) => void): void;
  /** Publishes as the hub (QoS1), for example a SampleAck on `devices/{id}/acks`. */
  publish(topic: string, payload: Uint8Array, options?: { retain?: boolean }): Promise<void>;
  /** Number of connected device clients (for `/metrics`). */
  connectedClients(): number;
  /** Where devices connect, for logs and tests: `mqtt://host:port`, `ws://host:port`. */
  readonly urls: { mqtt: string; ws?: string };
  /** Stops accepting messages, waits for pending handlers, then disconnects. */
  close(): Promise<void>;
}

/** Decides whether a username/password may connect as a device (`deviceId`) or as the hub. */
export interface BrokerAuthenticator {
  authenticate(
    username: string,
    password: Uint8Array | undefined,
  ): Promise<{ kind: 'device'; deviceId: string } | { kind: 'hub' } | undefined>;
}
