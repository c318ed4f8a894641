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
import { decodeJson, type ModelManifest } from '@edgeloop/protocol';
import { ort } from '@edgeloop/models/ort';
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
export async function loadOnnxClassifier(modelDir: string, opts: { limits?: DecodeLimits } = {}): Promise<Classifier> {
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

  async function classify(image: Uint8Array): Promise<Classification> {
    let input: Float32Array;
    try {
      input = await preprocessImageBytes(image, manifest.preprocessing, manifest.input.layout, limits);
    } catch (cause) {
      if (cause instanceof ModelsError) throw new HubError('BAD_IMAGE', cause.message, { cause });
      throw cause;
    }
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', input, [1, a, b, c]) };
    const result = await session.run(feeds);
    const output = result[manifest.output.name];
    if (!output || output.data.length !== labels.length) {
      throw new HubError('INTERNAL', `model ${model} output "${manifest.output.name}" does not have ${labels.length} values`);
    }
    const raw = output.data as Float32Array;
    const probabilities = manifest.output.kind === 'logits' ? softmax(raw) : Array.from(raw);
    let best = 0;
    for (let i = 1; i < probabilities.length; i++) if (probabilities[i]! > probabilities[best]!) best = i;
    return { label: labels[best]!, confidence: probabilities[best]!, probabilities, labels, model };
  }

  return { classify, model, labels };
}
