import { z } from 'zod';
import { DeviceIdSchema, TimestampSchema } from '../ids.js';
import { CountSchema, ModelRefSchema, V1 } from './common.js';

/**
 * A heartbeat, published retained on the device's `status` topic. The same message with
 * `state: 'offline'` is the device's MQTT last will, so the hub learns of an unclean disconnect.
 */
export const StatusSchema = z.strictObject({
  v: V1,
  deviceId: DeviceIdSchema,
  state: z.enum(['online', 'offline']),
  at: TimestampSchema,
  agent: z.strictObject({ kind: z.enum(['edge', 'browser']), version: z.string().min(1).max(64) }),
  model: ModelRefSchema.optional(),
  outbox: z.strictObject({ count: CountSchema, bytes: CountSchema }).optional(),
  uptimeS: z.number().nonnegative().optional(),
});

export type Status = z.infer<typeof StatusSchema>;
