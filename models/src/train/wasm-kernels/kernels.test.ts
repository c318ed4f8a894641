/**
 * Checks the kernels registered by wasm-training-kernels.ts against float64
 * central finite differences (plain JS oracle in reference.ts, no TF.js
 * involved), and checks that a small CNN trains on the wasm backend.
 *
 * Loss used for the conv kernels: L(x, w) = sum(conv2d(x, w) * r) for a fixed
 * random r, so dL/dy = r is what the backprop kernels receive as dy.
 * Tolerance: max|got - fd| / max(1, max|fd|) < 1e-4. Float32 kernels land at
 * ~1e-7..1e-6; the known-wrong kernels (Conv3D route at stride 2, native
 * MaxPoolGrad) land at 0.3..1.
 */

import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ConvGeometry,
  conv2dF64,
  convDims,
  depthwiseConv2dF64,
  distinctF32,
  dot,
  fdGrad,
  type PoolGeometry,
  pool2dF64,
  poolDims,
  randF32,
  relErr,
  rng,
} from '../../../test/wasm-reference.js';
import { registerWasmTrainingKernels } from './register.js';

const TOL = 1e-4;
type Shape4 = [number, number, number, number];

let nativeMaxPoolGrad: tf.KernelConfig;
let nativeAvgPoolGrad: tf.KernelConfig;
let registered: string[];

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  // Node: point the loader at the .wasm files shipped in the package's dist/.
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  nativeMaxPoolGrad = { ...tf.getKernel('MaxPoolGrad', 'wasm')! };
  nativeAvgPoolGrad = { ...tf.getKernel('AvgPoolGrad', 'wasm')! };
  registered = registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});

// ---------------------------------------------------------------- helpers ---

function f32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}

/** Runs one kernel on the active backend and returns its output values. */
function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: object): Float32Array {
  const out = tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

/** Compares got[k] with fd.get(k) for the indices in fd. */
function errAt(got: ArrayLike<number>, fd: Map<number, number>): number {
  return relErr(
    [...fd.keys()].map((k) => got[k]!),
    [...fd.values()],
  );
}

/** All indices for small tensors; otherwise all image-border pixels plus random ones. */
function sampleIndices(n: number, h: number, w: number, c: number, next: () => number): number[] | undefined {
  if (n <= 1500) return undefined;
  const set = new Set<number>();
  const batches = n / (h * w * c);
  for (const b of [0, batches - 1])
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        if (y < 2 || y >= h - 2 || x < 2 || x >= w - 2) for (let ch = 0; ch < c; ch++) set.add(((b * h + y) * w + x) * c + ch);
  while (set.size < 900) set.add(Math.floor(next() * n));
  return [...set];
}

const label = (g: ConvGeometry) => `b${g.batch} ${g.inH}x${g.inW}x${g.inC} f${g.fh}x${g.fw}->${g.outC} s${g.strideH},${g.strideW} ${g.pad}`;

interface ConvCase {
  g: ConvGeometry;
  x: Float64Array;
  w: Float64Array;
  r: Float64Array;
  xs: Shape4;
  ws: Shape4;
  ys: Shape4;
}

function makeConvCase(g: ConvGeometry, seed: number): ConvCase {
  const next = rng(seed);
  const { outH, outW } = convDims(g);
  return {
    g,
    x: randF32(g.batch * g.inH * g.inW * g.inC, next),
    w: randF32(g.fh * g.fw * g.inC * g.outC, next),
    r: randF32(g.batch * outH * outW * g.outC, next),
    xs: [g.batch, g.inH, g.inW, g.inC],
    ws: [g.fh, g.fw, g.inC, g.outC],
    ys: [g.batch, outH, outW, g.outC],
  };
}

// strides 1 and 2 x same/valid x odd/even/28 sizes, inC/outC > 1, batch > 1,
// plus mixed strides, stride 3, even and non-square filters, inC == 1.
const CONV_GEOMS: ConvGeometry[] = [];
for (const s of [1, 2])
  for (const pad of ['same', 'valid'] as const)
    for (const [h, w] of [
      [7, 7],
      [8, 8],
      [28, 28],
    ] as const)
      CONV_GEOMS.push({ batch: 2, inH: h, inW: w, inC: 3, fh: 3, fw: 3, outC: 4, strideH: s, strideW: s, pad });
CONV_GEOMS.push(
  { batch: 3, inH: 9, inW: 6, inC: 2, fh: 3, fw: 3, outC: 5, strideH: 2, strideW: 1, pad: 'same' },
  { batch: 2, inH: 10, inW: 11, inC: 2, fh: 5, fw: 4, outC: 3, strideH: 3, strideW: 2, pad: 'same' },
  { batch: 2, inH: 8, inW: 8, inC: 3, fh: 2, fw: 2, outC: 4, strideH: 2, strideW: 2, pad: 'same' },
  { batch: 2, inH: 7, inW: 8, inC: 2, fh: 2, fw: 3, outC: 3, strideH: 2, strideW: 2, pad: 'valid' },
  { batch: 2, inH: 13, inW: 13, inC: 16, fh: 3, fw: 3, outC: 8, strideH: 1, strideW: 1, pad: 'valid' },
  { batch: 2, inH: 28, inW: 28, inC: 1, fh: 3, fw: 3, outC: 4, strideH: 2, strideW: 2, pad: 'same' },
  { batch: 2, inH: 7, inW: 7, inC: 1, fh: 3, fw: 3, outC: 3, strideH: 1, strideW: 1, pad: 'valid' },
  // stride 1 with uneven 'same' padding and a 1x1 filter: the shifted-grid path of the filter gradient
  { batch: 2, inH: 6, inW: 7, inC: 3, fh: 2, fw: 3, outC: 4, strideH: 1, strideW: 1, pad: 'same' },
  { batch: 2, inH: 9, inW: 8, inC: 2, fh: 5, fw: 4, outC: 3, strideH: 1, strideW: 1, pad: 'same' },
  { batch: 3, inH: 5, inW: 5, inC: 4, fh: 1, fw: 1, outC: 2, strideH: 1, strideW: 1, pad: 'valid' },
  // stride 1, few filter rows and outC a multiple of 16: the filter gradient's SIMD kernel
  // (odd and even row counts, one and two blocks of 16 output channels)
  { batch: 2, inH: 7, inW: 7, inC: 1, fh: 3, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'same' },
  { batch: 2, inH: 8, inW: 6, inC: 3, fh: 3, fw: 3, outC: 16, strideH: 1, strideW: 1, pad: 'valid' },
  { batch: 1, inH: 6, inW: 5, inC: 2, fh: 2, fw: 2, outC: 32, strideH: 1, strideW: 1, pad: 'same' },
);

// ------------------------------------------------------------------ tests ---

describe('registerWasmTrainingKernels', () => {
  it('registers the kernels and is idempotent', () => {
    const names = registered;
    expect(names).toEqual([
      'BatchMatMul',
      'Conv2D',
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'MaxPoolGrad',
      'AvgPoolGrad',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'UnsortedSegmentSum',
      'Identity',
      'Sum',
      'Add',
      'EdgeloopReluGrad',
      'EdgeloopAdamUpdate',
      'EdgeloopConv2DBiasRelu',
      'EdgeloopReluGradSum',
      'EdgeloopConv2DBiasReluMaxPool',
      'EdgeloopConvPoolGrad',
    ]);
    const funcs = names.map((n) => tf.getKernel(n, 'wasm')!.kernelFunc);
    expect(registerWasmTrainingKernels()).toEqual(names);
    expect(names.map((n) => tf.getKernel(n, 'wasm')!.kernelFunc)).toEqual(funcs);
    expect(funcs).not.toContain(nativeMaxPoolGrad.kernelFunc);
    expect(funcs).not.toContain(nativeAvgPoolGrad.kernelFunc);
  });
});

describe('Conv2DBackpropFilter (wasm) vs float64 finite differences', () => {
  it.each(CONV_GEOMS.map((g, i) => [label(g), g, i] as const))('%s', (_name, g, i) => {
    const c = makeConvCase(g, 100 + i);
    const fd = fdGrad((w) => dot(conv2dF64(c.x, w, g), c.r), c.w);
    const got = runKernel(
      'Conv2DBackpropFilter',
      { x: tf.tensor4d(f32(c.x), c.xs), dy: tf.tensor4d(f32(c.r), c.ys) },
      { strides: [g.strideH, g.strideW], pad: g.pad, dataFormat: 'NHWC', filterShape: c.ws },
    );
    expect(errAt(got, fd)).toBeLessThan(TOL);
  });

  it('matches through tf.grad(conv2d) end to end (stride 2, same)', () => {
    const g: ConvGeometry = { batch: 3, inH: 8, inW: 7, inC: 3, fh: 3, fw: 3, outC: 4, strideH: 2, strideW: 2, pad: 'same' };
    const c = makeConvCase(g, 7);
    const fd = fdGrad((w) => dot(conv2dF64(c.x, w, g), c.r), c.w);
    const x = tf.tensor4d(f32(c.x), c.xs);
    const r = tf.tensor4d(f32(c.r), c.ys);
    const dw = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, 2, 'same'), r)))(tf.tensor4d(f32(c.w), c.ws));
    expect(errAt(dw.dataSync(), fd)).toBeLessThan(TOL);
  });

  it('documents the bug: the Conv3DBackpropFilterV2 depth-1 route is right at stride 1, wrong at stride 2', () => {
    for (const [s, wrong] of [
      [1, false],
      [2, true],
    ] as const) {
      for (const pad of ['same', 'valid'] as const) {
        const g: ConvGeometry = { batch: 2, inH: 8, inW: 8, inC: 3, fh: 3, fw: 3, outC: 4, strideH: s, strideW: s, pad };
        const c = makeConvCase(g, 5);
        const fd = fdGrad((w) => dot(conv2dF64(c.x, w, g), c.r), c.w);
        const got = runKernel(
          'Conv3DBackpropFilterV2',
          {
            x: tf.tensor5d(f32(c.x), [g.batch, 1, g.inH, g.inW, g.inC]),
            dy: tf.tensor5d(f32(c.r), [g.batch, 1, c.ys[1], c.ys[2], g.outC]),
          },
          { strides: [1, s, s], pad, filterShape: [1, ...c.ws] },
        );
        // If this starts failing for stride 2, tfjs fixed the C++ loop bounds.
        if (wrong) expect(errAt(got, fd)).toBeGreaterThan(0.1);
        else expect(errAt(got, fd)).toBeLessThan(TOL);
      }
    }
  });
});

describe('Conv2DBackpropInput (wasm) vs float64 finite differences', () => {
  it.each(CONV_GEOMS.map((g, i) => [label(g), g, i] as const))('%s', (_name, g, i) => {
    const c = makeConvCase(g, 200 + i);
    const idx = sampleIndices(c.x.length, g.inH, g.inW, g.inC, rng(i));
    const fd = fdGrad((x) => dot(conv2dF64(x, c.w, g), c.r), c.x, idx);
    const got = runKernel(
      'Conv2DBackpropInput',
      { dy: tf.tensor4d(f32(c.r), c.ys), filter: tf.tensor4d(f32(c.w), c.ws) },
      { strides: [g.strideH, g.strideW], pad: g.pad, dataFormat: 'NHWC', inputShape: c.xs },
    );
    expect(errAt(got, fd)).toBeLessThan(TOL);
  });
});

const POOL_GEOMS: PoolGeometry[] = [
  { batch: 2, inH: 26, inW: 26, channels: 3, poolH: 2, poolW: 2, strideH: 2, strideW: 2, pad: 'valid' },
  { batch: 2, inH: 7, inW: 7, channels: 2, poolH: 2, poolW: 2, strideH: 2, strideW: 2, pad: 'valid' },
  { batch: 2, inH: 7, inW: 7, channels: 2, poolH: 2, poolW: 2, strideH: 2, strideW: 2, pad: 'same' },
  { batch: 2, inH: 8, inW: 8, channels: 3, poolH: 3, poolW: 3, strideH: 2, strideW: 2, pad: 'same' },
  { batch: 2, inH: 7, inW: 7, channels: 3, poolH: 3, poolW: 3, strideH: 1, strideW: 1, pad: 'same' },
  { batch: 3, inH: 9, inW: 6, channels: 2, poolH: 2, poolW: 3, strideH: 2, strideW: 1, pad: 'valid' },
  // Windows side by side (MaxPoolGrad's fast path), not 2x2, with an uncovered last column.
  { batch: 2, inH: 9, inW: 10, channels: 5, poolH: 3, poolW: 3, strideH: 3, strideW: 3, pad: 'valid' },
  // 2x2 side by side with channels in fours: the SIMD kernel (kernels.wat), covering the input
  // exactly, with a leftover row and column, and under 'same' padding that needs none.
  { batch: 2, inH: 8, inW: 6, channels: 4, poolH: 2, poolW: 2, strideH: 2, strideW: 2, pad: 'valid' },
  { batch: 2, inH: 9, inW: 7, channels: 8, poolH: 2, poolW: 2, strideH: 2, strideW: 2, pad: 'valid' },
  { batch: 1, inH: 6, inW: 6, channels: 12, poolH: 2, poolW: 2, strideH: 2, strideW: 2, pad: 'same' },
];
const poolLabel = (g: PoolGeometry) =>
  `b${g.batch} ${g.inH}x${g.inW}x${g.channels} pool${g.poolH}x${g.poolW} s${g.strideH},${g.strideW} ${g.pad}`;

function maxPoolCase(g: PoolGeometry, seed: number) {
  const next = rng(seed);
  const { outH, outW } = poolDims(g);
  const n = g.batch * g.inH * g.inW * g.channels;
  const x = distinctF32(n, next); // symmetric around 0: plenty of all-negative windows
  const r = randF32(g.batch * outH * outW * g.channels, next);
  // grid spacing 2/n, so h < 1/n never crosses a tie: the FD is exact
  const fd = fdGrad((v) => dot(pool2dF64(v, g, 'max'), r), x, undefined, 0.25 / n);
  const xs: Shape4 = [g.batch, g.inH, g.inW, g.channels];
  const ys: Shape4 = [g.batch, outH, outW, g.channels];
  const inputs = () => {
    const xt = tf.tensor4d(f32(x), xs);
    return { dy: tf.tensor4d(f32(r), ys), input: xt, output: tf.maxPool(xt, [g.poolH, g.poolW], [g.strideH, g.strideW], g.pad) };
  };
  const attrs = { filterSize: [g.poolH, g.poolW], strides: [g.strideH, g.strideW], pad: g.pad };
  return { fd, inputs, attrs };
}

describe('MaxPoolGrad (wasm) vs float64 finite differences', () => {
  it.each(POOL_GEOMS.map((g, i) => [poolLabel(g), g, i] as const))('%s', (_name, g, i) => {
    const { fd, inputs, attrs } = maxPoolCase(g, 300 + i);
    expect(errAt(runKernel('MaxPoolGrad', inputs(), attrs), fd)).toBeLessThan(TOL);
  });

  it('documents the bug: the native wasm MaxPoolGrad is wrong on inputs with negative windows', () => {
    const { fd, inputs, attrs } = maxPoolCase(POOL_GEOMS[0]!, 300);
    const ins = inputs();
    const backend = tf.backend();
    const out = nativeMaxPoolGrad.kernelFunc({
      inputs: ins,
      attrs: attrs as unknown as tf.NamedAttrMap,
      backend,
    }) as tf.TensorInfo;
    const got = backend.readSync(out.dataId) as Float32Array;
    backend.disposeData(out.dataId);
    expect(errAt(got, fd)).toBeGreaterThan(0.1);
  });

  it('routes to the first maximum on ties and handles all-negative windows like TF/cpu', () => {
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
    const run = (x: number[]) => {
      const xt = tf.tensor4d(x, [1, 2, 4, 1]);
      return Array.from(runKernel('MaxPoolGrad', { dy: tf.ones([1, 1, 2, 1]), input: xt, output: tf.maxPool(xt, 2, 2, 'valid') }, attrs));
    };
    expect(run([2, 2, 1, 1, 0, 2, 1, 1])).toEqual([1, 0, 1, 0, 0, 0, 0, 0]);
    expect(run([1, 2, -3, -1, 3, 4, -2, -4])).toEqual([0, 0, 0, 1, 0, 1, 0, 0]);
  });

  it('never selects NaN and gives a window of -Infinity no gradient, side-by-side windows or not', () => {
    const grad = (x: number[], shape: Shape4, pad: 'valid' | 'same') => {
      const xt = tf.tensor4d(x, shape);
      const y = tf.maxPool(xt, 2, 2, pad);
      return Array.from(runKernel('MaxPoolGrad', { dy: tf.ones(y.shape), input: xt, output: y }, { filterSize: 2, strides: 2, pad }));
    };
    const [nan, inf] = [Number.NaN, Number.NEGATIVE_INFINITY];
    // 2x2 'valid': the fast path.
    expect(grad([nan, 1, inf, inf, 0, nan, inf, inf], [1, 2, 4, 1], 'valid')).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    // 'same' on an odd width: the last window overhangs, so the general path.
    expect(grad([nan, 1, inf, 0, nan, inf], [1, 2, 3, 1], 'same')).toEqual([0, 1, 0, 0, 0, 0]);
  });

  it('the SIMD path (four channels at a time) gives each channel what the one-channel path gives it', () => {
    // Values on a coarse grid, a third of them 0, plus NaN and -Infinity: ties in most windows.
    const [b, h, w, c] = [3, 9, 8, 8];
    const next = rng(77);
    const special = [Number.NaN, Number.NEGATIVE_INFINITY, 0, -0];
    const x = Float32Array.from({ length: b * h * w * c }, () => {
      const r = next();
      return r < 0.05 ? special[Math.floor(next() * 4)]! : r < 0.35 ? 0 : Math.round((next() * 2 - 1) * 3) / 3;
    });
    const dyv = Float32Array.from({ length: b * 4 * 4 * c }, () => next() * 2 - 1);
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
    const xt = tf.tensor4d(x, [b, h, w, c]);
    const all = runKernel('MaxPoolGrad', { dy: tf.tensor4d(dyv, [b, 4, 4, c]), input: xt, output: tf.maxPool(xt, 2, 2, 'valid') }, attrs);
    for (let ch = 0; ch < c; ch++) {
      const xc = tf.tensor4d(
        x.filter((_, i) => i % c === ch),
        [b, h, w, 1],
      );
      const one = runKernel(
        'MaxPoolGrad',
        {
          dy: tf.tensor4d(
            dyv.filter((_, i) => i % c === ch),
            [b, 4, 4, 1],
          ),
          input: xc,
          output: tf.maxPool(xc, 2, 2, 'valid'),
        },
        attrs,
      );
      expect(Array.from(all.filter((_, i) => i % c === ch))).toEqual(Array.from(one));
    }
  });
});

function avgPoolCase(g: PoolGeometry, seed: number) {
  const next = rng(seed);
  const x = randF32(g.batch * g.inH * g.inW * g.channels, next);
  const { outH, outW } = poolDims(g);
  const r = randF32(g.batch * outH * outW * g.channels, next);
  const fd = fdGrad((v) => dot(pool2dF64(v, g, 'avg'), r), x);
  const inputs = () => ({
    dy: tf.tensor4d(f32(r), [g.batch, outH, outW, g.channels]),
    input: tf.tensor4d(f32(x), [g.batch, g.inH, g.inW, g.channels]),
  });
  const attrs = { filterSize: [g.poolH, g.poolW], strides: [g.strideH, g.strideW], pad: g.pad };
  return { fd, inputs, attrs };
}

describe('AvgPoolGrad (wasm) vs float64 finite differences', () => {
  it.each(POOL_GEOMS.map((g, i) => [poolLabel(g), g, i] as const))('%s', (_name, g, i) => {
    const { fd, inputs, attrs } = avgPoolCase(g, 400 + i);
    expect(errAt(runKernel('AvgPoolGrad', inputs(), attrs), fd)).toBeLessThan(TOL);
  });

  it('documents the bug: native wasm (and cpu) AvgPoolGrad divide border windows of same padding by the full window size', async () => {
    const g = POOL_GEOMS[2]!; // 7x7, pool 2, stride 2, same: last row/col windows hold 2 or 1 inputs
    const { fd, inputs, attrs } = avgPoolCase(g, 402);
    const backend = tf.backend();
    const out = nativeAvgPoolGrad.kernelFunc({ inputs: inputs(), attrs: attrs as unknown as tf.NamedAttrMap, backend }) as tf.TensorInfo;
    const got = backend.readSync(out.dataId) as Float32Array;
    backend.disposeData(out.dataId);
    expect(errAt(got, fd)).toBeGreaterThan(0.1);
    await tf.setBackend('cpu');
    const cpuGot = runKernel('AvgPoolGrad', inputs(), attrs);
    await tf.setBackend('wasm');
    expect(errAt(cpuGot, fd)).toBeGreaterThan(0.1);
    // 'valid' windows never touch padding: native is right there
    const v = avgPoolCase(POOL_GEOMS[1]!, 401);
    const outV = nativeAvgPoolGrad.kernelFunc({
      inputs: v.inputs(),
      attrs: v.attrs as unknown as tf.NamedAttrMap,
      backend,
    }) as tf.TensorInfo;
    expect(errAt(backend.readSync(outV.dataId) as Float32Array, v.fd)).toBeLessThan(TOL);
    backend.disposeData(outV.dataId);
  });
});

const DW_GEOMS: ConvGeometry[] = [
  // outC = inC * multiplier
  { batch: 2, inH: 7, inW: 7, inC: 3, fh: 3, fw: 3, outC: 3, strideH: 1, strideW: 1, pad: 'same' },
  { batch: 2, inH: 8, inW: 8, inC: 3, fh: 3, fw: 3, outC: 6, strideH: 2, strideW: 2, pad: 'same' },
  { batch: 2, inH: 7, inW: 7, inC: 2, fh: 3, fw: 3, outC: 6, strideH: 2, strideW: 2, pad: 'valid' },
  { batch: 3, inH: 9, inW: 6, inC: 4, fh: 2, fw: 3, outC: 4, strideH: 2, strideW: 1, pad: 'same' },
  { batch: 2, inH: 28, inW: 28, inC: 2, fh: 3, fw: 3, outC: 4, strideH: 2, strideW: 2, pad: 'valid' },
];

describe('DepthwiseConv2dNative backprop kernels (wasm) vs float64 finite differences', () => {
  it.each(DW_GEOMS.map((g, i) => [label(g), g, i] as const))('%s', (_name, g, i) => {
    const mult = g.outC / g.inC;
    const next = rng(500 + i);
    const { outH, outW } = convDims(g);
    const x = randF32(g.batch * g.inH * g.inW * g.inC, next);
    const w = randF32(g.fh * g.fw * g.inC * mult, next);
    const r = randF32(g.batch * outH * outW * g.outC, next);
    const xs: Shape4 = [g.batch, g.inH, g.inW, g.inC];
    const ws: Shape4 = [g.fh, g.fw, g.inC, mult];
    const ys: Shape4 = [g.batch, outH, outW, g.outC];
    const attrs = { strides: [g.strideH, g.strideW], dilations: [1, 1], pad: g.pad };
    const fdW = fdGrad((v) => dot(depthwiseConv2dF64(x, v, g), r), w);
    const gotW = runKernel(
      'DepthwiseConv2dNativeBackpropFilter',
      { x: tf.tensor4d(f32(x), xs), dy: tf.tensor4d(f32(r), ys) },
      { ...attrs, filterShape: ws },
    );
    expect(errAt(gotW, fdW)).toBeLessThan(TOL);
    const fdX = fdGrad((v) => dot(depthwiseConv2dF64(v, w, g), r), x, sampleIndices(x.length, g.inH, g.inW, g.inC, next));
    const gotX = runKernel(
      'DepthwiseConv2dNativeBackpropInput',
      { dy: tf.tensor4d(f32(r), ys), filter: tf.tensor4d(f32(w), ws) },
      { ...attrs, inputShape: xs },
    );
    expect(errAt(gotX, fdX)).toBeLessThan(TOL);
  });
});

describe('UnsortedSegmentSum (wasm)', () => {
  it('sums rows by segment id, drops out-of-range ids (float32 and int32)', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
      [9, 10],
    ]);
    const ids = tf.tensor1d([2, 0, 2, -1, 5], 'int32');
    expect(Array.from(runKernel('UnsortedSegmentSum', { x, segmentIds: ids }, { numSegments: 3 }))).toEqual([3, 4, 0, 0, 6, 8]);
    const xi = tf.tensor3d(
      [
        [[1], [2]],
        [[3], [4]],
      ],
      [2, 2, 1],
      'int32',
    );
    const idsi = tf.tensor2d(
      [
        [1, 1],
        [0, 1],
      ],
      [2, 2],
      'int32',
    );
    const out = tf
      .engine()
      .runKernel('UnsortedSegmentSum', { x: xi, segmentIds: idsi }, { numSegments: 2 } as unknown as tf.NamedAttrMap) as tf.Tensor;
    expect(out.dtype).toBe('int32');
    expect(out.shape).toEqual([2, 1]);
    expect(Array.from(out.dataSync())).toEqual([3, 7]);
  });

  it('gives the gather gradient (embedding lookup) finite differences expect', () => {
    const next = rng(8);
    const table = randF32(7 * 3, next);
    const idx = [3, 0, 3, 6, 1, 3];
    const r = randF32(idx.length * 3, next);
    const fd = fdGrad((t) => {
      let s = 0;
      idx.forEach((row, n) => {
        for (let k = 0; k < 3; k++) s += t[row * 3 + k]! * r[n * 3 + k]!;
      });
      return s;
    }, table);
    const idsT = tf.tensor1d(idx, 'int32');
    const rt = tf.tensor2d(f32(r), [idx.length, 3]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idsT), rt)))(tf.tensor2d(f32(table), [7, 3]));
    expect(errAt(grad.dataSync(), fd)).toBeLessThan(TOL);
  });
});

describe('Identity (wasm): shares the data, counted by reference', () => {
  it('a clone reads the same values, outlives its source, and frees nothing twice', () => {
    const backend = tf.backend();
    const before = backend.numDataIds();
    const a = tf.tensor2d([1, -2, 3, 4.5], [2, 2]);
    const b = tf.clone(a);
    expect(backend.numDataIds()).toBe(before + 1); // shared, not copied
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, -2, 3, 4.5]);
    b.dispose();
    expect(backend.numDataIds()).toBe(before);
  });

  it('a variable assigned after a clone leaves the clone as it was', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const snapshot = tf.clone(v);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    snapshot.dispose();
    v.dispose();
  });
});

describe('Sum (wasm): leading axes summed in one pass, the rest native', () => {
  /** Float64 sum of a row-major tensor over `axes`. */
  function sumF64(x: Float32Array, shape: number[], axes: number[]): number[] {
    const keep = shape.map((_, i) => !axes.includes(i));
    const outShape = shape.filter((_, i) => keep[i]);
    const out = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(0);
    const idx = shape.map(() => 0);
    for (let flat = 0; flat < x.length; flat++) {
      let o = 0;
      for (let d = 0; d < shape.length; d++) if (keep[d]) o = o * shape[d]! + idx[d]!;
      out[o]! += x[flat]!;
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++idx[d]! < shape[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  }

  it.each([
    { shape: [64, 28, 28, 16], axis: [0, 1, 2], keepDims: false },
    { shape: [6, 5, 3, 7], axis: [2, 0, 1], keepDims: true },
    { shape: [9, 13], axis: [0], keepDims: false },
    { shape: [4, 3, 2], axis: [0, 1], keepDims: false }, // 2 columns: the one-at-a-time tail
    { shape: [4, 5, 14], axis: [0, 1], keepDims: false }, // 14 = 4 + 4 + 4 + 2
    { shape: [7, 3, 48], axis: [0, 1], keepDims: true }, // sixteens: the SIMD kernel
    { shape: [100_000, 16], axis: [0], keepDims: false }, // long columns: float64 sums
    { shape: [4, 3, 6], axis: [1], keepDims: false }, // not leading: native
    { shape: [4, 3, 6], axis: [0, 1, 2], keepDims: false }, // all axes: native
  ])('sum over $axis of $shape (keepDims $keepDims)', ({ shape, axis, keepDims }) => {
    const next = rng(shape.length * 31 + axis.length);
    const x = randF32(
      shape.reduce((a, b) => a * b, 1),
      next,
    );
    const t = tf.tensor(f32(x), shape);
    const got = tf.sum(t, axis, keepDims);
    const want = sumF64(f32(x), shape, axis);
    const sortedAxes = [...axis].sort();
    const wantShape = keepDims ? shape.map((d, i) => (axis.includes(i) ? 1 : d)) : shape.filter((_, i) => !sortedAxes.includes(i));
    expect(got.shape).toEqual(wantShape);
    expect(relErr(Array.from(got.dataSync()), want)).toBeLessThan(1e-5);
    t.dispose();
    got.dispose();
  });

  it('int32 goes to the native kernel', () => {
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const got = tf.sum(t, 0);
    expect(got.dtype).toBe('int32');
    expect(Array.from(got.dataSync())).toEqual([9, 12]);
    t.dispose();
    got.dispose();
  });
});

describe('Add (wasm): a bias over the last axis in SIMD, the rest native', () => {
  const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 3.4e38];

  it.each([
    { a: [2, 3, 4, 8], b: [8] },
    { a: [5, 16], b: [1, 16] },
    { a: [3, 2, 12], b: [1, 1, 12] },
    { a: [4, 6], b: [6] }, // 6 channels: native
    { a: [4, 8], b: [4, 8] }, // same shape: native
    { a: [8], b: [8] }, // rank 1: native
  ])('$a + $b equals float32 addition element by element', ({ a, b }) => {
    const next = rng(a.length * 7 + b.length);
    const av = Float32Array.from({ length: a.reduce((p, q) => p * q, 1) }, (_, i) => (i % 9 === 0 ? specials[i % 6]! : next() * 4 - 2));
    const bv = Float32Array.from({ length: b.reduce((p, q) => p * q, 1) }, (_, i) => (i === 1 ? Number.NaN : next() * 4 - 2));
    const got = tf.add(tf.tensor(av, a), tf.tensor(bv, b));
    expect(got.shape).toEqual(a);
    const values = got.dataSync();
    av.forEach((v, i) => {
      expect(Object.is(values[i], Math.fround(v + bv[i % bv.length]!))).toBe(true);
    });
  });

  it('int32 goes to the native kernel', () => {
    expect(Array.from(tf.add(tf.tensor2d([1, 2, 3, 4], [1, 4], 'int32'), tf.tensor1d([10, 20, 30, 40], 'int32')).dataSync())).toEqual([
      11, 22, 33, 44,
    ]);
  });
});

describe('the ReLU gradient (wasm): one SIMD pass instead of Step, Cast and Multiply', () => {
  it('gives dy where x > 0, NaN where x is NaN and dy * 0 elsewhere, as tfjs does', () => {
    const [nan, inf] = [Number.NaN, Number.POSITIVE_INFINITY];
    // 11 values: two SIMD blocks and a tail of three
    const x = [1, -1, 0, -0, nan, 2, -3, 5, 0.5, -inf, inf];
    const dy = [2, 3, inf, -4, 1, nan, -inf, -5, -0, 7, 8];
    const got = tf
      .grad((t: tf.Tensor) => tf.relu(t).mul(tf.tensor1d(dy)).sum())(tf.tensor1d(x))
      .dataSync();
    const want = x.map((v, i) => (v > 0 ? Math.fround(dy[i]!) : Number.isNaN(v) ? nan : dy[i]! * 0));
    want.forEach((w, i) => {
      expect(Object.is(got[i], w), `element ${i}: got ${got[i]}, want ${w}`).toBe(true);
    });
  });

  it('is what the original gradient gives on a conv activation', () => {
    const next = rng(5);
    const x = tf.tensor4d(f32(randF32(2 * 5 * 5 * 8, next)), [2, 5, 5, 8]);
    const r = tf.tensor4d(f32(randF32(2 * 5 * 5 * 8, next)), [2, 5, 5, 8]);
    const ours = tf
      .grad((t: tf.Tensor) => tf.relu(t).mul(r).sum())(x)
      .dataSync();
    const original = tf.mul(r, tf.cast(tf.step(x), 'float32')).dataSync();
    expect(Array.from(ours)).toEqual(Array.from(original));
  });

  it('runs as one kernel on wasm (no Step, Cast or Multiply of the activation)', async () => {
    const x = tf.tensor4d(f32(randF32(2 * 4 * 4 * 8, rng(6))), [2, 4, 4, 8]);
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.relu(t).sum())(x));
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('EdgeloopReluGrad');
    expect(names).not.toContain('Step');
  });
});

describe('no leaks', () => {
  it('the kernels free their wasm intermediates', () => {
    const c = makeConvCase(CONV_GEOMS[3]!, 1); // 7x7x3, 3x3 -> 4, stride 1, valid
    const x = tf.tensor4d(f32(c.x), c.xs);
    const dy = tf.tensor4d(f32(c.r), c.ys);
    const w = tf.tensor4d(f32(c.w), c.ws);
    const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' };
    const backend = tf.backend();
    const before = backend.numDataIds();
    for (let k = 0; k < 3; k++) {
      runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.ws });
      runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: c.xs });
    }
    expect(backend.numDataIds()).toBe(before);
  });
});

// ------------------------------------------------------------- training ---

function buildCnn(): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [28, 28, 1],
      filters: 8,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(
    tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  return m;
}

/** Synthetic 10-class "MNIST-like" data: one random prototype image per class plus noise (seeded). */
function syntheticBatch(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const next = rng(seed);
  const protos = Array.from({ length: 10 }, () => Float32Array.from({ length: 784 }, () => (next() < 0.2 ? 1 : 0)));
  const xs = new Float32Array(n * 784);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels.push(c);
    for (let p = 0; p < 784; p++) xs[i * 784 + p]! = protos[c]![p]! + 0.3 * (next() - 0.5);
  }
  return { x: tf.tensor4d(xs, [n, 28, 28, 1]), y: tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32') as tf.Tensor2D };
}

async function trainLosses(
  backend: string,
  steps: number,
  batch: number,
  optimizer: () => tf.Optimizer,
): Promise<{ losses: number[]; weights: Float32Array[] }> {
  await tf.setBackend(backend);
  const m = buildCnn();
  m.compile({ optimizer: optimizer(), loss: 'categoricalCrossentropy' });
  const { x, y } = syntheticBatch(batch, 42);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push((await m.trainOnBatch(x, y)) as number);
  const weights = m.getWeights().map((t) => t.dataSync() as Float32Array);
  m.dispose();
  x.dispose();
  y.dispose();
  return { losses, weights };
}

describe('training a small CNN on wasm', () => {
  it('loss goes down (fixed seeds, adam)', async () => {
    const { losses } = await trainLosses('wasm', 15, 32, () => tf.train.adam(0.01));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
  });

  it('follows the cpu backend trajectory step for step (sgd)', async () => {
    const wasm = await trainLosses('wasm', 3, 8, () => tf.train.sgd(0.1));
    const cpu = await trainLosses('cpu', 3, 8, () => tf.train.sgd(0.1));
    await tf.setBackend('wasm');
    for (let s = 0; s < 3; s++) expect(Math.abs(wasm.losses[s]! - cpu.losses[s]!)).toBeLessThan(1e-4 * Math.max(1, cpu.losses[s]!));
    for (let k = 0; k < cpu.weights.length; k++) expect(relErr(wasm.weights[k]!, cpu.weights[k]!)).toBeLessThan(1e-4);
  }, 120_000);

  it('conv -> maxPool without ReLU: wasm gradient equals cpu gradient', async () => {
    const g: ConvGeometry = { batch: 2, inH: 12, inW: 12, inC: 3, fh: 3, fw: 3, outC: 4, strideH: 2, strideW: 2, pad: 'same' };
    const c = makeConvCase(g, 77);
    const grads: Float32Array[] = [];
    for (const b of ['wasm', 'cpu']) {
      await tf.setBackend(b);
      const x = tf.tensor4d(f32(c.x), c.xs);
      const r = tf.tensor4d(f32(randF32(2 * 3 * 3 * 4, rng(3))), [2, 3, 3, 4]);
      const f = (w: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(tf.conv2d(x, w as tf.Tensor4D, 2, 'same'), 2, 2, 'valid'), r));
      grads.push(
        tf
          .grad(f)(tf.tensor4d(f32(c.w), c.ws))
          .dataSync() as Float32Array,
      );
    }
    await tf.setBackend('wasm');
    expect(relErr(grads[0]!, grads[1]!)).toBeLessThan(TOL);
  });
});
