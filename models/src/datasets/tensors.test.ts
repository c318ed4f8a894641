import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preprocessImageBytes } from '../preprocess/node.js';
import { mnistPreprocessing } from './mnist.js';
import { toTensorData } from './tensors.js';
import type { ImportProblem, LabelledImage } from './types.js';

const per = 28 * 28;

/** A 28×28 grayscale image whose pixels depend on `seed`. */
function pixels(seed: number): Uint8Array {
  return Uint8Array.from({ length: per }, (_, i) => (i * 31 + seed * 97) % 256);
}

describe('toTensorData', () => {
  it('keeps the input order across decode windows, skips and reports a bad image, and counts progress to the end', async () => {
    const items: LabelledImage[] = [];
    for (let i = 0; i < 150; i++) {
      const label = String(i % 3);
      if (i === 70) items.push({ id: 'broken', label, source: 'broken.png', bytes: new TextEncoder().encode('not a png') });
      else if (i % 2)
        items.push({
          id: `png-${i}`,
          label,
          source: `${i}.png`,
          bytes: new Uint8Array(
            await sharp(pixels(i), { raw: { width: 28, height: 28, channels: 1 } })
              .png()
              .toBuffer(),
          ),
        });
      else items.push({ id: `gray-${i}`, label, source: `mnist:${i}`, gray: { width: 28, height: 28, data: pixels(i) } });
    }
    const problems: ImportProblem[] = [];
    const progress: number[] = [];
    const t = await toTensorData(items, ['0', '1', '2'], mnistPreprocessing, { problems, onProgress: (done) => progress.push(done) });
    const good = items.filter((i) => i.id !== 'broken');
    expect(t.ids).toEqual(good.map((i) => i.id));
    expect(Array.from(t.y)).toEqual(good.map((i) => Number(i.label)));
    expect(t.x.length).toBe(good.length * per);
    expect(problems).toEqual([{ source: 'broken.png', reason: expect.any(String) }]);
    expect(progress.at(-1)).toBe(items.length);
    // Each row is that image's own preprocessing (a PNG of the same pixels as a gray item gives the same row).
    for (const k of [0, 1, 69, 70, 71, 148]) {
      const item = good[k]!;
      const bytes =
        item.bytes ??
        new Uint8Array(
          await sharp(item.gray!.data, { raw: { width: 28, height: 28, channels: 1 } })
            .png()
            .toBuffer(),
        );
      expect(Array.from(t.x.subarray(k * per, (k + 1) * per))).toEqual(Array.from(await preprocessImageBytes(bytes, mnistPreprocessing)));
    }
  });

  it('refuses a label that is not one of the dataset labels', async () => {
    const items: LabelledImage[] = [{ id: 'a', label: 'cat', source: 'a', gray: { width: 28, height: 28, data: pixels(1) } }];
    await expect(toTensorData(items, ['0', '1'], mnistPreprocessing)).rejects.toMatchObject({ code: 'BAD_DATASET' });
  });
});
