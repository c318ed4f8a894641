import { z } from 'zod';
import { BudgetConfigSchema, SamplingConfigSchema } from '../sampling/config.js';
import { V1 } from './common.js';

/**
 * The hub's configuration for a device, retained on the device's `config` topic. Devices start
 * with local defaults and switch to this when it arrives.
 */
export const DeviceConfigSchema = z.strictObject({
  v: V1,
  sampling: SamplingConfigSchema,
  budgets: BudgetConfigSchema,
  telemetryIntervalS: z.number().int().min(5).max(86_400),
});

export type DeviceConfig = z.infer<typeof DeviceConfigSchema>;
