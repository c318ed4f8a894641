/** `UnsortedSegmentSum` (the gradient of Gather) for wasm, which lacks it. */
import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { wasmBackendOf } from './common.js';

/**
 * `UnsortedSegmentSum` for the wasm backend (missing there; it is the
 * gradient of `Gather`, i.e. of embedding layers). Segment ids outside
 * [0, numSegments) are dropped, as in TF.
 */
export const unsortedSegmentSum: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'UnsortedSegmentSum');
  const { x, segmentIds } = inputs as NamedTensorInfoMap & { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (edgeloop): float32/int32 only, got ${x.dtype}`);
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (edgeloop): int32 segmentIds only, got ${segmentIds.dtype}`);
  }
  const rank = segmentIds.shape.length;
  const innerShape = x.shape.slice(rank);
  const inner = innerShape.reduce((a, d) => a * d, 1);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const xv = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  const ov = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  ov.fill(0);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n]!;
    if (id < 0 || id >= numSegments) continue;
    const src = n * inner;
    const dst = id * inner;
    for (let k = 0; k < inner; k++) ov[dst + k]! += xv[src + k]!;
  }
  return out;
};
