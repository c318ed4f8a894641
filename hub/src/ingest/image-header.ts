/**
 * Tiny parsers of PNG, JPEG and WebP structure that read an image's dimensions and channels, and
 * walk its chunks or segments to the end marker, without decoding a pixel. They only read the bytes
 * in place: nothing allocated depends on the dimensions a file claims, so a header that claims a
 * billion pixels costs as much as any other. Policy (limits, trailing bytes) is `image-check.ts`'s.
 */
import type { ImageFormat } from '@edgeloop/models/data';
import { type Dimensions, type Found, HeaderError } from './header-bytes.js';
import { readJpeg } from './jpeg-header.js';
import { readPng } from './png-header.js';
import { readWebp } from './webp-header.js';

export type { Dimensions };

/** What the structure of an image says about it. */
export interface ImageHeader extends Dimensions {
  format: ImageFormat;
  /** Bytes of chunks or segments that carry no pixels (text, EXIF, ICC, XMP, unknown chunks). */
  metadataBytes: number;
  /** Offset just past the format's end marker (PNG IEND, JPEG EOI, the RIFF size of WebP). */
  end: number;
}

export type HeaderReading =
  | { ok: true; header: ImageHeader }
  /** `dims` is set when the dimensions were read before the structure turned out bad. */
  | { ok: false; reason: string; dims?: Dimensions };

const READERS: Record<ImageFormat, (bytes: Uint8Array, found: Found) => number> = { png: readPng, jpeg: readJpeg, webp: readWebp };

/** Reads the structure of `bytes`, already sniffed as `format`. Never throws on bad input. */
export function readImageHeader(bytes: Uint8Array, format: ImageFormat): HeaderReading {
  const found: Found = { metadataBytes: 0 };
  try {
    const end = READERS[format](bytes, found);
    if (!found.dims) throw new HeaderError(`${format} has no dimensions`);
    return { ok: true, header: { format, ...found.dims, metadataBytes: found.metadataBytes, end } };
  } catch (error) {
    if (!(error instanceof HeaderError)) throw error;
    return found.dims ? { ok: false, reason: error.message, dims: found.dims } : { ok: false, reason: error.message };
  }
}
