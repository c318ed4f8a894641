import { SHIFTS, seededRng, shiftByName } from '@edgeloop/loadtests/shifts';
import { marginScore, mulberry32 } from '@edgeloop/protocol';
import { describe, expect, it } from 'vitest';
import { pickMostUncertain, pickMostUncertainCapped, pickRandom, scoreRows } from '../bench/loop/select.js';
import { labelsToReach, summarise } from '../bench/loop/summary.js';

describe('bench:loop selection', () => {
  it('scores rows with the protocol margin score', () => {
    const probs = [0.9, 0.05, 0.05, 0.4, 0.35, 0.25];
    const scores = scoreRows(probs, 3, 'margin');
    expect([...scores]).toEqual([marginScore([0.9, 0.05, 0.05]), marginScore([0.4, 0.35, 0.25])]);
  });

  it('uncertainty picks the lowest-margin candidates, most uncertain first, ties to the earlier one', () => {
    // Top-two gaps: 0.8, 0.05, 0.5, 0.0, 0.05, 0.3.
    const rows = [
      [0.9, 0.1],
      [0.525, 0.475],
      [0.75, 0.25],
      [0.5, 0.5],
      [0.475, 0.525],
      [0.35, 0.65],
    ];
    const scores = scoreRows(rows.flat(), 2, 'margin');
    expect(pickMostUncertain(scores, [0, 1, 2, 3, 4, 5], 3)).toEqual([3, 1, 4]);
    // Only candidates are eligible: 3 is already labelled.
    expect(pickMostUncertain(scores, [0, 1, 2, 4, 5], 2)).toEqual([1, 4]);
    expect(pickMostUncertain(scores, [0, 2], 5)).toEqual([2, 0]);
  });

  it('the per-class cap spreads a round over predicted classes, and fills up when the cap leaves it short', () => {
    const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
    const predicted = [0, 0, 0, 1, 1, 2];
    expect(pickMostUncertainCapped(scores, predicted, [0, 1, 2, 3, 4, 5], 4, 1)).toEqual([0, 3, 5, 1]);
    expect(pickMostUncertainCapped(scores, predicted, [0, 1, 2, 3, 4, 5], 4, 2)).toEqual([0, 1, 3, 4]);
    expect(pickMostUncertainCapped(scores, predicted, [0, 1, 2, 3, 4, 5], 3, 9)).toEqual(pickMostUncertain(scores, [0, 1, 2, 3, 4, 5], 3));
  });

  it('random is seeded, never picks an item twice and never picks outside the candidates', () => {
    const candidates = Array.from({ length: 50 }, (_, i) => i * 2);
    const a = pickRandom(candidates, 20, mulberry32(7));
    expect(a).toEqual(pickRandom(candidates, 20, mulberry32(7)));
    expect(a).not.toEqual(pickRandom(candidates, 20, mulberry32(8)));
    expect(new Set(a).size).toBe(20);
    for (const x of a) expect(candidates).toContain(x);
    expect(pickRandom(candidates, 80, mulberry32(1)).sort((x, y) => x - y)).toEqual(candidates);
  });

  it('random is uniform: every candidate is picked about equally often', () => {
    const candidates = Array.from({ length: 10 }, (_, i) => i);
    const counts = new Array<number>(10).fill(0);
    const rng = mulberry32(3);
    const draws = 20_000;
    for (let t = 0; t < draws; t++) for (const x of pickRandom(candidates, 3, rng)) counts[x]!++;
    const expected = (draws * 3) / 10;
    // Each count is binomial-like with σ ≈ √(6000 · 0.7) ≈ 65: allow 5σ.
    for (const c of counts) expect(Math.abs(c - expected)).toBeLessThan(5 * Math.sqrt(expected * 0.7));
  });

  it('a pool drained round by round never labels an item twice', () => {
    let remaining = Array.from({ length: 40 }, (_, i) => i);
    const scores = Array.from({ length: 40 }, (_, i) => (i * 37) % 40);
    const labelled: number[] = [];
    const rng = mulberry32(5);
    for (let round = 0; remaining.length > 0; round++) {
      const picks = round % 2 === 0 ? pickMostUncertain(scores, remaining, 7) : pickRandom(remaining, 7, rng);
      labelled.push(...picks);
      const picked = new Set(picks);
      remaining = remaining.filter((i) => !picked.has(i));
    }
    expect(labelled.length).toBe(40);
    expect(new Set(labelled).size).toBe(40);
  });
});

describe('bench:loop summary', () => {
  const curve = (accs: number[]) => accs.map((accuracy, i) => ({ labels: i * 100, accuracy }));

  it('finds the first label count reaching a target, or null', () => {
    expect(labelsToReach(curve([0.7, 0.9, 0.97, 0.96]), 0.97)).toBe(200);
    expect(labelsToReach(curve([0.7, 0.9]), 0.97)).toBeNull();
  });

  it('reports the efficiency, or a lower bound when random never reaches the target', () => {
    const both = summarise({ uncertainty: curve([0.7, 0.9, 0.97, 0.98]), random: curve([0.7, 0.8, 0.9, 0.97]) }, 0.7, 0.97, 300);
    expect(both.labels_to_target).toEqual({ uncertainty: 200, random: 300 });
    expect(both.label_efficiency).toBe(1.5);
    expect(both.goals.final_accuracy.met).toBe(true);
    const onlyU = summarise({ uncertainty: curve([0.7, 0.97, 0.98, 0.98]), random: curve([0.7, 0.8, 0.9, 0.95]) }, 0.7, 0.97, 300);
    expect(onlyU.label_efficiency).toBeNull();
    expect(onlyU.label_efficiency_lower_bound).toBe(3);
    expect(onlyU.goals.label_efficiency.met).toBe(true);
    expect(onlyU.fallbacks[0]).toMatchObject({ rule: 'random_final', target: 0.95, labels_to_target: { uncertainty: 100, random: 300 } });
  });
});

describe('bench:loop shift strength', () => {
  const digit = Uint8Array.from({ length: 784 }, (_, i) => (((i % 28) - 14) ** 2 + (Math.floor(i / 28) - 14) ** 2 < 40 ? 255 : 0));
  const changed = (a: Uint8Array, b: Uint8Array) => a.reduce((n, v, i) => n + Math.abs(v - b[i]!), 0);

  it('strength 1 is the shift as shipped; a milder strength changes a digit less', () => {
    expect(shiftByName('thick-slant')).toBe(SHIFTS['thick-slant']);
    expect(shiftByName('thick-slant', 1)).toBe(SHIFTS['thick-slant']);
    const full = SHIFTS['thick-slant']!.apply(digit, seededRng(3));
    const half = shiftByName('thick-slant', 0.5).apply(digit, seededRng(3));
    expect(changed(half, digit)).toBeGreaterThan(0);
    expect(changed(half, digit)).toBeLessThan(changed(full, digit));
    expect(() => shiftByName('low-contrast-noise', 0.5)).toThrow(/no strength option/);
    expect(() => shiftByName('thick-slant', 0)).toThrow(/strength/);
  });
});
