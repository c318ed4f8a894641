/**
 * Training kernels for `@tensorflow/tfjs-backend-wasm` (checked on 4.22.0), so
 * that tf.layers models (conv2d / maxPooling2d / dense ...) can be trained on
 * the wasm backend, correctly and fast. Register with
 * {@link registerWasmTrainingKernels} after importing the wasm backend.
 *
 * Findings behind each kernel (details and numbers: FINDINGS.md):
 *
 * 1. `Conv2DBackpropFilter` is MISSING on wasm. Training
 *    conv(3x3,relu) -> maxpool -> conv -> maxpool -> flatten -> dense ->
 *    softmax with tf.layers throws "Kernel 'Conv2DBackpropFilter' not
 *    registered for backend 'wasm'"; it is the only kernel that throws.
 *    Routing it through the wasm `Conv3DBackpropFilterV2` kernel with depth 1
 *    is correct only at stride 1: that kernel's C++ loop bounds
 *    (conv3d_impl.h, NDHWCConv3DBackpropFilterV2Impl)
 *      yr_min = max(0, DivCeil(pad_top - wr, stride))  // a/b + (a%b != 0)
 *      yr_max = min(out_h, DivFloor(in_h + pad_top - wr, stride))
 *    are wrong for stride > 1. C++ `/` truncates toward zero, so
 *    DivCeil(-1, 2) == 1 instead of 0 and output row 0 is skipped for taps
 *    wr > pad_top; and the exclusive upper bound must be
 *    ceil((in_h + pad_top - wr) / stride), not floor, so the last output row
 *    is skipped whenever (in_h + pad_top - wr) % stride != 0. Same for
 *    columns. With stride 1 both expressions are exact, hence "matches cpu at
 *    stride 1, not at stride 2". Against float64 finite differences the cpu
 *    backend is right (error ~1e-8) and the Conv3D route is wrong (relative
 *    error 0.3-0.8) at every stride-2 shape tried, 'same' and 'valid'.
 *    Used here instead: im2col written by a JS loop straight into the wasm
 *    heap + the wasm `BatchMatMul` kernel on its XNNPACK path,
 *    dW[K, outC] = patchesT[K, M] x dy[M, outC] (K = fh*fw*inC,
 *    M = batch*outH*outW). Correct for all strides/paddings, and ~15x faster
 *    than the Conv3D route on the MNIST CNN's second conv layer. At stride 1
 *    the rows of patchesT are plain shifted copies of a padded grid instead
 *    (see fillGrids), and with outC a multiple of 16 the product runs in a
 *    SIMD kernel of our own (simd/kernels.wat).
 *
 * 2. `MaxPoolGrad` exists on wasm but is WRONG: see {@link maxPoolGrad}.
 *    Replaced with a JS implementation following TF semantics (also ~3x
 *    faster than the native one).
 *
 * 3. `Conv2DBackpropInput` exists and is correct (matches finite
 *    differences at strides 1 and 2) but is a scalar C++ loop and was the
 *    most expensive kernel of a training step. Replaced, for speed, by a
 *    stride-1 XNNPACK convolution of the zero-dilated dy with the flipped
 *    filter (~7x faster on the CNN's second layer); the native kernel is still
 *    used for single-input-channel and NCHW cases.
 *
 * 4. `AvgPoolGrad` exists on wasm but is WRONG with 'same' padding: see
 *    {@link avgPoolGrad}. (The cpu backend has the same bug.) Replaced.
 *
 * 5. Also missing, found by training other layer types: the two depthwise
 *    backprop kernels (depthwiseConv2d / separableConv2d) and
 *    `UnsortedSegmentSum` (embedding). Provided in plain JS; correct but not
 *    XNNPACK-accelerated.
 *
 * 6. `Identity` and `Sum` run in every step and copied more than needed: see identity-sum.ts.
 *    The bias `Add` and the ReLU gradient were slow element-wise passes: see elementwise.ts.
 *    MaxPoolGrad's 2x2 case and the stride-1 filter gradient with outC in sixteens use SIMD
 *    kernels of our own (simd/kernels.wat) that work on tfjs's memory in place.
 *
 * The gradients of batchNorm, dropout, leakyReLU, elu, tanh, sigmoid and
 * conv2dTranspose train without error with tfjs's own kernels; they were not
 * checked numerically. The ReLU gradient is ours and is checked.
 *
 * @packageDocumentation
 */

import { getKernel, getKernelsForBackend, type KernelConfig, type KernelFunc, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import { ADAM_UPDATE, adamUpdate } from './adam.js';
import { batchMatMul } from './batch-mat-mul.js';
import { BACKEND, nativeKernels, registerGradientOnce } from './common.js';
import { CONV_BIAS_RELU, conv2DBiasRelu, conv2DBiasReluGradConfig, RELU_GRAD_SUM, reluGradSum } from './conv-block.js';
import { CONV_POOL, CONV_POOL_GRAD, conv2DBiasReluMaxPool, convPoolGrad, convPoolGradConfig } from './conv-pool-block.js';
import { conv2DBackpropFilter } from './conv2d-backprop-filter.js';
import { conv2DBackpropInput } from './conv2d-backprop-input.js';
import { conv2D } from './conv2d-grid.js';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './depthwise-backprop.js';
import { add, installReluGradient, RELU_GRAD, reluGrad } from './elementwise.js';
import { identity, sum } from './identity-sum.js';
import { avgPoolGrad, maxPoolGrad } from './pool-grads.js';
import { unsortedSegmentSum } from './unsorted-segment-sum.js';

interface ProvidedKernel {
  config: KernelConfig;
  /** Why this module provides it (for the record; not used at runtime). */
  reason: 'missing' | 'native-kernel-wrong' | 'native-kernel-slow' | 'fused';
}

const provided = (kernelName: string, kernelFunc: KernelFunc, reason: ProvidedKernel['reason']): ProvidedKernel => ({
  config: { kernelName, backendName: BACKEND, kernelFunc },
  reason,
});

const PROVIDED: readonly ProvidedKernel[] = [
  provided('BatchMatMul', batchMatMul, 'native-kernel-slow'),
  provided('Conv2D', conv2D, 'native-kernel-slow'),
  provided('Conv2DBackpropFilter', conv2DBackpropFilter, 'missing'),
  provided('Conv2DBackpropInput', conv2DBackpropInput, 'native-kernel-slow'),
  provided('MaxPoolGrad', maxPoolGrad, 'native-kernel-wrong'),
  provided('AvgPoolGrad', avgPoolGrad, 'native-kernel-wrong'),
  provided('DepthwiseConv2dNativeBackpropFilter', depthwiseConv2dNativeBackpropFilter, 'missing'),
  provided('DepthwiseConv2dNativeBackpropInput', depthwiseConv2dNativeBackpropInput, 'missing'),
  provided('UnsortedSegmentSum', unsortedSegmentSum, 'missing'),
  provided('Identity', identity, 'native-kernel-slow'),
  provided('Sum', sum, 'native-kernel-slow'),
  provided('Add', add, 'native-kernel-slow'),
  provided(RELU_GRAD, reluGrad, 'missing'),
  provided(ADAM_UPDATE, adamUpdate, 'fused'),
  provided(CONV_BIAS_RELU, conv2DBiasRelu, 'fused'),
  provided(RELU_GRAD_SUM, reluGradSum, 'fused'),
  provided(CONV_POOL, conv2DBiasReluMaxPool, 'fused'),
  provided(CONV_POOL_GRAD, convPoolGrad, 'fused'),
];

/**
 * Registers, for backendName 'wasm', the training kernels that
 * `@tensorflow/tfjs-backend-wasm` 4.22.0 lacks, gets wrong, or runs slowly:
 *  - `Conv2DBackpropFilter`: missing; needed by every trainable conv2d layer;
 *  - `MaxPoolGrad`: native one drops the gradient of windows whose values are
 *    all <= 0 and breaks ties the wrong way; replaced;
 *  - `Conv2DBackpropInput`: native one is correct but slow; replaced by an
 *    XNNPACK-based version (delegates to the native one for inC == 1 / NCHW);
 *  - `AvgPoolGrad`: native one divides border windows of 'same' padding by the
 *    full window size instead of the in-bounds count the forward pass uses;
 *    replaced;
 *  - `DepthwiseConv2dNativeBackpropFilter` / `...BackpropInput`: missing;
 *    needed by depthwiseConv2d / separableConv2d layers (plain JS);
 *  - `UnsortedSegmentSum`: missing; the gradient of Gather (embedding layers);
 *  - `BatchMatMul`: native one is slow with transpose flags (every Dense gradient); transposes first;
 *  - `Identity`: native one copies; ours shares the data by reference (tfjs clones every tensor a
 *    gradient saves);
 *  - `Sum`: native one transposes the whole tensor before reducing leading axes (every bias
 *    gradient); ours sums them in one pass and delegates every other reduction;
 *  - `Add`: a bias over the last axis runs in SIMD (simd/kernels.wat); every other Add is native;
 *  - `EdgeloopReluGrad`: ours, with the Relu gradient replaced to use it on wasm (one pass
 *    instead of Step, Cast and Multiply);
 *  - `Conv2D`: stride 1 with outputs in sixteens runs on a padded grid, split over threads
 *    (conv2d-grid.ts); the rest is native;
 *  - `EdgeloopAdamUpdate`: ours, one Adam step of a variable in one pass (adam.ts);
 *  - `EdgeloopConv2DBiasRelu` and `EdgeloopReluGradSum`: ours, a conv layer with bias and ReLU
 *    as one op with its gradient (conv-block.ts), which train/fused-step.ts uses;
 *  - `EdgeloopConv2DBiasReluMaxPool` and `EdgeloopConvPoolGrad`: ours, such a layer and the 2×2
 *    max pool after it as one op on the worker threads (conv-pool-block.ts), likewise.
 * The gradient kernels are checked against float64 finite differences, and the
 * others element by element against tfjs's own results, in
 * wasm-kernels/kernels.test.ts. This module's kernels also replace any
 * native kernel of the same name a later tfjs-backend-wasm might add; re-check
 * the findings before upgrading.
 *
 * Idempotent: a kernel already served by this module is left as is, so
 * repeated calls are no-ops. Call it after `@tensorflow/tfjs-backend-wasm`
 * has been imported (it throws otherwise), before or after
 * `tf.setBackend('wasm')`.
 *
 * @returns the names of the kernels this module now serves on 'wasm' (the
 *   same list on every call).
 */
export function registerWasmTrainingKernels(): string[] {
  if (getKernelsForBackend(BACKEND).length === 0) {
    // Registering now would be undone when tfjs-backend-wasm registers its own
    // kernels (e.g. its broken MaxPoolGrad) on import.
    throw new Error('registerWasmTrainingKernels: import @tensorflow/tfjs-backend-wasm first');
  }
  const names: string[] = [];
  for (const { config } of PROVIDED) {
    const current = getKernel(config.kernelName, BACKEND);
    if (current?.kernelFunc !== config.kernelFunc) {
      if (current != null) {
        nativeKernels.set(config.kernelName, current.kernelFunc);
        // unregister first so replacing a native kernel does not log a warning
        unregisterKernel(config.kernelName, BACKEND);
      }
      // Keep the native setupFunc (it cwraps the C++ entry point when the
      // backend initialises) so that delegating to the native kernel works
      // even if we were registered before tf.setBackend('wasm').
      registerKernel({ ...config, setupFunc: current?.setupFunc ?? config.setupFunc });
    }
    names.push(config.kernelName);
  }
  installReluGradient();
  registerGradientOnce(conv2DBiasReluGradConfig);
  registerGradientOnce(convPoolGradConfig);
  return names;
}
