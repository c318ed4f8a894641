/**
 * Paired bootstrap of the accuracy difference between two classifiers scored on the same
 * examples. Pairing matters: both models see the same hard and easy images, so resampling the
 * per-example difference d_i = correct_challenger(i) − correct_champion(i) cancels the shared
 * difficulty and gives a much tighter interval than two independent accuracies would.
 */

/**
 * A small seeded generator (xoshiro128**, seeded through splitmix32) so that a gate decision can
 * be recomputed exactly from its stored seed. Returns floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export interface BootstrapResult {
  /** Observed mean difference (challenger − champion accuracy). */
  difference: number;
  low: number;
  high: number;
  /** Bootstrap standard error of the difference. */
  standardError: number;
  resamples: number;
  confidence: number;
  seed: number;
}

/**
 * Percentile CI of the mean of the paired differences `d` (each −1, 0 or 1 for correctness, but
 * any numbers work) from `resamples` resamples of the examples, with replacement.
 */
export function pairedBootstrap(d: ArrayLike<number>, options: { resamples: number; confidence: number; seed: number }): BootstrapResult {
  const n = d.length;
  const { resamples, confidence, seed } = options;
  if (n === 0) throw new RangeError('the bootstrap needs at least one example');
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError('resamples must be a positive integer');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError('confidence must be in (0, 1)');
  const random = seededRandom(seed);
  const means = new Float64Array(resamples);
  let observed = 0;
  for (let i = 0; i < n; i++) observed += d[i]!;
  observed /= n;
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += d[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort();
  let mean = 0;
  for (const m of means) mean += m;
  mean /= resamples;
  let variance = 0;
  for (const m of means) variance += (m - mean) ** 2;
  const alpha = (1 - confidence) / 2;
  return {
    difference: observed,
    low: quantile(means, alpha),
    high: quantile(means, 1 - alpha),
    standardError: Math.sqrt(variance / Math.max(1, resamples - 1)),
    resamples,
    confidence,
    seed,
  };
}

/** Linear-interpolated quantile of sorted values (type 7, as R's and numpy's default). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
