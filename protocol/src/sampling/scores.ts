/**
 * Uncertainty scores of a probability vector, each in [0, 1], higher meaning less sure.
 * The vector is trusted to be a distribution (the schemas check that at the boundary).
 */

function topTwo(p: readonly number[]): [number, number] {
  let first = Number.NEGATIVE_INFINITY;
  let second = Number.NEGATIVE_INFINITY;
  for (const x of p) {
    if (x > first) {
      second = first;
      first = x;
    } else if (x > second) second = x;
  }
  return [first, second];
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/** The largest probability: the model's confidence in its top label. */
export function confidence(p: readonly number[]): number {
  return topTwo(p)[0];
}

/**
 * Least confidence, normalised: (1 − p_max) · K / (K − 1), so a uniform vector scores 1 and a
 * one-hot vector 0 whatever the number of classes K.
 */
export function leastConfidenceScore(p: readonly number[]): number {
  const k = p.length;
  return clamp01(((1 - topTwo(p)[0]) * k) / (k - 1));
}

/** Margin: 1 − (p_1 − p_2), the gap between the two best labels turned into an uncertainty. */
export function marginScore(p: readonly number[]): number {
  const [a, b] = topTwo(p);
  return clamp01(1 - (a - b));
}

/** Entropy normalised by ln K: −Σ p ln p / ln K, so uniform scores 1 and one-hot 0. */
export function entropyScore(p: readonly number[]): number {
  let h = 0;
  for (const x of p) if (x > 0) h -= x * Math.log(x);
  return clamp01(h / Math.log(p.length));
}
