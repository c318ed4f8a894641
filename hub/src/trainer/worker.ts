/**
 * The trainer worker's loop: lease a job, train it (`train-job.ts`), repeat. A worker holds one
 * job at a time; when the queue is empty it polls. Network errors back off and retry, so a worker
 * outlives a hub restart.
 */
import { setTimeout as wait } from 'node:timers/promises';
import { BACKEND_ORDER, type BackendName } from '@edgeloop/models';
import { HubClient } from './client.js';
import { type JobOutcome, trainLeasedJob } from './train-job.js';

export interface WorkerOptions {
  hub: string;
  token: string;
  /** The worker's name in leases and run records (default `<host>-<pid>`). */
  name: string;
  /** Force one backend (else per job, else the best available). */
  backend?: BackendName;
  /** Poll interval while the queue is empty (default 2 s). */
  pollMs?: number;
  /** Stop after one job (`--once`). */
  once?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Waits `ms`, or until `signal` aborts (a stopping worker does not wait out its poll). */
const sleep = (ms: number, signal?: AbortSignal) => wait(ms, undefined, { signal }).catch(() => {});

/**
 * Takes the next job if there is one and trains it; `undefined` when there was none. The backends
 * a worker offers are all those `@edgeloop/models` knows (the trainer falls back down the list).
 */
export async function workOnce(options: WorkerOptions): Promise<JobOutcome | undefined> {
  const log = options.log ?? ((line: string) => console.log(line));
  const client = new HubClient({ hub: options.hub, token: options.token });
  const backends = options.backend ? [options.backend] : [...BACKEND_ORDER];
  const lease = await client.lease(options.name, backends, options.signal);
  if (!lease) return undefined;
  log(`leased job ${lease.job.id} (attempt ${lease.job.attempts}/${lease.job.maxAttempts}, dataset ${lease.job.datasetId.slice(0, 12)})`);
  return trainLeasedJob({
    client,
    lease,
    log,
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * Runs until `signal` aborts (or after one job with `once`); resolves to the jobs done by outcome.
 * A job in training when `signal` aborts is released to the hub, which queues it again at once.
 */
export async function runWorker(options: WorkerOptions): Promise<Record<JobOutcome, number>> {
  const log = options.log ?? ((line: string) => console.log(line));
  const done: Record<JobOutcome, number> = { succeeded: 0, failed: 0, 'lease-lost': 0, released: 0 };
  let backoff = 500;
  while (!options.signal?.aborted) {
    try {
      const outcome = await workOnce(options);
      backoff = 500;
      if (outcome === undefined) {
        await sleep(options.pollMs ?? 2000, options.signal);
        continue;
      }
      done[outcome]++;
      if (options.once) break;
    } catch (err) {
      if (options.signal?.aborted) break; // stopping: the lease request was cut short on purpose
      log(`cannot reach the hub: ${err instanceof Error ? err.message : String(err)}; retrying in ${backoff} ms`);
      await sleep(backoff, options.signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
  return done;
}
