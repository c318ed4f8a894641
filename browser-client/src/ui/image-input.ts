/**
 * Turning what the user gives us (a drawing, a file, a camera frame) into the bytes that are both
 * classified and, if sampled, sent: one encoded image, so the hub stores exactly what the model saw
 * and the sample id (sha256 of these bytes) is stable.
 */
import { IMAGE_MIMES, MAX_IMAGE_BYTES } from '@edgeloop/protocol';
import { ClientError } from '../errors.js';
import { type GreyImage, greyToRgba } from './mnist-normalise.js';

export type ImageMime = (typeof IMAGE_MIMES)[number];

/** One encoded image and its size, ready to classify and to put in a sample frame. */
export interface EncodedImage {
  bytes: Uint8Array;
  mime: ImageMime;
  width: number;
  height: number;
  source: 'drawing' | 'file' | 'camera';
}

/** Larger photos are scaled down to this longer side before classifying and sending. */
const MAX_SIDE = 1024;

async function canvasBytes(canvas: OffscreenCanvas, mime: ImageMime, quality?: number): Promise<Uint8Array> {
  const blob = await canvas.convertToBlob({ type: mime, ...(quality !== undefined ? { quality } : {}) });
  return new Uint8Array(await blob.arrayBuffer());
}

/** Encodes a 28×28 grey field as a PNG (lossless, so the hub sees the exact pixels). */
export async function encodeGreyPng(img: GreyImage): Promise<EncodedImage> {
  const canvas = new OffscreenCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new ClientError('IMAGE_UNSUPPORTED', 'no 2d canvas context');
  ctx.putImageData(new ImageData(greyToRgba(img) as Uint8ClampedArray<ArrayBuffer>, img.width, img.height), 0, 0);
  return { bytes: await canvasBytes(canvas, 'image/png'), mime: 'image/png', width: img.width, height: img.height, source: 'drawing' };
}

/** Redraws any drawable source, scaled so its longer side is at most {@link MAX_SIDE}, as JPEG. */
async function reencode(source: CanvasImageSource, w: number, h: number, from: EncodedImage['source']): Promise<EncodedImage> {
  const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
  const width = Math.max(1, Math.round(w * scale));
  const height = Math.max(1, Math.round(h * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new ClientError('IMAGE_UNSUPPORTED', 'no 2d canvas context');
  ctx.drawImage(source, 0, 0, width, height);
  return { bytes: await canvasBytes(canvas, 'image/jpeg', 0.92), mime: 'image/jpeg', width, height, source: from };
}

/**
 * A chosen or dropped file. PNG, JPEG and WebP within the protocol's limits are used as they are;
 * anything larger is scaled down and re-encoded; other formats are refused.
 */
export async function imageFromFile(file: Blob): Promise<EncodedImage> {
  const mime = file.type as ImageMime;
  if (!(IMAGE_MIMES as readonly string[]).includes(mime)) {
    throw new ClientError('IMAGE_UNSUPPORTED', `${file.type || 'this file type'} is not supported: choose a PNG, JPEG or WebP image`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch (cause) {
    throw new ClientError('IMAGE_UNSUPPORTED', 'this image could not be decoded', { cause });
  }
  try {
    const { width, height } = bitmap;
    if (file.size <= MAX_IMAGE_BYTES && Math.max(width, height) <= MAX_SIDE * 2) {
      return { bytes: new Uint8Array(await file.arrayBuffer()), mime, width, height, source: 'file' };
    }
    return await reencode(bitmap, width, height, 'file');
  } finally {
    bitmap.close();
  }
}

/** The current frame of a playing video (the camera), as a JPEG. */
export function imageFromVideo(video: HTMLVideoElement): Promise<EncodedImage> {
  return reencode(video, video.videoWidth, video.videoHeight, 'camera');
}
