/**
 * Fast paths for wasm kernels that exist but are slow for training. Each wraps the backend's own
 * kernel and falls back to it outside the cases it handles; registerWasmTrainingKernels installs them.
 */
import { getKernel, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';

export const BACKEND = 'wasm';

/** The parts of the wasm backend we use: tensor data in and out of its heap. */
export interface WasmBackendLike {
  incRef(dataId: object): void;
  disposeData(dataId: object): boolean;
  readSync(dataId: object): Float32Array;
  write(values: Float32Array, shape: number[], dtype: 'float32'): object;
}

/**
 * Fast path for `Conv2DBackpropInput` at stride 1: the input gradient of a stride-1 convolution
 * is a convolution of dy with the filter rotated 180° and its channels swapped, which runs on the
 * wasm backend's XNNPACK `Conv2D` (about 8x faster than its own backprop kernel here). 'same'
 * padding with odd filters is symmetric, so it stays 'same'; 'valid' becomes a full convolution
 * (padding f − 1 on every side). Anything else goes to the backend's own kernel.
 */
export function conv2DBackpropInputFast(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as { strides: number | number[]; pad: unknown; dataFormat?: string; dimRoundingMode?: string };
    const [fh, fw, ci, co] = filter.shape as [number, number, number, number];
    const s = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
    const conv = getKernel('Conv2D', BACKEND);
    const pad = a.pad === 'same' && fh % 2 === 1 && fw % 2 === 1 ? 'same' : a.pad === 'valid' && fh === fw ? fh - 1 : undefined;
    const plain = s[0] === 1 && s[1] === 1 && (a.dataFormat ?? 'NHWC') === 'NHWC' && a.dimRoundingMode === undefined;
    if (!conv || pad === undefined || !plain) return fallback(args);
    const b = backend as unknown as WasmBackendLike;
    const w = b.readSync(filter.dataId);
    const rot = new Float32Array(w.length);
    for (let i = 0; i < fh; i++)
      for (let j = 0; j < fw; j++)
        for (let c = 0; c < ci; c++)
          for (let o = 0; o < co; o++) rot[((i * fw + j) * co + o) * ci + c] = w[(((fh - 1 - i) * fw + (fw - 1 - j)) * ci + c) * co + o]!;
    const rotInfo: TensorInfo = { dataId: b.write(rot, [fh, fw, co, ci], 'float32'), shape: [fh, fw, co, ci], dtype: 'float32' };
    const dx = conv.kernelFunc({
      inputs: { x: dy, filter: rotInfo },
      backend,
      attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
    }) as TensorInfo;
    b.disposeData(rotInfo.dataId);
    return dx;
  };
}

/**
 * Fast path for `MaxPoolGrad` with 2×2 windows, stride 2 and 'valid' padding (what our models
 * use): each dy goes to the first maximum of its window in row-major order, as the cpu backend
 * does. Anything else goes to the backend's own kernel.
 */
export function maxPoolGradFast(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs as unknown as { dy: TensorInfo; input: TensorInfo };
    const a = attrs as unknown as { filterSize: number | number[]; strides: number | number[]; pad: unknown; dimRoundingMode?: string };
    const two = (v: number | number[]) => (typeof v === 'number' ? v === 2 : v[0] === 2 && v[1] === 2);
    if (!two(a.filterSize) || !two(a.strides) || a.pad !== 'valid' || a.dimRoundingMode !== undefined) return fallback(args);
    const b = backend as unknown as WasmBackendLike;
    const [n, h, w, c] = input.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const x = b.readSync(input.dataId);
    const g = b.readSync(dy.dataId);
    const dx = new Float32Array(x.length);
    for (let bi = 0; bi < n; bi++)
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++)
          for (let ch = 0; ch < c; ch++) {
            let best = -1;
            let max = Number.NEGATIVE_INFINITY;
            for (let i = 0; i < 2; i++)
              for (let j = 0; j < 2; j++) {
                const at = ((bi * h + y * 2 + i) * w + xo * 2 + j) * c + ch;
                if (best < 0 || x[at]! > max) {
                  max = x[at]!;
                  best = at;
                }
              }
            dx[best]! += g[((bi * oh + y) * ow + xo) * c + ch]!;
          }
    return { dataId: b.write(dx, [n, h, w, c], 'float32'), shape: [n, h, w, c], dtype: 'float32' };
  };
}

/** Transposes the last two axes of a [batch, rows, cols] array. */
function transposeLast2(v: Float32Array, batch: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[base + c * rows + r] = v[base + r * cols + c]!;
  }
  return out;
}

/**
 * Fast path for `BatchMatMul` with a transposed operand (every Dense gradient has one): wasm's
 * kernel is about 13× slower with a transpose flag than without, so we transpose in JS, which is
 * linear in the operand's size, and multiply without flags.
 */
export function batchMatMulFast(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.shape.length !== 3 || b.shape.length !== 3 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return fallback(args);
    }
    const be = backend as unknown as WasmBackendLike;
    const flip = (t: TensorInfo): TensorInfo => {
      const [n, r, c] = t.shape as [number, number, number];
      const shape = [n, c, r];
      return { dataId: be.write(transposeLast2(be.readSync(t.dataId), n, r, c), shape, 'float32'), shape, dtype: 'float32' };
    };
    const a2 = transposeA ? flip(a) : a;
    const b2 = transposeB ? flip(b) : b;
    const out = fallback({ inputs: { a: a2, b: b2 }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
    if (a2 !== a) be.disposeData(a2.dataId);
    if (b2 !== b) be.disposeData(b2.dataId);
    return out;
  };
}
