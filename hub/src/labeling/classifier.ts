/**
 * The production model on the hub: an ONNX model and its manifest, as `runTrainingJob` in
 * `@edgeloop/models` writes them (`model.onnx`, `manifest.json`), run with onnxruntime-node. It
 * pre-annotates the labelling queue and answers `/classify`.
 *
 * Uncertainty is least confidence, `1 − max p`: the scale devices already report (their top-1
 * confidence), so pre-annotated and not-yet-annotated samples order on one axis in the queue.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DecodeLimits, defaultDecodeLimits, ModelsError, preprocessImageBytes } from '@edgeloop/models/data';
import { ort } from '@edgeloop/models/ort';
import { decodeJson, type ModelManifest } from '@edgeloop/protocol';
import { HubError } from '../errors.js';

export interface Classification {
  /** The most probable label. */
  label: string;
  /** Its probability. */
  confidence: number;
  /** One probability per label, in `labels` order; they sum to 1. */
  probabilities: number[];
  labels: string[];
  /** `name@version` of the model. */
  model: string;
}

export interface Classifier {
  classify(bytes: Uint8Array): Promise<Classification>;
  /** `name@version`, when known. */
  readonly model?: string;
  readonly labels?: readonly string[];
}

export interface OnnxClassifier extends Classifier {
  /**
   * Many images at once, in order: decoded a few at a time in parallel (sharp works off the main
   * thread) and run through the model in batches. Much faster than one `classify` per image for
   * the gate's examples; an undecodable image fails the whole call with BAD_IMAGE.
   */
  classifyMany(images: readonly Uint8Array[]): Promise<Classification[]>;
}

/** Images per onnxruntime run in `classifyMany`, and images decoded at once. */
const BATCH = 64;
const DECODERS = 4;

/** Least-confidence uncertainty of a classification: 1 − its top probability. */
export function uncertaintyOf(c: Pick<Classification, 'confidence'>): number {
  return 1 - c.confidence;
}

/** Numerically stable softmax, for models whose output is logits. */
function softmax(logits: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(logits));
  const exps = Array.from(logits, (x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

async function readManifest(modelDir: string): Promise<ModelManifest> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(modelDir, 'manifest.json'));
  } catch (cause) {
    throw new HubError('BAD_CONFIG', `cannot read ${join(modelDir, 'manifest.json')}`, { cause });
  }
  const decoded = decodeJson('manifest', bytes);
  if (!decoded.ok)
    throw new HubError('BAD_CONFIG', `invalid model manifest in ${modelDir}: ${decoded.error.message}`, { cause: decoded.error });
  return decoded.value;
}

/**
 * Loads `modelDir/model.onnx`, checking its length and sha256 against the manifest before it is
 * handed to onnxruntime (a model is code: never run bytes the manifest does not name).
 */
export async function loadOnnxClassifier(modelDir: string, opts: { limits?: DecodeLimits } = {}): Promise<OnnxClassifier> {
  const manifest = await readManifest(modelDir);
  const onnxPath = join(modelDir, 'model.onnx');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(onnxPath);
  } catch (cause) {
    throw new HubError('BAD_CONFIG', `cannot read ${onnxPath}`, { cause });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.byteLength !== manifest.model.length || sha256 !== manifest.model.sha256) {
    throw new HubError('BAD_CONFIG', `${onnxPath} is not the model its manifest names (sha256 ${sha256}, ${bytes.byteLength} bytes)`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (cause) {
    throw new HubError('BAD_CONFIG', `onnxruntime cannot load ${onnxPath}`, { cause });
  }
  const model = `${manifest.name}@${manifest.version}`;
  const labels = [...manifest.labels];
  const [, a, b, c] = manifest.input.shape;
  const limits = opts.limits ?? defaultDecodeLimits;

  const per = a * b * c;
  // A model whose batch dimension is fixed (not -1) takes one image per run.
  const maxBatch = manifest.input.shape[0] === -1 ? BATCH : 1;

  async function preprocess(image: Uint8Array): Promise<Float32Array> {
    try {
      return await preprocessImageBytes(image, manifest.preprocessing, manifest.input.layout, limits);
    } catch (cause) {
      if (cause instanceof ModelsError) throw new HubError('BAD_IMAGE', cause.message, { cause });
      throw cause;
    }
  }

  /** Runs `n` preprocessed images (concatenated in `input`); one Classification each. */
  async function run(input: Float32Array, n: number): Promise<Classification[]> {
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', input, [n, a, b, c]) };
    const result = await session.run(feeds);
    const output = result[manifest.output.name];
    if (!output || output.data.length !== n * labels.length) {
      throw new HubError('INTERNAL', `model ${model} output "${manifest.output.name}" does not have ${labels.length} values per image`);
    }
    const data = output.data as Float32Array;
    const out: Classification[] = [];
    for (let i = 0; i < n; i++) {
      const raw = data.subarray(i * labels.length, (i + 1) * labels.length);
      const probabilities = manifest.output.kind === 'logits' ? softmax(raw) : Array.from(raw);
      let best = 0;
      for (let k = 1; k < probabilities.length; k++) if (probabilities[k]! > probabilities[best]!) best = k;
      out.push({ label: labels[best]!, confidence: probabilities[best]!, probabilities, labels, model });
    }
    return out;
  }

  async function classify(image: Uint8Array): Promise<Classification> {
    return (await run(await preprocess(image), 1))[0]!;
  }

  async function classifyMany(images: readonly Uint8Array[]): Promise<Classification[]> {
    const out: Classification[] = [];
    // One batch decoded at a time (straight into the batch tensor), so memory stays at one batch
    // however many images there are.
    for (let from = 0; from < images.length; from += maxBatch) {
      const n = Math.min(maxBatch, images.length - from);
      const batch = new Float32Array(n * per);
      let next = 0;
      const decoder = async () => {
        while (next < n) {
          const i = next++;
          batch.set(await preprocess(images[from + i]!), i * per);
        }
      };
      await Promise.all(Array.from({ length: Math.min(DECODERS, n) }, decoder));
      out.push(...(await run(batch, n)));
    }
    return out;
  }

  return { classify, classifyMany, model, labels };
}
