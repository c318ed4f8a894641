/**
 * `npm run bench:browser`: how fast the PWA gets to its first classification, cold over the network
 * and warm offline from the service worker's cache, and onnxruntime-web's per-image latency in
 * Chromium against onnxruntime-node on the same model, measured in the same run.
 *
 * A real hub serves the built client and a signed release of the MNIST CNN; Debian's Chromium runs
 * the page. Writes `bench-results/browser.json`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClient } from '@edgeloop/browser-client/build';
import { median, printTable, ratio, writeResults } from '@edgeloop/tests/support/bench-report';
import { MODEL, startBrowserHub } from '@edgeloop/tests/support/browser-hub';
import { hasChromium, launchChromium } from '@edgeloop/tests/support/chromium';
import { mnistPngs, writeMnistModel } from '@edgeloop/tests/support/model-fixture';
import { openOrtWebTimer } from '@edgeloop/tests/support/ort-web';
import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';

const RUNS = Number(process.env.BENCH_RUNS ?? 2000);
const ROUNDS = 3;
const TIMING_ROUNDS = 10;

if (!hasChromium) {
  console.error('bench:browser needs Chromium: apt-get install -y chromium');
  process.exit(process.env.CI === 'true' ? 1 : 0);
}

const work = await mkdtemp(join(tmpdir(), 'edgeloop-bench-browser-'));
const clientDir = await buildClient(join(work, 'client'));
const model = await writeMnistModel(join(work, 'model'), { name: MODEL, version: 1 });
const [digit] = await mnistPngs(1);
const bh = await startBrowserHub({ clientDir });
await bh.publish(1, model);

/** Loads (or reloads) the page, then classifies one digit from a file; ms from navigation to the result. */
async function firstClassification(page: Page, navigate: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await navigate();
  await page
    .getByTestId('model-version')
    .filter({ hasText: `${MODEL} v1` })
    .waitFor({ timeout: 120_000 });
  await page.getByTestId('file').setInputFiles({ name: 'digit.png', mimeType: 'image/png', buffer: Buffer.from(digit!.bytes) });
  await page.waitForFunction(() => (document.querySelector('[data-testid="top1"]')?.textContent ?? '').trim() !== '', undefined, {
    timeout: 60_000,
  });
  return performance.now() - t0;
}

const cold: number[] = [];
const warm: number[] = [];
const browser = await launchChromium();
try {
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh profile each round: no service worker, no IndexedDB, nothing cached.
    const context = await browser.newContext();
    const page = await context.newPage();
    cold.push(await firstClassification(page, () => page.goto(bh.url)));
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
    await context.setOffline(true);
    warm.push(await firstClassification(page, () => page.reload()));
    await context.close();
    console.log(`round ${round + 1}/${ROUNDS}: cold ${cold.at(-1)!.toFixed(0)} ms, warm offline ${warm.at(-1)!.toFixed(0)} ms`);
  }
} finally {
  await browser.close();
  await bh.close();
}

// Per-image latency at batch 1 on the same model bytes, one thread on each side, default session
// options on each side. Rounds alternate web and node, after a warm-up on both; the ratio is the
// median of the rounds' own ratios (a round's two halves share the machine's state of the moment).
const input = Float32Array.from({ length: 28 * 28 }, (_, i) => (i % 7) / 7);
const web = await openOrtWebTimer(model.onnx, [28, 28, 1]);
const session = await ort.InferenceSession.create(model.onnx, { intraOpNumThreads: 1 });
const feed = () => ({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 28, 28, 1]) });
const nodeTime = async (runs: number, warmupMs = 0) => {
  const w0 = performance.now();
  do await session.run(feed());
  while (performance.now() - w0 < warmupMs);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feed());
  return ((performance.now() - t0) * 1000) / runs;
};
const perRound = Math.max(1, Math.round(RUNS / TIMING_ROUNDS));
const webRounds: number[] = [];
const nodeRounds: number[] = [];
try {
  await web.time(input, 1, 3_000);
  await nodeTime(1, 3_000);
  for (let r = 0; r < TIMING_ROUNDS; r++) {
    webRounds.push(await web.time(input, perRound));
    nodeRounds.push(await nodeTime(perRound));
  }
} finally {
  await web.close();
}
await rm(work, { recursive: true, force: true });

const results = {
  cold_first_ms: median(cold),
  warm_offline_first_ms: median(warm),
  ortweb_us: median(webRounds),
  ortnode_us: median(nodeRounds),
  ratio_ortweb_vs_ortnode: median(webRounds.map((w, i) => w / nodeRounds[i]!)),
  ratio_of_medians: ratio(median(webRounds), median(nodeRounds)),
};
printTable(`Browser client, first classification (median of ${ROUNDS} fresh profiles)`, [
  { measure: 'cold, over the network', ms: results.cold_first_ms.toFixed(0), all: cold.map((x) => x.toFixed(0)).join(', ') },
  {
    measure: 'warm, offline (service worker)',
    ms: results.warm_offline_first_ms.toFixed(0),
    all: warm.map((x) => x.toFixed(0)).join(', '),
  },
]);
printTable(`MNIST CNN, batch 1, µs per image (median of ${TIMING_ROUNDS} alternating rounds of ${perRound} runs)`, [
  {
    runtime: 'onnxruntime-web in Chromium',
    'µs/image': results.ortweb_us.toFixed(1),
    note: `ORT ${web.ortVersion}, wasm SIMD, 1 thread; rounds ${webRounds.map((x) => x.toFixed(0)).join(', ')}`,
  },
  {
    runtime: 'onnxruntime-node',
    'µs/image': results.ortnode_us.toFixed(1),
    note: `1 intra-op thread; rounds ${nodeRounds.map((x) => x.toFixed(0)).join(', ')}`,
  },
  {
    runtime: 'ratio web / node (goal ≤ 2.5)',
    'µs/image': results.ratio_ortweb_vs_ortnode.toFixed(2),
    note: `median of the rounds' ratios; ratio of the medians ${results.ratio_of_medians?.toFixed(2) ?? '-'}`,
  },
]);
const file = writeResults('browser', {
  ...results,
  rounds: { cold_ms: cold, warm_offline_ms: warm, ortweb_us: webRounds, ortnode_us: nodeRounds },
  runs: RUNS,
  ort_web: { version: web.ortVersion, backend: 'wasm', threads: 1 },
  goals: { ratio_ortweb_vs_ortnode: { goal: 2.5, met: (results.ratio_ortweb_vs_ortnode ?? Infinity) <= 2.5 } },
});
console.log(`\nwrote ${file}`);
