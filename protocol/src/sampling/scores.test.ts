import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { probabilities } from '../../test/arbitraries.js';
import { confidence, entropyScore, leastConfidenceScore, marginScore } from './scores.js';

describe('uncertainty scores, hand-computed', () => {
  it('p = (0.7, 0.2, 0.1)', () => {
    const p = [0.7, 0.2, 0.1];
    expect(confidence(p)).toBe(0.7);
    // (1 − 0.7) · 3 / 2 = 0.45
    expect(leastConfidenceScore(p)).toBeCloseTo(0.45, 12);
    // 1 − (0.7 − 0.2) = 0.5
    expect(marginScore(p)).toBeCloseTo(0.5, 12);
    // −(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) / ln 3 = (0.249672 + 0.321888 + 0.230259) / 1.098612
    expect(entropyScore(p)).toBeCloseTo(0.801819 / 1.098612, 5);
  });

  it('uniform scores 1 and one-hot scores 0 for every strategy', () => {
    for (const k of [2, 3, 10]) {
      const uniform = new Array<number>(k).fill(1 / k);
      const oneHot = [1, ...new Array<number>(k - 1).fill(0)];
      for (const f of [leastConfidenceScore, marginScore, entropyScore]) {
        expect(f(uniform)).toBeCloseTo(1, 12);
        expect(f(oneHot)).toBe(0);
      }
    }
  });

  it('a tie between the two best labels has margin 1 even when a third label exists', () => {
    expect(marginScore([0.4, 0.4, 0.2])).toBeCloseTo(1, 12);
  });

  it('stay within [0, 1] for any distribution', () => {
    fc.assert(
      fc.property(probabilities, (p) => {
        for (const f of [leastConfidenceScore, marginScore, entropyScore]) {
          const s = f(p);
          expect(s).toBeGreaterThanOrEqual(0);
          expect(s).toBeLessThanOrEqual(1);
        }
      }),
    );
  });
});
