/** Samples: list and filter, one sample's facts, its image bytes, its label history. */
import { z } from 'zod';
import { HubError } from '../../errors.js';
import { readSampleBlob } from '../../storage/sample-blob.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute, type Route } from '../route.js';
import { getSample, labelHistory, listSamples } from '../sample-reads.js';
import { DeviceIdSchema, InstantSchema, LabelRecordSchema, LabelSchema, paging, SampleIdSchema } from '../schemas.js';

/** The formats ingest and import accept (magic-byte sniffed), so the only ones stored. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;

const SampleSchema = z.object({
  id: z.string(),
  source: z.enum(['device', 'import']),
  deviceId: z.string().nullable(),
  origin: z.string().nullable().describe('For imports: the path, URL or mnist:<digit>/<index> it came from'),
  receivedAt: z.string(),
  capturedAt: z.string().nullable(),
  mime: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  byteLength: z.number().int(),
  model: z.object({ name: z.string(), version: z.number().int() }).nullable().describe("The device's model"),
  predictedLabel: z.string().nullable().describe("The device's prediction"),
  confidence: z.number().nullable(),
  preLabel: z.string().nullable().describe("The hub's pre-annotation"),
  preConfidence: z.number().nullable(),
  preModel: z.string().nullable(),
  uncertainty: z.number().nullable(),
  queueState: z.enum(['pending', 'labelled', 'skipped']),
  label: z.string().nullable().describe('Current label (the newest in its history)'),
});

const SampleDetailSchema = SampleSchema.extend({
  sampling: z.object({
    strategy: z.string().nullable(),
    score: z.number().nullable(),
    inclusionProbability: z.number().nullable(),
    audit: z.boolean(),
  }),
  extra: z.unknown().describe('Header fields the device sent beyond the schema'),
  objectKey: z.string(),
});

const IdParams = z.object({ id: SampleIdSchema });

function sampleOr404(deps: ApiDeps, id: string) {
  const sample = getSample(deps.db, id);
  if (!sample) throw new HubError('NOT_FOUND', `no sample ${id}`);
  return sample;
}

export function sampleRoutes(deps: ApiDeps): Route[] {
  return [
    defineRoute({
      operationId: 'listSamples',
      method: 'get',
      path: '/samples',
      summary: 'List samples, newest first, with filters',
      tags: ['samples'],
      auth: 'admin',
      query: z.object({
        deviceId: DeviceIdSchema.optional(),
        queueState: z.enum(['pending', 'labelled', 'skipped']).optional(),
        source: z.enum(['device', 'import']).optional(),
        label: LabelSchema.optional().describe('Current label'),
        since: InstantSchema.optional().describe('Received at or after'),
        until: InstantSchema.optional().describe('Received before'),
        ...paging(500, 50),
      }),
      responses: {
        200: {
          description: 'A page of samples',
          json: z.object({ items: z.array(SampleSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }),
        },
      },
      handler({ query }, { c }) {
        const { limit, offset, ...filter } = query;
        return c.json({ ...listSamples(deps.db, filter, { limit, offset }), limit, offset });
      },
    }),
    defineRoute({
      operationId: 'getSample',
      method: 'get',
      path: '/samples/{id}',
      summary: "One sample's facts and current label",
      tags: ['samples'],
      auth: 'admin',
      params: IdParams,
      responses: { 200: { description: 'The sample', json: SampleDetailSchema }, 404: { description: 'No such sample' } },
      handler({ params }, { c }) {
        return c.json(sampleOr404(deps, params.id));
      },
    }),
    defineRoute({
      operationId: 'getSampleImage',
      method: 'get',
      path: '/samples/{id}/image',
      summary: "A sample's image bytes, with their stored media type",
      tags: ['samples'],
      auth: 'admin',
      params: IdParams,
      responses: {
        200: { description: 'The image', binary: IMAGE_TYPES },
        404: { description: 'No such sample, or its image is missing' },
      },
      async handler({ params }, { c }) {
        const sample = sampleOr404(deps, params.id);
        const bytes = await readSampleBlob(deps, params.id);
        if (!bytes) throw new HubError('NOT_FOUND', `the image of sample ${params.id} is missing from the object store`);
        // Sample ids are content hashes: the bytes behind a URL never change.
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
          'content-type': sample.mime,
          'cache-control': 'private, max-age=31536000, immutable',
          'x-content-type-options': 'nosniff',
        });
      },
    }),
    defineRoute({
      operationId: 'getSampleLabels',
      method: 'get',
      path: '/samples/{id}/labels',
      summary: 'Every label a sample was given, oldest first (the last is current)',
      tags: ['samples', 'labelling'],
      auth: 'admin',
      params: IdParams,
      responses: {
        200: { description: 'Label history', json: z.object({ items: z.array(LabelRecordSchema) }) },
        404: { description: 'No such sample' },
      },
      handler({ params }, { c }) {
        sampleOr404(deps, params.id);
        return c.json({ items: labelHistory(deps.db, params.id) });
      },
    }),
  ];
}
