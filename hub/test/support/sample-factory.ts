/**
 * Unique, valid, small sample frames for tests and benchmarks: a seeded RGB PNG of about 1 KB
 * (random pixels do not compress), framed with a valid header.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { encodeSampleFrame, mulberry32 } from '@edgeloop/protocol';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A `side`×`side` RGB PNG with pixels drawn from `seed`. */
export function seededPng(seed: number, side = 16): Uint8Array {
  const rng = mulberry32(seed);
  const raw = Buffer.alloc(side * (1 + side * 3));
  for (let y = 0; y < side; y++) {
    const row = y * (1 + side * 3);
    for (let i = 1; i <= side * 3; i++) raw[row + i] = Math.floor(rng() * 256);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
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
