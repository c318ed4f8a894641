/** The training pipeline's runs: one per trigger firing, with the step it is at and each step's outputs. */
import { z } from 'zod';
import { HubError } from '../../errors.js';
import type { TrainingPipeline } from '../../pipeline/pipeline.js';
import { defineRoute, type Route } from '../route.js';

export interface PipelineApiDeps {
  pipeline?: TrainingPipeline;
}

const RunSchema = z.object({
  firingId: z.string(),
  model: z.string(),
  step: z.string().describe('snapshot, train, register, gate, release, rollout or done'),
  state: z.enum(['active', 'done', 'failed', 'rejected', 'cancelled']),
  outputs: z.record(z.string(), z.unknown()).describe("Every step's outputs: dataset, job, run, model version, gate decision, rollout"),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export function pipelineRoutes(deps: PipelineApiDeps): Route[] {
  const pipeline = () => {
    if (!deps.pipeline) throw new HubError('CONFLICT', 'the training pipeline is not running');
    return deps.pipeline;
  };
  return [
    defineRoute({
      operationId: 'listPipelineRuns',
      method: 'get',
      path: '/pipeline/runs',
      summary: 'Pipeline runs, newest first',
      tags: ['training'],
      auth: 'admin',
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      responses: { 200: { description: 'Runs', json: z.object({ items: z.array(RunSchema) }) } },
      handler({ query }, { c }) {
        return c.json({ items: pipeline().store.list(query.limit) });
      },
    }),
    defineRoute({
      operationId: 'getPipelineRun',
      method: 'get',
      path: '/pipeline/runs/{firingId}',
      summary: 'One pipeline run',
      tags: ['training'],
      auth: 'admin',
      params: z.object({ firingId: z.string().min(1).max(64) }),
      responses: { 200: { description: 'The run', json: RunSchema } },
      handler({ params }, { c }) {
        const run = pipeline().store.get(params.firingId);
        if (!run) throw new HubError('NOT_FOUND', `no pipeline run for firing ${params.firingId}`);
        return c.json(run);
      },
    }),
  ];
}
