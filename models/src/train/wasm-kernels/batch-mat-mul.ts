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
import { BACKEND, heapF32, nativeKernel, wasmBackendOf } from './common.js';
import { GRID_CONV_MIN_CHANNELS, GRID_CONV_MIN_MACS } from './conv2d-grid.js';
import { type ParallelKernels, parallelKernels } from './simd/parallel.js';

/**
 * out[M, N] = a[M, K] · b[K, N] by `convRows`, split over threads: a's rows are the cells of a
 * grid two cells wide with one tap, b the filter. M even, N a multiple of 16. False, touching
 * nothing, when the shared memory cannot hold the operands.
 */
export function matMulParallel(
  pk: ParallelKernels,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  out: Float32Array,
): boolean {
  const rows = m / 2;
  // Two spare cells: the grid convolution's layout keeps one row of cells past the end.
  const at = pk.reserve([(m + 2) * k, k * n, 1, m * n]);
  if (!at) return false;
  const [aAt, bAt, offsetAt, outAt] = at as [number, number, number, number];
  const f32 = pk.f32();
  f32.set(a, aAt / 4);
  f32.fill(0, aAt / 4 + m * k, aAt / 4 + (m + 2) * k);
  f32.set(b, bAt / 4);
  pk.i32()[offsetAt / 4] = 0;
  pk.split('convRows', rows, (r0, r1) => [aAt, offsetAt, 1, k, bAt, n, outAt, r0, r1, rows, rows, 2, 2]);
  out.set(pk.f32().subarray(outAt / 4, outAt / 4 + m * n));
  return true;
}

/** The shared kernels, when this product (batch 1, after any transposes) is worth splitting. */
function parallelFor(a: TensorInfo, b: TensorInfo): ParallelKernels | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const batch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1) * b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape.at(-1)!;
  if (batch !== 1 || m % 2 !== 0 || n % 16 !== 0 || k < GRID_CONV_MIN_CHANNELS || m * k * n < GRID_CONV_MIN_MACS) return undefined;
  return parallelKernels();
}

/** The product of a and b (no transposes) split over threads, or undefined where it does not apply. */
function splitProduct(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  const pk = parallelFor(a, b);
  if (!pk) return undefined;
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape.at(-1)!;
  const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
  try {
    if (matMulParallel(pk, heapF32(backend, a), heapF32(backend, b), m, k, n, heapF32(backend, out))) return out;
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  }
  backend.disposeData(out.dataId);
  return undefined;
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
