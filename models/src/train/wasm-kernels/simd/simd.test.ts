import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backend.js';
import { KERNELS_SHARED_WASM_BASE64, KERNELS_WASM_BASE64 } from './binary.js';
import { binaryModule, compileKernelsWat } from './build.js';
import { simdKernels } from './index.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('SIMD training kernels', () => {
  it('binary.ts holds exactly what kernels.wat compiles to (run `npm run build:wat -w @edgeloop/models` after an edit)', async () => {
    const binaries = await compileKernelsWat();
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(Buffer.from(binaries.plain))).toBe(true);
    expect(Buffer.from(KERNELS_SHARED_WASM_BASE64, 'base64').equals(Buffer.from(binaries.shared))).toBe(true);
    expect(binaryModule(binaries)).toContain(KERNELS_WASM_BASE64.slice(0, 96));
    // The shared variant differs only in its memory import, which must be shared.
    expect(binaries.shared).not.toEqual(binaries.plain);
    expect(
      () =>
        new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(binaries.shared)), {
          env: { memory: new WebAssembly.Memory({ initial: 1 }) },
        }),
    ).toThrow();
  });

  it('instantiate on the wasm backend’s own memory, so the fast paths are really taken in Node', () => {
    const kernels = simdKernels(tf.backend() as BackendWasm);
    expect(kernels).toBeDefined();
    expect(typeof kernels!.maxPoolGrad2x2).toBe('function');
    // One instance per memory.
    expect(simdKernels(tf.backend() as BackendWasm)).toBe(kernels);
  });
});
