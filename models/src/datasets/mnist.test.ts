import { describe, expect, it } from 'vitest';
import { loadMnist } from './mnist.js';

describe('bundled MNIST', () => {
  const ds = loadMnist();

  it('has about 1,000 real 28×28 digits per class (863 to 1,127: the MNIST test set) with unique ids', () => {
    expect(ds.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.items.length).toBeGreaterThan(9900);
    for (const label of ds.labels) {
      const n = ds.items.filter((i) => i.label === label).length;
      expect(n).toBeGreaterThan(800);
      expect(n).toBeLessThan(1200);
    }
    expect(new Set(ds.items.map((i) => i.id)).size).toBe(ds.items.length);
    const first = ds.items[0]!;
    expect(first.gray?.data.length).toBe(784);
    // Ink is white on black: the centre of a 1 is brighter than the corners on average.
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const ones = ds.items.filter((i) => i.label === '1').slice(0, 100);
    const centre = mean(ones.map((i) => i.gray!.data[14 * 28 + 14]!));
    const corner = mean(ones.map((i) => i.gray!.data[0]!));
    expect(centre).toBeGreaterThan(corner + 50);
  });

  it('caps per class', () => {
    const few = loadMnist({ perClass: 3 });
    expect(few.items.length).toBe(30);
  });
});
