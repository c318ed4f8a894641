import { describe, expect, it } from 'vitest';
import { confusionMatrixSvg } from './confusion-svg.js';
import { evaluatePredictions, overfitCheck } from './metrics.js';

describe('evaluation metrics, hand-computed', () => {
  // Truth: a a a b b c. Predictions: a a b b c c, with the confidences below.
  const labels = ['a', 'b', 'c'];
  const y = [0, 0, 0, 1, 1, 2];
  const probs = [0.9, 0.05, 0.05, 0.8, 0.1, 0.1, 0.3, 0.6, 0.1, 0.2, 0.7, 0.1, 0.1, 0.3, 0.6, 0.05, 0.05, 0.9];
  const e = evaluatePredictions(probs, y, labels, 10);

  it('counts the confusion matrix (rows true, columns predicted)', () => {
    expect(e.confusion).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    expect(e.accuracy).toBeCloseTo(4 / 6, 12);
  });

  it('computes precision, recall and F1 per class', () => {
    const [a, b, c] = e.perClass;
    expect(a).toMatchObject({ precision: 1, recall: 2 / 3, support: 3 });
    expect(a!.f1).toBeCloseTo(0.8, 12);
    expect(b).toMatchObject({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(c).toMatchObject({ precision: 0.5, recall: 1, support: 1 });
    expect(c!.f1).toBeCloseTo(2 / 3, 12);
    expect(e.macroF1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 12);
  });

  it('computes the expected calibration error', () => {
    // Bins (width 0.1) by top confidence: 0.9 ×2 (both right), 0.8 (right), 0.6 ×2 (both wrong), 0.7 (right).
    // ECE = Σ n_b/N · |acc_b − conf_b| = (2/6)|1 − 0.9| + (1/6)|1 − 0.8| + (2/6)|0 − 0.6| + (1/6)|1 − 0.7|
    const expected = (2 / 6) * 0.1 + (1 / 6) * 0.2 + (2 / 6) * 0.6 + (1 / 6) * 0.3;
    expect(e.ece).toBeCloseTo(expected, 12);
  });

  it('flags a train/validation gap over the threshold', () => {
    expect(overfitCheck(0.99, 0.9).overfitting).toBe(true);
    expect(overfitCheck(0.95, 0.93).overfitting).toBe(false);
    expect(overfitCheck(0.95, 0.93).gap).toBeCloseTo(0.02, 12);
  });

  it('renders the confusion matrix as an SVG with every count and escaped labels', () => {
    const svg = confusionMatrixSvg({ ...e, labels: ['<a>', 'b', 'c'] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('&lt;a&gt;');
    expect(svg).not.toContain('<a>');
    expect(svg.match(/<rect /g)?.length).toBe(1 + 9);
    expect(svg).toContain('accuracy 66.67%');
  });
});
