/**
 * A conv layer's training step as three kernels instead of seven. tfjs-core runs a `Conv2D` layer
 * with a bias and ReLU unfused whenever it records gradients (`shouldFuse` in its fused ops), so
 * a training step spends a forward `Conv2D`, `Add` and `Relu`, and a backward ReLU gradient and
 * bias `Sum`, each a full pass over the activation. Here:
 *
 *  - `EdgeloopConv2DBiasRelu` (forward) computes relu(conv(x, W) + b) in one kernel: on the grid
 *    path (conv2d-grid.ts) the worker threads add the bias and clamp as they store each sum, in
 *    the same float32 operations as the separate `Add` and `Relu`; elsewhere the native
 *    `FusedConv2D` (XNNPACK, bias and ReLU fused) runs it.
 *  - its gradient runs `EdgeloopReluGradSum`: dy·step(y) and the bias gradient (column sums in
 *    float64, as our `Sum`) in one pass over dy, then the `Conv2DBackpropInput` and
 *    `Conv2DBackpropFilter` kernels on the result, each only where tfjs asks for that gradient.
 *
 * The training step of train/fused-step.ts calls {@link conv2dBiasRelu} in place of such a layer's
 * own call, on the wasm backend only.
 */
import {
  backend_util,
  engine,
  type GradConfig,
  getKernel,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type Tensor,
  type Tensor1D,
  type Tensor4D,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import { BACKEND, heapF32, wasmBackendOf } from './common.js';
import { gridConv2D } from './conv2d-grid.js';
import { reluGrad } from './elementwise.js';
import { sum } from './identity-sum.js';
import { simdKernels } from './simd/index.js';

export const CONV_BIAS_RELU = 'EdgeloopConv2DBiasRelu';
export const RELU_GRAD_SUM = 'EdgeloopReluGradSum';

/** The convolution's attributes, as tfjs-core's `Conv2D` takes them (NHWC, dilation 1). */
export interface ConvBlockAttrs {
  strides: [number, number];
  pad: 'valid' | 'same';
}

/** The Conv2DInfo of an NHWC convolution with dilation 1 (the fused ops' convolutions). */
export function nhwcConvInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: [number, number],
  pad: 'valid' | 'same',
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    undefined,
    false,
    'channelsLast',
  );
}

/** relu(conv2d(x, filter) + bias), NHWC, float32 (wasm only; registered under {@link CONV_BIAS_RELU}). */
export const conv2DBiasRelu: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, CONV_BIAS_RELU);
  const { x, filter, bias } = inputs as NamedTensorInfoMap & { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  const a = attrs as unknown as ConvBlockAttrs;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || bias.dtype !== 'float32') {
    throw new Error(`${CONV_BIAS_RELU}: float32 only, got x=${x.dtype} filter=${filter.dtype} bias=${bias.dtype}`);
  }
  const info = nhwcConvInfo(x.shape, filter.shape, a.strides, a.pad);
  if (bias.shape.length !== 1 || bias.shape[0] !== info.outChannels) {
    throw new Error(`${CONV_BIAS_RELU}: bias shape [${bias.shape.join(',')}] != [${info.outChannels}]`);
  }
  const y = gridConv2D(backend, x, filter, info, { bias, relu: true });
  if (y) return y;
  const fused = getKernel('FusedConv2D', BACKEND);
  if (!fused) throw new Error(`${CONV_BIAS_RELU}: the wasm FusedConv2D kernel is missing`);
  return fused.kernelFunc({
    inputs: { x, filter, bias },
    backend,
    attrs: { ...a, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation: 'relu' } as unknown as NamedAttrMap,
  });
};

/**
 * [dy·step(y), Σ over all axes but the last of it] (wasm only; registered under
 * {@link RELU_GRAD_SUM}): the ReLU gradient as `EdgeloopReluGrad` gives it and the bias gradient
 * as our `Sum` gives it, in one pass when the channels come in sixteens.
 */
export const reluGradSum: KernelFunc = ({ inputs, backend: given }) => {
  const backend = wasmBackendOf(given, RELU_GRAD_SUM);
  const { dy, y } = inputs as NamedTensorInfoMap & { dy: TensorInfo; y: TensorInfo };
  const c = y.shape.at(-1) ?? 0;
  const simd = c % 16 === 0 && c > 0 ? simdKernels(backend) : undefined;
  if (!simd) {
    // The two kernels this one fuses, called directly (their outputs are ours to return).
    const act = reluGrad({ inputs: { dy, x: y }, backend, attrs: {} }) as TensorInfo;
    try {
      const axis = y.shape.slice(0, -1).map((_, i) => i);
      return [act, sum({ inputs: { x: act }, backend, attrs: { axis, keepDims: false } as unknown as NamedAttrMap }) as TensorInfo];
    } catch (error) {
      backend.disposeData(act.dataId);
      throw error;
    }
  }
  const rows = util.sizeFromShape(y.shape) / c;
  const act = backend.makeOutput([...y.shape], 'float32');
  const total = backend.makeOutput([c], 'float32');
  const scratch = backend.makeOutput([c * 2], 'float32');
  try {
    // Views after every allocation: a malloc may grow (and detach) the heap.
    const sums = heapF32(backend, scratch);
    simd.reluGradSum(
      heapF32(backend, dy).byteOffset,
      heapF32(backend, y).byteOffset,
      heapF32(backend, act).byteOffset,
      sums.byteOffset,
      rows,
      c,
    );
    heapF32(backend, total).set(new Float64Array(sums.buffer, sums.byteOffset, c));
  } catch (error) {
    backend.disposeData(act.dataId);
    backend.disposeData(total.dataId);
    throw error;
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return [act, total];
};

/** The gradient of {@link CONV_BIAS_RELU}: each of dx, dW and db computed only when asked for. */
export const conv2DBiasReluGradConfig: GradConfig = {
  kernelName: CONV_BIAS_RELU,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved as [Tensor4D, Tensor4D, Tensor4D];
    const { strides, pad } = attrs as unknown as ConvBlockAttrs;
    // Both gradients of the weights need dy·step(y); the bias's is its sum. Computed once, here
    // (the backward pass's scope frees them when it ends).
    const [act, db] = engine().runKernel(RELU_GRAD_SUM, { dy: dy as Tensor, y }) as [Tensor4D, Tensor1D];
    const conv = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    return {
      x: () =>
        engine().runKernel('Conv2DBackpropInput', { dy: act, filter }, {
          ...conv,
          inputShape: x.shape,
        } as unknown as NamedAttrMap) as Tensor,
      filter: () =>
        engine().runKernel('Conv2DBackpropFilter', { x, dy: act }, {
          ...conv,
          filterShape: filter.shape,
        } as unknown as NamedAttrMap) as Tensor,
      bias: () => db,
    };
  },
};

/** relu(conv2d(x, filter, strides, pad) + bias) as one recorded op; the wasm backend only. */
export function conv2dBiasRelu(x: Tensor4D, filter: Tensor4D, bias: Tensor1D, attrs: ConvBlockAttrs): Tensor4D {
  return engine().runKernel(CONV_BIAS_RELU, { x, filter, bias }, attrs as unknown as NamedAttrMap) as Tensor4D;
}
