import { z } from 'zod';
import { LabelSchema, ModelNameSchema, ModelVersionSchema, TimestampSchema } from '../ids.js';
import { MAX_LABELS } from '../limits.js';
import { V1 } from './common.js';

/**
 * How raw pixels become the model's input tensor. Training, the edge agent (sharp) and the
 * browser (canvas) all implement this one spec, and must give the same tensor on the golden images.
 *
 * Steps, in order: decode; flatten any alpha onto `background`; convert to `channels`
 * (1 = luma, ITU-R BT.601); resize to `width`×`height` with `fit` and `kernel`; scale to [0, 1];
 * optionally `invert` (x → 1 − x); then (x − mean[c]) / std[c].
 */
export const PreprocessingSchema = z
  .strictObject({
    width: z.number().int().min(1).max(4096),
    height: z.number().int().min(1).max(4096),
    channels: z.union([z.literal(1), z.literal(3)]),
    fit: z.enum(['fill', 'contain', 'cover']),
    kernel: z.enum(['nearest', 'bilinear']),
    background: z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]),
    invert: z.boolean(),
    mean: z.array(z.number()).min(1).max(3),
    std: z.array(z.number().positive()).min(1).max(3),
  })
  .refine((p) => p.mean.length === p.channels && p.std.length === p.channels, {
    message: 'mean and std need one entry per channel',
    path: ['mean'],
  });

export const TensorLayoutSchema = z.enum(['NHWC', 'NCHW']);

/**
 * Everything a runtime needs to run a model: its labels, the input tensor's name, shape and layout,
 * the preprocessing, and the sha256 and length of the ONNX bytes (checked before loading).
 */
export const ModelManifestSchema = z
  .strictObject({
    v: V1,
    name: ModelNameSchema,
    version: ModelVersionSchema,
    labels: z
      .array(LabelSchema)
      .min(2)
      .max(MAX_LABELS)
      .refine((l) => new Set(l).size === l.length, 'labels must be unique'),
    input: z.strictObject({
      name: z.string().min(1).max(128),
      /** Batch first; -1 marks the dynamic batch dimension. */
      shape: z.tuple([z.literal(-1), z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
      layout: TensorLayoutSchema,
      dtype: z.literal('float32'),
    }),
    output: z.strictObject({ name: z.string().min(1).max(128), kind: z.enum(['probabilities', 'logits']) }),
    preprocessing: PreprocessingSchema,
    model: z.strictObject({
      format: z.literal('onnx'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      length: z.number().int().positive(),
    }),
    createdAt: TimestampSchema,
    datasetHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .superRefine((m, ctx) => {
    const [, a, b, c] = m.input.shape;
    const { height, width, channels } = m.preprocessing;
    const expected = m.input.layout === 'NHWC' ? [height, width, channels] : [channels, height, width];
    if (a !== expected[0] || b !== expected[1] || c !== expected[2]) {
      ctx.addIssue({
        code: 'custom',
        path: ['input', 'shape'],
        message: `input shape must be [-1, ${expected.join(', ')}] for ${m.input.layout} and the preprocessing size`,
      });
    }
  });

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
export type Preprocessing = z.infer<typeof PreprocessingSchema>;
