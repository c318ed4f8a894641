/**
 * The fused conv layer (conv-block.ts) and the training step that uses it (fused-step.ts):
 * forward and gradients against the float64 chain rule, on the grid path (2 threads) and the
 * native one (1 thread, one input channel, stride 2); the fused ReLU and bias gradient against the
 * two kernels it replaces, bit for bit; the conv + max pool op (conv-pool-block.ts) likewise;
 * and the step against `trainOnBatch`, on one thread and two.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cyclicLabels } from '../../../test/small-cnn.js';
import { type ConvGeometry, conv2dBackpropF64, conv2dF64, convDims, randF32, relErr, rng } from '../../../test/wasm-reference.js';
import { mnistCnn, rgbCnn } from '../../architectures.js';
import { selectBackend } from '../backend.js';
import { fusedForward, fusedTrainStep } from '../fused-step.js';
import { adamOptimizer } from './adam.js';
import { CONV_BIAS_RELU, conv2dBiasRelu, RELU_GRAD_SUM } from './conv-block.js';
import { conv2dBiasReluMaxPool, convPoolPlan } from './conv-pool-block.js';
import { parallelKernels, setTrainThreads, sharedMemoryKernels } from './simd/parallel.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(async () => {
  await setTrainThreads(availableParallelism());
});

/** relu(conv(x, w) + b) and the gradients of sum(that · r) in float64. */
function reference(x: Float64Array, w: Float64Array, b: Float64Array, r: Float64Array, g: ConvGeometry) {
  const z = conv2dF64(x, w, g);
  const y = z.map((v, i) => Math.max(0, v + b[i % g.outC]!));
  const act = r.map((v, i) => (z[i]! + b[i % g.outC]! > 0 ? v : 0));
  const db = new Float64Array(g.outC);
  act.forEach((v, i) => {
    db[i % g.outC]! += v;
  });
  return { y, db, ...conv2dBackpropF64(x, w, act, g) };
}

function blockCase(g: ConvGeometry, seed: number) {
  const next = rng(seed);
  const { outH, outW } = convDims(g);
  const x = randF32(g.batch * g.inH * g.inW * g.inC, next);
  const w = randF32(g.fh * g.fw * g.inC * g.outC, next);
  const b = randF32(g.outC, next).map((v) => v * 0.5);
  const r = randF32(g.batch * outH * outW * g.outC, next);
  const tensors = () => ({
    x: tf.tensor4d(Float32Array.from(x), [g.batch, g.inH, g.inW, g.inC]),
    w: tf.tensor4d(Float32Array.from(w), [g.fh, g.fw, g.inC, g.outC]),
    b: tf.tensor1d(Float32Array.from(b)),
    r: tf.tensor4d(Float32Array.from(r), [g.batch, outH, outW, g.outC]),
  });
  return {
    want: reference(x, w, b, r, g),
    tensors,
    attrs: { strides: [g.strideH, g.strideW] as [number, number], pad: g.pad as 'same' | 'valid' },
  };
}

const TOL = 1e-5;

const GEOMS: [string, ConvGeometry, number][] = [
  // The grid path with 2 threads (16 and 8 input channels, 'valid' with a 5×3 filter)...
  ['grid, 16 channels', { batch: 8, inH: 14, inW: 14, inC: 16, fh: 3, fw: 3, outC: 32, strideH: 1, strideW: 1, pad: 'same' }, 2],
  ['grid, 5x3 valid', { batch: 12, inH: 12, inW: 15, inC: 16, fh: 5, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'valid' }, 2],
  // ...and the native FusedConv2D: one input channel, stride 2, or one thread.
  ['native, 1 channel', { batch: 8, inH: 28, inW: 28, inC: 1, fh: 3, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'same' }, 2],
  ['native, stride 2', { batch: 4, inH: 15, inW: 16, inC: 8, fh: 3, fw: 3, outC: 16, strideH: 2, strideW: 2, pad: 'same' }, 2],
  ['native, 1 thread', { batch: 8, inH: 14, inW: 14, inC: 16, fh: 3, fw: 3, outC: 32, strideH: 1, strideW: 1, pad: 'same' }, 1],
];

describe('EdgeloopConv2DBiasRelu (wasm)', () => {
  it.each(GEOMS.map(([name, g, threads], i) => [name, g, threads, i] as const))(
    '%s: relu(conv + bias) and its three gradients match the float64 chain rule',
    async (_name, g, threads, i) => {
      await setTrainThreads(threads);
      const c = blockCase(g, 70 + i);
      const t = c.tensors();
      const before = parallelKernels()?.calls.convRows ?? 0;
      const y = conv2dBiasRelu(t.x, t.w, t.b, c.attrs);
      expect(relErr(y.dataSync(), c.want.y)).toBeLessThan(TOL);
      // The grid path (and only it) runs convRows, with the bias and ReLU in its epilogue.
      const grid = threads > 1 && g.inC >= 8 && g.strideH === 1;
      expect(parallelKernels()?.calls.convRows ?? 0).toBe(before + (grid ? 1 : 0));
      const [dx, dw, db] = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv2dBiasRelu(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, c.attrs), t.r)),
      )([t.x, t.w, t.b]) as [tf.Tensor, tf.Tensor, tf.Tensor];
      expect(relErr(dx.dataSync(), c.want.dx)).toBeLessThan(TOL);
      expect(relErr(dw.dataSync(), c.want.dw)).toBeLessThan(TOL);
      expect(relErr(db.dataSync(), c.want.db)).toBeLessThan(TOL);
      tf.dispose([y, dx, dw, db, ...Object.values(t)]);
    },
  );

  it('computes only the gradients asked for: no input gradient for a first layer', async () => {
    await setTrainThreads(2);
    const c = blockCase(GEOMS[0]![1], 5);
    const t = c.tensors();
    const info = await tf.profile(() => {
      const grads = tf.grads((w: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv2dBiasRelu(t.x, w as tf.Tensor4D, b as tf.Tensor1D, c.attrs), t.r)),
      )([t.w, t.b]);
      tf.dispose(grads);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(CONV_BIAS_RELU);
    expect(names).toContain(RELU_GRAD_SUM);
    expect(names).toContain('Conv2DBackpropFilter');
    expect(names).not.toContain('Conv2DBackpropInput');
    tf.dispose(Object.values(t));
  });

  it('keeps NaN: a NaN input gives NaN outputs, not zeros', async () => {
    await setTrainThreads(2);
    const c = blockCase(GEOMS[0]![1], 6);
    const t = c.tensors();
    const x = t.x.dataSync().slice();
    x[0] = Number.NaN;
    const xn = tf.tensor4d(x, t.x.shape as [number, number, number, number]);
    const y = conv2dBiasRelu(xn, t.w, t.b, c.attrs).dataSync();
    // (0, 0) of image 0 meets x[0] through the centre tap of the 'same' filter.
    expect(y.subarray(0, 32).every((v) => Number.isNaN(v))).toBe(true);
    tf.dispose([xn, ...Object.values(t)]);
  });

  it('rejects a bias that does not match the output channels', () => {
    const x = tf.zeros([1, 4, 4, 8]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 8, 16]) as tf.Tensor4D;
    const b = tf.zeros([8]) as tf.Tensor1D;
    expect(() => conv2dBiasRelu(x, w, b, { strides: [1, 1], pad: 'same' })).toThrow(/bias shape \[8\] != \[16\]/);
    tf.dispose([x, w, b]);
  });
});

/**
 * maxpool2x2(relu(conv(x, w) + b)) and the gradients of sum(that · r) in float64, each window's
 * gradient going to its first maximum in row-major order (as MaxPoolGrad routes it).
 */
function poolReference(x: Float64Array, w: Float64Array, b: Float64Array, r: Float64Array, g: ConvGeometry) {
  const { outH, outW } = convDims(g);
  const n = g.outC;
  const z = conv2dF64(x, w, g);
  const y = z.map((v, i) => Math.max(0, v + b[i % n]!));
  const ph = Math.floor(outH / 2);
  const pw = Math.floor(outW / 2);
  const p = new Float64Array(g.batch * ph * pw * n);
  const act = new Float64Array(y.length);
  for (let bi = 0; bi < g.batch; bi++)
    for (let py = 0; py < ph; py++)
      for (let px = 0; px < pw; px++)
        for (let c = 0; c < n; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (const [dy, dx] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ] as const) {
            const i = ((bi * outH + 2 * py + dy) * outW + 2 * px + dx) * n + c;
            if (y[i]! > best) {
              best = y[i]!;
              at = i;
            }
          }
          const o = ((bi * ph + py) * pw + px) * n + c;
          p[o] = best;
          act[at] = y[at]! > 0 ? r[o]! : 0;
        }
  const db = new Float64Array(n);
  act.forEach((v, i) => {
    db[i % n]! += v;
  });
  return { p, db, ...conv2dBackpropF64(x, w, act, g) };
}

const POOL_GEOMS: [string, ConvGeometry, boolean][] = [
  ['14x14x16 -> 32, same', { batch: 8, inH: 14, inW: 14, inC: 16, fh: 3, fw: 3, outC: 32, strideH: 1, strideW: 1, pad: 'same' }, true],
  // Odd conv outputs (the last row and column are in no window), a 'valid' 5×3 filter.
  [
    '9x11x16 -> 16, 5x3 valid',
    { batch: 40, inH: 11, inW: 11, inC: 16, fh: 5, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'valid' },
    true,
  ],
  // A first layer: one input channel, no input gradient.
  [
    '28x28x1 -> 16, first layer',
    { batch: 40, inH: 28, inW: 28, inC: 1, fh: 3, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'same' },
    false,
  ],
];

describe('EdgeloopConv2DBiasReluMaxPool (wasm, 2 threads)', () => {
  beforeAll(async () => {
    await setTrainThreads(2);
  });

  it.each(POOL_GEOMS.map(([name, g, needDx], i) => [name, g, needDx, i] as const))(
    '%s: the pooled output and the gradients match the float64 chain rule',
    (_name, g, needDx, i) => {
      const { outH, outW } = convDims(g);
      const next = rng(90 + i);
      const x = randF32(g.batch * g.inH * g.inW * g.inC, next);
      const w = randF32(g.fh * g.fw * g.inC * g.outC, next);
      const b = randF32(g.outC, next).map((v) => v * 0.5);
      const ph = Math.floor(outH / 2);
      const pw = Math.floor(outW / 2);
      const r = randF32(g.batch * ph * pw * g.outC, next);
      const want = poolReference(x, w, b, r, g);
      const xt = tf.tensor4d(Float32Array.from(x), [g.batch, g.inH, g.inW, g.inC]);
      const wt = tf.tensor4d(Float32Array.from(w), [g.fh, g.fw, g.inC, g.outC]);
      const bt = tf.tensor1d(Float32Array.from(b));
      const rt = tf.tensor4d(Float32Array.from(r), [g.batch, ph, pw, g.outC]);
      const attrs = { pad: g.pad as 'same' | 'valid', needDx };
      expect(convPoolPlan(xt.shape, wt.shape, attrs)).toBeDefined();
      const pk = parallelKernels()!;
      const before = { ...pk.calls };
      const p = conv2dBiasReluMaxPool(xt, wt, bt, attrs);
      expect(p.shape).toEqual([g.batch, ph, pw, g.outC]);
      expect(relErr(p.dataSync(), want.p)).toBeLessThan(TOL);
      expect(pk.calls.poolRows).toBe(before.poolRows + 1);
      const loss = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
        tf.sum(tf.mul(conv2dBiasReluMaxPool(xv as tf.Tensor4D, wv as tf.Tensor4D, bv as tf.Tensor1D, attrs), rt));
      if (needDx) {
        const [dx, dw, db] = tf.grads(loss)([xt, wt, bt]);
        expect(relErr(dx!.dataSync(), want.dx)).toBeLessThan(TOL);
        expect(relErr(dw!.dataSync(), want.dw)).toBeLessThan(TOL);
        expect(relErr(db!.dataSync(), want.db)).toBeLessThan(TOL);
        tf.dispose([dx!, dw!, db!]);
      } else {
        const [dw, db] = tf.grads((wv: tf.Tensor, bv: tf.Tensor) => loss(xt, wv, bv))([wt, bt]);
        expect(relErr(dw!.dataSync(), want.dw)).toBeLessThan(TOL);
        expect(relErr(db!.dataSync(), want.db)).toBeLessThan(TOL);
        // Built without the input gradient: asking for it is a clear error, not a wrong answer.
        expect(() => tf.grads(loss)([xt, wt, bt])).toThrow(/no input gradient/);
        tf.dispose([dw!, db!]);
      }
      tf.dispose([p, xt, wt, bt, rt]);
    },
  );

  it('sends the gradient of a tied window to its first maximum, as MaxPoolGrad does', () => {
    // A constant input makes every interior conv output of a channel equal: four-way ties.
    const g: ConvGeometry = { batch: 8, inH: 14, inW: 14, inC: 16, fh: 3, fw: 3, outC: 32, strideH: 1, strideW: 1, pad: 'same' };
    const next = rng(17);
    const x = new Float64Array(g.batch * g.inH * g.inW * g.inC).fill(0.25);
    const w = randF32(g.fh * g.fw * g.inC * g.outC, next);
    const b = new Float64Array(g.outC).fill(2);
    const r = randF32(g.batch * 7 * 7 * g.outC, next);
    const want = poolReference(x, w, b, r, g);
    const t = {
      x: tf.tensor4d(Float32Array.from(x), [g.batch, 14, 14, 16]),
      w: tf.tensor4d(Float32Array.from(w), [3, 3, 16, 32]),
      b: tf.tensor1d(Float32Array.from(b)),
      r: tf.tensor4d(Float32Array.from(r), [g.batch, 7, 7, 32]),
    };
    const attrs = { pad: 'same' as const, needDx: true };
    const [dx, dw] = tf.grads((xv: tf.Tensor, wv: tf.Tensor) =>
      tf.sum(tf.mul(conv2dBiasReluMaxPool(xv as tf.Tensor4D, wv as tf.Tensor4D, t.b, attrs), t.r)),
    )([t.x, t.w]);
    expect(relErr(dw!.dataSync(), want.dw)).toBeLessThan(TOL);
    expect(relErr(dx!.dataSync(), want.dx)).toBeLessThan(TOL);
    tf.dispose([dx!, dw!, ...Object.values(t)]);
  });

  it('takes only the shapes it can run', async () => {
    const same = { pad: 'same' as const, needDx: true };
    expect(convPoolPlan([8, 14, 14, 16], [3, 3, 16, 32], same)).toBeDefined();
    // outputs not in sixteens; dx wanted with inputs not in sixteens; too little work; no whole window
    expect(convPoolPlan([8, 14, 14, 16], [3, 3, 16, 24], same)).toBeUndefined();
    expect(convPoolPlan([8, 14, 14, 8], [3, 3, 8, 32], same)).toBeUndefined();
    expect(convPoolPlan([16, 14, 14, 8], [3, 3, 8, 32], { pad: 'same', needDx: false })).toBeDefined();
    expect(convPoolPlan([1, 14, 14, 16], [3, 3, 16, 32], same)).toBeUndefined();
    expect(convPoolPlan([2000, 1, 1, 16], [1, 1, 16, 128], same)).toBeUndefined();
    // One thread: the op runs on the calling thread alone, on a shared memory without workers.
    await setTrainThreads(1);
    try {
      expect(convPoolPlan([8, 14, 14, 16], [3, 3, 16, 32], same)).toBeDefined();
      expect(parallelKernels()).toBeUndefined();
      expect(sharedMemoryKernels()!.threads).toBe(1);
    } finally {
      await setTrainThreads(2);
    }
  });
});

describe('EdgeloopReluGradSum (wasm)', () => {
  it.each([
    [[6, 5, 7, 32], 'sixteens: one SIMD pass'],
    [[3, 4, 5, 12], 'other channel counts: the two kernels it fuses'],
  ] as const)('%j (%s) gives what EdgeloopReluGrad and Sum give, bit for bit', (shape, _how) => {
    const next = rng(shape[3]);
    const n = shape.reduce((a, d) => a * d, 1);
    const y = Float32Array.from(randF32(n, next), (v) => (v < -0.3 ? 0 : v));
    const dy = Float32Array.from(randF32(n, next));
    // The special values of the ReLU gradient: NaN in y, an infinite dy where y = 0, -0.
    y[1] = Number.NaN;
    y[2] = 0;
    dy[2] = Number.POSITIVE_INFINITY;
    y[3] = -0;
    const yT = tf.tensor(y, [...shape]);
    const dyT = tf.tensor(dy, [...shape]);
    const [act, db] = tf.engine().runKernel(RELU_GRAD_SUM, { dy: dyT, y: yT }) as tf.Tensor[];
    const wantAct = tf.engine().runKernel('EdgeloopReluGrad', { dy: dyT, x: yT }) as tf.Tensor;
    const wantDb = tf.sum(wantAct, [0, 1, 2]);
    expect(Array.from(act!.dataSync())).toEqual(Array.from(wantAct.dataSync()));
    expect(Array.from(db!.dataSync())).toEqual(Array.from(wantDb.dataSync()));
    expect(Number.isNaN(act!.dataSync()[1])).toBe(true);
    tf.dispose([yT, dyT, act!, db!, wantAct, wantDb]);
  });
});

describe('fusedTrainStep', () => {
  const compiled = () => {
    const m = mnistCnn(10, 3);
    m.compile({ optimizer: adamOptimizer(0.002), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    return m;
  };

  it.each([1, 2])(
    'on %i thread(s), trains as trainOnBatch does: the same losses, accuracies and weights, step for step, and leaks no tensor',
    async (threads) => {
      await setTrainThreads(threads);
      const calls = sharedMemoryKernels()!.calls.poolRows;
      // 48 images: enough work for both conv layers to take the threads.
      const next = rng(9);
      const xs = tf.tensor4d(
        Float32Array.from(randF32(48 * 784, next), (v) => (v + 1) / 2),
        [48, 28, 28, 1],
      );
      const ys = cyclicLabels(48, 10, 7);
      const fused = compiled();
      const plain = compiled();
      const step = fusedTrainStep(fused);
      expect(step).toBeDefined();
      let tensors = 0;
      for (let i = 0; i < 4; i++) {
        const [lossF, accF] = await step!(xs, ys);
        const [lossP, accP] = (await plain.trainOnBatch(xs, ys)) as number[];
        expect(Math.abs(lossF! - lossP!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(lossP!)));
        expect(accF).toBe(accP);
        // The first step creates Adam's moments; after it, the count stays put.
        if (i === 0) tensors = tf.memory().numTensors;
      }
      expect(tf.memory().numTensors).toBe(tensors);
      // Both conv + pool pairs of the MNIST CNN ran fused, in every step (on one thread, on the calling thread).
      expect(sharedMemoryKernels()!.calls.poolRows).toBe(calls + 8);
      // On one thread, trainOnBatch's convolutions run on XNNPACK, which sums in another order
      // than the grid kernel; Adam turns those last bits into about 1e-4 of a weight in four
      // steps. A wrong gradient moves weights by percents in one step.
      const a = fused.getWeights();
      const b = plain.getWeights();
      a.forEach((w, i) => {
        expect(relErr(w.dataSync(), b[i]!.dataSync())).toBeLessThan(threads > 1 ? 1e-5 : 5e-4);
      });
      tf.dispose([xs, ys]);
    },
  );

  it('trains the RGB CNN (strided stem, batch norm, average pool) as trainOnBatch does', async () => {
    await setTrainThreads(2);
    const next = rng(12);
    const xs = tf.tensor4d(Float32Array.from(randF32(16 * 32 * 32 * 3, next)), [16, 32, 32, 3]);
    const ys = cyclicLabels(16, 2);
    const make = () => {
      const m = rgbCnn(2, 32, 5);
      m.compile({ optimizer: adamOptimizer(0.002), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      return m;
    };
    const fused = make();
    const plain = make();
    const step = fusedTrainStep(fused)!;
    const pooled = parallelKernels()!.calls.poolRows;
    for (let i = 0; i < 3; i++) {
      const [lossF] = await step(xs, ys);
      const [lossP] = (await plain.trainOnBatch(xs, ys)) as number[];
      expect(Math.abs(lossF! - lossP!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lossP!)));
    }
    // Its second conv and the max pool after it ran as one op.
    expect(parallelKernels()!.calls.poolRows).toBe(pooled + 3);
    // Every weight, the batch norm's moving statistics included.
    const b = plain.getWeights();
    fused.getWeights().forEach((w, i) => {
      expect(relErr(w.dataSync(), b[i]!.dataSync())).toBeLessThan(1e-4);
    });
    tf.dispose([xs, ys]);
  });

  it('applies only where it can stand in for trainOnBatch', async () => {
    const m = compiled();
    expect(fusedForward(m)).toBeDefined();
    // No conv layer with a bias and ReLU: nothing to fuse.
    const dense = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'softmax' })] });
    dense.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    expect(fusedTrainStep(dense)).toBeUndefined();
    // A conv layer without ReLU, or frozen, is left to its own call.
    const linear = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 16, kernelSize: 3 }), tf.layers.flatten()],
    });
    expect(fusedForward(linear)).toBeUndefined();
    m.layers[0]!.trainable = false;
    m.layers[2]!.trainable = false;
    expect(fusedForward(m)).toBeUndefined();
    // Not compiled: trainOnBatch's parts are missing.
    expect(fusedTrainStep(mnistCnn(10, 1))).toBeUndefined();
    // Another backend.
    await selectBackend('cpu');
    try {
      expect(fusedTrainStep(compiled())).toBeUndefined();
    } finally {
      await selectBackend('wasm');
    }
  });
});
