import { z } from 'zod';
import { ProbabilitySchema } from '../schemas/common.js';

/** Uncertainty strategies: include with probability 1 when score ≥ threshold, else `floor`. */
const UncertaintySchema = z.strictObject({
  strategy: z.enum(['least_confidence', 'margin', 'entropy']),
  threshold: ProbabilitySchema,
  /** Inclusion probability below the threshold; keeps every input reachable (0 disables). */
  floor: ProbabilitySchema.default(0),
});

/** Include with probability 1 when the top confidence lies in [low, high], else `floor`. */
const BandSchema = z
  .strictObject({
    strategy: z.literal('threshold_band'),
    low: ProbabilitySchema,
    high: ProbabilitySchema,
    floor: ProbabilitySchema.default(0),
  })
  .refine((b) => b.low <= b.high, { message: 'low must not exceed high', path: ['low'] });

/** Random sampling at a fixed rate, whatever the prediction. */
const RandomSchema = z.strictObject({ strategy: z.literal('random'), rate: ProbabilitySchema });

export const StrategyConfigSchema = z.union([UncertaintySchema, BandSchema, RandomSchema]);

/**
 * A device's sampling configuration: one strategy plus an independent random audit at
 * `auditRate`. The audit draw ignores the prediction, so audited samples are an unbiased sample of
 * the fleet's inputs: the hub measures live accuracy on them.
 */
export const SamplingConfigSchema = z.strictObject({
  strategy: StrategyConfigSchema,
  auditRate: ProbabilitySchema.default(0),
});

/** A token bucket: at most `capacity` tokens, refilled at `refillPerHour`. */
export const BucketConfigSchema = z.strictObject({
  capacity: z.number().positive().max(1e9),
  refillPerHour: z.number().nonnegative().max(1e9),
});

/**
 * Sending budgets: one bucket for the whole device, one per predicted class (`perClass`, with
 * optional overrides by label). A sample needs a token from both. Audit samples bypass budgets so
 * that the audit rate stays exact.
 */
export const BudgetConfigSchema = z.strictObject({
  device: BucketConfigSchema,
  perClass: BucketConfigSchema,
  classOverrides: z.record(z.string().min(1).max(128), BucketConfigSchema).default({}),
});

export type StrategyConfig = z.infer<typeof StrategyConfigSchema>;
export type SamplingConfig = z.infer<typeof SamplingConfigSchema>;
export type SamplingConfigInput = z.input<typeof SamplingConfigSchema>;
export type BucketConfig = z.infer<typeof BucketConfigSchema>;
export type BudgetConfig = z.infer<typeof BudgetConfigSchema>;
