import { describe, expect, it } from 'vitest';
import { type SamplingConfigInput, SamplingConfigSchema } from './config.js';
import { mulberry32 } from './rng.js';
import { decide, evaluateStrategy } from './strategies.js';

const DRAWS = 100_000;

/** Fraction of `DRAWS` seeded decisions that include the sample, and that were audits. */
function empirical(p: number[], input: SamplingConfigInput, seed: number) {
  const config = SamplingConfigSchema.parse(input);
  const rng = mulberry32(seed);
  let included = 0;
  let audits = 0;
  let reported = 0;
  for (let i = 0; i < DRAWS; i++) {
    const d = decide(p, config, rng);
    if (d.include) included++;
    if (d.audit) audits++;
    reported = d.inclusionProbability;
  }
  return { rate: included / DRAWS, auditRate: audits / DRAWS, reported };
}

const cases: { name: string; p: number[]; config: SamplingConfigInput; expected: number }[] = [
  // score 0.45 < 0.5 → π = floor 0.2; with audit 0.05: 1 − 0.8 · 0.95 = 0.24
  {
    name: 'least confidence below threshold',
    p: [0.7, 0.2, 0.1],
    config: { strategy: { strategy: 'least_confidence', threshold: 0.5, floor: 0.2 }, auditRate: 0.05 },
    expected: 0.24,
  },
  // margin 0.5 ≥ 0.5 → π = 1
  {
    name: 'margin at threshold',
    p: [0.7, 0.2, 0.1],
    config: { strategy: { strategy: 'margin', threshold: 0.5 }, auditRate: 0.1 },
    expected: 1,
  },
  // entropy 0.7298 < 0.8 → π = 0.3; 1 − 0.7 · 0.9 = 0.37
  {
    name: 'entropy below threshold',
    p: [0.7, 0.2, 0.1],
    config: { strategy: { strategy: 'entropy', threshold: 0.8, floor: 0.3 }, auditRate: 0.1 },
    expected: 0.37,
  },
  // top 0.9 outside [0.4, 0.8] → π = 0.05; 1 − 0.95 · 0.98 = 0.069
  {
    name: 'outside the band',
    p: [0.9, 0.1],
    config: { strategy: { strategy: 'threshold_band', low: 0.4, high: 0.8, floor: 0.05 }, auditRate: 0.02 },
    expected: 0.069,
  },
  { name: 'inside the band', p: [0.6, 0.4], config: { strategy: { strategy: 'threshold_band', low: 0.4, high: 0.8 } }, expected: 1 },
  // 1 − 0.7 · 0.99 = 0.307
  {
    name: 'random 30% plus 1% audit',
    p: [0.99, 0.01],
    config: { strategy: { strategy: 'random', rate: 0.3 }, auditRate: 0.01 },
    expected: 0.307,
  },
  { name: 'audit alone', p: [1, 0], config: { strategy: { strategy: 'margin', threshold: 0.9 }, auditRate: 0.03 }, expected: 0.03 },
];

describe('inclusion probabilities match empirical frequencies over 100k draws', () => {
  it.each(cases)('$name', ({ p, config, expected }) => {
    const { rate, auditRate, reported } = empirical(p, config, 7);
    expect(reported).toBeCloseTo(expected, 12);
    expect(Math.abs(rate - reported)).toBeLessThanOrEqual(0.01);
    const audit = SamplingConfigSchema.parse(config).auditRate;
    expect(Math.abs(auditRate - audit)).toBeLessThanOrEqual(0.01);
  });
});

describe('decide', () => {
  it('is deterministic for a seed and draws exactly twice', () => {
    const config = SamplingConfigSchema.parse({ strategy: { strategy: 'random', rate: 0.5 }, auditRate: 0.5 });
    const a = mulberry32(99);
    const b = mulberry32(99);
    for (let i = 0; i < 100; i++) {
      expect(decide([0.5, 0.5], config, a)).toEqual(decide([0.5, 0.5], config, b));
    }
    const c = mulberry32(99);
    decide([0.5, 0.5], config, c);
    const d = mulberry32(99);
    d();
    d();
    expect(c()).toBe(d());
  });

  it('gives the audit reason only when the audit alone selected the sample', () => {
    const config = SamplingConfigSchema.parse({ strategy: { strategy: 'margin', threshold: 1 }, auditRate: 1 });
    const d = decide([0.9, 0.1], config, mulberry32(1));
    expect(d).toMatchObject({ include: true, audit: true, reason: 'audit', inclusionProbability: 1 });
  });

  it('reports the score of the strategy', () => {
    expect(evaluateStrategy([0.6, 0.4], { strategy: 'threshold_band', low: 0, high: 1, floor: 0 }).score).toBeCloseTo(0.4, 12);
  });
});

describe('sampling config', () => {
  it('rejects a band whose low exceeds high, and unknown strategies', () => {
    expect(SamplingConfigSchema.safeParse({ strategy: { strategy: 'threshold_band', low: 0.9, high: 0.1 } }).success).toBe(false);
    expect(SamplingConfigSchema.safeParse({ strategy: { strategy: 'coinflip' } }).success).toBe(false);
    expect(SamplingConfigSchema.safeParse({ strategy: { strategy: 'random', rate: 1.5 } }).success).toBe(false);
  });
});
