/**
 * Unique, valid, small sample frames for tests and benchmarks: a seeded RGB PNG of about 1 KB
 * (random pixels do not compress), framed with a valid header.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { encodeSampleFrame, mulberry32 } from '@edgeloop/protocol';
import { PNG_SIGNATURE, pngChunk, pngIhdr } from '@edgeloop/tests/support/png';

/** A `side`×`side` RGB PNG with pixels drawn from `seed`. */
export function seededPng(seed: number, side = 16): Uint8Array {
  const rng = mulberry32(seed);
  const raw = Buffer.alloc(side * (1 + side * 3));
  for (let y = 0; y < side; y++) {
    const row = y * (1 + side * 3);
    for (let i = 1; i <= side * 3; i++) raw[row + i] = Math.floor(rng() * 256);
  }
  return Buffer.concat([PNG_SIGNATURE, pngIhdr(side, side, { colour: 2 }), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND')]);
}

export interface TestSample {
  sampleId: string;
  frame: Uint8Array;
}

/** A framed sample from `deviceId` whose image is `seededPng(seed)`. */
export function makeSample(deviceId: string, seed: number, side = 16): TestSample {
  const bytes = seededPng(seed, side);
  const sampleId = createHash('sha256').update(bytes).digest('hex');
  const frame = encodeSampleFrame({
    v: 1,
    sampleId,
    deviceId,
    model: { name: 'digits', version: 1 },
    capturedAt: new Date(1_700_000_000_000 + seed).toISOString(),
    image: { mime: 'image/png', width: side, height: side, byteLength: bytes.byteLength, bytes },
    prediction: { label: 'a', confidence: 0.55, probabilities: [0.55, 0.45] },
    sampling: { strategy: 'least_confidence', score: 0.45, inclusionProbability: 1, audit: false, reason: 'uncertain' },
  });
  return { sampleId, frame };
}
