/**
 * The convolutions split over threads (conv2d-grid.ts, the filter gradient's parallel path,
 * simd/parallel.ts): checked against the float64 chain rule (itself checked against finite
 * differences here) at sizes big enough to take the parallel paths, with 2 and 3 threads, and
 * against the single-threaded paths by training a small CNN on each.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cyclicLabels, smallCnn } from '../../../test/small-cnn.js';
import {
  type ConvGeometry,
  conv2dBackpropF64,
  conv2dF64,
  convDims,
  dot,
  fdGrad,
  randF32,
  relErr,
  rng,
} from '../../../test/wasm-reference.js';
import { selectBackend } from '../backend.js';
import { GRID_CONV_MIN_MACS } from './conv2d-grid.js';
import { ParallelKernels, parallelKernels, setTrainThreads, trainThreads } from './simd/parallel.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(async () => {
  await setTrainThreads(availableParallelism());
});

type Shape4 = [number, number, number, number];

/** Runs one kernel on the wasm backend and returns its output values. */
function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: object): Float32Array {
  const out = tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const v = out.dataSync() as Float32Array;
  out.dispose();
  for (const t of Object.values(inputs)) t.dispose();
  return v;
}

const label = (g: ConvGeometry) => `b${g.batch} ${g.inH}x${g.inW}x${g.inC} f${g.fh}x${g.fw}->${g.outC} ${g.pad}`;

// Stride 1, each big enough for the parallel paths (GRID_CONV_MIN_MACS), with odd output widths
// (a computed cell past each row), a 'valid' non-square filter, uneven 'same' padding (2×2), one
// to three blocks of 16 outputs, and an input gradient whose 8 channels keep it on XNNPACK.
const GEOMS: ConvGeometry[] = [
  { batch: 8, inH: 14, inW: 14, inC: 16, fh: 3, fw: 3, outC: 32, strideH: 1, strideW: 1, pad: 'same' },
  { batch: 16, inH: 13, inW: 11, inC: 8, fh: 3, fw: 3, outC: 32, strideH: 1, strideW: 1, pad: 'same' },
  { batch: 12, inH: 12, inW: 15, inC: 16, fh: 5, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'valid' },
  { batch: 24, inH: 10, inW: 9, inC: 16, fh: 2, fw: 2, outC: 48, strideH: 1, strideW: 1, pad: 'same' },
];

function convCase(g: ConvGeometry, seed: number) {
  const next = rng(seed);
  const { outH, outW } = convDims(g);
  const x = randF32(g.batch * g.inH * g.inW * g.inC, next);
  const w = randF32(g.fh * g.fw * g.inC * g.outC, next);
  const dy = randF32(g.batch * outH * outW * g.outC, next);
  const xs: Shape4 = [g.batch, g.inH, g.inW, g.inC];
  const ws: Shape4 = [g.fh, g.fw, g.inC, g.outC];
  const ys: Shape4 = [g.batch, outH, outW, g.outC];
  const f32 = (a: Float64Array) => Float32Array.from(a);
  return {
    y: conv2dF64(x, w, g),
    ...conv2dBackpropF64(x, w, dy, g),
    forward: () =>
      runKernel(
        'Conv2D',
        { x: tf.tensor4d(f32(x), xs), filter: tf.tensor4d(f32(w), ws) },
        { strides: 1, pad: g.pad, dataFormat: 'NHWC', dilations: 1 },
      ),
    input: () =>
      runKernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor4d(f32(dy), ys), filter: tf.tensor4d(f32(w), ws) },
        { strides: 1, pad: g.pad, dataFormat: 'NHWC', inputShape: xs },
      ),
    filter: () =>
      runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(f32(x), xs), dy: tf.tensor4d(f32(dy), ys) },
        { strides: 1, pad: g.pad, dataFormat: 'NHWC', filterShape: ws },
      ),
  };
}

/** Float32 sums of up to a few hundred products: well inside this, and far from any wrong answer. */
const TOL = 1e-5;

describe('the float64 chain-rule reference', () => {
  it('agrees with finite differences for dx and dw', () => {
    const g: ConvGeometry = { batch: 2, inH: 6, inW: 7, inC: 3, fh: 3, fw: 2, outC: 4, strideH: 1, strideW: 1, pad: 'same' };
    const next = rng(3);
    const { outH, outW } = convDims(g);
    const x = randF32(g.batch * g.inH * g.inW * g.inC, next);
    const w = randF32(g.fh * g.fw * g.inC * g.outC, next);
    const dy = randF32(g.batch * outH * outW * g.outC, next);
    const { dx, dw } = conv2dBackpropF64(x, w, dy, g);
    expect(relErr(dw, [...fdGrad((v) => dot(conv2dF64(x, v, g), dy), w).values()])).toBeLessThan(1e-8);
    expect(relErr(dx, [...fdGrad((v) => dot(conv2dF64(v, w, g), dy), x).values()])).toBeLessThan(1e-8);
  });
});

describe.each([2, 3])('the grid convolutions on %i threads (wasm)', (threads) => {
  beforeAll(async () => {
    await setTrainThreads(threads);
  });

  it.each(GEOMS.map((g, i) => [label(g), g, i] as const))('%s: forward, input gradient and filter gradient', (_name, g, i) => {
    const c = convCase(g, 40 + i);
    const pk = parallelKernels()!;
    expect(pk.threads).toBe(threads);
    const before = { ...pk.calls };
    expect(relErr(c.forward(), c.y)).toBeLessThan(TOL);
    expect(pk.calls.convRows).toBe(before.convRows + 1);
    expect(relErr(c.input(), c.dx)).toBeLessThan(TOL);
    // An input gradient with fewer than 16 input channels stays on XNNPACK.
    expect(pk.calls.convRows).toBe(before.convRows + (g.inC % 16 === 0 ? 2 : 1));
    expect(relErr(c.filter(), c.dw)).toBeLessThan(TOL);
    expect(pk.calls.gemmRows).toBe(before.gemmRows + 1);
  });
});

/** a[M, K] · b[K, N] in float64, with a and b given in the layouts the transpose flags say. */
function matMulF64(a: Float64Array, b: Float64Array, m: number, k: number, n: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
      out[i * n + j] = s;
    }
  return out;
}

describe('BatchMatMul split over threads (wasm)', () => {
  const [m, k, n] = [64, 300, 224];

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('transposeA %s, transposeB %s: a Dense-sized product', async (ta, tb) => {
    await setTrainThreads(2);
    const pk = parallelKernels()!;
    const next = rng(ta ? (tb ? 1 : 2) : tb ? 3 : 4);
    const a = randF32(m * k, next);
    const b = randF32(k * n, next);
    const before = pk.calls.gemmRows;
    const got = runKernel(
      'BatchMatMul',
      {
        a: tf.tensor3d(Float32Array.from(a), ta ? [1, k, m] : [1, m, k]),
        b: tf.tensor3d(Float32Array.from(b), tb ? [1, n, k] : [1, k, n]),
      },
      { transposeA: ta, transposeB: tb },
    );
    expect(pk.calls.gemmRows).toBe(before + 1);
    expect(relErr(got, matMulF64(a, b, m, k, n, ta, tb))).toBeLessThan(TOL);
  });

  it('a batch of products, outputs not in sixteens, or a small product go to the native kernel; an odd M is split', async () => {
    await setTrainThreads(2);
    const pk = parallelKernels()!;
    const before = pk.calls.gemmRows;
    const next = rng(5);
    for (const [batch, mm, kk, nn] of [
      [2, 64, 300, 224],
      [1, 64, 300, 200],
      [1, 64, 30, 224],
      [1, 63, 300, 224],
    ] as const) {
      const a = randF32(batch * mm * kk, next);
      const b = randF32(batch * kk * nn, next);
      const got = runKernel(
        'BatchMatMul',
        { a: tf.tensor3d(Float32Array.from(a), [batch, mm, kk]), b: tf.tensor3d(Float32Array.from(b), [batch, kk, nn]) },
        { transposeA: false, transposeB: false },
      );
      expect(relErr(got.subarray(0, mm * nn), matMulF64(a, b, mm, kk, nn, false, false))).toBeLessThan(TOL);
    }
    expect(pk.calls.gemmRows).toBe(before + 1);
  });
});

describe('below the thresholds, and on one thread', () => {
  it('small products and one-channel inputs keep the single-threaded paths', async () => {
    await setTrainThreads(2);
    const pk = parallelKernels()!;
    const before = { ...pk.calls };
    const small: ConvGeometry = { batch: 2, inH: 8, inW: 8, inC: 16, fh: 3, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'same' };
    const gray: ConvGeometry = { batch: 64, inH: 28, inW: 28, inC: 1, fh: 3, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'same' };
    expect(small.batch * 64 * 9 * 16 * 16).toBeLessThan(GRID_CONV_MIN_MACS);
    for (const [g, seed] of [
      [small, 1],
      [gray, 2],
    ] as const) {
      const c = convCase(g, seed);
      expect(relErr(c.forward(), c.y)).toBeLessThan(TOL);
    }
    expect(pk.calls.convRows).toBe(before.convRows);
  });

  it('with EDGELOOP_TRAIN_THREADS=1 there are no parallel kernels, and the results are the same', async () => {
    await setTrainThreads(1);
    expect(parallelKernels()).toBeUndefined();
    const c = convCase(GEOMS[0]!, 40);
    expect(relErr(c.forward(), c.y)).toBeLessThan(TOL);
    expect(relErr(c.input(), c.dx)).toBeLessThan(TOL);
    expect(relErr(c.filter(), c.dw)).toBeLessThan(TOL);
  });

  it('a CNN trains step for step the same on one thread and on two', async () => {
    const losses = async (threads: number) => {
      await setTrainThreads(threads);
      const model = smallCnn({ inputShape: [14, 14, 16], filters: 32, classes: 4, seeds: { kernel: 1, dense: 2 } });
      model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
      const next = rng(9);
      const x = tf.tensor4d(Float32Array.from(randF32(16 * 14 * 14 * 16, next)), [16, 14, 14, 16]);
      const y = cyclicLabels(16, 4);
      const out: number[] = [];
      for (let step = 0; step < 4; step++) out.push((await model.trainOnBatch(x, y)) as number);
      const weights = Float32Array.from(model.getWeights()[0]!.dataSync());
      tf.dispose([x, y]);
      model.dispose();
      return { out, weights };
    };
    const one = await losses(1);
    const two = await losses(2);
    expect(parallelKernels()!.calls.convRows).toBeGreaterThan(0);
    expect(one.out[3]).toBeLessThan(one.out[0]!);
    for (let step = 0; step < 4; step++) expect(Math.abs(two.out[step]! - one.out[step]!)).toBeLessThan(1e-5 * Math.max(1, one.out[step]!));
    expect(relErr(two.weights, one.weights)).toBeLessThan(1e-5);
  });
});

describe('chunks claimed as the threads go', () => {
  it('give 2, 3 and 4 threads the same bits: the partial sums follow the chunks, not the threads', async () => {
    const g = GEOMS[0]!;
    const results: Float32Array[][] = [];
    for (const threads of [2, 3, 4]) {
      await setTrainThreads(threads);
      expect(parallelKernels()!.chunks(10_000)).toBe(16);
      const c = convCase(g, 7);
      results.push([c.forward(), c.input(), c.filter()]);
    }
    for (const other of results.slice(1)) {
      other.forEach((values, i) => {
        expect(Array.from(values)).toEqual(Array.from(results[0]![i]!));
      });
    }
    await setTrainThreads(2);
    expect(parallelKernels()!.chunks(5)).toBe(5);
  });
});

describe('ParallelKernels', () => {
  it('reports a chunk that failed, whichever thread ran it, and keeps working', async () => {
    const pk = new ParallelKernels(2);
    try {
      const [tables] = pk.reserve([2])!;
      // Chunk 1's row points past the end of the memory: the thread that runs it traps.
      expect(() =>
        pk.split('gemmRows', 2, (m0, m1, part) => {
          pk.i32()[tables! / 4 + part] = part === 0 ? 1024 : 0x7fff_fff0;
          return [tables! + part * 4, 1, m1 - m0, 1024, 16, 2048, 4];
        }),
      ).toThrow(/parallel gemmRows: chunk 1 of 2 failed/);
      // The next call runs normally: c[0, :] = a[0]·b[0, :] + a[1]·b[1, :] over two parts.
      const [rows, a, b, c] = pk.reserve([2, 2, 32, 32 * 2])!;
      const f32 = pk.f32();
      f32.set([2, 3], a! / 4);
      f32.fill(1, b! / 4, b! / 4 + 16);
      f32.fill(10, b! / 4 + 16, b! / 4 + 32);
      f32.fill(0, c! / 4, c! / 4 + 64);
      pk.split('gemmRows', 2, (m0, m1, part) => {
        pk.i32()[rows! / 4 + part] = a! + m0 * 4;
        return [rows! + part * 4, 1, m1 - m0, b! + m0 * 64, 16, c! + part * 64, 4];
      });
      const out = pk.f32();
      expect([...out.subarray(c! / 4, c! / 4 + 16)]).toEqual(Array(16).fill(2));
      expect([...out.subarray(c! / 4 + 16, c! / 4 + 32)]).toEqual(Array(16).fill(30));
    } finally {
      await pk.close();
    }
  });

  it('refuses a reservation the memory cannot hold, without growing it', async () => {
    const pk = new ParallelKernels(1);
    const size = pk.memory.buffer.byteLength;
    expect(pk.reserve([2 ** 30])).toBeUndefined();
    expect(pk.memory.buffer.byteLength).toBe(size);
    expect(pk.reserve([1 << 22])).toHaveLength(1);
    await pk.close();
  });

  it('EDGELOOP_TRAIN_THREADS: 1 to 64, or every core by default', () => {
    expect(trainThreads({})).toBe(availableParallelism());
    expect(trainThreads({ EDGELOOP_TRAIN_THREADS: '' })).toBe(availableParallelism());
    expect(trainThreads({ EDGELOOP_TRAIN_THREADS: '3' })).toBe(3);
    for (const bad of ['0', '65', '1.5', 'two'])
      expect(() => trainThreads({ EDGELOOP_TRAIN_THREADS: bad })).toThrow(/EDGELOOP_TRAIN_THREADS/);
  });
});
