/**
 * Which pool samples to label next. Uncertainty picks score every probability vector with the same
 * functions the devices' samplers use (`@edgeloop/protocol`), so the benchmark measures the
 * strategy the fleet runs, not a look-alike.
 */
import { entropyScore, leastConfidenceScore, marginScore, type Rng } from '@edgeloop/protocol';

/** The protocol's uncertainty scores, each in [0, 1], higher meaning less sure. */
export const UNCERTAINTY_SCORES = {
  margin: marginScore,
  entropy: entropyScore,
  least_confidence: leastConfidenceScore,
} as const;

export type UncertaintyScoreName = keyof typeof UNCERTAINTY_SCORES;

/** Scores each row of `probs` (N × K, row-major) with the named protocol score. */
export function scoreRows(probs: ArrayLike<number>, k: number, score: UncertaintyScoreName): Float64Array {
  const fn = UNCERTAINTY_SCORES[score];
  const n = Math.floor(probs.length / k);
  const out = new Float64Array(n);
  const row = new Array<number>(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) row[j] = probs[i * k + j]!;
    out[i] = fn(row);
  }
  return out;
}

/**
 * The `count` candidates with the highest uncertainty `scores[c]`, most uncertain first. Ties go
 * to the earlier candidate, so a pick never depends on the sort's stability.
 */
export function pickMostUncertain(scores: ArrayLike<number>, candidates: readonly number[], count: number): number[] {
  return [...candidates].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, Math.max(0, count));
}

/**
 * Like `pickMostUncertain`, with batch diversity: at most `perClass` picks share a predicted class
 * (`predicted[c]`) in one round, so a round is not spent on one confusable pair alone. If the cap
 * leaves the round short, the most uncertain of the skipped candidates fill it.
 */
export function pickMostUncertainCapped(
  scores: ArrayLike<number>,
  predicted: ArrayLike<number>,
  candidates: readonly number[],
  count: number,
  perClass: number,
): number[] {
  const ranked = pickMostUncertain(scores, candidates, candidates.length);
  const want = Math.min(Math.max(0, count), ranked.length);
  const perClassCount = new Map<number, number>();
  const picks: number[] = [];
  const skipped: number[] = [];
  for (const c of ranked) {
    if (picks.length === want) break;
    const cls = predicted[c]!;
    const n = perClassCount.get(cls) ?? 0;
    if (n < perClass) {
      perClassCount.set(cls, n + 1);
      picks.push(c);
    } else skipped.push(c);
  }
  for (const c of skipped) {
    if (picks.length === want) break;
    picks.push(c);
  }
  return picks;
}

/** `count` distinct candidates drawn uniformly without replacement (a partial Fisher–Yates on `rng`). */
export function pickRandom(candidates: readonly number[], count: number, rng: Rng): number[] {
  const a = [...candidates];
  const n = Math.min(Math.max(0, count), a.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng() * (a.length - i));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, n);
}
