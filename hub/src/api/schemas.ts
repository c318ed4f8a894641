/** Zod schemas the routes share: identifiers, paging, timestamps and the error body. */
import { DeviceIdSchema, LabelSchema, SampleIdSchema } from '@edgeloop/protocol';
import { z } from 'zod';

export { DeviceIdSchema, LabelSchema, SampleIdSchema };

/** A dataset snapshot id: the sha256 content hash of its manifest. */
export const DatasetIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (a snapshot hash)');

/**
 * An integer query parameter in `min..max`. Query values are text: it is coerced, so the OpenAPI
 * document (generated from the input side) still says `integer`.
 */
export function queryInt(min: number, max: number, fallback: number) {
  return z.coerce.number().int().min(min).max(max).default(fallback);
}

/** `limit` and `offset` for list endpoints. */
export function paging(maxLimit: number, defaultLimit: number) {
  return {
    limit: queryInt(1, maxLimit, defaultLimit).describe(`Page size, 1-${maxLimit}.`),
    offset: queryInt(0, 1_000_000_000, 0).describe('Items to skip.'),
  };
}

/** An ISO 8601 time with an offset, normalised to UTC milliseconds (how the hub stores times). */
export const InstantSchema = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s).toISOString())
  .describe('ISO 8601 date-time');

export const ErrorSchema = z.object({
  code: z.string().describe('Stable error code, e.g. BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, TOO_LARGE'),
  message: z.string(),
  requestId: z.string().optional(),
  issues: z
    .array(
      z.object({
        in: z.enum(['params', 'query', 'body', 'headers']),
        path: z.array(z.union([z.string(), z.number()])),
        message: z.string(),
      }),
    )
    .optional()
    .describe('Schema violations (only for requests that do not match the schema)'),
});

export const LabelRecordSchema = z.object({
  sampleId: z.string(),
  label: z.string(),
  source: z.enum(['human', 'pre-annotation', 'import', 'device-user']),
  action: z.enum(['accept', 'correct', 'import', 'annotate']),
  labelledBy: z.string(),
  labelledAt: z.string(),
});
