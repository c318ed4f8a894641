/**
 * Float64 reference implementation of a 2-D convolution (NHWC, TF padding
 * semantics) plus central finite-difference gradients of the scalar loss
 * L(x, w) = sum(conv2d(x, w) * r). Plain JS, no TensorFlow.js involved, so it
 * is an independent oracle for gradient kernels.
 */

export type PadMode = 'same' | 'valid';

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  fh: number;
  fw: number;
  outC: number;
  strideH: number;
  strideW: number;
  pad: PadMode;
}

export interface ConvDims {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

/** Output size and top/left padding exactly as TensorFlow defines them. */
export function convDims(g: ConvGeometry): ConvDims {
  if (g.pad === 'valid') {
    return {
      outH: Math.ceil((g.inH - g.fh + 1) / g.strideH),
      outW: Math.ceil((g.inW - g.fw + 1) / g.strideW),
      padTop: 0,
      padLeft: 0,
    };
  }
  const outH = Math.ceil(g.inH / g.strideH);
  const outW = Math.ceil(g.inW / g.strideW);
  const padH = Math.max(0, (outH - 1) * g.strideH + g.fh - g.inH);
  const padW = Math.max(0, (outW - 1) * g.strideW + g.fw - g.inW);
  return { outH, outW, padTop: Math.floor(padH / 2), padLeft: Math.floor(padW / 2) };
}

/**
 * Calls visit(yo, xo, wo) once for every output position, in-bounds filter tap and input channel of
 * the convolution: there, x[xo] meets w[wo + o] to add to y[yo + o] for every output channel o.
 */
function forEachTap(g: ConvGeometry, visit: (yo: number, xo: number, wo: number) => void): void {
  const { outH, outW, padTop, padLeft } = convDims(g);
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const yo = ((b * outH + oy) * outW + ox) * g.outC;
        for (let i = 0; i < g.fh; i++) {
          const iy = oy * g.strideH + i - padTop;
          if (iy < 0 || iy >= g.inH) continue;
          for (let j = 0; j < g.fw; j++) {
            const ix = ox * g.strideW + j - padLeft;
            if (ix < 0 || ix >= g.inW) continue;
            const xo = ((b * g.inH + iy) * g.inW + ix) * g.inC;
            for (let c = 0; c < g.inC; c++) visit(yo, xo + c, ((i * g.fw + j) * g.inC + c) * g.outC);
          }
        }
      }
    }
  }
}

/** y[b,oy,ox,o] = sum_{i,j,c} x[b, oy*s+i-padTop, ox*s+j-padLeft, c] * w[i,j,c,o]. */
export function conv2dF64(x: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const { outH, outW } = convDims(g);
  const y = new Float64Array(g.batch * outH * outW * g.outC);
  forEachTap(g, (yo, xo, wo) => {
    const xv = x[xo]!;
    for (let o = 0; o < g.outC; o++) y[yo + o]! += xv * w[wo + o]!;
  });
  return y;
}

/**
 * The exact gradients of L = sum(conv2d(x, w) * dy) in float64, by the chain rule (each output
 * spreads dy back over the inputs and taps that made it): dx and dw. For shapes too big for finite
 * differences; the tests check it against finite differences on small ones.
 */
export function conv2dBackpropF64(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
  g: ConvGeometry,
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(g.batch * g.inH * g.inW * g.inC);
  const dw = new Float64Array(g.fh * g.fw * g.inC * g.outC);
  forEachTap(g, (yo, xo, wo) => {
    const xv = x[xo]!;
    let sx = 0;
    for (let o = 0; o < g.outC; o++) {
      sx += dy[yo + o]! * w[wo + o]!;
      dw[wo + o]! += dy[yo + o]! * xv;
    }
    dx[xo]! += sx;
  });
  return { dx, dw };
}

function lossF64(x: ArrayLike<number>, w: ArrayLike<number>, r: ArrayLike<number>, g: ConvGeometry): number {
  const y = conv2dF64(x, w, g);
  let s = 0;
  for (let k = 0; k < y.length; k++) s += y[k]! * r[k]!;
  return s;
}

/** Central finite differences of L w.r.t. every filter entry (float64). */
export function fdGradFilter(x: Float64Array, w: Float64Array, r: Float64Array, g: ConvGeometry, h = 1e-3): Float64Array {
  return Float64Array.from(fdGrad((wp) => lossF64(x, wp, r, g), w, undefined, h).values());
}

/**
 * Central finite differences of L w.r.t. the input entries listed in
 * `indices` (all entries when omitted). Returns a map index -> derivative.
 */
export function fdGradInput(
  x: Float64Array,
  w: Float64Array,
  r: Float64Array,
  g: ConvGeometry,
  indices?: number[],
  h = 1e-3,
): Map<number, number> {
  return fdGrad((xp) => lossF64(xp, w, r, g), x, indices, h);
}

/** Deterministic PRNG: the protocol's mulberry32. */
export { mulberry32 as rng } from '@edgeloop/protocol';

/** n uniform values in [-1, 1), rounded to float32 so both sides see identical inputs. */
export function randF32(n: number, next: () => number): Float64Array {
  const a = new Float64Array(n);
  for (let k = 0; k < n; k++) a[k] = Math.fround(next() * 2 - 1);
  return a;
}

/** max |a - b| / max(1, max |b|) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 1;
  for (let k = 0; k < b.length; k++) {
    num = Math.max(num, Math.abs(a[k]! - b[k]!));
    den = Math.max(den, Math.abs(b[k]!));
  }
  return num / den;
}

export interface PoolGeometry {
  batch: number;
  inH: number;
  inW: number;
  channels: number;
  poolH: number;
  poolW: number;
  strideH: number;
  strideW: number;
  pad: PadMode;
}

/** Output size and top/left padding of a pooling op, TF definition. */
export function poolDims(g: PoolGeometry): ConvDims {
  return convDims({
    batch: g.batch,
    inH: g.inH,
    inW: g.inW,
    inC: g.channels,
    fh: g.poolH,
    fw: g.poolW,
    outC: g.channels,
    strideH: g.strideH,
    strideW: g.strideW,
    pad: g.pad,
  });
}

/** Float64 max / average pooling (padding never takes part; avg divides by the in-bounds count, as TF does). */
export function pool2dF64(x: ArrayLike<number>, g: PoolGeometry, kind: 'max' | 'avg'): Float64Array {
  const { outH, outW, padTop, padLeft } = poolDims(g);
  const C = g.channels;
  const y = new Float64Array(g.batch * outH * outW * C);
  for (let b = 0; b < g.batch; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++)
        for (let c = 0; c < C; c++) {
          let m = -Infinity;
          let s = 0;
          let n = 0;
          for (let i = 0; i < g.poolH; i++) {
            const iy = oy * g.strideH + i - padTop;
            if (iy < 0 || iy >= g.inH) continue;
            for (let j = 0; j < g.poolW; j++) {
              const ix = ox * g.strideW + j - padLeft;
              if (ix < 0 || ix >= g.inW) continue;
              const v = x[((b * g.inH + iy) * g.inW + ix) * C + c]!;
              m = Math.max(m, v);
              s += v;
              n++;
            }
          }
          y[((b * outH + oy) * outW + ox) * C + c] = kind === 'max' ? m : s / n;
        }
  return y;
}

/**
 * Central finite differences of the scalar `loss` w.r.t. the entries of `x`
 * listed in `indices` (all when omitted), in float64.
 */
export function fdGrad(loss: (x: Float64Array) => number, x: Float64Array, indices?: number[], h = 1e-3): Map<number, number> {
  const out = new Map<number, number>();
  const xp = Float64Array.from(x);
  for (const k of indices ?? Array.from({ length: x.length }, (_, i) => i)) {
    xp[k]! = x[k]! + h;
    const lp = loss(xp);
    xp[k]! = x[k]! - h;
    const lm = loss(xp);
    xp[k]! = x[k]!;
    out.set(k, (lp - lm) / (2 * h));
  }
  return out;
}

/** sum(y * r) in float64. */
export function dot(y: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < y.length; k++) s += y[k]! * r[k]!;
  return s;
}

/**
 * n distinct float32 values in [-1, 1) (a shuffled grid with spacing 2/n):
 * max pooling has no near-ties, so its finite differences are exact for
 * h < 1/n.
 */
export function distinctF32(n: number, next: () => number): Float64Array {
  const a = new Float64Array(n);
  for (let k = 0; k < n; k++) a[k] = Math.fround(-1 + (2 * k) / n);
  for (let k = n - 1; k > 0; k--) {
    const j = Math.floor(next() * (k + 1));
    const t = a[k]!;
    a[k]! = a[j]!;
    a[j]! = t;
  }
  return a;
}

/**
 * Float64 depthwise conv: y[b,oy,ox,c*mult+q] = sum_{i,j} x[b, oy*s+i-padTop, ox*s+j-padLeft, c] * w[i,j,c,q],
 * with g.outC = g.inC * mult and w of shape [fh, fw, inC, mult].
 */
export function depthwiseConv2dF64(x: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const { outH, outW, padTop, padLeft } = convDims(g);
  const mult = g.outC / g.inC;
  const y = new Float64Array(g.batch * outH * outW * g.outC);
  for (let b = 0; b < g.batch; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++)
        for (let i = 0; i < g.fh; i++) {
          const iy = oy * g.strideH + i - padTop;
          if (iy < 0 || iy >= g.inH) continue;
          for (let j = 0; j < g.fw; j++) {
            const ix = ox * g.strideW + j - padLeft;
            if (ix < 0 || ix >= g.inW) continue;
            for (let c = 0; c < g.inC; c++)
              for (let q = 0; q < mult; q++)
                y[((b * outH + oy) * outW + ox) * g.outC + c * mult + q]! +=
                  x[((b * g.inH + iy) * g.inW + ix) * g.inC + c]! * w[((i * g.fw + j) * g.inC + c) * mult + q]!;
          }
        }
  return y;
}
