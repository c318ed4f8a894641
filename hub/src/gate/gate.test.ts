import { describe, expect, it } from 'vitest';
import { HubError } from '../errors.js';
import { defaultRegistryConfig, type GateConfig } from '../registry/config.js';
import { pairedBootstrap, quantile, seededRandom } from './bootstrap.js';
import { evaluateGate, type GateInput } from './gate.js';

const settings: GateConfig = {
  ...defaultRegistryConfig.gate,
  resamples: 2000,
  epsilon: 0.01,
  classTolerance: 0.05,
  minClassSupport: 10,
  seed: 7,
};
const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** `n` examples with balanced truth, predictions right with probability `accuracy` (else a random wrong class). */
function simulate(n: number, accuracy: number, seed: number): { truth: number[]; predictions: number[] } {
  const random = seededRandom(seed);
  const truth = Array.from({ length: n }, (_, i) => i % LABELS.length);
  const predictions = truth.map((t) => (random() < accuracy ? t : wrong(t, random)));
  return { truth, predictions };
}

function wrong(t: number, random: () => number): number {
  return (t + 1 + Math.floor(random() * (LABELS.length - 1))) % LABELS.length;
}

/** A copy of `predictions` where `flips` right answers turn wrong and `flips` wrong ones turn right. */
function noisyCopy(truth: number[], predictions: number[], flips: number, seed: number): number[] {
  const random = seededRandom(seed);
  const out = [...predictions];
  const right = out.flatMap((p, i) => (p === truth[i] ? [i] : []));
  const wrongs = out.flatMap((p, i) => (p !== truth[i] ? [i] : []));
  for (let f = 0; f < flips; f++) {
    const a = right.splice(Math.floor(random() * right.length), 1)[0]!;
    out[a] = wrong(truth[a]!, random);
    const b = wrongs.splice(Math.floor(random() * wrongs.length), 1)[0]!;
    out[b] = truth[b]!;
  }
  return out;
}

describe('evaluateGate', () => {
  it('promotes a clearly better challenger (90% against 80% on the same 2,000 examples)', () => {
    const { truth, predictions } = simulate(2000, 0.8, 1);
    const challenger = simulate(2000, 0.9, 2).predictions;
    const result = evaluateGate({ labels: LABELS, truth, champion: predictions, challenger }, settings);
    expect(result.decision).toBe('promote');
    expect(result.challengerAccuracy - result.championAccuracy).toBeCloseTo(result.bootstrap.difference, 12);
    expect(result.bootstrap.low).toBeGreaterThan(0.05);
    expect(result.bootstrap.high).toBeLessThan(0.15);
    expect(Object.values(result.perClass).every((c) => !c.regressed && c.support === 200)).toBe(true);
  });

  it('an equal challenger with small noise passes with ε = 1 point and fails with ε = 0', () => {
    const { truth, predictions } = simulate(2000, 0.85, 3);
    const challenger = noisyCopy(truth, predictions, 10, 4);
    const input: GateInput = { labels: LABELS, truth, champion: predictions, challenger };
    const loose = evaluateGate(input, settings);
    expect(loose.bootstrap.difference).toBe(0);
    // 20 discordant pairs in 2,000: the CI is about ±0.45 points, inside ε = 1 point…
    expect(loose.bootstrap.low).toBeLessThan(0);
    expect(loose.bootstrap.low).toBeGreaterThan(-0.01);
    expect(loose.decision).toBe('promote');
    // …and not inside ε = 0: "no worse" cannot be shown, so it does not ship.
    const strict = evaluateGate(input, { ...settings, epsilon: 0 });
    expect(strict.decision).toBe('reject');
    expect(strict.reasons[0]).toMatch(/below −ε/);
    expect(strict.bootstrap.low).toBe(loose.bootstrap.low);
  });

  it('rejects a model trained on shuffled labels (chance-level predictions)', () => {
    const { truth, predictions } = simulate(1000, 0.9, 5);
    const random = seededRandom(6);
    const shuffled = truth.map(() => Math.floor(random() * LABELS.length));
    const result = evaluateGate({ labels: LABELS, truth, champion: predictions, challenger: shuffled }, settings);
    expect(result.decision).toBe('reject');
    expect(result.challengerAccuracy).toBeLessThan(0.2);
    expect(result.bootstrap.high).toBeLessThan(-0.6);
    expect(Object.values(result.perClass).filter((c) => c.regressed).length).toBe(LABELS.length);
  });

  it('a class that regresses blocks the promotion even when overall accuracy rises', () => {
    const { truth, predictions } = simulate(3000, 0.8, 7);
    const random = seededRandom(8);
    // Much better on every class but "9", whose recall falls from about 80% to about 55%.
    const challenger = truth.map((t) => (t === 9 ? (random() < 0.55 ? t : wrong(t, random)) : random() < 0.97 ? t : wrong(t, random)));
    const result = evaluateGate({ labels: LABELS, truth, champion: predictions, challenger }, settings);
    expect(result.bootstrap.low).toBeGreaterThan(0.1);
    expect(result.decision).toBe('reject');
    expect(result.perClass['9']!.regressed).toBe(true);
    expect(
      Object.entries(result.perClass)
        .filter(([, c]) => c.regressed)
        .map(([l]) => l),
    ).toEqual(['9']);
    expect(result.reasons).toEqual([expect.stringMatching(/^class 9 recall fell from/)]);
  });

  it('a drop within the class tolerance, or in a class with too few examples, does not block', () => {
    const labels = ['a', 'b', 'c'];
    // 100 a, 100 b, 4 c. Champion: a 90/100, b 90/100, c 4/4. Challenger: a 96, b 87 (−3 points), c 2/4 (−50 points).
    const truth = [...Array(100).fill(0), ...Array(100).fill(1), ...Array(4).fill(2)];
    const champion = truth.map((t, i) => (t === 2 || i % 100 >= 10 ? t : (t + 1) % 3));
    const challenger = truth.map((t, i) => {
      if (t === 0) return i % 100 >= 4 ? 0 : 1;
      if (t === 1) return i % 100 >= 13 ? 1 : 2;
      return i % 2 === 0 ? 2 : 0;
    });
    const result = evaluateGate({ labels, truth, champion, challenger }, { ...settings, epsilon: 0.05, minClassSupport: 10 });
    expect(result.perClass.b).toMatchObject({ support: 100, champion: 0.9, challenger: 0.87, regressed: false, lowSupport: false });
    expect(result.perClass.c).toMatchObject({ support: 4, champion: 1, challenger: 0.5, regressed: false, lowSupport: true });
    expect(result.decision).toBe('promote');
    const strict = evaluateGate({ labels, truth, champion, challenger }, { ...settings, epsilon: 0.05, minClassSupport: 4 });
    expect(strict.perClass.c!.regressed).toBe(true);
    expect(strict.decision).toBe('reject');
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const { truth, predictions } = simulate(500, 0.8, 9);
    const challenger = simulate(500, 0.82, 10).predictions;
    const input = { labels: LABELS, truth, champion: predictions, challenger };
    const a = evaluateGate(input, settings);
    const b = evaluateGate(input, settings);
    expect(b).toEqual(a);
    const c = evaluateGate(input, { ...settings, seed: 8 });
    expect(c.bootstrap.difference).toBe(a.bootstrap.difference);
    expect([c.bootstrap.low, c.bootstrap.high]).not.toEqual([a.bootstrap.low, a.bootstrap.high]);
  });

  it('refuses inconsistent input and fewer than 1,000 resamples', () => {
    const ok = { labels: ['a', 'b'], truth: [0, 1], champion: [0, 1], challenger: [0, 1] };
    expect(() => evaluateGate({ ...ok, challenger: [0] }, settings)).toThrow(HubError);
    expect(() => evaluateGate({ ...ok, truth: [0, 2] }, settings)).toThrow(/not in 0..1/);
    expect(() => evaluateGate({ ...ok, champion: [0, 0.5] }, settings)).toThrow(HubError);
    expect(() => evaluateGate({ ...ok, truth: [], champion: [], challenger: [] }, settings)).toThrow(/at least one example/);
    expect(() => evaluateGate(ok, { ...settings, resamples: 999 })).toThrow(/1,000/);
  });
});

describe('pairedBootstrap', () => {
  it('agrees with the normal approximation on a large sample', () => {
    // 20,000 paired differences: +1 with p = 0.08, −1 with p = 0.05, else 0 (mean 0.03).
    const random = seededRandom(11);
    const n = 20_000;
    const d = Float64Array.from({ length: n }, () => {
      const u = random();
      return u < 0.08 ? 1 : u < 0.13 ? -1 : 0;
    });
    const mean = d.reduce((a, b) => a + b, 0) / n;
    const variance = d.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
    const se = Math.sqrt(variance / n);
    const z = 1.959963984540054;
    const result = pairedBootstrap(d, { resamples: 4000, confidence: 0.95, seed: 12 });
    expect(result.difference).toBeCloseTo(mean, 12);
    // The bootstrap's quantiles carry Monte Carlo error of about 0.04 se at 4,000 resamples.
    expect(Math.abs(result.standardError - se) / se).toBeLessThan(0.05);
    expect(Math.abs(result.low - (mean - z * se))).toBeLessThan(0.15 * se);
    expect(Math.abs(result.high - (mean + z * se))).toBeLessThan(0.15 * se);
  });

  it('has an interval of width zero when both models agree everywhere', () => {
    const result = pairedBootstrap(new Float64Array(100), { resamples: 1000, confidence: 0.95, seed: 1 });
    expect([result.difference, result.low, result.high, result.standardError]).toEqual([0, 0, 0, 0]);
  });

  it('seededRandom gives uniform floats in [0, 1), the same for a seed', () => {
    const a = seededRandom(3);
    const b = seededRandom(3);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.01);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
  });
});
