/**
 * The trainer-worker API: lease a job, heartbeat, report the backend, stream per-epoch metrics,
 * upload artifacts, complete or fail, or release the job when the worker stops; read the job's
 * dataset manifest and its images. Plus the
 * admin's view: list jobs, cancel one.
 *
 * Worker routes take `Authorization: Bearer <worker token>` (one of `pipeline.jobs.workerTokens`,
 * or the admin token). They are declared `public` in the route registry, which knows only admin
 * tokens, and check the token first thing in the handler; calls about a job carry the lease id
 * (`?lease=`), and a lease that is not the job's current one is answered 409: the worker stops.
 */

import type { Context } from 'hono';
import { z } from 'zod';
import { exportManifest } from '../../datasets/read.js';
import type { OpenDatabase } from '../../db/open.js';
import { HubError } from '../../errors.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { readSampleBlob } from '../../storage/sample-blob.js';
import { tokenMatches } from '../auth.js';
import { ApiError } from '../problem.js';
import { defineRoute, type Route } from '../route.js';
import { SampleIdSchema } from '../schemas.js';

export interface JobApiDeps {
  db: OpenDatabase;
  store: ObjectStore;
  /** The queue (absent: every route answers 409, training is not running). */
  jobs?: JobQueue;
  adminToken: string;
  workerTokens: readonly string[];
  maxArtifactBytes: number;
  /** Image bytes one `POST /jobs/{id}/samples` answer carries at most (default 16 MiB). */
  sampleBatchBytes?: number;
}

const JobParamsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const JobSchema = z.object({
  id: z.string(),
  firingId: z.string().nullable(),
  model: z.string(),
  runId: z.string().nullable(),
  datasetId: z.string(),
  params: JobParamsSchema,
  state: z.enum(['queued', 'leased', 'running', 'succeeded', 'failed', 'cancelled']),
  leaseOwner: z.string().nullable(),
  leaseExpiresAt: z.string().nullable(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  error: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const LeaseSchema = z.object({
  job: JobSchema,
  leaseId: z.string(),
  runId: z.string(),
  leaseExpiresAt: z.string(),
  heartbeatMs: z.number(),
});
const JobIdParams = z.object({ id: z.uuid() });
const LeaseQuery = z.object({ lease: z.uuid().describe('The lease id from POST /jobs/lease') });
const ARTIFACT_TYPES = ['application/octet-stream', 'application/json', 'image/svg+xml', 'text/plain'] as const;
/** Ids per `POST /jobs/{id}/samples`, and the image bytes one answer carries at most. */
export const SAMPLE_BATCH = 256;
export const SAMPLE_BATCH_BYTES = 16 * 1024 * 1024;
const UseSchema = { cpuSeconds: z.number().nonnegative().optional(), gpuSeconds: z.number().nonnegative().optional() };

function publicJob(job: ReturnType<JobQueue['require']>) {
  const { leaseId: _lease, ...rest } = job;
  return rest;
}

export function jobRoutes(deps: JobApiDeps): Route[] {
  const queue = (): JobQueue => {
    if (!deps.jobs) throw new HubError('CONFLICT', 'training is not running on this hub');
    return deps.jobs;
  };
  /** Worker auth: a worker token or the admin token, else 401. */
  const worker = (c: Context): void => {
    const match = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(c.req.header('authorization') ?? '');
    const token = match?.[1];
    if (token && (tokenMatches(token, deps.adminToken) || deps.workerTokens.some((t) => tokenMatches(token, t)))) return;
    throw Object.assign(new ApiError(401, 'UNAUTHORIZED', 'worker routes need Authorization: Bearer <worker token>'), {
      challenge: 'Bearer realm="edgeloop-hub"',
    });
  };
  const tags = ['training'];
  return [
    defineRoute({
      operationId: 'leaseJob',
      method: 'post',
      path: '/jobs/lease',
      summary: 'A worker asks for a training job (204: none)',
      tags,
      auth: 'public',
      body: {
        kind: 'json',
        schema: z.strictObject({
          worker: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/)
            .describe('The worker name'),
          capabilities: z.strictObject({ backends: z.array(z.string().max(32)).max(8).optional() }).optional(),
        }),
      },
      responses: { 200: { description: 'A job and its lease', json: LeaseSchema }, 204: { description: 'No job to do' } },
      handler({ body }, { c }) {
        worker(c);
        const leased = queue().lease({
          worker: body.worker,
          ...(body.capabilities?.backends ? { backends: body.capabilities.backends } : {}),
        });
        if (!leased) return c.body(null, 204);
        return c.json({ ...leased, job: publicJob(leased.job) });
      },
    }),
    defineRoute({
      operationId: 'startJob',
      method: 'post',
      path: '/jobs/{id}/start',
      summary: 'The worker started training: the backend it selected and its hardware',
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      body: {
        kind: 'json',
        schema: z.strictObject({ backend: z.string().min(1).max(64), hardware: z.record(z.string(), z.unknown()).optional() }),
      },
      responses: { 200: { description: 'The job', json: JobSchema }, 409: { description: 'Not this lease, or cancelled: stop' } },
      handler({ params, query, body }, { c }) {
        worker(c);
        return c.json(
          publicJob(
            queue().start(params.id, query.lease, { backend: body.backend, ...(body.hardware ? { hardware: body.hardware } : {}) }),
          ),
        );
      },
    }),
    defineRoute({
      operationId: 'heartbeatJob',
      method: 'post',
      path: '/jobs/{id}/heartbeat',
      summary: 'Extends the lease; 409 tells the worker to stop (cancelled, or the lease was lost)',
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      responses: { 200: { description: 'The new expiry', json: z.object({ leaseExpiresAt: z.string() }) }, 409: { description: 'Stop' } },
      handler({ params, query }, { c }) {
        worker(c);
        return c.json(queue().heartbeat(params.id, query.lease));
      },
    }),
    defineRoute({
      operationId: 'postJobMetrics',
      method: 'post',
      path: '/jobs/{id}/metrics',
      summary: "One epoch's metrics, recorded on the job's run",
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      body: { kind: 'json', schema: z.strictObject({ epoch: z.number().int().min(0), metrics: z.record(z.string(), z.number()) }) },
      responses: { 204: { description: 'Recorded' }, 409: { description: 'Stop' } },
      handler({ params, query, body }, { c }) {
        worker(c);
        queue().logMetrics(params.id, query.lease, body.epoch, body.metrics);
        return c.body(null, 204);
      },
    }),
    defineRoute({
      operationId: 'putJobArtifact',
      method: 'put',
      path: '/jobs/{id}/artifacts/{name}',
      summary: "Uploads one artifact (raw bytes) to the job's run",
      tags,
      auth: 'public',
      params: JobIdParams.extend({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/) }),
      query: LeaseQuery,
      body: { kind: 'binary', mediaTypes: ARTIFACT_TYPES, maxBytes: deps.maxArtifactBytes },
      responses: {
        201: { description: 'Stored', json: z.object({ name: z.string(), sha256: z.string(), bytes: z.number() }) },
        409: { description: 'Stop' },
      },
      async handler({ params, query, body }, { c }) {
        worker(c);
        const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() ?? 'application/octet-stream';
        const record = await queue().putArtifact(params.id, query.lease, params.name, body, type);
        return c.json({ name: record.name, sha256: record.sha256, bytes: record.bytes }, 201);
      },
    }),
    defineRoute({
      operationId: 'completeJob',
      method: 'post',
      path: '/jobs/{id}/complete',
      summary: "The job succeeded; `result` is the worker's summary (test accuracy, counts, backend)",
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      body: { kind: 'json', schema: z.strictObject({ result: z.record(z.string(), z.unknown()), ...UseSchema }) },
      responses: { 200: { description: 'The job', json: JobSchema }, 409: { description: 'Stop' } },
      handler({ params, query, body }, { c }) {
        worker(c);
        const { result, ...use } = body;
        return c.json(publicJob(queue().complete(params.id, query.lease, result, use)));
      },
    }),
    defineRoute({
      operationId: 'failJob',
      method: 'post',
      path: '/jobs/{id}/fail',
      summary: 'The job failed (NaN loss, bad data, an error); it is not retried',
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      body: { kind: 'json', schema: z.strictObject({ error: z.string().min(1).max(4000), ...UseSchema }) },
      responses: { 200: { description: 'The job', json: JobSchema }, 409: { description: 'Stop' } },
      handler({ params, query, body }, { c }) {
        worker(c);
        const { error, ...use } = body;
        return c.json(publicJob(queue().fail(params.id, query.lease, error, use)));
      },
    }),
    defineRoute({
      operationId: 'releaseJob',
      method: 'post',
      path: '/jobs/{id}/release',
      summary: 'The worker is stopping: the job is queued again at once, and the attempt does not count',
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      body: { kind: 'json', schema: z.strictObject({ reason: z.string().min(1).max(500) }) },
      responses: { 200: { description: 'The job, queued again', json: JobSchema }, 409: { description: 'Not this lease' } },
      handler({ params, query, body }, { c }) {
        worker(c);
        return c.json(publicJob(queue().release(params.id, query.lease, body.reason)));
      },
    }),
    defineRoute({
      operationId: 'getJobDataset',
      method: 'get',
      path: '/jobs/{id}/dataset',
      summary: "The job's snapshot manifest (labels, items and splits)",
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      responses: { 200: { description: 'The manifest', json: z.record(z.string(), z.unknown()) } },
      handler({ params, query }, { c }) {
        worker(c);
        queue().heartbeat(params.id, query.lease);
        return c.json(exportManifest(deps, queue().require(params.id).datasetId));
      },
    }),
    defineRoute({
      operationId: 'getJobSample',
      method: 'get',
      path: '/jobs/{id}/samples/{sampleId}',
      summary: "One image of the job's snapshot (only samples in it)",
      tags,
      auth: 'public',
      params: JobIdParams.extend({ sampleId: SampleIdSchema }),
      query: LeaseQuery,
      responses: { 200: { description: 'The image bytes', binary: ['application/octet-stream'] } },
      async handler({ params, query }, { c }) {
        worker(c);
        const job = queue().require(params.id);
        if (job.leaseId !== query.lease) throw new HubError('CONFLICT', `job ${params.id} is not held by this lease`);
        const inSet = deps.db.sqlite
          .prepare<[string, string], { n: number }>('SELECT 1 AS n FROM dataset_items WHERE dataset_id = ? AND sample_id = ?')
          .get(job.datasetId, params.sampleId);
        if (!inSet) throw new HubError('NOT_FOUND', `sample ${params.sampleId} is not in the job's dataset`);
        const bytes = await readSampleBlob(deps, params.sampleId);
        if (!bytes) throw new HubError('NOT_FOUND', `no image for sample ${params.sampleId}`);
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' });
      },
    }),
    defineRoute({
      operationId: 'getJobSamples',
      method: 'post',
      path: '/jobs/{id}/samples',
      summary: "Up to 256 images of the job's snapshot in one call, in the order asked (base64)",
      description:
        "What a worker downloads a snapshot with: one request per image costs far more than the image for small ones. Every id must be in the job's dataset, or the whole call is 404. An answer stops after 16 MiB of images (always at least one): ask again for the ids it did not return.",
      tags,
      auth: 'public',
      params: JobIdParams,
      query: LeaseQuery,
      body: { kind: 'json', schema: z.strictObject({ ids: z.array(SampleIdSchema).min(1).max(SAMPLE_BATCH) }) },
      responses: {
        200: {
          description: 'The images, base64, in the order asked',
          json: z.object({ items: z.array(z.object({ id: z.string(), bytes: z.string().describe('base64') })) }),
        },
      },
      async handler({ params, query, body }, { c }) {
        worker(c);
        const job = queue().require(params.id);
        if (job.leaseId !== query.lease) throw new HubError('CONFLICT', `job ${params.id} is not held by this lease`);
        const inSet = deps.db.sqlite.prepare<[string, string], { n: number }>(
          'SELECT 1 AS n FROM dataset_items WHERE dataset_id = ? AND sample_id = ?',
        );
        for (const id of body.ids) {
          if (!inSet.get(job.datasetId, id)) throw new HubError('NOT_FOUND', `sample ${id} is not in the job's dataset`);
        }
        const items: { id: string; bytes: string }[] = [];
        let total = 0;
        for (const id of body.ids) {
          const bytes = await readSampleBlob(deps, id);
          if (!bytes) throw new HubError('NOT_FOUND', `no image for sample ${id}`);
          if (items.length > 0 && total + bytes.byteLength > (deps.sampleBatchBytes ?? SAMPLE_BATCH_BYTES)) break;
          total += bytes.byteLength;
          items.push({ id, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') });
        }
        return c.json({ items });
      },
    }),
    defineRoute({
      operationId: 'listJobs',
      method: 'get',
      path: '/jobs',
      summary: 'Training jobs, newest first',
      tags,
      auth: 'admin',
      query: z.object({ state: JobSchema.shape.state.optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
      responses: { 200: { description: 'Jobs', json: z.object({ items: z.array(JobSchema) }) } },
      handler({ query }, { c }) {
        return c.json({ items: queue().list(query).map(publicJob) });
      },
    }),
    defineRoute({
      operationId: 'cancelJob',
      method: 'post',
      path: '/jobs/{id}/cancel',
      summary: 'Cancels a job; its worker stops at its next heartbeat',
      tags,
      auth: 'admin',
      params: JobIdParams,
      body: { kind: 'json', schema: z.strictObject({ reason: z.string().min(1).max(500).optional() }) },
      responses: { 200: { description: 'The job', json: JobSchema }, 409: { description: 'Already ended' } },
      handler({ params, body }, { c, actor }) {
        return c.json(publicJob(queue().cancel(params.id, actor, body.reason)));
      },
    }),
  ];
}
