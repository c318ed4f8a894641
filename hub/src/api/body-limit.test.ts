/**
 * Body-limit bypasses against the real server (@hono/node-server on 127.0.0.1), spoken byte by
 * byte over raw sockets: a chunked body with no Content-Length, an endless chunked stream, a
 * Content-Length smaller or larger than the body, both headers at once. Each is refused, nothing
 * is written, and the server keeps serving others.
 */

import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, auth, openApiFixture } from './test-support.js';

const LIMIT = 4096;

interface Exchange {
  /** Everything the server sent. */
  data: string;
  /** Statuses of the responses in `data`. */
  statuses: number[];
  /** Whether the server closed the connection. */
  closed: boolean;
  /** Body bytes the client managed to write before the server answered or closed. */
  sentAfterHeaders: number;
}

/**
 * Writes `head`, then each of `body` (pausing `gapMs` between them, stopping once a response
 * arrived or the socket closed), optionally half-closes, and waits up to `waitMs` for the end.
 */
function exchange(port: number, head: string, body: (string | Buffer)[], options: { end?: boolean; gapMs?: number; waitMs?: number } = {}) {
  return new Promise<Exchange>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    let sentAfterHeaders = 0;
    const finish = () => {
      const statuses = [...data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      resolve({ data, statuses, closed, sentAfterHeaders });
      socket.destroy();
    };
    socket.on('data', (d) => {
      data += d.toString('latin1');
    });
    socket.on('error', () => {}); // EPIPE/ECONNRESET once the server hangs up: expected
    socket.on('close', () => {
      closed = true;
      finish();
    });
    const timer = setTimeout(finish, options.waitMs ?? 1000);
    socket.on('close', () => clearTimeout(timer));
    socket.once('connect', async () => {
      socket.write(head);
      for (const part of body) {
        if (socket.destroyed || data.length > 0) break;
        socket.write(part);
        sentAfterHeaders += Buffer.byteLength(part);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
      if (options.end && !socket.destroyed) socket.end();
    });
  });
}

const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
const postDevices = (headers: string) =>
  `POST /devices HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\n${headers}\r\n`;
/** A valid request body for device `id`, padded with JSON whitespace to `size` bytes. */
const paddedDevice = (id: string, size: number) => {
  const json = `{"deviceId":"${id}"}`;
  return `${json.slice(0, -1)}${' '.repeat(Math.max(0, size - json.length))}}`;
};

let f: ApiFixture;
let server: ReturnType<typeof serve>;
let port: number;
const devicesNamed = (prefix: string) => f.count('SELECT count(*) FROM devices WHERE id LIKE ?', `${prefix}%`);

beforeAll(async () => {
  f = await openApiFixture({ bodyLimitBytes: LIMIT });
  server = serve({ fetch: f.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  await f.close();
});

describe('body limit', () => {
  it('stops a chunked body without Content-Length at the limit: 413 TOO_LARGE, nothing written', async () => {
    const body = paddedDevice('chunked-1', LIMIT * 3);
    const parts = [];
    for (let i = 0; i < body.length; i += 1000) parts.push(chunk(body.slice(i, i + 1000)));
    const res = await exchange(port, postDevices('Transfer-Encoding: chunked\r\n'), [...parts, '0\r\n\r\n'], { gapMs: 2 });
    expect(res.statuses).toEqual([413]);
    expect(res.data).toContain('"code":"TOO_LARGE"');
    expect(devicesNamed('chunked-')).toBe(0);
    // The same body within the limit goes through: the 413 is about size alone.
    const small = paddedDevice('chunked-2', LIMIT - 10);
    const ok = await exchange(port, postDevices('Transfer-Encoding: chunked\r\n'), [chunk(small), '0\r\n\r\n']);
    expect(ok.statuses).toEqual([201]);
    expect(devicesNamed('chunked-')).toBe(1);
  });

  it('answers an endless chunked stream as soon as it passes the limit, hangs up, and serves others meanwhile', async () => {
    const rssBefore = process.memoryUsage().rss;
    const parts = [chunk('{"deviceId":"endless-1"')];
    for (let i = 0; i < 32 * 1024; i++) parts.push(chunk(' '.repeat(1024))); // up to 32 MiB offered
    const stream = exchange(port, postDevices('Transfer-Encoding: chunked\r\n'), parts, { gapMs: 1, waitMs: 20_000 });
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    const res = await stream;
    expect(res.statuses).toEqual([413]);
    expect(res.closed).toBe(true);
    expect(res.sentAfterHeaders).toBeLessThan(2 * 1024 * 1024);
    expect(devicesNamed('endless-')).toBe(0);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a Content-Length over the limit before reading any of the body', async () => {
    const res = await exchange(port, postDevices(`Content-Length: ${LIMIT + 1}\r\n`), []);
    expect(res.statuses).toEqual([413]);
    expect(res.data).toContain('"code":"TOO_LARGE"');
    const sent = await exchange(port, postDevices(`Content-Length: ${LIMIT * 4}\r\n`), [paddedDevice('declared-1', LIMIT * 4)]);
    expect(sent.statuses[0]).toBe(413);
    expect(devicesNamed('declared-')).toBe(0);
  });

  it('never lets bytes past a lying (smaller) Content-Length reach a handler', async () => {
    // The first 15 bytes are the whole body as far as HTTP is concerned: truncated JSON. The rest
    // is parsed as a next request on the connection, which is garbage and refused by the parser.
    const body = paddedDevice('liar-1', LIMIT * 2);
    const res = await exchange(port, postDevices('Content-Length: 15\r\n'), [body]);
    expect(res.statuses.every((s) => s === 400)).toBe(true);
    expect(res.statuses.length).toBeGreaterThan(0);
    expect(res.closed).toBe(true);
    expect(devicesNamed('liar-')).toBe(0);
  });

  it('drops a body shorter than its Content-Length when the client stops sending', async () => {
    const res = await exchange(port, postDevices('Content-Length: 1000\r\n'), ['{"deviceId":"short-1"}'], { end: true });
    expect(res.statuses.every((s) => s === 400)).toBe(true);
    expect(res.closed).toBe(true);
    expect(devicesNamed('short-')).toBe(0);
  });

  it('refuses Content-Length together with Transfer-Encoding (request smuggling)', async () => {
    const res = await exchange(port, postDevices('Content-Length: 10\r\nTransfer-Encoding: chunked\r\n'), [
      chunk('{"deviceId":"both-1"}'),
      '0\r\n\r\n',
    ]);
    expect(res.statuses).toEqual([400]);
    expect(res.closed).toBe(true);
    expect(devicesNamed('both-')).toBe(0);
  });

  it('still serves normally afterwards', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/devices`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'after-1' }),
    });
    expect(res.status).toBe(201);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });
});

describe('per-route limits', () => {
  it('caps /classify at the protocol image size even when the configured limit is larger', async () => {
    const big = await openApiFixture({ bodyLimitBytes: 4 * 1024 * 1024 });
    try {
      const bytes = new Uint8Array(1_000_001);
      // A stream has no Content-Length: the limit counts what arrives.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 65536) controller.enqueue(bytes.subarray(i, i + 65536));
          controller.close();
        },
      });
      const res = await big.app.request('/classify', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'image/png' },
        body,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ code: 'TOO_LARGE' });
    } finally {
      await big.close();
    }
  });
});
