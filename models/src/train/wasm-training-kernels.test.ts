import { mulberry32 } from '@edgeloop/protocol';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { mnistCnn } from '../architectures.js';
import { selectBackend } from './backend.js';
import { fusedStepWanted, trainModel } from './train.js';
import { trainThreads } from './wasm-kernels/simd/parallel.js';

// The kernels themselves are checked against float64 finite differences in wasm-kernels/kernels.test.ts;
// this checks them in use, through selectBackend and our training loop.
describe('training on wasm', () => {
  it('selects the wasm backend with our kernels registered', async () => {
    const info = await selectBackend('wasm');
    expect(info.name).toBe('wasm');
    expect(String(info.details.wasmKernelsAdded)).toContain('Conv2DBackpropFilter');
    expect(info.details.wasmKernelThreads).toBe(trainThreads());
  });

  it('refuses a bad EDGELOOP_TRAIN_THREADS instead of falling back to a slower backend', async () => {
    const before = process.env.EDGELOOP_TRAIN_THREADS;
    process.env.EDGELOOP_TRAIN_THREADS = 'many';
    try {
      await expect(selectBackend()).rejects.toThrow(/EDGELOOP_TRAIN_THREADS must be an integer from 1 to 64, got "many"/);
    } finally {
      if (before === undefined) delete process.env.EDGELOOP_TRAIN_THREADS;
      else process.env.EDGELOOP_TRAIN_THREADS = before;
    }
  });

  it('multiplies with transposed operands exactly as the cpu backend does (the BatchMatMul fast path)', async () => {
    const rng = mulberry32(13);
    const a = Float32Array.from({ length: 2 * 5 * 7 }, () => rng() - 0.5);
    const b = Float32Array.from({ length: 2 * 7 * 3 }, () => rng() - 0.5);
    const products = () =>
      [
        tf.matMul(tf.tensor3d(a, [2, 7, 5]), tf.tensor3d(b, [2, 7, 3]), true, false),
        tf.matMul(tf.tensor3d(a, [2, 5, 7]), tf.tensor3d(b, [2, 3, 7]), false, true),
        tf.matMul(tf.tensor3d(a, [2, 7, 5]), tf.tensor3d(b, [2, 3, 7]), true, true),
        tf.matMul(tf.tensor2d(a.subarray(0, 35), [7, 5]), tf.tensor2d(b.subarray(0, 21), [7, 3]), true, false),
      ].map((t) => Array.from(t.dataSync()));
    // Run once inside tidy and check that no wasm buffer outlives it: the transposed copies are freed.
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    tf.tidy(() => {
      products();
    });
    expect(backend.numDataIds()).toBe(before);
    const onWasm = products();
    await tf.setBackend('cpu');
    const onCpu = products();
    await tf.setBackend('wasm');
    for (const [i, p] of onWasm.entries()) {
      for (const [j, v] of p.entries()) expect(Math.abs(v - onCpu[i]![j]!)).toBeLessThan(1e-6);
    }
  });

  it('trains the MNIST CNN: the loss falls, and a seeded run repeats exactly', async () => {
    const rng = mulberry32(4);
    const n = 256;
    // A learnable toy task: the class is which tenth of the image holds a bright bar.
    const x = new Float32Array(n * 784);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const cls = Math.floor(rng() * 10);
      y[i] = cls;
      for (let p = 0; p < 784; p++) x[i * 784 + p] = rng() * 0.2 + (Math.floor((p % 28) / 2.8) === cls ? 0.8 : 0);
    }
    const data = { x, y, ids: [...y].map(String), shape: [28, 28, 1] as [number, number, number] };
    const run = async () => {
      const model = mnistCnn(10, 3);
      const r = await trainModel(model, data, 10, { epochs: 3, batchSize: 32, learningRate: 0.003, seed: 5 });
      const weights = model.getWeights().map((t) => Array.from(t.dataSync()));
      return { losses: r.history.map((h) => h.loss), weights };
    };
    const a = await run();
    expect(a.losses[2]!).toBeLessThan(a.losses[0]! * 0.5);
    const b = await run();
    expect(b.losses).toEqual(a.losses);
    expect(b.weights).toEqual(a.weights);
  });

  it('trains with the fused step by default, with trainOnBatch under EDGELOOP_TRAIN_FUSED=0, and refuses other values', async () => {
    const n = 64;
    const data = {
      x: Float32Array.from({ length: n * 784 }, (_, i) => (i % 7) / 7),
      y: Int32Array.from({ length: n }, (_, i) => i % 10),
      ids: Array.from({ length: n }, (_, i) => String(i)),
      shape: [28, 28, 1] as [number, number, number],
    };
    const options = { epochs: 1, batchSize: 32, learningRate: 0.003, seed: 5 };
    expect((await trainModel(mnistCnn(10, 3), data, 10, options)).step).toBe('fused');
    process.env.EDGELOOP_TRAIN_FUSED = '0';
    try {
      expect((await trainModel(mnistCnn(10, 3), data, 10, options)).step).toBe('trainOnBatch');
    } finally {
      delete process.env.EDGELOOP_TRAIN_FUSED;
    }
    expect(fusedStepWanted({})).toBe(true);
    expect(fusedStepWanted({ EDGELOOP_TRAIN_FUSED: '1' })).toBe(true);
    for (const bad of ['yes', 'false', '2'])
      expect(() => fusedStepWanted({ EDGELOOP_TRAIN_FUSED: bad })).toThrow(/EDGELOOP_TRAIN_FUSED must be 0 or 1/);
  });
});
