/**
 * Makes a drawing look like an MNIST digit, the way the dataset was made (LeCun et al.): crop to
 * the ink's bounding box, scale its longer side to 20 px keeping the aspect ratio (area
 * averaging, so thin strokes keep their weight), and paste it into a black 28×28 field so that its
 * centre of mass sits at the field's centre. Pure TypeScript over grey levels, so it is exact and
 * testable in Node; the canvas only supplies the pixels and encodes the PNG.
 */

export const FIELD = 28;
export const BOX = 20;
/** Grey levels at or below this count as background (anti-aliasing fringes, sensor noise). */
const INK_THRESHOLD = 8;

/** A grey image, one byte per pixel, row-major. */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** ITU-R BT.601 luma of RGBA pixels (alpha ignored: the pad is opaque black). */
export function rgbaToGrey(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): GreyImage {
  const data = new Uint8ClampedArray(width * height);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.round(0.299 * (rgba[i * 4] ?? 0) + 0.587 * (rgba[i * 4 + 1] ?? 0) + 0.114 * (rgba[i * 4 + 2] ?? 0));
  }
  return { width, height, data };
}

/** The ink's bounding box, or undefined for a blank pad. */
export function inkBounds(img: GreyImage): { x: number; y: number; w: number; h: number } | undefined {
  let x0 = img.width;
  let y0 = img.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if ((img.data[y * img.width + x] ?? 0) <= INK_THRESHOLD) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? undefined : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** Area-average resampling of one axis: each output cell averages the input it covers. */
function resampleAxis(src: Float64Array, n: number, stride: number, lines: number, lineStride: number, m: number): Float64Array {
  const out = new Float64Array(m * lines);
  const scale = n / m;
  for (let l = 0; l < lines; l++) {
    for (let j = 0; j < m; j++) {
      const a = j * scale;
      const b = a + scale;
      let sum = 0;
      for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        sum += (src[l * lineStride + i * stride] ?? 0) * cover;
      }
      out[l * m + j] = sum / scale;
    }
  }
  return out;
}

/** Scales a w×h float image to tw×th by area averaging (rows first, then columns). */
function resample(src: Float64Array, w: number, h: number, tw: number, th: number): Float64Array {
  const rows = resampleAxis(src, w, 1, h, w, tw); // h lines of tw
  const cols = resampleAxis(rows, h, tw, tw, 1, th); // tw lines (columns) of th
  const out = new Float64Array(tw * th);
  for (let x = 0; x < tw; x++) for (let y = 0; y < th; y++) out[y * tw + x] = cols[x * th + y] ?? 0;
  return out;
}

/**
 * The MNIST-style 28×28 grey field for a drawing (white ink on black), or undefined when the pad
 * is blank.
 */
export function mnistNormalise(img: GreyImage): GreyImage | undefined {
  const box = inkBounds(img);
  if (!box) return undefined;
  const crop = new Float64Array(box.w * box.h);
  for (let y = 0; y < box.h; y++) {
    for (let x = 0; x < box.w; x++) crop[y * box.w + x] = img.data[(box.y + y) * img.width + box.x + x] ?? 0;
  }
  const scale = BOX / Math.max(box.w, box.h);
  const tw = Math.max(1, Math.min(BOX, Math.round(box.w * scale)));
  const th = Math.max(1, Math.min(BOX, Math.round(box.h * scale)));
  const small = resample(crop, box.w, box.h, tw, th);
  // Centre of mass, in pixel-centre coordinates (pixel i spans [i, i+1)).
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = small[y * tw + x] ?? 0;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
  const dx = clamp(Math.round(FIELD / 2 - mx / mass), FIELD - tw);
  const dy = clamp(Math.round(FIELD / 2 - my / mass), FIELD - th);
  const data = new Uint8ClampedArray(FIELD * FIELD);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) data[(dy + y) * FIELD + dx + x] = Math.round(small[y * tw + x] ?? 0);
  }
  return { width: FIELD, height: FIELD, data };
}

/** Grey to opaque RGBA, for `ImageData` and PNG encoding. */
export function greyToRgba(img: GreyImage): Uint8ClampedArray {
  const out = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i] ?? 0;
    out.set([v, v, v, 255], i * 4);
  }
  return out;
}
