/**
 * Kernels the tfjs wasm backend lacks for training, registered by us. Today that is one:
 * `Conv2DBackpropFilter`, the gradient of a convolution with respect to its filter.
 *
 * Why not the obvious route: the wasm backend's compiled `Conv3DBackpropFilterV2` at depth 1 is
 * exact at stride 1 but wrong at stride 2 (tfjs-backend-wasm 4.22: O(1) errors against float64
 * finite differences for 'same' and 'valid' padding, where the cpu backend agrees to 1e-6; see
 * wasm-training-kernels.test.ts, which keeps checking that). It is also slow: a naive loop that took
 * 60% of a training step of the MNIST CNN.
 *
 * What we do instead is im2col: lay the input patches out as a matrix P with one row per output
 * position (b, y, x) and one column per filter tap (i, j, c), reading x[b, y·s + i − top,
 * x·s + j − left, c] (zero outside the image). Then dW = Pᵀ · dY, one matrix product on the wasm
 * backend's SIMD `BatchMatMul`, with P built transposed because that kernel is slow with transposes. Strides and TF's 'same' padding (the odd pixel at the bottom/right)
 * live only in the indexing, so every stride is exact.
 */
import { getKernel, type KernelConfig, type KernelFunc, registerKernel, type TensorInfo, unregisterKernel } from '@tensorflow/tfjs';
import { BACKEND, batchMatMulFast, conv2DBackpropInputFast, maxPoolGradFast, type WasmBackendLike } from './wasm-fast-paths.js';

interface Attrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: string;
  filterShape: [number, number, number, number];
}

/**
 * The transposed im2col matrix of `x`: Pᵀ[(i, j, c), (b, y, x)] = x[b, y·sh + i − top, x·sw + j − left, c],
 * zero outside the image. Built transposed so dW = Pᵀ · dY needs no transpose flag (wasm's
 * BatchMatMul is ~13× slower with one) and comes out already in the filter's [fh, fw, ci, co] layout.
 */
export function im2colT(
  xs: Float32Array,
  xShape: readonly number[],
  outHW: readonly number[],
  filterHW: readonly number[],
  strides: readonly number[],
  topLeft: readonly number[],
): Float32Array {
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [oh, ow] = outHW as [number, number];
  const [fh, fw] = filterHW as [number, number];
  const [sh, sw] = strides as [number, number];
  const [top, left] = topLeft as [number, number];
  const rows = n * oh * ow;
  const pt = new Float32Array(fh * fw * c * rows);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      for (let ch = 0; ch < c; ch++) {
        const base = ((i * fw + j) * c + ch) * rows;
        let row = 0;
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < oh; y++) {
            const r = y * sh + i - top;
            if (r < 0 || r >= h) {
              row += ow;
              continue;
            }
            const rowBase = (b * h + r) * w;
            for (let x = 0; x < ow; x++, row++) {
              const col = x * sw + j - left;
              if (col >= 0 && col < w) pt[base + row] = xs[(rowBase + col) * c + ch]!;
            }
          }
        }
      }
    }
  }
  return pt;
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Attrs;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC')
    throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, not ${a.dataFormat}`);
  if (a.dimRoundingMode !== undefined) throw new Error('Conv2DBackpropFilter on wasm does not support dimRoundingMode');
  if (a.pad !== 'same' && a.pad !== 'valid') throw new Error('Conv2DBackpropFilter on wasm supports same and valid padding only');
  const matMul = getKernel('BatchMatMul', BACKEND);
  if (!matMul) throw new Error('the wasm backend has no BatchMatMul kernel');
  const b = backend as unknown as WasmBackendLike;
  const s: [number, number] = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
  const [n, h, w] = x.shape as [number, number, number, number];
  const [, oh, ow, oc] = dy.shape as [number, number, number, number];
  const [fh, fw, fi, fo] = a.filterShape;
  // TF 'same' padding: total (out − 1)·stride + filter − in, the odd pixel at the bottom/right.
  const top = a.pad === 'same' ? Math.floor(Math.max(0, (oh - 1) * s[0] + fh - h) / 2) : 0;
  const left = a.pad === 'same' ? Math.floor(Math.max(0, (ow - 1) * s[1] + fw - w) / 2) : 0;
  const rows = n * oh * ow;
  const k = fh * fw * fi;
  const pt = im2colT(b.readSync(x.dataId), x.shape, [oh, ow], [fh, fw], s, [top, left]);
  const ptInfo: TensorInfo = { dataId: b.write(pt, [1, k, rows], 'float32'), shape: [1, k, rows], dtype: 'float32' };
  b.incRef(dy.dataId); // dy viewed as [1, rows, oc]: the same data, one more reference
  const dyInfo: TensorInfo = { dataId: dy.dataId, shape: [1, rows, oc], dtype: dy.dtype };
  const dw = matMul.kernelFunc({
    inputs: { a: ptInfo, b: dyInfo },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
  b.disposeData(ptInfo.dataId);
  b.disposeData(dy.dataId);
  return { dataId: dw.dataId, shape: [fh, fw, fi, fo], dtype: dw.dtype };
};

const kernels: KernelConfig[] = [{ kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: conv2DBackpropFilter }];

/** Kernels that exist but are slow for training; replaced by a fast path that falls back to them. */
const overrides: [string, (fallback: KernelFunc) => KernelFunc][] = [
  ['Conv2DBackpropInput', conv2DBackpropInputFast],
  ['MaxPoolGrad', maxPoolGradFast],
  ['BatchMatMul', batchMatMulFast],
];
const overridden = new Set<string>();

/**
 * Registers the missing training kernels on the wasm backend, and the fast paths of slow ones;
 * idempotent. Returns the names of the kernels it added or replaced.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const k of kernels) {
    if (getKernel(k.kernelName, BACKEND)) continue;
    registerKernel(k);
    added.push(k.kernelName);
  }
  for (const [name, fast] of overrides) {
    const original = getKernel(name, BACKEND);
    if (!original || overridden.has(name)) continue;
    unregisterKernel(name, BACKEND);
    registerKernel({ ...original, kernelFunc: fast(original.kernelFunc) });
    overridden.add(name);
    added.push(name);
  }
  return added;
}
