import type { StrategyName } from '../schemas/sample-envelope.js';
import type { SamplingConfig, StrategyConfig } from './config.js';
import type { Rng } from './rng.js';
import { confidence, entropyScore, leastConfidenceScore, marginScore } from './scores.js';

/** The reasons a decision can give; `not_selected` and `budget_exhausted` never reach the wire. */
export type DecisionReason = 'uncertain' | 'floor' | 'random' | 'audit' | 'not_selected' | 'budget_exhausted';

/** The outcome of one sampling decision. */
export interface SamplingDecision {
  include: boolean;
  strategy: Exclude<StrategyName, 'user'>;
  /** The strategy's uncertainty score in [0, 1] (for `threshold_band`, 1 − confidence). */
  score: number;
  /**
   * P(include) for this prediction under the configuration, before budgets: with strategy
   * probability π and audit rate a, it is 1 − (1 − π)(1 − a). The hub weights by its inverse.
   */
  inclusionProbability: number;
  /** Whether the independent audit draw fired (P = auditRate exactly). */
  audit: boolean;
  reason: DecisionReason;
}

/** What one strategy says about one prediction: its score and its inclusion probability π. */
export interface StrategyOutcome {
  score: number;
  probability: number;
  /** The reason given when the strategy's own draw selects the sample. */
  reason: 'uncertain' | 'floor' | 'random';
}

/** Evaluates a strategy on a probability vector, without drawing. Pure. */
export function evaluateStrategy(p: readonly number[], s: StrategyConfig): StrategyOutcome {
  switch (s.strategy) {
    case 'least_confidence':
    case 'margin':
    case 'entropy': {
      const score = s.strategy === 'margin' ? marginScore(p) : s.strategy === 'entropy' ? entropyScore(p) : leastConfidenceScore(p);
      return score >= s.threshold ? { score, probability: 1, reason: 'uncertain' } : { score, probability: s.floor, reason: 'floor' };
    }
    case 'threshold_band': {
      const top = confidence(p);
      const inBand = top >= s.low && top <= s.high;
      return { score: 1 - top, probability: inBand ? 1 : s.floor, reason: inBand ? 'uncertain' : 'floor' };
    }
    case 'random':
      return { score: leastConfidenceScore(p), probability: s.rate, reason: 'random' };
  }
}

/**
 * Decides whether to send a prediction's input to the hub. Always draws exactly two numbers from
 * `rng` (strategy, then audit), so a seeded replay gives the same decisions.
 */
export function decide(p: readonly number[], config: SamplingConfig, rng: Rng): SamplingDecision {
  const outcome = evaluateStrategy(p, config.strategy);
  const byStrategy = rng() < outcome.probability;
  const audit = rng() < config.auditRate;
  const inclusionProbability = 1 - (1 - outcome.probability) * (1 - config.auditRate);
  return {
    include: byStrategy || audit,
    strategy: config.strategy.strategy,
    score: outcome.score,
    inclusionProbability,
    audit,
    reason: byStrategy ? outcome.reason : audit ? 'audit' : 'not_selected',
  };
}
