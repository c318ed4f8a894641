/**
 * Picks the fastest tfjs backend this machine has, in order:
 * 1. `tensorflow` through `@tensorflow/tfjs-node-gpu`, when it is installed and sees a CUDA GPU;
 * 2. `tensorflow` through `@tensorflow/tfjs-node` (native CPU);
 * 3. `wasm` (`@tensorflow/tfjs-backend-wasm`, SIMD), with the training kernels it lacks registered by us;
 * 4. `cpu`, pure JS, about 50 times slower than wasm.
 *
 * The two node packages are optional dependencies loaded by dynamic import: their install downloads
 * libtensorflow, which fails without internet, and must never break `npm install`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// The union package registers the cpu backend and every gradient (tfjs-core alone registers none).
import * as tf from '@tensorflow/tfjs';
import { ModelsError } from '../errors.js';
import { parallelKernels, trainThreads } from './wasm-kernels/simd/parallel.js';
import { registerWasmTrainingKernels } from './wasm-training-kernels.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** What we asked for and got. */
  name: BackendName;
  /** tfjs's own backend name (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  /** Versions and details recorded with every run. */
  details: Record<string, string | number | boolean>;
  /** Backends tried before this one, and why each was passed over. */
  skipped: { name: BackendName; reason: string }[];
}

const require = createRequire(import.meta.url);

async function tryNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node', wantGpu: boolean): Promise<string | undefined> {
  try {
    await import(pkg);
  } catch (e) {
    return `${pkg} is not usable: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
  if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but the tensorflow backend did not start`;
  const usingGpu = Boolean((tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice);
  if (wantGpu && !usingGpu) return `${pkg} loaded but found no CUDA GPU`;
  return undefined;
}

async function tryWasm(details: BackendInfo['details']): Promise<string | undefined> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm files are read from the package's dist folder on disk.
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(`${join(dist, '/')}`);
    const registered = registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not start';
    details.wasmKernelsAdded = registered.join(',');
    details.wasmSimd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    details.wasmThreads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    // Our convolutions split over this many threads (1: none; EDGELOOP_TRAIN_THREADS).
    details.wasmKernelThreads = parallelKernels()?.threads ?? 1;
    return undefined;
  } catch (e) {
    return `wasm backend failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * Starts the best available backend, or exactly `only` when given (failing if it cannot start).
 * Call once per process, before building models.
 */
export async function selectBackend(only?: BackendName): Promise<BackendInfo> {
  const skipped: BackendInfo['skipped'] = [];
  const details: BackendInfo['details'] = { tfjsVersion: tf.version_core };
  trainThreads(); // a bad EDGELOOP_TRAIN_THREADS fails here, not as a silent fall back to a slower backend
  for (const name of only ? [only] : BACKEND_ORDER) {
    let reason: string | undefined;
    if (name === 'tensorflow-gpu') reason = await tryNode('@tensorflow/tfjs-node-gpu', true);
    else if (name === 'tensorflow') reason = await tryNode('@tensorflow/tfjs-node', false);
    else if (name === 'wasm') reason = await tryWasm(details);
    else reason = (await tf.setBackend('cpu')) ? undefined : 'the cpu backend did not start';
    if (reason === undefined) {
      await tf.ready();
      return { name, tfBackend: tf.getBackend(), details, skipped };
    }
    skipped.push({ name, reason });
  }
  throw new ModelsError('NO_BACKEND', `no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
