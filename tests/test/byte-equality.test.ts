/** The byte-array equality tester of tests/support/vitest-setup.ts keeps toEqual's meaning. */
import { describe, expect, it } from 'vitest';

describe('byte arrays in toEqual (memcmp tester)', () => {
  const bytes = Uint8Array.from({ length: 500_000 }, (_, i) => (i * 31) & 0xff);

  it('equal bytes are equal, a single flipped bit is not', () => {
    expect(bytes).toEqual(Uint8Array.from(bytes));
    const flipped = Uint8Array.from(bytes);
    flipped[321_123]! ^= 4;
    expect(bytes).not.toEqual(flipped);
    expect(bytes).not.toEqual(bytes.subarray(1));
  });

  it('compares views by their own bytes, not their whole buffers', () => {
    const backing = new Uint8Array(16).fill(7);
    backing.set([1, 2, 3], 5);
    expect(backing.subarray(5, 8)).toEqual(Uint8Array.of(1, 2, 3));
    expect(Buffer.from(backing.buffer, 5, 3)).toEqual(Buffer.from([1, 2, 3]));
    expect(backing.subarray(4, 7)).not.toEqual(Uint8Array.of(1, 2, 3));
  });

  it('leaves mixed classes and float arrays to vitest', () => {
    // vitest tells a Buffer from a Uint8Array with the same bytes; the tester does not change that.
    expect(Buffer.from([1, 2])).not.toEqual(Uint8Array.of(1, 2));
    expect(Float32Array.of(Number.NaN, 0)).toEqual(Float32Array.of(Number.NaN, 0));
    expect(Float32Array.of(0)).not.toEqual(Float32Array.of(-0));
  });

  it('inside objects too', () => {
    expect({ root: bytes, n: 1 }).toEqual({ root: Uint8Array.from(bytes), n: 1 });
    expect({ root: bytes }).not.toEqual({ root: bytes.subarray(0, 10) });
  });
});
