/**
 * The classifier: one verified model (bytes + manifest) loaded in onnxruntime-web. Inputs are
 * encoded image bytes, preprocessed by `@edgeloop/models/browser` exactly as training and the edge
 * agent do, with the manifest's size, normalisation, tensor names and layout.
 */
import { preprocessImageInBrowser } from '@edgeloop/models/browser';
import type { ModelManifest, ModelRef } from '@edgeloop/protocol';
import { ClientError } from '../errors.js';
import { createSession, type LoadedSession, runOnce } from './ort-session.js';
import { type ScoredLabel, toProbabilities, topK } from './probabilities.js';

export interface Prediction {
  label: string;
  confidence: number;
  probabilities: number[];
  top: ScoredLabel[];
  latencyMs: number;
}

export class Classifier {
  private constructor(
    readonly manifest: ModelManifest,
    private readonly loaded: LoadedSession,
  ) {}

  /** Loads the model; throws `MODEL_LOAD_FAILED`. */
  static async load(bytes: Uint8Array, manifest: ModelManifest): Promise<Classifier> {
    return new Classifier(manifest, await createSession(bytes));
  }

  get ref(): ModelRef {
    return { name: this.manifest.name, version: this.manifest.version };
  }

  /** `webgpu` or `wasm`. */
  get provider(): string {
    return this.loaded.provider;
  }

  /** Classifies encoded image bytes (PNG, JPEG, WebP). */
  async classify(bytes: Uint8Array, mime: string): Promise<Prediction> {
    const started = performance.now();
    const m = this.manifest;
    let input: Float32Array;
    try {
      input = await preprocessImageInBrowser(bytes, mime, m.preprocessing, m.input.layout);
    } catch (cause) {
      throw new ClientError('IMAGE_UNSUPPORTED', 'this image could not be decoded', { cause });
    }
    return this.predict(input, started);
  }

  /**
   * The self-test a new model must pass before it is installed: an all-zero input must run and
   * give one finite probability per label (it throws otherwise).
   */
  async selfTest(): Promise<void> {
    const [, a, b, c] = this.manifest.input.shape;
    const p = await this.predict(new Float32Array(a * b * c), performance.now());
    if (p.probabilities.length !== this.manifest.labels.length) {
      throw new ClientError(
        'UPDATE_SELF_TEST_FAILED',
        `the model gave ${p.probabilities.length} outputs for ${this.manifest.labels.length} labels`,
      );
    }
  }

  async release(): Promise<void> {
    await this.loaded.session.release().catch(() => undefined);
  }

  private async predict(input: Float32Array, started: number): Promise<Prediction> {
    const m = this.manifest;
    const [, a, b, c] = m.input.shape;
    const row = await runOnce(this.loaded.session, m.input.name, m.output.name, input, [a, b, c]);
    const probabilities = toProbabilities(row, m.output.kind);
    const top = topK(probabilities, m.labels, 3);
    const best = top[0] as ScoredLabel;
    return { label: best.label, confidence: best.p, probabilities, top, latencyMs: performance.now() - started };
  }
}
