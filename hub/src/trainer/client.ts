/**
 * The trainer worker's HTTP client for the hub's job API (`api/routes/jobs.ts`). A 409 on any call
 * about a job means the lease is gone (cancelled, or expired and handed to another worker): it is
 * raised as {@link LeaseLost} so the worker stops at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatasetManifest } from '../datasets/manifest.js';
import type { JobRecord } from '../jobs/types.js';

const RETRIES = 4;
const RETRY_STATUSES = new Set([408, 429, 503]);
const backoff = (attempt: number) => 500 * 2 ** attempt;

export interface Lease {
  job: Omit<JobRecord, 'leaseId'>;
  leaseId: string;
  runId: string;
  leaseExpiresAt: string;
  heartbeatMs: number;
}

/** The hub said this lease is no longer ours: stop working on the job. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

export class HubClientError extends Error {
  override readonly name = 'HubClientError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface HubClientOptions {
  /** The hub's base URL, e.g. `http://127.0.0.1:8080`. */
  hub: string;
  token: string;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
}

export class HubClient {
  private readonly base: string;

  constructor(private readonly options: HubClientOptions) {
    this.base = options.hub.replace(/\/+$/, '');
  }

  /**
   * A job to do, or `undefined` when the queue has none for this worker. `signal` (a worker
   * stopping) ends the request and its retries at once: nothing is leased yet, so nothing is lost.
   */
  async lease(worker: string, backends: string[], signal?: AbortSignal): Promise<Lease | undefined> {
    const res = await this.request('POST', '/jobs/lease', { worker, capabilities: { backends } }, undefined, signal);
    if (res.status === 204) return undefined;
    return (await res.json()) as Lease;
  }

  async start(lease: Lease, backend: string, hardware: Record<string, unknown>): Promise<void> {
    await this.jobCall(lease, 'POST', 'start', { backend, hardware });
  }

  async heartbeat(lease: Lease): Promise<void> {
    await this.jobCall(lease, 'POST', 'heartbeat');
  }

  async metrics(lease: Lease, epoch: number, metrics: Record<string, number>): Promise<void> {
    await this.jobCall(lease, 'POST', 'metrics', { epoch, metrics });
  }

  async artifact(lease: Lease, name: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.jobCall(lease, 'PUT', `artifacts/${encodeURIComponent(name)}`, bytes, contentType);
  }

  async complete(lease: Lease, result: Record<string, unknown>, use: { cpuSeconds?: number; gpuSeconds?: number }): Promise<void> {
    await this.jobCall(lease, 'POST', 'complete', { result, ...use });
  }

  async fail(lease: Lease, error: string, use: { cpuSeconds?: number } = {}): Promise<void> {
    await this.jobCall(lease, 'POST', 'fail', { error: error.slice(0, 4000) || 'failed', ...use });
  }

  /** Hands the job back to the queue (the worker is stopping). */
  async release(lease: Lease, reason: string): Promise<void> {
    await this.jobCall(lease, 'POST', 'release', { reason: reason.slice(0, 500) || 'stopping' });
  }

  async dataset(lease: Lease): Promise<DatasetManifest> {
    return (await (await this.jobCall(lease, 'GET', 'dataset')).json()) as DatasetManifest;
  }

  /**
   * Images of the job's snapshot, in the order of `sampleIds` (at most 256 per call; the hub may
   * return fewer, and the rest is asked for again).
   */
  async samples(lease: Lease, sampleIds: readonly string[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    while (out.length < sampleIds.length) {
      const ids = sampleIds.slice(out.length, out.length + 256);
      const res = await this.jobCall(lease, 'POST', 'samples', { ids });
      const { items } = (await res.json()) as { items: { id: string; bytes: string }[] };
      if (items.length === 0) throw new Error(`POST /jobs/${lease.job.id}/samples returned no image`);
      for (const [i, item] of items.entries()) {
        if (item.id !== ids[i]) throw new Error(`POST /jobs/${lease.job.id}/samples answered out of order`);
        out.push(new Uint8Array(Buffer.from(item.bytes, 'base64')));
      }
    }
    return out;
  }

  private jobCall(lease: Lease, method: string, what: string, body?: unknown, contentType?: string): Promise<Response> {
    return this.request(method, `/jobs/${lease.job.id}/${what}?lease=${lease.leaseId}`, body, contentType);
  }

  /**
   * One call, retried (with backoff) when the hub says it did not process it: 408 (the request did
   * not arrive in time: a worker whose event loop was busy training can stall its own upload), 429
   * and 503, and after a network error. Other answers are final.
   */
  private async request(method: string, path: string, body?: unknown, contentType?: string, signal?: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const last = attempt >= RETRIES;
      let res: Response;
      try {
        res = await this.once(method, path, body, contentType, signal);
      } catch (error) {
        signal?.throwIfAborted();
        // A network failure is retried for any method: the usual one is a pooled keep-alive socket
        // the hub closed while this worker's event loop was busy training (its own idle timer could
        // not run), so the request never reached the hub. The job calls tolerate a repeat.
        if (last || error instanceof LeaseLost || error instanceof HubClientError) throw error;
        await sleep(backoff(attempt), undefined, { signal });
        continue;
      }
      if (last || !RETRY_STATUSES.has(res.status)) return this.check(res, method, path);
      await res.body?.cancel();
      await sleep(backoff(attempt), undefined, { signal });
    }
  }

  private async check(res: Response, method: string, path: string): Promise<Response> {
    if (res.status === 409) {
      const text = await res.text();
      throw new LeaseLost(`the hub refused ${method} ${path.split('?')[0]}: ${text.slice(0, 300)}`);
    }
    if (!res.ok)
      throw new HubClientError(`${method} ${path.split('?')[0]} answered ${res.status}: ${(await res.text()).slice(0, 300)}`, res.status);
    return res;
  }

  private once(method: string, path: string, body?: unknown, contentType?: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}` };
    let payload: BodyInit | undefined;
    if (body instanceof Uint8Array) {
      headers['content-type'] = contentType ?? 'application/octet-stream';
      payload = body as Uint8Array<ArrayBuffer>;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs ?? 60_000), ...(signal ? [signal] : [])]),
    });
  }
}
