/**
 * Runs ONNX models in onnxruntime-web (wasm) inside headless Chromium: used by the parity test and
 * by `bench:infer`. The page loads ORT's own wasm build from node_modules, served on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { launchChromium, serveStatic } from './chromium.js';

const ortDist = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-web')), '/');

export interface OrtWebJob {
  model: Uint8Array;
  /** Batches to run, each [n, ...shape] flattened. */
  inputs: Float32Array;
  shape: number[];
  batch: number;
  /** Extra timed runs of batch 1 after the outputs are collected (for benchmarks). */
  timeRuns?: number;
}

export interface OrtWebResult {
  outputs: Float32Array;
  /** Mean µs per image at batch 1, when timeRuns was given. */
  usPerImageBatch1?: number;
  ortVersion: string;
}

/** Serves ORT's wasm build plus `files` on 127.0.0.1, and opens a Chromium page with the `ort` global loaded. */
async function openOrtPage(files: Record<string, { body: Uint8Array; type: string }>) {
  const file = (name: string, type: string) => ({ body: readFileSync(join(ortDist, name)), type });
  const site = await serveStatic({
    '/': { body: '<!doctype html><title>ort-web</title>', type: 'text/html' },
    '/ort/ort.wasm.min.js': file('ort.wasm.min.js', 'text/javascript'),
    '/ort/ort-wasm-simd-threaded.mjs': file('ort-wasm-simd-threaded.mjs', 'text/javascript'),
    '/ort/ort-wasm-simd-threaded.wasm': file('ort-wasm-simd-threaded.wasm', 'application/wasm'),
    ...files,
  });
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(site.url);
  await page.addScriptTag({ url: '/ort/ort.wasm.min.js' });
  return { site, browser, page };
}

/** Runs `job.inputs` through the model in Chromium, `job.batch` images per call. */
export async function runInOrtWeb(job: OrtWebJob): Promise<OrtWebResult> {
  const { site, browser, page } = await openOrtPage({
    '/model.onnx': { body: job.model, type: 'application/octet-stream' },
    '/inputs.bin': {
      body: new Uint8Array(job.inputs.buffer, job.inputs.byteOffset, job.inputs.byteLength),
      type: 'application/octet-stream',
    },
  });
  try {
    const result = await page.evaluate(
      async ({ shape, batch, timeRuns }) => {
        // biome-ignore lint/suspicious/noExplicitAny: the ort global comes from the script tag
        const ort = (globalThis as any).ort;
        ort.env.wasm.wasmPaths = '/ort/';
        ort.env.wasm.numThreads = 1;
        const model = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
        const inputs = new Float32Array(await (await fetch('/inputs.bin')).arrayBuffer());
        const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
        const per = shape.reduce((a: number, b: number) => a * b, 1);
        const n = inputs.length / per;
        const outputs: number[] = [];
        for (let from = 0; from < n; from += batch) {
          const m = Math.min(batch, n - from);
          const t = new ort.Tensor('float32', inputs.subarray(from * per, (from + m) * per), [m, ...shape]);
          const out = await session.run({ [session.inputNames[0]]: t });
          outputs.push(...(out[session.outputNames[0]].data as Float32Array));
        }
        let usPerImageBatch1: number | undefined;
        if (timeRuns) {
          const one = new ort.Tensor('float32', inputs.subarray(0, per), [1, ...shape]);
          for (let i = 0; i < 20; i++) await session.run({ [session.inputNames[0]]: one });
          const t0 = performance.now();
          for (let i = 0; i < timeRuns; i++) await session.run({ [session.inputNames[0]]: one });
          usPerImageBatch1 = ((performance.now() - t0) * 1000) / timeRuns;
        }
        return { outputs, usPerImageBatch1, ortVersion: String(ort.env.versions?.web ?? 'unknown') };
      },
      { shape: job.shape, batch: job.batch, timeRuns: job.timeRuns ?? 0 },
    );
    return { ...result, outputs: Float32Array.from(result.outputs) };
  } finally {
    await browser.close();
    await site.close();
  }
}

export interface OrtWebTimer {
  ortVersion: string;
  /** Mean µs per run of `runs` batch-1 runs on `input`, after `warmupMs` of untimed runs. */
  time(input: Float32Array, runs: number, warmupMs?: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * One onnxruntime-web session (wasm, one thread) kept open in Chromium, to time it in rounds that
 * alternate with another runtime: alternating, and a warm-up long enough for V8 to finish tiering
 * up the wasm code, keep a noisy machine from favouring whichever side ran first.
 */
export async function openOrtWebTimer(model: Uint8Array, shape: number[]): Promise<OrtWebTimer> {
  const { site, browser, page } = await openOrtPage({ '/model.onnx': { body: model, type: 'application/octet-stream' } });
  const ortVersion = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the ort global comes from the script tag
    const g = globalThis as any;
    g.ort.env.wasm.wasmPaths = '/ort/';
    g.ort.env.wasm.numThreads = 1;
    const bytes = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
    g.session = await g.ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    return String(g.ort.env.versions?.web ?? 'unknown');
  });
  return {
    ortVersion,
    time: (input, runs, warmupMs = 0) =>
      page.evaluate(
        async ({ data, shape, runs, warmupMs }) => {
          // biome-ignore lint/suspicious/noExplicitAny: the ort global comes from the script tag
          const g = globalThis as any;
          const feeds = { [g.session.inputNames[0]]: new g.ort.Tensor('float32', Float32Array.from(data), [1, ...shape]) };
          const w0 = performance.now();
          do await g.session.run(feeds);
          while (performance.now() - w0 < warmupMs);
          const t0 = performance.now();
          for (let i = 0; i < runs; i++) await g.session.run(feeds);
          return ((performance.now() - t0) * 1000) / runs;
        },
        { data: Array.from(input), shape, runs, warmupMs },
      ),
    async close() {
      await browser.close();
      await site.close();
    },
  };
}
