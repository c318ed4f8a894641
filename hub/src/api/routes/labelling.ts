/** The labelling queue: the next samples to label, and accept / correct / skip with the actor recorded. */
import { z } from 'zod';
import { LabellingQueue, MAX_QUEUE_PAGE } from '../../labeling/queue.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute, type Route } from '../route.js';
import { LabelRecordSchema, LabelSchema, queryInt, SampleIdSchema } from '../schemas.js';

const QueueItemSchema = z.object({
  sampleId: z.string(),
  deviceId: z.string().nullable(),
  receivedAt: z.string(),
  predictedLabel: z.string().nullable().describe("The device's prediction"),
  confidence: z.number().nullable(),
  preLabel: z.string().nullable().describe("The hub's pre-annotation by the production model"),
  preConfidence: z.number().nullable(),
  uncertainty: z.number().nullable().describe('What the queue is ordered by (higher first)'),
});

const SampleParams = z.object({ sampleId: SampleIdSchema });
const conflict = { description: 'The sample is not pending' };
const notFound = { description: 'No such sample' };

export function labellingRoutes(deps: ApiDeps): Route[] {
  const queue = deps.queue ?? new LabellingQueue({ db: deps.db, metrics: deps.metrics });
  return [
    defineRoute({
      operationId: 'labellingQueue',
      method: 'get',
      path: '/labelling/queue',
      summary: 'Pending samples, most uncertain first (keyset paging with nextCursor)',
      tags: ['labelling'],
      auth: 'admin',
      query: z.object({
        limit: queryInt(1, MAX_QUEUE_PAGE, 20).describe(`Page size, 1-${MAX_QUEUE_PAGE}`),
        cursor: z.string().min(1).max(512).optional().describe('nextCursor of the previous page'),
      }),
      responses: {
        200: {
          description: 'A page of the queue',
          json: z.object({ items: z.array(QueueItemSchema), nextCursor: z.string().optional(), depth: z.number().int() }),
        },
      },
      handler({ query }, { c }) {
        return c.json({ ...queue.next(query), depth: queue.depth() });
      },
    }),
    defineRoute({
      operationId: 'acceptLabel',
      method: 'post',
      path: '/labelling/{sampleId}/accept',
      summary: 'Accept the proposed label (the pre-annotation, else the device prediction)',
      tags: ['labelling'],
      auth: 'admin',
      params: SampleParams,
      responses: { 200: { description: 'The label written', json: LabelRecordSchema }, 404: notFound, 409: conflict },
      handler({ params }, { c, actor }) {
        return c.json(queue.accept(params.sampleId, actor));
      },
    }),
    defineRoute({
      operationId: 'correctLabel',
      method: 'post',
      path: '/labelling/{sampleId}/correct',
      summary: 'Label a sample by hand (also relabels a labelled or skipped one)',
      tags: ['labelling'],
      auth: 'admin',
      params: SampleParams,
      body: { kind: 'json', schema: z.strictObject({ label: LabelSchema }) },
      responses: { 200: { description: 'The label written', json: LabelRecordSchema }, 404: notFound },
      handler({ params, body }, { c, actor }) {
        return c.json(queue.correct(params.sampleId, body.label, actor));
      },
    }),
    defineRoute({
      operationId: 'skipSample',
      method: 'post',
      path: '/labelling/{sampleId}/skip',
      summary: 'Take a pending sample out of the queue without a label',
      tags: ['labelling'],
      auth: 'admin',
      params: SampleParams,
      responses: {
        200: { description: 'Skipped', json: z.object({ sampleId: z.string(), queueState: z.literal('skipped') }) },
        404: notFound,
        409: conflict,
      },
      handler({ params }, { c, actor }) {
        queue.skip(params.sampleId, actor);
        return c.json({ sampleId: params.sampleId, queueState: 'skipped' as const });
      },
    }),
  ];
}
