/**
 * Accuracy of the fleet's predictions, estimated from reviewed device samples.
 *
 * Devices do not send every input: the protocol's sampler sends an input with probability
 * π = 1 − (1 − π_strategy)(1 − auditRate), the sample's `inclusionProbability`. Uncertain inputs are
 * sent with π near 1, confident ones only at the floor or through the random audit, so the samples
 * the hub holds are heavy with the inputs the model gets wrong, and their plain accuracy
 * understates the fleet's. Horvitz-Thompson weighting undoes that: a sample sent with probability π
 * stands for 1/π inputs, so Σ cᵢ/πᵢ estimates the correct predictions the fleet made and Σ 1/πᵢ all
 * its predictions. Their ratio (the Hájek form of the estimator, which also stays in [0, 1]) is the
 * accuracy estimate. The audit is what makes this possible: it keeps π ≥ auditRate > 0 for every
 * input, so confident predictions are represented too.
 *
 * Assumptions, stated so they can be checked: which received samples a person reviews must not
 * depend on whether the device was right (other than through π); a sample without π counts as π = 1.
 * Rows selected only through the audit draw were drawn with probability auditRate whatever the
 * prediction, so among audit rows alone the exact weight is 1 / auditRate, the same for every row
 * when the fleet shares one rate: for `population: 'audit'` use `weighting: 'none'` unless the rates
 * differ (see `TriggerConfig.performanceDrop`).
 */

/** One reviewed device sample: did the device's prediction match the reviewed label, and its π. */
export interface ReviewedSample {
  correct: boolean;
  inclusionProbability: number | null;
}

export interface AccuracyEstimate {
  /** Rows the estimate rests on. */
  reviewed: number;
  /** Rows whose prediction matched the reviewed label. */
  correct: number;
  /** Plain accuracy of the rows (0 without rows). */
  unweighted: number;
  /** The estimate: weighted by 1/π, or the plain accuracy for `weighting: 'none'` (0 without rows). */
  accuracy: number;
  /** Kish's effective sample size (Σw)² / Σw²: how many equally weighted rows the estimate is worth. */
  effectiveSize: number;
  weighting: 'inclusion' | 'none';
}

/** Weight of one row: 1/π, with a missing or invalid π read as 1 (sent for sure). */
export function weightOf(inclusionProbability: number | null, weighting: 'inclusion' | 'none'): number {
  if (weighting === 'none') return 1;
  const p = inclusionProbability;
  return p !== null && Number.isFinite(p) && p > 0 && p <= 1 ? 1 / p : 1;
}

/** The accuracy estimate over `rows` (see the module comment). */
export function estimateAccuracy(rows: readonly ReviewedSample[], weighting: 'inclusion' | 'none' = 'inclusion'): AccuracyEstimate {
  let correct = 0;
  let w = 0;
  let wCorrect = 0;
  let w2 = 0;
  for (const row of rows) {
    const weight = weightOf(row.inclusionProbability, weighting);
    w += weight;
    w2 += weight * weight;
    if (row.correct) {
      correct++;
      wCorrect += weight;
    }
  }
  const n = rows.length;
  return {
    reviewed: n,
    correct,
    unweighted: n === 0 ? 0 : correct / n,
    accuracy: w === 0 ? 0 : wCorrect / w,
    effectiveSize: w2 === 0 ? 0 : (w * w) / w2,
    weighting,
  };
}
