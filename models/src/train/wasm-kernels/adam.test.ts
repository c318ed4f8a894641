/**
 * The fused Adam update (adam.ts) against tfjs's own AdamOptimizer: the same weights and moments to
 * the bit after several steps, with variables whose sizes are not multiples of four, a learning
 * rate changed between steps, and the fallback on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCnn } from '../../../test/small-cnn.js';
import { randF32, rng } from '../../../test/wasm-reference.js';
import { selectBackend } from '../backend.js';
import { FusedAdamOptimizer, fusedAdamAvailable } from './adam.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

/** A small model with variables of 3×3×2×5 (90), 5, 7×7×5×3 (735) and 3 floats. */
const model = () => smallCnn({ inputShape: [7, 7, 2], filters: 5, classes: 3, seeds: { kernel: 4, bias: 5, dense: 6 } });

/** Trains a fresh model for `steps` steps with `optimizer`, changing its learning rate each step. */
async function train(optimizer: tf.AdamOptimizer, steps: number) {
  const m = model();
  m.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const next = rng(21);
  const x = tf.tensor4d(Float32Array.from(randF32(6 * 7 * 7 * 2, next)), [6, 7, 7, 2]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3).toFloat();
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    (optimizer as unknown as { learningRate: number }).learningRate = 0.01 / (1 + step);
    losses.push((await m.trainOnBatch(x, y)) as number);
  }
  const weights = m.getWeights().map((w) => Float32Array.from(w.dataSync()));
  const state = (await optimizer.getWeights()).map((w) => Float32Array.from(w.tensor.dataSync()));
  tf.dispose([x, y]);
  m.dispose();
  return { losses, weights, state };
}

const bits = (a: Float32Array[]) => a.map((w) => Array.from(new Uint32Array(w.buffer, w.byteOffset, w.length)));

describe('FusedAdamOptimizer', () => {
  it('on wasm: one kernel per variable, and the same weights and moments to the bit as tfjs’s Adam', async () => {
    expect(fusedAdamAvailable()).toBe(true);
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999);
    const ours = await train(fused, 6);
    const theirs = await train(tf.train.adam(0.01), 6);
    expect(fused.fusedUpdates).toBe(6 * 4);
    expect(ours.losses).toEqual(theirs.losses);
    expect(ours.losses[5]).toBeLessThan(ours.losses[0]!);
    expect(bits(ours.weights)).toEqual(bits(theirs.weights));
    // Iterations, then the first and second moments of each variable.
    expect(ours.state).toHaveLength(1 + 2 * 4);
    expect(bits(ours.state)).toEqual(bits(theirs.state));
  });

  it('on the cpu backend: tfjs’s own update, with the same result', async () => {
    await tf.setBackend('cpu');
    expect(fusedAdamAvailable()).toBe(false);
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999);
    const ours = await train(fused, 3);
    const theirs = await train(tf.train.adam(0.01), 3);
    expect(fused.fusedUpdates).toBe(0);
    expect(bits(ours.weights)).toEqual(bits(theirs.weights));
    await tf.setBackend('wasm');
  });

  it('refuses operands of different sizes', () => {
    const t = (n: number) => tf.zeros([n]);
    const inputs = { value: t(4), m: t(4), v: t(3), g: t(4) };
    expect(() => tf.engine().runKernel('EdgeloopAdamUpdate', inputs, {})).toThrow(/must be float32 of one size/);
    tf.dispose(Object.values(inputs));
  });
});
