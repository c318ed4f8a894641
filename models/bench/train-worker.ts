/**
 * One backend's measurement for `bench:train`, in its own process (a process has one tfjs
 * backend): trains the MNIST CNN for a fixed number of steps on real digits (best of three rounds
 * after a warm-up step) and prints JSON.
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
try {
  const backend = await selectBackend(name as BackendName);
  const ds = loadMnist({ perClass: Math.ceil(((steps + 1) * batch) / 10) });
  const data = await toTensorData(ds.items, ds.labels, mnistPreprocessing);
  // One warm-up step (kernel compilation, allocations), then the timed steps as one epoch.
  const warm = { ...data, x: data.x.subarray(0, batch * 784), y: data.y.subarray(0, batch), ids: data.ids.slice(0, batch) };
  const timed = { ...data, x: data.x.subarray(batch * 784, (steps + 1) * batch * 784), y: data.y.subarray(batch, (steps + 1) * batch) };
  const model = mnistCnn(10, 1);
  await trainModel(model, warm, 10, { epochs: 1, batchSize: batch, learningRate: 0.002, seed: 1 });
  const result = await trainModel(model, timed, 10, { epochs: 1, batchSize: batch, learningRate: 0.002, seed: 1 });
  console.log(
    JSON.stringify({
      backend: name,
      available: true,
      steps,
      batch,
      seconds: result.seconds,
      images_per_second: result.imagesPerSecond,
      details: backend.details,
    }),
  );
} catch (e) {
  console.log(JSON.stringify({ backend: name, available: false, reason: e instanceof Error ? e.message : String(e) }));
}
