/**
 * `BatchMatMul` for wasm with the transpose flags handled by a native `Transpose` first: with a
 * flag set, the native kernel leaves XNNPACK for a scalar C++ loop, about 10× slower on the
 * Dense-layer gradients (dx = dy·Wᵀ and dW = xᵀ·dy each took 4 ms on the MNIST CNN, 0.4–0.6 ms
 * this way). A single product big enough to share (a Dense layer's forward pass and both its
 * gradients, on a training batch) is split over threads instead (simd/parallel.ts), reading a
 * transposed a in place, so only a transposed b is transposed first; every other product goes to
 * the native kernel (XNNPACK) unchanged.
 */
import { getKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND, filledOutput, heapF32, nativeKernel, wasmBackendOf } from './common.js';
import { GRID_CONV_MIN_CHANNELS, GRID_CONV_MIN_MACS } from './conv2d-grid.js';
import { type ParallelKernels, parallelKernels } from './simd/parallel.js';

/** a's rows and columns as the product reads them: [M, K], after transposeA. */
function productDims(a: TensorInfo, b: TensorInfo, transposeA: boolean): { m: number; k: number; n: number } {
  const [r, c] = a.shape.slice(-2) as [number, number];
  return transposeA ? { m: c, k: r, n: b.shape.at(-1)! } : { m: r, k: c, n: b.shape.at(-1)! };
}

/** The shared kernels, when this product (batch 1, b not transposed) is worth splitting. */
function parallelFor(a: TensorInfo, b: TensorInfo, transposeA: boolean): ParallelKernels | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const batch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1) * b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const { m, k, n } = productDims(a, b, transposeA);
  if (batch !== 1 || n % 16 !== 0 || k < GRID_CONV_MIN_CHANNELS || m * k * n < GRID_CONV_MIN_MACS) return undefined;
  return parallelKernels();
}

/**
 * out[M, N] = op(a)[M, K] · b[K, N] split over threads by rows of out, or undefined where it does
 * not apply. `gemmRows` of kernels.wat reads each row of op(a) from any start with any element
 * stride, so a transposed a is read in place (its rows are a's columns, M floats apart); b's rows
 * are read whole, so a transposed b is transposed before. Each thread writes its own rows of out.
 */
function splitProduct(backend: BackendWasm, a: TensorInfo, b: TensorInfo, transposeA: boolean): TensorInfo | undefined {
  const pk = parallelFor(a, b, transposeA);
  if (!pk) return undefined;
  const { m, k, n } = productDims(a, b, transposeA);
  return filledOutput(backend, [...a.shape.slice(0, -2), m, n], (out) => {
    const at = pk.reserve([m * k, k * n, m * n, m]);
    if (!at) return false;
    const [aAt, bAt, cAt, rowsAt] = at as [number, number, number, number];
    const f32 = pk.f32();
    f32.set(heapF32(backend, a), aAt / 4);
    f32.set(heapF32(backend, b), bAt / 4);
    f32.fill(0, cAt / 4, cAt / 4 + m * n);
    const i32 = pk.i32();
    for (let i = 0; i < m; i++) i32[rowsAt / 4 + i] = aAt + (transposeA ? i : i * k) * 4;
    const stride = (transposeA ? m : 1) * 4;
    pk.split('gemmRows', m, (i0, i1) => [rowsAt + i0 * 4, i1 - i0, k, bAt, n, cAt + i0 * n * 4, stride]);
    out.set(pk.f32().subarray(cAt / 4, cAt / 4 + m * n));
    return true;
  });
}

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

export const batchMatMul: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const native = nativeKernel('BatchMatMul');
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  const transpose = getKernel('Transpose', BACKEND);
  const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
  if (!transposeB) {
    const split = splitProduct(wasmBackendOf(backend, 'BatchMatMul'), a, b, transposeA);
    if (split) return split;
    if (!transposeA) return native(args);
  }
  if (!transpose) return native(args);
  const flip = (t: TensorInfo): TensorInfo => {
    const perm = t.shape.map((_, i) => i);
    const last = perm.length - 1;
    [perm[last - 1], perm[last]] = [perm[last]!, perm[last - 1]!];
    return transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } as unknown as NamedAttrMap }) as TensorInfo;
  };
  const a2 = transposeA ? flip(a) : a;
  const b2 = transposeB ? flip(b) : b;
  try {
    return (
      splitProduct(wasmBackendOf(backend, 'BatchMatMul'), a2, b2, false) ??
      native({
        inputs: { a: a2, b: b2 },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false } as unknown as NamedAttrMap,
      })
    );
  } finally {
    // The flipped copies have fresh ids, so XNNPACK's operator cache (keyed by B's id) is freed with them.
    const owner = backend as unknown as { disposeData(dataId: object): boolean };
    if (a2 !== a) owner.disposeData(a2.dataId);
    if (b2 !== b) owner.disposeData(b2.dataId);
  }
};
