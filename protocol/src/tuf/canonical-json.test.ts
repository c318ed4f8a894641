import { canonicalize } from '@tufjs/canonical-json';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import vectors from '../../vectors/tuf-canonical.json' with { type: 'json' };
import { utf8Decoder, utf8Encoder } from '../bytes.js';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it.each(vectors.vectors.map((v) => [v.name, v] as const))('golden: %s', (_, v) => {
    expect(utf8Decoder.decode(canonicalJson(v.value))).toBe(v.canonical);
    // The vectors are what @tufjs/models signs with (its canonicalize), checked live too.
    expect(canonicalize(v.value)).toBe(v.canonical);
  });

  it('agrees with @tufjs/canonical-json byte for byte on arbitrary JSON without floats', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.string({ unit: 'binary' }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        expect(canonicalJson(v)).toEqual(utf8Encoder.encode(canonicalize(v)));
      }),
    );
  });

  it('refuses what canonical JSON cannot hold', () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, undefined, { a: undefined }, [() => 1], 1n])
      expect(() => canonicalJson(bad)).toThrow(TypeError);
  });
});
