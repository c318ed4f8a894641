/**
 * Serves the built browser client (`browser-client/dist`) at `/`, after every API route: a GET or
 * HEAD that no route matched is looked up as a file below the client directory. Hashed assets
 * (`/assets/*`) are immutable; everything else, the service worker above all, is revalidated on
 * every load so that a new build reaches browsers on their next visit.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { Context, Hono } from 'hono';
import type { ApiEnv } from './route.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>edgeloop hub</title>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>edgeloop hub</h1><p>The hub is running, but the browser client is not built.</p>
<p>Run <code>npm run build -w @edgeloop/browser-client</code> (or start the hub with <code>npm start</code>,
which builds it), then reload. The API is described at <a href="/openapi.json">/openapi.json</a>.</p></body></html>`;

/** The file below `root` that `pathname` names, or undefined for anything outside it or hidden. */
function fileFor(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('.') || s.includes('\\') || s.includes('\0'))) return undefined;
  const file = resolve(root, ...(segments.length === 0 ? ['index.html'] : segments));
  return file.startsWith(root + sep) ? file : undefined;
}

async function serve(c: Context<ApiEnv>, root: string | undefined): Promise<Response> {
  if (!root) return c.req.path === '/' ? c.html(NOT_BUILT) : c.notFound();
  const file = fileFor(root, c.req.path);
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !info?.isFile()) return c.req.path === '/' ? c.html(NOT_BUILT) : c.notFound();
  c.set('route', '/{client}');
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  const immutable = c.req.path.startsWith('/assets/');
  const headers: Record<string, string> = {
    'content-type': type,
    'content-length': String(info.size),
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers });
  return new Response(new Uint8Array(await readFile(file)), { status: 200, headers });
}

/** Mounts the client after the API routes; `dir` undefined serves a page that says how to build it. */
export function mountClient(app: Hono<ApiEnv>, dir: string | undefined): void {
  const root = dir === undefined ? undefined : resolve(dir);
  app.on(['GET', 'HEAD'], '*', (c) => serve(c, root));
}
