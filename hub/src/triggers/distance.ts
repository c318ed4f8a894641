/**
 * Distances between two discrete distributions given as counts (or weights) over the same bins:
 * the population stability index and the Jensen-Shannon distance. Both sides are normalised first,
 * so a reference of 1,000 validation predictions compares with a day of fleet telemetry.
 */

/**
 * Empty bins get this share in the PSI, whose terms are infinite for a bin that is empty on one side
 * only. 1e-4 is the usual floor: one such bin adds about 0.001·|ln(share / 1e-4)|.
 */
export const PSI_FLOOR = 1e-4;

/** Counts → shares summing to 1; all-zero counts stay zero. */
export function normalise(counts: readonly number[]): number[] {
  const total = counts.reduce((s, n) => s + n, 0);
  return counts.map((n) => (total > 0 ? n / total : 0));
}

/** Aligns two label → count maps on the union of their labels (sorted), as two count vectors. */
export function alignCounts(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): { labels: string[]; a: number[]; b: number[] } {
  const labels = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return { labels, a: labels.map((l) => a[l] ?? 0), b: labels.map((l) => b[l] ?? 0) };
}

function checkBins(expected: readonly number[], actual: readonly number[]): void {
  if (expected.length !== actual.length) throw new RangeError(`bin counts differ: ${expected.length} vs ${actual.length}`);
}

/**
 * Population stability index Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) of the actual shares `a` against the expected
 * (reference) shares `e`, with empty bins floored at {@link PSI_FLOOR}. 0 for identical shares;
 * by the usual rule of thumb < 0.1 is stable, 0.1-0.25 a moderate shift, > 0.25 a large one.
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  checkBins(expected, actual);
  const e = normalise(expected);
  const a = normalise(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i]!, PSI_FLOOR);
    const ai = Math.max(a[i]!, PSI_FLOOR);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

function klToMixture(p: readonly number[], m: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) sum += p[i]! * Math.log2(p[i]! / m[i]!);
  return sum;
}

/**
 * Jensen-Shannon distance: the square root of the JS divergence with base-2 logarithms, a metric in
 * [0, 1] (1 for distributions with disjoint support). Empty bins need no floor: the mixture is
 * positive wherever either side is.
 */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  checkBins(p, q);
  const a = normalise(p);
  const b = normalise(q);
  const m = a.map((x, i) => (x + b[i]!) / 2);
  const divergence = 0.5 * klToMixture(a, m) + 0.5 * klToMixture(b, m);
  // Rounding can leave a tiny negative divergence for identical inputs.
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/** The configured metric over two count vectors. */
export function distance(metric: 'psi' | 'js', expected: readonly number[], actual: readonly number[]): number {
  return metric === 'psi' ? psi(expected, actual) : jsDistance(expected, actual);
}
