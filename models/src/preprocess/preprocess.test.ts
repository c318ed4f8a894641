import type { Preprocessing } from '@edgeloop/protocol';
import { hasChromium, launchChromium, serveStatic } from '@edgeloop/tests/support/chromium';
import { requirePart } from '@edgeloop/tests/support/ci';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { pngBomb, pngOf, solid } from '../../test/images.js';
import { ModelsError } from '../errors.js';
import { decodeImage, inspectImage, preprocessImageBytes } from './node.js';
import { preprocessRgba } from './resize.js';

const base: Preprocessing = {
  width: 2,
  height: 2,
  channels: 3,
  fit: 'fill',
  kernel: 'bilinear',
  background: [255, 255, 255],
  invert: false,
  mean: [0, 0, 0],
  std: [1, 1, 1],
};

function rgba(width: number, height: number, f: (x: number, y: number) => [number, number, number, number]) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 4);
  return { width, height, data };
}

/** Deterministic, busy test images: gradients and stripes, opaque. */
function goldenImages() {
  return [
    { name: 'gradient 37x23', img: rgba(37, 23, (x, y) => [x * 7, y * 11, (x * y) % 256, 255]) },
    { name: 'stripes 64x48', img: rgba(64, 48, (x, y) => [(x % 3) * 120, (y % 5) * 60, 200 - x, 255]) },
    {
      name: 'digit-like 28x28',
      img: rgba(28, 28, (x, y) => (Math.abs(x - 14) < 3 && y > 4 && y < 24 ? [255, 255, 255, 255] : [0, 0, 0, 255])),
    },
  ];
}

const specs: { name: string; spec: Preprocessing; layout: 'NHWC' | 'NCHW' }[] = [
  {
    name: 'mnist gray 28 fill',
    spec: { ...base, width: 28, height: 28, channels: 1, mean: [0], std: [1], background: [0, 0, 0] },
    layout: 'NHWC',
  },
  {
    name: 'gray invert normalised',
    spec: { ...base, width: 20, height: 20, channels: 1, invert: true, mean: [0.1307], std: [0.3081] },
    layout: 'NHWC',
  },
  {
    name: 'rgb 64 contain',
    spec: { ...base, width: 64, height: 64, fit: 'contain', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    layout: 'NHWC',
  },
  { name: 'rgb 32 cover nchw', spec: { ...base, width: 32, height: 32, fit: 'cover' }, layout: 'NCHW' },
  { name: 'rgb 16 nearest', spec: { ...base, width: 16, height: 16, kernel: 'nearest' }, layout: 'NHWC' },
];

describe('preprocessing (pure)', () => {
  it('is the identity at the same size, scaled to [0, 1]', () => {
    const img = rgba(2, 2, (x, y) => [x * 255, y * 255, 51, 255]);
    const expected = [0, 0, 0.2, 1, 0, 0.2, 0, 1, 0.2, 1, 1, 0.2];
    const got = preprocessRgba(img, base);
    for (const [i, v] of expected.entries()) expect(got[i]).toBeCloseTo(v, 6);
  });

  it('converts to gray with BT.601 weights, inverts and normalises', () => {
    const img = rgba(1, 1, () => [255, 0, 0, 255]);
    const spec = { ...base, width: 1, height: 1, channels: 1 as const, mean: [0.5], std: [0.5] };
    expect(preprocessRgba(img, spec)[0]).toBeCloseTo((0.299 - 0.5) / 0.5, 6);
    expect(preprocessRgba(img, { ...spec, invert: true })[0]).toBeCloseTo((1 - 0.299 - 0.5) / 0.5, 6);
  });

  it('flattens transparency onto the background', () => {
    const img = rgba(1, 1, () => [0, 0, 0, 0]);
    expect([...preprocessRgba(img, { ...base, width: 1, height: 1 })]).toEqual([1, 1, 1]);
  });

  it('letterboxes with contain and crops with cover', () => {
    // A 4×2 image, left half black, right half white, into 2×2.
    const img = rgba(4, 2, (x) => (x < 2 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const gray = { ...base, channels: 1 as const, mean: [0], std: [1], background: [128, 128, 128] as [number, number, number] };
    const contain = preprocessRgba(img, { ...gray, fit: 'contain' });
    // Scaled to 2×1 in the middle rows... height 1 lands on row 0 (floor((2 − 1) / 2) = 0); row 1 is background.
    expect([...contain].map((v) => Math.round(v * 255))).toEqual([0, 255, 128, 128]);
    const cover = preprocessRgba(img, { ...gray, fit: 'cover' });
    // The centre 2×2 crop holds one black and one white column.
    expect([...cover].map((v) => Math.round(v * 255))).toEqual([0, 255, 0, 255]);
  });

  it('lays out NCHW as channel planes', () => {
    const img = rgba(2, 1, (x) => [x * 255, 0, 255, 255]);
    expect([...preprocessRgba(img, { ...base, width: 2, height: 1 }, 'NCHW')]).toEqual([0, 1, 0, 0, 1, 1]);
  });
});

describe('decoding in Node', () => {
  it('decodes PNG, JPEG and WebP to RGBA', async () => {
    for (const f of ['png', 'jpeg', 'webp'] as const) {
      const img = await decodeImage(await solid(f, 5, 3, [10, 200, 30]));
      expect([img.format, img.width, img.height, img.data.length]).toEqual([f, 5, 3, 60]);
    }
  });

  it('refuses an image bomb from its header, before decoding', async () => {
    const bomb = pngBomb(50_000);
    await expect(inspectImage(bomb)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await expect(decodeImage(bomb)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });

  it('refuses non-images, truncated images and oversized inputs with a clear error', async () => {
    await expect(decodeImage(new TextEncoder().encode('GIF89a...'))).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    const cut = (await solid('png', 40, 40, [1, 2, 3])).subarray(0, 60);
    await expect(decodeImage(cut)).rejects.toBeInstanceOf(ModelsError);
    await expect(decodeImage(await solid('png', 40, 40, [1, 2, 3]), { maxBytes: 10, maxPixels: 1e6, maxSide: 100 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
    });
  });
});

describe.runIf(requirePart('Chromium', hasChromium, 'apt-get install -y chromium'))('Node and browser preprocessing agree', () => {
  it('gives the same tensor on the golden images for every spec', async () => {
    const cases = [];
    for (const g of goldenImages()) {
      const png = await pngOf(g.img.width, g.img.height, g.img.data);
      for (const s of specs) {
        const node = await preprocessImageBytes(png, s.spec, s.layout);
        cases.push({ name: `${g.name} / ${s.name}`, png: [...png], spec: s.spec, layout: s.layout, node: [...node] });
      }
    }
    const bundle = await build({
      entryPoints: [new URL('./browser.ts', import.meta.url).pathname],
      bundle: true,
      format: 'iife',
      globalName: 'edgeloopPreprocess',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const site = await serveStatic({
      '/': { body: '<!doctype html><title>preprocess</title>', type: 'text/html' },
      '/pre.js': { body: bundle.outputFiles[0]!.text, type: 'text/javascript' },
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(site.url);
      await page.addScriptTag({ url: '/pre.js' });
      const results = await page.evaluate(async (all) => {
        const lib = (globalThis as unknown as { edgeloopPreprocess: typeof import('./browser.js') }).edgeloopPreprocess;
        const out: { name: string; maxDiff: number; length: number }[] = [];
        for (const c of all) {
          const t = await lib.preprocessImageInBrowser(Uint8Array.from(c.png), 'image/png', c.spec, c.layout);
          let maxDiff = 0;
          for (let i = 0; i < t.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t[i]! - c.node[i]!));
          out.push({ name: c.name, maxDiff, length: t.length === c.node.length ? t.length : -1 });
        }
        return out;
      }, cases);
      expect(results).toHaveLength(15);
      for (const r of results) {
        expect(r.length, r.name).toBeGreaterThan(0);
        expect(r.maxDiff, r.name).toBe(0);
      }
    } finally {
      await browser.close();
      await site.close();
    }
  });
});
