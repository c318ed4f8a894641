/**
 * JPEG structure (ITU-T T.81 Annex B): the marker segments from SOI to EOI, with the one frame
 * header (SOFn) read for dimensions and components. Entropy-coded data after each SOS is skipped by
 * looking for the next marker: bounded by the bytes present, never by what a header claims.
 */
import { type Found, HeaderError, u16be } from './header-bytes.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const DNL = 0xdc;
const COM = 0xfe;

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range (T.81 Table B.1). */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
/** Markers without a length: TEM and RST0..7 (B.1.1.3). */
const isStandalone = (m: number) => m === 0x01 || (m >= 0xd0 && m <= 0xd7);

/** Walks the segments; returns the offset just past EOI. */
export function readJpeg(b: Uint8Array, found: Found): number {
  if (b[0] !== 0xff || b[1] !== SOI) throw new HeaderError('jpeg does not start with SOI');
  let offset = 2;
  let frames = 0;
  let scans = 0;
  for (;;) {
    if (b[offset] !== 0xff) throw new HeaderError(`jpeg has no marker at offset ${offset}`);
    // B.1.1.2: any number of 0xFF fill bytes may precede a marker.
    while (b[offset] === 0xff) offset++;
    if (offset >= b.length) throw new HeaderError('jpeg ends before EOI (truncated)');
    const marker = b[offset]!;
    const at = offset + 1;
    if (marker === EOI) {
      if (frames === 0 || scans === 0) throw new HeaderError('jpeg has no frame or no scan before EOI');
      return at;
    }
    if (marker === 0x00 || marker === SOI) throw new HeaderError(`jpeg has a stray marker 0xff${marker.toString(16)}`);
    if (isStandalone(marker)) {
      offset = at;
      continue;
    }
    if (at + 2 > b.length) throw new HeaderError('jpeg segment length runs past the end (truncated)');
    const length = u16be(b, at);
    const next = at + length;
    if (length < 2 || next > b.length) throw new HeaderError(`jpeg segment 0xff${marker.toString(16)} runs past the end (truncated)`);
    if (isSof(marker)) {
      // B.2.2: Lf, P, Y, X, Nf, then 3 bytes per component. Several frames = hierarchical mode,
      // which the decoders we use do not support; refuse rather than guess which one counts.
      if (++frames > 1) throw new HeaderError('jpeg has more than one frame header');
      if (length < 8) throw new HeaderError('jpeg frame header is short');
      const height = u16be(b, at + 3);
      const width = u16be(b, at + 5);
      const channels = b[at + 7]!;
      if (channels === 0 || length < 8 + 3 * channels) throw new HeaderError('jpeg frame header has a bad component count');
      // Y = 0 defers the height to a DNL marker after the first scan: refused (rare and abusable).
      if (width === 0 || height === 0) throw new HeaderError(`jpeg frame header has a zero dimension ${width}×${height}`);
      found.dims = { width, height, channels };
    } else if (marker === SOS) {
      if (frames === 0) throw new HeaderError('jpeg scan before the frame header');
      scans++;
      offset = skipEntropyData(b, next);
      continue;
    } else if (marker === DNL) {
      throw new HeaderError('jpeg DNL marker is not accepted');
    } else if ((marker >= 0xe0 && marker <= 0xef) || marker === COM) {
      found.metadataBytes += length;
    }
    offset = next;
  }
}

/**
 * B.1.1.5: inside entropy-coded data a 0xFF byte is followed by 0x00 (stuffing) or RSTn; any other
 * marker ends the scan. Returns the offset of that marker's first 0xFF.
 */
function skipEntropyData(b: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    i = b.indexOf(0xff, i);
    if (i < 0 || i + 1 >= b.length) throw new HeaderError('jpeg scan data ends before EOI (truncated)');
    const next = b[i + 1]!;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) i += 2;
    else if (next === 0xff) i += 1;
    else return i;
  }
}
