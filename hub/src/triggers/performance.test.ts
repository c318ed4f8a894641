/**
 * The performance-drop trigger: accuracy on reviewed device samples, weighted by
 * 1 / inclusionProbability, below a threshold with enough samples behind it.
 */
import { decide, mulberry32, SamplingConfigSchema } from '@edgeloop/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestHub, type TestHub } from '../labeling/test-support.js';
import { triggerConfig } from './config.js';
import { evaluatePerformanceDrop } from './evaluate.js';
import { TriggerFacts } from './facts.js';
import { estimateAccuracy } from './performance.js';
import { addLabel, addSample } from './test-support.js';

describe('estimateAccuracy (Horvitz-Thompson, Hájek form)', () => {
  it('weights a constructed example by 1/π and so recovers the stream accuracy the plain mean misses', () => {
    // A stream of 1,100 predictions: 1,000 confident ones, all right, sent at π = 0.01 (the audit),
    // and 100 uncertain ones, half right, all sent (π = 1). The fleet's accuracy is 1,050 / 1,100.
    // The hub receives about 10 confident and 100 uncertain samples:
    const rows = [
      ...Array.from({ length: 10 }, () => ({ correct: true, inclusionProbability: 0.01 })),
      ...Array.from({ length: 50 }, () => ({ correct: true, inclusionProbability: 1 })),
      ...Array.from({ length: 50 }, () => ({ correct: false, inclusionProbability: 1 })),
    ];
    const weighted = estimateAccuracy(rows);
    const plain = estimateAccuracy(rows, 'none');
    expect(plain.accuracy).toBeCloseTo(60 / 110, 12); // 0.545: the received samples are mostly hard ones
    expect(weighted.accuracy).toBeCloseTo((10 * 100 + 50) / (10 * 100 + 100), 12); // 1050 / 1100 = 0.9545
    expect(weighted.unweighted).toBeCloseTo(plain.accuracy, 12);
    expect(weighted).toMatchObject({ reviewed: 110, correct: 60, weighting: 'inclusion' });
    // Kish: (Σw)² / Σw² = 1100² / (10·100² + 100) — the 10 heavy rows dominate.
    expect(weighted.effectiveSize).toBeCloseTo(1100 ** 2 / (10 * 100 ** 2 + 100), 9);
  });

  it('is unbiased on a simulated fleet sampled by the protocol sampler, where the plain mean is not', () => {
    // 200,000 predictions; the model is right with probability = its confidence. The device sends by
    // least-confidence (threshold 0.5, floor 0.02) plus a 1% audit, as the protocol sampler does.
    const sampling = SamplingConfigSchema.parse({
      strategy: { strategy: 'least_confidence', threshold: 0.5, floor: 0.02 },
      auditRate: 0.01,
    });
    const rng = mulberry32(42);
    let right = 0;
    const received: { correct: boolean; inclusionProbability: number }[] = [];
    const audited: { correct: boolean; inclusionProbability: number }[] = [];
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      const top = rng() < 0.8 ? 0.9 + rng() * 0.1 : 0.5 + rng() * 0.2; // mostly confident
      const correct = rng() < top;
      if (correct) right++;
      const d = decide([top, 1 - top], sampling, rng);
      if (d.include) received.push({ correct, inclusionProbability: d.inclusionProbability });
      if (d.audit) audited.push({ correct, inclusionProbability: d.inclusionProbability });
    }
    const truth = right / N;
    const weighted = estimateAccuracy(received);
    const plain = estimateAccuracy(received, 'none');
    expect(Math.abs(weighted.accuracy - truth)).toBeLessThan(0.01);
    expect(truth - plain.accuracy).toBeGreaterThan(0.1);
    // The audit rows alone were drawn at one rate whatever the prediction: plain is right there, and
    // 1/π would over-weight the confident ones (why `population: 'audit'` pairs with `weighting: 'none'`).
    expect(Math.abs(estimateAccuracy(audited, 'none').accuracy - truth)).toBeLessThan(0.015);
    expect(estimateAccuracy(audited).accuracy - truth).toBeGreaterThan(0.02);
  });

  it('treats a missing or invalid π as 1 and answers 0 without rows', () => {
    expect(
      estimateAccuracy([
        { correct: true, inclusionProbability: null },
        { correct: false, inclusionProbability: 0 },
      ]).accuracy,
    ).toBe(0.5);
    expect(estimateAccuracy([])).toMatchObject({ reviewed: 0, accuracy: 0, effectiveSize: 0 });
  });
});

describe('evaluatePerformanceDrop', () => {
  const config = triggerConfig({ performanceDrop: { threshold: 0.8, minReviewed: 20 } }).performanceDrop;
  const rows = (n: number, right: number, p = 1) => Array.from({ length: n }, (_, i) => ({ correct: i < right, inclusionProbability: p }));

  it('fires below the threshold with at least minReviewed samples', () => {
    expect(evaluatePerformanceDrop(config, estimateAccuracy(rows(20, 15)))).toMatchObject({
      fire: true,
      inputs: { accuracy: 0.75, reviewed: 20 },
    });
  });
  it('does not fire at the threshold (strictly below), or with minReviewed − 1 samples', () => {
    expect(evaluatePerformanceDrop(config, estimateAccuracy(rows(20, 16))).fire).toBe(false); // exactly 0.8
    const few = evaluatePerformanceDrop(config, estimateAccuracy(rows(19, 0)));
    expect(few.fire).toBe(false);
    expect(few.reason).toBe('19 reviewed samples, fewer than 20: no decision');
  });
});

describe('reviewed samples from the database', () => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await openTestHub();
  });
  afterEach(() => hub.close());

  it('keeps device samples a person labelled in the window, with the audit and model filters', () => {
    const db = hub.database;
    const add = (s: Parameters<typeof addSample>[1], label: string | undefined, source = 'human') => {
      const id = addSample(db, s);
      if (label) addLabel(db, id, label, '2026-03-05T00:00:00.000Z', source);
      return id;
    };
    add({ predicted: 'cat', audit: true, inclusionProbability: 0.05, receivedAt: '2026-03-04T00:00:00.000Z' }, 'cat'); // audit, right
    add({ predicted: 'cat', audit: false, inclusionProbability: 1, receivedAt: '2026-03-04T00:00:00.000Z' }, 'dog'); // reviewed, wrong
    add({ predicted: 'dog', audit: true, inclusionProbability: 0.05, receivedAt: '2026-03-04T00:00:00.000Z' }, 'dog', 'pre-annotation'); // accepted in the queue
    add({ predicted: 'dog', audit: true, receivedAt: '2026-03-04T00:00:00.000Z' }, 'cat', 'device-user'); // flagged on the device: not a review
    add({ predicted: 'dog', audit: true, receivedAt: '2026-02-01T00:00:00.000Z' }, 'cat'); // outside the window
    add({ predicted: 'dog', audit: true, receivedAt: '2026-03-04T00:00:00.000Z' }, undefined); // not reviewed
    add({ predicted: 'cat', audit: true, receivedAt: '2026-03-04T00:00:00.000Z', model: { name: 'digits', version: 2 } }, 'dog'); // another model
    const facts = new TriggerFacts(db);
    const since = '2026-02-25T00:00:00.000Z';
    const model = { name: 'digits', version: 1 };
    const sort = (r: { correct: boolean; inclusionProbability: number | null }[]) =>
      [...r].sort((a, b) => Number(a.correct) - Number(b.correct) || (a.inclusionProbability ?? 0) - (b.inclusionProbability ?? 0));
    expect(sort(facts.reviewedSamples({ since, population: 'reviewed', model }))).toEqual([
      { correct: false, inclusionProbability: 1 },
      { correct: true, inclusionProbability: 0.05 },
      { correct: true, inclusionProbability: 0.05 },
    ]);
    expect(facts.reviewedSamples({ since, population: 'audit', model })).toHaveLength(2);
    expect(facts.reviewedSamples({ since, population: 'reviewed' })).toHaveLength(4);
  });
});
