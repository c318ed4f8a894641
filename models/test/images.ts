/** Test images made on the fly with sharp, plus hand-made malformed ones. */
import { PNG_SIGNATURE, pngChunk, pngIhdr } from '@edgeloop/tests/support/png';
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
  // 8-bit greyscale, not interlaced; the IDAT is an empty zlib stream.
  return concatBytes([
    PNG_SIGNATURE,
    pngIhdr(side, side),
    pngChunk('IDAT', Uint8Array.of(0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01)),
    pngChunk('IEND'),
  ]);
}
