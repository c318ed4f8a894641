import { z } from 'zod';
import { DeviceIdSchema, LabelSchema, TimestampSchema } from '../ids.js';
import { MAX_LABELS } from '../limits.js';
import { CountSchema, ModelRefSchema, ProbabilitySchema, V1 } from './common.js';

/** Buckets of a confidence histogram: bucket i holds confidences in [i/20, (i+1)/20), the last includes 1. */
export const CONFIDENCE_BUCKETS = 20;

const ClassStatsSchema = z
  .strictObject({
    count: CountSchema,
    confidenceHistogram: z.array(CountSchema).length(CONFIDENCE_BUCKETS),
  })
  .refine((c) => c.confidenceHistogram.reduce((s, x) => s + x, 0) === c.count, {
    message: 'histogram must sum to count',
    path: ['confidenceHistogram'],
  });

/**
 * What a device saw in one window: predictions per class with a confidence histogram per class,
 * latency quantiles and the low-confidence rate. The hub compares these with the champion's
 * validation reference to detect drift.
 */
export const TelemetryWindowSchema = z
  .strictObject({
    v: V1,
    deviceId: DeviceIdSchema,
    model: ModelRefSchema,
    windowStart: TimestampSchema,
    windowEnd: TimestampSchema,
    total: CountSchema,
    classes: z.record(LabelSchema, ClassStatsSchema).refine((r) => Object.keys(r).length <= MAX_LABELS, {
      message: `at most ${MAX_LABELS} classes`,
    }),
    latencyMs: z.strictObject({ p50: z.number().nonnegative(), p95: z.number().nonnegative() }),
    lowConfidenceThreshold: ProbabilitySchema,
    lowConfidenceRate: ProbabilitySchema,
  })
  .refine((t) => t.windowStart <= t.windowEnd, { message: 'window must not end before it starts', path: ['windowEnd'] })
  .refine((t) => Object.values(t.classes).reduce((s, c) => s + c.count, 0) === t.total, {
    message: 'class counts must sum to total',
    path: ['total'],
  })
  .refine((t) => t.latencyMs.p50 <= t.latencyMs.p95, { message: 'p50 must not exceed p95', path: ['latencyMs'] });

export type TelemetryWindow = z.infer<typeof TelemetryWindowSchema>;
