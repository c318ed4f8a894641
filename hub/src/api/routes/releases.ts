/**
 * The signed-release repository (TUF), served read-only and without auth at `/tuf/`: devices and
 * any TUF client fetch metadata and targets here; nothing in them needs a secret, and every byte is
 * verified by signature and hash on the client. The same files sit in the object store below
 * `tuf/`, so a bucket or a CDN can serve them instead (see `hub/docs/releases.md`).
 */
import { z } from 'zod';
import { HubError } from '../../errors.js';
import { serveRepositoryFile, TUF_PREFIX } from '../../releases/serve.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute, type HandlerContext, type Route } from '../route.js';

const Segment = z.string().max(256);

async function serveFile(deps: ApiDeps, path: string, { c }: HandlerContext): Promise<Response> {
  const file = await serveRepositoryFile(deps.store, TUF_PREFIX, path);
  if (!file) throw new HubError('NOT_FOUND', `no file ${path} in the release repository`);
  return c.body(file.bytes as Uint8Array<ArrayBuffer>, 200, file.headers);
}

export function releaseRoutes(deps: ApiDeps): Route[] {
  return [
    defineRoute({
      operationId: 'getTufMetadata',
      method: 'get',
      path: '/tuf/metadata/{file}',
      summary:
        'TUF metadata: `timestamp.json` (revalidate every time) or `<N>.root.json`, `<N>.snapshot.json`, `<N>.targets.json` (immutable)',
      tags: ['releases'],
      auth: 'public',
      params: z.object({ file: Segment }),
      responses: { 200: { description: 'Signed metadata', binary: ['application/json'] }, 404: { description: 'No such file' } },
      handler: ({ params }, ctx) => serveFile(deps, `metadata/${params.file}`, ctx),
    }),
    defineRoute({
      operationId: 'getTufTarget',
      method: 'get',
      path: '/tuf/targets/{model}/{version}/{file}',
      summary: 'A release file under its sha256 (`<sha256>.model.onnx`, `<sha256>.manifest.json`); immutable',
      tags: ['releases'],
      auth: 'public',
      params: z.object({ model: Segment, version: Segment, file: Segment }),
      responses: {
        200: { description: 'The target file', binary: ['application/octet-stream', 'application/json'] },
        404: { description: 'No such file' },
      },
      handler: ({ params }, ctx) => serveFile(deps, `targets/${params.model}/${params.version}/${params.file}`, ctx),
    }),
  ];
}
