/**
 * onnxruntime-web sessions. The WebGPU build of ORT runs both execution providers from one wasm
 * file, so WebGPU is tried when the browser offers an adapter and wasm is the clean fallback. One
 * wasm thread: threads need SharedArrayBuffer, which needs cross-origin isolation (COOP/COEP
 * headers) that a plain static host may not send. ORT's wasm and glue are copied to `ort/` at build
 * time (see `vite-plugins.mjs`) and precached by the service worker, so this works offline.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { ClientError } from '../errors.js';

let configured = false;

function configure(): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
  ort.env.logLevel = 'error';
}

/** The execution providers worth trying here, best first. */
async function providers(): Promise<string[]> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return ['wasm'];
  const adapter = await gpu.requestAdapter().catch(() => null);
  return adapter ? ['webgpu', 'wasm'] : ['wasm'];
}

/** A loaded model and the execution provider it runs on. */
export interface LoadedSession {
  session: ort.InferenceSession;
  provider: string;
}

/** Creates a session from model bytes; WebGPU first when available, else (or on failure) wasm. */
export async function createSession(bytes: Uint8Array): Promise<LoadedSession> {
  configure();
  let lastError: unknown;
  for (const provider of await providers()) {
    try {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all' });
      return { session, provider };
    } catch (error) {
      lastError = error;
    }
  }
  throw new ClientError('MODEL_LOAD_FAILED', 'onnxruntime-web could not load the model', { cause: lastError });
}

/** Runs one input; returns the named output's values. */
export async function runOnce(
  session: ort.InferenceSession,
  inputName: string,
  outputName: string,
  input: Float32Array,
  shape: readonly number[],
): Promise<Float32Array> {
  const feeds = { [inputName]: new ort.Tensor('float32', input, [1, ...shape]) };
  const out = (await session.run(feeds))[outputName];
  if (!out) throw new ClientError('INFERENCE_FAILED', `the model has no output named ${outputName}`);
  return out.data as Float32Array;
}
