/** Turning a model's raw output row into a probability vector and its top k (as the edge agent does). */
import { ClientError } from '../errors.js';

export interface ScoredLabel {
  label: string;
  p: number;
}

/**
 * A probability vector in float64. Logits go through a max-shifted softmax; probabilities are
 * renormalised, because float32 outputs drift from 1 by a few ulps and the protocol checks the sum.
 * A NaN or infinity is refused: a broken model's output must not be reported as a prediction.
 */
export function toProbabilities(row: ArrayLike<number>, kind: 'probabilities' | 'logits'): number[] {
  const out = Array.from(row, Number);
  if (out.some((x) => !Number.isFinite(x))) throw new ClientError('INFERENCE_FAILED', 'the model produced a NaN or infinite output');
  if (kind === 'logits') {
    const max = Math.max(...out);
    for (let i = 0; i < out.length; i++) out[i] = Math.exp((out[i] as number) - max);
  } else if (out.some((x) => x < 0)) {
    throw new ClientError('INFERENCE_FAILED', 'the model produced a negative probability');
  }
  const sum = out.reduce((s, x) => s + x, 0);
  if (!(sum > 0)) throw new ClientError('INFERENCE_FAILED', 'the model produced an all-zero output');
  return out.map((x) => x / sum);
}

/** The `k` most probable labels, most probable first; ties keep label order. */
export function topK(probabilities: readonly number[], labels: readonly string[], k: number): ScoredLabel[] {
  return probabilities
    .map((p, i) => ({ label: labels[i] as string, p, i }))
    .sort((a, b) => b.p - a.p || a.i - b.i)
    .slice(0, Math.max(1, k))
    .map(({ label, p }) => ({ label, p }));
}
