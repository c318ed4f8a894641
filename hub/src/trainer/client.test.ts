/** The trainer's hub client against a real HTTP server: which answers it retries, and which are final. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HubClient, HubClientError, type Lease, LeaseLost } from './client.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A hub that answers the statuses in order (the last one from then on), counting requests. */
async function hub(statuses: number[]): Promise<{ client: HubClient; calls: () => number }> {
  let calls = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = statuses[Math.min(calls++, statuses.length - 1)]!;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"code":"X"}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { client: new HubClient({ hub: `http://127.0.0.1:${port}`, token: 't' }), calls: () => calls };
}

const lease = { job: { id: 'j1' }, leaseId: 'l1' } as unknown as Lease;

describe('HubClient retries', () => {
  it('retries a request the hub did not process (408, 503), then succeeds', async () => {
    const h = await hub([408, 503, 200]);
    await h.client.metrics(lease, 1, { loss: 0.5 });
    expect(h.calls()).toBe(3);
  });

  it('gives up after its retries and reports the last answer', async () => {
    const h = await hub([503]);
    await expect(h.client.metrics(lease, 1, { loss: 0.5 })).rejects.toBeInstanceOf(HubClientError);
    expect(h.calls()).toBe(5);
  }, 30_000);

  it('never retries a final answer: 500 fails, 409 means the lease is gone', async () => {
    const failed = await hub([500, 200]);
    await expect(failed.client.metrics(lease, 1, { loss: 0.5 })).rejects.toThrow(/answered 500/);
    expect(failed.calls()).toBe(1);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const lost = await hub([409, 200]);
    await expect(lost.client.heartbeat(lease)).rejects.toBeInstanceOf(LeaseLost);
    expect(lost.calls()).toBe(1);
  });
});
