/**
 * One backend's measurement for `bench:train`, in its own process (a process has one tfjs
 * backend): trains the MNIST CNN for a fixed number of steps on real digits and prints JSON. The
 * method is pytorch_train.py's: 10 warm-up steps, then the best of three timed rounds (the cpu
 * backend: one and one). Until 2026-12-07 this worker timed a single round after one warm-up
 * step, though both files said otherwise; three alternating runs of each put that 5-10% below
 * this method on wasm, within this machine's noise.
 *   tsx train-worker.ts BACKEND STEPS BATCH
 */
import { mnistCnn } from '../src/architectures.js';
import { loadMnist, mnistPreprocessing } from '../src/datasets/mnist.js';
import { toTensorData } from '../src/datasets/tensors.js';
import { type BackendName, selectBackend } from '../src/train/backend.js';
import { trainModel } from '../src/train/train.js';

const [name, stepsArg, batchArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const batch = Number(batchArg);
// The cpu backend takes seconds a step: one warm-up step and one round (its JIT warms up within
// the first step, and three rounds would add minutes to CI for a ratio met 180 times over).
const slow = name === 'cpu';
const WARMUP = slow ? 1 : 10;
const ROUNDS = slow ? 1 : 3;
try {
  const backend = await selectBackend(name as BackendName);
  const ds = loadMnist({ perClass: Math.ceil((steps * batch) / 10) });
  const data = await toTensorData(ds.items, ds.labels, mnistPreprocessing);
  const slice = (from: number, to: number) => ({
    ...data,
    x: data.x.subarray(from * batch * 784, to * batch * 784),
    y: data.y.subarray(from * batch, to * batch),
    ids: data.ids.slice(from * batch, to * batch),
  });
  const model = mnistCnn(10, 1);
  const options = { epochs: 1, batchSize: batch, learningRate: 0.002, seed: 1 };
  // Warm-up (kernel compilation, JIT, allocations): WARMUP steps, as many as the PyTorch side runs.
  await trainModel(model, slice(0, Math.min(WARMUP, steps)), 10, options);
  let seconds = Number.POSITIVE_INFINITY;
  let step = '';
  for (let round = 0; round < ROUNDS; round++) {
    const result = await trainModel(model, slice(0, steps), 10, options);
    seconds = Math.min(seconds, result.seconds);
    step = result.step;
  }
  const result = { seconds, imagesPerSecond: (steps * batch) / seconds };
  console.log(
    JSON.stringify({
      backend: name,
      available: true,
      steps,
      batch,
      seconds: result.seconds,
      images_per_second: result.imagesPerSecond,
      details: { ...backend.details, trainStep: step },
    }),
  );
} catch (e) {
  console.log(JSON.stringify({ backend: name, available: false, reason: e instanceof Error ? e.message : String(e) }));
}
