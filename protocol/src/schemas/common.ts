import { z } from 'zod';
import { ModelNameSchema, ModelVersionSchema } from '../ids.js';
import { MAX_LABELS } from '../limits.js';

/** The protocol version field every message carries. */
export const V1 = z.literal(1);

/** A model reference: name and version. */
export const ModelRefSchema = z.strictObject({ name: ModelNameSchema, version: ModelVersionSchema });
export type ModelRef = z.infer<typeof ModelRefSchema>;

/** A probability in [0, 1]. */
export const ProbabilitySchema = z.number().min(0).max(1);

/** A probability vector aligned with the model's labels: each in [0, 1], summing to 1 ± 1e-3. */
export const ProbabilityVectorSchema = z
  .array(ProbabilitySchema)
  .min(2)
  .max(MAX_LABELS)
  .refine((p) => Math.abs(p.reduce((s, x) => s + x, 0) - 1) <= 1e-3, 'probabilities must sum to 1 (±1e-3)');

/** A finite, non-negative count. */
export const CountSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
