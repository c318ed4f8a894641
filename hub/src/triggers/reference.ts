/**
 * The drift reference: what the champion predicted on its own validation set, in the shape the
 * fleet's telemetry windows have (a top-1 confidence histogram and predicted-class counts), so that
 * the two compare bin for bin. The pipeline builds it from the validation predictions when it
 * registers a champion and hands it to the trigger engine.
 */
import { CONFIDENCE_BUCKETS, confidenceBucket, type ModelRef } from '@edgeloop/protocol';

export interface Reference {
  /** The model the reference describes; drift then reads only that model's telemetry. */
  model?: ModelRef;
  /** Counts (or shares) of top-1 confidences in the protocol's `CONFIDENCE_BUCKETS` buckets. */
  confidenceHistogram: readonly number[];
  /** Counts (or shares) of predicted classes: what the model said, not the true labels. */
  classCounts: Readonly<Record<string, number>>;
}

/** A reference from the champion's predictions on its validation set. */
export function referenceFromPredictions(predictions: Iterable<{ label: string; confidence: number }>, model?: ModelRef): Reference {
  const confidenceHistogram = new Array<number>(CONFIDENCE_BUCKETS).fill(0);
  const classCounts: Record<string, number> = {};
  for (const p of predictions) {
    confidenceHistogram[confidenceBucket(p.confidence)]! += 1;
    classCounts[p.label] = (classCounts[p.label] ?? 0) + 1;
  }
  return { ...(model ? { model } : {}), confidenceHistogram, classCounts };
}
