/**
 * Loaded before every test file (vitest.config.ts `setupFiles`).
 *
 * vitest compares typed arrays element by element through its generic iterable equality: a
 * 420 KB ONNX model takes about 2 s per `toEqual`, which made byte-checking suites spend most
 * of their time comparing. This tester compares integer byte arrays of the same class (Uint8Array,
 * Buffer, Int8Array, Uint8ClampedArray) with one memcmp. For those types equal bytes mean equal
 * elements, so `toEqual` and `toStrictEqual` keep their meaning; any other pair (other classes,
 * mixed classes, float arrays, where NaN and -0 need the generic rules) falls through to vitest.
 */
import { expect } from 'vitest';

const BYTE_ARRAYS = new Set<unknown>([Uint8Array, Buffer, Int8Array, Uint8ClampedArray]);

expect.addEqualityTesters([
  function sameBytes(a: unknown, b: unknown): boolean | undefined {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return undefined;
    if (a.constructor !== b.constructor || !BYTE_ARRAYS.has(a.constructor)) return undefined;
    if (a.byteLength !== b.byteLength) return false;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  },
]);
