/** The trainer's hub client against a real HTTP server: which answers it retries, and which are final. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HubClient, HubClientError, type Lease, LeaseLost } from './client.js';
import { runWorker } from './worker.js';

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

describe('a worker that stops', () => {
  it('ends a lease request and its retries at once, and runWorker returns', async () => {
    const h = await hub([503]);
    const stop = new AbortController();
    const leasing = h.client.lease('w', ['wasm'], stop.signal);
    // Two 503s: the client is in its second backoff (1 s, from about 0.5 s to 1.5 s).
    await new Promise((r) => setTimeout(r, 800));
    expect(h.calls()).toBe(2);
    const t0 = performance.now();
    stop.abort();
    await expect(leasing).rejects.toThrow();
    // Well before that backoff would have ended, and no third request.
    expect(performance.now() - t0).toBeLessThan(400);
    expect(h.calls()).toBe(2);

    // The worker loop: stopped while its lease is retrying, it returns without waiting out the backoff.
    const again = new AbortController();
    const port = (server!.address() as AddressInfo).port;
    const running = runWorker({ hub: `http://127.0.0.1:${port}`, token: 't', name: 'w', signal: again.signal, log: () => {} });
    await new Promise((r) => setTimeout(r, 800));
    const t1 = performance.now();
    again.abort();
    await expect(running).resolves.toEqual({ succeeded: 0, failed: 0, 'lease-lost': 0, released: 0 });
    expect(performance.now() - t1).toBeLessThan(400);
  });
});
