import { Duplex, PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { guardPackets, PacketBoundaryScanner } from './packet-guard.js';
import { raw } from './test-mqtt.js';

const publish = (topic: string, size: number) => raw.publish(topic, Buffer.alloc(size, 7), 1);
const PINGREQ = Buffer.from([0xc0, 0x00]);

/** Splits `bytes` at the given cut points. */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  return out;
}

describe('PacketBoundaryScanner', () => {
  it('follows packet boundaries however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (sizes, cuts) => {
          const stream = Buffer.concat([...sizes.map((s) => publish('a/b', s)), PINGREQ]);
          const scanner = new PacketBoundaryScanner(20_100);
          for (const chunk of chunks(stream, cuts)) expect(scanner.feed(chunk)).toBeUndefined();
          // A following oversized header is still found, so the boundaries were right.
          expect(scanner.feed(publish('a/b', 30_000).subarray(0, 5))).toBe('packet_too_large');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stops at the header of an oversized packet, before its body', () => {
    const scanner = new PacketBoundaryScanner(1000);
    expect(scanner.feed(Buffer.from([0x32]))).toBeUndefined();
    // Remaining length 268,435,455 (the MQTT maximum), declared in four bytes.
    expect(scanner.feed(Buffer.from([0xff, 0xff]))).toBe('packet_too_large');
  });

  it('refuses a remaining length of more than four bytes', () => {
    const scanner = new PacketBoundaryScanner(Number.MAX_SAFE_INTEGER);
    expect(scanner.feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toBe('malformed_length');
  });
});

describe('guardPackets', () => {
  function pair() {
    const incoming = new PassThrough();
    const written: Buffer[] = [];
    const inner = new Duplex({
      read() {},
      write(chunk, _e, cb) {
        written.push(chunk);
        cb();
      },
    });
    incoming.on('data', (c) => inner.push(c));
    return { incoming, inner, written };
  }

  it('passes packets within the cap through both ways', async () => {
    const { incoming, inner, written } = pair();
    const violations: string[] = [];
    const outer = guardPackets(inner, 2000, (v) => violations.push(v));
    const read: Buffer[] = [];
    outer.on('data', (c) => read.push(c));
    incoming.write(publish('a', 1000));
    outer.write(Buffer.from('ack'));
    await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(read)).toEqual(publish('a', 1000));
    expect(Buffer.concat(written).toString()).toBe('ack');
    expect(violations).toEqual([]);
  });

  it('sends what was written while corked as one write to the connection, in order', async () => {
    const { inner, written } = pair();
    const outer = guardPackets(inner, 2000, () => {});
    const pieces = [Buffer.from([0x30, 0x05]), Buffer.from([0x00, 0x01, 0x61]), Buffer.from('xy'), Buffer.from([0x40, 0x02, 0x00, 0x01])];
    outer.cork();
    for (const p of pieces) outer.write(p);
    process.nextTick(() => outer.uncork());
    await new Promise((r) => setTimeout(r, 10));
    expect(written).toHaveLength(1);
    expect(written[0]).toEqual(Buffer.concat(pieces));
    outer.write(Buffer.from('z'));
    await new Promise((r) => setTimeout(r, 10));
    expect(written.map((w) => w.toString('latin1')).at(-1)).toBe('z');
  });

  it('destroys the connection at an oversized header and reports it once', async () => {
    const { incoming, inner } = pair();
    const violations: string[] = [];
    const outer = guardPackets(inner, 2000, (v) => violations.push(v));
    const read: Buffer[] = [];
    outer.on('data', (c) => read.push(c));
    const big = publish('a', 5000);
    incoming.write(big.subarray(0, 100));
    incoming.write(big.subarray(100));
    await new Promise((r) => setTimeout(r, 10));
    expect(violations).toEqual(['packet_too_large']);
    expect(read).toEqual([]);
    expect(outer.destroyed).toBe(true);
    expect(inner.destroyed).toBe(true);
  });
});
