/**
 * `Identity` and `Sum` for wasm, replacing native kernels that copy more than they need to. Both
 * run in every training step: tfjs-core clones each tensor a gradient saves (an `Identity` call),
 * and the gradient of every bias add sums dy over all axes but the last.
 */
import { type KernelFunc, type NamedTensorInfoMap, type TensorInfo, util } from '@tensorflow/tfjs';
import { heapF32, nativeKernel, wasmBackendOf } from './common.js';
import { simdKernels } from './simd/index.js';

/**
 * `Identity` without a copy: the output shares the input's data, counted by reference, as the
 * cpu backend's Identity and the wasm backend's own Reshape do. The native kernel copied the
 * whole buffer (three activation-sized copies a step on the MNIST CNN, about 3% of it). Sharing
 * is safe because no kernel writes into its inputs: every one writes a fresh `makeOutput`, and a
 * variable's `assign` swaps its data id rather than writing in place. Strings still go native.
 */
export const identity: KernelFunc = (args) => {
  const { x } = args.inputs as NamedTensorInfoMap & { x: TensorInfo };
  if (x.dtype === 'string') return nativeKernel('Identity')(args);
  const backend = wasmBackendOf(args.backend, 'Identity');
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

interface SumAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * `Sum` over leading axes (`axis` = 0..k-1 of a float32 tensor), summed in one pass. This is the
 * bias gradient of conv and dense layers: sum(dy, [0, 1, 2]) of [batch, h, w, c]. The native
 * kernel first transposes the reduced axes to the end (a copy of the whole tensor) and was the
 * fourth most costly kernel of an MNIST CNN step. It accumulates in float64, as the cpu backend
 * does: in SIMD (kernels.wat) when the columns come in sixteens, else in JS. Every other reduction
 * goes to the native kernel.
 */
export const sum: KernelFunc = (args) => {
  const { x } = args.inputs as NamedTensorInfoMap & { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const rank = x.shape.length;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const k = axes.length;
  const leading = k > 0 && k < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return nativeKernel('Sum')(args);
  const backend = wasmBackendOf(args.backend, 'Sum');
  const rest = x.shape.slice(k);
  const outShape = keepDims ? [...axes.map(() => 1), ...rest] : rest;
  const inner = util.sizeFromShape(rest);
  const outer = util.sizeFromShape(x.shape.slice(0, k));
  const out = backend.makeOutput(outShape, 'float32');
  const simd = inner % 16 === 0 ? simdKernels(backend) : undefined;
  if (simd) {
    // Sixteen columns at a time in float64 (kernels.wat), into a scratch of `inner` float64s.
    const sums = backend.makeOutput([inner * 2], 'float32');
    try {
      const scratch = heapF32(backend, sums);
      simd.sumColumns(heapF32(backend, x).byteOffset, scratch.byteOffset, outer, inner);
      heapF32(backend, out).set(new Float64Array(scratch.buffer, scratch.byteOffset, inner));
    } finally {
      backend.disposeData(sums.dataId);
    }
    return out;
  }
  // Views after the allocation: a malloc may grow (and detach) the heap.
  heapF32(backend, out).set(sumLeading(heapF32(backend, x), outer, inner));
  return out;
};

/**
 * Column sums of a row-major [outer, inner] matrix, in float64: the JS path, for column counts
 * that are not a multiple of 16. Four columns at a time, each in its own local accumulator, then
 * one at a time: about 3x faster in V8 than adding each row into an accumulator array.
 */
export function sumLeading(src: Float32Array, outer: number, inner: number): Float64Array {
  const acc = new Float64Array(inner);
  const end = outer * inner;
  let i = 0;
  for (; i + 4 <= inner; i += 4) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let at = i; at < end; at += inner) {
      s0 += src[at]!;
      s1 += src[at + 1]!;
      s2 += src[at + 2]!;
      s3 += src[at + 3]!;
    }
    acc.set([s0, s1, s2, s3], i);
  }
  for (; i < inner; i++) {
    let s = 0;
    for (let at = i; at < end; at += inner) s += src[at]!;
    acc[i] = s;
  }
  return acc;
}
