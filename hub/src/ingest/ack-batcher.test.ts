import { decodeJson, encodeSampleFrame, MAX_IDS_PER_ACK, type SampleAck } from '@edgeloop/protocol';
import { describe, expect, it } from 'vitest';
import { createAckBatcher } from './ack-batcher.js';
import { salvageSampleId } from './frame-salvage.js';
import { envelopeOf, headerOf, numberedPng, rawFrame } from './test-images.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
const now = () => new Date('2026-01-02T03:04:05.000Z');

function recorder() {
  const sent: Array<{ topic: string; ack: SampleAck }> = [];
  const publish = async (topic: string, payload: Uint8Array) => {
    const decoded = decodeJson('ack', payload);
    if (!decoded.ok) throw decoded.error;
    sent.push({ topic, ack: decoded.value });
  };
  return { sent, publish };
}

describe('ack batcher', () => {
  it('names the samples of one turn in as few acks per device as the schema allows', async () => {
    const { sent, publish } = recorder();
    const acks = createAckBatcher({ publish, now });
    await Promise.all([
      ...Array.from({ length: 2500 }, (_, i) => acks.accept('dev-a', id(i + 1))),
      acks.reject('dev-a', { sampleId: id(9999), code: 'BAD_IMAGE', reason: 'x'.repeat(2000) }),
      acks.accept('dev-b', id(1)),
    ]);
    const toA = sent.filter((s) => s.topic === 'edgeloop/v1/devices/dev-a/acks');
    expect(toA).toHaveLength(3);
    expect(toA.every((s) => s.ack.accepted.length <= MAX_IDS_PER_ACK)).toBe(true);
    expect(toA.flatMap((s) => s.ack.accepted)).toHaveLength(2500);
    expect(toA.flatMap((s) => s.ack.rejected)).toEqual([{ sampleId: id(9999), code: 'BAD_IMAGE', reason: 'x'.repeat(500) }]);
    expect(sent.filter((s) => s.topic === 'edgeloop/v1/devices/dev-b/acks').map((s) => s.ack.accepted)).toEqual([[id(1)]]);
  });

  it('lets an accepted copy win over a rejected one of the same id', async () => {
    const { sent, publish } = recorder();
    const acks = createAckBatcher({ publish, now });
    await Promise.all([acks.reject('dev-a', { sampleId: id(1), code: 'BAD_IMAGE', reason: 'r' }), acks.accept('dev-a', id(1))]);
    expect(sent.map((s) => s.ack)).toEqual([{ v: 1, accepted: [id(1)], rejected: [], at: '2026-01-02T03:04:05.000Z' }]);
  });

  it('fails every caller of an ack that could not be published', async () => {
    const acks = createAckBatcher({ publish: () => Promise.reject(new Error('broker gone')), now });
    const results = await Promise.allSettled([acks.accept('dev-a', id(1)), acks.accept('dev-a', id(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('salvageSampleId', () => {
  const e = envelopeOf('dev-a', numberedPng(1), { mime: 'image/png', width: 8, height: 8 });
  it('reads the id of a frame that is broken elsewhere', () => {
    expect(salvageSampleId(encodeSampleFrame(e))).toBe(e.sampleId);
    expect(salvageSampleId(rawFrame({ ...headerOf(e), v: 2, model: 'nope' }, new Uint8Array(3)))).toBe(e.sampleId);
  });
  it('reads nothing from frames of another version, bad JSON, or ids that are not sha256', () => {
    const other = encodeSampleFrame(e).slice();
    other[3] = 2;
    expect(salvageSampleId(other)).toBeUndefined();
    expect(salvageSampleId(rawFrame(undefined, new Uint8Array(3), `{"sampleId":"${e.sampleId}"`))).toBeUndefined();
    expect(salvageSampleId(rawFrame({ sampleId: 'ABC' }, new Uint8Array(3)))).toBeUndefined();
    expect(salvageSampleId(new Uint8Array([0x45, 0x4c, 0x53, 1, 0xff, 0xff, 0xff, 0xff]))).toBeUndefined();
    expect(salvageSampleId(new Uint8Array(4))).toBeUndefined();
  });
});
