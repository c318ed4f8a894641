/**
 * After a classification: the sampler decides, and a selected input is framed (protocol
 * `encodeSampleFrame`, sample id = sha256 of the image bytes) and put in the outbox. None of this
 * may slow down or fail a classification: it runs after the answer, its errors are counted and
 * logged, and at most `maxPending` enqueues wait at once (beyond that a selected sample is dropped
 * and counted; a slow disk must not turn into unbounded memory).
 */
import { createHash } from 'node:crypto';
import { inspectImage, MIME_OF } from '@edgeloop/models/data';
import { encodeSampleFrame } from '@edgeloop/protocol';
import type { Classification } from '../classifier/classifier.js';
import type { Logger } from '../log.js';
import type { Outbox } from '../outbox/outbox.js';
import type { Sampler } from '../sampler/sampler.js';

/** What became of the inputs offered, for `/status`. */
export interface SampleCounts {
  offered: number;
  selected: number;
  stored: number;
  duplicate: number;
  notSelected: number;
  budgetExhausted: number;
  /** Refused by the outbox (cap, full disk, storage error). */
  rejected: number;
  /** Dropped because too many enqueues were already waiting. */
  dropped: number;
  errors: number;
}

export interface SamplePathOptions {
  deviceId: string;
  sampler: Sampler;
  outbox: Outbox;
  log: Logger;
  /** After a sample is stored (the uplink drains at once). */
  onStored?: () => void;
  maxPending?: number;
  now?: () => number;
}

export class SamplePath {
  readonly counts: SampleCounts = {
    offered: 0,
    selected: 0,
    stored: 0,
    duplicate: 0,
    notSelected: 0,
    budgetExhausted: 0,
    rejected: 0,
    dropped: 0,
    errors: 0,
  };
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: SamplePathOptions) {}

  /** Offers one classified input; returns at once. */
  offer(bytes: Uint8Array, result: Classification): void {
    this.counts.offered++;
    try {
      const sampleId = createHash('sha256').update(bytes).digest('hex');
      const verdict = this.options.sampler.consider({ sampleId, probabilities: result.probabilities, label: result.label });
      if (!verdict.include) {
        if (verdict.reason === 'duplicate') this.counts.duplicate++;
        else if (verdict.reason === 'budget_exhausted') this.counts.budgetExhausted++;
        else this.counts.notSelected++;
        return;
      }
      this.counts.selected++;
      if (this.pending.size >= (this.options.maxPending ?? 256)) {
        this.counts.dropped++;
        return;
      }
      const job = this.store(sampleId, bytes, result, verdict.sampling).finally(() => this.pending.delete(job));
      this.pending.add(job);
    } catch (err) {
      this.counts.errors++;
      this.options.log.warn({ err }, 'sampling failed; the classification stands');
    }
  }

  /** Resolves once every enqueue offered so far has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async store(
    sampleId: string,
    bytes: Uint8Array,
    r: Classification,
    sampling: Parameters<typeof encodeSampleFrame>[0]['sampling'],
  ): Promise<void> {
    const { log, outbox, deviceId } = this.options;
    try {
      const { format, width, height } = await inspectImage(bytes);
      const frame = encodeSampleFrame({
        v: 1,
        sampleId,
        deviceId,
        model: r.model,
        capturedAt: new Date((this.options.now ?? Date.now)()).toISOString(),
        image: { mime: MIME_OF[format], width, height, byteLength: bytes.byteLength, bytes },
        prediction: { label: r.label, confidence: r.confidence, probabilities: r.probabilities, latencyMs: r.latencyMs },
        sampling,
      });
      // Audit samples go first: they are the unbiased measure of live accuracy.
      const outcome = await outbox.enqueue({ sampleId, bytes: frame, priority: sampling.audit ? 1 : 0 });
      if (outcome === 'stored') {
        this.counts.stored++;
        this.options.onStored?.();
      } else if (outcome === 'duplicate') this.counts.duplicate++;
      else this.counts.rejected++;
    } catch (err) {
      this.counts.errors++;
      log.warn({ err, sampleId }, 'sample not queued; the classification stands');
    }
  }
}
