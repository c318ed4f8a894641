/**
 * `protocol` must run unchanged in browsers: it bundles for the browser with no Node built-ins,
 * runs without Node globals, and passes the golden vectors inside Chromium.
 */
import { createContext, runInContext } from 'node:vm';
import { hasChromium, launchChromium, serveStatic } from '@edgeloop/tests/support/chromium';
import { requirePart } from '@edgeloop/tests/support/ci';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import type { GoldenReport } from './golden-runner.js';

const here = new URL('.', import.meta.url).pathname;

/** Bundles the golden runner (and so all of `protocol`) for the browser as a script. */
async function bundleRunner() {
  const result = await build({
    stdin: {
      contents: `import { runGoldenVectors } from './golden-runner.ts'; globalThis.runGoldenVectors = runGoldenVectors;`,
      resolveDir: here,
      loader: 'ts',
    },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]?.text ?? '', inputs: Object.keys(result.metafile.inputs) };
}

describe('protocol in the browser', () => {
  it('bundles for the browser with no Node built-ins', async () => {
    const { code, inputs } = await bundleRunner();
    expect(inputs.some((i) => i.startsWith('node:') || i.includes('(disabled)'))).toBe(false);
    expect(code).not.toMatch(/\bBuffer\b/);
    expect(code).not.toMatch(/\brequire\(/);
  });

  it('fails to bundle code that imports a Node built-in (the check above can fail)', async () => {
    await expect(
      build({
        stdin: { contents: `import 'node:fs';`, loader: 'ts' },
        bundle: true,
        platform: 'browser',
        write: false,
        logLevel: 'silent',
      }),
    ).rejects.toThrow();
  });

  it('passes the golden vectors in a context with Web globals only (no process, Buffer or require)', async () => {
    const { code } = await bundleRunner();
    const context = createContext({ crypto: globalThis.crypto, TextEncoder, TextDecoder, console });
    runInContext(code, context);
    expect(runInContext('typeof process + typeof Buffer + typeof require', context)).toBe('undefinedundefinedundefined');
    const report = (await runInContext('runGoldenVectors()', context)) as GoldenReport;
    expect(report.failures).toEqual([]);
    expect(report.checks).toBeGreaterThan(150);
  });

  describe.runIf(requirePart('Chromium', hasChromium, 'apt-get install -y chromium'))('in Chromium', () => {
    it('passes the golden vectors', async () => {
      const { code } = await bundleRunner();
      const site = await serveStatic({
        '/': { body: '<!doctype html><title>golden</title>', type: 'text/html' },
        '/runner.js': { body: code, type: 'text/javascript' },
      });
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(site.url);
        await page.addScriptTag({ url: '/runner.js' });
        const report = await page.evaluate(async () => {
          const g = globalThis as unknown as { runGoldenVectors(): Promise<GoldenReport>; isSecureContext: boolean };
          return { secure: g.isSecureContext, ...(await g.runGoldenVectors()) };
        });
        expect(report.secure).toBe(true);
        expect(report.failures).toEqual([]);
        expect(report.checks).toBeGreaterThan(150);
      } finally {
        await browser.close();
        await site.close();
      }
    });
  });
});
