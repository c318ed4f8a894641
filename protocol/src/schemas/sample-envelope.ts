import { z } from 'zod';
import { DeviceIdSchema, LabelSchema, SampleIdSchema, TimestampSchema } from '../ids.js';
import { MAX_IMAGE_BYTES, MAX_IMAGE_SIDE } from '../limits.js';
import { ModelRefSchema, ProbabilitySchema, ProbabilityVectorSchema, V1 } from './common.js';

/** Image formats a sample may carry; the hub also sniffs the magic bytes. */
export const IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/webp'] as const;

/** Names of the sampling strategies (see `sampling/strategies.ts`). */
export const STRATEGY_NAMES = ['least_confidence', 'margin', 'entropy', 'threshold_band', 'random', 'user'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * Why a sample was selected: `uncertain` (score at or over the threshold, or inside the band),
 * `floor` (below it, drawn at the floor probability), `random` (the random strategy), `audit` (only
 * the audit draw selected it), `user` (a correction a person made).
 */
export const SAMPLING_REASONS = ['uncertain', 'floor', 'random', 'audit', 'user'] as const;

/** Image metadata declared by the sender; the bytes travel after the header in the frame. */
export const ImageMetaSchema = z.strictObject({
  mime: z.enum(IMAGE_MIMES),
  width: z.number().int().min(1).max(MAX_IMAGE_SIDE),
  height: z.number().int().min(1).max(MAX_IMAGE_SIDE),
  byteLength: z.number().int().min(1).max(MAX_IMAGE_BYTES),
});

/** Why and how likely the sample was sent: the hub weights by 1/inclusionProbability. */
export const SamplingInfoSchema = z.strictObject({
  strategy: z.enum(STRATEGY_NAMES),
  score: z.number().min(0).max(1),
  /** P(this input is sent) under the device's sampling configuration, budgets aside. */
  inclusionProbability: z.number().gt(0).max(1),
  /** True when the independent random audit draw selected it: these form an unbiased sample. */
  audit: z.boolean(),
  reason: z.enum(SAMPLING_REASONS),
});

/** The header of a sample frame: everything but the image bytes. */
export const SampleHeaderSchema = z.strictObject({
  v: V1,
  sampleId: SampleIdSchema,
  deviceId: DeviceIdSchema,
  model: ModelRefSchema,
  capturedAt: TimestampSchema,
  image: ImageMetaSchema,
  prediction: z.strictObject({
    label: LabelSchema,
    confidence: ProbabilitySchema,
    probabilities: ProbabilityVectorSchema,
    latencyMs: z.number().nonnegative().max(3_600_000).optional(),
  }),
  sampling: SamplingInfoSchema,
  /** A label a person gave on the device (the browser's "this is wrong"). */
  annotation: z.strictObject({ label: LabelSchema, source: z.literal('user') }).optional(),
});

export type SampleHeader = z.infer<typeof SampleHeaderSchema>;
export type SamplingInfo = z.infer<typeof SamplingInfoSchema>;

/** A decoded sample: the header with the image bytes attached. */
export type SampleEnvelope = Omit<SampleHeader, 'image'> & {
  image: SampleHeader['image'] & { bytes: Uint8Array };
};
