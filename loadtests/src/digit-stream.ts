/**
 * One simulated device's input: a seeded stream of digits, plain for the first `shiftAfter`
 * images and shifted after that. Two seeded rngs, one for which digit comes next and one for the
 * shift's own randomness, so changing the shift does not change which digits a device sees.
 */
import { type Digit, digitPng, type Shift, seededRng } from './shifts.js';

export interface StreamImage {
  digit: Digit;
  /** Whether the shift was applied. */
  shifted: boolean;
  png: Uint8Array;
}

export class DigitStream {
  private readonly pick: () => number;
  private readonly shiftRng: () => number;
  /** Images drawn so far. */
  drawn = 0;

  constructor(
    private readonly digits: readonly Digit[],
    private readonly shift: Shift,
    private readonly shiftAfter: number,
    seed: number,
  ) {
    this.pick = seededRng(seed);
    this.shiftRng = seededRng(seed ^ 0x5bd1e995);
  }

  /** The next image, as PNG bytes. */
  async next(): Promise<StreamImage> {
    const digit = this.digits[Math.floor(this.pick() * this.digits.length)]!;
    const shifted = this.drawn >= this.shiftAfter;
    this.drawn++;
    const pixels = shifted ? this.shift.apply(digit.pixels, this.shiftRng) : digit.pixels;
    return { digit, shifted, png: await digitPng(pixels) };
  }
}
