/** Dataset snapshots: snapshot the current labels, list, read and diff snapshots (imports: `imports.ts`). */
import { z } from 'zod';
import { MAX_ITEMS_PAGE } from '../../datasets/read.js';
import { createSnapshot, diffDatasets, getDataset, listDatasets } from '../../datasets/snapshot.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute, type Route } from '../route.js';
import { DatasetIdSchema, LabelSchema, queryInt } from '../schemas.js';
import { importRoutes } from './imports.js';

const Counts = z.record(z.string(), z.number());
const SummarySchema = z.object({
  id: z.string().describe('Content hash of the sorted (sampleId, label) manifest'),
  name: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  labels: z.array(z.string()),
  itemCount: z.number().int(),
  stats: z.object({
    splits: Counts,
    labels: Counts,
    labelSplits: z.record(z.string(), Counts),
    excluded: z.number().int(),
    excludedLabels: Counts,
    splitFractions: z.object({ test: z.number(), validation: z.number(), salt: z.string().optional() }),
  }),
  parentId: z.string().nullable(),
  note: z.string().nullable(),
});

const Pair = z.object({ sampleId: z.string(), label: z.string() });

export function datasetRoutes(deps: ApiDeps): Route[] {
  const data = { db: deps.db };
  return [
    ...importRoutes(deps),
    defineRoute({
      operationId: 'createSnapshot',
      method: 'post',
      path: '/datasets',
      summary: 'Snapshot the current labels as an immutable dataset (identical content returns the existing one)',
      tags: ['datasets'],
      auth: 'admin',
      body: {
        kind: 'json',
        schema: z.strictObject({
          name: z.string().trim().min(1).max(200),
          labels: z.array(LabelSchema).min(1).max(10_000).optional().describe('Keep only these labels'),
          note: z.string().max(2000).optional(),
          parentId: DatasetIdSchema.optional(),
        }),
      },
      responses: {
        201: { description: 'Created', json: SummarySchema.extend({ created: z.literal(true) }) },
        200: { description: 'A snapshot with the same content existed', json: SummarySchema.extend({ created: z.literal(false) }) },
        404: { description: 'No such parent dataset' },
      },
      handler({ body }, { c, actor }) {
        const result = createSnapshot(data, { ...body, actor });
        return c.json(result, result.created ? 201 : 200);
      },
    }),
    defineRoute({
      operationId: 'listDatasets',
      method: 'get',
      path: '/datasets',
      summary: 'Every snapshot, newest first',
      tags: ['datasets'],
      auth: 'admin',
      responses: { 200: { description: 'Snapshots', json: z.object({ items: z.array(SummarySchema) }) } },
      handler(_input, { c }) {
        return c.json({ items: listDatasets(data) });
      },
    }),
    defineRoute({
      operationId: 'getDataset',
      method: 'get',
      path: '/datasets/{id}',
      summary: 'A snapshot and one page of its items, by sample id',
      tags: ['datasets'],
      auth: 'admin',
      params: z.object({ id: DatasetIdSchema }),
      query: z.object({ limit: queryInt(0, MAX_ITEMS_PAGE, 100), offset: queryInt(0, 1_000_000_000, 0) }),
      responses: {
        200: {
          description: 'The snapshot',
          json: z.object({
            summary: SummarySchema,
            items: z.array(Pair.extend({ split: z.enum(['train', 'validation', 'test']) })),
            limit: z.number().int(),
            offset: z.number().int(),
          }),
        },
        404: { description: 'No such dataset' },
      },
      handler({ params, query }, { c }) {
        return c.json({ ...getDataset(data, params.id, query), ...query });
      },
    }),
    defineRoute({
      operationId: 'diffDatasets',
      method: 'get',
      path: '/datasets/{a}/diff/{b}',
      summary: 'What changed from snapshot a to snapshot b',
      tags: ['datasets'],
      auth: 'admin',
      params: z.object({ a: DatasetIdSchema, b: DatasetIdSchema }),
      query: z.object({ limit: queryInt(0, MAX_ITEMS_PAGE, 1000).describe('Cap on each list; counts stay exact') }),
      responses: {
        200: {
          description: 'The diff',
          json: z.object({
            added: z.array(Pair),
            removed: z.array(Pair),
            relabelled: z.array(z.object({ sampleId: z.string(), from: z.string(), to: z.string() })),
            counts: z.object({ added: z.number().int(), removed: z.number().int(), relabelled: z.number().int() }),
          }),
        },
        404: { description: 'No such dataset' },
      },
      handler({ params, query }, { c }) {
        return c.json(diffDatasets(data, params.a, params.b, query));
      },
    }),
  ];
}
