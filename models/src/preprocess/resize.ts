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
 * Where each destination column or row samples the source: the clamped source coordinate `f`, its
 * neighbours `i0`, `i1` and the weight `a` of `i1`. The same for every row and every plane, so it is
 * computed once per image; the arithmetic is that of sampling each pixel on its own.
 */
function axis(count: number, start: number, scale: number, size: number) {
  const f = new Float64Array(count);
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const a = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const v = Math.min(size - 1, Math.max(0, start + (k + 0.5) * scale - 0.5));
    f[k] = v;
    i0[k] = Math.floor(v);
    i1[k] = Math.min(size - 1, i0[k]! + 1);
    a[k] = v - i0[k]!;
  }
  return { f, i0, i1, a };
}

/**
 * Resamples one plane with half-pixel centres (source x = (dst x + 0.5) · scale − 0.5, edges
 * clamped), bilinear or nearest. Areas outside the destination box keep `fill`.
 */
function resample(
  src: Float64Array,
  sw: number,
  tw: number,
  th: number,
  L: ReturnType<typeof layout>,
  xs: ReturnType<typeof axis>,
  ys: ReturnType<typeof axis>,
  kernel: Preprocessing['kernel'],
  fill: number,
): Float64Array {
  const out = new Float64Array(tw * th).fill(fill);
  for (let y = 0; y < L.dH; y++) {
    const row = (L.dy + y) * tw + L.dx;
    if (kernel === 'nearest') {
      const base = Math.round(ys.f[y]!) * sw;
      for (let x = 0; x < L.dW; x++) out[row + x] = src[base + Math.round(xs.f[x]!)]!;
      continue;
    }
    const r0 = ys.i0[y]! * sw;
    const r1 = ys.i1[y]! * sw;
    const ay = ys.a[y]!;
    for (let x = 0; x < L.dW; x++) {
      const x0 = xs.i0[x]!;
      const x1 = xs.i1[x]!;
      const ax = xs.a[x]!;
      const top = src[r0 + x0]! * (1 - ax) + src[r0 + x1]! * ax;
      const bottom = src[r1 + x0]! * (1 - ax) + src[r1 + x1]! * ax;
      out[row + x] = top * (1 - ay) + bottom * ay;
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
  const { width: tw, height: th, channels, invert } = spec;
  const out = new Float32Array(tw * th * channels);
  const L = layout(img.width, img.height, tw, th, spec.fit);
  const xs = axis(L.dW, L.sx, L.sW / L.dW, img.width);
  const ys = axis(L.dH, L.sy, L.sH / L.dH, img.height);
  for (let c = 0; c < channels; c++) {
    const bg = channels === 1 ? 0.299 * spec.background[0] + 0.587 * spec.background[1] + 0.114 * spec.background[2] : spec.background[c]!;
    const plane = resample(planes[c]!, img.width, tw, th, L, xs, ys, spec.kernel, bg);
    const mean = spec.mean[c]!;
    const std = spec.std[c]!;
    // NHWC interleaves the channels; NCHW gives each its own block.
    const step = layoutName === 'NHWC' ? channels : 1;
    let at = layoutName === 'NHWC' ? c : c * tw * th;
    for (let i = 0; i < plane.length; i++, at += step) {
      let v = plane[i]! / 255;
      if (invert) v = 1 - v;
      out[at] = (v - mean) / std;
    }
  }
  return out;
}
