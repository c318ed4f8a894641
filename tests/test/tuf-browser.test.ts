/**
 * The protocol's TUF verifier runs unchanged in Chromium: `protocol/src/tuf/index.ts` bundled by
 * esbuild for the browser (ESM), served on 127.0.0.1 (a secure context, so WebCrypto Ed25519 is
 * there) beside a repository the hub built, and driven through `fetch` with a streaming byte cap.
 * A good refresh and its model bytes pass; a bit-flipped model and a timestamp re-signed by a
 * wrong key are refused with their codes.
 */
import { createHash } from 'node:crypto';
import { hasChromium, launchChromium, serveStatic } from '@edgeloop/tests/support/chromium';
import { requirePart } from '@edgeloop/tests/support/ci';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../hub/src/releases/keys.js';
import { hashedTargetPath, SPEC_VERSION, signMetadata, tufDate } from '../../hub/src/releases/metadata.js';
import { releaseTargets } from '../../hub/src/releases/release-paths.js';
import { MODEL, openRepoFixture, tinyRelease } from '../../hub/src/releases/test-support.js';

const entry = new URL('../../protocol/src/tuf/index.ts', import.meta.url).pathname;

async function bundleVerifier() {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]?.text ?? '', inputs: Object.keys(result.metafile.inputs) };
}

/** The hub's repository files by URL path: one copy per scenario, below `/<scenario>/tuf/`. */
async function hubRepository() {
  const fx = await openRepoFixture();
  const release = tinyRelease(1);
  await fx.repo.publishRelease(release);
  const st = (await fx.repo.state())!;
  const files: Record<string, Uint8Array> = {};
  for await (const key of fx.store.list('tuf/')) files[key.slice('tuf/'.length)] = (await fx.store.get(key))!;
  const modelPath = `targets/${hashedTargetPath(releaseTargets(MODEL, 1).model, st.targets.targets[releaseTargets(MODEL, 1).model]!.hashes.sha256)}`;
  const flipped = Uint8Array.from(files[modelPath]!);
  flipped[flipped.length >> 1]! ^= 0x10;
  const forged = signMetadata(
    'timestamp',
    {
      _type: 'timestamp',
      spec_version: SPEC_VERSION,
      version: st.timestamp.version + 1,
      expires: tufDate(new Date(Date.now() + 86_400_000)),
      meta: { 'snapshot.json': st.timestamp.snapshotMeta },
    },
    [generateKey()],
  );
  const scenarios: Record<string, Record<string, Uint8Array>> = {
    good: files,
    flipped: { ...files, [modelPath]: flipped },
    wrongkey: { ...files, 'metadata/timestamp.json': forged },
  };
  const site: Record<string, { body: Uint8Array; type: string }> = {};
  for (const [name, repo] of Object.entries(scenarios))
    for (const [path, body] of Object.entries(repo)) site[`/${name}/tuf/${path}`] = { body, type: 'application/octet-stream' };
  const root = await fx.repo.rootFile(1);
  await fx.close();
  return { site, root, model: release.onnxBytes };
}

interface PageResult {
  secure: boolean;
  versions?: Record<string, number>;
  newest?: number;
  model?: number[];
  code?: string;
  message?: string;
}

describe('the TUF verifier in the browser', () => {
  it('bundles for the browser with no Node built-ins', async () => {
    const { code, inputs } = await bundleVerifier();
    expect(inputs.some((i) => i.startsWith('node:') || i.includes('(disabled)'))).toBe(false);
    expect(inputs.some((i) => i.endsWith('tuf/refresh.ts'))).toBe(true);
    expect(code).not.toMatch(/\bBuffer\b/);
    expect(code).toMatch(/export\s*\{[^}]*refreshTufMetadata/);
  });

  describe.runIf(requirePart('Chromium', hasChromium, 'apt-get install -y chromium'))('in Chromium', () => {
    it('verifies the hub repository and the model bytes, and refuses a flipped model and a wrong-key timestamp', async () => {
      const [{ code }, repo] = await Promise.all([bundleVerifier(), hubRepository()]);
      const site = await serveStatic({
        '/': { body: '<!doctype html><title>tuf</title>', type: 'text/html' },
        '/tuf.js': { body: code, type: 'text/javascript' },
        '/main.js': { body: `import * as tuf from '/tuf.js'; globalThis.tuf = tuf;`, type: 'text/javascript' },
        ...repo.site,
      });
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(site.url);
        await page.addScriptTag({ url: '/main.js', type: 'module' });
        await page.waitForFunction(() => 'tuf' in globalThis);
        const run = (scenario: string) =>
          page.evaluate(
            async ({ scenario, root, model }): Promise<PageResult> => {
              // biome-ignore lint/suspicious/noExplicitAny: the bundle's exports, loaded by /main.js
              const m = (globalThis as any).tuf;
              const secure = globalThis.isSecureContext;
              // A fetch-based remote that stops reading one chunk past the cap.
              const base = `/${scenario}/tuf/`;
              const remote = m.withMetadataDir({
                async get(path: string, maxBytes: number) {
                  const res = await fetch(base + path);
                  if (res.status === 404) return undefined;
                  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
                  const reader = res.body.getReader();
                  const chunks: Uint8Array[] = [];
                  let n = 0;
                  for (let r = await reader.read(); !r.done; r = await reader.read()) {
                    n += r.value.byteLength;
                    if (n > maxBytes) {
                      await reader.cancel();
                      throw new m.TufError('TUF_TOO_LARGE', `${path} is over ${maxBytes} bytes`);
                    }
                    chunks.push(r.value);
                  }
                  const out = new Uint8Array(n);
                  let at = 0;
                  for (const c of chunks) {
                    out.set(c, at);
                    at += c.byteLength;
                  }
                  return out;
                },
              });
              try {
                const result = await m.refreshTufMetadata({ trusted: { root: new Uint8Array(root) }, remote, now: new Date() });
                const newest = m.newestModelRelease(result.targets, model);
                const bytes: Uint8Array = await m.fetchVerifiedTarget(remote, result.targets[`${model}/${newest}/model.onnx`]);
                return { secure, versions: result.versions, newest, model: Array.from(bytes) };
              } catch (error) {
                const e = error as { name: string; code?: string; message: string };
                return { secure, code: e.name === 'TufError' ? e.code : `not a TufError: ${e.name}`, message: e.message };
              }
            },
            { scenario, root: Array.from(repo.root), model: MODEL },
          );

        const good = await run('good');
        expect(good.secure).toBe(true);
        expect(good.code, good.message).toBeUndefined();
        expect(good.versions).toEqual({ root: 1, timestamp: 2, snapshot: 2, targets: 2 });
        expect(good.newest).toBe(1);
        const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
        expect(good.model?.length).toBe(repo.model.byteLength);
        expect(sha(Uint8Array.from(good.model ?? []))).toBe(sha(repo.model));

        expect(await run('flipped')).toMatchObject({ code: 'TUF_BAD_HASH' });
        expect(await run('wrongkey')).toMatchObject({ code: 'TUF_BAD_SIGNATURE' });
      } finally {
        await browser.close();
        await site.close();
      }
    });
  });
});
