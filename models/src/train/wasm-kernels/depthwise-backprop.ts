/** The depthwise convolution backprop kernels the wasm backend lacks (plain JS). */
import { backend_util, type KernelFunc, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import { checkDyShape, heapF32, wasmBackendOf } from './common.js';

/** Attributes tfjs-core passes to the depthwise backprop kernels. */
interface DepthwiseBackpropAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The convolution geometry both depthwise kernels use, after checking dy's shape against it. */
function depthwiseGeometry(inShape: number[], filterShape: number[], a: DepthwiseBackpropAttrs, dy: TensorInfo) {
  const info = backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true /* depthwise */,
  );
  checkDyShape('DepthwiseConv2dNativeBackprop', dy, info);
  return { ...info, mult: info.outChannels / info.inChannels, padTop: info.padInfo.top, padLeft: info.padInfo.left };
}

/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing there;
 * needed to train depthwiseConv2d / separableConv2d layers). Plain JS over
 * the wasm heap, float64 accumulation per filter tap. Output channel
 * k = c * multiplier + q, as in TF's depthwise layout.
 */
export const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'DepthwiseConv2dNativeBackpropFilter');
  const { x, dy } = inputs as NamedTensorInfoMap & { x: TensorInfo; dy: TensorInfo };
  const { filterShape } = attrs as unknown as { filterShape: [number, number, number, number] };
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    dilationHeight,
    dilationWidth,
    mult,
    padTop,
    padLeft,
  } = depthwiseGeometry(x.shape, filterShape, attrs as unknown as DepthwiseBackpropAttrs, dy);

  const dwInfo = backend.makeOutput([...filterShape], 'float32');
  const xv = heapF32(backend, x);
  const g = heapF32(backend, dy);
  const dw = heapF32(backend, dwInfo);
  const acc = new Float64Array(outChannels);
  for (let i = 0; i < filterHeight; i++) {
    const offY = i * dilationHeight - padTop;
    const oyLo = Math.max(0, Math.ceil(-offY / strideHeight));
    const oyHi = Math.min(outHeight, Math.ceil((inHeight - offY) / strideHeight));
    for (let j = 0; j < filterWidth; j++) {
      const offX = j * dilationWidth - padLeft;
      const oxLo = Math.max(0, Math.ceil(-offX / strideWidth));
      const oxHi = Math.min(outWidth, Math.ceil((inWidth - offX) / strideWidth));
      acc.fill(0);
      for (let b = 0; b < batchSize; b++) {
        for (let oy = oyLo; oy < oyHi; oy++) {
          const rowX = (b * inHeight + oy * strideHeight + offY) * inWidth;
          const rowY = (b * outHeight + oy) * outWidth;
          for (let ox = oxLo; ox < oxHi; ox++) {
            const xo = (rowX + ox * strideWidth + offX) * inChannels;
            const yo = (rowY + ox) * outChannels;
            for (let c = 0; c < inChannels; c++) {
              const v = xv[xo + c]!;
              const k0 = c * mult;
              for (let q = 0; q < mult; q++) acc[k0 + q]! += v * g[yo + k0 + q]!;
            }
          }
        }
      }
      const base = (i * filterWidth + j) * outChannels;
      for (let k = 0; k < outChannels; k++) dw[base + k]! = acc[k]!;
    }
  }
  return dwInfo;
};

/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (missing there).
 * Plain JS scatter over the wasm heap.
 */
export const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'DepthwiseConv2dNativeBackpropInput');
  const { dy, filter } = inputs as NamedTensorInfoMap & { dy: TensorInfo; filter: TensorInfo };
  const { inputShape } = attrs as unknown as { inputShape: [number, number, number, number] };
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    dilationHeight,
    dilationWidth,
    mult,
    padTop,
    padLeft,
  } = depthwiseGeometry(inputShape, filter.shape, attrs as unknown as DepthwiseBackpropAttrs, dy);

  const dxInfo = backend.makeOutput([...inputShape], 'float32');
  const g = heapF32(backend, dy);
  const w = heapF32(backend, filter);
  const dx = heapF32(backend, dxInfo);
  dx.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const yo = ((b * outHeight + oy) * outWidth + ox) * outChannels;
        for (let i = 0; i < filterHeight; i++) {
          const iy = oy * strideHeight + i * dilationHeight - padTop;
          if (iy < 0 || iy >= inHeight) continue;
          for (let j = 0; j < filterWidth; j++) {
            const ix = ox * strideWidth + j * dilationWidth - padLeft;
            if (ix < 0 || ix >= inWidth) continue;
            const xo = ((b * inHeight + iy) * inWidth + ix) * inChannels;
            const wo = (i * filterWidth + j) * outChannels;
            for (let c = 0; c < inChannels; c++) {
              const k0 = c * mult;
              let sum = 0;
              for (let q = 0; q < mult; q++) sum += g[yo + k0 + q]! * w[wo + k0 + q]!;
              dx[xo + c]! += sum;
            }
          }
        }
      }
    }
  }
  return dxInfo;
};
