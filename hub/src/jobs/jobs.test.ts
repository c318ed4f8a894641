import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRoutes } from '../api/routes/jobs.js';
import { createSnapshot } from '../datasets/snapshot.js';
import { HubClient } from '../trainer/client.js';
import { parseEpochLine } from '../trainer/train-job.js';
import { workOnce } from '../trainer/worker.js';
import { JobQueue } from './queue.js';
import { ADMIN_TOKEN, type HubParts, importMnist, openHubParts, serveRoutes, type TestServer, WORKER_TOKEN } from './test-support.js';

class Clock {
  constructor(public t = Date.parse('2026-06-01T00:00:00Z')) {}
  now = () => new Date(this.t);
}

describe('job queue: leases, heartbeats, expiry, cancel', () => {
  let parts: HubParts;
  beforeAll(async () => {
    parts = await openHubParts();
  });
  afterAll(() => parts.close());

  const queueAt = (clock: Clock, maxAttempts = 2) =>
    new JobQueue({ db: parts.db, runs: parts.runs, leaseMs: 10_000, maxAttempts, log: parts.log, now: clock.now });

  it('enqueues once per firing and leases to one worker at a time', () => {
    const clock = new Clock();
    const q = queueAt(clock);
    const a = q.enqueue({ firingId: 'f-1', model: 'digits', datasetId: 'd'.repeat(64) });
    expect(q.enqueue({ firingId: 'f-1', model: 'digits', datasetId: 'e'.repeat(64) }).id).toBe(a.id);
    const lease = q.lease({ worker: 'w1' });
    expect(lease?.job.id).toBe(a.id);
    expect(lease?.job.attempts).toBe(1);
    expect(parts.runs.get(lease!.runId)?.status).toBe('queued');
    expect(q.lease({ worker: 'w2' })).toBeUndefined();
    q.start(a.id, lease!.leaseId, { backend: 'cpu', hardware: { cores: 2 } });
    expect(parts.runs.get(lease!.runId)?.backend).toBe('cpu');
    clock.t += 8_000;
    q.heartbeat(a.id, lease!.leaseId);
    clock.t += 8_000; // 16 s after the lease, but 8 s after the heartbeat: still held
    expect(q.expireLeases()).toBe(0);
    expect(() => q.heartbeat(a.id, 'not-the-lease')).toThrow(/not held/);
  });

  it('an expired lease is retried with a new run, and fails the job after max attempts', () => {
    const clock = new Clock();
    const q = queueAt(clock, 2);
    const job = q.enqueue({ model: 'digits', datasetId: 'f'.repeat(64), params: { backend: 'tensorflow-gpu' } });
    expect(q.lease({ worker: 'cpu-only', backends: ['wasm'] })).toBeUndefined();
    const first = q.lease({ worker: 'gpu-1', backends: ['tensorflow-gpu'] })!;
    clock.t += 11_000;
    expect(q.expireLeases()).toBe(1);
    expect(q.get(job.id)?.state).toBe('queued');
    expect(parts.runs.get(first.runId)?.status).toBe('failed');
    expect(() => q.heartbeat(job.id, first.leaseId)).toThrow(/not held/);
    const second = q.lease({ worker: 'gpu-2', backends: ['tensorflow-gpu'] })!;
    expect(second.job.attempts).toBe(2);
    expect(second.runId).not.toBe(first.runId);
    clock.t += 11_000;
    q.expireLeases();
    expect(q.get(job.id)).toMatchObject({ state: 'failed', attempts: 2 });
    expect(q.get(job.id)?.error).toMatch(/expired \(attempt 2 of 2\)/);
  });

  it('a cancelled job answers CONFLICT to its worker', () => {
    const clock = new Clock();
    const q = queueAt(clock);
    // Earlier tests' clocks expired their leases: cancel whatever this worker got.
    q.enqueue({ model: 'digits', datasetId: 'a'.repeat(64) });
    const lease = q.lease({ worker: 'w' })!;
    const job = lease.job;
    q.cancel(job.id, 'user:ann', 'wrong data');
    expect(() => q.heartbeat(job.id, lease.leaseId)).toThrow(/cancelled/);
    expect(parts.runs.get(lease.runId)?.status).toBe('cancelled');
    expect(() => q.cancel(job.id, 'user:ann')).toThrow(/already cancelled/);
  });

  it('a released job is queued again at once, its run cancelled and its attempt not counted', () => {
    const clock = new Clock();
    const q = queueAt(clock, 1);
    // Jobs earlier tests left queued or leased would be leased first: end them.
    for (const left of q.list({ limit: 1000 })) if (!['succeeded', 'failed', 'cancelled'].includes(left.state)) q.cancel(left.id, 'tester');
    const job = q.enqueue({ model: 'digits', datasetId: 'b'.repeat(64), params: { backend: 'cpu' } });
    const lease = q.lease({ worker: 'w1', backends: ['cpu'] })!;
    expect(lease.job.id).toBe(job.id);
    q.start(job.id, lease.leaseId, { backend: 'cpu' });
    const released = q.release(job.id, lease.leaseId, 'the trainer is stopping');
    expect(released).toMatchObject({ state: 'queued', attempts: 0, leaseId: null, leaseOwner: null, leaseExpiresAt: null });
    const run = parts.runs.get(lease.runId)!;
    expect(run.status).toBe('cancelled');
    expect(run.error).toMatch(/released by worker w1: the trainer is stopping/);
    // The old lease is spent, and with max_attempts 1 the job can still be leased again at once.
    expect(() => q.release(job.id, lease.leaseId, 'again')).toThrow(/not held/);
    expect(() => q.heartbeat(job.id, lease.leaseId)).toThrow(/not held/);
    const again = q.lease({ worker: 'w2', backends: ['cpu'] })!;
    expect(again.job).toMatchObject({ id: job.id, attempts: 1 });
    expect(again.runId).not.toBe(lease.runId);
  });

  it('parses the trainer progress line', () => {
    const parsed = parseEpochLine('epoch 2/3: loss 1.9103 acc 44.66% val_acc 65.63% 0.6s (337 img/s)');
    expect(parsed?.epoch).toBe(2);
    expect(parsed?.metrics.loss).toBeCloseTo(1.9103, 6);
    expect(parsed?.metrics.accuracy).toBeCloseTo(0.4466, 6);
    expect(parsed?.metrics.val_accuracy).toBeCloseTo(0.6563, 6);
    expect(parseEpochLine('backend: wasm')).toBeUndefined();
  });
});

describe('trainer worker over HTTP (real tfjs training on wasm)', () => {
  let parts: HubParts;
  let server: TestServer;
  let queue: JobQueue;
  let datasetId: string;

  beforeAll(async () => {
    parts = await openHubParts();
    await importMnist(parts, 10);
    datasetId = createSnapshot({ db: parts.db }, { name: 'mnist-10', actor: 'tester' }).id;
    queue = new JobQueue({ db: parts.db, runs: parts.runs, leaseMs: 30_000, maxAttempts: 2, log: parts.log });
    server = await serve();
  });
  afterAll(async () => {
    await server?.close();
    await parts?.close();
  });

  /** The job routes over the shared queue and parts, on their own server. */
  const serve = (extra: Partial<Parameters<typeof jobRoutes>[0]> = {}) =>
    serveRoutes(
      jobRoutes({
        db: parts.db,
        store: parts.store,
        jobs: queue,
        adminToken: ADMIN_TOKEN,
        workerTokens: [WORKER_TOKEN],
        maxArtifactBytes: 32 << 20,
        ...extra,
      }),
      parts.log,
    );

  const worker = (token = WORKER_TOKEN) => ({ hub: server.url, token, name: 'test-worker', backend: 'wasm' as const, log: () => {} });

  it('refuses a worker without a valid token', async () => {
    await expect(workOnce(worker('wrong-token'))).rejects.toThrow(/401/);
    const res = await fetch(`${server.url}/jobs/lease`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"worker":"x"}',
    });
    expect(res.status).toBe(401);
  });

  it('answers 204 with nothing to do', async () => {
    expect(await workOnce(worker())).toBeUndefined();
  });

  it("serves the snapshot's images in batches: in order, the stored bytes, only members of the dataset, only to the lease holder", async () => {
    const job = queue.enqueue({ model: 'digits', datasetId, params: {} });
    const client = new HubClient({ hub: server.url, token: WORKER_TOKEN });
    const lease = (await client.lease('batch-test', ['wasm']))!;
    expect(lease.job.id).toBe(job.id);
    const ids = (await client.dataset(lease)).items.map((i) => i.sampleId).reverse();
    expect(ids.length).toBe(100);
    const images = await client.samples(lease, ids);
    expect(images).toHaveLength(ids.length);
    for (const [i, id] of ids.entries())
      expect(Buffer.from(images[i]!)).toEqual(Buffer.from((await parts.store.get(`samples/${id.slice(0, 2)}/${id}`))!));
    const post = (body: unknown, lease_ = lease.leaseId) =>
      fetch(`${server.url}/jobs/${job.id}/samples?lease=${lease_}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WORKER_TOKEN}` },
        body: JSON.stringify(body),
      });
    expect((await post({ ids: [ids[0], 'f'.repeat(64)] })).status).toBe(404);
    expect((await post({ ids: [ids[0]] }, crypto.randomUUID())).status).toBe(409);
    expect((await post({ ids: [] })).status).toBe(400);
    expect((await post({ ids: Array(257).fill(ids[0]) })).status).toBe(400);
    queue.cancel(job.id, 'tester');
  });

  it('answers a batch over its byte budget in part (at least one image), and the client asks again for the rest', async () => {
    const small = await serve({ sampleBatchBytes: 1 }); // every answer carries exactly one image
    try {
      const job = queue.enqueue({ model: 'digits', datasetId, params: {} });
      const client = new HubClient({ hub: small.url, token: WORKER_TOKEN });
      const lease = (await client.lease('budget-test', ['wasm']))!;
      expect(lease.job.id).toBe(job.id);
      const ids = (await client.dataset(lease)).items.map((i) => i.sampleId).slice(0, 5);
      const res = await fetch(`${small.url}/jobs/${job.id}/samples?lease=${lease.leaseId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WORKER_TOKEN}` },
        body: JSON.stringify({ ids }),
      });
      expect(((await res.json()) as { items: { id: string }[] }).items.map((i) => i.id)).toEqual([ids[0]]);
      const images = await client.samples(lease, ids);
      for (const [i, id] of ids.entries())
        expect(Buffer.from(images[i]!)).toEqual(Buffer.from((await parts.store.get(`samples/${id.slice(0, 2)}/${id}`))!));
      queue.cancel(job.id, 'tester');
    } finally {
      await small.close();
    }
  });

  it('trains a leased job, streams per-epoch metrics and uploads every artifact', async () => {
    const job = queue.enqueue({ model: 'digits', datasetId, params: { epochs: 2, batchSize: 16 } });
    expect(await workOnce(worker())).toBe('succeeded');
    const done = queue.require(job.id);
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ backend: 'wasm', datasetHash: datasetId });
    const run = parts.runs.require(done.runId!);
    expect(run).toMatchObject({ status: 'succeeded', backend: 'wasm', datasetId });
    expect(run.hardware).toMatchObject({ cpuCores: expect.any(Number) });
    const losses = parts.runs.metrics(run.id, { key: 'loss' });
    expect(losses.map((m) => m.epoch)).toEqual([1, 2]);
    expect(parts.runs.artifacts(run.id).map((a) => a.name)).toEqual([
      'confusion.svg',
      'manifest.json',
      'metrics.json',
      'model.json',
      'model.onnx',
      'weights.bin',
    ]);
  });

  it('a NaN loss fails the job for good (no retry)', async () => {
    const job = queue.enqueue({ model: 'digits', datasetId, params: { epochs: 2, learningRate: 1e9 } });
    expect(await workOnce(worker())).toBe('failed');
    const failed = queue.require(job.id);
    expect(failed).toMatchObject({ state: 'failed', attempts: 1 });
    expect(failed.error).toMatch(/TRAINING_DIVERGED/);
    expect(parts.runs.require(failed.runId!).status).toBe('failed');
    expect(await workOnce(worker())).toBeUndefined();
  });

  it('a job cancelled while training stops its worker', async () => {
    // Enough epochs that training is still going when the cancel lands (see the next test).
    const job = queue.enqueue({ model: 'digits', datasetId, params: { epochs: 300 } });
    const running = workOnce(worker());
    for (let i = 0; i < 200 && queue.require(job.id).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${server.url}/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"reason":"test"}',
    });
    expect(res.status).toBe(200);
    expect(await running).toBe('lease-lost');
    expect(queue.require(job.id).state).toBe('cancelled');
  });

  it('a worker stopped while training releases its job, which is queued again at once', async () => {
    // Epochs of 100 digits take tens of ms: enough of them that the job is still training when
    // the stop comes.
    const job = queue.enqueue({ model: 'digits', datasetId, params: { epochs: 300 } });
    const stop = new AbortController();
    const lines: string[] = [];
    const running = workOnce({ ...worker(), signal: stop.signal, log: (l) => lines.push(l) });
    // The worker reports `start` in the background while it trains, so a fast first epoch can be
    // logged before the hub has marked the job running: wait for both.
    const training = () => queue.require(job.id).state === 'running' && lines.some((l) => l.startsWith('epoch 1/'));
    for (let i = 0; i < 2000 && !training(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(queue.require(job.id).state).toBe('running');
    const stopped = performance.now();
    stop.abort();
    expect(await running).toBe('released');
    // Training ends at the next batch: well before the 30 epochs, and far inside the lease.
    expect(performance.now() - stopped).toBeLessThan(10_000);
    expect(queue.require(job.id)).toMatchObject({ state: 'queued', attempts: 0, leaseId: null });
    expect(lines.some((l) => l.includes('released to the hub'))).toBe(true);
    queue.cancel(job.id, 'tester', 'done with this test');
  });
});
