import { z } from 'zod';
import { SampleIdSchema, TimestampSchema } from '../ids.js';
import { MAX_IDS_PER_ACK } from '../limits.js';
import { V1 } from './common.js';

/** Why the hub refused a sample. A rejected sample is final: the device drops it. */
export const REJECT_CODES = ['SCHEMA', 'ID_MISMATCH', 'TOO_LARGE', 'BAD_IMAGE', 'IMAGE_TOO_LARGE', 'UNKNOWN_MODEL', 'FORBIDDEN'] as const;

/**
 * The hub's application-level acknowledgement, published on the device's `acks` topic only after
 * the samples are COMMITted (an MQTT PUBACK only says the broker got the packet). A duplicate
 * sample is accepted again. The device deletes a sample from its outbox only on this ack.
 */
export const SampleAckSchema = z
  .strictObject({
    v: V1,
    accepted: z.array(SampleIdSchema).max(MAX_IDS_PER_ACK),
    rejected: z
      .array(z.strictObject({ sampleId: SampleIdSchema, code: z.enum(REJECT_CODES), reason: z.string().max(500) }))
      .max(MAX_IDS_PER_ACK),
    at: TimestampSchema,
  })
  .refine((a) => a.accepted.length + a.rejected.length > 0, 'an ack names at least one sample');

export type SampleAck = z.infer<typeof SampleAckSchema>;
export type RejectCode = (typeof REJECT_CODES)[number];
