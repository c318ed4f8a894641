/** `Conv2DBackpropFilter` for wasm: transposed im2col into the wasm heap, then XNNPACK BatchMatMul. */
import { backend_util, getKernel, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import { BACKEND, type Conv2DBackpropFilterAttrs, checkDyShape, heapF32, wasmBackendOf } from './common.js';

/**
 * Writes the transposed im2col matrix patchesT[K, M] of an NHWC input:
 * patchesT[(i*fw + j)*inC + c][(b*outH + oy)*outW + ox] =
 *   x[b, oy*sh + i - padTop, ox*sw + j - padLeft, c]   (0 outside the input).
 * Row k of the result lines up with row k of the [fh, fw, inC, outC] filter.
 */
export function im2colTransposed(x: Float32Array, out: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const m = batchSize * outHeight * outWidth;
  for (let i = 0; i < filterHeight; i++) {
    for (let j = 0; j < filterWidth; j++) {
      // Output columns ox whose input column ox*sw + j - padLeft is inside
      // [0, inWidth): exact integer bounds (ceil for the lower bound, and an
      // exclusive ceil for the upper one; this is where the wasm Conv3D
      // kernel goes wrong at stride > 1).
      const oxLo = Math.min(outWidth, Math.max(0, Math.ceil((padLeft - j) / strideWidth)));
      const oxHi = Math.max(oxLo, Math.min(outWidth, Math.ceil((inWidth + padLeft - j) / strideWidth)));
      for (let c = 0; c < inChannels; c++) {
        let o = ((i * filterWidth + j) * inChannels + c) * m;
        for (let b = 0; b < batchSize; b++) {
          for (let oy = 0; oy < outHeight; oy++) {
            const iy = oy * strideHeight + i - padTop;
            if (iy < 0 || iy >= inHeight) {
              out.fill(0, o, o + outWidth);
              o += outWidth;
              continue;
            }
            if (oxLo > 0) out.fill(0, o, o + oxLo);
            // x index of (b, iy, ox*sw + j - padLeft, c)
            let src = ((b * inHeight + iy) * inWidth + oxLo * strideWidth + j - padLeft) * inChannels + c;
            const step = strideWidth * inChannels;
            for (let ox = oxLo; ox < oxHi; ox++) {
              out[o + ox]! = x[src]!;
              src += step;
            }
            if (oxHi < outWidth) out.fill(0, o + oxHi, o + outWidth);
            o += outWidth;
          }
        }
      }
    }
  }
}

/**
 * `Conv2DBackpropFilter` for the wasm backend: dW = im2col(x)^T * dy, the
 * matrix product done by the wasm `BatchMatMul` kernel (XNNPACK).
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'Conv2DBackpropFilter');
  const { x, dy } = inputs as NamedTensorInfoMap & { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropFilter (edgeloop): float32 only, got x=${x.dtype} dy=${dy.dtype}`);
  }
  const fmt = backend_util.convertConv2DDataFormat(dataFormat);
  if (fmt !== 'channelsLast') {
    // The wasm forward Conv2D rejects NCHW as well, so this cannot occur while
    // training a model whose forward pass runs on wasm.
    throw new Error('Conv2DBackpropFilter (edgeloop): only NHWC is supported on wasm');
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1 /* dilations: tfjs-core's conv2d gradient requires 1 */,
    pad,
    dimRoundingMode,
    false,
    fmt,
  );
  checkDyShape('Conv2DBackpropFilter', dy, info);

  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const m = info.batchSize * info.outHeight * info.outWidth;
  const n = info.outChannels;
  if (m === 0 || k === 0 || n === 0) {
    const zeros = backend.makeOutput(info.filterShape, 'float32');
    heapF32(backend, zeros).fill(0);
    return zeros;
  }

  const bmm = getKernel('BatchMatMul', BACKEND);
  if (bmm == null) throw new Error('Conv2DBackpropFilter (edgeloop): wasm BatchMatMul missing');

  // A = patchesT [1, K, M]; B = a private copy of dy viewed as [1, M, outC].
  // B is copied on purpose: the wasm BatchMatMul caches its XNNPACK operator
  // (with B pre-packed as weights) keyed only by B's tensor id, and a reshape
  // shares the id, so feeding dy itself could collide with a cached operator
  // built for a different shape of the same tensor. The fresh id is disposed
  // below, which also frees the cached operator. The copy is a memcpy.
  const a = backend.makeOutput([1, k, m], 'float32');
  const b = backend.makeOutput([1, m, n], 'float32');
  try {
    im2colTransposed(heapF32(backend, x), heapF32(backend, a), info);
    heapF32(backend, b).set(heapF32(backend, dy));
    // no transposes and batch 1 -> xnn_fully_connected path (fast); any
    // transpose flag would select the naive C++ `slow_batch_matmul`.
    const out = bmm.kernelFunc({
      inputs: { a, b },
      attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap,
      backend,
    }) as TensorInfo;
    // [1, K, outC] has the memory layout of [fh, fw, inC, outC].
    out.shape = [...info.filterShape];
    return out;
  } finally {
    backend.disposeData(a.dataId);
    backend.disposeData(b.dataId);
  }
};
