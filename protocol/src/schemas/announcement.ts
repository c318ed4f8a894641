import { z } from 'zod';
import { ModelNameSchema, ModelVersionSchema, TimestampSchema } from '../ids.js';
import { V1 } from './common.js';

/**
 * A release announcement, retained on the model's `announce` topic. It is a hint only: a device
 * that sees it fetches and verifies the signed TUF metadata and trusts nothing in this message.
 */
export const AnnouncementSchema = z.strictObject({
  v: V1,
  model: ModelNameSchema,
  version: ModelVersionSchema,
  /** The version of the TUF timestamp metadata that carries this release. */
  timestampVersion: z.number().int().positive(),
  publishedAt: TimestampSchema,
  /** Where the TUF repository lives, relative to the hub's base URL unless absolute. */
  repository: z.string().min(1).max(512).optional(),
  /** The cohort the release is for while it is a canary; absent for the whole fleet. */
  cohort: z.string().min(1).max(64).optional(),
});

export type Announcement = z.infer<typeof AnnouncementSchema>;
