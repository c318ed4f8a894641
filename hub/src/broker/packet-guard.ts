/**
 * A size cap for MQTT packets in front of aedes. aedes' parser (mqtt-packet) has no size limit: it
 * buffers a packet until its declared Remaining Length (up to 256 MiB, MQTT 3.1.1 §2.2.3) has
 * arrived. The guard reads only the fixed headers as bytes pass by and closes the connection as
 * soon as a header declares more than the cap, so the hub never buffers an oversized packet.
 */
import { Duplex } from 'node:stream';

/** Why a connection was cut. */
export type GuardViolation = 'packet_too_large' | 'malformed_length';

/**
 * Follows MQTT packet boundaries in a byte stream: the first byte of the fixed header, then the
 * Remaining Length as a variable byte integer of at most 4 bytes (§2.2.3), then that many bytes.
 */
export class PacketBoundaryScanner {
  /** Body bytes of the current packet still to pass. */
  private remaining = 0;
  /** -1: expecting a packet's first byte; 0..3: reading the Remaining Length, byte index. */
  private lengthByte = -1;
  private length = 0;
  private multiplier = 1;
  private inBody = false;

  constructor(private readonly maxRemainingLength: number) {}

  /** Scans a chunk; returns a violation as soon as one header is bad. */
  feed(chunk: Uint8Array): GuardViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.inBody) {
        const take = Math.min(this.remaining, chunk.length - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.inBody = false;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.lengthByte === -1) {
        this.lengthByte = 0;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (this.length > this.maxRemainingLength) return 'packet_too_large';
      if (byte & 0x80) {
        // §2.2.3: at most four length bytes.
        if (++this.lengthByte > 3) return 'malformed_length';
        continue;
      }
      this.lengthByte = -1;
      this.remaining = this.length;
      this.inBody = this.remaining > 0;
    }
    return undefined;
  }
}

/**
 * Wraps a connection so that what aedes reads has passed the scanner. Writes go straight through
 * (what piled up while corked as one write), with the inner stream's back-pressure. On a violation
 * both sides are destroyed and `onViolation` is called once.
 */
export function guardPackets(inner: Duplex, maxRemainingLength: number, onViolation: (violation: GuardViolation) => void): Duplex {
  const scanner = new PacketBoundaryScanner(maxRemainingLength);
  const outer = new Duplex({
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      inner.write(chunk, callback);
    },
    // mqtt-packet corks the stream and writes a packet in pieces (fixed header, topic, payload),
    // and aedes often answers several packets in one turn: what piled up goes out as one write
    // (one syscall), as it would on the bare socket, instead of one write per piece.
    writev(chunks, callback) {
      inner.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback);
    },
    final(callback) {
      inner.end(callback);
    },
    destroy(error, callback) {
      inner.destroy(error ?? undefined);
      callback(error);
    },
  });
  inner.on('data', (chunk: Buffer) => {
    if (outer.destroyed) return;
    const violation = scanner.feed(chunk);
    if (violation) {
      onViolation(violation);
      outer.destroy();
      return;
    }
    if (!outer.push(chunk)) inner.pause();
  });
  inner.on('end', () => outer.push(null));
  inner.on('error', (error) => outer.destroy(error));
  inner.on('close', () => outer.destroy());
  return outer;
}
