/**
 * `npm run bench:infer`: inference latency of the MNIST CNN, in µs per image, on onnxruntime-node
 * (batch 1 and 64), tfjs on its wasm backend (batch 1), and onnxruntime-web in Chromium (batch 1),
 * all in one run so the ratios are fair. Writes bench-results/infer.json.
 *
 * It also times the step before inference, decoding and preprocessing one encoded image, one at a
 * time as a classifier does: real MNIST digits as 28×28 grey PNGs (written as the hub's MNIST
 * import writes them) and 64×64 RGB PNGs (the RGB CNN's input), through the plain-PNG path that
 * `decodeImage` takes for them and through sharp (`decodeImageWithSharp`), the path before it.
 *
 * Environment: EDGELOOP_BENCH_RUNS (timed batch-1 runs, default 500).
 */
import { hasChromium } from '@edgeloop/tests/support/chromium';
import { runInOrtWeb } from '@edgeloop/tests/support/ort-web';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { mnistCnn } from '../src/architectures.js';
import { loadMnist, mnistPreprocessing } from '../src/datasets/mnist.js';
import { exportToOnnx } from '../src/export/onnx.js';
import { decodeImage, decodeImageWithSharp } from '../src/preprocess/node.js';
import { preprocessRgba } from '../src/preprocess/resize.js';
import { selectBackend } from '../src/train/backend.js';
import { rgbPreprocessing } from '../src/train/pipeline.js';
import { median, printTable, ratio, writeResults } from './report.js';

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

// Decode + preprocess, µs per image, the two decoders alternated in rounds on the same images.
const digits = loadMnist({ perClass: 20 }).items;
const mnistPngs = await Promise.all(
  digits.map((d) =>
    sharp(d.gray!.data, { raw: { width: 28, height: 28, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
      .toBuffer(),
  ),
);
const rgbPngs = await Promise.all(
  digits.slice(0, 100).map((d, k) =>
    sharp(d.gray!.data, { raw: { width: 28, height: 28, channels: 1 } })
      .resize(64, 64)
      .toColourspace('srgb')
      .tint({ r: 40 + k, g: 200 - k, b: 120 })
      .png()
      .toBuffer(),
  ),
);
async function preprocessUs(pngs: Uint8Array[], spec: typeof mnistPreprocessing, decode: typeof decodeImage): Promise<number> {
  let i = 0;
  return timeIt(Math.max(200, runs), async () => preprocessRgba(await decode(pngs[i++ % pngs.length]!), spec));
}
const prep = { mnist: { plain: [] as number[], sharp: [] as number[] }, rgb64: { plain: [] as number[], sharp: [] as number[] } };
for (let round = 0; round < 3; round++) {
  prep.mnist.plain.push(await preprocessUs(mnistPngs, mnistPreprocessing, decodeImage));
  prep.mnist.sharp.push(await preprocessUs(mnistPngs, mnistPreprocessing, decodeImageWithSharp));
  prep.rgb64.plain.push(await preprocessUs(rgbPngs, rgbPreprocessing(64), decodeImage));
  prep.rgb64.sharp.push(await preprocessUs(rgbPngs, rgbPreprocessing(64), decodeImageWithSharp));
}
const preprocess = {
  mnist_png_plain_us: median(prep.mnist.plain),
  mnist_png_sharp_us: median(prep.mnist.sharp),
  rgb64_png_plain_us: median(prep.rgb64.plain),
  rgb64_png_sharp_us: median(prep.rgb64.sharp),
};

const results = {
  ort_node_batch1_us: ortNode1,
  ort_node_batch64_us_per_image: ortNode64,
  tfjs_wasm_batch1_us: tfjsWasm1,
  ort_web_chromium_batch1_us: ortWeb1,
};
const ratios = {
  ortnode_vs_tfjswasm: ratio(tfjsWasm1, ortNode1),
  // How many times faster decoding + preprocessing is on the plain-PNG path than through sharp.
  preprocess_plain_vs_sharp_mnist: ratio(preprocess.mnist_png_sharp_us, preprocess.mnist_png_plain_us),
  preprocess_plain_vs_sharp_rgb64: ratio(preprocess.rgb64_png_sharp_us, preprocess.rgb64_png_plain_us),
};
printTable(`MNIST CNN inference, µs per image (${runs} timed runs)`, [
  { runtime: 'onnxruntime-node', batch: 1, 'µs/image': ortNode1.toFixed(1), note: '1 intra-op thread' },
  { runtime: 'onnxruntime-node', batch: 64, 'µs/image': ortNode64.toFixed(1), note: '1 intra-op thread' },
  { runtime: 'tfjs wasm', batch: 1, 'µs/image': tfjsWasm1.toFixed(1), note: 'SIMD, no threads in Node' },
  { runtime: 'onnxruntime-web (Chromium)', batch: 1, 'µs/image': ortWeb1?.toFixed(1) ?? '-', note: ortWebNote },
]);
printTable('Decode + preprocess one PNG, µs per image (median of 3 alternating rounds)', [
  {
    image: '28×28 grey PNG (MNIST digit)',
    'plain-PNG path': preprocess.mnist_png_plain_us.toFixed(1),
    sharp: preprocess.mnist_png_sharp_us.toFixed(1),
  },
  { image: '64×64 RGB PNG', 'plain-PNG path': preprocess.rgb64_png_plain_us.toFixed(1), sharp: preprocess.rgb64_png_sharp_us.toFixed(1) },
]);
printTable('Ratios (goal: ORT-node batch 1 ≥ 5× faster than tfjs-wasm)', [
  { ratio: 'tfjs-wasm µs / ORT-node µs', value: ratios.ortnode_vs_tfjswasm?.toFixed(2) ?? '-' },
  { ratio: 'preprocess 28×28 PNG: sharp µs / plain-PNG µs', value: ratios.preprocess_plain_vs_sharp_mnist?.toFixed(1) ?? '-' },
  { ratio: 'preprocess 64×64 PNG: sharp µs / plain-PNG µs', value: ratios.preprocess_plain_vs_sharp_rgb64?.toFixed(1) ?? '-' },
]);
const file = writeResults('infer', {
  runs,
  model: 'mnist-cnn',
  results: { ...results, preprocess },
  ratios,
  goals: { ortnode_vs_tfjswasm: { goal: 5, met: (ratios.ortnode_vs_tfjswasm ?? 0) >= 5 } },
});
console.log(`\nwrote ${file}`);
