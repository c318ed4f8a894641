/**
 * The drawing → MNIST normalisation, pixel by pixel: crop to the ink, longer side to 20 px with
 * the aspect kept, centre of mass at the centre of a black 28×28 field.
 */
import { describe, expect, it } from 'vitest';
import { BOX, FIELD, type GreyImage, inkBounds, mnistNormalise, rgbaToGrey } from '../src/ui/mnist-normalise.js';

function blank(w: number, h: number): GreyImage {
  return { width: w, height: h, data: new Uint8ClampedArray(w * h) };
}

function fillRect(img: GreyImage, x: number, y: number, w: number, h: number, v = 255): GreyImage {
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) img.data[j * img.width + i] = v;
  return img;
}

function box(img: GreyImage) {
  return inkBounds(img);
}

function centreOfMass(img: GreyImage): { x: number; y: number } {
  let m = 0;
  let x = 0;
  let y = 0;
  for (let j = 0; j < img.height; j++) {
    for (let i = 0; i < img.width; i++) {
      const v = img.data[j * img.width + i] ?? 0;
      m += v;
      x += v * (i + 0.5);
      y += v * (j + 0.5);
    }
  }
  return { x: x / m, y: y / m };
}

describe('mnistNormalise', () => {
  it('returns undefined for a blank pad (and ignores faint noise)', () => {
    expect(mnistNormalise(blank(280, 280))).toBeUndefined();
    expect(mnistNormalise(fillRect(blank(280, 280), 10, 10, 50, 50, 5))).toBeUndefined();
  });

  it('scales a tall stroke to 20 px high, keeps its aspect, and centres it', () => {
    // A 40×200 bar anywhere on a 280×280 pad: 20 high, 4 wide, centred at (14, 14).
    const out = mnistNormalise(fillRect(blank(280, 280), 17, 51, 40, 200))!;
    expect(out.width).toBe(FIELD);
    expect(out.height).toBe(FIELD);
    expect(box(out)).toEqual({ x: 12, y: 4, w: 4, h: BOX });
    expect(centreOfMass(out)).toEqual({ x: 14, y: 14 });
    // Area averaging of a solid bar stays solid white inside, and black everywhere else.
    const values = new Set(out.data);
    expect([...values].sort((a, b) => a - b)).toEqual([0, 255]);
    expect(out.data.reduce((s, v) => s + (v > 0 ? 1 : 0), 0)).toBe(4 * 20);
  });

  it('scales the longer side of a wide stroke to 20 px', () => {
    const out = mnistNormalise(fillRect(blank(300, 200), 0, 100, 300, 30))!;
    expect(box(out)).toEqual({ x: 4, y: 13, w: BOX, h: 2 });
  });

  it('centres by mass, not by box: a heavy end pulls the box away from it', () => {
    // A thin upright with a heavy flag to its right, as in a 4 or a P.
    const img = fillRect(fillRect(blank(200, 200), 20, 20, 20, 160), 40, 60, 140, 60);
    const out = mnistNormalise(img)!;
    const b = box(out)!;
    expect(b.w).toBe(BOX);
    expect(b.h).toBe(BOX);
    const c = centreOfMass(out);
    expect(Math.abs(c.x - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(c.y - 14)).toBeLessThanOrEqual(0.5);
    // The box itself is off centre: the mass, not the box, sits in the middle.
    expect(b.x + b.w / 2).not.toBe(14);
  });

  it('keeps the digit inside the field when its mass is far off centre', () => {
    const img = fillRect(fillRect(blank(100, 100), 0, 0, 100, 4), 96, 0, 4, 100); // a thin ┐
    const out = mnistNormalise(img)!;
    const b = box(out)!;
    expect(b.x).toBeGreaterThanOrEqual(0);
    expect(b.y).toBeGreaterThanOrEqual(0);
    expect(b.x + b.w).toBeLessThanOrEqual(FIELD);
    expect(b.y + b.h).toBeLessThanOrEqual(FIELD);
  });

  it('never thins a stroke away: a 1 px line keeps at least 1 px at full intensity', () => {
    const out = mnistNormalise(fillRect(blank(100, 100), 0, 50, 100, 1))!;
    expect(box(out)).toEqual({ x: 4, y: 14, w: 20, h: 1 });
    const ink = [...out.data].filter((v) => v > 0);
    expect(ink).toEqual(new Array(20).fill(255));
  });

  it('averages partial coverage into grey: a 30 px square on a 3:2 box', () => {
    // 30×20 → 20×13.33 → 20×13: rows average 20/13 input rows each, so the edges are grey.
    const out = mnistNormalise(fillRect(blank(64, 64), 2, 2, 30, 20))!;
    expect(box(out)?.w).toBe(BOX);
    expect(box(out)?.h).toBe(13);
    expect(Math.max(...out.data)).toBe(255);
  });

  it('reads RGBA as BT.601 luma', () => {
    const rgba = Uint8ClampedArray.from([255, 255, 255, 255, 255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 0, 255]);
    expect([...rgbaToGrey(rgba, 2, 2).data]).toEqual([255, 76, 150, 0]);
  });
});
