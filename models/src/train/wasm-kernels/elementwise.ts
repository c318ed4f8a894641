/**
 * Two element-wise steps of every conv layer's training step, as SIMD kernels (simd/kernels.wat):
 *  - `Add` of a bias over the last axis (the forward pass of every conv and dense layer). The
 *    native kernel goes through a general broadcasting loop, about 2 ns an element.
 *  - the ReLU gradient, which tfjs computes as Step, Cast and Multiply: three kernels and two
 *    intermediate tensors the size of the activation. Ours is one kernel, `EdgeloopReluGrad`,
 *    behind a replacement of the Relu gradient that uses it on the wasm backend only.
 * Both give the same float32 results as the kernels they replace, NaN and infinities included.
 */
import {
  engine,
  type GradConfig,
  getBackend,
  getGradient,
  type KernelFunc,
  type NamedTensorInfoMap,
  registerGradient,
  type Tensor,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import { heapF32, nativeKernel, wasmBackendOf } from './common.js';
import { simdKernels } from './simd/index.js';

/** `Add` for wasm: a float32 bias over the last axis (channels in fours) in SIMD; all else native. */
export const add: KernelFunc = (args) => {
  const native = nativeKernel('Add');
  const { a, b } = args.inputs as NamedTensorInfoMap & { a: TensorInfo; b: TensorInfo };
  const c = a.shape.at(-1) ?? 0;
  const isBias =
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    a.shape.length >= 2 &&
    c > 0 &&
    c % 4 === 0 &&
    util.sizeFromShape(b.shape) === c &&
    b.shape.at(-1) === c &&
    b.shape.length <= a.shape.length;
  if (!isBias) return native(args);
  const backend = wasmBackendOf(args.backend, 'Add');
  const simd = simdKernels(backend);
  if (!simd) return native(args);
  const out = backend.makeOutput([...a.shape], 'float32');
  const rows = util.sizeFromShape(a.shape) / c;
  simd.biasAdd(heapF32(backend, a).byteOffset, heapF32(backend, b).byteOffset, heapF32(backend, out).byteOffset, rows, c);
  return out;
};

export const RELU_GRAD = 'EdgeloopReluGrad';

/** dy · step(x) in one pass (wasm only; registered under {@link RELU_GRAD}). */
export const reluGrad: KernelFunc = ({ inputs, backend: given }) => {
  const backend = wasmBackendOf(given, RELU_GRAD);
  const { dy, x } = inputs as NamedTensorInfoMap & { dy: TensorInfo; x: TensorInfo };
  const out = backend.makeOutput([...x.shape], 'float32');
  const n = util.sizeFromShape(x.shape);
  const vDy = heapF32(backend, dy);
  const vX = heapF32(backend, x);
  const vOut = heapF32(backend, out);
  const simd = simdKernels(backend);
  const bulk = simd ? n - (n % 4) : 0;
  if (simd && bulk > 0) simd.reluGrad(vDy.byteOffset, vX.byteOffset, vOut.byteOffset, bulk);
  for (let i = bulk; i < n; i++) {
    const v = vX[i]!;
    vOut[i] = v > 0 ? vDy[i]! : Number.isNaN(v) ? Number.NaN : vDy[i]! * 0;
  }
  return out;
};

let installed = false;

/**
 * Replaces tfjs's Relu gradient with one that runs {@link RELU_GRAD} on the wasm backend and the
 * original formula on every other backend. The gradient registry is global, so this is done once.
 */
export function installReluGradient(): void {
  if (installed) return;
  const original = getGradient('Relu');
  if (!original) throw new Error('installReluGradient: no Relu gradient registered (import @tensorflow/tfjs first)');
  const config: GradConfig = {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (getBackend() !== 'wasm') return original.gradFunc(dy, saved, attrs);
      const [x] = saved as Tensor[];
      return { x: () => engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x: x! }) as Tensor };
    },
  };
  registerGradient(config);
  installed = true;
}
