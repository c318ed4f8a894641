/**
 * A conv layer with bias and ReLU followed by a 2×2, stride-2 max pool, trained as one op on the
 * shared memory and worker threads of simd/parallel.ts. Unfused, such a pair costs a training
 * step the forward `Conv2D`, `Add`, `Relu` and `MaxPool` and the backward `MaxPoolGrad`, ReLU gradient and bias
 * `Sum`, each a pass over the full-size activation on the calling thread, and the full activation
 * copied out of the shared memory and the gradient copied back in.
 *
 *  - Forward (`EdgeloopConv2DBiasReluMaxPool`): `convRows` computes relu(conv + b) into the shared
 *    memory, `poolRows` pools it there, and only the pooled output comes back, with the index of
 *    each window's maximum (an int32 tensor the gradient reads).
 *  - Backward (`EdgeloopConvPoolGrad`): the pooled gradient, the pooled output and the indices go
 *    in; `unpoolGrid` writes dy·step(y) at each window's maximum straight onto the zero-padded
 *    grids of the two conv gradients, summing the bias gradient as it goes; then `gemmRows` gives
 *    dW and, unless the layer is the model's first, `convRows` gives dx. Every part runs split over
 *    the threads.
 *
 * It gives what the unfused layers give: the window's maximum routed as our `MaxPoolGrad` routes it
 * (the first maximum in row-major order), the ReLU gradient as `EdgeloopReluGrad`, the bias
 * gradient summed in float64. Sums run in another order, so results differ in the last bits.
 * (One difference: a window whose four values are all NaN passes 0 back, where the unfused ReLU
 * gradient gives NaN; its forward output is NaN either way, so the loss is too.)
 *
 * train/fused-step.ts uses it where {@link convPoolPlan} accepts the shapes. With one thread
 * (`EDGELOOP_TRAIN_THREADS=1`) it runs on the calling thread alone: it still saves those passes
 * (a step measured 1.25× faster than the conv op and tfjs's pool kernels on one thread).
 */
import {
  type backend_util,
  engine,
  type GradConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type Tensor,
  type Tensor1D,
  type Tensor4D,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapF32, wasmBackendOf } from './common.js';
import { nhwcConvInfo } from './conv-block.js';
import { dyGridPlacement, fillXGrid, filterGradCounts, filterGradFromGrids, gridLayout } from './conv2d-backprop-filter.js';
import { flippedFilter } from './conv2d-backprop-input.js';
import {
  convolveGrid,
  convolveInShared,
  copyRowsOut,
  forwardGrid,
  GRID_CONV_MIN_MACS,
  type GridConv,
  type GridPlacement,
  gridConvCounts,
  inputGradGrid,
} from './conv2d-grid.js';
import { type ParallelKernels, sharedMemoryKernels } from './simd/parallel.js';

export const CONV_POOL = 'EdgeloopConv2DBiasReluMaxPool';
export const CONV_POOL_GRAD = 'EdgeloopConvPoolGrad';

export interface ConvPoolAttrs {
  /** The convolution's padding; its stride is 1, the pool's window and stride 2, 'valid'. */
  pad: 'valid' | 'same';
  /** Whether dx is computed: false for a model's first layer, whose input needs no gradient. */
  needDx: boolean;
}

/** Above this many bytes of shared memory a layer stays unfused (the memory's limit is 2 GiB). */
const MAX_SHARED_BYTES = 1 << 30;

/** The shapes of one fused conv + pool. */
export interface ConvPoolPlan {
  info: backend_util.Conv2DInfo;
  grid: GridConv;
  /** Pooled rows and columns per image. */
  ph: number;
  pw: number;
}

/** Floats of the forward pass's extra room: the pooled output and its indices. */
const forwardExtra = (p: ConvPoolPlan) => {
  const pooled = p.info.batchSize * p.ph * p.pw * p.info.outChannels;
  return [pooled, pooled];
};

/**
 * The plan for these shapes, or undefined where the fused op does not apply: no shared memory,
 * outputs not in sixteens (and, with dx, inputs not in sixteens either), under 4 M multiply-adds,
 * no whole pooling window, or more shared memory than {@link MAX_SHARED_BYTES}.
 */
export function convPoolPlan(xShape: readonly number[], filterShape: readonly number[], attrs: ConvPoolAttrs): ConvPoolPlan | undefined {
  const pk = sharedMemoryKernels();
  if (!pk || xShape.length !== 4 || filterShape.length !== 4) return undefined;
  const info = nhwcConvInfo(xShape, filterShape, [1, 1], attrs.pad);
  const grid = forwardGrid(info);
  const plan = { info, grid, ph: Math.floor(info.outHeight / 2), pw: Math.floor(info.outWidth / 2) };
  const macs = info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels * info.outChannels;
  if (
    info.outChannels % 16 !== 0 ||
    (attrs.needDx && info.inChannels % 16 !== 0) ||
    macs < GRID_CONV_MIN_MACS ||
    plan.ph < 1 ||
    plan.pw < 1
  ) {
    return undefined;
  }
  const floats = Math.max(
    forwardCounts(plan).reduce((a, b) => a + b, 0),
    backwardCounts(pk, plan, attrs.needDx).reduce((a, b) => a + b, 0),
  );
  return floats * 4 + 64 * 32 <= MAX_SHARED_BYTES ? plan : undefined;
}

function forwardCounts(p: ConvPoolPlan): number[] {
  return [...gridConvCounts(p.grid, true), ...forwardExtra(p)];
}

function backwardCounts(pk: ParallelKernels, p: ConvPoolPlan, needDx: boolean): number[] {
  const { info } = p;
  const pooled = info.batchSize * p.ph * p.pw * info.outChannels;
  const counts = [
    pooled,
    pooled,
    pooled,
    2 * info.outChannels * pk.chunks(info.batchSize * p.ph),
    ...filterGradCounts(pk, info, gridLayout(info)),
  ];
  if (needDx) counts.push(...gridConvCounts(inputGradGrid(info), false));
  return counts;
}

function sharedKernels(): ParallelKernels {
  const pk = sharedMemoryKernels();
  if (!pk) throw new Error(`${CONV_POOL}: needs shared WebAssembly memory and SIMD`);
  return pk;
}

function planFor(x: TensorInfo, filter: TensorInfo, attrs: ConvPoolAttrs, kernel: string): ConvPoolPlan {
  const plan = convPoolPlan(x.shape, filter.shape, attrs);
  if (!plan)
    throw new Error(`${kernel}: shapes x [${x.shape.join(',')}] and filter [${filter.shape.join(',')}] do not fit the fused conv + pool`);
  return plan;
}

/** [maxpool(relu(conv(x, filter) + bias)), the index of each window's maximum] (wasm only; {@link CONV_POOL}). */
export const conv2DBiasReluMaxPool: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, CONV_POOL);
  const { x, filter, bias } = inputs as NamedTensorInfoMap & { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || bias.dtype !== 'float32') {
    throw new Error(`${CONV_POOL}: float32 only, got x=${x.dtype} filter=${filter.dtype} bias=${bias.dtype}`);
  }
  const plan = planFor(x, filter, attrs as unknown as ConvPoolAttrs, CONV_POOL);
  const { info, ph, pw } = plan;
  const n = info.outChannels;
  if (bias.shape.length !== 1 || bias.shape[0] !== n) throw new Error(`${CONV_POOL}: bias shape [${bias.shape.join(',')}] != [${n}]`);
  const pk = sharedKernels();
  const shape = [info.batchSize, ph, pw, n];
  const p = backend.makeOutput(shape, 'float32');
  const idx = backend.makeOutput(shape, 'int32');
  try {
    const done = convolveInShared(
      pk,
      heapF32(backend, x),
      heapF32(backend, filter),
      plan.grid,
      { bias: heapF32(backend, bias), relu: true },
      forwardExtra(plan),
    );
    if (!done) throw new Error(`${CONV_POOL}: the shared memory cannot hold the operands`);
    const [pAt, idxAt] = done.extra as [number, number];
    pk.split('poolRows', info.batchSize * ph, (r0, r1) => [done.outAt, pAt, idxAt, r0, r1, ph, info.outHeight, done.owp, pw, n]);
    const count = info.batchSize * ph * pw * n;
    heapF32(backend, p).set(pk.f32().subarray(pAt / 4, pAt / 4 + count));
    (backend.typedArrayFromHeap(idx) as Int32Array).set(pk.i32().subarray(idxAt / 4, idxAt / 4 + count));
  } catch (error) {
    backend.disposeData(p.dataId);
    backend.disposeData(idx.dataId);
    throw error;
  }
  return [p, idx];
};

/** Sends the pooled gradient onto a grid: `unpoolGrid` over the pooled rows, summing into `sumsAt` (a partial per chunk) when non-zero. */
function unpool(
  pk: ParallelKernels,
  plan: ConvPoolPlan,
  at: { dyp: number; p: number; idx: number },
  gridAt: number,
  g: GridPlacement,
  sumsAt: number,
) {
  const { info, ph, pw } = plan;
  const n = info.outChannels;
  pk.split('unpoolGrid', info.batchSize * ph, (r0, r1, chunk) => [
    at.dyp,
    at.p,
    at.idx,
    gridAt,
    sumsAt === 0 ? 0 : sumsAt + chunk * n * 8,
    r0,
    r1,
    ph,
    pw,
    n,
    g.gh,
    g.gw,
    g.top,
    g.left,
  ]);
}

/** [dx (when needDx), dW, db] of {@link CONV_POOL}, from the pooled gradient (wasm only; {@link CONV_POOL_GRAD}). */
export const convPoolGrad: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, CONV_POOL_GRAD);
  const { dy, p, idx, x, filter } = inputs as NamedTensorInfoMap & Record<'dy' | 'p' | 'idx' | 'x' | 'filter', TensorInfo>;
  const a = attrs as unknown as ConvPoolAttrs;
  const plan = planFor(x, filter, a, CONV_POOL_GRAD);
  const { info } = plan;
  const pooled = info.batchSize * plan.ph * plan.pw * info.outChannels;
  for (const [name, t] of [
    ['dy', dy],
    ['p', p],
    ['idx', idx],
  ] as const) {
    if (t.shape.reduce((s, d) => s * d, 1) !== pooled)
      throw new Error(`${CONV_POOL_GRAD}: ${name} has ${t.shape.join('x')} values, expected ${pooled}`);
  }
  const pk = sharedKernels();
  const outputs: TensorInfo[] = [];
  const make = (shape: number[]) => {
    const t = backend.makeOutput(shape, 'float32');
    outputs.push(t);
    return t;
  };
  try {
    const dx = a.needDx ? make([...x.shape]) : undefined;
    const dw = make([...filter.shape]);
    const db = make([info.outChannels]);
    run(backend, pk, plan, a.needDx, { dy, p, idx, x, filter }, { dx, dw, db });
  } catch (error) {
    for (const t of outputs) backend.disposeData(t.dataId);
    throw error;
  }
  return outputs;
};

function run(
  backend: BackendWasm,
  pk: ParallelKernels,
  plan: ConvPoolPlan,
  needDx: boolean,
  inp: Record<'dy' | 'p' | 'idx' | 'x' | 'filter', TensorInfo>,
  out: { dx?: TensorInfo; dw: TensorInfo; db: TensorInfo },
): void {
  const { info } = plan;
  const n = info.outChannels;
  const layout = gridLayout(info);
  const counts = backwardCounts(pk, plan, needDx);
  const at = pk.reserve(counts);
  if (!at) throw new Error(`${CONV_POOL_GRAD}: the shared memory cannot hold the operands`);
  const [dypAt, pAt, idxAt, sumsAt, xGridAt, dyGridAt] = at as [number, number, number, number, number, number];
  // Views of tfjs's heap after every allocation (the caller made the outputs already).
  const f32 = pk.f32();
  f32.set(heapF32(backend, inp.dy), dypAt / 4);
  f32.set(heapF32(backend, inp.p), pAt / 4);
  pk.i32().set(backend.typedArrayFromHeap(inp.idx) as Int32Array, idxAt / 4);
  const sumChunks = pk.chunks(info.batchSize * plan.ph);
  f32.fill(0, sumsAt / 4, sumsAt / 4 + 2 * n * sumChunks);
  const sources = { dyp: dypAt, p: pAt, idx: idxAt };
  // dW's grid: dy at the top-left outH × outW of each image's gh × gw cells.
  unpool(pk, plan, sources, dyGridAt, dyGridPlacement(info), sumsAt);
  const grid = f32.subarray(xGridAt / 4, xGridAt / 4 + counts[4]!);
  fillXGrid(heapF32(backend, inp.x), grid, info, layout.mp);
  filterGradFromGrids(pk, info, layout, at.slice(4, 8), heapF32(backend, out.dw));
  // The bias gradient: one float64 partial per chunk of pooled rows, added in chunk order.
  const sums = new Float64Array(pk.memory.buffer, sumsAt, n * sumChunks);
  const db = heapF32(backend, out.db);
  for (let c = 0; c < n; c++) {
    let s = 0;
    for (let chunk = 0; chunk < sumChunks; chunk++) s += sums[chunk * n + c]!;
    db[c] = s;
  }
  if (!out.dx) return;
  const g = inputGradGrid(info);
  const dxAt = at.slice(8);
  unpool(pk, plan, sources, dxAt[0]!, g, 0);
  pk.f32().set(flippedFilter(heapF32(backend, inp.filter), g.fh, g.fw, info.inChannels, n), dxAt[1]! / 4);
  const done = convolveGrid(pk, g, dxAt);
  copyRowsOut(pk, done.outAt, done.rows, done.owp, g.outW, g.n, heapF32(backend, out.dx));
}

/** The gradient of {@link CONV_POOL}: dx, dW and db from one kernel. */
export const convPoolGradConfig: GradConfig = {
  kernelName: CONV_POOL,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true, true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, p, idx] = saved as [Tensor4D, Tensor4D, Tensor4D, Tensor4D];
    const a = attrs as unknown as ConvPoolAttrs;
    // Two outputs, so tfjs passes a dy for each; the indices' is zeros and unused.
    const dyp = Array.isArray(dy) ? dy[0]! : dy;
    const outs = engine().runKernel(CONV_POOL_GRAD, { dy: dyp, p, idx, x, filter }, attrs as NamedAttrMap) as Tensor[];
    const [dx, dw, db] = a.needDx ? (outs as [Tensor, Tensor, Tensor]) : [undefined, outs[0]!, outs[1]!];
    return {
      x: () => {
        if (!dx) throw new Error(`${CONV_POOL}: built for a first layer (needDx false), so it has no input gradient`);
        return dx;
      },
      filter: () => dw,
      bias: () => db,
    };
  },
};

/** maxPool2x2(relu(conv2d(x, filter, stride 1, pad) + bias)) as one recorded op (wasm). */
export function conv2dBiasReluMaxPool(x: Tensor4D, filter: Tensor4D, bias: Tensor1D, attrs: ConvPoolAttrs): Tensor4D {
  const [p] = engine().runKernel(CONV_POOL, { x, filter, bias }, attrs as unknown as NamedAttrMap) as Tensor4D[];
  return p!;
}
