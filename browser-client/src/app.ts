/**
 * What happens to an input: classify it with the current model, show the result, let the sampler
 * decide whether the hub should see it, and if so put its sample frame in the outbox. A correction
 * ("this is wrong") always becomes a sample, labelled by the person, whatever the sampler says.
 */
import { encodeSampleFrame, type SamplingInfo, sampleIdOf } from '@edgeloop/protocol';
import { ClientError, errorMessage } from './errors.js';
import type { Classifier, Prediction } from './inference/classifier.js';
import type { IdbOutbox } from './outbox/idb-outbox.js';
import type { Sampler } from './sampler/sampler.js';
import type { EncodedImage } from './ui/image-input.js';

/** The last classified input, kept so a correction can refer to it. */
export interface Classified {
  image: EncodedImage;
  sampleId: string;
  prediction: Prediction;
  model: { name: string; version: number };
  capturedAt: string;
}

export interface AppDeps {
  outbox: IdbOutbox;
  sampler: Sampler;
  /** The device id once registered; samples made before that wait for it (see `enqueueLater`). */
  deviceId: () => string | undefined;
  /** Called after something was put in the outbox (the uplink sends it). */
  onQueued?: () => void;
}

export class App {
  private classifier: Classifier | undefined;
  private last: Classified | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AppDeps) {}

  get model(): Classifier | undefined {
    return this.classifier;
  }

  /** Swaps the running model; the old one is released once no classification uses it. */
  setClassifier(next: Classifier): void {
    const old = this.classifier;
    this.classifier = next;
    if (old && old !== next) this.queue = this.queue.then(() => old.release());
  }

  /** Classifies an input, shows nothing (the caller does), and offers it to the sampler. */
  classify(image: EncodedImage): Promise<Classified> {
    const run = this.queue.then(async () => {
      const classifier = this.classifier;
      if (!classifier) throw new ClientError('MODEL_LOAD_FAILED', 'no verified model is installed yet; connect once to download one');
      const [prediction, sampleId] = await Promise.all([classifier.classify(image.bytes, image.mime), sampleIdOf(image.bytes)]);
      const classified: Classified = { image, sampleId, prediction, model: classifier.ref, capturedAt: new Date().toISOString() };
      this.last = classified;
      const verdict = this.deps.sampler.consider(sampleId, prediction.probabilities, prediction.label);
      // Before the first registration there is no device id to send under: the sample is skipped,
      // classification is not (a person can still correct it later, once registered).
      if (verdict.include && this.deps.deviceId()) await this.enqueue(classified, verdict.sampling);
      return classified;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Sends the last input with the label the person chose. */
  async correct(label: string): Promise<'stored' | 'duplicate'> {
    const last = this.last;
    if (!last) throw new ClientError('INFERENCE_FAILED', 'there is nothing to correct yet');
    if (!this.classifier?.manifest.labels.includes(label)) throw new ClientError('INFERENCE_FAILED', `unknown label ${label}`);
    const sampling: SamplingInfo = {
      strategy: 'user',
      reason: 'user',
      inclusionProbability: 1,
      audit: false,
      score: Math.min(1, Math.max(0, 1 - last.prediction.confidence)),
    };
    // A correction replaces a sampled copy of the same image still waiting: the label is what matters.
    await this.deps.outbox.ack([last.sampleId]);
    return this.enqueue(last, sampling, label);
  }

  private async enqueue(c: Classified, sampling: SamplingInfo, label?: string): Promise<'stored' | 'duplicate'> {
    const deviceId = this.deps.deviceId();
    if (!deviceId) throw new ClientError('REGISTER_FAILED', 'this browser has not registered with the hub yet; connect once first');
    const { bytes, mime, width, height } = c.image;
    const p = c.prediction;
    let frame: Uint8Array;
    try {
      frame = encodeSampleFrame({
        v: 1,
        sampleId: c.sampleId,
        deviceId,
        model: c.model,
        capturedAt: c.capturedAt,
        image: { mime, width, height, byteLength: bytes.byteLength, bytes },
        prediction: { label: p.label, confidence: p.confidence, probabilities: p.probabilities, latencyMs: p.latencyMs },
        sampling,
        ...(label !== undefined ? { annotation: { label, source: 'user' as const } } : {}),
      });
    } catch (cause) {
      throw new ClientError('INFERENCE_FAILED', `could not encode the sample: ${errorMessage(cause)}`, { cause });
    }
    const result = await this.deps.outbox.enqueue({ sampleId: c.sampleId, bytes: frame, correction: label !== undefined });
    this.deps.onQueued?.();
    return result;
  }
}
