/**
 * The embedded broker's listeners: MQTT over TCP and MQTT over WebSocket (for browsers). Every
 * connection passes the packet-size guard before aedes sees a byte of it.
 */
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { type GuardViolation, guardPackets } from './packet-guard.js';

export interface Listeners {
  urls: { mqtt: string; ws?: string };
  /** Stops accepting connections; open ones go on. */
  stopAccepting(): void;
  /** Stops accepting connections and ends the open ones. */
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  tcpPort: number;
  /** -1 disables the WebSocket listener. */
  wsPort: number;
  maxRemainingLength: number;
  handle(connection: Duplex, request?: IncomingMessage): void;
  onViolation(violation: GuardViolation): void;
}

export async function listen(options: ListenOptions): Promise<Listeners> {
  const { host, maxRemainingLength, handle, onViolation } = options;
  const sockets = new Set<Duplex>();
  const track = (conn: Duplex) => {
    sockets.add(conn);
    conn.once('close', () => sockets.delete(conn));
  };

  const tcp = createServer((socket) => {
    // Acks are small and latency-sensitive; Nagle would hold them back.
    socket.setNoDelay(true);
    track(socket);
    handle(guardPackets(socket, maxRemainingLength, onViolation));
  });
  const tcpPort = await listenOn(tcp, host, options.tcpPort);

  let wss: WebSocketServer | undefined;
  let wsPort: number | undefined;
  if (options.wsPort >= 0) {
    // ws refuses a message over maxPayload itself; the guard then bounds MQTT packets that span
    // several messages. The slack covers the fixed header (at most 5 bytes).
    wss = new WebSocketServer({ host, port: options.wsPort, maxPayload: maxRemainingLength + 5 });
    await new Promise<void>((resolve, reject) => {
      wss!.once('listening', resolve);
      wss!.once('error', reject);
    });
    wsPort = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws, request) => {
      ws.on('error', (error: Error & { code?: string }) => {
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') onViolation('packet_too_large');
      });
      const stream = createWebSocketStream(ws);
      stream.on('error', () => {});
      track(stream);
      handle(guardPackets(stream, maxRemainingLength, onViolation), request);
    });
  }

  const closed: Promise<void>[] = [];
  const stopAccepting = () => {
    if (closed.length > 0) return;
    closed.push(new Promise<void>((resolve) => tcp.close(() => resolve())));
    if (wss) closed.push(new Promise<void>((resolve) => wss!.close(() => resolve())));
  };
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    urls: { mqtt: `mqtt://${urlHost}:${tcpPort}`, ...(wsPort !== undefined ? { ws: `ws://${urlHost}:${wsPort}` } : {}) },
    stopAccepting,
    async close() {
      stopAccepting();
      for (const client of wss?.clients ?? []) client.terminate();
      for (const conn of sockets) conn.destroy();
      await Promise.all(closed);
    },
  };
}

function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
