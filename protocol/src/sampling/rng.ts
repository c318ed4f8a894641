/** A source of uniform numbers in [0, 1). Strategies take one so tests and replays are exact. */
export type Rng = () => number;

/**
 * mulberry32: a tiny, fast 32-bit PRNG, good enough for sampling decisions and identical in every
 * JS runtime (the golden vectors pin its first outputs). Not for cryptography.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The runtime's own RNG, for production use. */
export const mathRandom: Rng = () => Math.random();
