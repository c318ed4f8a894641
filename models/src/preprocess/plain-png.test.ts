/**
 * The plain-PNG fast path against sharp, the reference: on every colour type, filter type and
 * chunk layout it accepts, its RGBA must be byte-for-byte sharp's; on everything outside its
 * subset it must decline (return `undefined`), so that sharp decides.
 */
import { deflateSync } from 'node:zlib';
import { PNG_SIGNATURE, pngChunk, pngIhdr } from '@edgeloop/tests/support/png';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { pngBomb } from '../../test/images.js';
import { decodeImage, decodeImageWithSharp, inspectImage } from './node.js';
import { decodePlainPng, PLAIN_PNG_MAX_RAW_BYTES, plainPngLayout } from './plain-png.js';

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Deterministic bytes (a small LCG), so that a failure can be replayed. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** Filters `pixels` (rows of `stride` bytes) with the given filter type on every row, or a rotating one. */
function filterRows(pixels: Uint8Array, stride: number, bpp: number, filter: number | 'mixed'): Buffer {
  const height = pixels.length / stride;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const type = filter === 'mixed' ? y % 5 : filter;
    raw[y * (stride + 1)] = type;
    for (let x = 0; x < stride; x++) {
      const cur = pixels[y * stride + x]!;
      const a = x >= bpp ? pixels[y * stride + x - bpp]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= bpp && y > 0 ? pixels[(y - 1) * stride + x - bpp]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][type]!;
      raw[y * (stride + 1) + 1 + x] = (cur - pred) & 0xff;
    }
  }
  return raw;
}

interface Made {
  png: Buffer;
  width: number;
  height: number;
}

/** A PNG written here, so that every filter type and chunk layout can be chosen. */
function makePng(
  width: number,
  height: number,
  colour: number,
  seed: number,
  options: { filter?: number | 'mixed'; before?: Buffer[]; after?: Buffer[]; idatParts?: number; depth?: number } = {},
): Made {
  const depth = options.depth ?? 8;
  const channels = CHANNELS[colour]!;
  const paletteSize = Math.min(7, 1 << depth);
  let stride = width * channels;
  let pixels = noise(stride * height, seed);
  if (colour === 3) for (let i = 0; i < pixels.length; i++) pixels[i] = pixels[i]! % paletteSize;
  if (depth < 8) {
    // Pack samples of `depth` bits, most significant first, each row starting on a byte.
    stride = Math.ceil((width * depth) / 8);
    const packed = new Uint8Array(stride * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const value = pixels[y * width + x]! & ((1 << depth) - 1);
        const bit = x * depth;
        packed[y * stride + (bit >> 3)]! |= value << (8 - depth - (bit & 7));
      }
    }
    pixels = packed;
  }
  const stream = deflateSync(filterRows(pixels, stride, depth < 8 ? 1 : channels, options.filter ?? 'mixed'));
  const parts = options.idatParts ?? 1;
  const step = Math.ceil(stream.length / parts);
  const idats: Buffer[] = [];
  for (let at = 0; at < stream.length; at += step) idats.push(pngChunk('IDAT', stream.subarray(at, at + step)));
  const plte = colour === 3 ? [pngChunk('PLTE', noise(paletteSize * 3, seed + 1))] : [];
  const png = Buffer.concat([
    PNG_SIGNATURE,
    pngIhdr(width, height, { colour, depth }),
    ...(options.before ?? []),
    ...plte,
    ...idats,
    ...(options.after ?? []),
    pngChunk('IEND'),
  ]);
  return { png, width, height };
}

/** decodeImage with every image through sharp: the reference. */
async function sharpRgba(png: Uint8Array): Promise<Uint8Array | Uint8ClampedArray> {
  return (await decodeImageWithSharp(png)).data;
}

async function expectSameAsSharp(png: Uint8Array): Promise<void> {
  const plain = decodePlainPng(png);
  expect(plain, 'the fast path declined a plain PNG').toBeDefined();
  const reference = await sharpRgba(png);
  const meta = await sharp(png).metadata();
  expect([plain!.width, plain!.height]).toEqual([meta.width, meta.height]);
  expect(plain!.data).toEqual(reference);
  // The header read that skips sharp for a plain PNG says what sharp's metadata says.
  expect(await inspectImage(png)).toEqual({ format: 'png', width: meta.width, height: meta.height });
}

/** Widths and heights: one pixel, odd sizes (rows that end mid-byte at low depths), a digit. */
const SIZES = [
  [1, 1],
  [3, 2],
  [17, 5],
  [13, 7],
  [28, 28],
] as const;

describe('decodePlainPng', () => {
  it('matches sharp on every colour type and filter type, across sizes', async () => {
    let seed = 1;
    for (const colour of [0, 2, 3, 4, 6]) {
      for (const filter of [0, 1, 2, 3, 4, 'mixed'] as const) {
        for (const [w, h] of SIZES) await expectSameAsSharp(makePng(w, h, colour, seed++, { filter }).png);
      }
    }
  });

  it('matches sharp on grey and palette images of 1, 2 and 4 bits per sample', async () => {
    let seed = 100;
    for (const colour of [0, 3]) {
      for (const depth of [1, 2, 4]) {
        for (const [w, h] of SIZES) await expectSameAsSharp(makePng(w, h, colour, seed++, { depth }).png);
      }
    }
  });

  it('matches sharp on PNGs that sharp itself wrote (its own filter choices), and with split IDATs and inert chunks', async () => {
    for (const channels of [1, 2, 3, 4] as const) {
      const raw = noise(23 * 19 * channels, channels);
      const png = await sharp(raw, { raw: { width: 23, height: 19, channels } })
        .png({ compressionLevel: 9 })
        .toBuffer();
      await expectSameAsSharp(png);
    }
    const palette = await sharp(noise(16 * 16 * 3, 9), { raw: { width: 16, height: 16, channels: 3 } })
      .png({ palette: true, colours: 16 })
      .toBuffer();
    // sharp's palette output is plain only without transparency; this one is opaque.
    await expectSameAsSharp(palette);
    const text = pngChunk('tEXt', Buffer.from('Comment\0made in a test'));
    const phys = pngChunk('pHYs', Buffer.from([0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]));
    await expectSameAsSharp(
      makePng(20, 9, 6, 77, { idatParts: 4, before: [text, phys], after: [pngChunk('tIME', Buffer.alloc(7, 1))] }).png,
    );
  });

  it('declines what is outside its subset, and sharp still decodes the ones that are valid', async () => {
    const base = makePng(8, 8, 2, 5);
    const declined = async (png: Uint8Array, sharpDecodes: boolean) => {
      expect(decodePlainPng(png)).toBeUndefined();
      if (sharpDecodes) {
        const viaDecodeImage = await decodeImage(png);
        expect(viaDecodeImage.data).toEqual(await sharpRgba(png));
      }
    };
    // Chunks that can change pixels: gamma, colour profile, sRGB intent, transparency, EXIF, unknown.
    await declined(makePng(8, 8, 2, 5, { before: [pngChunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f]))] }).png, true);
    await declined(makePng(8, 8, 2, 5, { before: [pngChunk('sRGB', Buffer.from([0]))] }).png, true);
    await declined(makePng(8, 8, 0, 5, { before: [pngChunk('tRNS', Buffer.from([0, 7]))] }).png, true);
    await declined(makePng(8, 8, 2, 5, { before: [pngChunk('abCd', Buffer.from([1]))] }).png, true);
    // Text that carries a profile (ImageMagick's raw EXIF, XMP) is left to sharp as well.
    await declined(
      makePng(8, 8, 2, 5, {
        before: [pngChunk('zTXt', Buffer.concat([Buffer.from('Raw profile type exif\0\0'), deflateSync('\nexif\n 0\n')]))],
      }).png,
      true,
    );
    await declined(makePng(8, 8, 2, 5, { before: [pngChunk('iTXt', Buffer.from('XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>'))] }).png, true);
    // Animation control: not a still image, so not even its header is read here.
    const animated = makePng(8, 8, 2, 5, { before: [pngChunk('acTL', Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]))] }).png;
    expect(plainPngLayout(animated)).toBeUndefined();
    // 16 bits per sample and Adam7 interlacing are left to sharp.
    const sixteen = Buffer.concat([
      PNG_SIGNATURE,
      pngIhdr(2, 2, { colour: 0, depth: 16 }),
      pngChunk('IDAT', deflateSync(Buffer.alloc(2 * 5))),
      pngChunk('IEND'),
    ]);
    await declined(sixteen, true);
    const interlaced = await sharp(noise(9 * 9 * 3, 3), { raw: { width: 9, height: 9, channels: 3 } })
      .png({ progressive: true })
      .toBuffer();
    await declined(interlaced, true);
    // Broken in some way: a bad CRC, a bad filter type, short or long data, bytes after IEND,
    // IDATs split by another chunk, a palette index past the palette.
    const badCrc = Buffer.from(base.png);
    badCrc.writeUInt8(badCrc.readUInt8(badCrc.length - 20) ^ 1, badCrc.length - 20);
    await declined(badCrc, false);
    const badFilter = Buffer.concat([
      PNG_SIGNATURE,
      pngIhdr(2, 1, { colour: 0 }),
      pngChunk('IDAT', deflateSync(Buffer.from([5, 1, 2]))),
      pngChunk('IEND'),
    ]);
    await declined(badFilter, false);
    const short = Buffer.concat([
      PNG_SIGNATURE,
      pngIhdr(2, 2, { colour: 0 }),
      pngChunk('IDAT', deflateSync(Buffer.from([0, 1, 2]))),
      pngChunk('IEND'),
    ]);
    await declined(short, false);
    const long = Buffer.concat([
      PNG_SIGNATURE,
      pngIhdr(2, 1, { colour: 0 }),
      pngChunk('IDAT', deflateSync(Buffer.from([0, 1, 2, 3]))),
      pngChunk('IEND'),
    ]);
    await declined(long, false);
    await declined(Buffer.concat([base.png, Buffer.from([0])]), false);
    const stream = deflateSync(filterRows(noise(8 * 8 * 3, 5), 24, 3, 0));
    const split = Buffer.concat([
      PNG_SIGNATURE,
      pngIhdr(8, 8, { colour: 2 }),
      pngChunk('IDAT', stream.subarray(0, 10)),
      pngChunk('tEXt', Buffer.from('a\0b')),
      pngChunk('IDAT', stream.subarray(10)),
      pngChunk('IEND'),
    ]);
    await declined(split, false);
    const pastPalette = Buffer.concat([
      PNG_SIGNATURE,
      pngIhdr(2, 1, { colour: 3 }),
      pngChunk('PLTE', Buffer.from([1, 2, 3])),
      pngChunk('IDAT', deflateSync(Buffer.from([0, 0, 1]))),
      pngChunk('IEND'),
    ]);
    await declined(pastPalette, false);
  });

  it('leaves large images to sharp, and decodeImage still refuses a bomb by its header before inflating', async () => {
    const side = Math.ceil(Math.sqrt(PLAIN_PNG_MAX_RAW_BYTES / 4)) + 1;
    const big = makePng(side, side, 6, 11, { filter: 0 });
    expect(decodePlainPng(big.png)).toBeUndefined();
    expect((await decodeImage(big.png)).data).toEqual(await sharpRgba(big.png));
    await expect(decodeImage(pngBomb(17_000))).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await expect(decodeImage(makePng(40, 40, 0, 1).png, { maxPixels: 1_000, maxSide: 8192, maxBytes: 1e6 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
    });
  });
});
