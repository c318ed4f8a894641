/**
 * The browser client's build, for `npm run build -w @edgeloop/browser-client` and for Node callers
 * (the hub and the tests build it when `dist/` is missing):
 *
 *   import { buildClient } from '@edgeloop/browser-client/build';
 *   const dir = await buildClient(); // → absolute path of browser-client/dist
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions } from 'vite';
import { ortFiles, serviceWorker } from './vite-plugins.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const defaultOutDir = join(here, 'dist');

/** The Vite config, shared by `vite` (dev) and {@link buildClient}. */
export function clientConfig(outDir = defaultOutDir) {
  const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
  return {
    root: here,
    configFile: false,
    base: '/',
    logLevel: 'warn',
    publicDir: join(here, 'public'),
    // Workspace packages from their TypeScript sources (no `tsc -b` needed first); ORT with its
    // wasm kept outside the bundle, in `ort/`.
    resolve: { conditions: ['@edgeloop/source', 'onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
    define: { __APP_VERSION__: JSON.stringify(version) },
    plugins: [ortFiles(), serviceWorker()],
    build: {
      outDir: resolve(outDir),
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
      // The ORT runtime is one large, rarely changing chunk; no point warning about it.
      chunkSizeWarningLimit: 2048,
    },
  };
}

/** Builds the app into `outDir` (default `browser-client/dist`) and returns its absolute path. */
export async function buildClient(outDir = defaultOutDir) {
  const { build } = await import('vite');
  const config = clientConfig(outDir);
  await build(config);
  return config.build.outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = await buildClient(process.argv[2]);
  console.log(`built ${dir}`);
}
