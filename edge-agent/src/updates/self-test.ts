/**
 * A self-test an installed model must pass before it becomes current: onnxruntime-node loads it and
 * runs canary inputs built from the manifest's input shape and preprocessing; every output must be
 * finite (no NaN, no ±∞), one per label, and, for a probabilities head, a distribution. A load
 * failure or any bad output rejects the update. The classifier may pass a richer test (bundled
 * canary images) through `ModelUpdaterOptions.selfTest`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ort } from '@edgeloop/models/ort';
import { decodeJson, type ModelManifest } from '@edgeloop/protocol';
import { AgentError } from '../errors.js';
import { MANIFEST_FILE, MODEL_FILE } from './release.js';

/** Canary inputs: black, white and a fixed gradient image, already normalised as the manifest says. */
export function canaryInputs(manifest: ModelManifest): Float32Array[] {
  const [, a, b, c] = manifest.input.shape;
  const size = a * b * c;
  const { mean, std, channels } = manifest.preprocessing;
  // NHWC: [H, W, C], the channel varies fastest; NCHW: [C, H, W], it varies slowest.
  const channelOf = (i: number) => (manifest.input.layout === 'NHWC' ? i % channels : Math.floor(i / (b * c)));
  const image = (pixel: (i: number) => number) =>
    Float32Array.from({ length: size }, (_, i) => {
      const ch = channelOf(i);
      return (pixel(i) - (mean[ch] ?? 0)) / (std[ch] ?? 1);
    });
  return [image(() => 0), image(() => 1), image((i) => (i % 17) / 16)];
}

function fail(message: string, cause?: unknown): never {
  throw new AgentError('UPDATE_SELF_TEST_FAILED', message, { cause });
}

/** Loads `<dir>/model.onnx` and checks its outputs on the canaries; throws `UPDATE_SELF_TEST_FAILED`. */
export async function onnxSelfTest(dir: string): Promise<void> {
  const decoded = decodeJson('manifest', await readFile(join(dir, MANIFEST_FILE)));
  if (!decoded.ok) fail(`${dir}: bad manifest: ${decoded.error.message}`, decoded.error);
  const manifest = decoded.value;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(join(dir, MODEL_FILE), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (cause) {
    fail(`${dir}: the model does not load`, cause);
  }
  try {
    const [, a, b, c] = manifest.input.shape;
    for (const [n, input] of canaryInputs(manifest).entries()) {
      let out: ort.Tensor | undefined;
      try {
        const result = await session.run({ [manifest.input.name]: new ort.Tensor('float32', input, [1, a, b, c]) });
        out = result[manifest.output.name];
      } catch (cause) {
        fail(`${dir}: canary ${n} does not run`, cause);
      }
      if (!out) fail(`${dir}: no output named ${manifest.output.name}`);
      const values = Array.from(out.data as Float32Array);
      if (values.length !== manifest.labels.length)
        fail(`${dir}: canary ${n} gave ${values.length} outputs for ${manifest.labels.length} labels`);
      if (!values.every(Number.isFinite)) fail(`${dir}: canary ${n} gave a non-finite output (NaN or infinity)`);
      if (manifest.output.kind === 'probabilities') {
        const sum = values.reduce((s, x) => s + x, 0);
        if (values.some((x) => x < -1e-4 || x > 1 + 1e-4) || Math.abs(sum - 1) > 1e-3) fail(`${dir}: canary ${n} is not a distribution`);
      }
    }
  } finally {
    await session.release();
  }
}

/** Runs an injected self-test with a deadline; any failure becomes `UPDATE_SELF_TEST_FAILED`. */
export async function runSelfTest(test: (dir: string) => Promise<void>, dir: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AgentError('UPDATE_SELF_TEST_FAILED', `self-test of ${dir} took over ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([test(dir), deadline]);
  } catch (cause) {
    if (cause instanceof AgentError && cause.code === 'UPDATE_SELF_TEST_FAILED') throw cause;
    throw new AgentError('UPDATE_SELF_TEST_FAILED', `self-test of ${dir} failed: ${(cause as Error)?.message}`, { cause });
  } finally {
    clearTimeout(timer);
  }
}
