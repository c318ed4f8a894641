import { describe, expect, it } from 'vitest';
import { SamplingBudget } from './budget.js';
import { BudgetConfigSchema, SamplingConfigSchema } from './config.js';
import { mulberry32 } from './rng.js';
import { selectSample } from './sampler.js';

const HOUR = 3_600_000;
const config = BudgetConfigSchema.parse({
  device: { capacity: 5, refillPerHour: 5 },
  perClass: { capacity: 2, refillPerHour: 2 },
  classOverrides: { rare: { capacity: 4, refillPerHour: 0 } },
});

describe('sampling budgets', () => {
  it('starts full and stops at the class capacity', () => {
    const b = new SamplingBudget(config, 0);
    expect([b.tryTake('cat', 0), b.tryTake('cat', 0), b.tryTake('cat', 0)]).toEqual([true, true, false]);
    expect(b.available('cat', 0)).toEqual({ device: 3, class: 0 });
  });

  it('stops at the device capacity across classes, taking nothing from a class when refused', () => {
    const b = new SamplingBudget(config, 0);
    const taken = ['a', 'a', 'b', 'b', 'c', 'c', 'd'].map((l) => b.tryTake(l, 0));
    expect(taken).toEqual([true, true, true, true, true, false, false]);
    expect(b.available('c', 0).class).toBe(1);
    expect(b.available('d', 0).class).toBe(2);
  });

  it('refills at the configured rate, never above capacity', () => {
    const b = new SamplingBudget(config, 0);
    b.tryTake('cat', 0);
    b.tryTake('cat', 0);
    expect(b.tryTake('cat', HOUR / 4)).toBe(false); // 0.5 tokens
    expect(b.tryTake('cat', HOUR / 2)).toBe(true); // 1 token
    expect(b.available('cat', 100 * HOUR)).toEqual({ device: 5, class: 2 });
  });

  it('applies per-label overrides', () => {
    const b = new SamplingBudget(config, 0);
    expect([1, 2, 3, 4, 5].map(() => b.tryTake('rare', 0))).toEqual([true, true, true, true, false]);
  });

  it('mints nothing when the clock goes backwards', () => {
    const b = new SamplingBudget(config, 10 * HOUR);
    b.tryTake('cat', 10 * HOUR);
    b.tryTake('cat', 10 * HOUR);
    expect(b.tryTake('cat', 0)).toBe(false);
    expect(b.tryTake('cat', 10 * HOUR)).toBe(false);
  });

  it('survives a restart through its JSON snapshot', () => {
    const b = new SamplingBudget(config, 0);
    b.tryTake('cat', 0);
    b.tryTake('cat', 0);
    const saved = JSON.parse(JSON.stringify(b.snapshot())) as unknown;
    const restored = SamplingBudget.restore(config, saved, 0);
    expect(restored.ok).toBe(true);
    if (restored.ok) {
      expect(restored.value.tryTake('cat', 0)).toBe(false);
      expect(restored.value.snapshot()).toEqual(b.snapshot());
    }
  });

  it('rejects a corrupt snapshot with a path instead of throwing', () => {
    const r = SamplingBudget.restore(config, { v: 1, device: { tokens: -1, updatedAt: 0 }, classes: {} }, 0);
    expect(!r.ok && r.error.code).toBe('BAD_STATE');
    if (!r.ok) expect(r.error.path).toBe('device.tokens');
    expect(SamplingBudget.restore(config, 'garbage', 0).ok).toBe(false);
  });
});

describe('selectSample', () => {
  it('drops strategy picks once the budget is spent but lets audits through', () => {
    const sampling = SamplingConfigSchema.parse({ strategy: { strategy: 'random', rate: 1 }, auditRate: 0 });
    const budget = new SamplingBudget(config, 0);
    const rng = mulberry32(3);
    const reasons = [1, 2, 3].map(() => selectSample([0.5, 0.5], 'cat', sampling, budget, rng, 0).reason);
    expect(reasons).toEqual(['random', 'random', 'budget_exhausted']);
    const audited = SamplingConfigSchema.parse({ strategy: { strategy: 'random', rate: 0 }, auditRate: 1 });
    expect(selectSample([0.5, 0.5], 'cat', audited, budget, rng, 0)).toMatchObject({ include: true, audit: true });
  });
});
