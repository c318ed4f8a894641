/**
 * One mqtt.js connection of the hub to an external broker: MQTT 5 when the broker speaks it,
 * otherwise 3.1.1. mqtt.js reconnects by itself after the first CONNACK.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { MqttConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';

export interface SessionOptions {
  clientId: string;
  clean: boolean;
  /**
   * MQTT 5 only: how long the broker keeps the session after a disconnect. With clean start
   * false and no expiry, an MQTT 5 session ends with its connection (§3.1.2.11.2).
   */
  sessionExpirySeconds?: number;
}

/** A persistent subscriber session: kept a week, so a hub restart or outage loses nothing queued. */
export function subscriberSession(clientId: string): SessionOptions {
  return { clientId, clean: false, sessionExpirySeconds: 7 * 24 * 3600 };
}

/** An open connection; `sessionPresent` from the first CONNACK (§3.2.2.2). */
export interface Connected {
  client: MqttClient;
  sessionPresent: boolean;
}

/** CONNACK codes for an unsupported protocol version: 3.1.1's 1 and 5's 0x84. */
const UNSUPPORTED_PROTOCOL = new Set([1, 0x84]);

/**
 * Connects; `prepare` runs on the client before its CONNECT goes out, since a persistent session's
 * backlog may arrive in the same read as the CONNACK.
 */
export async function openClient(
  config: MqttConfig,
  session: SessionOptions,
  log: Logger,
  prepare?: (client: MqttClient) => void,
): Promise<Connected> {
  try {
    return await connectWith(config, session, 5, log, prepare);
  } catch (error) {
    if (!UNSUPPORTED_PROTOCOL.has((error as { code?: number }).code ?? -1)) throw failed(session, error);
  }
  try {
    return await connectWith(config, session, 4, log, prepare);
  } catch (error) {
    throw failed(session, error);
  }
}

function connectWith(
  config: MqttConfig,
  session: SessionOptions,
  protocolVersion: 4 | 5,
  log: Logger,
  prepare: ((client: MqttClient) => void) | undefined,
): Promise<Connected> {
  const url = new URL(config.url!);
  // Credentials in the URL win; otherwise the hub's configured identity.
  const username = url.username ? decodeURIComponent(url.username) : config.hubUsername;
  const password = url.username ? decodeURIComponent(url.password) : config.hubPassword;
  url.username = '';
  url.password = '';
  const options: IClientOptions = {
    clientId: session.clientId,
    clean: session.clean,
    protocolVersion,
    username,
    password,
    reconnectPeriod: 1000,
    connectTimeout: config.connectTimeoutMs,
    queueQoSZero: false,
    ...(protocolVersion === 5 && session.sessionExpirySeconds
      ? { properties: { sessionExpiryInterval: session.sessionExpirySeconds } }
      : {}),
  };
  // mqtt.js connects on the next tick, so `prepare` still comes first.
  const client = mqtt.connect(url.toString(), options);
  prepare?.(client);
  return new Promise((resolve, reject) => {
    const onConnect = (connack: { sessionPresent: boolean }) => {
      client.off('error', onError);
      client.on('error', (error) => log.warn({ err: error, clientId: session.clientId }, 'broker connection error'));
      client.on('offline', () => log.warn({ clientId: session.clientId }, 'broker connection lost; reconnecting'));
      resolve({ client, sessionPresent: connack.sessionPresent });
    };
    const onError = (error: Error) => {
      client.off('connect', onConnect);
      client.end(true);
      reject(error);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}

function failed(session: SessionOptions, cause: unknown): HubError {
  return new HubError('BROKER_FAILED', `cannot connect to the external broker as ${session.clientId}`, { cause });
}
