/**
 * Runs, the model registry and the promotion gate's decisions: read runs with their metrics and
 * artifacts, list model versions and their stage history, move an alias by hand (recorded as
 * `user:<actor>` with the reason given), and show a gate decision with all of its numbers.
 */
import { ModelNameSchema } from '@edgeloop/protocol';
import { z } from 'zod';
import { HubError } from '../../errors.js';
import { PromotionGate } from '../../gate/decisions.js';
import { defaultRegistryConfig } from '../../registry/config.js';
import { ModelRegistry } from '../../registry/models.js';
import { RunTracker } from '../../registry/runs.js';
import { ARTIFACT_NAME } from '../../registry/types.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute, type Route } from '../route.js';
import { paging } from '../schemas.js';
import {
  ArtifactSchema,
  GateDecisionSchema,
  MetricSchema,
  ModelSummarySchema,
  ModelVersionSchema,
  RunSchema,
  StageEventSchema,
} from './registry-schemas.js';

/** The registry's services; `main.ts` passes the ones the pipeline and the MLflow mirror share. */
export interface RegistryServices {
  runs: RunTracker;
  models: ModelRegistry;
  gate: PromotionGate;
}

/** Artifact types served as stored; any other is served as `application/octet-stream`. */
const ARTIFACT_TYPES = ['application/octet-stream', 'application/json', 'image/png', 'text/plain', 'text/csv'];

const RunIdParams = z.object({ id: z.uuid() });
const ModelParams = z.object({ name: ModelNameSchema });

export function registryRoutes(deps: ApiDeps & { registry?: RegistryServices }): Route[] {
  const services = deps.registry ?? servicesOver(deps);
  const { runs, models, gate } = services;
  return [
    defineRoute({
      operationId: 'listRuns',
      method: 'get',
      path: '/runs',
      summary: 'Training runs, newest first',
      tags: ['registry'],
      auth: 'admin',
      query: z.object({
        experiment: z.string().min(1).max(200).optional(),
        status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
        ...paging(500, 50),
      }),
      responses: { 200: { description: 'Runs', json: z.object({ items: z.array(RunSchema) }) } },
      handler({ query }, { c }) {
        return c.json({ items: runs.list(query) });
      },
    }),
    defineRoute({
      operationId: 'getRun',
      method: 'get',
      path: '/runs/{id}',
      summary: 'One run with its metrics (per key, in step order) and artifacts',
      tags: ['registry'],
      auth: 'admin',
      params: RunIdParams,
      responses: {
        200: { description: 'The run', json: RunSchema.extend({ metrics: z.array(MetricSchema), artifacts: z.array(ArtifactSchema) }) },
        404: { description: 'No such run' },
      },
      handler({ params }, { c }) {
        const run = runs.require(params.id);
        const metrics = runs.metrics(run.id).map(({ id: _id, ...point }) => point);
        return c.json({ ...run, metrics, artifacts: runs.artifacts(run.id) });
      },
    }),
    defineRoute({
      operationId: 'getRunArtifact',
      method: 'get',
      path: '/runs/{id}/artifacts/{name}',
      summary: "Download one of a run's artifacts",
      tags: ['registry'],
      auth: 'admin',
      params: RunIdParams.extend({
        name: z.string().regex(ARTIFACT_NAME, 'an artifact name: [A-Za-z0-9._-], starting with a letter or digit'),
      }),
      responses: { 200: { description: 'The artifact bytes', binary: ARTIFACT_TYPES }, 404: { description: 'No such run or artifact' } },
      async handler({ params }, { c }) {
        const file = await runs.readArtifact(params.id, params.name);
        if (!file) throw new HubError('NOT_FOUND', `run ${params.id} has no artifact ${params.name}`);
        return c.body(file.bytes as Uint8Array<ArrayBuffer>, 200, {
          'content-type': ARTIFACT_TYPES.includes(file.record.contentType) ? file.record.contentType : 'application/octet-stream',
          'x-content-sha256': file.record.sha256,
          'content-disposition': `attachment; filename="${file.record.name}"`,
        });
      },
    }),
    defineRoute({
      operationId: 'listModels',
      method: 'get',
      path: '/models',
      summary: 'Registered models with their latest version and aliases',
      tags: ['registry'],
      auth: 'admin',
      responses: { 200: { description: 'Models', json: z.object({ items: z.array(ModelSummarySchema) }) } },
      handler(_input, { c }) {
        return c.json({ items: models.models() });
      },
    }),
    defineRoute({
      operationId: 'listModelVersions',
      method: 'get',
      path: '/models/{name}/versions',
      summary: 'Versions of a model, newest first, with lineage (run, dataset hash) and metrics',
      tags: ['registry'],
      auth: 'admin',
      params: ModelParams,
      responses: {
        200: { description: 'Versions', json: z.object({ items: z.array(ModelVersionSchema), aliases: ModelSummarySchema.shape.aliases }) },
      },
      handler({ params }, { c }) {
        return c.json({ items: models.versions(params.name), aliases: models.aliases(params.name) });
      },
    }),
    defineRoute({
      operationId: 'getModelHistory',
      method: 'get',
      path: '/models/{name}/history',
      summary: 'Stage history of a model: registrations, alias moves, gate rejections; who or what, and why',
      tags: ['registry'],
      auth: 'admin',
      params: ModelParams,
      responses: { 200: { description: 'Events, oldest first', json: z.object({ items: z.array(StageEventSchema) }) } },
      handler({ params }, { c }) {
        return c.json({ items: models.history(params.name) });
      },
    }),
    defineRoute({
      operationId: 'setModelAlias',
      method: 'post',
      path: '/models/{name}/aliases/{alias}',
      summary: 'Point an alias (champion, challenger) at a version by hand, with a reason',
      description:
        'Recorded in the stage history as `user:<actor>`. Setting an alias to the version that already holds it changes nothing (200, `changed: false`).',
      tags: ['registry'],
      auth: 'admin',
      params: ModelParams.extend({ alias: z.enum(['champion', 'challenger']) }),
      body: {
        kind: 'json',
        schema: z.strictObject({
          version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
          reason: z.string().trim().min(1).max(2000),
        }),
      },
      responses: {
        200: {
          description: 'The alias points at the version',
          json: z.object({ changed: z.boolean(), event: StageEventSchema.nullable() }),
        },
        404: { description: 'No such model version' },
      },
      handler({ params, body }, { c, actor }) {
        const event = models.setAlias(params.name, params.alias, body.version, `user:${actor}`, body.reason);
        return c.json({ changed: event !== undefined, event: event ?? null });
      },
    }),
    defineRoute({
      operationId: 'listGateDecisions',
      method: 'get',
      path: '/gate/decisions',
      summary: 'Recent promotion-gate decisions, newest first',
      tags: ['registry'],
      auth: 'admin',
      query: z.object({ model: ModelNameSchema.optional(), limit: paging(500, 50).limit }),
      responses: { 200: { description: 'Decisions', json: z.object({ items: z.array(GateDecisionSchema) }) } },
      handler({ query }, { c }) {
        return c.json({ items: gate.list(query.model, query.limit) });
      },
    }),
    defineRoute({
      operationId: 'getGateDecision',
      method: 'get',
      path: '/gate/decisions/{id}',
      summary: 'One promotion-gate decision with all its numbers: accuracies, the bootstrap CI, per-class recalls',
      tags: ['registry'],
      auth: 'admin',
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The decision', json: GateDecisionSchema }, 404: { description: 'No such decision' } },
      handler({ params }, { c }) {
        const decision = gate.get(params.id);
        if (!decision) throw new HubError('NOT_FOUND', `no gate decision ${params.id}`);
        return c.json(decision);
      },
    }),
  ];
}

/** Read-mostly services over the API's database and store, when `main.ts` passes none. */
function servicesOver(deps: ApiDeps): RegistryServices {
  const runs = new RunTracker({ db: deps.db, store: deps.store, energy: defaultRegistryConfig.energy });
  const models = new ModelRegistry({ db: deps.db, store: deps.store });
  return { runs, models, gate: new PromotionGate({ db: deps.db, registry: models, settings: defaultRegistryConfig.gate }) };
}
