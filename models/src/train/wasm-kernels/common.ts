/** Shared helpers of the wasm training kernels: backend checks and views of the wasm heap. */
import { type backend_util, type GradConfig, type KernelFunc, registerGradient, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const BACKEND = 'wasm';

/** Native wasm kernels this module replaced, kept for delegation. */
export const nativeKernels = new Map<string, KernelFunc>();

/** The native kernel `name` that one of ours replaced and delegates to; throws if none was recorded. */
export function nativeKernel(name: string): KernelFunc {
  const native = nativeKernels.get(name);
  if (!native) throw new Error(`${name} (edgeloop): the native wasm kernel was not recorded`);
  return native;
}

/** Attributes tfjs-core passes to `Conv2DBackpropFilter` (see conv2d's gradient). */
export interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function isWasmBackend(b: unknown): b is BackendWasm {
  return typeof b === 'object' && b !== null && 'typedArrayFromHeap' in b && 'makeOutput' in b && 'dataIdMap' in b;
}

/** The backend a kernel was called with, as the wasm backend; throws naming the kernel otherwise. */
export function wasmBackendOf(backend: unknown, kernel: string): BackendWasm {
  if (!isWasmBackend(backend)) throw new Error(`${kernel} (edgeloop): expected the wasm backend`);
  return backend;
}

/** Throws unless dy has the [batch, outH, outW, outC] shape the conv info implies. */
export function checkDyShape(kernel: string, dy: TensorInfo, info: backend_util.Conv2DInfo): void {
  const want = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== want[i])) {
    throw new Error(`${kernel} (edgeloop): dy shape [${dy.shape.join(',')}] != expected [${want.join(',')}]`);
  }
}

export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  // Views must be taken *after* all allocations: a malloc may grow (and
  // detach) the wasm memory buffer.
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * A fresh float32 output of `shape`, filled by `fill` (given its heap view, taken after the
 * allocation). Undefined, with the output freed, when `fill` returns false (its path does not
 * apply after all); freed and rethrown when `fill` throws.
 */
export function filledOutput(backend: BackendWasm, shape: readonly number[], fill: (out: Float32Array) => boolean): TensorInfo | undefined {
  const out = backend.makeOutput([...shape], 'float32');
  let filled = false;
  try {
    filled = fill(heapF32(backend, out));
  } finally {
    if (!filled) backend.disposeData(out.dataId);
  }
  return filled ? out : undefined;
}

const gradientsRegistered = new Set<string>();

/** Registers the gradient of one of our kernels, once (the registry is global; a second time would warn). */
export function registerGradientOnce(config: GradConfig): void {
  if (gradientsRegistered.has(config.kernelName)) return;
  registerGradient(config);
  gradientsRegistered.add(config.kernelName);
}
