/**
 * Input-distribution shifts for the fleet simulator and `bench:loop`: what the world does to a
 * deployed digit classifier. Each shift is a deterministic function of a 28×28 digit and a seeded
 * rng, so a run replays exactly. They are tuned to hurt a CNN trained on plain MNIST noticeably while
 * leaving every digit readable to a person (and learnable again by a retrained model); see
 * `test/shifts.test.ts` and the README for the measured numbers.
 */
import { loadMnist, type Split, splitOf } from '@edgeloop/models/data';
import { mulberry32 } from '@edgeloop/protocol';
import sharp from 'sharp';
import { LoadtestsError } from './errors.js';
import { blur3, clampRound, dilate, SIDE, shear } from './pixels.js';

/** A 28×28 grayscale digit, white on black, 8 bits, row-major (as models' loadMnist gives `gray`). */
export interface Digit {
  id: string;
  label: string;
  pixels: Uint8Array;
}

/** A pluggable input-distribution shift: a deterministic function of the digit and a seeded rng. */
export interface Shift {
  name: string;
  description: string;
  apply(pixels: Uint8Array, rng: () => number): Uint8Array;
}

/** A uniform draw in [lo, hi). */
const between = (rng: () => number, lo: number, hi: number) => lo + (hi - lo) * rng();

/** A standard normal draw (Box–Muller), from two uniforms of `rng`. */
function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

const none: Shift = {
  name: 'none',
  description: 'No shift: the digits as bundled.',
  apply: (pixels) => Uint8Array.from(pixels),
};

/**
 * A style change, like a different pen and a different hand: strokes dilated by one pixel (a felt
 * tip instead of a ball point) and an italic slant (a horizontal shear of 0.45-0.75, leaning right).
 *
 * `strength` (default 1, the shipped shift) scales the slant and blends the dilation in: at 0.5 the
 * shear is 0.225-0.375 and the strokes grow by half a pixel's worth of ink. Only `bench:loop` uses a
 * strength other than 1, and names it in its results.
 */
export function thickSlantShift(strength = 1): Shift {
  if (!(strength > 0 && strength <= 1)) throw new LoadtestsError('BAD_ARGUMENT', `thick-slant strength must be in (0, 1], not ${strength}`);
  return {
    name: 'thick-slant',
    description:
      strength === 1
        ? 'Style change: strokes thickened by one pixel (a broader pen) and slanted right by a shear of 0.45-0.75 (another hand).'
        : `Style change at strength ${strength}: strokes thickened by ${strength} of a pixel's dilation and slanted right by a shear of ${(0.45 * strength).toFixed(3)}-${(0.75 * strength).toFixed(3)}.`,
    apply(pixels, rng) {
      const slant = strength * between(rng, 0.45, 0.75);
      const plain = Float32Array.from(pixels);
      const thick = dilate(plain);
      if (strength !== 1) for (let i = 0; i < thick.length; i++) thick[i] = plain[i]! + strength * (thick[i]! - plain[i]!);
      return clampRound(shear(thick, slant));
    },
  };
}

const thickSlant: Shift = thickSlantShift();

/**
 * A sensor or lighting change: the background lifted and the contrast compressed (a grey, dim
 * scene), a slight defocus blur, and gaussian sensor noise.
 */
const lowContrastNoise: Shift = {
  name: 'low-contrast-noise',
  description: 'Sensor/lighting change: contrast compressed onto a grey background, a 3×3 defocus blur and gaussian noise (σ = 15).',
  apply(pixels, rng) {
    const background = between(rng, 45, 70);
    const gain = between(rng, 0.45, 0.6);
    const blurred = blur3(Float32Array.from(pixels));
    const out = new Float32Array(blurred.length);
    for (let i = 0; i < out.length; i++) out[i] = background + gain * blurred[i]! + 15 * gaussian(rng);
    return clampRound(out);
  },
};

/** The shifts that ship, by name. */
export const SHIFTS: Record<string, Shift> = {
  none,
  'thick-slant': thickSlant,
  'low-contrast-noise': lowContrastNoise,
};

/**
 * The shift called `name`; throws `UNKNOWN_SHIFT` naming the known ones. `strength` (default 1: the
 * shift as shipped, the very object in `SHIFTS`) is supported by `thick-slant` only.
 */
export function shiftByName(name: string, strength = 1): Shift {
  const shift = Object.hasOwn(SHIFTS, name) ? SHIFTS[name] : undefined;
  if (!shift) throw new LoadtestsError('UNKNOWN_SHIFT', `unknown shift "${name}"; known shifts: ${Object.keys(SHIFTS).join(', ')}`);
  if (strength === 1) return shift;
  if (name === 'thick-slant') return thickSlantShift(strength);
  throw new LoadtestsError('BAD_ARGUMENT', `shift "${name}" has no strength option (only thick-slant does)`);
}

/** A seeded uniform rng in [0, 1): the protocol's mulberry32, the same in every runtime. */
export function seededRng(seed: number): () => number {
  return mulberry32(seed);
}

let cached: Digit[] | undefined;

/**
 * The bundled MNIST digits (models' loadMnist) as Digits, in loadMnist's deterministic order (by
 * class, then by index). With `split`, only the digits of that split (models' id-hash split, the one
 * every training run uses), so an evaluation set can be kept out of training.
 */
export function mnistDigits(split?: Split): Digit[] {
  cached ??= loadMnist().items.map((item) => ({ id: item.id, label: item.label, pixels: item.gray!.data }));
  return split ? cached.filter((d) => splitOf(d.id) === split) : [...cached];
}

/** PNG bytes of a 28×28 digit (sharp, grayscale, deterministic). */
export async function digitPng(pixels: Uint8Array): Promise<Uint8Array> {
  if (pixels.length !== SIDE * SIDE) throw new LoadtestsError('BAD_ARGUMENT', `a digit has ${SIDE * SIDE} pixels, not ${pixels.length}`);
  const png = await sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
  return new Uint8Array(png);
}
