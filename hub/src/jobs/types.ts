/** Shapes of training jobs and their settings. */
import type { trainingJobs } from '../db/schema-pipeline.js';

export type JobRecord = typeof trainingJobs.$inferSelect;
export type JobState = JobRecord['state'];
export type JobParams = Record<string, string | number | boolean>;

/** States a job can no longer leave. */
export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

/** Settings of the job queue and the worker API; the lead merges them into `Config` as `pipeline.jobs`. */
export interface JobsConfig {
  /** How long a lease lasts without a heartbeat. Default 60 s; workers beat every third of it. */
  leaseMs: number;
  /** Leases a job gets before an expiry fails it for good. Default 3. */
  maxAttempts: number;
  /**
   * Bearer tokens trainer workers authenticate with (the admin token works too). `npm start`
   * generates one for its local worker.
   */
  workerTokens: string[];
  /** Largest artifact a worker may upload, in bytes. Default 256 MiB. */
  maxArtifactBytes: number;
}

export const defaultJobsConfig: JobsConfig = {
  leaseMs: 60_000,
  maxAttempts: 3,
  workerTokens: [],
  maxArtifactBytes: 256 * 1024 * 1024,
};

/** What a worker gets with a lease. */
export interface LeasedJob {
  job: JobRecord;
  leaseId: string;
  runId: string;
  leaseExpiresAt: string;
  /** Heartbeat at least this often (a third of the lease). */
  heartbeatMs: number;
}

/** A worker's description of itself when it asks for work. */
export interface WorkerInfo {
  worker: string;
  /** The tfjs backends it can run; a job whose `params.backend` is set goes only to a worker that has it. */
  backends?: string[];
}
