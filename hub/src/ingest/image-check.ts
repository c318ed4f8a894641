/**
 * Decides whether the image bytes of a sample are a plain, bounded, decodable image, in this order
 * (each step names what it enforces):
 *
 * 1. the format, sniffed from magic bytes, is PNG, JPEG or WebP and is the declared mime type;
 * 2. the structure reads from the start marker to the end marker (`image-header.ts`);
 * 3. the dimensions from the header are within `maxSide`, `maxPixels` and `maxChannels`
 *    (IMAGE_TOO_LARGE), checked before anything is decoded: even when step 2 failed later on;
 * 4. the header's dimensions equal the declared ones;
 * 5. no polyglot: nothing follows the end marker but at most {@link MAX_TRAILING_PADDING} bytes of
 *    0x00/0xFF padding, and chunks or segments without pixels (text, EXIF, ICC, XMP, unknown) total
 *    at most {@link MAX_METADATA_BYTES}. A ZIP needs its directory at the end of the file, and
 *    browsers sniff HTML only from a file's first bytes, which are the image's magic; a file whose
 *    magic says one format but whose structure is another fails step 2. Bytes inside metadata are
 *    bounded, not banned: the API still serves images with their sniffed type and `nosniff`;
 * 6. the pixel data is whole: for a PNG of up to `PNG_PROOF_MAX_RAW_BYTES` (1 MiB) raw bytes,
 *    `png-pixels.ts` proves it without a decoder (CRCs, exact inflated size, filter bytes), ~70×
 *    cheaper than a decode. Otherwise sharp decodes every pixel under `limitInputPixels` with
 *    `failOn: 'error'` (truncated or corrupt data fails) and must report the same dimensions. The
 *    pixels are discarded; large decodes run one at a time so that several near-limit images
 *    cannot add up their buffers.
 */
import type { ImageFormat } from '@edgeloop/models/data';
import { MIME_OF, sniffImageFormat } from '@edgeloop/models/data';
import sharp from 'sharp';
import type { IngestConfig } from '../config.js';
import { type ImageHeader, readImageHeader } from './image-header.js';
import { provePngPixels } from './png-pixels.js';

/** Padding tolerated after the end marker (some encoders pad to a block). */
export const MAX_TRAILING_PADDING = 64;
/** Bytes of non-pixel chunks tolerated (EXIF with a thumbnail, an ICC profile, XMP). */
export const MAX_METADATA_BYTES = 256 * 1024;

export interface DeclaredImage {
  mime: string;
  width: number;
  height: number;
}

export type ImageCheck =
  | { ok: true; format: ImageFormat; width: number; height: number; channels: number }
  | { ok: false; code: 'BAD_IMAGE' | 'IMAGE_TOO_LARGE'; reason: string };

export type ImageLimits = Pick<IngestConfig, 'maxSide' | 'maxPixels' | 'maxChannels'>;

const bad = (reason: string): ImageCheck => ({ ok: false, code: 'BAD_IMAGE', reason });

/** Checks `bytes` against what the sender declared and the limits. Never throws on bad input. */
export async function checkImage(bytes: Uint8Array, declared: DeclaredImage, limits: ImageLimits): Promise<ImageCheck> {
  // 1. Format from magic bytes; the declared mime is never trusted on its own.
  const format = sniffImageFormat(bytes);
  if (!format) return bad('not a PNG, JPEG or WebP image (magic bytes)');
  if (MIME_OF[format] !== declared.mime) return bad(`image is ${MIME_OF[format]} but declared ${declared.mime}`);
  // 2. Structure; 3. limits from the header, before any decoding.
  const reading = readImageHeader(bytes, format);
  const dims = reading.ok ? reading.header : reading.dims;
  if (dims) {
    const { width, height, channels } = dims;
    if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
      return {
        ok: false,
        code: 'IMAGE_TOO_LARGE',
        reason: `image is ${width}×${height}, over the limit (${limits.maxSide} per side, ${limits.maxPixels} pixels)`,
      };
    }
    if (channels > limits.maxChannels) {
      return { ok: false, code: 'IMAGE_TOO_LARGE', reason: `image has ${channels} channels, over the limit of ${limits.maxChannels}` };
    }
  }
  if (!reading.ok) return bad(reading.reason);
  const header = reading.header;
  // 4. The header agrees with the declaration.
  if (header.width !== declared.width || header.height !== declared.height) {
    return bad(`image is ${header.width}×${header.height} but declared ${declared.width}×${declared.height}`);
  }
  // 5. Nothing hides after the end marker or in oversized metadata.
  const trailing = bytes.subarray(header.end);
  if (trailing.length > MAX_TRAILING_PADDING || trailing.some((x) => x !== 0x00 && x !== 0xff)) {
    return bad(`${trailing.length} bytes follow the ${format} end marker (polyglot files are refused)`);
  }
  if (header.metadataBytes > MAX_METADATA_BYTES) {
    return bad(`image carries ${header.metadataBytes} bytes of metadata, over the ${MAX_METADATA_BYTES}-byte limit`);
  }
  // 6. A proof of the PNG pixel data, or a full decode under the pixel limit, shows the data is whole.
  if (format === 'png') {
    const proof = provePngPixels(bytes, header.end);
    if (proof.ok === true) return { ok: true, format, width: header.width, height: header.height, channels: header.channels };
    if (proof.ok === false) return bad(`cannot decode the png image: ${proof.reason}`);
  }
  return decodes(bytes, header, limits);
}

/** Decodes of more pixels than this run one at a time, process-wide: each holds a W×H buffer. */
export const LARGE_DECODE_PIXELS = 4_000_000;
let largeDecodes: Promise<unknown> = Promise.resolve();

function oneLargeAtATime<T>(task: () => Promise<T>): Promise<T> {
  const run = largeDecodes.then(task, task);
  largeDecodes = run.catch(() => undefined);
  return run;
}

async function decodes(bytes: Uint8Array, header: ImageHeader, limits: ImageLimits): Promise<ImageCheck> {
  // Every pixel goes through the decoder, but only one 8-bit band comes out (W×H bytes, at most
  // `maxPixels`): a resize would skip rows and miss a truncation, and `stats()` costs ~5 ms even
  // for a tiny image.
  const decode = () =>
    sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', sequentialRead: true })
      .extractChannel(0)
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  try {
    const { info } = await (header.width * header.height > LARGE_DECODE_PIXELS ? oneLargeAtATime(decode) : decode());
    if (info.width !== header.width || info.height !== header.height) {
      return bad(`decoder sees ${info.width}×${info.height} where the header says ${header.width}×${header.height}`);
    }
    return { ok: true, format: header.format, width: header.width, height: header.height, channels: header.channels };
  } catch (cause) {
    return bad(`cannot decode the ${header.format} image: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`);
  }
}
