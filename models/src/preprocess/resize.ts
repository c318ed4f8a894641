/**
 * The pure-TypeScript half of preprocessing, shared by Node and browsers so both produce the same
 * tensor: after decoding to RGBA (sharp in Node, a canvas in the browser), every step below is
 * this code, in float64, in the same order.
 */
import type { Preprocessing } from '@edgeloop/protocol';

/** Decoded pixels: RGBA, 8 bits per channel, row-major, not premultiplied. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** Flattens alpha onto the background and converts to `channels` planes of floats in 0..255. */
function toPlanes(img: RgbaImage, channels: 1 | 3, bg: readonly [number, number, number]): Float64Array[] {
  const n = img.width * img.height;
  const planes = Array.from({ length: channels }, () => new Float64Array(n));
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const a = d[i * 4 + 3]! / 255;
    const r = d[i * 4]! * a + bg[0] * (1 - a);
    const g = d[i * 4 + 1]! * a + bg[1] * (1 - a);
    const b = d[i * 4 + 2]! * a + bg[2] * (1 - a);
    if (channels === 1)
      planes[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b; // ITU-R BT.601 luma
    else {
      planes[0]![i] = r;
      planes[1]![i] = g;
      planes[2]![i] = b;
    }
  }
  return planes;
}

/** Where the source lands in the target, for each fit: a source crop and a destination box. */
function layout(sw: number, sh: number, tw: number, th: number, fit: Preprocessing['fit']) {
  if (fit === 'fill') return { sx: 0, sy: 0, sW: sw, sH: sh, dx: 0, dy: 0, dW: tw, dH: th };
  const scale = fit === 'contain' ? Math.min(tw / sw, th / sh) : Math.max(tw / sw, th / sh);
  if (fit === 'contain') {
    const dW = Math.max(1, Math.round(sw * scale));
    const dH = Math.max(1, Math.round(sh * scale));
    return { sx: 0, sy: 0, sW: sw, sH: sh, dx: Math.floor((tw - dW) / 2), dy: Math.floor((th - dH) / 2), dW, dH };
  }
  const sW = tw / scale;
  const sH = th / scale;
  return { sx: (sw - sW) / 2, sy: (sh - sH) / 2, sW, sH, dx: 0, dy: 0, dW: tw, dH: th };
}

/**
 * Resamples one plane with half-pixel centres (source x = (dst x + 0.5) · scale − 0.5, edges
 * clamped), bilinear or nearest. Areas outside the destination box keep `fill`.
 */
function resample(
  src: Float64Array,
  sw: number,
  sh: number,
  tw: number,
  th: number,
  fit: Preprocessing['fit'],
  kernel: Preprocessing['kernel'],
  fill: number,
): Float64Array {
  const out = new Float64Array(tw * th).fill(fill);
  const L = layout(sw, sh, tw, th, fit);
  const scaleX = L.sW / L.dW;
  const scaleY = L.sH / L.dH;
  for (let y = 0; y < L.dH; y++) {
    const fy = Math.min(sh - 1, Math.max(0, L.sy + (y + 0.5) * scaleY - 0.5));
    for (let x = 0; x < L.dW; x++) {
      const fx = Math.min(sw - 1, Math.max(0, L.sx + (x + 0.5) * scaleX - 0.5));
      let v: number;
      if (kernel === 'nearest') v = src[Math.round(fy) * sw + Math.round(fx)]!;
      else {
        const x0 = Math.floor(fx);
        const y0 = Math.floor(fy);
        const x1 = Math.min(sw - 1, x0 + 1);
        const y1 = Math.min(sh - 1, y0 + 1);
        const ax = fx - x0;
        const ay = fy - y0;
        const top = src[y0 * sw + x0]! * (1 - ax) + src[y0 * sw + x1]! * ax;
        const bottom = src[y1 * sw + x0]! * (1 - ax) + src[y1 * sw + x1]! * ax;
        v = top * (1 - ay) + bottom * ay;
      }
      out[(L.dy + y) * tw + L.dx + x] = v;
    }
  }
  return out;
}

/**
 * Turns decoded RGBA pixels into the model's input for one image (NHWC or NCHW, no batch axis):
 * flatten alpha onto `background`, convert channels, resize, scale to [0, 1], optionally invert,
 * then (x − mean) / std per channel.
 */
export function preprocessRgba(img: RgbaImage, spec: Preprocessing, layoutName: 'NHWC' | 'NCHW' = 'NHWC'): Float32Array {
  const planes = toPlanes(img, spec.channels, spec.background);
  const { width: tw, height: th, channels } = spec;
  const out = new Float32Array(tw * th * channels);
  for (let c = 0; c < channels; c++) {
    const bg = channels === 1 ? 0.299 * spec.background[0] + 0.587 * spec.background[1] + 0.114 * spec.background[2] : spec.background[c]!;
    const plane = resample(planes[c]!, img.width, img.height, tw, th, spec.fit, spec.kernel, bg);
    const mean = spec.mean[c]!;
    const std = spec.std[c]!;
    for (let i = 0; i < plane.length; i++) {
      let v = plane[i]! / 255;
      if (spec.invert) v = 1 - v;
      v = (v - mean) / std;
      out[layoutName === 'NHWC' ? i * channels + c : c * tw * th + i] = v;
    }
  }
  return out;
}
