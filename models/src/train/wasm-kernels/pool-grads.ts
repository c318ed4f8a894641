/** `MaxPoolGrad` and `AvgPoolGrad` for wasm: the native kernels are wrong (see each kernel). */
import { backend_util, type KernelFunc, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import { heapF32, wasmBackendOf } from './common.js';
import { simdKernels } from './simd/index.js';

/** Attributes tfjs-core passes to `MaxPoolGrad` and `AvgPoolGrad` (see the pooling gradients). */
interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The pooling geometry both gradients use. Dilation is 1: tfjs-core's pooling gradients pass none.
 */
function poolGeometry(input: TensorInfo, a: MaxPoolGradAttrs) {
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  return { ...info, padTop: info.padInfo.top, padLeft: info.padInfo.left };
}

/**
 * `MaxPoolGrad` for the wasm backend, replacing the native one.
 *
 * The native wasm MaxPoolGrad (4.22.0) initialises its running maximum with
 * `std::numeric_limits<float>::min()` (the smallest *positive* float, 1.2e-38,
 * not the lowest float) and updates with `>=`. Consequences, measured against
 * float64 finite differences and the cpu backend:
 *  - a pooling window whose values are all <= 0 gets no gradient at all;
 *  - on ties it routes the gradient to the *last* maximal element, whereas
 *    TensorFlow and the cpu backend pick the first.
 * Behind a ReLU the first defect is masked (all-zero windows get zero gradient
 * from the ReLU anyway), but after conv without activation, BatchNorm, tanh,
 * LeakyReLU, etc. the gradients are wrong. This version follows TF: the
 * first maximum in row-major window order (strict `>` from -Infinity), the
 * incoming gradient added to that input position (overlapping windows
 * accumulate); padding is never selected.
 */
export const maxPoolGrad: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'MaxPoolGrad');
  const { dy, input } = inputs as NamedTensorInfoMap & { dy: TensorInfo; input: TensorInfo };
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`MaxPoolGrad (edgeloop): float32 only, got input=${input.dtype} dy=${dy.dtype}`);
  }
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    effectiveFilterHeight,
    effectiveFilterWidth,
    padTop,
    padLeft,
  } = poolGeometry(input, attrs as unknown as MaxPoolGradAttrs);

  const dxInfo = backend.makeOutput([...input.shape], 'float32');
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const dx = heapF32(backend, dxInfo);
  const C = inChannels;
  const disjoint =
    strideHeight === effectiveFilterHeight &&
    strideWidth === effectiveFilterWidth &&
    padTop === 0 &&
    padLeft === 0 &&
    outHeight * strideHeight <= inHeight &&
    outWidth * strideWidth <= inWidth;
  const simd = disjoint && strideHeight === 2 && strideWidth === 2 && C % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd) {
    // The usual 2x2 pool, four channels per instruction (kernels.wat): about 12x faster than the
    // loop below. It writes every cell of every window; only a leftover row or column needs zeros.
    if (outHeight * 2 < inHeight || outWidth * 2 < inWidth) dx.fill(0);
    simd.maxPoolGrad2x2(x.byteOffset, g.byteOffset, dx.byteOffset, batchSize, inHeight, inWidth, C, outHeight, outWidth);
    return dxInfo;
  }
  dx.fill(0);
  if (disjoint) {
    // Windows side by side, inside the input (the usual 2x2, stride 2, 'valid' pool): the same
    // rule as below, one channel at a time, with no per-window bookkeeping.
    disjointMaxPoolGrad(x, g, dx, batchSize, inHeight, inWidth, C, outHeight, outWidth, strideHeight, strideWidth);
    return dxInfo;
  }
  const maxVal = new Float32Array(C);
  const maxPos = new Int32Array(C);
  let gi = 0; // dy is [batch, outH, outW, C], walked in order
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - padTop;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(inHeight, y0 + effectiveFilterHeight);
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * strideWidth - padLeft;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(inWidth, x0 + effectiveFilterWidth);
        maxVal.fill(Number.NEGATIVE_INFINITY);
        maxPos.fill(-1);
        for (let iy = yLo; iy < yHi; iy++) {
          let base = ((b * inHeight + iy) * inWidth + xLo) * C;
          for (let ix = xLo; ix < xHi; ix++, base += C) {
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > maxVal[c]!) {
                // strict: first maximum wins, NaN never selected
                maxVal[c]! = v;
                maxPos[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < C; c++, gi++) {
          const p = maxPos[c]!;
          if (p >= 0) dx[p]! += g[gi]!;
        }
      }
    }
  }
  return dxInfo;
};

/**
 * {@link maxPoolGrad} where the windows neither overlap nor leave the input: for each window and
 * channel, the first maximum in row-major window order (strict `>` from -Infinity, so NaN is never
 * selected) gets the window's gradient. Same result, bit for bit, as the general loop.
 */
function disjointMaxPoolGrad(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  batchSize: number,
  inHeight: number,
  inWidth: number,
  C: number,
  outHeight: number,
  outWidth: number,
  kH: number,
  kW: number,
): void {
  const rowStride = inWidth * C;
  let gi = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const rowBase = (b * inHeight + oy * kH) * rowStride;
      for (let ox = 0; ox < outWidth; ox++) {
        const windowBase = rowBase + ox * kW * C;
        if (kH === 2 && kW === 2) {
          // The common 2x2 pool, unrolled: the four candidates in row-major order.
          for (let c = 0; c < C; c++, gi++) {
            const p0 = windowBase + c;
            const p2 = p0 + rowStride;
            let best = Number.NEGATIVE_INFINITY;
            let at = -1;
            let v = x[p0]!;
            if (v > best) {
              best = v;
              at = p0;
            }
            v = x[p0 + C]!;
            if (v > best) {
              best = v;
              at = p0 + C;
            }
            v = x[p2]!;
            if (v > best) {
              best = v;
              at = p2;
            }
            v = x[p2 + C]!;
            if (v > best) at = p2 + C;
            if (at >= 0) dx[at]! += g[gi]!;
          }
          continue;
        }
        for (let c = 0; c < C; c++, gi++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let wy = 0; wy < kH; wy++) {
            let p = windowBase + wy * rowStride + c;
            for (let wx = 0; wx < kW; wx++, p += C) {
              const v = x[p]!;
              if (v > best) {
                best = v;
                at = p;
              }
            }
          }
          if (at >= 0) dx[at]! += g[gi]!;
        }
      }
    }
  }
}

/**
 * `AvgPoolGrad` for the wasm backend, replacing the native one.
 *
 * The forward average pool (wasm/XNNPACK and cpu alike, as in TensorFlow)
 * divides each window sum by the number of *in-bounds* elements, so with
 * 'same' padding a border window of a 2x2 pool may average only 2 or 1
 * values. The native wasm AvgPoolGrad, and the cpu backend's too
 * (`avgMultiplier = 1 / (filterHeight * filterWidth)`), always divide by the
 * full window size, so the gradient of every window that overlaps the padding
 * is too small (relative error 0.13-0.4 against finite differences on small
 * 'same' cases; 'valid' is unaffected). This version divides by the in-bounds
 * count, matching the forward pass.
 */
export const avgPoolGrad: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'AvgPoolGrad');
  const { dy, input } = inputs as NamedTensorInfoMap & { dy: TensorInfo; input: TensorInfo };
  if (dy.dtype !== 'float32') {
    throw new Error(`AvgPoolGrad (edgeloop): float32 only, got dy=${dy.dtype}`);
  }
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    effectiveFilterHeight,
    effectiveFilterWidth,
    padTop,
    padLeft,
  } = poolGeometry(input, attrs as unknown as MaxPoolGradAttrs);

  const dxInfo = backend.makeOutput([...input.shape], 'float32');
  const g = heapF32(backend, dy);
  const dx = heapF32(backend, dxInfo);
  dx.fill(0);
  const C = inChannels;
  let gi = 0; // dy is [batch, outH, outW, C], walked in order
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - padTop;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(inHeight, y0 + effectiveFilterHeight);
      for (let ox = 0; ox < outWidth; ox++, gi += C) {
        const x0 = ox * strideWidth - padLeft;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(inWidth, x0 + effectiveFilterWidth);
        const count = (yHi - yLo) * (xHi - xLo);
        if (count <= 0) continue; // window entirely in padding: no input, no gradient
        const scale = 1 / count;
        for (let iy = yLo; iy < yHi; iy++) {
          let base = ((b * inHeight + iy) * inWidth + xLo) * C;
          for (let ix = xLo; ix < xHi; ix++, base += C) {
            for (let c = 0; c < C; c++) dx[base + c]! += g[gi + c]! * scale;
          }
        }
      }
    }
  }
  return dxInfo;
};
