/**
 * Rollouts: list them, promote, pause, resume or roll back by hand; and the canary track's TUF
 * repository, served read-only at `/tuf-canary/` like the stable one at `/tuf/` (see
 * `rollout/tracks.ts` for why there are two).
 */
import { z } from 'zod';
import { HubError } from '../../errors.js';
import { serveRepositoryFile } from '../../releases/serve.js';
import type { RolloutController } from '../../rollout/controller.js';
import { CANARY_PREFIX } from '../../rollout/tracks.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { defineRoute, type HandlerContext, type Route } from '../route.js';

export interface RolloutApiDeps {
  store: ObjectStore;
  rollout?: RolloutController;
}

const RolloutSchema = z.object({
  id: z.string(),
  firingId: z.string().nullable(),
  model: z.string(),
  releaseVersion: z.number().int().describe('The version devices see'),
  modelVersion: z.number().int().describe('The registry version it carries'),
  previousReleaseVersion: z.number().int().nullable(),
  previousModelVersion: z.number().int().nullable(),
  state: z.enum(['canary', 'paused', 'promoted', 'rolled-back']),
  cohortPercent: z.number(),
  startedAt: z.string(),
  watchUntil: z.string(),
  rollbackReleaseVersion: z.number().int().nullable(),
  decision: z.record(z.string(), z.unknown()).nullable().describe('The watch numbers and reasons of the last decision'),
  actor: z.string().nullable(),
  updatedAt: z.string(),
});
const IdParams = z.object({ id: z.uuid() });
const Reason = z.strictObject({ reason: z.string().min(1).max(500).optional() });
const Segment = z.string().max(256);

export function rolloutRoutes(deps: RolloutApiDeps): Route[] {
  const controller = () => {
    if (!deps.rollout) throw new HubError('CONFLICT', 'rollouts are not running');
    return deps.rollout;
  };
  const serveFile = async (path: string, { c }: HandlerContext) => {
    const file = await serveRepositoryFile(deps.store, CANARY_PREFIX, path);
    if (!file) throw new HubError('NOT_FOUND', `no file ${path} in the canary repository`);
    return c.body(file.bytes as Uint8Array<ArrayBuffer>, 200, file.headers);
  };
  const action = (
    operationId: string,
    path: string,
    summary: string,
    act: (id: string, actor: string, reason?: string) => Promise<unknown>,
  ) =>
    defineRoute({
      operationId,
      method: 'post',
      path,
      summary,
      tags: ['releases'],
      auth: 'admin',
      params: IdParams,
      body: { kind: 'json', schema: Reason },
      responses: { 200: { description: 'The rollout', json: RolloutSchema }, 409: { description: 'Not possible in its state' } },
      async handler({ params, body }, { c, actor }) {
        return c.json(await act(params.id, actor, body.reason));
      },
    });
  return [
    defineRoute({
      operationId: 'listRollouts',
      method: 'get',
      path: '/rollouts',
      summary: 'Rollouts, newest first',
      tags: ['releases'],
      auth: 'admin',
      query: z.object({ model: z.string().max(64).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
      responses: { 200: { description: 'Rollouts', json: z.object({ items: z.array(RolloutSchema) }) } },
      handler({ query }, { c }) {
        return c.json({ items: controller().list(query.model, query.limit) });
      },
    }),
    action('promoteRollout', '/rollouts/{id}/promote', 'Publishes the canary release to the whole fleet now', (id, actor, reason) =>
      controller().promote(id, actor, reason),
    ),
    action('rollbackRollout', '/rollouts/{id}/rollback', 'Rolls back: a new, higher release with the previous model', (id, actor, reason) =>
      controller().rollback(id, actor, reason),
    ),
    action('pauseRollout', '/rollouts/{id}/pause', 'Stops the automatic decision; the canary stays', (id, actor) =>
      controller().pause(id, actor, true),
    ),
    action('resumeRollout', '/rollouts/{id}/resume', 'Lets a paused rollout be decided at the next check', (id, actor) =>
      controller().pause(id, actor, false),
    ),
    defineRoute({
      operationId: 'getCanaryTufMetadata',
      method: 'get',
      path: '/tuf-canary/metadata/{file}',
      summary: 'TUF metadata of the canary track',
      tags: ['releases'],
      auth: 'public',
      params: z.object({ file: Segment }),
      responses: { 200: { description: 'Signed metadata', binary: ['application/json'] }, 404: { description: 'No such file' } },
      handler: ({ params }, ctx) => serveFile(`metadata/${params.file}`, ctx),
    }),
    defineRoute({
      operationId: 'getCanaryTufTarget',
      method: 'get',
      path: '/tuf-canary/targets/{model}/{version}/{file}',
      summary: 'A release file of the canary track under its sha256',
      tags: ['releases'],
      auth: 'public',
      params: z.object({ model: Segment, version: Segment, file: Segment }),
      responses: {
        200: { description: 'The target file', binary: ['application/octet-stream', 'application/json'] },
        404: { description: 'No such file' },
      },
      handler: ({ params }, ctx) => serveFile(`targets/${params.model}/${params.version}/${params.file}`, ctx),
    }),
  ];
}
