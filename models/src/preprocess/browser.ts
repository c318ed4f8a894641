/**
 * Browser preprocessing: decode with `createImageBitmap` (no colour-space conversion, no
 * premultiplication, so PNG pixels arrive exactly as stored), read them through a canvas, then run
 * the same {@link preprocessRgba} as Node. Import it as `@edgeloop/models/browser`; it pulls in
 * no tfjs and no Node module.
 */
import type { Preprocessing } from '@edgeloop/protocol';
import { preprocessRgba, type RgbaImage } from './resize.js';

export { preprocessRgba, type RgbaImage } from './resize.js';

/** Decodes encoded image bytes to RGBA in a browser. */
export async function decodeImageInBrowser(bytes: Uint8Array, mime: string): Promise<RgbaImage> {
  const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime }), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
    imageOrientation: 'from-image',
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2d canvas context');
  ctx.drawImage(bitmap, 0, 0);
  const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  return { data, width, height };
}

/** Decodes and preprocesses encoded image bytes into one model input, in a browser. */
export async function preprocessImageInBrowser(
  bytes: Uint8Array,
  mime: string,
  spec: Preprocessing,
  layout: 'NHWC' | 'NCHW' = 'NHWC',
): Promise<Float32Array> {
  return preprocessRgba(await decodeImageInBrowser(bytes, mime), spec, layout);
}
