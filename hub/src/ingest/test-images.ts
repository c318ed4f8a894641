/**
 * Test fixtures for the ingest tests (not used by the hub): well-formed images from sharp, and
 * hostile ones built byte by byte (image bombs, lying headers, truncations, polyglots), plus
 * sample frames around them.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createDeflate, deflateSync } from 'node:zlib';
import { encodeSampleFrame, type SampleEnvelope } from '@edgeloop/protocol';
import { PNG_SIGNATURE, pngChunk, pngIhdr } from '@edgeloop/tests/support/png';
import sharp from 'sharp';

export { PNG_SIGNATURE, pngChunk };

/** An IHDR chunk: 8-bit, colour type `colour` (0 grey, 2 RGB, 6 RGBA). */
export function ihdr(width: number, height: number, colour = 0, depth = 8): Buffer {
  return pngIhdr(width, height, { colour, depth });
}

/** A greyscale PNG of `width`×`height` zeros, deflated whole (for small sizes). */
export function greyPng(width: number, height: number, extraChunks: Buffer[] = []): Buffer {
  const raw = Buffer.alloc(height * (1 + width));
  return Buffer.concat([PNG_SIGNATURE, ihdr(width, height), ...extraChunks, pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND')]);
}

/** A distinct 8×8 greyscale PNG for every `n` (its first pixels spell `n`). */
export function numberedPng(n: number): Buffer {
  const raw = Buffer.alloc(8 * 9);
  raw.writeUInt32BE(n >>> 0, 1);
  return Buffer.concat([PNG_SIGNATURE, ihdr(8, 8), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND')]);
}

/**
 * A flat greyscale `side`×`side` PNG, the classic decompression bomb: 17,000² pixels decode to
 * 289 MB but deflate to about 280 KB. The zero rows stream through zlib from one reused buffer,
 * so building it never holds more than a few MB.
 */
export async function flatPngBomb(side: number): Promise<Buffer> {
  const rowBytes = 1 + side;
  const rowsPerWrite = 64;
  const zeros = Buffer.alloc(rowBytes * rowsPerWrite);
  const deflate = createDeflate({ level: 9, memLevel: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const ended = once(deflate, 'end');
  for (let y = 0; y < side; y += rowsPerWrite) {
    const rows = Math.min(rowsPerWrite, side - y);
    if (!deflate.write(zeros.subarray(0, rows * rowBytes))) await once(deflate, 'drain');
  }
  deflate.end();
  await ended;
  return Buffer.concat([PNG_SIGNATURE, ihdr(side, side), pngChunk('IDAT', Buffer.concat(parts)), pngChunk('IEND')]);
}

/** A PNG whose IHDR claims `width`×`height` with a few bytes of pixel data. */
export function lyingPng(width: number, height: number): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ihdr(width, height), pngChunk('IDAT', deflateSync(Buffer.alloc(64))), pngChunk('IEND')]);
}

/** A noisy RGB image from sharp (noise so that JPEG and WebP have real entropy-coded data). */
export async function encoded(format: 'png' | 'jpeg' | 'webp', width = 64, height = 48, options: { progressive?: boolean } = {}) {
  const base = sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
  if (format === 'png') return base.png().toBuffer();
  if (format === 'jpeg') return base.jpeg({ progressive: options.progressive ?? false }).toBuffer();
  return base.webp().toBuffer();
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A valid sample envelope around `bytes`; `declared` overrides what the header says of the image. */
export function envelopeOf(
  deviceId: string,
  bytes: Uint8Array,
  declared: { mime: 'image/png' | 'image/jpeg' | 'image/webp'; width: number; height: number },
  overrides: Partial<SampleEnvelope> = {},
): SampleEnvelope {
  return {
    v: 1,
    sampleId: sha256Hex(bytes),
    deviceId,
    model: { name: 'digits', version: 3 },
    capturedAt: '2026-01-02T03:04:05.000Z',
    image: { ...declared, byteLength: bytes.byteLength, bytes },
    prediction: { label: 'seven', confidence: 0.6, probabilities: [0.6, 0.4], latencyMs: 4 },
    sampling: { strategy: 'margin', score: 0.2, inclusionProbability: 0.5, audit: false, reason: 'uncertain' },
    ...overrides,
  };
}

/** The frame of {@link envelopeOf}. */
export function frameOf(...args: Parameters<typeof envelopeOf>): Uint8Array {
  return encodeSampleFrame(envelopeOf(...args));
}

/** A frame around an arbitrary header (possibly invalid), bypassing the encoder's checks. */
export function rawFrame(header: unknown, image: Uint8Array, headerText = JSON.stringify(header)): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + image.length);
  out.set([0x45, 0x4c, 0x53, 1]);
  new DataView(out.buffer).setUint32(4, json.length);
  out.set(json, 8);
  out.set(image, 8 + json.length);
  return out;
}

/** The header of an envelope, as it travels in a frame. */
export function headerOf(e: SampleEnvelope): Record<string, unknown> {
  const { bytes, ...image } = e.image;
  return { ...e, image: { ...image, byteLength: bytes.byteLength } };
}
