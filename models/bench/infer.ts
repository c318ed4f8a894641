/**
 * `npm run bench:infer`: inference latency of the MNIST CNN, in µs per image, on onnxruntime-node
 * (batch 1 and 64), tfjs on its wasm backend (batch 1), and onnxruntime-web in Chromium (batch 1),
 * all in one run so the ratios are fair. Writes bench-results/infer.json.
 *
 * Environment: EDGELOOP_BENCH_RUNS (timed batch-1 runs, default 500).
 */
import { hasChromium } from '@edgeloop/tests/support/chromium';
import { runInOrtWeb } from '@edgeloop/tests/support/ort-web';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { mnistCnn } from '../src/architectures.js';
import { exportToOnnx } from '../src/export/onnx.js';
import { selectBackend } from '../src/train/backend.js';
import { printTable, ratio, writeResults } from './report.js';

const runs = Number(process.env.EDGELOOP_BENCH_RUNS ?? 500);
const shape = [28, 28, 1];
const per = 784;

async function timeIt(n: number, f: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await f(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f();
  return ((performance.now() - t0) * 1000) / n;
}

await selectBackend('wasm');
const model = mnistCnn(10, 1);
const bytes = exportToOnnx(model);
const one = Float32Array.from({ length: per }, (_, i) => (i % 7) / 7);
const batch64 = Float32Array.from({ length: 64 * per }, (_, i) => (i % 11) / 11);

const tfjsWasm1 = await timeIt(runs, () => tf.tidy(() => (model.predict(tf.tensor4d(one, [1, 28, 28, 1])) as tf.Tensor).dataSync()));
const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
const ortNode1 = await timeIt(runs, () => session.run({ input: new ort.Tensor('float32', one, [1, ...shape]) }));
const ortNode64 =
  (await timeIt(Math.max(20, runs / 10), () => session.run({ input: new ort.Tensor('float32', batch64, [64, ...shape]) }))) / 64;

let ortWeb1: number | null = null;
let ortWebNote = '';
if (hasChromium) {
  const web = await runInOrtWeb({ model: bytes, inputs: one, shape, batch: 1, timeRuns: runs });
  ortWeb1 = web.usPerImageBatch1 ?? null;
  ortWebNote = `onnxruntime-web ${web.ortVersion}, wasm, 1 thread`;
} else {
  if (process.env.CI === 'true') throw new Error('CI=true: Chromium is required for the ORT-web figure');
  ortWebNote = 'Chromium missing: apt-get install -y chromium';
  console.error(`notice: ${ortWebNote}`);
}

const results = {
  ort_node_batch1_us: ortNode1,
  ort_node_batch64_us_per_image: ortNode64,
  tfjs_wasm_batch1_us: tfjsWasm1,
  ort_web_chromium_batch1_us: ortWeb1,
};
const ratios = { ortnode_vs_tfjswasm: ratio(tfjsWasm1, ortNode1) };
printTable(`MNIST CNN inference, µs per image (${runs} timed runs)`, [
  { runtime: 'onnxruntime-node', batch: 1, 'µs/image': ortNode1.toFixed(1), note: '1 intra-op thread' },
  { runtime: 'onnxruntime-node', batch: 64, 'µs/image': ortNode64.toFixed(1), note: '1 intra-op thread' },
  { runtime: 'tfjs wasm', batch: 1, 'µs/image': tfjsWasm1.toFixed(1), note: 'SIMD, no threads in Node' },
  { runtime: 'onnxruntime-web (Chromium)', batch: 1, 'µs/image': ortWeb1?.toFixed(1) ?? '-', note: ortWebNote },
]);
printTable('Ratios (goal: ORT-node batch 1 ≥ 5× faster than tfjs-wasm)', [
  { ratio: 'tfjs-wasm µs / ORT-node µs', value: ratios.ortnode_vs_tfjswasm?.toFixed(2) ?? '-' },
]);
const file = writeResults('infer', {
  runs,
  model: 'mnist-cnn',
  results,
  ratios,
  goals: { ortnode_vs_tfjswasm: { goal: 5, met: (ratios.ortnode_vs_tfjswasm ?? 0) >= 5 } },
});
console.log(`\nwrote ${file}`);
