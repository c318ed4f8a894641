/**
 * When a sample frame fails to decode, the device still needs an answer, or it would resend the
 * sample forever: this reads just the `sampleId` from a frame that is broken in some other way
 * (oversized, bad schema, wrong image length), so the hub can ack it as rejected. A frame whose id
 * cannot be read cannot be acked at all.
 */
import { FRAME_MAGIC, FRAME_VERSION, MAX_SAMPLE_HEADER_BYTES, SampleIdSchema } from '@edgeloop/protocol';

const PREAMBLE = 8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The well-formed `sampleId` of a version-1 frame's JSON header, or `undefined`. Never throws. */
export function salvageSampleId(frame: Uint8Array): string | undefined {
  if (frame.byteLength < PREAMBLE || frame[0] !== FRAME_MAGIC[0] || frame[1] !== FRAME_MAGIC[1] || frame[2] !== FRAME_MAGIC[2]) {
    return undefined;
  }
  // Another version may be a newer device that a later hub will accept: no final rejection then.
  if (frame[3] !== FRAME_VERSION) return undefined;
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4, false);
  if (length > MAX_SAMPLE_HEADER_BYTES || PREAMBLE + length > frame.byteLength) return undefined;
  try {
    const header: unknown = JSON.parse(utf8.decode(frame.subarray(PREAMBLE, PREAMBLE + length)));
    const id = typeof header === 'object' && header !== null ? (header as { sampleId?: unknown }).sampleId : undefined;
    return SampleIdSchema.safeParse(id).success ? (id as string) : undefined;
  } catch {
    return undefined;
  }
}
