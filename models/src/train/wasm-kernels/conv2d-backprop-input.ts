/** `Conv2DBackpropInput` for wasm, as an XNNPACK convolution (the native kernel is correct but slow). */
import { backend_util, getKernel, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import { BACKEND, checkDyShape, filledOutput, heapF32, nativeKernels, wasmBackendOf } from './common.js';
import { gridConvApplies, gridConvolve, inputGradGrid } from './conv2d-grid.js';
import { parallelKernels } from './simd/parallel.js';

/** Attributes tfjs-core passes to `Conv2DBackpropInput` (see conv2d's gradient). */
interface Conv2DBackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** W'[i, j, o, c] = W[fh-1-i, fw-1-j, c, o]: the filter flipped in space, with in and out channels swapped. */
export function flippedFilter(w: Float32Array, fh: number, fw: number, inChannels: number, outChannels: number): Float32Array {
  const wt = new Float32Array(fh * fw * inChannels * outChannels);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const srcTap = ((fh - 1 - i) * fw + (fw - 1 - j)) * inChannels * outChannels;
      const dstTap = (i * fw + j) * outChannels * inChannels;
      for (let c = 0; c < inChannels; c++) {
        for (let o = 0; o < outChannels; o++) wt[dstTap + o * inChannels + c] = w[srcTap + c * outChannels + o]!;
      }
    }
  }
  return wt;
}

/**
 * `Conv2DBackpropInput` for the wasm backend, replacing the native one for
 * speed (the native kernel is correct but is a scalar C++ loop; on the MNIST
 * CNN it was the single most expensive kernel of a training step).
 *
 * dx is a stride-1 'valid' forward convolution, run by the wasm `Conv2D`
 * kernel (XNNPACK), of a zero-dilated, zero-padded copy of dy with the
 * spatially flipped, in/out-transposed filter:
 *   D[b, oy*sh + fh-1-padTop, ox*sw + fw-1-padLeft, o] = dy[b, oy, ox, o]
 *   W'[i, j, o, c] = W[fh-1-i, fw-1-j, c, o]
 *   dx = conv2d(D, W', stride 1, 'valid'),  D of size (inH+fh-1) x (inW+fw-1).
 * dy entries whose window lies entirely in the padding would land outside D;
 * they contribute nothing to dx and are skipped.
 */
export const conv2DBackpropInput: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'Conv2DBackpropInput');
  const { dy, filter } = inputs as NamedTensorInfoMap & { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropInput (edgeloop): float32 only, got dy=${dy.dtype} filter=${filter.dtype}`);
  }
  const fmt = backend_util.convertConv2DDataFormat(dataFormat);
  // Single input channel (e.g. the first layer of a grayscale model; its dx is
  // normally not even requested): XNNPACK with one output channel loses to the
  // native loop (measured 3.2 vs 2.2 ms), so use the native kernel, which is
  // correct. NCHW: the native kernel supports it, this path does not.
  const nativeFunc = nativeKernels.get('Conv2DBackpropInput');
  if (nativeFunc != null && (fmt !== 'channelsLast' || inputShape[3] === 1)) {
    return nativeFunc({ inputs, backend, attrs });
  }
  if (fmt !== 'channelsLast') {
    throw new Error('Conv2DBackpropInput (edgeloop): only NHWC is supported on wasm');
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    fmt,
  );
  checkDyShape('Conv2DBackpropInput', dy, info);
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight: fh, filterWidth: fw, strideHeight, strideWidth } = info;
  const conv = getKernel('Conv2D', BACKEND);
  if (conv == null) throw new Error('Conv2DBackpropInput (edgeloop): wasm Conv2D missing');

  // D's size and dy's place in it; at stride 1, D is this grid, which the grid path builds in its own memory.
  const grid = inputGradGrid(info);
  const { gh: dh, gw: dw, top: offY, left: offX } = grid;
  const flipped = flippedFilter(heapF32(backend, filter), fh, fw, inChannels, outChannels);

  const pk = strideHeight === 1 && strideWidth === 1 && gridConvApplies(grid) ? parallelKernels() : undefined;
  const dx = pk && filledOutput(backend, inputShape, (out) => gridConvolve(pk, heapF32(backend, dy), flipped, grid, out));
  if (dx) return dx;

  const d = backend.makeOutput([batchSize, dh, dw, outChannels], 'float32');
  // A fresh filter tensor: the wasm Conv2D caches its XNNPACK operator (with
  // the packed weights) by filter id; disposing it below frees the operator.
  const wT = backend.makeOutput([fh, fw, outChannels, inChannels], 'float32');
  try {
    const dv = heapF32(backend, d);
    const g = heapF32(backend, dy);
    dv.fill(0);
    for (let b = 0; b < batchSize; b++) {
      for (let oy = 0; oy < outHeight; oy++) {
        const u = oy * strideHeight + offY;
        if (u < 0 || u >= dh) continue;
        for (let ox = 0; ox < outWidth; ox++) {
          const v = ox * strideWidth + offX;
          if (v < 0 || v >= dw) continue;
          const src = ((b * outHeight + oy) * outWidth + ox) * outChannels;
          dv.set(g.subarray(src, src + outChannels), ((b * dh + u) * dw + v) * outChannels);
        }
      }
    }
    heapF32(backend, wT).set(flipped);
    return conv.kernelFunc({
      inputs: { x: d, filter: wT },
      attrs: {
        strides: [1, 1],
        pad: 'valid',
        dataFormat: 'NHWC',
        dilations: [1, 1],
        dimRoundingMode: undefined,
      } as unknown as NamedAttrMap,
      backend,
    }) as TensorInfo;
  } finally {
    backend.disposeData(d.dataId);
    backend.disposeData(wT.dataId);
  }
};
