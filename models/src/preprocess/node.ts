/**
 * Node image decoding with sharp, guarded against bad input and image bombs: the format is sniffed
 * from magic bytes, the header's dimensions are checked before any pixel is decoded, and the decode
 * itself runs under sharp's `limitInputPixels`.
 */
import type { Preprocessing } from '@edgeloop/protocol';
import sharp from 'sharp';
import { ModelsError } from '../errors.js';
import { preprocessRgba, type RgbaImage } from './resize.js';
import { type ImageFormat, sniffImageFormat } from './sniff.js';

export interface DecodeLimits {
  /** Largest width × height accepted (default 40 MP). */
  maxPixels: number;
  /** Largest side in pixels (default 8192). */
  maxSide: number;
  /** Largest encoded size in bytes (default 20 MB). */
  maxBytes: number;
}

export const defaultDecodeLimits: DecodeLimits = { maxPixels: 40_000_000, maxSide: 8192, maxBytes: 20_000_000 };

export interface DecodedImage extends RgbaImage {
  format: ImageFormat;
}

/** Reads format and dimensions from the header alone, enforcing the limits; decodes nothing. */
export async function inspectImage(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits) {
  if (bytes.byteLength > limits.maxBytes) {
    throw new ModelsError('IMAGE_TOO_LARGE', `image is ${bytes.byteLength} bytes, over the ${limits.maxBytes}-byte limit`);
  }
  const format = sniffImageFormat(bytes);
  if (!format) throw new ModelsError('UNSUPPORTED_FORMAT', 'not a PNG, JPEG or WebP image (magic bytes)');
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new ModelsError('BAD_IMAGE', `cannot read the ${format} header`, { cause });
  }
  const { width = 0, height = 0 } = meta;
  if (width < 1 || height < 1) throw new ModelsError('BAD_IMAGE', 'image has no dimensions');
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new ModelsError(
      'IMAGE_TOO_LARGE',
      `image is ${width}×${height}, over the limit (${limits.maxSide} per side, ${limits.maxPixels} pixels)`,
    );
  }
  if ((meta.pages ?? 1) > 1) throw new ModelsError('BAD_IMAGE', 'animated or multi-page images are not accepted');
  return { format, width, height };
}

/** Decodes to RGBA (EXIF orientation applied, as browsers do) within the limits. */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits): Promise<DecodedImage> {
  const { format } = await inspectImage(bytes, limits);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`expected 4 channels, got ${info.channels}`);
    return { format, width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (cause) {
    throw new ModelsError('BAD_IMAGE', `cannot decode the ${format} image`, { cause });
  }
}

/** Decodes and preprocesses encoded image bytes into one model input (no batch axis). */
export async function preprocessImageBytes(
  bytes: Uint8Array,
  spec: Preprocessing,
  layout: 'NHWC' | 'NCHW' = 'NHWC',
  limits: DecodeLimits = defaultDecodeLimits,
): Promise<Float32Array> {
  return preprocessRgba(await decodeImage(bytes, limits), spec, layout);
}
