/**
 * Bad input at the ingest level (issue #4 acceptance): malformed envelopes, a sha mismatch, a
 * sample claiming another device, an oversized frame, and image bombs generated here. Each is
 * acked as rejected with its code (or, with no readable id, only logged and counted), nothing is
 * written, RSS stays under 512 MB, and other devices' samples are still accepted meanwhile.
 */
import { encodeSampleFrame, MAX_SAMPLE_FRAME_BYTES, type RejectCode } from '@edgeloop/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, metricValue, sampleMessage, startHarness } from './test-harness.js';
import { encoded, envelopeOf, flatPngBomb, frameOf, headerOf, lyingPng, numberedPng, rawFrame, sha256Hex } from './test-images.js';

const RSS_LIMIT = 512 * 1024 * 1024;
const png8 = { mime: 'image/png' as const, width: 8, height: 8 };

interface Case {
  name: string;
  /** The payload dev-a publishes on its own samples topic. */
  frame: () => Promise<Uint8Array>;
  code: RejectCode;
  reason: RegExp;
}

const cases: Case[] = [
  {
    name: 'a header that violates the schema',
    frame: async () => {
      const e = envelopeOf('dev-a', numberedPng(1), png8);
      return rawFrame({ ...headerOf(e), prediction: { ...e.prediction, confidence: 2 } }, e.image.bytes);
    },
    code: 'SCHEMA',
    reason: /prediction\.confidence/,
  },
  {
    name: 'an image length that differs from the header',
    frame: async () => {
      const e = envelopeOf('dev-a', numberedPng(2), png8);
      return rawFrame({ ...headerOf(e), image: { ...png8, byteLength: 10 } }, e.image.bytes);
    },
    code: 'SCHEMA',
    reason: /header says 10/,
  },
  {
    name: 'a sample id that is not the sha256 of the image',
    frame: async () => encodeSampleFrame(envelopeOf('dev-a', numberedPng(3), png8, { sampleId: sha256Hex(numberedPng(4)) })),
    code: 'ID_MISMATCH',
    reason: /is not the sha256/,
  },
  {
    name: 'a header naming another device',
    frame: async () => frameOf('dev-b', numberedPng(5), png8),
    code: 'FORBIDDEN',
    reason: /dev-b/,
  },
  {
    name: 'a frame over the size limit',
    frame: async () => {
      const e = envelopeOf('dev-a', numberedPng(6), png8);
      return rawFrame(headerOf(e), new Uint8Array(MAX_SAMPLE_FRAME_BYTES));
    },
    code: 'TOO_LARGE',
    reason: /over the .*-byte limit/,
  },
  {
    name: 'a flat 17,000² PNG (289 MB of pixels in 280 KB)',
    frame: async () => frameOf('dev-a', await flatPngBomb(17_000), { mime: 'image/png', width: 100, height: 100 }),
    code: 'IMAGE_TOO_LARGE',
    reason: /17000×17000/,
  },
  {
    name: 'a header claiming 1,000,000² pixels with a tiny body',
    frame: async () => frameOf('dev-a', lyingPng(1_000_000, 1_000_000), png8),
    code: 'IMAGE_TOO_LARGE',
    reason: /1000000×1000000/,
  },
  {
    name: 'a truncated JPEG',
    frame: async () =>
      frameOf('dev-a', (await encoded('jpeg', 200, 150)).subarray(0, 2000), { mime: 'image/jpeg', width: 200, height: 150 }),
    code: 'BAD_IMAGE',
    reason: /truncated|EOI/,
  },
  {
    name: 'a polyglot PNG + ZIP',
    frame: async () => {
      const zip = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64, 7), Buffer.from('PK\x05\x06'), Buffer.alloc(18)]);
      return frameOf('dev-a', Buffer.concat([await encoded('png'), zip]), { mime: 'image/png', width: 64, height: 48 });
    },
    code: 'BAD_IMAGE',
    reason: /polyglot/,
  },
  {
    name: 'a PNG declared as a JPEG',
    frame: async () => frameOf('dev-a', numberedPng(7), { ...png8, mime: 'image/jpeg' }),
    code: 'BAD_IMAGE',
    reason: /declared image\/jpeg/,
  },
];

describe('ingest refuses bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(cases)('$name: acked as rejected ($code), nothing written', async ({ frame, code, reason }) => {
    const payload = await frame();
    const before = h.acks.length;
    await h.ingest.handle(sampleMessage('dev-a', payload));
    const acks = h.acks.slice(before);
    expect(acks).toHaveLength(1);
    expect(acks[0]!.topic).toBe('edgeloop/v1/devices/dev-a/acks');
    expect(acks[0]!.ack.accepted).toEqual([]);
    expect(acks[0]!.ack.rejected).toEqual([
      { sampleId: expect.stringMatching(/^[0-9a-f]{64}$/), code, reason: expect.stringMatching(reason) },
    ]);
    expect(h.count('SELECT count(*) FROM samples')).toBe(0);
    expect(h.count('SELECT count(*) FROM labels')).toBe(0);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(0);
    expect(await h.storedKeys()).toEqual([]);
    expect(await metricValue(h.metrics.rejections, { labels: { code } })).toBeGreaterThan(0);
    expect(process.memoryUsage().rss).toBeLessThan(RSS_LIMIT);
  });

  it('a frame whose id cannot be read (bad JSON header): logged and counted, no ack, nothing written', async () => {
    const before = h.acks.length;
    const id = sha256Hex(numberedPng(8));
    await h.ingest.handle(sampleMessage('dev-a', rawFrame(undefined, numberedPng(8), `{"sampleId":"${id}",`)));
    expect(h.acks.length).toBe(before);
    expect(await metricValue(h.metrics.rejections, { labels: { code: 'UNREADABLE' } })).toBe(1);
    expect(h.logs.some((l) => l.deviceId === 'dev-a' && l.code === 'BAD_JSON')).toBe(true);
    expect(h.count('SELECT count(*) FROM samples')).toBe(0);
  });

  it('all of them at once, 5 times over, while another device is still served', async () => {
    const payloads = await Promise.all(cases.map((c) => c.frame()));
    const good = Array.from({ length: 20 }, (_, i) => {
      const bytes = numberedPng(1000 + i);
      return { id: sha256Hex(bytes), message: sampleMessage('dev-b', frameOf('dev-b', bytes, png8)) };
    });
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    try {
      await Promise.all([
        ...Array.from({ length: 5 }, () => payloads.map((p) => h.ingest.handle(sampleMessage('dev-a', p)))).flat(),
        ...good.map((g) => h.ingest.handle(g.message)),
      ]);
    } finally {
      clearInterval(sampler);
    }
    expect(Math.max(peakRss, process.memoryUsage().rss)).toBeLessThan(RSS_LIMIT);
    const toB = h.acks.filter((a) => a.topic.includes('/dev-b/'));
    expect(toB.flatMap((a) => a.ack.accepted).sort()).toEqual(good.map((g) => g.id).sort());
    expect(toB.flatMap((a) => a.ack.rejected)).toEqual([]);
    // Only dev-b's samples were written.
    expect(h.count("SELECT count(*) FROM samples WHERE device_id = 'dev-b'")).toBe(20);
    expect(h.count('SELECT count(*) FROM samples')).toBe(20);
    // Their images were staged with the rows; once moved, the store holds exactly those 20.
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(20);
    expect(await h.spiller.flush()).toBe(20);
    expect(await h.storedKeys()).toHaveLength(20);
  });
});
