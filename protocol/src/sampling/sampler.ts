import type { SamplingBudget } from './budget.js';
import type { SamplingConfig } from './config.js';
import type { Rng } from './rng.js';
import { decide, type SamplingDecision } from './strategies.js';

/**
 * A strategy decision gated by the budget: a sample the strategy selected is sent only if the
 * device and its predicted class still have a token. Audit samples bypass the budget, so the
 * audit stays an unbiased sample at exactly `auditRate`.
 */
export function selectSample(
  p: readonly number[],
  predictedLabel: string,
  config: SamplingConfig,
  budget: SamplingBudget,
  rng: Rng,
  now: number,
): SamplingDecision {
  const d = decide(p, config, rng);
  if (!d.include || d.audit) return d;
  return budget.tryTake(predictedLabel, now) ? d : { ...d, include: false, reason: 'budget_exhausted' };
}
