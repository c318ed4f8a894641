/**
 * The shifts: deterministic, 8-bit, really different from the input, and (the slow test) harmful
 * to a CNN trained on plain MNIST, which is what makes them worth a retrain.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { measureShifts } from '../src/shift-efficacy.js';
import { digitPng, mnistDigits, SHIFTS, seededRng, shiftByName } from '../src/shifts.js';

const sample = mnistDigits().filter((_, i) => i % 500 === 0);

describe('shifts', () => {
  it('ships none, a style change and a sensor change, and names the known ones for an unknown name', () => {
    expect(Object.keys(SHIFTS)).toEqual(expect.arrayContaining(['none', 'thick-slant', 'low-contrast-noise']));
    for (const [name, s] of Object.entries(SHIFTS)) {
      expect(s.name).toBe(name);
      expect(s.description.length).toBeGreaterThan(10);
    }
    expect(shiftByName('thick-slant')).toBe(SHIFTS['thick-slant']);
    expect(() => shiftByName('rainbow')).toThrow(/unknown shift "rainbow"; known shifts: none, thick-slant, low-contrast-noise/);
    expect(() => shiftByName('toString')).toThrow(/unknown shift/);
  });

  it.each(Object.keys(SHIFTS))('%s is deterministic for a seed, 784 bytes, and leaves its input alone', (name) => {
    const shift = SHIFTS[name]!;
    const run = (seed: number) => {
      const rng = seededRng(seed);
      return sample.map((d) => shift.apply(d.pixels, rng));
    };
    const before = sample.map((d) => Uint8Array.from(d.pixels));
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(sample.map((d) => d.pixels)).toEqual(before);
    for (const out of a) {
      expect(out).toBeInstanceOf(Uint8Array);
      expect(out.length).toBe(28 * 28);
    }
  });

  it.each(['thick-slant', 'low-contrast-noise'])('%s changes every digit, and not into a blank', (name) => {
    const rng = seededRng(3);
    for (const d of sample) {
      const out = SHIFTS[name]!.apply(d.pixels, rng);
      let changed = 0;
      for (let i = 0; i < out.length; i++) if (out[i] !== d.pixels[i]) changed++;
      expect(changed).toBeGreaterThan(50);
      expect(Math.max(...out)).toBeGreaterThan(120); // the ink is still there
    }
  });

  it('low-contrast-noise lifts the background and compresses the ink', () => {
    const rng = seededRng(5);
    const out = SHIFTS['low-contrast-noise']!.apply(sample[0]!.pixels, rng);
    const corner = [0, 1, 28, 29].map((i) => out[i]!);
    expect(Math.min(...corner)).toBeGreaterThanOrEqual(0);
    expect(corner.reduce((a, b) => a + b) / 4).toBeGreaterThan(15);
    expect(Math.max(...out)).toBeLessThan(255);
  });

  it('digitPng is a deterministic 28×28 grayscale PNG of the pixels', async () => {
    const pixels = sample[1]!.pixels;
    const png = await digitPng(pixels);
    expect(Buffer.from(png)).toEqual(Buffer.from(await digitPng(pixels)));
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 28, height: 28, channels: 1 });
    const { data } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(new Uint8Array(data)).toEqual(pixels);
    await expect(digitPng(new Uint8Array(10))).rejects.toThrow(/784 pixels/);
  });

  it('mnistDigits gives the bundled digits in a stable order, and a split is a subset', () => {
    const all = mnistDigits();
    expect(all.length).toBeGreaterThan(9000);
    expect(mnistDigits()[123]!.id).toBe(all[123]!.id);
    const test = mnistDigits('test');
    expect(test.length).toBeGreaterThan(all.length * 0.15);
    expect(test.length).toBeLessThan(all.length * 0.25);
  });
});

describe('shift efficacy', () => {
  it('thick-slant costs a CNN trained on plain digits at least 10 points', { timeout: 120_000 }, async () => {
    const r = await measureShifts([SHIFTS['thick-slant']!], { epochs: 2 });
    console.log(
      `shift efficacy (${r.backend}, 2 epochs, ${r.trainSeconds.toFixed(1)} s): clean ${(r.clean * 100).toFixed(1)}%, ` +
        `thick-slant ${(r.shifted['thick-slant']! * 100).toFixed(1)}%`,
    );
    expect(r.clean).toBeGreaterThan(0.9);
    expect(r.shifted['thick-slant']!).toBeLessThanOrEqual(r.clean - 0.1);
    expect(r.shifted['thick-slant']!).toBeGreaterThan(0.3); // hurt, not destroyed: still digits
  });
});
