import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { configFor } from '../config.js';
import { checkImage } from './image-check.js';
import { readImageHeader } from './image-header.js';
import { PNG_PROOF_MAX_RAW_BYTES, provePngPixels } from './png-pixels.js';
import { ihdr, PNG_SIGNATURE, pngChunk } from './test-images.js';

const limits = configFor('/unused').ingest;

interface Chunk {
  type: string;
  data: Buffer;
}

/** The chunks of a well-formed PNG. */
function chunksOf(png: Uint8Array): Chunk[] {
  const b = Buffer.from(png);
  const out: Chunk[] = [];
  for (let at = 8; at < b.length; ) {
    const length = b.readUInt32BE(at);
    out.push({ type: b.toString('latin1', at + 4, at + 8), data: b.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

/** A PNG of `chunks` with correct CRCs, the IDATs replaced by one holding `idat` when given. */
function pngOf(chunks: Chunk[], idat?: Uint8Array): Buffer {
  const parts: Buffer[] = [Buffer.from(PNG_SIGNATURE)];
  let idatDone = false;
  for (const c of chunks) {
    if (c.type === 'IDAT' && idat) {
      if (!idatDone) parts.push(pngChunk('IDAT', idat));
      idatDone = true;
    } else parts.push(pngChunk(c.type, c.data));
  }
  return Buffer.concat(parts);
}

/** The scanlines (filter bytes and filtered samples) of a PNG. */
const rawOf = (png: Uint8Array) =>
  inflateSync(
    Buffer.concat(
      chunksOf(png)
        .filter((c) => c.type === 'IDAT')
        .map((c) => c.data),
    ),
  );

function prove(png: Uint8Array) {
  const reading = readImageHeader(png, 'png');
  if (!reading.ok) throw new Error(reading.reason);
  return provePngPixels(png, reading.header.end);
}

async function decodes(png: Uint8Array): Promise<boolean> {
  return sharp(png, { failOn: 'error' })
    .raw()
    .toBuffer()
    .then(
      () => true,
      () => false,
    );
}

const noisy = (width: number, height: number, channels: 3 | 4) =>
  sharp({ create: { width, height, channels, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 50 } } });

/** PNG variants from sharp (libspng/libpng): every colour type, sub-byte, 16-bit and interlaced. */
const VARIANTS: Record<string, (w: number, h: number) => Promise<Buffer>> = {
  grey: (w, h) => noisy(w, h, 3).toColourspace('b-w').png().toBuffer(),
  'grey+alpha': (w, h) => noisy(w, h, 3).toColourspace('b-w').ensureAlpha(0.5).png().toBuffer(),
  rgb: (w, h) => noisy(w, h, 3).png().toBuffer(),
  rgba: (w, h) => noisy(w, h, 4).png().toBuffer(),
  'palette 8-bit': (w, h) => noisy(w, h, 3).png({ palette: true }).toBuffer(),
  'palette 2-bit': (w, h) => noisy(w, h, 3).png({ palette: true, colours: 4 }).toBuffer(),
  'palette 1-bit': (w, h) => noisy(w, h, 3).png({ palette: true, colours: 2 }).toBuffer(),
  'rgb 16-bit': (w, h) => noisy(w, h, 3).toColourspace('rgb16').png().toBuffer(),
  'grey 16-bit interlaced': (w, h) => noisy(w, h, 3).toColourspace('grey16').png({ progressive: true }).toBuffer(),
  'rgb interlaced': (w, h) => noisy(w, h, 3).png({ progressive: true }).toBuffer(),
  'palette 4-bit interlaced': (w, h) => noisy(w, h, 3).png({ palette: true, colours: 16, progressive: true }).toBuffer(),
};

describe('provePngPixels', () => {
  it('accepts every PNG variant at any size, as the decoder does', async () => {
    const kinds = Object.keys(VARIANTS);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...kinds), fc.integer({ min: 1, max: 41 }), fc.integer({ min: 1, max: 41 }), async (kind, w, h) => {
        const png = await VARIANTS[kind]!(w, h);
        expect(await decodes(png)).toBe(true);
        expect(prove(png)).toEqual({ ok: true });
      }),
      { numRuns: 150 },
    );
  });

  it('accepts images whose pixels inflate past one output chunk (64 KiB), and still sees extra bytes there', async () => {
    for (const kind of ['rgb', 'rgb 16-bit', 'rgb interlaced']) {
      const png = await VARIANTS[kind]!(200, 150);
      expect(await decodes(png)).toBe(true);
      expect(prove(png)).toEqual({ ok: true });
    }
    // 200 rows of 1 + 600 bytes (RGB) are 120,200 bytes; one more row inflates past what IHDR implies.
    const raw = Buffer.alloc(201 * 601);
    const png = Buffer.concat([PNG_SIGNATURE, ihdr(200, 200, 2), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND')]);
    expect(prove(png)).toMatchObject({ ok: false, reason: expect.stringContaining('more than the 120200 bytes') });
  });

  it('sees the bit depth, colour type and interlacing it was given', async () => {
    const ihdrOf = (png: Buffer) => [png[24], png[25], png[28]];
    expect(ihdrOf(await VARIANTS['palette 1-bit']!(9, 9))).toEqual([1, 3, 0]);
    expect(ihdrOf(await VARIANTS['palette 4-bit interlaced']!(9, 9))).toEqual([4, 3, 1]);
    expect(ihdrOf(await VARIANTS['grey 16-bit interlaced']!(9, 9))).toEqual([16, 0, 1]);
    expect(ihdrOf(await VARIANTS['grey+alpha']!(9, 9))).toEqual([8, 4, 0]);
  });

  it('leaves images with more raw bytes than it inflates in place to the decoder', () => {
    const side = 600; // 600 × 601 grey bytes > 256 KiB ... and RGB at 600² > 1 MiB
    const raw = Buffer.alloc(side * (1 + side * 3));
    const png = Buffer.concat([PNG_SIGNATURE, ihdr(side, side, 2), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND')]);
    expect(raw.length).toBeGreaterThan(PNG_PROOF_MAX_RAW_BYTES);
    expect(prove(png)).toEqual({ ok: 'unsupported' });
  });
});

describe('checkImage refuses broken PNG pixel data (BAD_IMAGE) without a decoder', () => {
  const base = async () => VARIANTS.rgb!(20, 10);
  const declared = { mime: 'image/png', width: 20, height: 10 };
  async function refuses(png: Uint8Array, reason: RegExp): Promise<void> {
    const result = await checkImage(png, declared, limits);
    expect(result).toMatchObject({ ok: false, code: 'BAD_IMAGE' });
    if (!result.ok) expect(result.reason).toMatch(reason);
  }

  it('corrupted IDAT bytes (CRC fixed up: zlib or its Adler-32 must catch it)', async () => {
    const png = await base();
    const chunks = chunksOf(png);
    const stream = Buffer.from(chunks.find((c) => c.type === 'IDAT')!.data);
    stream[Math.floor(stream.length / 2)]! ^= 0x5a;
    await refuses(pngOf(chunks, stream), /does not inflate/);
    const adler = Buffer.from(chunks.find((c) => c.type === 'IDAT')!.data);
    adler[adler.length - 1]! ^= 1;
    await refuses(pngOf(chunks, adler), /does not inflate/);
  });

  it('a bad CRC in any chunk, critical or not', async () => {
    const png = await base();
    for (const type of ['IHDR', 'IDAT', 'IEND']) {
      const bytes = Buffer.from(png);
      const at = bytes.indexOf(type, 8, 'latin1');
      const crcAt = at + 4 + bytes.readUInt32BE(at - 4);
      bytes[crcAt]! ^= 0x01;
      await refuses(bytes, new RegExp(`${type} at byte ${at - 4} fails its CRC`));
    }
    const chunks = chunksOf(png);
    const withText = pngOf([chunks[0]!, { type: 'tEXt', data: Buffer.from('Comment\0hello') }, ...chunks.slice(1)]);
    const at = withText.indexOf('tEXt', 8, 'latin1');
    withText[at + 4 + 13]! ^= 0xff;
    await refuses(withText, /tEXt .* fails its CRC/);
  });

  it('inflated data shorter or longer than the IHDR implies', async () => {
    const png = await base();
    const raw = rawOf(png);
    const chunks = chunksOf(png);
    await refuses(pngOf(chunks, deflateSync(raw.subarray(0, raw.length - 1))), /inflates to 609 bytes where its IHDR implies 610/);
    await refuses(pngOf(chunks, deflateSync(Buffer.concat([raw, Buffer.alloc(1)]))), /inflates to more than the 610 bytes/);
    // A bomb in the IDAT of a tiny image: inflating stops one byte past the expected size.
    await refuses(pngOf(chunks, deflateSync(Buffer.alloc(5_000_000))), /more than the 610 bytes/);
  });

  it('a scanline with a filter type over 4', async () => {
    const png = await base();
    const raw = Buffer.from(rawOf(png));
    raw[61 * 7] = 5; // the 8th scanline of 20 RGB pixels (1 + 60 bytes each)
    await refuses(pngOf(chunksOf(png), deflateSync(raw)), /scanline at byte 427 has filter type 5/);
  });

  it('a truncated zlib stream, or bytes after it', async () => {
    const png = await base();
    const chunks = chunksOf(png);
    const stream = chunks.find((c) => c.type === 'IDAT')!.data;
    await refuses(pngOf(chunks, stream.subarray(0, stream.length - 6)), /does not inflate: unexpected end/);
    await refuses(pngOf(chunks, Buffer.concat([stream, Buffer.from('PK\x05\x06')])), /4 bytes after its zlib stream/);
  });

  it('a palette image without a valid PLTE before its IDAT', async () => {
    const png = await VARIANTS['palette 8-bit']!(20, 10);
    const chunks = chunksOf(png);
    const plte = chunks.find((c) => c.type === 'PLTE')!;
    const others = chunks.filter((c) => c !== plte);
    await refuses(pngOf(others), /no PLTE|header/);
    const idatAt = others.findIndex((c) => c.type === 'IDAT');
    await refuses(pngOf([...others.slice(0, idatAt + 1), plte, ...others.slice(idatAt + 1)]), /PLTE is misplaced/);
    await refuses(pngOf(chunks.map((c) => (c === plte ? { type: 'PLTE', data: c.data.subarray(1) } : c))), /PLTE|header/);
  });

  it('never accepts what the decoder cannot decode (scanlines mutated, CRCs and zlib made valid)', async () => {
    const kinds = Object.keys(VARIANTS);
    const originals = await Promise.all(kinds.map((k) => VARIANTS[k]!(13, 9)));
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: kinds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 0, maxLength: 4 }),
        fc.integer({ min: -3, max: 3 }),
        async (which, flips, resize) => {
          const png = originals[which]!;
          const raw = Buffer.from(rawOf(png));
          for (const [at, value] of flips) raw[at % raw.length] = value;
          const sized = resize <= 0 ? raw.subarray(0, raw.length + resize) : Buffer.concat([raw, Buffer.alloc(resize)]);
          const mutated = pngOf(chunksOf(png), deflateSync(sized));
          const proof = prove(mutated);
          if (resize !== 0) expect(proof.ok).toBe(false);
          if (proof.ok === true) expect(await decodes(mutated)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
