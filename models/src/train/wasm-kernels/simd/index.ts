/**
 * The SIMD kernels of kernels.wat, instantiated on tfjs's own wasm memory so they work on tensors
 * in place. Undefined where that memory is not reachable or the engine lacks SIMD; callers then
 * use their JavaScript path.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KERNELS_WASM_BASE64 } from './binary.js';

export interface SimdKernels {
  /** See kernels.wat: dx of a 2×2, stride-2 max pool with disjoint windows, C a multiple of 4. */
  maxPoolGrad2x2(x: number, dy: number, dx: number, b: number, h: number, w: number, c: number, outH: number, outW: number): void;
  /**
   * See kernels.wat: c[k, :] += Σm a_k[m] · b[m, :] with row k at byte offset rows[k] and its
   * elements aStride bytes apart; n a multiple of 16.
   */
  gemmRows(rows: number, k: number, m: number, b: number, n: number, c: number, aStride: number): void;
  /** See kernels.wat: out[r, :] = x[r, :] + bias, C a multiple of 4. */
  biasAdd(x: number, bias: number, out: number, rows: number, c: number): void;
  /** See kernels.wat: out = dy · step(x) over n floats, n a multiple of 4. */
  reluGrad(dy: number, x: number, out: number, n: number): void;
  /** See kernels.wat: one Adam step over n floats into fresh buffers, bit for bit as tfjs's AdamOptimizer. */
  adamUpdate(
    value: number,
    m: number,
    v: number,
    g: number,
    outValue: number,
    outM: number,
    outV: number,
    n: number,
    b1: number,
    oneMinusB1: number,
    b2: number,
    oneMinusB2: number,
    oneMinusAccB1: number,
    oneMinusAccB2: number,
    epsilon: number,
    negLearningRate: number,
  ): void;
  /** See kernels.wat: out = dy · step(y) and sums (C float64s) = its column sums, for [rows, C], C a multiple of 16. */
  reluGradSum(dy: number, y: number, out: number, sums: number, rows: number, c: number): void;
  /** See kernels.wat: float64 column sums of a [rows, C] float32 matrix, C a multiple of 16. */
  sumColumns(x: number, sums: number, rows: number, c: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/** tfjs-backend-wasm 4.x keeps its emscripten module's exports, the memory among them, on `wasm.asm`. */
function memoryOf(backend: BackendWasm): WebAssembly.Memory | undefined {
  const memory = (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  const memory = memoryOf(backend);
  if (!memory) return undefined;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    try {
      const module = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
      kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
    } catch {
      kernels = null; // no SIMD in this engine
    }
    instances.set(memory, kernels);
  }
  return kernels ?? undefined;
}
