import { z } from 'zod';
import { toIssues } from '../codec.js';
import { type DecodeResult, fail, formatPath } from '../errors.js';
import type { BucketConfig, BudgetConfig } from './config.js';

const MS_PER_HOUR = 3_600_000;

const BucketStateSchema = z.strictObject({ tokens: z.number().nonnegative(), updatedAt: z.number().int().nonnegative() });

/** The serialised state of a {@link SamplingBudget}: what an edge persists to restart with its budget. */
export const BudgetStateSchema = z.strictObject({
  v: z.literal(1),
  device: BucketStateSchema,
  classes: z.record(z.string(), BucketStateSchema),
});
export type BudgetState = z.infer<typeof BudgetStateSchema>;
type BucketState = z.infer<typeof BucketStateSchema>;

/**
 * Refills a bucket up to `now`. A clock that went backwards refills nothing and keeps the later
 * time, so a wrong clock can never mint tokens.
 */
function refilled(cfg: BucketConfig, s: BucketState, now: number): BucketState {
  if (now <= s.updatedAt) return s;
  const tokens = Math.min(cfg.capacity, s.tokens + ((now - s.updatedAt) / MS_PER_HOUR) * cfg.refillPerHour);
  return { tokens, updatedAt: now };
}

/**
 * Token buckets per device and per predicted class. New buckets start full. Time is passed in
 * (epoch ms), never read, so the budget is deterministic and testable.
 */
export class SamplingBudget {
  private device: BucketState;
  private readonly classes = new Map<string, BucketState>();

  constructor(
    private readonly config: BudgetConfig,
    now: number,
    state?: BudgetState,
  ) {
    this.device = state ? { ...state.device } : { tokens: config.device.capacity, updatedAt: now };
    for (const [label, s] of Object.entries(state?.classes ?? {})) this.classes.set(label, { ...s });
  }

  /** Restores a budget from persisted JSON; a state that does not validate is an error, not a throw. */
  static restore(config: BudgetConfig, state: unknown, now: number): DecodeResult<SamplingBudget> {
    const parsed = BudgetStateSchema.safeParse(state);
    if (!parsed.success) {
      const issues = toIssues(parsed.error);
      return fail('BAD_STATE', `budget state is invalid at ${formatPath(issues[0]?.path ?? [])}`, issues);
    }
    return { ok: true, value: new SamplingBudget(config, now, parsed.data) };
  }

  private classConfig(label: string): BucketConfig {
    return this.config.classOverrides[label] ?? this.config.perClass;
  }

  /** Tokens available now, for the device and for one class. */
  available(label: string, now: number): { device: number; class: number } {
    const cls = this.classes.get(label) ?? { tokens: this.classConfig(label).capacity, updatedAt: now };
    return {
      device: refilled(this.config.device, this.device, now).tokens,
      class: refilled(this.classConfig(label), cls, now).tokens,
    };
  }

  /** Takes one token from both the device and the class bucket, or from neither. */
  tryTake(label: string, now: number): boolean {
    const cfg = this.classConfig(label);
    const device = refilled(this.config.device, this.device, now);
    const cls = refilled(cfg, this.classes.get(label) ?? { tokens: cfg.capacity, updatedAt: now }, now);
    this.device = device;
    this.classes.set(label, cls);
    if (device.tokens < 1 || cls.tokens < 1) return false;
    this.device = { ...device, tokens: device.tokens - 1 };
    this.classes.set(label, { ...cls, tokens: cls.tokens - 1 });
    return true;
  }

  /** The state to persist; {@link SamplingBudget.restore} reads it back. */
  snapshot(): BudgetState {
    return { v: 1, device: { ...this.device }, classes: Object.fromEntries([...this.classes].map(([k, s]) => [k, { ...s }])) };
  }
}
