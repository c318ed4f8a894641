/** Test images made on the fly with sharp, plus hand-made malformed ones. */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { concatBytes } from '../src/bytes.js';

/** A solid-colour image in the given format. */
export async function solid(
  format: 'png' | 'jpeg' | 'webp',
  width: number,
  height: number,
  rgb: [number, number, number],
): Promise<Uint8Array> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return new Uint8Array(await img.toFormat(format).toBuffer());
}

/** A PNG of given RGBA pixels (lossless, so every decoder gives the same pixels back). */
export async function pngOf(width: number, height: number, rgba: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp(rgba, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer(),
  );
}

/**
 * A PNG "bomb": a valid signature and IHDR claiming `side`×`side` pixels, followed by a tiny
 * IDAT. Decoding it would need side² × 4 bytes; the header check must refuse it first.
 */
export function pngBomb(side: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, side);
  v.setUint32(4, side);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale, no interlace
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    chunk('IDAT', Uint8Array.of(0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01)),
    chunk('IEND', new Uint8Array()),
  ];
  return concatBytes(parts);
}
