/**
 * The two build steps Vite does not do for us:
 * - `ortFiles`: copies onnxruntime-web's WebGPU/wasm runtime (glue + wasm) to `ort/`, where
 *   `ort.env.wasm.wasmPaths` points, so ORT never fetches it from a CDN and the SW can precache it;
 * - `serviceWorker`: compiles `src/sw.ts` to `/sw.js` (at the root, so its scope is `/`) with the
 *   precache list of this build (every emitted file and public file) baked in.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The ORT files the WebGPU build loads at run time (it serves both the webgpu and wasm EPs). */
export const ORT_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

/** @returns {import('vite').Plugin} */
export function ortFiles() {
  return {
    name: 'edgeloop-ort-files',
    apply: 'build',
    generateBundle() {
      const dist = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'));
      for (const f of ORT_FILES) this.emitFile({ type: 'asset', fileName: `ort/${f}`, source: readFileSync(join(dist, f)) });
    },
  };
}

function listFiles(dir) {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
  } catch {
    return [];
  }
}

/** @returns {import('vite').Plugin} */
export function serviceWorker() {
  return {
    name: 'edgeloop-service-worker',
    apply: 'build',
    async generateBundle(_options, bundle) {
      const emitted = Object.keys(bundle).filter((f) => !f.endsWith('.map') && f !== 'index.html');
      const files = ['/', '/client-config.json', ...[...emitted, ...listFiles(join(here, 'public'))].map((f) => `/${f}`)].sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f);
      const index = bundle['index.html'];
      if (index && index.type === 'asset') hash.update(index.source);
      const precache = { version: hash.digest('hex').slice(0, 16), files };
      const { build } = await import('esbuild');
      const out = await build({
        entryPoints: [join(here, 'src/sw.ts')],
        bundle: true,
        format: 'iife',
        platform: 'browser',
        target: 'es2022',
        minify: true,
        write: false,
        define: { __PRECACHE__: JSON.stringify(precache) },
        logLevel: 'silent',
      });
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: out.outputFiles[0].text });
    },
  };
}
