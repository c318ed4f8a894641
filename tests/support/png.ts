/**
 * PNG building blocks for tests that write PNGs byte by byte (hostile inputs, every colour type
 * and filter): the signature, a chunk with its length and CRC, and an IHDR.
 */
import { crc32 } from 'node:zlib';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** A PNG chunk with its length and CRC. */
export function pngChunk(type: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An IHDR chunk: colour type 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA; interlace 1 is Adam7. */
export function pngIhdr(width: number, height: number, { colour = 0, depth = 8, interlace = 0 } = {}): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([depth, colour, 0, 0, interlace], 8);
  return pngChunk('IHDR', data);
}
