/**
 * A test double of the hub's ingest, for the uplink's tests: a real aedes broker on 127.0.0.1 plus a
 * tiny "hub" that decodes each sample frame and answers with a SampleAck on the device's `acks`
 * topic. The real hub is another package; the lead's cross-package tests in `tests/` use it.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { decodeSampleFrame, deviceTopic, encodeJson, parseTopic, type RejectCode } from '@edgeloop/protocol';
import { Aedes, type Client } from 'aedes';

/** What the double answers to one sample: accept, reject for good, or say nothing (no ack). */
export type HubAnswer = 'accept' | 'silent' | { reject: RejectCode };

export class HubDouble {
  /** Every sample frame the hub received, by sample id: how many times. */
  readonly deliveries = new Map<string, number>();
  /** Sample ids the hub "stored" (accepted and acknowledged). */
  readonly stored = new Set<string>();
  /** How the hub answers; change it at any time. */
  answer: (sampleId: string) => HubAnswer = () => 'accept';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Map<string, Client>();

  private constructor(
    readonly broker: Aedes,
    readonly port: number,
    private readonly secrets: Map<string, string>,
  ) {
    broker.on('client', (client) => this.clients.set(client.id, client));
    broker.on('publish', (packet, client) => {
      const topic = parseTopic(packet.topic);
      if (!client || topic?.kind !== 'device' || topic.channel !== 'samples') return;
      void this.ingest(topic.deviceId, new Uint8Array(packet.payload as Buffer));
    });
  }

  /** Starts the broker on `port` (0: a free one). `secrets` maps device ids to passwords. */
  static async start(port: number, secrets: Record<string, string>): Promise<HubDouble> {
    const broker = await Aedes.createBroker({
      authenticate: (_client, username, password, done) => done(null, username !== undefined && secrets[username] === password?.toString()),
    });
    const hub = new HubDouble(broker, port, new Map(Object.entries(secrets)));
    await hub.up();
    return hub;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** (Re)opens the listener on the same port. */
  async up(): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.broker.handle(socket);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    (this as { port: number }).port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Cuts every connection without an MQTT DISCONNECT: the broker publishes the clients' wills. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Cuts one client's connection without an MQTT DISCONNECT, as a crash or a pulled cable would. */
  dropClient(clientId: string): void {
    this.clients.get(clientId)?.conn.destroy();
  }

  /** Takes the broker off the network (the hub is down) until {@link HubDouble.up}. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = once(server, 'close');
    server.close();
    this.dropConnections();
    await closed;
  }

  async close(): Promise<void> {
    await this.down();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
  }

  private async ingest(deviceId: string, frame: Uint8Array): Promise<void> {
    const decoded = decodeSampleFrame(frame);
    if (!decoded.ok) return;
    const { sampleId } = decoded.value;
    this.deliveries.set(sampleId, (this.deliveries.get(sampleId) ?? 0) + 1);
    const answer = this.answer(sampleId);
    if (answer === 'silent') return;
    if (answer === 'accept') this.stored.add(sampleId);
    const ack = encodeJson('ack', {
      v: 1,
      accepted: answer === 'accept' ? [sampleId] : [],
      rejected: answer === 'accept' ? [] : [{ sampleId, code: answer.reject, reason: 'rejected by the test hub' }],
      at: new Date().toISOString(),
    });
    this.broker.publish(
      { cmd: 'publish', topic: deviceTopic(deviceId, 'acks'), payload: Buffer.from(ack), qos: 1, retain: false, dup: false },
      () => {},
    );
  }

  /** The device's secret, for clients that connect as it. */
  secretOf(deviceId: string): string | undefined {
    return this.secrets.get(deviceId);
  }
}
