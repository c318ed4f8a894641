import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as arb from '../test/arbitraries.js';
import { keyPaths, leafPaths, setPath, wrongType } from '../test/json-paths.js';
import { sha256Hex } from './bytes.js';
import { decodeSampleFrame, encodeSampleFrame, sampleIdOf, verifySampleId } from './frame.js';
import { MAX_SAMPLE_FRAME_BYTES } from './limits.js';
import type { SampleEnvelope } from './schemas/sample-envelope.js';

/** Builds a frame around an arbitrary (possibly invalid) header, bypassing the encoder's checks. */
function rawFrame(header: unknown, image: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + image.length);
  out.set([0x45, 0x4c, 0x53, 1]);
  new DataView(out.buffer).setUint32(4, json.length);
  out.set(json, 8);
  out.set(image, 8 + json.length);
  return out;
}

function headerOf(e: SampleEnvelope) {
  const { bytes, ...image } = e.image;
  return { ...e, image };
}

describe('sample frames', () => {
  it('round-trip to an equal envelope', () => {
    fc.assert(
      fc.property(arb.sampleEnvelope, (e) => {
        const r = decodeSampleFrame(encodeSampleFrame(e));
        expect(r.ok && r.value).toEqual(e);
      }),
    );
  });

  it('reject a header leaf of the wrong type, naming its path', () => {
    fc.assert(
      fc.property(arb.sampleEnvelope, fc.nat(), (e, pick) => {
        const header = headerOf(e);
        const paths = leafPaths(header);
        const path = paths[pick % paths.length] as (string | number)[];
        const bad = setPath(header, path, (parent, key) => {
          parent[key] = wrongType(parent[key]);
        });
        const r = decodeSampleFrame(rawFrame(bad, e.image.bytes));
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('SCHEMA');
          const got = r.error.issues[0]?.path ?? [];
          expect(got.every((p, i) => p === path[i])).toBe(true);
        }
      }),
    );
  });

  it('reject a header without a required field', () => {
    const optional = new Set(['annotation', 'latencyMs']);
    fc.assert(
      fc.property(arb.sampleEnvelope, fc.nat(), (e, pick) => {
        const header = headerOf(e);
        const paths = keyPaths(header).filter((p) => !optional.has(String(p[p.length - 1])));
        const path = paths[pick % paths.length] as (string | number)[];
        const bad = setPath(header, path, (parent, key) => {
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
        });
        const r = decodeSampleFrame(rawFrame(bad, e.image.bytes));
        expect(r.ok, `removing ${path.join('.')} was accepted`).toBe(false);
      }),
    );
  });

  it('never throw on corrupted or truncated frames', () => {
    fc.assert(
      fc.property(
        arb.sampleEnvelope,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (e, flips, cut) => {
          const frame = encodeSampleFrame(e).slice();
          for (const [at, v] of flips) frame[at % frame.length] = v;
          for (const input of [frame, frame.subarray(0, cut % (frame.length + 1))]) {
            const r = decodeSampleFrame(input);
            if (!r.ok) expect(['BAD_FRAME', 'BAD_JSON', 'SCHEMA', 'TOO_LARGE']).toContain(r.error.code);
          }
        },
      ),
    );
  });

  it('rejects an oversized frame before looking inside', () => {
    const r = decodeSampleFrame(new Uint8Array(MAX_SAMPLE_FRAME_BYTES + 1));
    expect(!r.ok && r.error.code).toBe('TOO_LARGE');
  });

  it('decodes a frame that is a view into a larger buffer', () => {
    fc.assert(
      fc.property(arb.sampleEnvelope, fc.integer({ min: 1, max: 64 }), (e, offset) => {
        const frame = encodeSampleFrame(e);
        const big = new Uint8Array(offset + frame.length + 3);
        big.set(frame, offset);
        const r = decodeSampleFrame(big.subarray(offset, offset + frame.length));
        expect(r.ok && r.value).toEqual(e);
      }),
      { numRuns: 20 },
    );
  });
});

describe('sample identity', () => {
  it('is the sha256 of the image bytes (FIPS 180-2 test vector "abc")', async () => {
    expect(await sampleIdOf(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('verifies a correct id and rejects a forged one', async () => {
    await fc.assert(
      fc.asyncProperty(arb.sampleEnvelope, async (e) => {
        const honest = { ...e, sampleId: await sha256Hex(e.image.bytes) };
        expect((await verifySampleId(honest)).ok).toBe(true);
        const forged = { ...e, sampleId: e.sampleId === honest.sampleId ? '0'.repeat(64) : e.sampleId };
        const r = await verifySampleId(forged);
        expect(!r.ok && r.error.code).toBe('ID_MISMATCH');
      }),
      { numRuns: 30 },
    );
  });
});
