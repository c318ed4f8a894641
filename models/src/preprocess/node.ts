/**
 * Node image decoding with sharp, guarded against bad input and image bombs: the format is sniffed
 * from magic bytes, the header's dimensions are checked before any pixel is decoded, and the decode
 * itself runs under sharp's `limitInputPixels`.
 */
import type { Preprocessing } from '@edgeloop/protocol';
import sharp from 'sharp';
import { ModelsError } from '../errors.js';
import { decodePlainPng, plainPngLayout } from './plain-png.js';
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

function checkBytes(bytes: Uint8Array, limits: DecodeLimits): void {
  if (bytes.byteLength > limits.maxBytes) {
    throw new ModelsError('IMAGE_TOO_LARGE', `image is ${bytes.byteLength} bytes, over the ${limits.maxBytes}-byte limit`);
  }
}

function checkSize(width: number, height: number, limits: DecodeLimits): void {
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new ModelsError(
      'IMAGE_TOO_LARGE',
      `image is ${width}×${height}, over the limit (${limits.maxSide} per side, ${limits.maxPixels} pixels)`,
    );
  }
}

function formatOf(bytes: Uint8Array): ImageFormat {
  const format = sniffImageFormat(bytes);
  if (!format) throw new ModelsError('UNSUPPORTED_FORMAT', 'not a PNG, JPEG or WebP image (magic bytes)');
  return format;
}

/** The header read through sharp: size, limits, and one page only. */
async function sharpHeader(bytes: Uint8Array, format: ImageFormat, limits: DecodeLimits) {
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new ModelsError('BAD_IMAGE', `cannot read the ${format} header`, { cause });
  }
  const { width = 0, height = 0 } = meta;
  if (width < 1 || height < 1) throw new ModelsError('BAD_IMAGE', 'image has no dimensions');
  checkSize(width, height, limits);
  if ((meta.pages ?? 1) > 1) throw new ModelsError('BAD_IMAGE', 'animated or multi-page images are not accepted');
  return { format, width, height };
}

/** Reads format and dimensions from the header alone, enforcing the limits; decodes nothing. */
export async function inspectImage(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits) {
  checkBytes(bytes, limits);
  const format = formatOf(bytes);
  // A plain PNG (`plain-png.ts`) is one still image whose size is in its IHDR: no sharp call.
  const plain = format === 'png' ? plainPngLayout(bytes) : undefined;
  if (plain) {
    checkSize(plain.width, plain.height, limits);
    return { format, width: plain.width, height: plain.height };
  }
  return sharpHeader(bytes, format, limits);
}

/** Decodes to RGBA (EXIF orientation applied, as browsers do) within the limits. */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits): Promise<DecodedImage> {
  // A small plain PNG is decoded here (`plain-png.ts`: the same pixels, without sharp's per-call
  // cost); every other image, and every PNG with anything unusual in it, goes to sharp.
  checkBytes(bytes, limits);
  const layout = sniffImageFormat(bytes) === 'png' ? plainPngLayout(bytes) : undefined;
  if (layout) {
    // The header's size is checked before anything is inflated.
    checkSize(layout.width, layout.height, limits);
    const plain = decodePlainPng(bytes, layout);
    if (plain) return { format: 'png', ...plain };
  }
  return decodeImageWithSharp(bytes, limits);
}

/**
 * {@link decodeImage} with every image through sharp, its header read included: the reference
 * that the plain-PNG path is tested against, and the baseline the preprocessing benchmark compares.
 */
export async function decodeImageWithSharp(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits): Promise<DecodedImage> {
  checkBytes(bytes, limits);
  const format = formatOf(bytes);
  await sharpHeader(bytes, format, limits);
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
