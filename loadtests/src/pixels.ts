/** Small image operations on 28×28 grayscale digits (row-major floats in [0, 255]), for the shifts. */

export const SIDE = 28;

const at = (p: Float32Array, x: number, y: number) => (x < 0 || y < 0 || x >= SIDE || y >= SIDE ? 0 : p[y * SIDE + x]!);

/** Grey-level dilation with a 3×3 cross: every stroke grows by one pixel (a broader pen). */
export function dilate(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      out[y * SIDE + x] = Math.max(at(p, x, y), at(p, x - 1, y), at(p, x + 1, y), at(p, x, y - 1), at(p, x, y + 1));
    }
  }
  return out;
}

/**
 * A horizontal shear about the centre row, sampled bilinearly: with `s` > 0 the top of the digit
 * moves right and the bottom left (an italic slant).
 */
export function shear(p: Float32Array, s: number): Float32Array {
  const out = new Float32Array(p.length);
  const mid = (SIDE - 1) / 2;
  for (let y = 0; y < SIDE; y++) {
    // Inverse mapping: the output pixel (x, y) reads the input at x + s·(y − mid).
    const offset = s * (y - mid);
    for (let x = 0; x < SIDE; x++) {
      const sx = x + offset;
      const x0 = Math.floor(sx);
      const f = sx - x0;
      out[y * SIDE + x] = (1 - f) * at(p, x0, y) + f * at(p, x0 + 1, y);
    }
  }
  return out;
}

/** A 3×3 binomial blur ([1 2 1] ⊗ [1 2 1] / 16): a slight defocus. */
export function blur3(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  const w = [1, 2, 1];
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) sum += w[dx + 1]! * w[dy + 1]! * at(p, x + dx, y + dy);
      out[y * SIDE + x] = sum / 16;
    }
  }
  return out;
}

/** Back to 8 bits: rounded and clamped to [0, 255]. */
export function clampRound(p: Float32Array): Uint8Array {
  const out = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(p[i]!)));
  return out;
}
