/**
 * The training-job queue. Jobs are rows in `training_jobs`; workers lease them over HTTP
 * (`api/routes/jobs.ts`). Every transition is one IMMEDIATE transaction that re-reads the row, so
 * two workers can never hold the same job, and a worker whose lease expired (or whose job was
 * cancelled) is refused with CONFLICT on its next call and stops.
 *
 * Each lease starts a fresh run in the run tracker; an expired lease fails that run ("worker
 * lost") and returns the job to `queued`, or fails the job once it had `max_attempts` leases. A
 * worker that is stopping releases its job instead: the run is cancelled and the job is queued
 * again at once, without counting the attempt.
 */
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, lt } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { trainingJobs } from '../db/schema-pipeline.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunTracker } from '../registry/runs.js';
import { type JobParams, type JobRecord, type JobState, type LeasedJob, TERMINAL_JOB_STATES, type WorkerInfo } from './types.js';

export interface JobQueueOptions {
  db: OpenDatabase;
  runs: RunTracker;
  leaseMs: number;
  maxAttempts: number;
  log: Logger;
  now?: () => Date;
  /** Called after a job reaches a terminal state (the pipeline wakes up). */
  onSettled?(job: JobRecord): void;
}

export interface EnqueueJob {
  firingId?: string;
  model: string;
  datasetId: string;
  params?: JobParams;
  maxAttempts?: number;
}

/** Measured use at the end of a job, for the run's energy estimate. */
export interface JobUse {
  cpuSeconds?: number;
  gpuSeconds?: number;
}

const ACTIVE: JobState[] = ['leased', 'running'];

export class JobQueue {
  private readonly now: () => Date;

  constructor(private readonly options: JobQueueOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Queues a job; with a `firingId` that already has one, returns that one (idempotent). */
  enqueue(input: EnqueueJob): JobRecord {
    return this.tx(() => {
      if (input.firingId !== undefined) {
        const existing = this.byFiring(input.firingId);
        if (existing) return existing;
      }
      const at = this.now().toISOString();
      const row: JobRecord = {
        id: randomUUID(),
        firingId: input.firingId ?? null,
        model: input.model,
        runId: null,
        datasetId: input.datasetId,
        params: input.params ?? {},
        state: 'queued',
        leaseId: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        attempts: 0,
        maxAttempts: input.maxAttempts ?? this.options.maxAttempts,
        error: null,
        result: null,
        createdAt: at,
        updatedAt: at,
      };
      this.options.db.db.insert(trainingJobs).values(row).run();
      return row;
    });
  }

  get(id: string): JobRecord | undefined {
    return this.options.db.db.select().from(trainingJobs).where(eq(trainingJobs.id, id)).get();
  }

  require(id: string): JobRecord {
    const job = this.get(id);
    if (!job) throw new HubError('NOT_FOUND', `no training job ${id}`);
    return job;
  }

  byFiring(firingId: string): JobRecord | undefined {
    return this.options.db.db.select().from(trainingJobs).where(eq(trainingJobs.firingId, firingId)).get();
  }

  /** Newest first. */
  list(filter: { state?: JobState; limit?: number } = {}): JobRecord[] {
    const q = this.options.db.db.select().from(trainingJobs);
    return (filter.state ? q.where(eq(trainingJobs.state, filter.state)) : q)
      .orderBy(desc(trainingJobs.createdAt))
      .limit(filter.limit ?? 50)
      .all();
  }

  /** Leases the oldest queued job this worker can run, starting a fresh run for it; `undefined` when none. */
  lease(worker: WorkerInfo): LeasedJob | undefined {
    this.expireLeases();
    const leased = this.tx(() => {
      const queued = this.options.db.db
        .select()
        .from(trainingJobs)
        .where(eq(trainingJobs.state, 'queued'))
        .orderBy(asc(trainingJobs.createdAt))
        .all();
      const job = queued.find((j) => typeof j.params.backend !== 'string' || (worker.backends ?? []).includes(j.params.backend));
      if (!job) return undefined;
      const now = this.now();
      const leaseId = randomUUID();
      const leaseExpiresAt = new Date(now.getTime() + this.options.leaseMs).toISOString();
      const run = this.options.runs.create({
        experiment: job.model,
        params: { ...job.params, jobId: job.id, attempt: job.attempts + 1 },
        datasetId: job.datasetId,
        createdBy: `worker:${worker.worker}`.slice(0, 200),
      });
      this.update(job.id, {
        state: 'leased',
        leaseId,
        leaseOwner: worker.worker,
        leaseExpiresAt,
        attempts: job.attempts + 1,
        runId: run.id,
      });
      return { job: this.require(job.id), leaseId, runId: run.id, leaseExpiresAt, heartbeatMs: Math.floor(this.options.leaseMs / 3) };
    });
    if (leased) this.options.log.info({ jobId: leased.job.id, worker: worker.worker, attempt: leased.job.attempts }, 'training job leased');
    return leased;
  }

  /** The worker started training: records the backend and hardware on the run. */
  start(id: string, leaseId: string, info: { backend: string; hardware?: Record<string, unknown> }): JobRecord {
    return this.tx(() => {
      const job = this.held(id, leaseId);
      if (job.state === 'leased') {
        this.options.runs.start(job.runId!, { backend: info.backend, ...(info.hardware ? { hardware: info.hardware } : {}) });
        this.update(id, { state: 'running' });
      }
      return this.require(id);
    });
  }

  /** Extends the lease; CONFLICT when the job was cancelled or the lease is no longer this worker's. */
  heartbeat(id: string, leaseId: string): { leaseExpiresAt: string } {
    return this.tx(() => {
      this.held(id, leaseId);
      const leaseExpiresAt = new Date(this.now().getTime() + this.options.leaseMs).toISOString();
      this.update(id, { leaseExpiresAt });
      return { leaseExpiresAt };
    });
  }

  /** Records one epoch's metrics on the job's run. */
  logMetrics(id: string, leaseId: string, epoch: number, values: Record<string, number>): void {
    const job = this.held(id, leaseId, ['running']);
    this.options.runs.logMetrics(job.runId!, { epoch, values });
  }

  /** Stores an artifact on the job's run. */
  async putArtifact(id: string, leaseId: string, name: string, bytes: Uint8Array, contentType?: string) {
    const job = this.held(id, leaseId, ['running']);
    return this.options.runs.logArtifact(job.runId!, name, bytes, contentType);
  }

  /** The worker finished: the job and its run succeed. */
  complete(id: string, leaseId: string, result: Record<string, unknown>, use: JobUse = {}): JobRecord {
    const done = this.tx(() => {
      const job = this.held(id, leaseId, ['running']);
      this.options.runs.finish(job.runId!, use);
      this.update(id, { state: 'succeeded', result, leaseId: null, leaseExpiresAt: null });
      return this.require(id);
    });
    this.settled(done);
    return done;
  }

  /** The worker gave up (NaN loss, bad data, a crash it caught): the job fails without a retry. */
  fail(id: string, leaseId: string, error: string, use: JobUse = {}): JobRecord {
    const done = this.tx(() => {
      const job = this.held(id, leaseId);
      this.options.runs.fail(job.runId!, error, use);
      this.update(id, { state: 'failed', error: error.slice(0, 4000), leaseId: null, leaseExpiresAt: null });
      return this.require(id);
    });
    this.settled(done);
    return done;
  }

  /**
   * The worker is stopping (a restart, a deploy) and hands its job back: the run is cancelled, and
   * the job is queued again at once instead of when the lease runs out. The attempt does not count
   * towards `max_attempts`: nothing went wrong with the job.
   */
  release(id: string, leaseId: string, reason: string): JobRecord {
    return this.tx(() => {
      const job = this.held(id, leaseId);
      const run = this.openRunOf(job);
      if (run) this.options.runs.cancel(run.id, `released by worker ${job.leaseOwner}: ${reason}`);
      this.update(id, {
        state: 'queued',
        leaseId: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        attempts: Math.max(0, job.attempts - 1),
      });
      this.options.log.info({ jobId: id, reason }, 'training job released by its worker');
      return this.require(id);
    });
  }

  /** Cancels a job that has not ended; its worker learns it at the next heartbeat. */
  cancel(id: string, actor: string, reason = 'cancelled'): JobRecord {
    const done = this.tx(() => {
      const job = this.require(id);
      if (TERMINAL_JOB_STATES.has(job.state)) throw new HubError('CONFLICT', `job ${id} is already ${job.state}`);
      const run = this.openRunOf(job);
      if (run) this.options.runs.cancel(run.id, `${reason} (by ${actor})`);
      this.update(id, { state: 'cancelled', error: `${reason} (by ${actor})`, leaseId: null, leaseExpiresAt: null });
      return this.require(id);
    });
    this.settled(done);
    return done;
  }

  /** Returns jobs whose lease ran out to the queue, or fails them after `max_attempts`; returns how many. */
  expireLeases(): number {
    const now = this.now().toISOString();
    const settled: JobRecord[] = [];
    const count = this.tx(() => {
      const stale = this.options.db.db
        .select()
        .from(trainingJobs)
        .where(and(inArray(trainingJobs.state, ACTIVE), lt(trainingJobs.leaseExpiresAt, now)))
        .all();
      for (const job of stale) {
        const run = this.openRunOf(job);
        const why = `lease of worker ${job.leaseOwner} expired (attempt ${job.attempts} of ${job.maxAttempts})`;
        if (run) this.options.runs.fail(run.id, why);
        const last = job.attempts >= job.maxAttempts;
        this.update(job.id, {
          state: last ? 'failed' : 'queued',
          error: last ? why : null,
          leaseId: null,
          leaseOwner: null,
          leaseExpiresAt: null,
        });
        this.options.log.warn({ jobId: job.id, attempts: job.attempts, failed: last }, 'training job lease expired');
        if (last) settled.push(this.require(job.id));
      }
      return stale.length;
    });
    for (const job of settled) this.settled(job);
    return count;
  }

  /** The job's run while it has not ended (queued or running), if it has one. */
  private openRunOf(job: JobRecord) {
    const run = job.runId ? this.options.runs.get(job.runId) : undefined;
    return run && (run.status === 'queued' || run.status === 'running') ? run : undefined;
  }

  /** The job, if `leaseId` holds it now (and it is in one of `states`); else CONFLICT. */
  private held(id: string, leaseId: string, states: JobState[] = ACTIVE): JobRecord {
    const job = this.require(id);
    if (job.state === 'cancelled') throw new HubError('CONFLICT', `job ${id} was cancelled`);
    const expired = job.leaseExpiresAt !== null && job.leaseExpiresAt < this.now().toISOString();
    if (job.leaseId !== leaseId || expired || !states.includes(job.state))
      throw new HubError('CONFLICT', `job ${id} is not held by this lease (state ${job.state}${expired ? ', lease expired' : ''})`);
    return job;
  }

  private update(id: string, set: Partial<JobRecord>): void {
    this.options.db.db
      .update(trainingJobs)
      .set({ ...set, updatedAt: this.now().toISOString() })
      .where(eq(trainingJobs.id, id))
      .run();
  }

  private settled(job: JobRecord): void {
    try {
      this.options.onSettled?.(job);
    } catch (err) {
      this.options.log.error({ err, jobId: job.id }, 'job settle hook failed');
    }
  }

  private tx<T>(fn: () => T): T {
    return this.options.db.sqlite.transaction(fn).immediate();
  }
}
