/**
 * Test support: the built app (built once per process, into a temp dir so a running hub's
 * `dist/` is never touched), served by `serveStatic` with whatever extra files a test adds
 * (a client config, a TUF repository).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { buildClient } from '@edgeloop/browser-client/build';
import { type StaticSite, serveStatic } from '@edgeloop/tests/support/chromium';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};

export type SiteFiles = Record<string, { body: string | Uint8Array; type: string }>;

let built: Promise<string> | undefined;

/** Builds the app once per test process; resolves to the output directory. */
export function builtApp(): Promise<string> {
  built ??= buildClient(mkdtempSync(join(tmpdir(), 'edgeloop-client-')));
  return built;
}

/** Every file of a built app, keyed by URL path, with `/` serving index.html as the hub does. */
export function appFiles(dir: string): SiteFiles {
  const files: SiteFiles = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.endsWith('.map')) continue;
    const path = join(e.parentPath, e.name);
    files[`/${relative(dir, path).split('\\').join('/')}`] = {
      body: readFileSync(path),
      type: TYPES[extname(e.name)] ?? 'application/octet-stream',
    };
  }
  const index = files['/index.html'];
  if (index) files['/'] = index;
  return files;
}

/** A client config with no hub behind it (no model, no broker): classification-only mode. */
export function offlineConfig(over: Record<string, unknown> = {}): SiteFiles[string] {
  const config = {
    v: 1,
    model: null,
    tuf: { base: '/tuf/', initialRoot: '/tuf/metadata/1.root.json' },
    mqtt: null,
    registerUrl: '/browser/register',
    sampling: null,
    updatePollSeconds: 300,
    ...over,
  };
  return { body: JSON.stringify(config), type: 'application/json' };
}

/** Serves the built app plus `extra` files. */
export async function serveApp(extra: SiteFiles = {}): Promise<StaticSite> {
  return serveStatic({ ...appFiles(await builtApp()), ...extra });
}
