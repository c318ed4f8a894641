/**
 * `BatchMatMul` for wasm with the transpose flags handled by a native `Transpose` first: with a
 * flag set, the native kernel leaves XNNPACK for a scalar C++ loop, about 10× slower on the
 * Dense-layer gradients (dx = dy·Wᵀ and dW = xᵀ·dy each took 4 ms on the MNIST CNN, 0.4–0.6 ms
 * this way). A single product big enough to share (a Dense layer's forward pass and both its
 * gradients, on a training batch) is then split over threads (simd/parallel.ts); every other
 * product goes to the native kernel (XNNPACK) unchanged.
 */
import { getKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND, filledOutput, heapF32, nativeKernel, wasmBackendOf } from './common.js';
import { GRID_CONV_MIN_CHANNELS, GRID_CONV_MIN_MACS, type GridConv, gridConvolve } from './conv2d-grid.js';
import { type ParallelKernels, parallelKernels } from './simd/parallel.js';

/** The shared kernels, when this product (batch 1, after any transposes) is worth splitting. */
function parallelFor(a: TensorInfo, b: TensorInfo): ParallelKernels | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const batch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1) * b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape.at(-1)!;
  if (batch !== 1 || m % 2 !== 0 || n % 16 !== 0 || k < GRID_CONV_MIN_CHANNELS || m * k * n < GRID_CONV_MIN_MACS) return undefined;
  return parallelKernels();
}

/**
 * The product of a and b (no transposes) split over threads, or undefined where it does not apply:
 * out[M, N] = a[M, K] · b[K, N] is a grid convolution (conv2d-grid.ts) with one tap, on a grid two
 * cells wide whose cells are a's rows, b being the filter.
 */
function splitProduct(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  const pk = parallelFor(a, b);
  if (!pk) return undefined;
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape.at(-1)!;
  const rows = m / 2;
  const grid: GridConv = { batch: 1, h: rows, w: 2, c: k, top: 0, left: 0, gh: rows, gw: 2, fh: 1, fw: 1, outH: rows, outW: 2, n };
  return filledOutput(backend, [...a.shape.slice(0, -2), m, n], (out) =>
    gridConvolve(pk, heapF32(backend, a), heapF32(backend, b), grid, out),
  );
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
  if (!transposeA && !transposeB) return splitProduct(wasmBackendOf(backend, 'BatchMatMul'), a, b) ?? native(args);
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
      splitProduct(wasmBackendOf(backend, 'BatchMatMul'), a2, b2) ??
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
