/** WebP structure (RFC 9649): the RIFF chunks, one still image, decoding nothing. */
import { type Dimensions, type Found, fourcc, HeaderError, u24le, u32le } from './header-bytes.js';

/** WebP: RIFF container (RFC 9649 §2), one VP8/VP8L image, or VP8X with a still image. */
export function readWebp(b: Uint8Array, found: Found): number {
  if (b.length < 20) throw new HeaderError('webp is shorter than its RIFF header');
  const riffSize = u32le(b, 4);
  const riffEnd = 8 + riffSize;
  if (riffSize < 4 + 8 || riffEnd > b.length) throw new HeaderError('webp RIFF size runs past the end (truncated)');
  let offset = 12;
  let image: Dimensions | undefined;
  let canvas: Dimensions | undefined;
  while (offset < riffEnd) {
    if (offset + 8 > riffEnd) throw new HeaderError('webp chunk header runs past the RIFF size');
    const type = fourcc(b, offset);
    const size = u32le(b, offset + 4);
    const d = offset + 8;
    if (d + size > riffEnd) throw new HeaderError(`webp chunk ${JSON.stringify(type)} runs past the RIFF size`);
    if (offset === 12 && type !== 'VP8 ' && type !== 'VP8L' && type !== 'VP8X')
      throw new HeaderError('webp does not start with VP8, VP8L or VP8X');
    if (type === 'VP8X') {
      if (offset !== 12 || size < 10) throw new HeaderError('webp VP8X is misplaced or short');
      if (b[d]! & 0x02) throw new HeaderError('animated webp is not accepted');
      canvas = { width: u24le(b, d + 4) + 1, height: u24le(b, d + 7) + 1, channels: b[d]! & 0x10 ? 4 : 3 };
      found.dims = canvas;
    } else if (type === 'VP8 ' || type === 'VP8L') {
      if (image) throw new HeaderError('webp has more than one image chunk');
      image = type === 'VP8 ' ? readVp8(b, d, size) : readVp8l(b, d, size);
      found.dims ??= image;
    } else if (type === 'ANIM' || type === 'ANMF') {
      throw new HeaderError('animated webp is not accepted');
    } else if (type !== 'ALPH') {
      found.metadataBytes += size;
    }
    offset = d + size + (size & 1);
  }
  if (!image) throw new HeaderError('webp has no VP8 or VP8L image');
  if (canvas && (canvas.width !== image.width || canvas.height !== image.height)) {
    throw new HeaderError('webp VP8X canvas and image dimensions differ');
  }
  return riffEnd + (riffSize & 1);
}

/** VP8 key frame header (RFC 6386 §9.1): frame tag, start code 9d 01 2a, 14-bit sides. */
function readVp8(b: Uint8Array, d: number, size: number): Dimensions {
  if (size < 10 || b[d]! & 0x01 || b[d + 3] !== 0x9d || b[d + 4] !== 0x01 || b[d + 5] !== 0x2a) {
    throw new HeaderError('webp VP8 chunk is not a key frame');
  }
  const width = (b[d + 6]! | (b[d + 7]! << 8)) & 0x3fff;
  const height = (b[d + 8]! | (b[d + 9]! << 8)) & 0x3fff;
  if (width === 0 || height === 0) throw new HeaderError('webp VP8 has a zero dimension');
  return { width, height, channels: 3 };
}

/** VP8L header (WebP lossless spec §3): signature 0x2f, 14-bit sides − 1, alpha hint, version 0. */
function readVp8l(b: Uint8Array, d: number, size: number): Dimensions {
  if (size < 5 || b[d] !== 0x2f) throw new HeaderError('webp VP8L chunk has no signature');
  const bits = u32le(b, d + 1);
  if (bits >>> 29 !== 0) throw new HeaderError('webp VP8L version is not 0');
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, channels: (bits >>> 28) & 1 ? 4 : 3 };
}
