import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { configFor } from '../config.js';
import { checkImage, MAX_METADATA_BYTES, MAX_TRAILING_PADDING } from './image-check.js';
import { readImageHeader } from './image-header.js';
import { encoded, flatPngBomb, greyPng, ihdr, lyingPng, PNG_SIGNATURE, pngChunk } from './test-images.js';

const limits = configFor('/unused').ingest;
/** The limits of tests about decoding near-limit images, independent of the default `maxPixels`. */
const roomyLimits = { ...limits, maxPixels: 40_000_000 };
const PNG = 'image/png' as const;
const JPEG = 'image/jpeg' as const;
const WEBP = 'image/webp' as const;

async function declaredOf(bytes: Uint8Array) {
  const meta = await sharp(bytes).metadata();
  return { mime: `image/${meta.format}`, width: meta.width ?? 0, height: meta.height ?? 0 };
}

describe('checkImage accepts plain images', () => {
  const cases: Array<[string, () => Promise<Buffer>, number]> = [
    ['RGB PNG', () => encoded('png'), 3],
    [
      'RGBA PNG',
      () =>
        sharp({ create: { width: 9, height: 7, channels: 4, background: '#ff000080' } })
          .png()
          .toBuffer(),
      4,
    ],
    ['palette PNG', () => encoded('png').then((b) => sharp(b).png({ palette: true }).toBuffer()), 3],
    ['interlaced PNG', () => encoded('png').then((b) => sharp(b).png({ progressive: true }).toBuffer()), 3],
    ['grey PNG', async () => greyPng(31, 17), 1],
    ['baseline JPEG', () => encoded('jpeg'), 3],
    ['progressive JPEG', () => encoded('jpeg', 64, 48, { progressive: true }), 3],
    ['CMYK JPEG', () => encoded('jpeg').then((b) => sharp(b).toColourspace('cmyk').jpeg().toBuffer()), 4],
    [
      'JPEG with EXIF and ICC',
      () => encoded('jpeg').then((b) => sharp(b).withMetadata({ orientation: 6 }).withIccProfile('p3').jpeg().toBuffer()),
      3,
    ],
    ['lossy WebP', () => encoded('webp'), 3],
    [
      'lossless WebP with alpha',
      () =>
        sharp({ create: { width: 5, height: 3, channels: 4, background: '#00ff0080' } })
          .webp({ lossless: true })
          .toBuffer(),
      4,
    ],
    [
      'lossy WebP with alpha (VP8X)',
      () =>
        sharp({ create: { width: 5, height: 3, channels: 4, background: '#00ff0080' } })
          .webp()
          .toBuffer(),
      4,
    ],
  ];
  for (const [name, make, channels] of cases) {
    it(name, async () => {
      const bytes = await make();
      const declared = await declaredOf(bytes);
      const result = await checkImage(bytes, declared, limits);
      expect(result).toEqual({ ok: true, format: declared.mime.slice(6), width: declared.width, height: declared.height, channels });
    });
  }

  it('reads the same dimensions as the decoder for any size and format', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('png' as const, 'jpeg' as const, 'webp' as const),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        async (format, width, height) => {
          const bytes = await encoded(format, width, height);
          const reading = readImageHeader(bytes, format);
          expect(reading.ok && [reading.header.width, reading.header.height, reading.header.end]).toEqual([width, height, bytes.length]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('decodes near-limit images one at a time, so that their buffers do not add up', async () => {
    // A flat 6,000² RGBA PNG: 36 MP (under the 40 MP limit), 144 MB of pixels in ~150 KB.
    const flat = await sharp({ create: { width: 6000, height: 6000, channels: 4, background: '#336699' } })
      .png()
      .toBuffer();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 2);
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, () => checkImage(flat, { mime: PNG, width: 6000, height: 6000 }, roomyLimits)),
      );
      expect(results.every((r) => r.ok)).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBeLessThan(512 * 1024 * 1024);
  });

  it('tolerates a little zero padding after the end marker', async () => {
    const bytes = Buffer.concat([greyPng(8, 8), Buffer.alloc(MAX_TRAILING_PADDING)]);
    expect((await checkImage(bytes, { mime: PNG, width: 8, height: 8 }, limits)).ok).toBe(true);
  });
});

describe('checkImage rejects', () => {
  async function rejects(bytes: Uint8Array, declared: { mime: string; width: number; height: number }, code: string, reason: RegExp) {
    const result = await checkImage(bytes, declared, limits);
    expect(result).toMatchObject({ ok: false, code });
    if (!result.ok) expect(result.reason).toMatch(reason);
  }

  it('bytes that are not an image, or not the declared format', async () => {
    await rejects(
      new TextEncoder().encode('<html><script>alert(1)</script></html>'),
      { mime: PNG, width: 1, height: 1 },
      'BAD_IMAGE',
      /magic/,
    );
    const jpeg = await encoded('jpeg');
    await rejects(jpeg, { mime: PNG, width: 64, height: 48 }, 'BAD_IMAGE', /image\/jpeg but declared image\/png/);
  });

  it('dimensions other than the declared ones', async () => {
    await rejects(greyPng(20, 10), { mime: PNG, width: 10, height: 20 }, 'BAD_IMAGE', /20×10 but declared 10×20/);
  });

  it('a flat 17,000² PNG bomb from its header, without decoding it', async () => {
    const bomb = await flatPngBomb(17_000);
    expect(bomb.length).toBeLessThan(1_000_000);
    const before = performance.now();
    await rejects(bomb, { mime: PNG, width: 100, height: 100 }, 'IMAGE_TOO_LARGE', /17000×17000/);
    expect(performance.now() - before).toBeLessThan(100);
    expect(process.memoryUsage().rss).toBeLessThan(512 * 1024 * 1024);
  });

  it('headers claiming huge dimensions with a tiny body', async () => {
    await rejects(lyingPng(1_000_000, 1_000_000), { mime: PNG, width: 8, height: 8 }, 'IMAGE_TOO_LARGE', /1000000×1000000/);
    // Within the side limit, over the pixel limit (8192² = 67 MP > 40 MP).
    await rejects(lyingPng(8192, 8192), { mime: PNG, width: 8192, height: 8192 }, 'IMAGE_TOO_LARGE', /pixels/);
    // A JPEG frame header (SOF0) patched to claim 65,000 × 65,000.
    const jpeg = Buffer.from(await encoded('jpeg'));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(65_000, sof + 5);
    jpeg.writeUInt16BE(65_000, sof + 7);
    await rejects(jpeg, { mime: JPEG, width: 64, height: 48 }, 'IMAGE_TOO_LARGE', /65000×65000/);
    // A WebP VP8X canvas claiming 16 M × 16 M.
    const webp = Buffer.from(
      await sharp({ create: { width: 5, height: 3, channels: 4, background: '#00ff0080' } })
        .webp()
        .toBuffer(),
    );
    webp.writeUIntLE(0xffffff, 24, 3);
    webp.writeUIntLE(0xffffff, 27, 3);
    await rejects(webp, { mime: WEBP, width: 5, height: 3 }, 'IMAGE_TOO_LARGE', /16777216×16777216/);
  });

  it('a header within the limits whose pixel data is missing (the decoder fails)', async () => {
    const result = await checkImage(lyingPng(4000, 4000), { mime: PNG, width: 4000, height: 4000 }, roomyLimits);
    expect(result).toMatchObject({ ok: false, code: 'BAD_IMAGE', reason: expect.stringMatching(/cannot decode/) });
    // Small enough for the PNG proof instead of the decoder: the same verdict.
    await rejects(lyingPng(64, 64), { mime: PNG, width: 64, height: 64 }, 'BAD_IMAGE', /cannot decode.*inflates to 64 bytes/);
  });

  it('more channels than allowed', async () => {
    const rgba = await sharp({ create: { width: 4, height: 4, channels: 4, background: '#ff000080' } })
      .png()
      .toBuffer();
    const result = await checkImage(rgba, { mime: PNG, width: 4, height: 4 }, { ...limits, maxChannels: 3 });
    expect(result).toMatchObject({ ok: false, code: 'IMAGE_TOO_LARGE', reason: expect.stringMatching(/4 channels/) });
  });

  it('truncated images', async () => {
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const bytes = await encoded(format, 120, 90);
      const declared = { mime: `image/${format}`, width: 120, height: 90 };
      for (const keep of [0.3, 0.6, 0.95])
        await rejects(bytes.subarray(0, Math.floor(bytes.length * keep)), declared, 'BAD_IMAGE', /truncated|runs past|before/);
    }
    // Only the final EOI missing: libjpeg calls that a warning and would decode it.
    const jpeg = await encoded('jpeg', 120, 90);
    await rejects(jpeg.subarray(0, jpeg.length - 2), { mime: JPEG, width: 120, height: 90 }, 'BAD_IMAGE', /before EOI/);
  });

  it('polyglot files: data after the end marker, or one format inside another', async () => {
    const zip = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(40, 1), Buffer.from('PK\x05\x06'), Buffer.alloc(18)]);
    const html = Buffer.from('<html><body><script>fetch("/admin")</script></body></html>');
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const bytes = await encoded(format);
      for (const tail of [zip, html]) {
        await rejects(
          Buffer.concat([bytes, tail]),
          { mime: `image/${format}`, width: 64, height: 48 },
          'BAD_IMAGE',
          /follow the .* end marker/,
        );
      }
    }
    await rejects(
      Buffer.concat([greyPng(8, 8), Buffer.alloc(MAX_TRAILING_PADDING + 1)]),
      { mime: PNG, width: 8, height: 8 },
      'BAD_IMAGE',
      /polyglot/,
    );
    // PNG magic, JPEG structure.
    const jpeg = await encoded('jpeg');
    await rejects(Buffer.concat([PNG_SIGNATURE, jpeg]), { mime: PNG, width: 64, height: 48 }, 'BAD_IMAGE', /IHDR/);
    // A payload hidden in an ancillary chunk.
    const big = pngChunk('zIPp', Buffer.alloc(MAX_METADATA_BYTES + 1, 0x41));
    await rejects(greyPng(8, 8, [big]), { mime: PNG, width: 8, height: 8 }, 'BAD_IMAGE', /metadata/);
  });

  it('structures a decoder must not guess about', async () => {
    const p = { mime: PNG, width: 8, height: 8 };
    await rejects(greyPng(8, 8, [pngChunk('acTL', Buffer.alloc(8))]), p, 'BAD_IMAGE', /animated/);
    await rejects(greyPng(8, 8, [pngChunk('ZZZZ', Buffer.alloc(4))]), p, 'BAD_IMAGE', /unknown critical chunk/);
    await rejects(Buffer.concat([PNG_SIGNATURE, ihdr(8, 8), pngChunk('IEND')]), p, 'BAD_IMAGE', /no IDAT/);
    await rejects(Buffer.concat([PNG_SIGNATURE, ihdr(8, 8, 2, 4), pngChunk('IEND')]), p, 'BAD_IMAGE', /bit depth/);
    const jpeg = Buffer.from(await encoded('jpeg'));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(0, sof + 5); // height 0: deferred to a DNL marker
    await rejects(jpeg, { mime: JPEG, width: 64, height: 48 }, 'BAD_IMAGE', /zero dimension/);
  });

  it('never throws and never accepts what the decoder cannot decode (mutated images)', async () => {
    const originals = await Promise.all((['png', 'jpeg', 'webp'] as const).map((f) => encoded(f, 40, 30)));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (which, flips, cut) => {
          const bytes = Buffer.from(originals[which]!);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const mutated = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
          const declared = { mime: ['image/png', 'image/jpeg', 'image/webp'][which]!, width: 40, height: 30 };
          const result = await checkImage(mutated, declared, limits);
          if (result.ok) await expect(sharp(mutated, { failOn: 'error' }).stats()).resolves.toBeDefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});
