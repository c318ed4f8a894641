/**
 * Dataset imports as background jobs (see `import-jobs.ts`): start one, list them, follow one.
 *
 * Folder imports read the hub's own disk, so they are confined to the import root
 * (`<dataDir>/imports` by default): the path is relative, its segments never start with a dot
 * (no `..`, no hidden folders), and the resolved path must stay inside the root.
 */
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { importDataset } from '../../datasets/import.js';
import { HubError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { ImportJobs } from '../import-jobs.js';
import { defineRoute, type Route } from '../route.js';

const SEGMENT = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}';
const FolderPathSchema = z
  .string()
  .max(1024)
  .regex(new RegExp(`^${SEGMENT}(/${SEGMENT}){0,15}$`), 'a relative path of plain segments (no leading dot) below the import root');

/** The bundled MNIST has about 1,000 images per digit. */
const MAX_MNIST_PER_CLASS = 1000;

const ImportBodySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('folder'), path: FolderPathSchema.describe('Folder below the import root, one sub-folder per label') }),
  z.strictObject({ kind: z.literal('csv'), csv: z.string().min(1).describe('CSV text with a header naming "url" and "label" columns') }),
  z.strictObject({
    kind: z.literal('mnist'),
    perClass: z.number().int().min(1).max(MAX_MNIST_PER_CLASS).optional().describe('Images per digit (default: all bundled)'),
  }),
]);

const ImportReportSchema = z.object({
  imported: z.number().int(),
  duplicates: z.number().int(),
  problems: z.array(z.object({ source: z.string(), reason: z.string() })),
  labels: z.array(z.string()),
  sampleIds: z.array(z.string()),
});

const ImportJobSchema = z.object({
  id: z.string(),
  status: z.enum(['running', 'done', 'failed']),
  kind: z.enum(['folder', 'csv', 'mnist']),
  actor: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  phase: z.enum(['read', 'store']).nullable(),
  done: z.number().int(),
  total: z.number().int(),
  report: ImportReportSchema.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export function importRoutes(deps: ApiDeps): Route[] {
  const imports = deps.imports ?? new ImportJobs(deps.importer ?? importDataset, { db: deps.db, store: deps.store });
  const importRoot = resolve(deps.importRoot ?? join(deps.config.dataDir, 'imports'));
  return [
    defineRoute({
      operationId: 'importDataset',
      method: 'post',
      path: '/datasets/import',
      summary: 'Start importing labelled images from a folder below the import root, a CSV of URLs, or the bundled MNIST',
      description:
        'Runs in the background (one import at a time); poll the job at /imports/{id}. Every image is checked (decodable, within bounds, a valid label); duplicates and problems are reported, never fatal.',
      tags: ['datasets'],
      auth: 'admin',
      body: { kind: 'json', schema: ImportBodySchema },
      responses: {
        202: { description: 'Started; the Location header names the job', json: ImportJobSchema },
        409: { description: 'Another import is running' },
      },
      async handler({ body }, { c, actor, log }) {
        let source = body;
        if (body.kind === 'folder') {
          const path = resolve(importRoot, body.path);
          if (!path.startsWith(importRoot + sep)) throw new HubError('BAD_REQUEST', 'the folder must be below the import root');
          const info = await stat(path).catch(() => undefined);
          if (!info?.isDirectory()) throw new HubError('BAD_REQUEST', `no folder ${body.path} below the import root`);
          source = { kind: 'folder', path };
        }
        const job = imports.start(source, actor, log);
        return c.json(job, 202, { location: `/imports/${job.id}` });
      },
    }),
    defineRoute({
      operationId: 'listImports',
      method: 'get',
      path: '/imports',
      summary: 'Recent import jobs, newest first',
      tags: ['datasets'],
      auth: 'admin',
      responses: { 200: { description: 'Jobs', json: z.object({ items: z.array(ImportJobSchema) }) } },
      handler(_input, { c }) {
        return c.json({ items: imports.list() });
      },
    }),
    defineRoute({
      operationId: 'getImport',
      method: 'get',
      path: '/imports/{id}',
      summary: 'One import job: progress, then its report',
      tags: ['datasets'],
      auth: 'admin',
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The job', json: ImportJobSchema }, 404: { description: 'No such job (or forgotten)' } },
      handler({ params }, { c }) {
        const job = imports.get(params.id);
        if (!job) throw new HubError('NOT_FOUND', `no import job ${params.id}`);
        return c.json(job);
      },
    }),
  ];
}
