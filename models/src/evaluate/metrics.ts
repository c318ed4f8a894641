/** Classification metrics computed from predictions: pure functions, no tfjs. */

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** How many test examples truly belong to the class. */
  support: number;
}

export interface Evaluation {
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  labels: string[];
  /** Expected calibration error over `eceBins` equal-width confidence bins. */
  ece: number;
  eceBins: number;
  count: number;
}

/** Index of the largest of `k` probabilities starting at `offset`. */
export function argmax(p: ArrayLike<number>, offset = 0, k = p.length): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (p[offset + j]! > p[offset + best]!) best = j;
  return best;
}

/**
 * Evaluates predicted probabilities (`probs`: N × K, row-major) against true class indices.
 * Precision of a class never predicted is 0, as is the F1 of a class with no support.
 */
export function evaluatePredictions(
  probs: ArrayLike<number>,
  yTrue: ArrayLike<number>,
  labels: readonly string[],
  eceBins = 15,
): Evaluation {
  const k = labels.length;
  const n = yTrue.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const binCount = new Array<number>(eceBins).fill(0);
  const binConf = new Array<number>(eceBins).fill(0);
  const binCorrect = new Array<number>(eceBins).fill(0);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const pred = argmax(probs, i * k, k);
    const truth = yTrue[i]!;
    confusion[truth]![pred]! += 1;
    const conf = probs[i * k + pred]!;
    const bin = Math.min(eceBins - 1, Math.floor(conf * eceBins));
    binCount[bin]! += 1;
    binConf[bin]! += conf;
    if (pred === truth) {
      correct++;
      binCorrect[bin]! += 1;
    }
  }
  let ece = 0;
  for (let b = 0; b < eceBins; b++) {
    if (binCount[b]! > 0) ece += (binCount[b]! / n) * Math.abs(binCorrect[b]! / binCount[b]! - binConf[b]! / binCount[b]!);
  }
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((s, x) => s + x, 0);
    const predicted = confusion.reduce((s, row) => s + row[c]!, 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
  return {
    accuracy: n === 0 ? 0 : correct / n,
    macroF1: perClass.reduce((s, c) => s + c.f1, 0) / k,
    perClass,
    confusion,
    labels: [...labels],
    ece,
    eceBins,
    count: n,
  };
}

export interface OverfitReport {
  trainAccuracy: number;
  validationAccuracy: number;
  /** train − validation accuracy. */
  gap: number;
  /** True when the gap exceeds `threshold`. */
  overfitting: boolean;
  threshold: number;
}

/** Compares train and validation accuracy; a gap over `threshold` (default 5 points) is flagged. */
export function overfitCheck(trainAccuracy: number, validationAccuracy: number, threshold = 0.05): OverfitReport {
  const gap = trainAccuracy - validationAccuracy;
  return { trainAccuracy, validationAccuracy, gap, overfitting: gap > threshold, threshold };
}
