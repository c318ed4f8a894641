import { describe, expect, it } from 'vitest';
import { splitItems, splitOf, splitPoint } from './split.js';

const ids = Array.from({ length: 20_000 }, (_, i) => `${i}`.padStart(64, '0'));

describe('hash splits', () => {
  it('assign each id the same split however the dataset grows', () => {
    const small = splitItems(ids.slice(0, 1000).map((id) => ({ id })));
    const large = splitItems(ids.map((id) => ({ id })));
    for (const split of ['train', 'validation', 'test'] as const) {
      const inLarge = new Set(large[split].map((i) => i.id));
      for (const item of small[split]) expect(inLarge.has(item.id)).toBe(true);
    }
  });

  it('hit the requested fractions', () => {
    const parts = splitItems(
      ids.map((id) => ({ id })),
      { test: 0.2, validation: 0.1 },
    );
    expect(parts.test.length / ids.length).toBeCloseTo(0.2, 1);
    expect(parts.validation.length / ids.length).toBeCloseTo(0.1, 1);
    expect(parts.train.length + parts.validation.length + parts.test.length).toBe(ids.length);
  });

  it('change with the salt, and only then', () => {
    const id = ids[7]!;
    expect(splitPoint(id)).toBe(splitPoint(id));
    expect(splitPoint(id, 'other')).not.toBe(splitPoint(id));
    expect(splitOf(id, { test: 0, validation: 0 })).toBe('train');
    expect(splitOf(id, { test: 1, validation: 0 })).toBe('test');
  });
});
