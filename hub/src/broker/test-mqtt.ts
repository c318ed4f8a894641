/**
 * Test support: real mqtt.js clients on 127.0.0.1, with helpers to wait for what they receive.
 * (`test-*.ts` files are left out of the build.)
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
}

/** A connected client plus everything it received. */
export interface TestClient {
  client: MqttClient;
  received: Received[];
  /** Resolves once a message matching `predicate` arrived; rejects after `timeoutMs`. */
  waitFor(predicate: (m: Received) => boolean, timeoutMs?: number): Promise<Received>;
  /** Whether the broker closed the connection. */
  closed(): boolean;
  end(): Promise<void>;
}

/** Result of a CONNECT: the client, or the refusal's return/reason code. */
export type ConnectResult = { ok: true; test: TestClient } | { ok: false; code: number | undefined; message: string };

export async function tryConnect(url: string, options: IClientOptions): Promise<ConnectResult> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  const outcome = await new Promise<Error | undefined>((resolve) => {
    client.once('connect', () => resolve(undefined));
    client.once('error', (error) => resolve(error));
    client.once('close', () => resolve(new Error('closed before CONNACK')));
  });
  if (outcome) {
    client.end(true);
    return { ok: false, code: (outcome as { code?: number }).code, message: outcome.message };
  }
  return { ok: true, test: wrap(client) };
}

export async function connect(url: string, options: IClientOptions): Promise<TestClient> {
  const result = await tryConnect(url, options);
  if (!result.ok) throw new Error(`connect as ${options.username} refused: ${result.message} (${result.code})`);
  return result.test;
}

function wrap(client: MqttClient): TestClient {
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  let closed = false;
  client.on('error', () => {});
  client.on('close', () => {
    closed = true;
  });
  client.on('message', (topic, payload) => {
    received.push({ topic, payload });
    for (const w of waiters) w();
  });
  return {
    client,
    received,
    closed: () => closed,
    waitFor(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = received.find(predicate);
          if (!hit) return;
          cleanup();
          resolve(hit);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching message within ${timeoutMs} ms (got ${received.map((m) => m.topic).join(', ') || 'none'})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    end: () => client.endAsync(true),
  };
}

export { freePort } from '@edgeloop/tests/support/ports';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** MQTT 3.1.1 packets encoded by hand, for clients that ignore every rule (flood, bad input). */
export const raw = {
  connect(clientId: string, username: string, password: string): Buffer {
    const body = Buffer.concat([
      str('MQTT'),
      // Level 4 (3.1.1); flags: user name, password, clean session (§3.1.2.3); keep alive 60 s.
      Buffer.from([4, 0xc2, 0, 60]),
      str(clientId),
      str(username),
      str(password),
    ]);
    return packet(0x10, body);
  },
  publish(topic: string, payload: Buffer, qos: 0 | 1, messageId = 1): Buffer {
    const id = qos > 0 ? Buffer.from([messageId >> 8, messageId & 0xff]) : Buffer.alloc(0);
    return packet(0x30 | (qos << 1), Buffer.concat([str(topic), id, payload]));
  },
  /** Only the fixed header of a PUBLISH that claims `remainingLength` bytes. */
  publishHeader(remainingLength: number): Buffer {
    return Buffer.from([0x30, ...varint(remainingLength)]);
  },
};

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return out;
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...varint(body.length)]), body]);
}
