/** `Conv2DBackpropFilter` for wasm: dW = patchesᵀ · dy, by our SIMD kernel (stride 1, outC in sixteens) or XNNPACK. */
import { backend_util, getKernel, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND, type Conv2DBackpropFilterAttrs, checkDyShape, filledOutput, heapF32, wasmBackendOf } from './common.js';
import { fillNhwcGrid, forwardGrid, GRID_CONV_MIN_MACS, type GridPlacement } from './conv2d-grid.js';
import { type SimdKernels, simdKernels } from './simd/index.js';
import { type ParallelKernels, parallelKernels } from './simd/parallel.js';

/**
 * Writes the transposed im2col matrix patchesT[K, M] of an NHWC input:
 * patchesT[(i*fw + j)*inC + c][(b*outH + oy)*outW + ox] =
 *   x[b, oy*sh + i - padTop, ox*sw + j - padLeft, c]   (0 outside the input).
 * Row k of the result lines up with row k of the [fh, fw, inC, outC] filter.
 */
export function im2colTransposed(x: Float32Array, out: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const m = batchSize * outHeight * outWidth;
  for (let i = 0; i < filterHeight; i++) {
    for (let j = 0; j < filterWidth; j++) {
      // Output columns ox whose input column ox*sw + j - padLeft is inside
      // [0, inWidth): exact integer bounds (ceil for the lower bound, and an
      // exclusive ceil for the upper one; this is where the wasm Conv3D
      // kernel goes wrong at stride > 1).
      const oxLo = Math.min(outWidth, Math.max(0, Math.ceil((padLeft - j) / strideWidth)));
      const oxHi = Math.max(oxLo, Math.min(outWidth, Math.ceil((inWidth + padLeft - j) / strideWidth)));
      for (let c = 0; c < inChannels; c++) {
        let o = ((i * filterWidth + j) * inChannels + c) * m;
        for (let b = 0; b < batchSize; b++) {
          for (let oy = 0; oy < outHeight; oy++) {
            const iy = oy * strideHeight + i - padTop;
            if (iy < 0 || iy >= inHeight) {
              out.fill(0, o, o + outWidth);
              o += outWidth;
              continue;
            }
            if (oxLo > 0) out.fill(0, o, o + oxLo);
            // x index of (b, iy, ox*sw + j - padLeft, c)
            let src = ((b * inHeight + iy) * inWidth + oxLo * strideWidth + j - padLeft) * inChannels + c;
            const step = strideWidth * inChannels;
            for (let ox = oxLo; ox < oxHi; ox++) {
              out[o + ox]! = x[src]!;
              src += step;
            }
            if (oxHi < outWidth) out.fill(0, o + oxHi, o + outWidth);
            o += outWidth;
          }
        }
      }
    }
  }
}

/** Where the stride-1 filter gradient puts its operands; see {@link fillGrids}. */
export interface GridLayout {
  /** Grid width: outW + fw − 1. */
  gw: number;
  /** Grid cells per channel over the whole batch: batch · (outH + fh − 1) · gw. The M of the product. */
  mp: number;
  /** Floats per channel row of the input grid: mp plus the largest shift. */
  rowLength: number;
}

export function gridLayout(info: backend_util.Conv2DInfo): GridLayout {
  const gh = info.outHeight + info.filterHeight - 1;
  const gw = info.outWidth + info.filterWidth - 1;
  const mp = info.batchSize * gh * gw;
  // Each channel row runs past the last image by the largest shift, so every shifted row stays inside it.
  return { gw, mp, rowLength: mp + (info.filterHeight - 1) * gw + info.filterWidth - 1 };
}

/**
 * The stride-1 operands of dW = patchesT · dy, laid out so that no im2col is needed. x is copied
 * once, channel-major, into `grid` (inC rows of `rowLength`): a zero-padded grid of
 * gh × gw = (outH + fh − 1) × (outW + fw − 1) cells per image. dy goes into `dyGrid` ([mp, outC]),
 * the same grid, zero outside its outH × outW corner. With m the grid index of an output position,
 * the input that filter tap (i, j) meets there is at grid index m + i·gw + j, for every m: row
 * (i, j, c) of patchesT is channel row c of the grid from offset i·gw + j on. Grid positions outside
 * the output multiply a zero of dy, so the product is exact. They cost (gh·gw)/(outH·outW) − 1
 * more arithmetic (31% on a 14×14 'same' layer), far less than a strided im2col loop.
 */
export function fillGrids(
  x: Float32Array,
  dy: Float32Array,
  grid: Float32Array,
  dyGrid: Float32Array,
  info: backend_util.Conv2DInfo,
  { gw, rowLength }: GridLayout,
): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, filterHeight } = info;
  const gh = outHeight + filterHeight - 1;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  grid.fill(0);
  // Input rows and columns that fall outside the grid are read by no output (a 'valid' remainder).
  const yHi = Math.min(inHeight, gh - padTop);
  const xLo = Math.max(0, -padLeft);
  const xHi = Math.min(inWidth, gw - padLeft);
  for (let b = 0; b < batchSize; b++) {
    for (let y = Math.max(0, -padTop); y < yHi; y++) {
      const gRow = (b * gh + y + padTop) * gw + padLeft;
      let src = ((b * inHeight + y) * inWidth + xLo) * c;
      for (let xx = xLo; xx < xHi; xx++) {
        for (let ch = 0, at = gRow + xx; ch < c; ch++, at += rowLength) grid[at] = x[src++]!;
      }
    }
  }
  fillDyGrid(dy, dyGrid, info);
}

/** Where dy lies on the stride-1 filter gradient's grid: the top-left outH × outW corner of each image's gh × gw cells ([mp, outC]). */
export function dyGridPlacement(info: backend_util.Conv2DInfo): GridPlacement {
  const { gh, gw } = forwardGrid(info);
  return { batch: info.batchSize, h: info.outHeight, w: info.outWidth, c: info.outChannels, top: 0, left: 0, gh, gw };
}

/** dy onto its grid ({@link dyGridPlacement}), zeros elsewhere. */
function fillDyGrid(dy: Float32Array, dyGrid: Float32Array, info: backend_util.Conv2DInfo): void {
  fillNhwcGrid(dy, dyGrid, dyGridPlacement(info));
}

/**
 * Start (in grid floats) of each row of patchesT, in [fh, fw, inC] order (the rows of dW), on a grid
 * whose cells lie `cellFloats` apart and whose channels lie `channelFloats` apart: 1 and rowLength
 * on the channel-major grid of {@link fillGrids}, inC and 1 on the NHWC grid of {@link fillNhwcGrids}.
 */
export function rowStarts(info: backend_util.Conv2DInfo, gw: number, cellFloats: number, channelFloats: number): number[] {
  const starts: number[] = [];
  for (let i = 0; i < info.filterHeight; i++)
    for (let j = 0; j < info.filterWidth; j++)
      for (let ch = 0; ch < info.inChannels; ch++) starts.push((i * gw + j) * cellFloats + ch * channelFloats);
  return starts;
}

/**
 * The operands of the SIMD paths: as {@link fillGrids}, but with x on an NHWC grid (rowLength cells
 * of inC floats), which takes one copy per input row instead of a scatter per value. Row
 * (i, j, c) of patchesT then starts at float (i·gw + j)·inC + c and steps by inC floats
 * ({@link rowStarts} with inC and 1). Every float of `grid` and `dyGrid` is written (zeros where no
 * value goes).
 */
export function fillNhwcGrids(
  x: Float32Array,
  dy: Float32Array,
  grid: Float32Array,
  dyGrid: Float32Array,
  info: backend_util.Conv2DInfo,
  { mp }: GridLayout,
): void {
  fillXGrid(x, grid, info, mp);
  fillDyGrid(dy, dyGrid, info);
}

/** x onto its NHWC grid (the forward grid's mp cells), then zeros to the end of `grid` (the row tables read past mp). */
export function fillXGrid(x: Float32Array, grid: Float32Array, info: backend_util.Conv2DInfo, mp: number): void {
  fillNhwcGrid(x, grid, forwardGrid(info));
  grid.fill(0, mp * info.inChannels);
}

/**
 * dW by the SIMD kernel of kernels.wat, straight from the grids (stride 1, outC a multiple of 16).
 * It beats the XNNPACK path at every size measured: XNNPACK re-packs dy as the product's weights on
 * every call, and needs patchesT written out first. On the MNIST CNN's layers: 9 filter rows,
 * 1.6–2.5 ms against 8–10; 144 rows, 6.4–10 ms against 13–18.
 */
function filterGradSimd(
  backend: BackendWasm,
  simd: SimdKernels,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  layout: GridLayout,
): TensorInfo {
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const grid = backend.makeOutput([info.inChannels * layout.rowLength], 'float32');
  const dyGrid = backend.makeOutput([layout.mp, info.outChannels], 'float32');
  const rows = backend.makeOutput([k], 'int32');
  const out = backend.makeOutput([...info.filterShape], 'float32');
  try {
    // Views after every allocation: a malloc may grow (and detach) the heap.
    const gridView = heapF32(backend, grid);
    const dyGridView = heapF32(backend, dyGrid);
    fillNhwcGrids(heapF32(backend, x), heapF32(backend, dy), gridView, dyGridView, info, layout);
    const rowView = backend.typedArrayFromHeap(rows) as Int32Array;
    rowStarts(info, layout.gw, info.inChannels, 1).forEach((start, r) => {
      rowView[r] = gridView.byteOffset + start * 4;
    });
    const outView = heapF32(backend, out);
    outView.fill(0);
    simd.gemmRows(rowView.byteOffset, k, layout.mp, dyGridView.byteOffset, info.outChannels, outView.byteOffset, info.inChannels * 4);
    return out;
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  } finally {
    backend.disposeData(grid.dataId);
    backend.disposeData(dyGrid.dataId);
    backend.disposeData(rows.dataId);
  }
}

/** The float counts {@link filterGradFromGrids} needs reserved, in its order: x grid, dy grid, row tables, partial dWs. */
export function filterGradCounts(pk: ParallelKernels, info: backend_util.Conv2DInfo, layout: GridLayout): number[] {
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const chunks = pk.chunks(layout.mp);
  return [info.inChannels * layout.rowLength, layout.mp * info.outChannels, k * chunks, k * info.outChannels * chunks];
}

/**
 * dW = patchesᵀ · dy with the product's M split over the threads, from an NHWC x grid and a dy grid
 * already in the shared memory (at the byte offsets `at`, reserved as {@link filterGradCounts}
 * says): each chunk of grid cells is summed into a partial dW of its own, and the partials are
 * added into `out` in chunk order.
 */
export function filterGradFromGrids(
  pk: ParallelKernels,
  info: backend_util.Conv2DInfo,
  layout: GridLayout,
  at: readonly number[],
  out: Float32Array,
): void {
  const [gridAt, dyGridAt, rowsAt, partialsAt] = at as [number, number, number, number];
  const c = info.inChannels;
  const k = info.filterHeight * info.filterWidth * c;
  const n = info.outChannels;
  const chunks = pk.chunks(layout.mp);
  pk.f32().fill(0, partialsAt / 4, partialsAt / 4 + k * n * chunks);
  const starts = rowStarts(info, layout.gw, c, 1);
  const i32 = pk.i32();
  pk.split('gemmRows', layout.mp, (m0, m1, chunk) => {
    const table = rowsAt + chunk * k * 4;
    starts.forEach((start, r) => {
      i32[table / 4 + r] = gridAt + (start + m0 * c) * 4;
    });
    return [table, k, m1 - m0, dyGridAt + m0 * n * 4, n, partialsAt + chunk * k * n * 4, c * 4];
  });
  // One partial per chunk, added in chunk order: the same sums whichever thread ran which chunk.
  const partials = pk.f32();
  out.set(partials.subarray(partialsAt / 4, partialsAt / 4 + k * n));
  for (let chunk = 1; chunk < chunks; chunk++) {
    const from = partialsAt / 4 + chunk * k * n;
    for (let i = 0; i < k * n; i++) out[i]! += partials[from + i]!;
  }
}

/**
 * dW as in {@link filterGradSimd}, with the grids in the shared memory of simd/parallel.ts and the
 * product split over its threads ({@link filterGradFromGrids}). False, touching nothing, when the
 * shared memory cannot hold the operands.
 */
function filterGradParallel(
  pk: ParallelKernels,
  x: Float32Array,
  dy: Float32Array,
  info: backend_util.Conv2DInfo,
  layout: GridLayout,
  out: Float32Array,
): boolean {
  const counts = filterGradCounts(pk, info, layout);
  const at = pk.reserve(counts);
  if (!at) return false;
  const f32 = pk.f32();
  const grid = f32.subarray(at[0]! / 4, at[0]! / 4 + counts[0]!);
  const dyGrid = f32.subarray(at[1]! / 4, at[1]! / 4 + counts[1]!);
  fillNhwcGrids(x, dy, grid, dyGrid, info, layout);
  filterGradFromGrids(pk, info, layout, at, out);
  return true;
}

/** Reused scratch for the XNNPACK path's input grid (it only feeds copies into the heap). */
let scratch = new Float32Array(0);

/**
 * `Conv2DBackpropFilter` for the wasm backend: dW = patchesᵀ · dy. At stride 1 the operands are
 * the padded grids of {@link fillGrids}, and the product runs in our SIMD kernel when outC is a
 * multiple of 16. Otherwise patchesT is written out (slices of the grid at stride 1, an im2col
 * loop above it) and the product runs on the wasm `BatchMatMul` kernel (XNNPACK).
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, 'Conv2DBackpropFilter');
  const { x, dy } = inputs as NamedTensorInfoMap & { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropFilter (edgeloop): float32 only, got x=${x.dtype} dy=${dy.dtype}`);
  }
  const fmt = backend_util.convertConv2DDataFormat(dataFormat);
  if (fmt !== 'channelsLast') {
    // The wasm forward Conv2D rejects NCHW as well, so this cannot occur while
    // training a model whose forward pass runs on wasm.
    throw new Error('Conv2DBackpropFilter (edgeloop): only NHWC is supported on wasm');
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1 /* dilations: tfjs-core's conv2d gradient requires 1 */,
    pad,
    dimRoundingMode,
    false,
    fmt,
  );
  checkDyShape('Conv2DBackpropFilter', dy, info);

  const k = info.filterHeight * info.filterWidth * info.inChannels;
  // Stride 1 works on the padded grids (see fillGrids); the product's M is then their size.
  const layout = info.strideHeight === 1 && info.strideWidth === 1 ? gridLayout(info) : undefined;
  const m = layout ? layout.mp : info.batchSize * info.outHeight * info.outWidth;
  const n = info.outChannels;
  if (m === 0 || k === 0 || n === 0) {
    const zeros = backend.makeOutput(info.filterShape, 'float32');
    heapF32(backend, zeros).fill(0);
    return zeros;
  }

  const pk = layout && n % 16 === 0 && k * layout.mp * n >= GRID_CONV_MIN_MACS ? parallelKernels() : undefined;
  const dw =
    pk &&
    layout &&
    filledOutput(backend, info.filterShape, (out) => filterGradParallel(pk, heapF32(backend, x), heapF32(backend, dy), info, layout, out));
  if (dw) return dw;
  const simd = layout && n % 16 === 0 ? simdKernels(backend) : undefined;
  if (simd && layout) return filterGradSimd(backend, simd, x, dy, info, layout);

  const bmm = getKernel('BatchMatMul', BACKEND);
  if (bmm == null) throw new Error('Conv2DBackpropFilter (edgeloop): wasm BatchMatMul missing');

  // A = patchesT [1, K, M]; B = a private copy of dy viewed as [1, M, outC].
  // B is copied on purpose: the wasm BatchMatMul caches its XNNPACK operator
  // (with B pre-packed as weights) keyed only by B's tensor id, and a reshape
  // shares the id, so feeding dy itself could collide with a cached operator
  // built for a different shape of the same tensor. The fresh id is disposed
  // below, which also frees the cached operator. The copy is a memcpy.
  const a = backend.makeOutput([1, k, m], 'float32');
  const b = backend.makeOutput([1, m, n], 'float32');
  try {
    if (layout) {
      // Row (i, j, c) of patchesT is a slice of the grid: one copy each.
      if (scratch.length < info.inChannels * layout.rowLength) scratch = new Float32Array(info.inChannels * layout.rowLength);
      const grid = scratch.subarray(0, info.inChannels * layout.rowLength);
      fillGrids(heapF32(backend, x), heapF32(backend, dy), grid, heapF32(backend, b), info, layout);
      const patchesT = heapF32(backend, a);
      rowStarts(info, layout.gw, 1, layout.rowLength).forEach((start, r) => {
        patchesT.set(grid.subarray(start, start + layout.mp), r * layout.mp);
      });
    } else {
      im2colTransposed(heapF32(backend, x), heapF32(backend, a), info);
      heapF32(backend, b).set(heapF32(backend, dy));
    }
    // no transposes and batch 1 -> xnn_fully_connected path (fast); any
    // transpose flag would select the naive C++ `slow_batch_matmul`.
    const out = bmm.kernelFunc({
      inputs: { a, b },
      attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap,
      backend,
    }) as TensorInfo;
    // [1, K, outC] has the memory layout of [fh, fw, inC, outC].
    out.shape = [...info.filterShape];
    return out;
  } finally {
    backend.disposeData(a.dataId);
    backend.disposeData(b.dataId);
  }
};
