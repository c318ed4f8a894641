/** PNG structure (PNG spec, 3rd ed.): IHDR facts and a chunk walk to IEND, decoding nothing. */
import { type Found, fourcc, HeaderError, u32be } from './header-bytes.js';

/** PNG channels by colour type, and the bit depths each allows (PNG spec §11.2.2, IHDR). */
const PNG_COLOUR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 3, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};
const PNG_MAX_DIMENSION = 2 ** 31 - 1;

/** PNG: signature, IHDR first (§5.6), then chunks up to IEND; returns the offset past IEND. */
export function readPng(b: Uint8Array, found: Found): number {
  if (b.length < 8 + 25 || u32be(b, 8) !== 13 || fourcc(b, 12) !== 'IHDR') throw new HeaderError('png does not start with IHDR');
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const colour = PNG_COLOUR_TYPES[b[25]!];
  if (width === 0 || height === 0 || width > PNG_MAX_DIMENSION || height > PNG_MAX_DIMENSION) {
    throw new HeaderError(`png IHDR has invalid dimensions ${width}×${height}`);
  }
  if (!colour?.depths.includes(b[24]!)) throw new HeaderError('png IHDR has an invalid colour type or bit depth');
  if (b[26] !== 0 || b[27] !== 0 || b[28]! > 1) throw new HeaderError('png IHDR has an invalid compression, filter or interlace method');
  found.dims = { width, height, channels: colour.channels };
  let offset = 8 + 25;
  let idat: 'none' | 'open' | 'closed' = 'none';
  for (;;) {
    if (offset + 12 > b.length) throw new HeaderError('png ends before IEND (truncated)');
    const length = u32be(b, offset);
    const type = fourcc(b, offset + 4);
    if (length > PNG_MAX_DIMENSION || offset + 12 + length > b.length)
      throw new HeaderError(`png chunk ${JSON.stringify(type)} runs past the end`);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new HeaderError('png has a chunk with an invalid type');
    const next = offset + 12 + length;
    if (type === 'IEND') {
      if (idat === 'none') throw new HeaderError('png has no IDAT');
      return next;
    }
    if (type === 'IDAT') {
      // §5.6: IDAT chunks are consecutive; data split around other chunks is malformed.
      if (idat === 'closed') throw new HeaderError('png IDAT chunks are not consecutive');
      idat = 'open';
    } else {
      if (idat === 'open') idat = 'closed';
      if (type === 'IHDR') throw new HeaderError('png has a second IHDR');
      // APNG frames are not single images; animated samples are refused.
      if (type === 'acTL' || type === 'fcTL' || type === 'fdAT') throw new HeaderError('animated png is not accepted');
      // Upper-case first letter = critical (§5.4): a decoder must not skip one it does not know.
      if (type !== 'PLTE' && type.charCodeAt(0) < 0x61) throw new HeaderError(`png has an unknown critical chunk ${type}`);
      found.metadataBytes += length;
    }
    offset = next;
  }
}
