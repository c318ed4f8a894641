/**
 * `BatchMatMul` for wasm with the transpose flags handled by a native `Transpose` first: with a
 * flag set, the native kernel leaves XNNPACK for a scalar C++ loop, about 10× slower on the
 * Dense-layer gradients (dx = dy·Wᵀ and dW = xᵀ·dy each took 4 ms on the MNIST CNN, 0.4–0.6 ms
 * this way). Without flags it delegates to the native kernel unchanged.
 */
import { getKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import { BACKEND, nativeKernel } from './common.js';

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

export const batchMatMul: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const native = nativeKernel('BatchMatMul');
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  const transpose = getKernel('Transpose', BACKEND);
  if ((!transposeA && !transposeB) || !transpose) return native(args);
  const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
  const flip = (t: TensorInfo): TensorInfo => {
    const perm = t.shape.map((_, i) => i);
    const last = perm.length - 1;
    [perm[last - 1], perm[last]] = [perm[last]!, perm[last - 1]!];
    return transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } as unknown as NamedAttrMap }) as TensorInfo;
  };
  const a2 = transposeA ? flip(a) : a;
  const b2 = transposeB ? flip(b) : b;
  try {
    return native({
      inputs: { a: a2, b: b2 },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false } as unknown as NamedAttrMap,
    });
  } finally {
    // The flipped copies have fresh ids, so XNNPACK's operator cache (keyed by B's id) is freed with them.
    const owner = backend as unknown as { disposeData(dataId: object): boolean };
    if (a2 !== a) owner.disposeData(a2.dataId);
    if (b2 !== b) owner.disposeData(b2.dataId);
  }
};
