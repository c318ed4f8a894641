/**
 * A fast path for the commonest images here, small plain PNGs (MNIST digits, device crops, canvas
 * captures). For a 28×28 digit, a sharp pipeline costs about 0.5–1 ms of wall time and twice that
 * in CPU, almost all of it per-call overhead; decoding here costs a few tens of µs.
 *
 * "Plain" is a strict subset, and anything outside it returns `undefined` so that sharp decodes
 * it as before, with its own rules and errors:
 * - grey or palette (no transparency) at 1, 2, 4 or 8 bits, or RGB, grey + alpha or RGBA at 8
 *   bits; not interlaced;
 * - chunks: IHDR first, PLTE (palette images only, before the data), consecutive IDATs, IEND last,
 *   and only ancillary chunks that cannot change a pixel (text, time, physical size; not text that
 *   carries an EXIF, ICC or XMP profile under ImageMagick's or Adobe's keywords). A colour
 *   profile, gamma, chromaticities, sRGB intent, transparency, significant bits, background, EXIF
 *   orientation, animation or any unknown chunk sends the image to sharp;
 * - every chunk's CRC is right, the data inflates (zlib checks its Adler-32) to exactly the bytes
 *   the header implies with nothing after the stream, and every row's filter type is 0–4;
 * - the raw image is at most {@link PLAIN_PNG_MAX_RAW_BYTES} (256×256 RGBA): a larger one is
 *   decoded by sharp on libuv's thread pool, not here on the caller's thread.
 *
 * Within that subset the decoded RGBA is byte-for-byte what `decodeImage`'s sharp pipeline gives
 * (PNG is lossless, and none of its conversions applies): the tests compare the two on random
 * images of every colour type and filter.
 */
import { crc32, inflateSync } from 'node:zlib';
import type { RgbaImage } from './resize.js';

/**
 * Images whose raw scanlines exceed this (a 256×256 RGBA image's) go to sharp. Decoding runs on
 * the caller's thread, a server's event loop included, so it is kept to about a millisecond; sharp
 * works on libuv's thread pool.
 */
export const PLAIN_PNG_MAX_RAW_BYTES = (256 * 4 + 1) * 256;

/** Channels per pixel by colour type: grey, RGB, palette, grey + alpha, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Ancillary chunks that carry no pixel meaning: text, modification time, pixel size. */
const INERT = new Set(['tEXt', 'zTXt', 'iTXt', 'tIME', 'pHYs']);
const TEXT = new Set(['tEXt', 'zTXt', 'iTXt']);
/**
 * Text keywords that may hide metadata a decoder could act on: ImageMagick's "Raw profile type
 * exif/icc/…" and XMP (which can hold an orientation). Their images go to sharp.
 */
const METADATA_KEYWORDS = ['Raw profile type', 'XML:com.adobe.xmp'];

function metadataText(chunk: Uint8Array): boolean {
  return METADATA_KEYWORDS.some((k) => k.length <= chunk.length && [...k].every((ch, i) => chunk[i] === ch.charCodeAt(0)));
}

const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const fourcc = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/** Width and height from a PNG's IHDR, or `undefined` when the bytes do not start with a whole, valid one. */
function plainPngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 33 || u32(bytes, 8) !== 13 || fourcc(bytes, 12) !== 'IHDR') return undefined;
  if (crc32(bytes.subarray(12, 29)) !== u32(bytes, 29)) return undefined;
  const width = u32(bytes, 16);
  const height = u32(bytes, 20);
  return width > 0 && height > 0 && width <= 0x7fffffff && height <= 0x7fffffff ? { width, height } : undefined;
}

/** A PNG whose chunks are those of a plain PNG (see the top of this file); nothing inflated yet. */
export interface PlainPngLayout {
  width: number;
  height: number;
  depth: number;
  colour: number;
  channels: number;
  /** Bytes in a row without its filter byte. */
  stride: number;
  idat: Uint8Array[];
  idatBytes: number;
  palette: Uint8Array | undefined;
}

/**
 * Walks the chunks of `bytes` (a PNG by its signature): the layout when it is a plain PNG, else
 * `undefined`. Reads and checksums the chunks but inflates nothing, so it also serves as a
 * header read (a plain PNG is one still image, its size in IHDR).
 */
export function plainPngLayout(bytes: Uint8Array): PlainPngLayout | undefined {
  const size = plainPngSize(bytes);
  if (!size) return undefined;
  const { width, height } = size;
  const depth = bytes[24]!;
  const colour = bytes[25]!;
  const channels = CHANNELS[colour];
  // Compression method 0, filter method 0, no interlacing; sub-byte samples only for grey and palette.
  const subByte = depth === 1 || depth === 2 || depth === 4;
  if (channels === undefined || !(depth === 8 || (subByte && (colour === 0 || colour === 3)))) return undefined;
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] !== 0) return undefined;
  const stride = Math.ceil((width * channels * depth) / 8);
  // A raw image over the cap, or a file much larger than such an image compresses to, is sharp's.
  if ((stride + 1) * height > PLAIN_PNG_MAX_RAW_BYTES || bytes.length > 2 * PLAIN_PNG_MAX_RAW_BYTES) return undefined;

  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let palette: Uint8Array | undefined;
  let ended = false;
  let previous = 'IHDR';
  let offset = 33;
  while (offset < bytes.length) {
    if (offset + 12 > bytes.length) return undefined;
    const length = u32(bytes, offset);
    const next = offset + 12 + length;
    if (length > 0x7fffffff || next > bytes.length) return undefined;
    const type = fourcc(bytes, offset + 4);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== u32(bytes, next - 4)) return undefined;
    if (type === 'IDAT') {
      // IDATs must be consecutive: another chunk after one ends the image data.
      if (idat.length > 0 && previous !== 'IDAT') return undefined;
      idat.push(bytes.subarray(offset + 8, next - 4));
      idatBytes += length;
    } else if (type === 'PLTE') {
      if (colour !== 3 || palette || idat.length > 0 || length === 0 || length % 3 !== 0 || length > 768) return undefined;
      palette = bytes.subarray(offset + 8, next - 4);
    } else if (type === 'IEND') {
      if (length !== 0 || next !== bytes.length) return undefined;
      ended = true;
    } else if (!INERT.has(type) || (TEXT.has(type) && metadataText(bytes.subarray(offset + 8, next - 4)))) {
      return undefined;
    }
    previous = type;
    offset = next;
  }
  if (!ended || idat.length === 0 || (colour === 3 && !palette)) return undefined;
  return { width, height, depth, colour, channels, stride, idat, idatBytes, palette };
}

/**
 * Decodes `bytes` (a PNG by its signature) to RGBA when it is a plain PNG, else `undefined`. The
 * caller has already checked the header's dimensions against its limits.
 */
export function decodePlainPng(bytes: Uint8Array, layout = plainPngLayout(bytes)): RgbaImage | undefined {
  if (!layout) return undefined;
  const { width, height, depth, colour, channels, stride, idat, idatBytes, palette } = layout;
  const rawBytes = (stride + 1) * height;
  let raw: Uint8Array;
  try {
    const stream = idat.length === 1 ? idat[0]! : Buffer.concat(idat, idatBytes);
    const inflated = inflateSync(stream, { maxOutputLength: rawBytes + 1, info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    if (inflated.engine.bytesWritten !== idatBytes || inflated.buffer.length !== rawBytes) return undefined;
    raw = inflated.buffer;
  } catch {
    return undefined;
  }
  // Filters work on whole bytes: a pixel narrower than a byte counts as one (§9.2).
  const filtered = unfilter(raw, stride, height, depth === 8 ? channels : 1);
  const pixels = filtered && (depth === 8 ? filtered : unpack(filtered, width, height, stride, depth, colour === 0));
  const data = pixels && toRgba(pixels, width * height, colour, palette);
  return data ? { width, height, data } : undefined;
}

/** Reverses the per-row filters (PNG spec §9) into a new buffer; `undefined` on a bad filter type. */
function unfilter(raw: Uint8Array, stride: number, height: number, bpp: number): Uint8Array | undefined {
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const up = row - stride;
    switch (type) {
      case 0:
        out.set(raw.subarray(src, src + stride), row);
        break;
      case 1:
        for (let x = 0; x < stride; x++) out[row + x] = (raw[src + x]! + (x >= bpp ? out[row + x - bpp]! : 0)) & 0xff;
        break;
      case 2:
        for (let x = 0; x < stride; x++) out[row + x] = (raw[src + x]! + (y > 0 ? out[up + x]! : 0)) & 0xff;
        break;
      case 3:
        for (let x = 0; x < stride; x++) {
          const left = x >= bpp ? out[row + x - bpp]! : 0;
          const above = y > 0 ? out[up + x]! : 0;
          out[row + x] = (raw[src + x]! + ((left + above) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? out[row + x - bpp]! : 0;
          const b = y > 0 ? out[up + x]! : 0;
          const c = x >= bpp && y > 0 ? out[up + x - bpp]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          out[row + x] = (raw[src + x]! + pred) & 0xff;
        }
        break;
      default:
        return undefined;
    }
  }
  return out;
}

/**
 * One byte per pixel from rows of 1-, 2- or 4-bit samples, most significant first (§7.2). Grey
 * is scaled to 0–255 (a 4-bit 15 becomes 255); palette indices stay indices.
 */
function unpack(rows: Uint8Array, width: number, height: number, stride: number, depth: number, grey: boolean): Uint8Array {
  const out = new Uint8Array(width * height);
  const mask = (1 << depth) - 1;
  const scale = grey ? 255 / mask : 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const value = (rows[y * stride + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask;
      out[y * width + x] = value * scale;
    }
  }
  return out;
}

/**
 * Expands decoded samples to RGBA (grey to three equal channels, opaque where there is no alpha);
 * `undefined` for a palette index past the palette's end, which decoders treat differently.
 */
function toRgba(px: Uint8Array, count: number, colour: number, palette: Uint8Array | undefined): Uint8Array | undefined {
  const out = new Uint8Array(count * 4);
  for (let i = 0, o = 0; i < count; i++, o += 4) {
    switch (colour) {
      case 0:
        out[o] = out[o + 1] = out[o + 2] = px[i]!;
        out[o + 3] = 255;
        break;
      case 2:
        out[o] = px[i * 3]!;
        out[o + 1] = px[i * 3 + 1]!;
        out[o + 2] = px[i * 3 + 2]!;
        out[o + 3] = 255;
        break;
      case 3: {
        const at = px[i]! * 3;
        if (at + 2 >= palette!.length) return undefined;
        out[o] = palette![at]!;
        out[o + 1] = palette![at + 1]!;
        out[o + 2] = palette![at + 2]!;
        out[o + 3] = 255;
        break;
      }
      case 4:
        out[o] = out[o + 1] = out[o + 2] = px[i * 2]!;
        out[o + 3] = px[i * 2 + 1]!;
        break;
      default:
        out[o] = px[i * 4]!;
        out[o + 1] = px[i * 4 + 1]!;
        out[o + 2] = px[i * 4 + 2]!;
        out[o + 3] = px[i * 4 + 3]!;
    }
  }
  return out;
}
