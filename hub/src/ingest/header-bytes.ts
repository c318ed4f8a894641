/** Shared pieces of the header parsers: their error, what they learn, and byte readers. */

/** Width, height and stored channels of an image. */
export interface Dimensions {
  width: number;
  height: number;
  /** Channels as stored: 1 (grey), 2 (grey+alpha), 3 (colour), 4 (colour+alpha or CMYK). */
  channels: number;
}

/** Thrown inside the parsers; `readImageHeader` turns it into a result. */
export class HeaderError extends Error {}

/** What the parsers learn as they go, so the dimensions survive a later structural error. */
export interface Found {
  dims?: Dimensions;
  /** Bytes of chunks or segments that carry no pixels (text, EXIF, ICC, XMP, unknown chunks). */
  metadataBytes: number;
}

// Callers check bounds before reading, so the non-null assertions never see `undefined`.
export const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
export const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
export const u24le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
export const u32le = (b: Uint8Array, o: number) => (u24le(b, o) | (b[o + 3]! << 24)) >>> 0;
export const fourcc = (b: Uint8Array, o: number) => String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!);
