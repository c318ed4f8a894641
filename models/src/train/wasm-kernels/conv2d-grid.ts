/**
 * Stride-1 convolutions on a zero-padded grid, split over threads (simd/parallel.ts): the forward
 * `Conv2D` and the stride-1 `Conv2DBackpropInput` of the wasm training backend.
 *
 * The input (x, or dy for the input gradient) is copied, NHWC, into a grid of gh × gw cells per
 * image with the padding as zeros. Output (oy, ox) of image b then meets filter tap (i, j) at grid
 * cell (b·gh + oy + i)·gw + ox + j, so every tap is a fixed offset from the output's own cell and
 * no im2col is needed. `convRows` of kernels.wat sums the taps for whole output rows; the rows are
 * shared out between the threads.
 */
import { backend_util, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { filledOutput, heapF32, nativeKernel, wasmBackendOf } from './common.js';
import { type ParallelKernels, parallelKernels } from './simd/parallel.js';

/**
 * Products smaller than this many multiply-adds stay on XNNPACK: below it, handing rows to another
 * thread costs more than it saves (a batch-1 inference, say).
 */
export const GRID_CONV_MIN_MACS = 4_000_000;

/** A stride-1 convolution's shape, in grid terms. */
export interface GridConv {
  batch: number;
  /** The source tensor [batch, h, w, c] (NHWC). */
  h: number;
  w: number;
  c: number;
  /** Where source (0, 0) lies in the grid; negative values crop the source. */
  top: number;
  left: number;
  /** Grid rows and columns per image: outH + fh − 1 and outW + fw − 1. */
  gh: number;
  gw: number;
  fh: number;
  fw: number;
  outH: number;
  outW: number;
  /** Output channels; a multiple of 16. */
  n: number;
}

/**
 * Input channels below this stay on XNNPACK: with one channel (a grayscale first layer) each tap
 * is a single multiply-add per output, the kernel's loops cost more than its arithmetic, and
 * XNNPACK measured faster even against two threads.
 */
export const GRID_CONV_MIN_CHANNELS = 8;

/** Where a source lies on a grid: the fields {@link fillNhwcGrid} reads. */
export type GridPlacement = Pick<GridConv, 'batch' | 'h' | 'w' | 'c' | 'top' | 'left' | 'gh' | 'gw'>;

/** The grid of a stride-1 forward convolution: x placed at its padding, gh × gw = (outH + fh − 1) × (outW + fw − 1). */
export function forwardGrid(info: backend_util.Conv2DInfo): GridConv {
  return {
    batch: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    top: info.padInfo.top,
    left: info.padInfo.left,
    gh: info.outHeight + info.filterHeight - 1,
    gw: info.outWidth + info.filterWidth - 1,
    fh: info.filterHeight,
    fw: info.filterWidth,
    outH: info.outHeight,
    outW: info.outWidth,
    n: info.outChannels,
  };
}

/**
 * The grid of a stride-1 input gradient: dy placed at (fh − 1 − padTop, fw − 1 − padLeft) on a
 * zero-padded (inH + fh − 1) × (inW + fw − 1) grid, whose convolution with the flipped filter
 * ({@link flippedFilter} in conv2d-backprop-input.ts) is dx.
 */
export function inputGradGrid(info: backend_util.Conv2DInfo): GridConv {
  const { filterHeight: fh, filterWidth: fw } = info;
  return {
    batch: info.batchSize,
    h: info.outHeight,
    w: info.outWidth,
    c: info.outChannels,
    top: fh - 1 - info.padInfo.top,
    left: fw - 1 - info.padInfo.left,
    gh: info.inHeight + fh - 1,
    gw: info.inWidth + fw - 1,
    fh,
    fw,
    outH: info.inHeight,
    outW: info.inWidth,
    n: info.inChannels,
  };
}

/** Whether the grid path takes this convolution: outputs in sixteens, enough channels, enough work to split. */
export function gridConvApplies(g: GridConv): boolean {
  const macs = g.batch * g.outH * g.outW * g.fh * g.fw * g.c * g.n;
  return g.n % 16 === 0 && g.c >= GRID_CONV_MIN_CHANNELS && macs >= GRID_CONV_MIN_MACS;
}

/**
 * Writes every cell of `grid` ([batch, gh, gw, c]): source (y, x) of `src` ([batch, h, w, c]) goes
 * to grid (y + top, x + left), and every other cell is zero. Source rows and columns outside the
 * grid are dropped. One pass, row by row: a copy where the source lies, zeros around it (zeroing the
 * whole grid first would write most of it twice).
 */
export function fillNhwcGrid(src: Float32Array, grid: Float32Array, g: GridPlacement): void {
  const { batch, h, w, c, top, left, gh, gw } = g;
  const xLo = Math.max(0, -left);
  const xHi = Math.max(xLo, Math.min(w, gw - left));
  const rowFloats = gw * c;
  // Floats of a grid row before and after the copied span.
  const before = (xLo + left) * c;
  const after = before + (xHi - xLo) * c;
  for (let b = 0; b < batch; b++) {
    for (let gy = 0; gy < gh; gy++) {
      const at = (b * gh + gy) * rowFloats;
      const y = gy - top;
      if (y < 0 || y >= h || xHi === xLo) {
        grid.fill(0, at, at + rowFloats);
        continue;
      }
      if (before > 0) grid.fill(0, at, at + before);
      const from = ((b * h + y) * w + xLo) * c;
      grid.set(src.subarray(from, from + (xHi - xLo) * c), at + before);
      if (after < rowFloats) grid.fill(0, at + after, at + rowFloats);
    }
  }
}

/** What a conv layer does to its sums before they are stored: add its bias ([n]), then apply ReLU. */
export interface ConvEpilogue {
  bias?: Float32Array;
  relu: boolean;
}

/** Where a grid convolution left its result: `rows` rows of `owp` cells of n floats at byte `outAt`. */
export interface SharedConvOutput {
  outAt: number;
  rows: number;
  owp: number;
  /** Byte offsets of the extra room the caller asked for. */
  extra: number[];
}

/**
 * The float counts of a grid convolution's operands, in the order {@link convolveGrid} takes their
 * offsets: the grid with a spare row of cells, the weights, the tap offsets, the output
 * ([batch·outH, owp, n], owp = outW rounded up to even) and the bias (0 without one).
 */
export function gridConvCounts(g: GridConv, withBias: boolean): number[] {
  const { batch, c, gh, gw, fh, fw, outH, outW, n } = g;
  return [(batch * gh * gw + gw) * c, fh * fw * c * n, fh, batch * outH * (outW + (outW % 2)) * n, withBias ? n : 0];
}

/**
 * Runs `convRows` over the threads on a grid and weights already in the shared memory, at the
 * offsets `at` of a reservation made as {@link gridConvCounts} says (with the bias in place when
 * the epilogue has one). It zeroes the grid's spare row itself: cells are computed in pairs, so a
 * row of odd width computes one more cell, which reads at most one cell past the grid.
 */
export function convolveGrid(pk: ParallelKernels, g: GridConv, at: readonly number[], epilogue?: ConvEpilogue): SharedConvOutput {
  const { batch, c, gh, gw, fh, fw, outH, outW, n } = g;
  const [gridAt, weightsAt, offsetsAt, outAt, biasAt] = at as [number, number, number, number, number];
  const cells = batch * gh * gw;
  pk.f32().fill(0, gridAt / 4 + cells * c, gridAt / 4 + (cells + gw) * c);
  // A filter row's taps read fw adjacent cells, fw·c consecutive floats of the grid: one run each.
  const i32 = pk.i32();
  for (let i = 0; i < fh; i++) i32[offsetsAt / 4 + i] = i * gw * c * 4;
  const owp = outW + (outW % 2);
  const rows = batch * outH;
  const tail = [fw * c, epilogue?.bias ? biasAt : 0, epilogue?.relu ? 1 : 0];
  pk.split('convRows', rows, (r0, r1) => [gridAt, offsetsAt, fh, c, weightsAt, n, outAt, r0, r1, outH, gh, gw, owp, ...tail]);
  return { outAt, rows, owp, extra: at.slice(5) };
}

/**
 * The stride-1 convolution of `src` with `weights` ([fh·fw·c, n], row-major, tap-major: the
 * layout of a [fh, fw, c, n] filter) on the grid `g` describes, with the optional `epilogue`
 * applied to each output (in the worker threads, as the sums are stored), left in the shared
 * memory ({@link convolveGrid}). `extra` reserves more room (float counts) in the same
 * reservation, for what the caller does next. Undefined, touching nothing, when the shared memory
 * cannot hold it all.
 */
export function convolveInShared(
  pk: ParallelKernels,
  src: Float32Array,
  weights: Float32Array,
  g: GridConv,
  epilogue?: ConvEpilogue,
  extra: readonly number[] = [],
): SharedConvOutput | undefined {
  const bias = epilogue?.bias;
  const at = pk.reserve([...gridConvCounts(g, bias !== undefined), ...extra]);
  if (!at) return undefined;
  const [gridAt, weightsAt, , , biasAt] = at as [number, number, number, number, number];
  const f32 = pk.f32();
  fillNhwcGrid(src, f32.subarray(gridAt / 4, gridAt / 4 + g.batch * g.gh * g.gw * g.c), g);
  f32.set(weights, weightsAt / 4);
  if (bias) f32.set(bias.subarray(0, g.n), biasAt / 4);
  return convolveGrid(pk, g, at, epilogue);
}

/** Copies rows of `owp` cells of n floats from the shared memory at byte `at` into `out`, dropping each row's cells past `outW`. */
export function copyRowsOut(pk: ParallelKernels, at: number, rows: number, owp: number, outW: number, n: number, out: Float32Array): void {
  const result = pk.f32();
  if (owp === outW) {
    out.set(result.subarray(at / 4, at / 4 + rows * outW * n));
    return;
  }
  const rowFloats = outW * n;
  for (let r = 0; r < rows; r++) {
    const from = at / 4 + r * owp * n;
    out.set(result.subarray(from, from + rowFloats), r * rowFloats);
  }
}

/**
 * out ([batch, outH, outW, n]) = the convolution of {@link convolveInShared}, copied out.
 * Returns false, touching nothing, when the shared memory cannot hold the operands.
 */
export function gridConvolve(
  pk: ParallelKernels,
  src: Float32Array,
  weights: Float32Array,
  g: GridConv,
  out: Float32Array,
  epilogue?: ConvEpilogue,
): boolean {
  const done = convolveInShared(pk, src, weights, g, epilogue);
  if (!done) return false;
  copyRowsOut(pk, done.outAt, done.rows, done.owp, g.outW, g.n, out);
  return true;
}

/**
 * A fresh output holding the convolution of x with filter (NHWC, stride 1, dilation 1, float32)
 * on the grid path, with the optional epilogue, or undefined where that path does not apply
 * (too little work, outputs not in sixteens, fewer than 8 input channels, one thread, or the shared
 * memory full): the caller then runs a native kernel.
 */
export function gridConv2D(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  epilogue?: { bias: TensorInfo; relu: boolean },
): TensorInfo | undefined {
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const g = forwardGrid(info);
  const pk = gridConvApplies(g) ? parallelKernels() : undefined;
  return (
    pk &&
    filledOutput(backend, info.outShape, (out) =>
      gridConvolve(
        pk,
        heapF32(backend, x),
        heapF32(backend, filter),
        g,
        out,
        epilogue && { bias: heapF32(backend, epilogue.bias), relu: epilogue.relu },
      ),
    )
  );
}

/** Attributes tfjs-core passes to `Conv2D`. */
interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * `Conv2D` for the wasm backend: stride 1, dilation 1, NHWC, float32 with output channels in
 * sixteens and enough work runs on the grid, split over threads; everything else goes to the
 * native kernel (XNNPACK).
 */
export const conv2D: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'Conv2D');
  const { x, filter } = inputs as NamedTensorInfoMap & { x: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as Conv2DAttrs;
  const native = () => nativeKernel('Conv2D')({ inputs, backend, attrs: attrs as NamedAttrMap });
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || dataFormat === 'NCHW') return native();
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return gridConv2D(backend, x, filter, info) ?? native();
};
