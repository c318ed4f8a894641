/**
 * One loaded model: an onnxruntime-node session plus the manifest that says how to feed it. The
 * same preprocessing spec as training (`@edgeloop/models/data`), so a digit looks the same here as
 * it did to the trainer.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DecodeLimits, defaultDecodeLimits, ModelsError, preprocessImageBytes } from '@edgeloop/models/data';
import { ort } from '@edgeloop/models/ort';
import { decodeJson, type ModelManifest, type ModelRef } from '@edgeloop/protocol';
import { AgentError } from '../errors.js';
import { type ScoredLabel, toProbabilities, topK } from './probabilities.js';

/** The result of classifying one image. */
export interface Classification {
  label: string;
  confidence: number;
  /** Aligned with the model's labels; sums to 1. */
  probabilities: number[];
  topK: ScoredLabel[];
  /** Decode, preprocessing and inference, in milliseconds. */
  latencyMs: number;
  model: ModelRef;
}

export interface ClassifyOptions {
  /** How many labels `topK` lists (default 5). */
  topK?: number;
}

/** A model ready to classify; see {@link loadClassifier}. */
export interface Classifier {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly model: ModelRef;
  /** Classifies encoded image bytes (PNG, JPEG, WebP). Throws {@link AgentError} with a stable code. */
  classify(bytes: Uint8Array, options?: ClassifyOptions): Promise<Classification>;
  /** Runs one already-preprocessed input (for canaries and self-tests); returns the probabilities. */
  infer(input: Float32Array): Promise<number[]>;
  /** Frees the native session. Call once no classification is in flight. */
  release(): Promise<void>;
}

export interface LoadOptions {
  /** onnxruntime intra-op threads (default 1: edge devices share their few cores). */
  intraOpThreads?: number;
  decodeLimits?: DecodeLimits;
}

const IMAGE_CODES = new Set(['BAD_IMAGE', 'IMAGE_TOO_LARGE', 'UNSUPPORTED_FORMAT'] as const);

async function readModelFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AgentError(missing ? 'NO_MODEL' : 'MODEL_LOAD_FAILED', `cannot read ${path}`, { cause });
  }
}

/**
 * Loads `<dir>/manifest.json` and `<dir>/model.onnx`: checks the manifest's schema, the ONNX
 * bytes against its sha256 and length, the tensor names, and runs one warm-up inference that
 * must give one finite probability per label. Any failure throws and leaves nothing loaded.
 */
export async function loadClassifier(dir: string, options: LoadOptions = {}): Promise<Classifier> {
  const decoded = decodeJson('manifest', await readModelFile(join(dir, 'manifest.json')));
  if (!decoded.ok) throw new AgentError('BAD_MODEL', `${dir}/manifest.json: ${decoded.error.message}`, { cause: decoded.error });
  const manifest = decoded.value;
  const onnx = await readModelFile(join(dir, 'model.onnx'));
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  if (onnx.byteLength !== manifest.model.length || sha256 !== manifest.model.sha256) {
    throw new AgentError('BAD_MODEL', `${dir}/model.onnx does not match its manifest (length or sha256)`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnx, {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      // No CPU memory arena: on a device the arena keeps its high-water mark for the process's
      // life, and for edge-sized models per-run allocation costs next to nothing.
      enableCpuMemArena: false,
    });
  } catch (cause) {
    throw new AgentError('MODEL_LOAD_FAILED', `onnxruntime cannot load ${dir}/model.onnx`, { cause });
  }
  const { input, output, labels, preprocessing } = manifest;
  const dims = [1, ...input.shape.slice(1)];
  const size = dims.reduce((a, b) => a * b, 1);
  const model: ModelRef = { name: manifest.name, version: manifest.version };
  const limits = options.decodeLimits ?? defaultDecodeLimits;

  const infer = async (data: Float32Array): Promise<number[]> => {
    if (data.length !== size) throw new AgentError('INFERENCE_FAILED', `input has ${data.length} values, the model takes ${size}`);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await session.run({ [input.name]: new ort.Tensor('float32', data, dims) });
    } catch (cause) {
      throw new AgentError('INFERENCE_FAILED', `inference failed on ${model.name} v${model.version}`, { cause });
    }
    const row = result[output.name]?.data as Float32Array | undefined;
    if (!row || row.length !== labels.length) {
      throw new AgentError('BAD_MODEL', `output "${output.name}" has ${row?.length ?? 0} values for ${labels.length} labels`);
    }
    return toProbabilities(row, output.kind);
  };

  try {
    if (!session.inputNames.includes(input.name) || !session.outputNames.includes(output.name)) {
      throw new AgentError('BAD_MODEL', `the ONNX graph has no input "${input.name}" or no output "${output.name}"`);
    }
    await infer(new Float32Array(size)); // warm-up: the first run allocates, and proves the output shape
  } catch (e) {
    await session.release();
    throw e;
  }

  return {
    dir,
    manifest,
    model,
    infer,
    async classify(bytes, opts = {}) {
      const t0 = performance.now();
      let data: Float32Array;
      try {
        data = await preprocessImageBytes(bytes, preprocessing, input.layout, limits);
      } catch (cause) {
        const code = cause instanceof ModelsError && IMAGE_CODES.has(cause.code as never) ? cause.code : 'BAD_IMAGE';
        throw new AgentError(code as 'BAD_IMAGE', (cause as Error).message, { cause });
      }
      const probabilities = await infer(data);
      const top = topK(probabilities, labels, opts.topK ?? 5);
      return {
        label: top[0]!.label,
        confidence: top[0]!.p,
        probabilities,
        topK: top,
        latencyMs: performance.now() - t0,
        model,
      };
    },
    release: () => session.release(),
  };
}
